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
 *                   ms} when a rendering is shown (its layout done; ms: the frame's own time)
 */
import morphdom from "morphdom";

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

/** The document's head and the rest (from `</head>` on); no head: all of it is the rest. */
function split(html: string): [string, string] {
  const end = html.search(/<\/head\s*>/i);
  return end < 0 ? ["", html] : [html.slice(0, end), html.slice(end)];
}

function show(html: string) {
  const [head, rest] = split(html);
  // The head (MJML's styles) rarely changes while typing: then only the body is parsed.
  const sameHead = head !== "" && head === shownHead;
  const next = new DOMParser().parseFromString(sameHead ? "<!doctype html><html><head>" + rest : html, "text/html");
  next.querySelectorAll(DROPPED).forEach((element) => element.remove());
  if (!sameHead) {
    syncAttributes(document.documentElement, next.documentElement);
    morphdom(document.head, next.head, { childrenOnly: true });
    shownHead = head;
  }
  morphdom(document.body, next.body);
}

window.addEventListener("message", (event: MessageEvent) => {
  if (event.source !== window.parent) return;
  const message = event.data as { type?: string; seq?: number; generation?: number; html?: string } | null;
  if (!message || message.type !== "wayline:render" || typeof message.html !== "string") return;
  const started = performance.now();
  try {
    show(message.html);
  } catch {
    document.body.textContent = "This rendering could not be shown.";
  }
  void document.documentElement.scrollHeight; // the layout of what changed, before saying it is shown
  const ms = performance.now() - started;
  window.parent.postMessage({ type: "wayline:applied", seq: message.seq, generation: message.generation, ms }, "*");
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
