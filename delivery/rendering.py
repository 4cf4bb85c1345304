"""Compile once, personalize per contact (design.md, "Rendering").

Pure: no ORM, no I/O. When a template version is saved, `compile_template` expands its content
blocks, protects every piece of Liquid markup behind an opaque placeholder, compiles the MJML to
HTML once, restores the Liquid, derives the text part (also a Liquid template) and checks that both
parse. `prepare` parses them once per process (cached by content hash). Per contact, `render_email`
renders the cached templates, rewrites links for signed click tracking and adds the open pixel.

`render_per_message` is the slow way (Liquid on the MJML, then MJML per message): the reference
the compile-once output is proven equivalent to, and the baseline of bench/render.py.
"""

import functools
import hashlib
import html as htmllib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from xml.parsers import expat

import mjml
import mrml
from liquid.exceptions import LiquidError

from journeys.liquid import HTML_ENV, TEXT_ENV
from journeys.liquid import render as sandbox_render

# The names a template may use. Anything else is reported as an undefined variable on save.
KNOWN_GLOBALS = frozenset(
    {
        "contact",
        "event",
        "journey",
        "cart",
        "recommendations",
        "offer",
        "links",
        "products",
        "workspace",
        "message",
        "now",
        "_blocks",
    }
)
MAX_BLOCK_DEPTH = 5
MAX_SOURCE_CHARS = 500_000

LIQUID_MARKUP = re.compile(
    r"\{%-?\s*(raw|comment)\s*-?%\}.*?\{%-?\s*end\1\s*-?%\}|\{\{.*?\}\}|\{%.*?%\}",
    re.S,
)
PLACEHOLDER = re.compile(r"WLQ(\d{5})QLW")
INCLUDE_TAG = re.compile(r"\{%-?\s*(?:include|render)\s+(?P<q>['\"])(?P<name>[^'\"]+)(?P=q)\s*-?%\}")
DYNAMIC_INCLUDE = re.compile(r"\{%-?\s*(?:include|render)\s+[^'\"\s]")
# MJML elements whose content is HTML, not MJML: an include inside them needs no <mj-raw>.
ENDING_TAGS = (
    "mj-text",
    "mj-button",
    "mj-raw",
    "mj-title",
    "mj-preview",
    "mj-table",
    "mj-navbar-link",
    "mj-accordion-title",
    "mj-accordion-text",
    "mj-social-element",
    "mj-style",
)
ENDING_TAG = re.compile(r"<(/?)(" + "|".join(ENDING_TAGS) + r")\b[^>]*?(/?)>")


# -- errors ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a template, where it is (1-based line and column) and in which part."""

    message: str
    line: int | None = None
    column: int | None = None
    part: str = "mjml"  # mjml, subject, preheader, block:<name>
    kind: str = "syntax"  # syntax, undefined, mjml, limit

    def as_dict(self):
        return {
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "part": self.part,
            "kind": self.kind,
        }

    def __str__(self):
        where = f" ({self.part} line {self.line}, column {self.column})" if self.line else f" ({self.part})"
        return self.message + where


class TemplateError(Exception):
    """The template cannot be compiled; `problems` says what and where."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class RenderError(Exception):
    """A render failed for one contact (a limit, a timeout, a runaway value). Never sent."""


def line_col(source, index):
    if index is None or index < 0:
        return None, None
    line = source.count("\n", 0, index) + 1
    column = index - (source.rfind("\n", 0, index) + 1) + 1
    return line, column


# -- Liquid protection -----------------------------------------------------------------------------


def protect(source):
    """Replace every piece of Liquid markup by an opaque placeholder MJML leaves alone."""
    tokens = []

    def replace(match):
        tokens.append(match.group(0))
        return f"WLQ{len(tokens) - 1:05d}QLW"

    return LIQUID_MARKUP.sub(replace, source), tokens


def restore(text, tokens):
    return PLACEHOLDER.sub(lambda m: tokens[int(m.group(1))], text)


def _blank_liquid(source):
    """Same length and line layout, Liquid markup and entities blanked: for XML checks."""

    def blank(match):
        return re.sub(r"[^\n]", "x", match.group(0))

    source = LIQUID_MARKUP.sub(blank, source)
    return re.sub(r"&(?:[a-zA-Z][a-zA-Z0-9]*|#\d+|#x[0-9a-fA-F]+);", blank, source)


# -- validation of the author's source -------------------------------------------------------------


def _locate_liquid_error(source, error):
    token = getattr(error, "token", None)
    if token is not None and getattr(token, "start_index", -1) >= 0 and token.source == source:
        return token.start_index
    # No position from the parser: find the first piece of markup that fails on its own, or the
    # opening tag of a block that is never closed.
    stack = []
    for match in LIQUID_MARKUP.finditer(source):
        markup = match.group(0)
        tag = re.match(r"\{%-?\s*(\w+)", markup)
        if tag and tag.group(1) in {"if", "unless", "for", "case", "capture", "tablerow"}:
            stack.append((tag.group(1), match.start()))
            continue
        if tag and tag.group(1).startswith("end"):
            if stack and stack[-1][0] == tag.group(1)[3:]:
                stack.pop()
            continue
        if tag and tag.group(1) in {"else", "elsif", "when", "break", "continue"}:
            continue
        try:
            HTML_ENV.from_string(markup)
        except LiquidError:
            return match.start()
    if stack:
        return stack[-1][1]
    return None


@functools.lru_cache(maxsize=128)
def analyze(source):
    """The static analysis of one piece of Liquid (what it prints, filters, tags, where), parsed
    once per process for each text: while a marketer types, the subject, the preheader and the
    blocks stay the same, and the checks and the preview's usages ask for the same source twice.
    Raises what parsing raises (LiquidError; ValueError, RecursionError at the limits)."""
    return HTML_ENV.from_string(source).analyze(include_partials=False)


def liquid_problems(source, part):
    """Syntax errors (with line and column) and undefined variables of one piece of Liquid."""
    try:
        analysis = analyze(source)
    except LiquidError as error:
        line, column = line_col(source, _locate_liquid_error(source, error))
        return [Problem(str(error.message), line, column, part, "syntax")], set()
    except (ValueError, RecursionError) as error:  # a 5,000-digit literal, absurd nesting
        line, column = line_col(source, _locate_liquid_error(source, error))
        return [Problem(str(error).split("\n")[0], line, column, part, "limit")], set()
    problems, roots = [], set()
    for name, spans in analysis.filters.items():
        if name not in HTML_ENV.filters:
            line, column = line_col(source, spans[0].index)
            problems.append(Problem(f"There is no filter named “{name}”.", line, column, part, "syntax"))
    for name, uses in analysis.globals.items():
        roots.add(name)
        if name not in KNOWN_GLOBALS:
            for use in uses[:3]:
                line, column = line_col(source, use.span.index)
                problems.append(
                    Problem(
                        f"“{use}” is not defined. Known names: {', '.join(sorted(KNOWN_GLOBALS - {'_blocks'}))}.",
                        line,
                        column,
                        part,
                        "undefined",
                    )
                )
    return problems, roots


def _mjml_problems(source, part):
    if "<mj-include" in source:
        index = source.index("<mj-include")
        return [Problem("<mj-include> is not available: use a content block.", *line_col(source, index), part, "mjml")]
    parser = expat.ParserCreate()
    try:
        parser.Parse(_blank_liquid(source), True)
    except expat.ExpatError as error:
        message = expat.errors.messages.get(error.code, str(error))
        return [Problem(f"MJML is not well-formed: {message}", error.lineno, error.offset + 1, part, "mjml")]
    return []


# -- content blocks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A reusable piece of MJML (or HTML inside an mj-text) included by name. With a `condition`
    (a rule of journeys.rules) it is adaptive: shown only to contacts who match it."""

    name: str
    source: str
    condition: dict | None = None


def _inside_ending_tag(source, index):
    depth = 0
    for match in ENDING_TAG.finditer(source, 0, index):
        if match.group(3):  # self-closing
            continue
        depth += -1 if match.group(1) else 1
    return depth > 0


def expand_blocks(source, blocks, part="mjml", depth=0):
    """Inline `{% include "name" %}` / `{% render "name" %}` of content blocks, recursively.

    Adaptive blocks are wrapped in `{% if _blocks["name"] %}`; at MJML element level the wrapping
    tags sit in <mj-raw> so that the MJML stays valid."""
    problems = []
    dynamic = DYNAMIC_INCLUDE.search(source)
    if dynamic:
        problems.append(
            Problem(
                'Include a content block by its quoted name, e.g. {% include "footer" %}.',
                *line_col(source, dynamic.start()),
                part,
            )
        )

    def replace(match):
        name = match.group("name")
        line, column = line_col(source, match.start())
        block = blocks.get(name)
        if block is None:
            problems.append(Problem(f"There is no content block named “{name}”.", line, column, part))
            return ""
        if depth >= MAX_BLOCK_DEPTH:
            problems.append(
                Problem(
                    f"Content blocks are nested more than {MAX_BLOCK_DEPTH} deep (“{name}” includes itself?).",
                    line,
                    column,
                    part,
                    "limit",
                )
            )
            return ""
        try:
            body = expand_blocks(block.source, blocks, f"block:{name}", depth + 1)
        except TemplateError as error:
            problems.extend(error.problems)
            return ""
        if not block.condition:
            return body
        key = name.replace('"', "")
        if _inside_ending_tag(source, match.start()):
            return f'{{% if _blocks["{key}"] %}}{body}{{% endif %}}'
        return f'<mj-raw>{{% if _blocks["{key}"] %}}</mj-raw>{body}<mj-raw>{{% endif %}}</mj-raw>'

    expanded = INCLUDE_TAG.sub(replace, source)
    if problems:
        raise TemplateError(problems)
    return expanded


def used_blocks(source, blocks, depth=0):
    """The names of the blocks a source includes, directly or through other blocks."""
    names = set()
    if depth > MAX_BLOCK_DEPTH:
        return names
    for match in INCLUDE_TAG.finditer(source):
        name = match.group("name")
        if name in names or name not in blocks:
            names.add(name)
            continue
        names.add(name)
        names |= used_blocks(blocks[name].source, blocks, depth + 1)
    return names


# -- MJML ------------------------------------------------------------------------------------------


# What `mrml` renders differently from the `mjml` package (tests/preview/test_mrml_equivalence.py
# compares both in Chromium, fixtures in tests/preview/fixtures/mrml_differs_*.mjml): a source with
# one of these is compiled by `mjml` even for a preview.
_MJML_NETWORKS = (
    "facebook|twitter|google|pinterest|linkedin|instagram|web|snapchat|youtube|tumblr|github|xing|vimeo|medium"
    "|soundcloud|dribbble"
)
MRML_DIFFERS = {
    # no whitespace between the links: "WOMENMEN" where mjml shows "WOMEN MEN"
    "navbar": re.compile(r"<mj-navbar\b"),
    # no previous/next arrows beside the image, which is wider: another layout
    "carousel": re.compile(r"<mj-carousel\b"),
    # a network mjml does not know ("x"): mrml links to a share URL and adds its icon
    "social_x": re.compile(rf"""<mj-social-element\b[^>]*\bname\s*=\s*["'](?!(?:{_MJML_NETWORKS})(?:-noshare)?["'])"""),
}
_MRML_LEFT_OVER = re.compile(r"<mj-[a-z-]+")  # an element mrml did not know, passed through as it is


def mrml_differs(source):
    """The names of MRML_DIFFERS that `source` uses."""
    return [name for name, pattern in MRML_DIFFERS.items() if pattern.search(source)]


def mjml_to_html(source, compiler="mjml"):
    """Compile MJML with the `mjml` package (the Python port of MJML; what sending uses), or with
    `compiler="mrml"` with `mrml` (the Rust port, some 25 times faster: for live previews). Where
    mrml is not known to be equivalent, or fails, the `mjml` package compiles (and reports)."""
    if compiler == "mrml" and not mrml_differs(source):
        try:
            html = mrml.to_html(source).content
        except Exception:  # noqa: BLE001 (mrml raises OSError for whatever it cannot parse)
            html = None
        if html is not None and not _MRML_LEFT_OVER.search(html):
            return html
    try:
        result = mjml.mjml_to_html(source)
    except KeyError as error:
        name = str(error).strip("'\"")
        index = source.find(f"<{name}")
        raise TemplateError([Problem(f"Unknown MJML element <{name}>.", *line_col(source, index), "mjml", "mjml")])
    except Exception as error:  # the port raises whatever its parser meets
        raise TemplateError([Problem(f"MJML could not be compiled: {error}", part="mjml", kind="mjml")])
    if result.errors:
        raise TemplateError([Problem(f"MJML: {message}", part="mjml", kind="mjml") for message in result.errors])
    return result.html


def _with_preheader(source, preheader):
    if not preheader or "<mj-preview" in source:
        return source
    tag = f"<mj-preview>{preheader}</mj-preview>"
    if "<mj-head>" in source:
        return source.replace("<mj-head>", "<mj-head>" + tag, 1)
    return re.sub(r"(<mjml[^>]*>)", r"\1<mj-head>" + tag.replace("\\", "\\\\") + "</mj-head>", source, count=1)


# -- text part ---------------------------------------------------------------------------------
#
# The text part comes out of the same render as the HTML. At compile time `mark_text` cuts the
# HTML into pieces, each led by MARK and a letter saying what follows up to the next MARK:
#   h  HTML only (markup)              t  visible text: in the HTML and in the text part
#   x  text only (line breaks, " (", the alt text of a linked image)
#   l  a link's URL in the HTML        L  in the text part: the URL of the link it closes (tracked)
# A piece says what it is, so loops and conditions around pieces (Liquid) keep them whole. After a
# render, `split_parts` splits once at MARK and deals the pieces out. MARK is a control character,
# which neither HTML nor MJML output contains.

MARK = "\x02"
HTML, TEXT, TEXT_ONLY, LINK, TEXT_LINK = "h", "t", "x", "l", "L"
BLOCK_TAGS = {"p", "div", "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "br", "hr", "center"}
SKIP_TAGS = {"head", "style", "script", "title", "xml"}
_HTML_TOKEN = re.compile(r"<!--.*?-->|<[^>]*>|[^<]+", re.S)
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9:-]*)([^>]*?)(/?)\s*>", re.S)
_ATTR = re.compile(r"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_HREF = re.compile(r'(\shref=")((?:https?://|WLQ\d{5}QLW)[^"]*)(")', re.I)


_UNSHOWN_LINKS = ("#", "mailto:", "tel:")  # links the text part does not spell out


class _Pieces:
    def __init__(self):
        self.out = []
        self.kind = HTML
        self.pending = []  # text-only pieces waiting to be written as one (only markup in between)

    def add(self, kind, content):
        if kind == TEXT_ONLY:
            self.pending.append(content)
            return
        # Waiting text-only pieces may move past plain markup (it adds nothing to the text), not
        # past text, links or Liquid (a loop or condition must keep them in its body).
        if self.pending and (kind != HTML or PLACEHOLDER.search(content)):
            self.flush()
        if kind != self.kind or kind in (LINK, TEXT_LINK):
            self.out.append(MARK + kind)
            self.kind = kind
        self.out.append(content)

    def flush(self):
        joined = "".join(self.pending)
        self.pending.clear()
        if "\n\n\n" in joined:
            joined = re.sub(r"\n{3,}", "\n\n", joined)
        self.out.append(MARK + TEXT_ONLY + joined)
        self.kind = TEXT_ONLY

    def text_link(self):
        """ " (<the URL of the link being closed>)": the URL is not rendered a second time."""
        self.add(TEXT_ONLY, " (")
        self.flush()
        self.add(TEXT_LINK, "")
        self.add(TEXT_ONLY, ")")

    def result(self):
        if self.pending:
            self.flush()
        return "".join(self.out)


def mark_text(html):
    """Cut an email's HTML (plain, or with Liquid placeholders) into marked pieces."""
    pieces = _Pieces()
    skip = []  # [tag, depth] of an element whose content is not text (head, hidden preheader)
    links = []  # (href, marked as a LINK piece?) of the <a> elements we are inside
    started = False  # nothing before <body> is text
    preformatted = 0  # depth of <pre> elements
    for token in _HTML_TOKEN.findall(html.replace(MARK, "")):
        if token.startswith("<!--"):
            pieces.add(HTML, token)
            continue
        tag = _TAG.match(token) if token.startswith("<") else None
        if tag is None:
            if started and not skip and not token.startswith("<") and (token.strip() or "\n" not in token):
                if not preformatted:  # a line break in HTML text is a space
                    token = token.replace("\r\n", " ").replace("\n", " ")
                pieces.add(TEXT, token)
            else:
                pieces.add(HTML, token)
            continue
        closing, name, attrs, self_closing = tag.group(1), tag.group(2).lower(), tag.group(3), tag.group(4)
        if name == "body" and not closing:
            started = True
        if name == "pre" and not self_closing:
            preformatted = max(0, preformatted + (-1 if closing else 1))
        in_content = started and not skip
        if in_content and not closing:
            attributes = {
                m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR.finditer(attrs)
            }
            style = (attributes.get("style") or "").replace(" ", "").lower()
            if name in SKIP_TAGS or (name == "div" and "display:none" in style):
                pieces.add(HTML, token)
                if not self_closing:
                    skip.append([name, 1])
                continue
            if name == "img" and links and attributes.get("alt", "").strip():
                pieces.add(TEXT_ONLY, attributes["alt"])
        if in_content and closing and name == "a" and links:
            href, marked = links.pop()
            if href and not href.startswith(_UNSHOWN_LINKS):
                # Always "(url)": whether a label is there may depend on the data (an empty name).
                if marked:
                    pieces.text_link()
                else:
                    pieces.add(TEXT_ONLY, f" ({href})")
        href = _HREF.search(token) if in_content and name == "a" and not closing else None
        if href:
            links.append((href.group(2), True))
            pieces.add(HTML, token[: href.end(1)])
            pieces.add(LINK, href.group(2))
            pieces.add(HTML, token[href.start(3) :])
        else:
            if in_content and name == "a" and not closing:
                hrefs = [m.group(2) or m.group(3) or "" for m in _ATTR.finditer(attrs) if m.group(1).lower() == "href"]
                links.append((hrefs[0] if hrefs else "", False))
            pieces.add(HTML, token)
        if skip:
            if name == skip[-1][0] and not self_closing:
                skip[-1][1] += -1 if closing else 1
                if skip[-1][1] == 0:
                    skip.pop()
            continue
        if not started:
            continue
        if name in BLOCK_TAGS:
            pieces.add(TEXT_ONLY, "\n")
        elif name in ("td", "th") and closing:
            pieces.add(TEXT_ONLY, " ")
    return pieces.result()


_BLANK_LINES = re.compile(r"\n{3,}")


def tidy_text(text):
    """Each line's whitespace collapsed, at most one empty line in a row."""
    text = "\n".join([" ".join(line.split()) for line in text.split("\n")])
    return _BLANK_LINES.sub("\n\n", text).strip() + "\n"


def split_parts(marked, tracker=None):
    """The HTML, the text part and the tracked links of a rendered, marked email. One split and
    one pass over the pieces: this runs for every email."""
    pieces = marked.split(MARK)
    html, text = [pieces[0]], []
    track = tracker.link if tracker is not None else None
    link = ""  # the last link's URL, for the text part's " (URL)" after it
    unwrap = False  # the last link's URL rendered empty: its " (" and ")" go too
    for piece in pieces[1:]:
        kind = piece[:1]
        if kind == HTML:
            html.append(piece[1:])
        elif kind == TEXT:
            html.append(piece[1:])
            text.append(piece[1:])
        elif kind == TEXT_ONLY:
            text.append(piece[2:] if unwrap and piece.startswith(")", 1) else piece[1:])
            unwrap = False
        elif kind == LINK:
            link = track(piece[1:]) if track else piece[1:]
            html.append(link)
        elif kind == TEXT_LINK:
            if link and not link.startswith(_UNSHOWN_LINKS):
                text.append(link)
            elif text and text[-1].endswith(" ("):  # as per message: such an href shows nothing
                text[-1], unwrap = text[-1][:-2], True
        else:  # a MARK from the data itself: keep it as text
            html.append(piece)
    html = "".join(html)
    links = ()
    if tracker is not None:
        html = tracker.add_pixel(html)
        links = tracker.links()
    return html, tidy_text(htmllib.unescape("".join(text))), links


def finish_html(html, tracker=None):
    """HTML, text part and links of a plain (already personalized) email's HTML."""
    return split_parts(mark_text(html), tracker)


# -- compile once ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """What a template version stores: Liquid sources ready to parse, and what they need."""

    subject: str
    body: str  # the compiled HTML with Liquid restored and text markers (see mark_text)
    roots: frozenset = frozenset()
    blocks: tuple = ()  # names of the content blocks used
    warnings: tuple = ()  # Problems that do not stop a save (undefined variables)

    @property
    def content_hash(self):
        digest = hashlib.sha256()
        for part in (self.subject, self.body):
            digest.update(part.encode())
            digest.update(b"\x00")
        return digest.hexdigest()


def validate_template(mjml_source, subject, preheader="", blocks=None):
    """Every problem of a template: Liquid syntax errors and undefined variables (with line and
    column in the author's source, or in the block they are in), MJML structure errors."""
    blocks = blocks or {}
    problems, roots = [], set()
    if len(mjml_source) > MAX_SOURCE_CHARS:
        return [Problem(f"The template is longer than {MAX_SOURCE_CHARS} characters.", kind="limit")], roots
    for part, source in (("subject", subject), ("preheader", preheader or ""), ("mjml", mjml_source)):
        found, names = liquid_problems(source, part)
        problems += found
        roots |= names
    for name in sorted(used_blocks(mjml_source, blocks)):
        if name in blocks:
            found, names = liquid_problems(blocks[name].source, f"block:{name}")
            problems += found
            roots |= names
    if not any(p.kind == "syntax" for p in problems):
        problems += _mjml_problems(mjml_source, "mjml")
    return problems, roots


def compile_template(mjml_source, subject, preheader="", blocks=None, compiler="mjml"):
    """Compile once: returns `Compiled` or raises TemplateError with every problem found.
    `compiler` (see mjml_to_html): "mrml" for previews only; a saved version is compiled by mjml."""
    blocks = blocks or {}
    problems, roots = validate_template(mjml_source, subject, preheader, blocks)
    errors = [p for p in problems if p.kind != "undefined"]
    if errors:
        raise TemplateError(errors)
    source = _with_preheader(expand_blocks(mjml_source, blocks), preheader)
    protected, tokens = protect(source)
    compiled_html = mjml_to_html(protected, compiler)
    missing = set(range(len(tokens))) - {int(n) for n in PLACEHOLDER.findall(compiled_html)}
    if missing and compiler != "mjml":  # what sending would say (or do) decides
        compiled_html = mjml_to_html(protected)
        missing = set(range(len(tokens))) - {int(n) for n in PLACEHOLDER.findall(compiled_html)}
    if missing:
        first = tokens[min(missing)]
        raise TemplateError(
            [
                Problem(
                    f"MJML dropped the Liquid “{first[:60]}”: put Liquid between MJML elements inside <mj-raw>.",
                    *line_col(source, source.find(first)),
                    "mjml",
                    "mjml",
                )
            ]
        )
    compiled = Compiled(
        subject=subject,
        body=restore(mark_text(compiled_html), tokens),
        roots=frozenset(roots),
        blocks=tuple(sorted(used_blocks(mjml_source, blocks))),
        warnings=tuple(p for p in problems if p.kind == "undefined"),
    )
    prepare(compiled)  # proves that what MJML made of the Liquid still parses
    return compiled


# -- the per-process cache of parsed templates ----------------------------------------------------


@dataclass
class Prepared:
    subject: object
    body: object
    roots: frozenset = field(default_factory=frozenset)


_cache = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 256


def prepare(compiled):
    """The parsed templates of a compiled version, parsed once per process (keyed by content hash)."""
    key = compiled.content_hash
    with _cache_lock:
        prepared = _cache.get(key)
        if prepared is not None:
            _cache.move_to_end(key)
            return prepared
    try:
        prepared = Prepared(
            subject=TEXT_ENV.from_string(compiled.subject),
            body=HTML_ENV.from_string(compiled.body),
            roots=frozenset(compiled.roots),
        )
    except LiquidError as error:
        raise TemplateError(
            [Problem(f"After MJML compilation the Liquid no longer parses: {error.message}", part="mjml")]
        )
    with _cache_lock:
        _cache[key] = prepared
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return prepared


# -- per contact -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    links: tuple = ()  # the original URLs the tracked links of this message go to


def _run(template, data, seconds):
    try:
        return sandbox_render(template, data, seconds)
    except LiquidError as error:
        raise RenderError(str(error.message)) from error
    except (ValueError, ArithmeticError, TypeError, RecursionError, MemoryError) as error:
        raise RenderError(str(error).split("\n")[0] or type(error).__name__) from error


def render_email(prepared, data, tracker=None, seconds=2.0):
    """Personalize a prepared template for one contact. `tracker` (tracking.LinkTracker) rewrites
    links and adds the open pixel; without it (previews) links are left as written."""
    subject = " ".join(_run(prepared.subject, data, seconds).split())
    html, text, links = split_parts(_run(prepared.body, data, seconds), tracker)
    return Rendered(subject=subject, html=html, text=text, links=links)


def render_per_message(mjml_source, subject, data, preheader="", blocks=None, tracker=None):
    """The slow way, for proofs and benchmarks: Liquid on the MJML, then MJML, per message."""
    source = _with_preheader(expand_blocks(mjml_source, blocks or {}), preheader)
    mjml_filled = _run(HTML_ENV.from_string(source), data, 10.0)
    html, text, links = finish_html(mjml_to_html(mjml_filled), tracker)
    subject_out = " ".join(_run(TEXT_ENV.from_string(subject), data, 10.0).split())
    return Rendered(subject=subject_out, html=html, text=text, links=links)


_COLUMN_CSS = re.compile(r"(?:\.moz-text-html )?\.mj-column-per-\d+ \{[^}]*\}")


def normalize_html(html):
    """Whitespace-insensitive form of an email's HTML, for equivalence checks: runs of whitespace
    collapsed, whitespace between tags and at the ends of attribute values dropped, adjacent Outlook
    conditional comments merged,
    entities decoded, and the head's column-width classes dropped (MJML writes one per column
    width it met: compiled once, the template's widths are all there, used or not)."""
    html = _COLUMN_CSS.sub("", htmllib.unescape(html))
    html = re.sub(r"\s+", " ", html)
    html = re.sub(r">\s+", ">", html)
    html = re.sub(r"\s+<", "<", html)
    html = re.sub(r'="\s+', '="', html)  # leading and trailing spaces inside attribute values
    html = re.sub(r'\s+"', '"', html)
    return html.replace("<![endif]--><!--[if mso | IE]>", "")
