/**
 * The template's visual editor: GrapesJS with grapesjs-mjml on the same MJML source as the code
 * view. It loads lazily (TemplatesPage imports it with React.lazy), GrapesJS and its css with it.
 *
 * GrapesJS never sees Liquid or code-only MJML: visualSource.ts masks and locks them before loading
 * and restores them from each export, so switching views keeps the source as written.
 */
import { forwardRef, useEffect, useImperativeHandle, useRef, useState } from "react";
import grapesjs, { type Component, type Editor } from "grapesjs";
import * as grapesjsMjmlModule from "grapesjs-mjml";
import "grapesjs/dist/css/grapes.min.css";
import type { ContentBlock } from "./api";
import { LOCKED_LABEL, concealValue, protectFragment, protectSource, restoreSource, revealValue, type DefaultsOf, type Includes, type Protection } from "./visualSource";
import "./visualEditor.css";

export interface VisualEditorHandle {
  /** end a text edit in progress and give the source as it is now */
  flush(): Promise<string>;
}

interface Props {
  /** the MJML when the visual view opens; later changes come from the editor itself */
  source: string;
  onChange: (mjml: string) => void;
  /** a text is being typed (true) or its edit has reached the source (false) */
  onTyping?: (pending: boolean) => void;
  /** the workspace's content blocks, offered as blocks that insert their include */
  contentBlocks: ContentBlock[];
  /** Ctrl+S (⌘S) anywhere in the editor, its canvas and a text being typed included */
  onSave?: () => void;
}

// grapesjs-mjml ships a UMD bundle: its plugin is `default`, or the `default` of that, by bundler.
type MjmlPlugin = typeof grapesjsMjmlModule.default;
const grapesjsMjml: MjmlPlugin = (() => {
  const found = grapesjsMjmlModule as unknown as { default?: MjmlPlugin | { default?: MjmlPlugin } };
  const first = found.default as unknown;
  if (typeof first === "function") return first as MjmlPlugin;
  const second = (first as { default?: MjmlPlugin } | undefined)?.default;
  if (typeof second === "function") return second;
  return found as unknown as MjmlPlugin;
})();

const IMAGE_PLACEHOLDER =
  "data:image/svg+xml;charset=utf-8," +
  encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" width="350" height="200"><rect width="100%" height="100%" fill="#dfe3ec"/><text x="50%" y="50%" font-family="sans-serif" font-size="16" fill="#6b7385" text-anchor="middle" dominant-baseline="middle">Image</text></svg>');

const icon = (path: string) => `<svg viewBox="0 0 24 24" width="28" height="28"><path fill="currentColor" d="${path}"/></svg>`;
const GRID_ICON = icon("M3 3h8v8H3V3m2 2v4h4V5H5m8-2h8v8h-8V3m2 2v4h4V5h-4M3 13h8v8H3v-8m2 2v4h4v-4H5m8-2h8v8h-8v-8m2 2v4h4v-4h-4Z");
const BLOCK_ICON = icon("M4 4h16v4H4V4m0 6h16v10H4V10m2 2v6h12v-6H6Z");

// A product grid bound to the contact's cart: one row per item, the loop around the section.
const CART_GRID = `<mj-raw>{% for item in cart.items %}</mj-raw>
<mj-section background-color="#ffffff" padding="4px 0">
  <mj-column width="30%"><mj-image width="100px" src="{{ item.image_url }}" alt="{{ item.name }}" href="{{ item.url }}" /></mj-column>
  <mj-column width="70%">
    <mj-text><a href="{{ item.url }}">{{ item.name }}</a> &times; {{ item.quantity }}</mj-text>
    <mj-text><b>{{ item.live_price | money }}</b></mj-text>
  </mj-column>
</mj-section>
<mj-raw>{% endfor %}</mj-raw>`;

// Three recommended products side by side (like the demo's "product-grid" content block).
const RECOMMENDATIONS_GRID = `<mj-section background-color="#ffffff">
  <mj-raw>{% for p in recommendations limit: 3 %}</mj-raw>
  <mj-column width="33%">
    <mj-image src="{{ p.image_url }}" alt="{{ p.name }}" href="{{ p.url }}" />
    <mj-text align="center">{{ p.name }}<br /><b>{{ p.price | money }}</b></mj-text>
  </mj-column>
  <mj-raw>{% endfor %}</mj-raw>
</mj-section>`;

const BUTTON_LABELS: Record<string, string> = {
  "sw-visibility": "Outlines",
  preview: "Preview",
  fullscreen: "Full screen",
  "open-sm": "Style",
  "open-tm": "Settings",
  "open-layers": "Layers",
  "open-blocks": "Blocks",
};

/** grapesjs-mjml leaves attributes at their default out of its export; the round trip needs them. */
function defaultsOf(editor: Editor): DefaultsOf {
  const cache = new Map<string, Record<string, string> | undefined>();
  return (tag) => {
    if (!cache.has(tag)) {
      const type = editor.Components.getType(tag) as { model?: { prototype?: { defaults?: unknown } } } | undefined;
      const raw = type?.model?.prototype?.defaults;
      const defaults = (typeof raw === "function" ? (raw as () => Record<string, unknown>)() : raw) as Record<string, unknown> | undefined;
      cache.set(tag, defaults?.["style-default"] as Record<string, string> | undefined);
    }
    return cache.get(tag);
  };
}

const isLocked = (component: Component) =>
  (component.get("tagName") === "mj-wrapper" && component.getAttributes()["data-wl-lock"] !== undefined) ||
  (component.get("tagName") === "mj-raw" && /data-wl-lock=/.test(component.toHTML()));

/** A code-only region: one block you can select and remove, nothing to edit or drop inside. */
function lock(component: Component) {
  component.set({ name: "Code only", draggable: false, droppable: false, copyable: false, editable: false, stylable: false, badgable: true });
  component.addAttributes({ title: LOCKED_LABEL });
  const inside = (child: Component) => {
    child.set({ selectable: false, hoverable: false, editable: false, draggable: false, droppable: false, copyable: false, removable: false, layerable: false, locked: true });
    child.components().forEach(inside);
  };
  component.components().forEach(inside);
}

function lockAll(component: Component) {
  if (isLocked(component)) lock(component);
  else component.components().forEach(lockAll);
}

/**
 * The settings panel's text fields (a button's link, an image's address) show and take Liquid as
 * written (`{{ cart.url }}`), while the component keeps its marker (visualSource's protection).
 */
function showLiquidInSettings(editor: Editor, protection: Protection) {
  type Field = { getInputElem(): HTMLInputElement | undefined; model: { set(key: string, value: string): void }; onEvent(props: object): void; getClbOpts(): object };
  const base = editor.Traits.getType("text").prototype as { getInputEl(): HTMLInputElement | undefined };
  const show = (input: HTMLInputElement | undefined) => {
    if (input) input.value = revealValue(protection, input.value); // as often as asked: Liquid shows as itself
    return input;
  };
  editor.Traits.addType("text", {
    getInputEl(this: Field) {
      return show(base.getInputEl.call(this));
    },
    setInputValue(this: Field, value: string) {
      const input = this.getInputElem();
      if (input) input.value = revealValue(protection, String(value ?? ""));
    },
    onChange(this: Field, event: Event) {
      const input = this.getInputElem();
      if (input) this.model.set("value", concealValue(protection, input.value));
      this.onEvent({ ...this.getClbOpts(), event });
    },
  });
}

function addBlocks(editor: Editor, protection: Protection, contentBlocks: ContentBlock[], includes: Includes) {
  const { Blocks } = editor;
  Blocks.add("wl-cart-grid", { label: "Cart items", category: "Products", media: GRID_ICON, content: protectFragment(protection, CART_GRID), attributes: { title: "One row per item in the contact's cart" } });
  Blocks.add("wl-recommendations-grid", { label: "Recommendations", category: "Products", media: GRID_ICON, content: protectFragment(protection, RECOMMENDATIONS_GRID), attributes: { title: "Three products recommended for the contact" } });
  for (const block of contentBlocks) {
    Blocks.add(`wl-block-${block.id}`, {
      label: block.name,
      category: "Content blocks",
      media: BLOCK_ICON,
      content: protectFragment(protection, `{% include "${block.name}" %}`, includes),
      attributes: { title: block.description || `Include the “${block.name}” content block` },
    });
  }
}

const VisualEditor = forwardRef<VisualEditorHandle, Props>(function VisualEditor({ source, onChange, onTyping, contentBlocks, onSave }, ref) {
  const host = useRef<HTMLDivElement>(null);
  // Taken once: the editor then owns the source. Includes of content blocks show the block.
  const [includes] = useState(() => Object.fromEntries(contentBlocks.map((block) => [block.name, block.source])));
  const [opened] = useState(() => protectSource(source, includes));
  const editorRef = useRef<Editor | null>(null);
  const current = useRef(source);
  const change = useRef(onChange);
  change.current = onChange;
  const typing = useRef(onTyping);
  typing.current = onTyping;
  const blocksRef = useRef(contentBlocks);
  const save = useRef(onSave);
  save.current = onSave;

  useEffect(() => {
    if (!opened.ok || !host.current) return;
    const protection = opened.protection;
    const editor = grapesjs.init({
      container: host.current,
      height: "100%",
      width: "auto",
      storageManager: false,
      fromElement: false,
      telemetry: false, // no calls home from a self-hosted app
      cssIcons: "", // no icon font from a CDN: the panel buttons get words instead
      components: protection.mjml,
      plugins: [
        (instance: Editor) =>
          grapesjsMjml(instance, {
            blocks: ["mj-1-column", "mj-2-columns", "mj-3-columns", "mj-text", "mj-button", "mj-image", "mj-divider", "mj-spacer"],
            imagePlaceholderSrc: IMAGE_PLACEHOLDER,
            block: () => ({ category: "Layout and content" }),
            useCustomTheme: false,
          }),
      ],
    });
    editorRef.current = editor;
    const defaults = defaultsOf(editor);
    // MJML import and export in GrapesJS's own dialogs would go around the Liquid protection.
    editor.Panels.removeButton("options", "mjml-import");
    editor.Panels.removeButton("options", "export-template");
    // GrapesJS's panel buttons are spans: buttons to assistive technology and the keyboard too
    // (Tab reaches them, Enter or Space presses; the key handler is on the host, below).
    for (const panel of editor.Panels.getPanels()) {
      for (const button of panel.get("buttons")?.models ?? []) {
        const label = BUTTON_LABELS[button.id as string];
        if (!label && !button.get("attributes")?.title) continue; // an empty placeholder of GrapesJS's
        const attributes = { ...(button.get("attributes") ?? {}), role: "button", tabindex: "0", ...(label ? { title: label } : {}) };
        button.set(label ? { className: "wl-pn-text", label, attributes } : { attributes });
      }
    }
    addBlocks(editor, protection, blocksRef.current, includes);
    showLiquidInSettings(editor, protection);
    // The canvas is a frame of its own: the page's keys never hear it. Not the browser's "Save page".
    editor.Keymaps.add("wayline:save", "⌘+s, ctrl+s", () => save.current?.(), { force: true, prevent: true });

    const exportSource = () => {
      const next = restoreSource(protection, editor.getHtml(), defaults);
      if (next !== current.current) {
        current.current = next;
        change.current(next);
      }
      return next;
    };
    let ready = false;
    const container = host.current;
    editor.on("load", () => {
      lockAll(editor.getWrapper()!);
      // As its button (not runCommand): the panel then closes the blocks when another view opens.
      editor.Panels.getButton("views", "open-blocks")?.set("active", true);
      // GrapesJS names neither its canvas frame nor its side panel, which scrolls without a way in
      // from the keyboard (axe: frame-title, scrollable-region-focusable).
      editor.Canvas.getFrameEl()?.setAttribute("title", "Email canvas");
      const views = container.querySelector(".gjs-pn-views-container");
      views?.setAttribute("tabindex", "0");
      views?.setAttribute("role", "region");
      views?.setAttribute("aria-label", "Blocks and settings");
      ready = true;
    });
    const pressWithKeys = (event: KeyboardEvent) => {
      const button = event.target instanceof HTMLElement ? event.target.closest(".gjs-pn-btn") : null;
      if (!button || (event.key !== "Enter" && event.key !== " ")) return;
      event.preventDefault();
      (button as HTMLElement).click();
    };
    container.addEventListener("keydown", pressWithKeys);
    editor.on("component:add", (component: Component) => lockAll(component));
    editor.on("update", () => {
      if (ready && !editor.getEditing()) exportSource();
    });
    editor.on("component:input", () => typing.current?.(true));
    editor.on("rte:disable", () => {
      // the typed text reaches the model just after the rich-text editor is disabled
      setTimeout(() => {
        if (editorRef.current !== editor) return;
        exportSource();
        typing.current?.(false);
      }, 50);
    });
    (editor as unknown as { __wlExport: () => string }).__wlExport = exportSource;
    return () => {
      container.removeEventListener("keydown", pressWithKeys);
      try {
        if (ready) exportSource();
      } finally {
        editor.destroy();
        editorRef.current = null;
      }
    };
  }, [opened, includes]);

  useImperativeHandle(ref, () => ({
    async flush() {
      const editor = editorRef.current;
      if (!editor) return current.current;
      // A text being typed reaches the model when its rich-text editing ends.
      const editing = editor.getEditing();
      const view = editing?.getView() as { disableEditing?: () => Promise<void> } | undefined;
      if (view?.disableEditing) await view.disableEditing();
      return (editor as unknown as { __wlExport: () => string }).__wlExport();
    },
  }));

  if (!opened.ok)
    return (
      <div className="visual-refused banner banner-info" role="status" data-testid="visual-refused">
        {opened.reason}
      </div>
    );
  return (
    <div className="visual-editor" data-testid="visual-editor">
      <div ref={host} className="visual-editor-host" />
    </div>
  );
});

export default VisualEditor;
