/**
 * The simulated path shown on the journey canvas: a store the canvas reads (which nodes the
 * subject passes, in which order, when) and the simulation panel fills.
 *
 * The canvas calls `useSimulatedStep(nodeId)` in its node view; the panel calls `showPath()`.
 */
import { useEffect } from "react";
import { create } from "zustand";
import type { PathStep, SimulationResult } from "./api";
import "./simulation.css";

export interface SimulatedStep {
  order: number;
  at: string;
  /** time since the start, for the badge: "+1 h 30 min" */
  offset: string;
  outcome: string;
  port: string;
  email: boolean;
}

interface SimulationState {
  journey: number | null;
  label: string;
  steps: Record<string, SimulatedStep>;
  showPath: (journey: number, result: SimulationResult) => void;
  clear: () => void;
}

export function offsetLabel(start: string, at: string): string {
  const minutes = Math.round((Date.parse(at) - Date.parse(start)) / 60_000);
  if (!Number.isFinite(minutes) || minutes <= 0) return "at once";
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  return "+" + [days ? `${days} d` : "", hours ? `${hours} h` : "", rest ? `${rest} min` : ""].filter(Boolean).join(" ");
}

/** Node id -> where the subject was there last (the arrival of a step, its way out, its time). */
export function stepsOf(result: SimulationResult): Record<string, SimulatedStep> {
  const steps: Record<string, SimulatedStep> = {};
  if (result.entered) steps.trigger = { order: 0, at: result.start, offset: "start", outcome: "entered", port: "next", email: false };
  let order = 0;
  result.path.forEach((step: PathStep) => {
    const known = steps[step.node];
    if (!known) order += 1;
    steps[step.node] = {
      order: known ? known.order : order,
      at: known ? known.at : step.at,
      offset: known ? known.offset : offsetLabel(result.start, step.at),
      outcome: step.outcome,
      port: step.port,
      email: step.type === "email",
    };
  });
  return steps;
}

export const useSimulation = create<SimulationState>((set) => ({
  journey: null,
  label: "",
  steps: {},
  showPath: (journey, result) => set({ journey, label: result.subject?.label ?? "", steps: stepsOf(result) }),
  clear: () => set({ journey: null, label: "", steps: {} }),
}));

/** For the canvas's node view: this node's step on the simulated path, if it is on it. */
export function useSimulatedStep(nodeId: string): SimulatedStep | undefined {
  return useSimulation((state) => state.steps[nodeId]);
}

/** For the journey editor: a path simulated for another journey is not shown on this one. */
export function useSimulationFor(journey: number): void {
  useEffect(() => {
    const state = useSimulation.getState();
    if (state.journey !== null && state.journey !== journey) state.clear();
  }, [journey]);
}
