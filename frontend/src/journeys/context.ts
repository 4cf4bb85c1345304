/** What every canvas node reads besides its own data: server problems, live counts, names. */
import { createContext, useContext } from "react";
import type { CountsByNode, ValidationProblem } from "./types";

export interface CanvasView {
  problems: ValidationProblem[];
  counts: CountsByNode | null;
  readOnly: boolean;
  templateName: (ref: string) => string | undefined;
  /** what the trigger card says ("When “Checkout Started” happens") */
  triggerText: string;
  /** experiment node -> the winning variant's name, once the winner rule decided */
  winners?: Record<string, string>;
}

export const CanvasContext = createContext<CanvasView>({ problems: [], counts: null, readOnly: false, templateName: () => undefined, triggerText: "" });

export function useCanvasView(): CanvasView {
  return useContext(CanvasContext);
}

export function problemsOf(problems: ValidationProblem[], node: string): ValidationProblem[] {
  return problems.filter((problem) => problem.node === node);
}
