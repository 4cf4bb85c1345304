/**
 * The frame's fast path for the commonest edit, a marketer typing in a text: when the new HTML
 * differs from the one shown only inside one run of text between two tags, the frame changes
 * that one text node instead of parsing the document again. Only where parsing the new HTML
 * would give the same tree with that node's text changed; otherwise (a change in markup, an
 * attribute, a comment, a style; a text the parser treats specially or that could be one of
 * several) the answer is false and the caller parses and morphs as usual.
 */

/** Elements whose content the parser does not read as text nodes of the document. */
const RAW = new Set(["style", "script", "title", "textarea", "noscript", "xmp", "noembed", "noframes", "plaintext", "iframe", "template"]);
// Characters that would make the run other than literal text (markup, an entity) or that the
// parser rewrites (CR, NUL).
const SPECIAL = /[<>&\r\0]/;
const VISIBLE = /\S/;

function count(haystack: string, needle: string, limit: number): number {
  let found = 0;
  for (let at = haystack.indexOf(needle); at >= 0 && found < limit; at = haystack.indexOf(needle, at + 1)) found += 1;
  return found;
}

/** True when `body`, the DOM `shown` was parsed into, now holds what parsing `next` gives. */
export function applyTextEdit(body: HTMLElement, shown: string, next: string): boolean {
  const limit = Math.min(shown.length, next.length);
  let prefix = 0;
  while (prefix < limit && shown.charCodeAt(prefix) === next.charCodeAt(prefix)) prefix += 1;
  let suffix = 0;
  while (suffix < limit - prefix && shown.charCodeAt(shown.length - 1 - suffix) === next.charCodeAt(next.length - 1 - suffix)) suffix += 1;
  if (prefix === shown.length && prefix === next.length) return true; // the same

  // The run of text around the change, in both: from the tag before it to the tag after it.
  const start = shown.lastIndexOf(">", prefix - 1);
  const end = shown.indexOf("<", shown.length - suffix);
  if (start < 0 || end < 0) return false;
  const before = shown.slice(start + 1, end);
  const after = next.slice(start + 1, next.length - (shown.length - end));
  if (SPECIAL.test(before) || SPECIAL.test(after) || !VISIBLE.test(before) || !VISIBLE.test(after)) return false;
  // In the body, outside any comment (Outlook's conditional comments hold tags of their own), and
  // after a tag that is a tag, not the end of a comment or of a conditional section.
  if (start < shown.search(/<body[\s>]/i)) return false;
  if (shown.lastIndexOf("<!--", start) > shown.lastIndexOf("-->", start)) return false;
  const closer = shown.charAt(start - 1);
  if (closer === "-" || closer === "]") return false;

  // The one text node of this text: the only run like it in the source, the only node like it.
  if (count(shown, `>${before}<`, 2) !== 1) return false;
  const walker = body.ownerDocument.createTreeWalker(body, NodeFilter.SHOW_TEXT);
  let match: Text | null = null;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if ((node as Text).data !== before) continue;
    if (match) return false;
    match = node as Text;
  }
  if (!match || !match.parentElement || RAW.has(match.parentElement.localName)) return false;
  match.data = after;
  return true;
}
