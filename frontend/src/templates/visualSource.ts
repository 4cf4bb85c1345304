/**
 * The visual editor's round trip: MJML with Liquid in, MJML with the same Liquid out.
 *
 * GrapesJS parses what it loads as HTML and writes it back its own way: attribute values unquoted
 * and re-quoted (Dittofeed's low-code editor broke `"` inside Liquid that way, dittofeed#1104),
 * defaults dropped, entities decoded, whitespace gone. So it never sees the template itself:
 *
 * - `protectSource` masks every Liquid `{{ … }}` / `{% … %}` with an opaque marker (`⟦L12⟧`; in text
 *   it also shows the Liquid: `⟦L12:{{ item.name }}⟧`, restored by its number only), leaves out
 *   `<mj-head>` (kept verbatim), and replaces what the visual editor cannot represent (mj-raw, bare
 *   Liquid between sections, comments, unknown tags) by a locked `mj-raw` placeholder holding
 *   only the region's number.
 * - `restoreSource` takes GrapesJS's export back: placeholders become their original text, markers
 *   their Liquid, and every element whose meaning did not change is written as it was in the
 *   original (attribute order, quotes, entities, line breaks), so an untouched template comes back
 *   byte for byte and an edit changes only what was edited.
 *
 * Pure functions on strings (no DOM), tested by visualSource.test.ts.
 */

export const LOCKED_LABEL = "Code only — edit in the code view";

/** Elements the visual editor (grapesjs-mjml) knows; anything else in the body is locked. */
const VISUAL_TAGS = new Set([
  "mj-body",
  "mj-wrapper",
  "mj-section",
  "mj-group",
  "mj-column",
  "mj-hero",
  "mj-text",
  "mj-button",
  "mj-image",
  "mj-divider",
  "mj-spacer",
  "mj-social",
  "mj-social-element",
  "mj-navbar",
  "mj-navbar-link",
]);

/** MJML "ending tags": their content is HTML, not MJML (mjml-parser-xml keeps it raw). */
const ENDING_TAGS = new Set(["mj-text", "mj-button", "mj-raw", "mj-table", "mj-navbar-link", "mj-social-element", "mj-accordion-title", "mj-accordion-text", "mj-style"]);

const LIQUID = /\{%-?\s*raw\s*-?%\}[\s\S]*?\{%-?\s*endraw\s*-?%\}|\{%-?\s*comment\s*-?%\}[\s\S]*?\{%-?\s*endcomment\s*-?%\}|\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|[⟦⟧]/g;
/**
 * A Liquid marker as it may come back: `⟦L12⟧` (attributes), or in text `⟦…⟧` showing the Liquid,
 * its number written before it in zero-width characters (base 4), the shown Liquid possibly escaped.
 */
const MARKER = /⟦(?:L(\d+)(?::[^⟦⟧]*)?|([\u200b\u200c\u200d\u2060]+)[^⟦⟧]*)⟧/g;
const ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060"];

const invisibleNumber = (n: number): string => (n < 4 ? ZERO_WIDTH[n] : invisibleNumber(Math.floor(n / 4)) + ZERO_WIDTH[n % 4]);
const markerNumber = (digits: string | undefined, invisible: string | undefined): number =>
  digits !== undefined ? Number(digits) : [...(invisible ?? "")].reduce((n, char) => n * 4 + ZERO_WIDTH.indexOf(char), 0);
/** Each marker as its bare form `⟦L12⟧`, whichever way it is written. */
const replaceMarkers = (text: string, by: (n: number, whole: string) => string) =>
  text.replace(MARKER, (whole, digits?: string, invisible?: string) => by(markerNumber(digits, invisible), whole));
const LOCK_ATTRIBUTE = "data-wl-lock";

export interface Protection {
  /** what GrapesJS loads: `<mjml><mj-body …>…</mj-body></mjml>`, Liquid masked, code-only parts locked */
  mjml: string;
  /** the original source with Liquid masked (markers), everything else as written */
  masked: string;
  /** the Liquid of each marker, by number */
  liquid: string[];
  /** the masked original text of each locked region, by number */
  locked: string[];
  /** image addresses made of Liquid (masked), shown as a placeholder picture, by number */
  sources: string[];
  /** where `<mj-body …>…</mj-body>` is in `masked` */
  body: { start: number; end: number };
  /** the original body, parsed (masked) */
  tree: ElementNode;
}

export type ProtectResult = { ok: true; protection: Protection } | { ok: false; reason: string };

/** Attributes a component writes only when they differ from its default (grapesjs-mjml drops them). */
export type DefaultsOf = (tag: string) => Record<string, string> | undefined;

// -- A small tokenizer and tree for masked MJML (no Liquid left in it, so quotes are plain) ---------

interface Attribute {
  name: string;
  value: string | null;
  /** the attribute as written, with the whitespace before it */
  raw: string;
}

export interface ElementNode {
  kind: "element";
  tag: string;
  attrs: Attribute[];
  /** the opening tag as written */
  open: string;
  selfClosing: boolean;
  children: Node[];
  /** the raw inner text of an ending tag (mj-text…) */
  content?: string;
  start: number;
  end: number;
  /** the closing tag was missing */
  unclosed?: boolean;
}

interface TextNode {
  kind: "text";
  text: string;
  start: number;
  end: number;
}

interface CommentNode {
  kind: "comment";
  text: string;
  start: number;
  end: number;
}

type Node = ElementNode | TextNode | CommentNode;

type Token =
  | { kind: "open"; tag: string; attrs: Attribute[]; selfClosing: boolean; start: number; end: number }
  | { kind: "close"; tag: string; start: number; end: number }
  | { kind: "text"; start: number; end: number }
  | { kind: "comment"; start: number; end: number };

const TAG_NAME = /[A-Za-z][\w:.-]*/y;
const ATTRIBUTE = /(\s+)([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?/y;

function readOpenTag(text: string, at: number): Token | null {
  TAG_NAME.lastIndex = at + 1;
  const name = TAG_NAME.exec(text);
  if (!name) return null;
  let index = TAG_NAME.lastIndex;
  const attrs: Attribute[] = [];
  for (;;) {
    ATTRIBUTE.lastIndex = index;
    const match = ATTRIBUTE.exec(text);
    if (!match) break;
    const quoted = match[3];
    const value = quoted === undefined ? null : /^["']/.test(quoted) ? quoted.slice(1, -1) : quoted;
    attrs.push({ name: match[2].toLowerCase(), value, raw: match[0] });
    index = ATTRIBUTE.lastIndex;
  }
  const rest = /\s*(\/?)>/y;
  rest.lastIndex = index;
  const end = rest.exec(text);
  if (!end) return null;
  return { kind: "open", tag: name[0].toLowerCase(), attrs, selfClosing: end[1] === "/", start: at, end: rest.lastIndex };
}

function tokenize(text: string, from = 0, to = text.length): Token[] {
  const tokens: Token[] = [];
  let index = from;
  let textStart = from;
  const flushText = (until: number) => {
    if (until > textStart) tokens.push({ kind: "text", start: textStart, end: until });
  };
  while (index < to) {
    const lt = text.indexOf("<", index);
    if (lt < 0 || lt >= to) break;
    if (text.startsWith("<!--", lt)) {
      const close = text.indexOf("-->", lt + 4);
      const end = close < 0 || close + 3 > to ? to : close + 3;
      flushText(lt);
      tokens.push({ kind: "comment", start: lt, end });
      index = textStart = end;
      continue;
    }
    const closing = /<\/([A-Za-z][\w:.-]*)\s*>/y;
    closing.lastIndex = lt;
    const close = closing.exec(text);
    if (close && closing.lastIndex <= to) {
      flushText(lt);
      tokens.push({ kind: "close", tag: close[1].toLowerCase(), start: lt, end: closing.lastIndex });
      index = textStart = closing.lastIndex;
      continue;
    }
    const open = readOpenTag(text, lt);
    if (open && open.end <= to) {
      flushText(lt);
      tokens.push(open);
      index = textStart = open.end;
      continue;
    }
    index = lt + 1; // a lone "<": text
  }
  flushText(to);
  return tokens;
}

/** Parse masked MJML into elements; the content of ending tags stays raw text. */
function parse(text: string, from = 0, to = text.length): ElementNode {
  const root: ElementNode = { kind: "element", tag: "#root", attrs: [], open: "", selfClosing: false, children: [], start: from, end: to };
  const stack: ElementNode[] = [root];
  const tokens = tokenize(text, from, to);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const parent = stack[stack.length - 1];
    if (token.kind === "text") parent.children.push({ kind: "text", text: text.slice(token.start, token.end), start: token.start, end: token.end });
    else if (token.kind === "comment") parent.children.push({ kind: "comment", text: text.slice(token.start, token.end), start: token.start, end: token.end });
    else if (token.kind === "open") {
      const element: ElementNode = { kind: "element", tag: token.tag, attrs: token.attrs, open: text.slice(token.start, token.end), selfClosing: token.selfClosing, children: [], start: token.start, end: token.end };
      parent.children.push(element);
      if (token.selfClosing) continue;
      if (ENDING_TAGS.has(token.tag)) {
        const closing = new RegExp(`</${token.tag}\\s*>`, "ig");
        closing.lastIndex = token.end;
        const found = closing.exec(text);
        if (!found || closing.lastIndex > to) {
          element.content = text.slice(token.end, to);
          element.end = to;
          element.unclosed = true;
          break;
        }
        element.content = text.slice(token.end, found.index);
        element.end = closing.lastIndex;
        while (i + 1 < tokens.length && tokens[i + 1].start < element.end) i++;
        continue;
      }
      stack.push(element);
    } else {
      const at = stack.map((item) => item.tag).lastIndexOf(token.tag);
      if (at <= 0) continue; // a stray closing tag: nothing to close
      for (let depth = stack.length - 1; depth > at; depth--) stack[depth].unclosed = true;
      stack[at].end = token.end;
      stack.length = at;
    }
  }
  for (let depth = stack.length - 1; depth > 0; depth--) {
    stack[depth].unclosed = true;
    stack[depth].end = to;
  }
  return root;
}

function firstUnclosed(node: ElementNode): ElementNode | null {
  for (const child of node.children) {
    if (child.kind !== "element") continue;
    if (child.unclosed) return child;
    const inner = firstUnclosed(child);
    if (inner) return inner;
  }
  return null;
}

// -- Entities and canonical forms --------------------------------------------------------------------

const ENTITIES: Record<string, string> = {
  amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0", times: "×", divide: "÷", copy: "©", reg: "®", trade: "™",
  middot: "·", bull: "•", hellip: "…", mdash: "—", ndash: "–", laquo: "«", raquo: "»", lsquo: "‘", rsquo: "’", ldquo: "“",
  rdquo: "”", euro: "€", pound: "£", yen: "¥", cent: "¢", deg: "°", para: "¶", sect: "§", rarr: "→", larr: "←", uarr: "↑",
  darr: "↓", hearts: "♥", star: "☆", check: "✓", zwnj: "\u200c", zwj: "\u200d", shy: "\u00ad", thinsp: "\u2009", ensp: "\u2002", emsp: "\u2003",
};

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z][a-z0-9]*);/gi, (whole, name: string) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name] ?? ENTITIES[name.toLowerCase()] ?? whole;
  });
}

const collapse = (text: string) => text.replace(/[\s\u00a0]+/g, " ");

/** A marker shown with its Liquid and the same marker bare are one thing. */
const bareMarkers = (text: string) => replaceMarkers(text, (n) => `⟦L${n}⟧`);

function canonicalValue(value: string | null): string {
  return collapse(bareMarkers(decodeEntities(value ?? ""))).trim();
}

function canonicalAttrs(tag: string, attrs: Attribute[], defaults?: DefaultsOf): string {
  const fallback = defaults?.(tag) ?? {};
  const pairs = new Map<string, string>();
  for (const attr of attrs) {
    if (attr.name === "id" && tag.startsWith("mj-")) continue;
    const value = canonicalValue(attr.value);
    if (fallback[attr.name] !== undefined && fallback[attr.name] === value) continue;
    if (value === "" && tag.startsWith("mj-")) continue; // grapesjs-mjml never writes empty attributes
    pairs.set(attr.name, value);
  }
  return [...pairs.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => `${name}="${value}"`)
    .join(" ");
}

/** HTML inside an ending tag, compared by meaning: tags with sorted attributes, text decoded, whitespace collapsed. */
function canonicalContent(html: string): string {
  const parts: string[] = [];
  for (const token of tokenize(html)) {
    if (token.kind === "open") parts.push(`<${token.tag} ${canonicalAttrs(token.tag, token.attrs)}>`);
    else if (token.kind === "close") parts.push(`</${token.tag}>`);
    else if (token.kind === "comment") parts.push(collapse(html.slice(token.start, token.end)));
    else {
      const text = collapse(bareMarkers(decodeEntities(html.slice(token.start, token.end))));
      if (text.trim()) parts.push(text);
    }
  }
  return parts.join("").replace(/\s*(<[^>]*>)\s*/g, "$1").trim();
}

function canonical(node: Node, defaults?: DefaultsOf): string {
  if (node.kind === "text") return collapse(bareMarkers(decodeEntities(node.text))).trim();
  if (node.kind === "comment") return collapse(node.text);
  const inner = node.content !== undefined ? canonicalContent(node.content) : node.children.map((child) => canonical(child, defaults)).join("");
  return `<${node.tag} ${canonicalAttrs(node.tag, node.attrs, defaults)}>${inner}</${node.tag}>`;
}

/** The comparison the round trip promises: equal apart from whitespace between and inside tags. */
export function normalizeWhitespace(source: string): string {
  return source.replace(/\s+/g, " ").replace(/>\s+</g, "><").replace(/\s+\/>/g, "/>").trim();
}

// -- Protect ------------------------------------------------------------------------------------------

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** How a marker reads in text: its Liquid, with nothing the HTML parser would take for markup. */
function shownMarker(index: number, liquid: string): string {
  const shown = liquid.replace(/\s+/g, " ").replace(/[⟦⟧\u200b\u200c\u200d\u2060]/g, "").replace(/&/g, "&amp;").replace(/</g, "‹").replace(/>/g, "›");
  return `⟦${invisibleNumber(index)}${shown}⟧`;
}

/** Text of an ending tag for GrapesJS: markers in text nodes show their Liquid, in attributes stay bare. */
function showMarkersInContent(html: string, liquid: string[], sources: string[]): string {
  let out = "";
  for (const token of tokenize(html)) {
    const piece = html.slice(token.start, token.end);
    if (token.kind === "text") out += replaceMarkers(piece, (n, whole) => (liquid[n] === undefined ? whole : shownMarker(n, liquid[n])));
    else if (token.kind === "open" && token.attrs.some((attr) => IMAGE_ATTRIBUTES.has(attr.name) && attr.value?.includes("⟦"))) out += `<${token.tag}${attributesForEditor(token.attrs, sources)}${token.selfClosing ? " /" : ""}>`;
    else out += piece;
  }
  return out;
}

function restoreLiquid(text: string, liquid: string[]): string {
  return replaceMarkers(text, (n, whole) => liquid[n] ?? whole);
}

function lockedPlaceholder(index: number | null, original: string, liquid: string[]): string {
  const code = restoreLiquid(original, liquid).replace(/\s+/g, " ").trim();
  const shown = code.length > 90 ? `${code.slice(0, 87)}…` : code;
  const id = index === null ? "" : ` ${LOCK_ATTRIBUTE}="${index}"`;
  return `<mj-raw><div${id} class="wl-locked" style="font:12px/1.4 system-ui,sans-serif;color:#4a5060;background:#f1f2f6;border:1px dashed #9aa1b1;padding:6px 10px;margin:2px 0;"><strong>${LOCKED_LABEL}</strong><br><code style="font:11px ui-monospace,monospace;color:#6a4fb0;">${escapeHtml(shown)}</code></div></mj-raw>`;
}

const IMAGE_ATTRIBUTES = new Set(["src", "background-url"]);
const PLACEHOLDER_SOURCE = /data:image\/svg\+xml;charset=utf-8,[^"'\s<>]*?wl-src-(\d+)[^"'\s<>]*/g;

/** An image address made of Liquid cannot load in the canvas: a picture saying so stands in. */
function placeholderSource(index: number): string {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" id="wl-src-${index}" width="300" height="160"><rect width="100%" height="100%" fill="#e6e8f0"/><text x="50%" y="50%" font-family="sans-serif" font-size="15" fill="#5b6275" text-anchor="middle" dominant-baseline="middle">Image from Liquid</text></svg>`;
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

function attributesForEditor(attrs: Attribute[], sources: string[]): string {
  return attrs
    .map((attr) => {
      if (attr.value === null) return ` ${attr.name}`;
      let value = attr.value;
      if (IMAGE_ATTRIBUTES.has(attr.name) && value.includes("⟦")) {
        sources.push(value);
        value = placeholderSource(sources.length - 1);
      }
      return ` ${attr.name}="${value.replace(/"/g, "&quot;")}"`;
    })
    .join("");
}

/**
 * Mask Liquid and lock code-only parts. Refuses (with a reason) what it cannot take apart safely:
 * no `<mj-body>`, or an element left unclosed.
 */
function maskLiquid(source: string, liquid: string[]): string {
  return source.replace(LIQUID, (found) => {
    liquid.push(found);
    return `⟦L${liquid.length - 1}⟧`;
  });
}

/** The editor's text for an element of masked MJML, code-only parts locked (their text kept in `locked`). */
/** The content blocks' sources by name: an include of one shows the block (locked) in the canvas. */
export type Includes = Record<string, string>;

const INCLUDE = /^\{%-?\s*include\s+["']([^"']+)["']\s*-?%\}$/;
const SECTION_LEVEL = new Set(["mj-section", "mj-raw", "mj-hero"]);

/**
 * A run of includes between sections (`{% include "header" %}`…), one entry per include with the
 * whitespace after it, when each names a block made of sections only; else null.
 */
function includesIn(text: string, liquid: string[], includes: Includes | undefined): { text: string; name: string }[] | null {
  if (!includes) return null;
  const parts: { text: string; name: string }[] = [];
  const each = /⟦L(\d+)⟧(\s*)/y;
  while (each.lastIndex < text.length) {
    const at = each.lastIndex;
    const found = each.exec(text);
    if (!found) return null;
    const name = INCLUDE.exec(liquid[Number(found[1])] ?? "")?.[1];
    const block = name === undefined ? undefined : includes[name];
    if (name === undefined || block === undefined || /<mj-(wrapper|body)\b/i.test(block)) return null;
    const tree = parse(maskLiquid(block, []));
    const shown = tree.children.filter((child) => !isBlank(child));
    if (firstUnclosed(tree) || !shown.length || !shown.every((child) => child.kind === "element" && SECTION_LEVEL.has(child.tag))) return null;
    parts.push({ text: text.slice(at, each.lastIndex), name });
  }
  return parts.length ? parts : null;
}

function forEditor(masked: string, node: ElementNode, liquid: string[], locked: string[], sources: string[], includes?: Includes): string {
  const lock = (start: number, end: number, parent: ElementNode) => {
    const text = masked.slice(start, end);
    const blocks = parent.tag === "mj-body" || parent.tag === "#root" ? includesIn(text, liquid, includes) : null;
    if (blocks) {
      // Each include shows its block, locked: the include's text comes back, not the block's.
      return blocks
        .map(({ text: included, name }) => {
          locked.push(included);
          const source = maskLiquid(includes![name], liquid);
          const inner = forEditor(source, parse(source), liquid, [], sources);
          return `<mj-wrapper ${LOCK_ATTRIBUTE}="${locked.length - 1}" padding="0px" border="1px dashed #9aa1b1">${lockedPlaceholder(null, included, liquid)}${inner}</mj-wrapper>`;
        })
        .join("");
    }
    locked.push(text);
    return lockedPlaceholder(locked.length - 1, text, liquid);
  };
  const children = (parent: ElementNode): string => {
    let out = "";
    let run: { start: number; end: number } | null = null; // adjacent code-only nodes make one locked block
    const flush = () => {
      if (run) out += lock(run.start, run.end, parent);
      run = null;
    };
    for (const child of parent.children) {
      const codeOnly = child.kind === "comment" || (child.kind === "text" ? child.text.trim() !== "" : !VISUAL_TAGS.has(child.tag));
      if (codeOnly) {
        const { start, end } = bounds(child);
        run = { start: run ? run.start : start, end }; // whitespace between two of them stays inside
        continue;
      }
      if (child.kind === "text") continue;
      flush();
      out += element(child as ElementNode);
    }
    flush();
    return out;
  };
  const element = (current: ElementNode): string => {
    if (current.tag === "#root") return children(current);
    const inner = current.content !== undefined ? showMarkersInContent(current.content, liquid, sources) : children(current);
    return `<${current.tag}${attributesForEditor(current.attrs, sources)}>${inner}</${current.tag}>`;
  };
  return element(node);
}

/**
 * Mask Liquid and lock code-only parts. Refuses (with a reason) what it cannot take apart safely:
 * no `<mj-body>`, or an element left unclosed.
 */
export function protectSource(source: string, includes?: Includes): ProtectResult {
  const liquid: string[] = [];
  const masked = maskLiquid(source, liquid);
  const document = parse(masked);
  const unclosed = firstUnclosed(document);
  if (unclosed) return { ok: false, reason: `<${unclosed.tag}> is not closed: fix it in the code view first.` };
  const mjml = document.children.find((node): node is ElementNode => node.kind === "element" && node.tag === "mjml");
  const body = mjml?.children.find((node): node is ElementNode => node.kind === "element" && node.tag === "mj-body");
  if (!body) return { ok: false, reason: "The visual editor needs an <mjml> document with an <mj-body>." };
  const locked: string[] = [];
  const sources: string[] = [];
  const protection: Protection = {
    mjml: `<mjml>${forEditor(masked, body, liquid, locked, sources, includes)}</mjml>`,
    masked,
    liquid,
    locked,
    sources,
    body: { start: body.start, end: body.end },
    tree: body,
  };
  return { ok: true, protection };
}

/**
 * A piece of MJML with Liquid for a block of the visual editor (a product grid, an include), made
 * safe the same way: its Liquid and locked parts join the protection's, so the export restores them.
 */
export function protectFragment(protection: Protection, fragment: string, includes?: Includes): string {
  const masked = maskLiquid(fragment, protection.liquid);
  return forEditor(masked, parse(masked), protection.liquid, protection.locked, protection.sources, includes);
}

/**
 * An attribute's value as the settings panel shows it: its Liquid written out (`{{ cart.url }}`,
 * not `⟦L7⟧`), an image made of Liquid by its address. `concealValue` takes what is typed there
 * back: its Liquid masked again, joining the protection's, so the export restores it as typed.
 */
export function revealValue(protection: Protection, value: string): string {
  return restoreLiquid(restoreSources(value, protection.sources), protection.liquid);
}

/** Each placeholder picture back to its image address (masked). */
function restoreSources(text: string, sources: string[]): string {
  return text.replace(PLACEHOLDER_SOURCE, (whole, n: string) => sources[Number(n)] ?? whole);
}

export function concealValue(protection: Protection, value: string): string {
  return maskLiquid(value, protection.liquid);
}

// -- Restore ------------------------------------------------------------------------------------------

/** Put each locked region's original (masked) text back in place of its placeholder. */
function unlock(exported: string, locked: string[]): string {
  const blocks = exported.replace(/<mj-wrapper\b[^>]*?\sdata-wl-lock\s*=\s*["']?(\d+)["']?[^>]*>[\s\S]*?<\/mj-wrapper\s*>/gi, (whole, n: string) => locked[Number(n)] ?? whole);
  return blocks.replace(/<mj-raw\b[^>]*>((?:(?!<\/mj-raw\s*>)[\s\S])*)<\/mj-raw\s*>/gi, (whole, inner: string) => {
    const found = new RegExp(`${LOCK_ATTRIBUTE}\\s*=\\s*["']?(\\d+)`).exec(inner);
    return found && locked[Number(found[1])] !== undefined ? locked[Number(found[1])] : whole;
  });
}

interface Merger {
  /** the original, masked */
  masked: string;
  /** the export, masked, locked regions back in */
  exported: string;
  defaults?: DefaultsOf;
}

const VOIDISH = new Set(["mj-image", "mj-divider", "mj-spacer"]);
const isBlank = (node: Node) => node.kind === "text" && node.text.trim() === "";

/** A node's own text, without the whitespace around it (text nodes carry the layout around them). */
function bounds(node: Node): { start: number; end: number } {
  if (node.kind !== "text") return { start: node.start, end: node.end };
  const lead = node.text.length - node.text.trimStart().length;
  const trail = node.text.length - node.text.trimEnd().length;
  return { start: node.start + lead, end: node.end - trail };
}

function whitespaceBefore(text: string, index: number): string {
  let at = index;
  while (at > 0 && /\s/.test(text[at - 1])) at--;
  return text.slice(at, index);
}

function indentIn(lead: string): string | null {
  const line = lead.lastIndexOf("\n");
  return line < 0 ? null : lead.slice(line + 1);
}

/** Write an exported node (new, or changed beyond recognition), indented like its new neighbours. */
function writeExported(node: Node, m: Merger, indent: string): string {
  const { start, end } = bounds(node);
  if (node.kind !== "element" || node.content !== undefined) return m.exported.slice(start, end);
  const kids = node.children.filter((child) => !isBlank(child));
  if (!kids.length) return VOIDISH.has(node.tag) || node.selfClosing ? node.open.replace(/\s*\/?>$/, " />") : `${node.open}</${node.tag}>`;
  const inner = kids.map((child) => `\n${indent}  ${writeExported(child, m, `${indent}  `)}`).join("");
  return `${node.open}${inner}\n${indent}</${node.tag}>`;
}

function writeOpen(original: ElementNode, exported: ElementNode, m: Merger): string {
  if (canonicalAttrs(original.tag, original.attrs, m.defaults) === canonicalAttrs(exported.tag, exported.attrs, m.defaults)) return original.open;
  const fallback = m.defaults?.(original.tag) ?? {};
  const values = new Map(exported.attrs.filter((attr) => attr.name !== "id").map((attr) => [attr.name, attr]));
  let attrs = "";
  for (const attr of original.attrs) {
    const now = values.get(attr.name);
    values.delete(attr.name);
    if (now === undefined) {
      if (fallback[attr.name] !== undefined && fallback[attr.name] === canonicalValue(attr.value)) attrs += attr.raw; // still the default
      continue;
    }
    attrs += canonicalValue(now.value) === canonicalValue(attr.value) ? attr.raw : ` ${attr.name}="${now.value ?? ""}"`;
  }
  for (const attr of values.values()) attrs += ` ${attr.name}="${attr.value ?? ""}"`;
  const empty = !exported.children.some((child) => !isBlank(child)) && exported.content === undefined;
  return `<${original.tag}${attrs}${original.selfClosing && empty ? " /" : ""}>`;
}

/**
 * The exported element, written with the original's text wherever the meaning is the same: an
 * equal element is its original slice; a changed one keeps its opening tag's layout, its
 * unchanged children and the whitespace between them.
 */
function merge(original: ElementNode, exported: ElementNode, m: Merger, indent: string): string {
  if (canonical(original, m.defaults) === canonical(exported, m.defaults)) return m.masked.slice(original.start, original.end);
  const open = writeOpen(original, exported, m);
  if (exported.content !== undefined) {
    const same = original.content !== undefined && canonicalContent(original.content) === canonicalContent(exported.content);
    return `${open}${same ? original.content : exported.content}</${original.tag}>`;
  }
  if (open.endsWith("/>")) return open;

  const was = original.children.filter((node) => !isBlank(node));
  const now = exported.children.filter((node) => !isBlank(node));
  const closeAt = original.selfClosing ? original.end : m.masked.lastIndexOf("</", original.end);
  const firstLead = was.length ? whitespaceBefore(m.masked, bounds(was[0]).start) : "";
  const childIndent = indentIn(firstLead) ?? `${indent}  `;
  const closingLead = was.length ? whitespaceBefore(m.masked, closeAt) : `\n${indent}`;
  const keys = was.map((node) => canonical(node, m.defaults));
  let pointer = 0;
  let inner = "";
  for (const node of now) {
    const key = canonical(node, m.defaults);
    const at = keys.indexOf(key, pointer);
    if (at >= 0) {
      const kept = bounds(was[at]);
      inner += whitespaceBefore(m.masked, kept.start) + m.masked.slice(kept.start, kept.end);
      pointer = at + 1;
      continue;
    }
    const next = was[pointer];
    if (next && next.kind === "element" && node.kind === "element" && next.tag === node.tag) {
      inner += whitespaceBefore(m.masked, next.start) + merge(next, node, m, childIndent);
      pointer += 1;
      continue;
    }
    inner += `\n${childIndent}${writeExported(node, m, childIndent)}`;
  }
  return `${open}${inner}${now.length ? closingLead || "" : ""}</${original.tag}>`;
}

function findBody(node: ElementNode): ElementNode | null {
  for (const child of node.children) {
    if (child.kind !== "element") continue;
    if (child.tag === "mj-body") return child;
    const inner = findBody(child);
    if (inner) return inner;
  }
  return null;
}

/**
 * The source for GrapesJS's export (`editor.getHtml()` with grapesjs-mjml: `<mjml><mj-body>…`):
 * the original head and surroundings, the body as exported (unchanged elements as they were
 * written), locked regions and Liquid exactly as they were.
 */
export function restoreSource(protection: Protection, exported: string, defaults?: DefaultsOf): string {
  const unlocked = unlock(restoreSources(exported, protection.sources), protection.locked);
  const body = findBody(parse(unlocked));
  if (!body) throw new Error("The visual editor's export has no <mj-body>.");
  const merger: Merger = { masked: protection.masked, exported: unlocked, defaults };
  const { start, end } = protection.body;
  const indent = indentIn(whitespaceBefore(protection.masked, start)) ?? "";
  const masked = protection.masked.slice(0, start) + merge(protection.tree, body, merger, indent) + protection.masked.slice(end);
  return restoreLiquid(typedLiquidAsTyped(masked), protection.liquid);
}

/**
 * Liquid typed into a text of the visual editor comes back as the editor escaped it (`&lt;`,
 * `&quot;`, `&nbsp;` for a space): written as typed instead. Only typed Liquid is still Liquid
 * here; the source's own is masked (markers) until restoreLiquid.
 */
function typedLiquidAsTyped(masked: string): string {
  return masked.replace(LIQUID, (liquid) => decodeEntities(liquid).replace(/\u00a0/g, " "));
}
