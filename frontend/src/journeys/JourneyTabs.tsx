/** The views of one journey, side by side in its header: the canvas and the report. */
import { NavLink } from "react-router-dom";
import "./journeyTabs.css";

export function JourneyTabs({ journeyId, onLeave }: { journeyId: number; onLeave?: () => void }) {
  const className = ({ isActive }: { isActive: boolean }) => `journey-tab${isActive ? " is-on" : ""}`;
  return (
    <nav className="journey-tabs" aria-label="Journey views">
      <NavLink to={`/journeys/${journeyId}`} end className={className} onClick={onLeave}>
        Canvas
      </NavLink>
      <NavLink to={`/journeys/${journeyId}/report`} className={className} onClick={onLeave}>
        Report
      </NavLink>
    </nav>
  );
}
