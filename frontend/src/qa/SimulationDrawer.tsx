/** The path simulation over the journey canvas: the canvas stays visible, each step on the
 * simulated path is highlighted with its time (see simulation.ts). */
import { SimulationPanel } from "./SimulationPanel";
import { useSimulation } from "./simulation";
import "./simulation.css";

export function SimulationDrawer({ journeyId, onClose }: { journeyId: number; onClose: () => void }) {
  const clear = useSimulation((state) => state.clear);
  return (
    <aside className="sim-drawer" aria-label="Path simulation" data-testid="simulation-drawer">
      <div className="sim-drawer-head">
        <span className="muted">Simulates the saved draft.</span>
        <button
          type="button"
          className="button button-quiet button-small"
          aria-label="Close the simulation"
          onClick={() => {
            clear();
            onClose();
          }}
        >
          ×
        </button>
      </div>
      <SimulationPanel journeyId={journeyId} onCanvas />
    </aside>
  );
}
