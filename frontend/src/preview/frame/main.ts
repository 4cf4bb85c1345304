/**
 * The document inside each live-preview frame (served by the editor at /preview/frame, inlined
 * there with its hash in the frame's Content-Security-Policy; built by `vite.frame.config.ts`).
 *
 * The frame is sandboxed with scripts but without same-origin (`sandbox="allow-scripts"`): an
 * opaque origin that reaches neither the app's cookies nor its DOM. Its policy lets this one
 * script run and nothing else: no other inline or remote script, no event-handler attribute, no
 * `javascript:` link, no plugin, no form, no frame. So an email's scripts never run, as in a mail
 * client, while the frame can take each new rendering without loading a new document: it morphs
 * what it shows into the new HTML (morphdom), so a keystroke costs parsing the body and the
 * layout of what changed rather than loading, styling and laying out ten emails again.
 *
 * Messages, from the parent only:
 *   parent → frame  {type: "wayline:render", seq, generation, html}
 *   frame → parent  {type: "wayline:frame-ready"} once; {type: "wayline:applied", seq, generation,
 *                   ms, how, at} when the document holds a rendering (ms: the frame's own time;
 *                   how: "text", "morph" or "failed", see show; at: when, as timeOrigin + now,
 *                   the clock the parent shares). Its layout
 *                   and paint follow at the browser's next frame, and only for a frame on screen:
 *                   Chromium skips them for frames scrolled out of view until they come back.
 */
import morphdom from "morphdom";
import { applyTextEdit } from "./textEdit";

/** What an email may carry that a preview never needs: gone before anything is shown. (The
 * policy refuses them anyway; a `meta refresh` would still navigate the frame away.) */
const DROPPED = "script, base, meta[http-equiv], object, embed, iframe, frame, frameset, portal";

function syncAttributes(target: Element, source: Element) {
  for (const { name } of Array.from(target.attributes)) {
    if (!source.hasAttribute(name)) target.removeAttribute(name);
  }
  for (const { name, value } of Array.from(source.attributes)) {
    if (target.getAttribute(name) !== value) target.setAttribute(name, value);
  }
}

let shownHead: string | null = null;
let shownHtml: string | null = null; // what the document was made from

/** The document's head and the rest (from `</head>` on); no head: all of it is the rest. */
function split(html: string): [string, string] {
  const end = html.search(/<\/head\s*>/i);
  return end < 0 ? ["", html] : [html.slice(0, end), html.slice(end)];
}

function parse(html: string): Document {
  const next = new DOMParser().parseFromString(html, "text/html");
  next.querySelectorAll(DROPPED).forEach((element) => element.remove());
  return next;
}

/** A document of `rest` (from `</head>` on) with an empty head. */
function bodyOnly(rest: string): string {
  return "<!doctype html><html><head>" + rest;
}

/** How a rendering was shown: "text" (one text node changed) or "morph" (parsed and morphed). */
function show(html: string): "text" | "morph" {
  // Typing in a text: that text node changes, nothing is parsed (textEdit.ts).
  if (shownHtml !== null && applyTextEdit(document.body, shownHtml, html)) {
    shownHtml = html;
    return "text";
  }
  shownHtml = null;
  const [head, rest] = split(html);
  // The head (MJML's styles) rarely changes while typing: then only the body is parsed, when a
  // head like this one was seen to leave the body as a whole parse does (a broken head may spill
  // into the body).
  if (head !== "" && head === shownHead) {
    morphdom(document.body, parse(bodyOnly(rest)).body);
  } else {
    const next = parse(html);
    shownHead = head !== "" && parse(bodyOnly(rest)).body.isEqualNode(next.body) ? head : null; // before morphing takes nodes from `next`
    syncAttributes(document.documentElement, next.documentElement);
    morphdom(document.head, next.head, { childrenOnly: true });
    morphdom(document.body, next.body);
  }
  shownHtml = html;
  return "morph";
}

window.addEventListener("message", (event: MessageEvent) => {
  if (event.source !== window.parent) return;
  const message = event.data as { type?: string; seq?: number; generation?: number; html?: string } | null;
  if (!message || message.type !== "wayline:render" || typeof message.html !== "string") return;
  const started = performance.now();
  let how = "failed";
  try {
    how = show(message.html);
  } catch {
    shownHtml = null;
    document.body.textContent = "This rendering could not be shown.";
  }
  const now = performance.now();
  const reply = { type: "wayline:applied", seq: message.seq, generation: message.generation, ms: now - started, how, at: performance.timeOrigin + now };
  window.parent.postMessage(reply, "*");
});

// A preview is for looking: links and forms stay where they are.
document.addEventListener(
  "click",
  (event) => {
    if (event.target instanceof Element && event.target.closest("a, area")) event.preventDefault();
  },
  true,
);
document.addEventListener("submit", (event) => event.preventDefault(), true);

window.parent.postMessage({ type: "wayline:frame-ready" }, "*");
