/** A CodeMirror 6 editor as a React input: `value` in, `onChange` out, server problems as diagnostics. */
import { forwardRef, useEffect, useImperativeHandle, useRef } from "react";
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, defaultHighlightStyle, foldGutter, foldKeymap, HighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { lintGutter, lintKeymap, setDiagnostics } from "@codemirror/lint";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import { drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers, placeholder as placeholderText } from "@codemirror/view";
import { diagnosticsFor, mjmlWithLiquid, offsetOf, textWithLiquid } from "./liquid";
import type { TemplateProblem } from "./api";

export interface CodeEditorHandle {
  /** put text at the cursor (a content block) and focus the editor */
  insert(text: string): void;
  /** move the cursor to a 1-based line and column, scroll there and focus */
  reveal(line: number | null, column: number | null): void;
}

interface Props {
  value: string;
  onChange: (value: string) => void;
  label: string;
  kind: "mjml" | "line";
  /** the part of the template this editor holds: "mjml", "subject" or "preheader" */
  part: string;
  problems: TemplateProblem[];
  readOnly?: boolean;
  placeholder?: string;
  onSave?: () => void;
  describedBy?: string;
}

const theme = EditorView.theme({
  "&": { fontSize: "13px", backgroundColor: "#fff" },
  ".cm-content": { fontFamily: "var(--mono)" },
  // line numbers and placeholder in --text-muted: CodeMirror's own greys are under 4.5:1 (WCAG AA)
  ".cm-gutters": { backgroundColor: "#f6f7f9", borderRight: "1px solid #e3e6ec", color: "var(--text-muted)" },
  ".cm-placeholder": { color: "var(--text-muted)" },
  "&.cm-focused": { outline: "none" },
  ".cm-activeLine": { backgroundColor: "#f5f7ff" },
  ".cm-activeLineGutter": { backgroundColor: "#eef0fd" },
  ".cm-tooltip-autocomplete ul li[aria-selected]": { backgroundColor: "#3b4bd8" },
});

const lineTheme = EditorView.theme({
  "&": { fontSize: "14px", border: "1px solid var(--border-strong)", borderRadius: "6px", backgroundColor: "#fff" },
  "&.cm-focused": { outline: "2px solid var(--brand)", borderColor: "var(--brand)" },
  ".cm-content": { padding: "7px 4px", fontFamily: "var(--font)" },
  ".cm-placeholder": { color: "var(--text-muted)" },
  ".cm-scroller": { overflow: "hidden" },
});

/** CodeMirror's default colours, those under 4.5:1 on the active line (#f5f7ff) darkened to pass WCAG AA. */
const DARKER: Record<string, string> = { "#085": "#007a4d", "#e40": "#c23000", "#f00": "#d00" };
const highlightStyle = HighlightStyle.define(defaultHighlightStyle.specs.map((spec) => (typeof spec.color === "string" && DARKER[spec.color] ? { ...spec, color: DARKER[spec.color] } : spec)));

/** One line only: Enter saves nothing and newlines pasted become spaces. */
const singleLine = EditorState.transactionFilter.of((transaction) => {
  if (!transaction.docChanged || transaction.newDoc.lines <= 1) return transaction;
  const text = transaction.newDoc.toString().replace(/\s*\n\s*/g, " ");
  return [transaction, { changes: { from: 0, to: transaction.newDoc.length, insert: text }, sequential: true }];
});

export const CodeEditor = forwardRef<CodeEditorHandle, Props>(function CodeEditor({ value, onChange, label, kind, part, problems, readOnly = false, placeholder, onSave, describedBy }, ref) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const change = useRef(onChange);
  const save = useRef(onSave);
  const editable = useRef(new Compartment());
  change.current = onChange;
  save.current = onSave;

  useEffect(() => {
    const extensions: Extension[] = [
      kind === "mjml" ? [lineNumbers(), foldGutter(), highlightActiveLineGutter(), highlightActiveLine(), lintGutter(), indentOnInput(), EditorView.lineWrapping, theme] : [singleLine, lineTheme],
      history(),
      drawSelection(),
      bracketMatching(),
      closeBrackets(),
      autocompletion({ activateOnTyping: true, icons: false }),
      syntaxHighlighting(highlightStyle, { fallback: true }),
      kind === "mjml" ? mjmlWithLiquid() : textWithLiquid(),
      keymap.of([
        { key: "Mod-s", preventDefault: true, run: () => (save.current?.(), true) },
        ...(kind === "line" ? [{ key: "Enter", run: () => true }] : []),
        ...closeBracketsKeymap,
        ...defaultKeymap,
        ...historyKeymap,
        ...foldKeymap,
        ...completionKeymap,
        ...lintKeymap,
        ...(kind === "mjml" ? [indentWithTab] : []),
      ]),
      EditorView.contentAttributes.of({ "aria-label": label, ...(describedBy ? { "aria-describedby": describedBy } : {}), ...(kind === "line" ? { "aria-multiline": "false" } : {}) }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) change.current(update.state.doc.toString());
      }),
      editable.current.of([EditorView.editable.of(!readOnly), EditorState.readOnly.of(readOnly)]),
      ...(placeholder ? [placeholderText(placeholder)] : []),
    ];
    const created = new EditorView({ parent: host.current!, state: EditorState.create({ doc: value, extensions }) });
    view.current = created;
    return () => {
      created.destroy();
      view.current = null;
    };
    // The editor is created once; value, problems and readOnly are pushed into it below.
  }, [kind]);

  // A value set from outside (loading, undoing a save): replace the document.
  useEffect(() => {
    const current = view.current;
    if (current && current.state.doc.toString() !== value) {
      current.dispatch({ changes: { from: 0, to: current.state.doc.length, insert: value } });
    }
  }, [value]);

  useEffect(() => {
    const current = view.current;
    if (current) current.dispatch(setDiagnostics(current.state, diagnosticsFor(current.state.doc, problems, part)));
  }, [problems, part, value]);

  useEffect(() => {
    view.current?.dispatch({ effects: editable.current.reconfigure([EditorView.editable.of(!readOnly), EditorState.readOnly.of(readOnly)]) });
  }, [readOnly]);

  useImperativeHandle(ref, () => ({
    insert(text: string) {
      const current = view.current;
      if (!current) return;
      const { from, to } = current.state.selection.main;
      current.dispatch({ changes: { from, to, insert: text }, selection: { anchor: from + text.length }, scrollIntoView: true });
      current.focus();
    },
    reveal(line, column) {
      const current = view.current;
      if (!current) return;
      const at = offsetOf(current.state.doc, line, column);
      current.dispatch({ selection: { anchor: at }, scrollIntoView: true });
      current.focus();
    },
  }));

  return <div ref={host} className={`code-editor code-editor-${kind}`} data-part={part} />;
});
