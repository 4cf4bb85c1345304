"""The live preview's frame (/preview/frame, frontend/src/preview/frame/): it shows what it is sent
exactly as a fresh parse of that HTML would, whether it changed one text node (typing) or parsed
and morphed, and nothing of an email runs in it: no script, no event handler, no `javascript:`
link, no refresh; links stay where they are."""

import random

import pytest

from delivery import rendering
from editor import variants
from tests.preview.builders import REFERENCE_MJML

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]

# A parent page of the app with one preview frame, sandboxed as the live preview has it, and the
# frame's answers collected. (Playwright's evaluate is not subject to the app's CSP.)
HOST = """() => new Promise((resolve) => {
  window.__answers = [];
  window.__pwned = [];
  window.addEventListener("message", (event) => {
    const frame = document.getElementById("probe");
    if (event.data === "pwned") window.__pwned.push(event.data);
    else if (frame && event.source === frame.contentWindow) window.__answers.push(event.data);
  });
  const frame = document.createElement("iframe");
  frame.id = "probe";
  frame.setAttribute("sandbox", "allow-scripts");
  frame.style.cssText = "width: 640px; height: 600px";
  frame.src = "/preview/frame";
  document.body.appendChild(frame);
  const ready = () => window.__answers.some((a) => a.type === "wayline:frame-ready");
  const wait = () => (ready() ? resolve() : setTimeout(wait, 20));
  wait();
})"""

SEND = """([html, seq]) => new Promise((resolve) => {
  document.getElementById("probe").contentWindow.postMessage({ type: "wayline:render", seq, generation: 1, html }, "*");
  const wait = () => {
    const answer = window.__answers.find((a) => a.type === "wayline:applied" && a.seq === seq);
    answer ? resolve(answer) : setTimeout(wait, 5);
  };
  wait();
})"""

# A tree as text, attributes in name order (morphing adds a new attribute last; the order of
# attributes means nothing to a page).
CANON = """const canon = (node) => {
  if (node.nodeType === Node.TEXT_NODE) return "#text:" + node.data;
  if (node.nodeType === Node.COMMENT_NODE) return "#comment:" + node.data;
  const attributes = Array.from(node.attributes).map((a) => a.name + "=" + JSON.stringify(a.value)).sort();
  const children = Array.from(node.childNodes).map(canon).join("");
  return "<" + node.localName + " " + attributes.join(" ") + ">" + children + "</>";
};"""
SHOWN = "() => { " + CANON + " return canon(document.body); }"
# What a fresh parse of the HTML gives, as the frame shows it (without what it drops), in the host.
FRESH = """(html) => {
  CANON
  const doc = new DOMParser().parseFromString(html, "text/html");
  const dropped = "script, base, meta[http-equiv], object, embed, iframe, frame, frameset, portal";
  doc.querySelectorAll(dropped).forEach((e) => e.remove());
  return canon(doc.body);
}""".replace("CANON", CANON)


def reference_html():
    compiled = variants.compile_draft(variants.Draft(mjml=REFERENCE_MJML, subject="Your cart"))
    data = {
        "contact": {"first_name": "Ada", "email": "ada@example.com"},
        "cart": {"items": [{"name": "Merino Socks", "price": "12.00", "quantity": 2, "url": "https://shop.example/s"}]},
    }
    return rendering.render_email(compiled.prepared, data).html


def open_frame(page_for):
    page = page_for(None)
    page.goto("/login")
    page.evaluate(HOST)
    frame = next(f for f in page.frames if f.url.endswith("/preview/frame"))
    return page, frame


def edits(html, rng):
    """Edits as typing makes them, in text and everywhere else: letters, deletions, markup,
    entities, whitespace, in attributes, comments and styles too."""
    pieces = ["x", "Q", " ", "é", "👋", "&amp;", "<b>bold</b>", "</td>", '"', "<!-- c -->", "\n", ">", "<"]
    current = html
    for _ in range(60):
        at = rng.randrange(len(current))
        if rng.random() < 0.35 and len(current) > 1:
            current = current[:at] + current[at + 1 :]
        else:
            current = current[:at] + rng.choice(pieces) + current[at:]
        yield current


def test_the_frame_shows_what_a_fresh_parse_shows_after_every_edit(page_for):
    page, frame = open_frame(page_for)
    html = reference_html()
    assert page.evaluate(SEND, [html, 1])["how"] == "morph"
    # Typing in a text: one text node changes, nothing is parsed.
    typed = html.replace(">Merino Socks<", ">Merino Socksy<", 1)
    assert page.evaluate(SEND, [typed, 2])["how"] == "text"
    assert frame.evaluate(SHOWN) == page.evaluate(FRESH, typed)

    # Random edits: whichever way the frame takes, it ends where a fresh parse of the HTML does.
    rng = random.Random(15)
    ways = set()
    for seq, edited in enumerate(edits(typed, rng), start=3):
        answer = page.evaluate(SEND, [edited, seq])
        ways.add(answer["how"])
        assert frame.evaluate(SHOWN) == page.evaluate(FRESH, edited), f"edit {seq}"
    assert ways == {"text", "morph"}
    # Text typed where the parser treats text specially, or in one of two identical texts.
    special = typed.replace("</body>", "<pre>\nline</pre><p>Twice</p><p>Twice</p><textarea>note</textarea></body>")
    page.evaluate(SEND, [special, 100])
    for seq, (old, new) in enumerate(
        [("\nline</pre>", "\nlines</pre>"), ("<p>Twice</p>", "<p>Twice!</p>"), ("note<", "notes<")], start=101
    ):
        special = special.replace(old, new, 1)
        assert page.evaluate(SEND, [special, seq])["how"] == "morph"
        assert frame.evaluate(SHOWN) == page.evaluate(FRESH, special)


def test_nothing_of_an_email_runs_in_the_frame_and_links_stay_put(page_for, live_app):
    page, frame = open_frame(page_for)
    hostile = (
        "<html><head><meta http-equiv='refresh' content='0;url=/login'><base href='https://evil.example/'></head>"
        "<body><p id='text'>Hello</p>"
        "<script>parent.postMessage('pwned', '*')</script>"
        "<img src='data:,x' onerror=\"parent.postMessage('pwned', '*')\">"
        "<a id='js' href=\"javascript:parent.postMessage('pwned', '*')\">js</a>"
        "<a id='away' href='/login'>away</a>"
        "<svg><a href='#'><text onclick=\"parent.postMessage('pwned', '*')\">svg</text></a></svg>"
        "</body></html>"
    )
    page.evaluate(SEND, [hostile, 1])
    assert frame.locator("#text").inner_text() == "Hello"
    frame.locator("#js").click()
    frame.locator("#away").click()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") == []
    assert frame.url == f"{live_app.url}/preview/frame"  # neither the refresh nor a link moved it
    assert frame.evaluate("document.querySelectorAll('script, base, meta[http-equiv]').length") == 0
    # The frame's origin is opaque: the app's cookies and pages are out of its reach.
    assert frame.evaluate("(() => { try { return document.cookie; } catch (e) { return 'refused'; } })()") == "refused"
    assert frame.evaluate("(() => { try { return parent.document.title; } catch (e) { return 'refused'; } })()") == (
        "refused"
    )


def test_the_frame_page_runs_only_its_own_script(client):
    response = client.get("/preview/frame")
    assert response.status_code == 200
    policy = dict(directive.partition(" ")[::2] for directive in response["Content-Security-Policy"].split("; "))
    assert policy["default-src"] == "'none'" and policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["script-src"].startswith("'sha256-") and " " not in policy["script-src"]
    assert policy["frame-ancestors"] == "'self'"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
