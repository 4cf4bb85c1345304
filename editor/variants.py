"""A draft rendered for preview subjects, by the sending code path (delivery.rendering).

No ORM here: the draft's source, the content blocks and each subject's render context come in;
plain dicts ready for the websocket go out. `compile_draft` is what saving a template version does
(compile once); `render_variant` is what sending does per contact (`render_email`), without the
click tracking (previews leave links as written), plus what QA wants to know about the variant:
which adaptive blocks it shows, and warnings (variables this subject has no value for, empty
recommendations, a failed render).
"""

import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from django.conf import settings
from liquid.exceptions import LiquidError

from delivery import rendering


@dataclass(frozen=True)
class Draft:
    """What the editor holds: unsaved or saved, it is rendered the same way."""

    mjml: str
    subject: str = ""
    preheader: str = ""

    @classmethod
    def from_message(cls, data):
        def text(name):
            value = data.get(name, "")
            if not isinstance(value, str):
                raise ValueError(f"“{name}” must be text")
            return value

        draft = cls(mjml=text("mjml"), subject=text("subject"), preheader=text("preheader"))
        if len(draft.mjml) > rendering.MAX_SOURCE_CHARS or len(draft.subject) + len(draft.preheader) > 10_000:
            raise ValueError("the template is too long")
        return draft

    def as_dict(self):
        return {"mjml": self.mjml, "subject": self.subject, "preheader": self.preheader}


@dataclass(frozen=True)
class Usage:
    """A variable the template prints, where (in the author's source), and whether it has a default."""

    path: tuple
    part: str
    line: int | None
    column: int | None
    has_default: bool


@dataclass
class Compilation:
    ok: bool
    compiled: object = None  # rendering.Compiled
    prepared: object = None  # rendering.Prepared
    problems: list = field(default_factory=list)  # errors (not ok) or warnings, as dicts
    usages: tuple = ()
    conditional_blocks: frozenset = frozenset()  # adaptive blocks the draft uses


@dataclass
class PreviewSubject:
    """One preview subject: a real contact, a persona or a sampled contact, with its render context."""

    key: str  # "contact:12", "persona:3"
    kind: str  # contact, persona, sample
    label: str
    data: dict  # the render context, as delivery builds it for sending
    facts: dict = field(default_factory=dict)  # country, locale, cart size... shown next to the label

    def describe(self):
        return {"key": self.key, "kind": self.kind, "label": self.label, "facts": self.facts}


# -- compile once per draft ------------------------------------------------------------------------

_cache = OrderedDict()
_lock = threading.Lock()
CACHE_SIZE = 64


def _blocks_fingerprint(blocks):
    items = sorted((name, block.source, json.dumps(block.condition, sort_keys=True)) for name, block in blocks.items())
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()


def compile_draft(draft, blocks=None, compiler=None):
    """Compile a draft as saving a template version would; cached per process by content.
    Never raises for a broken template: the problems say what and where. The MJML compiler is
    settings.PREVIEW_MJML_COMPILER ("mrml": the Rust port where it renders as the `mjml` package
    does, see rendering.mjml_to_html; "mjml": exactly what saving runs)."""
    blocks = blocks or {}
    compiler = compiler or settings.PREVIEW_MJML_COMPILER
    key = hashlib.sha256(
        json.dumps([draft.mjml, draft.subject, draft.preheader, _blocks_fingerprint(blocks), compiler]).encode()
    ).hexdigest()
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    result = _compile(draft, blocks, compiler)
    with _lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _compile(draft, blocks, compiler):
    try:
        compiled = rendering.compile_template(draft.mjml, draft.subject, draft.preheader, blocks, compiler=compiler)
        prepared = rendering.prepare(compiled)
    except rendering.TemplateError as error:
        return Compilation(ok=False, problems=[problem.as_dict() for problem in error.problems])
    used = set(compiled.blocks)
    return Compilation(
        ok=True,
        compiled=compiled,
        prepared=prepared,
        problems=[problem.as_dict() for problem in compiled.warnings],
        usages=tuple(_usages(draft, {name: blocks[name] for name in used if name in blocks})),
        conditional_blocks=frozenset(name for name in used if name in blocks and blocks[name].condition),
    )


def compilation_of_version(version):
    """A saved template version as sending renders it: its stored compiled body (the version's own
    compile-once output), with the warnings and usages of its source for QA."""
    compiled = rendering.Compiled(
        subject=version.subject,
        body=version.compiled_body,
        roots=frozenset(version.roots or ()),
        blocks=tuple(sorted(version.blocks or {})),
    )
    blocks = {
        name: rendering.Block(name, block.get("source", ""), block.get("condition"))
        for name, block in (version.blocks or {}).items()
    }
    return Compilation(
        ok=True,
        compiled=compiled,
        prepared=rendering.prepare(compiled),
        problems=list(version.warnings or []),
        usages=tuple(_usages(Draft(version.mjml, version.subject, version.preheader), blocks)),
        conditional_blocks=frozenset(name for name, block in blocks.items() if block.condition),
    )


def _usages(draft, blocks):
    """Every global variable path printed by `{{ ... }}` in the author's sources (first use of each)."""
    sources = [("subject", draft.subject), ("preheader", draft.preheader), ("mjml", draft.mjml)]
    sources += [(f"block:{name}", block.source) for name, block in sorted(blocks.items())]
    seen = set()
    for part, source in sources:
        if not source or ("{{" not in source and "{%" not in source):
            continue
        try:
            analysis = rendering.analyze(source)
        except (LiquidError, ValueError, RecursionError):
            continue
        outputs = _markup_with_guards(source)
        for uses in analysis.globals.values():
            for use in uses:
                path = tuple(use.segments)
                if path in seen or not all(isinstance(s, (str, int)) for s in path) or path[0] == "_blocks":
                    continue
                found = _enclosing(outputs, use.span.index)
                if found is None or not found[0].startswith("{{"):
                    continue  # used in a condition or a loop: a missing value is a choice there
                markup, guards = found
                if _guarded(path, guards):
                    continue  # printed only when a condition on it holds ({% if offer %}...)
                seen.add(path)
                line, column = rendering.line_col(source, use.span.index)
                yield Usage(path, part, line, column, has_default=bool(re.search(r"\|\s*default\b", markup)))


_TAG = re.compile(r"\{%-?\s*(\w+)(.*?)-?%\}\Z", re.S)
_OPENERS = {"if", "unless", "case", "for"}
_CLOSERS = {"endif", "endunless", "endcase", "endfor"}


def _markup_with_guards(source):
    """Each piece of Liquid markup with the conditions of the blocks around it (if, unless, case,
    elsif, when, for)."""
    pieces, stack = [], []
    for match in rendering.LIQUID_MARKUP.finditer(source):
        markup = match.group(0)
        tag = _TAG.match(markup)
        if tag:
            name, rest = tag.group(1), tag.group(2)
            if name in _OPENERS:
                stack.append(rest)
            elif name in ("elsif", "when") and stack:
                stack[-1] = f"{stack[-1]} {rest}"
            elif name in _CLOSERS and stack:
                stack.pop()
        pieces.append((match.start(), match.end(), markup, tuple(stack)))
    return pieces


def _guarded(path, guards):
    names = {".".join(str(s) for s in path[: n + 1]) for n in range(len(path))}
    for guard in guards:
        for name in names:
            if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", guard):
                return True
    return False


def _enclosing(pieces, index):
    for start, end, markup, guards in pieces:
        if start <= index < end:
            return markup, guards
        if start > index:
            break
    return None


# -- per subject -----------------------------------------------------------------------------------

_MISSING = object()


def _lookup(data, path):
    value = data
    for segment in path:
        try:
            if isinstance(value, dict):
                value = value[segment]
            elif isinstance(value, (list, tuple)) and isinstance(segment, int):
                value = value[segment]
            elif isinstance(segment, str) and segment in ("size", "first", "last"):
                return True
            elif hasattr(value, "__getitem__"):
                value = value[segment]
            else:
                return _MISSING
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return value


def subject_warnings(compilation, data):
    warnings = []
    for usage in compilation.usages:
        value = _lookup(data, usage.path)
        if value is _MISSING or value is None or value == "":
            name = ".".join(str(s) for s in usage.path)
            fallback = "its default is shown" if usage.has_default else "nothing is printed there"
            warnings.append(
                {
                    "kind": "undefined",
                    "message": f"“{name}” has no value for this subject: {fallback}.",
                    "part": usage.part,
                    "line": usage.line,
                    "column": usage.column,
                }
            )
    roots = compilation.compiled.roots
    if "recommendations" in roots and not data.get("recommendations"):
        warnings.append(
            {
                "kind": "empty",
                "message": "No recommendations for this subject: the recommendations section is empty.",
                "part": "mjml",
                "line": None,
                "column": None,
            }
        )
    return warnings


def render_variant(compilation, subject):
    """One subject's variant: exactly what sending would produce, minus click tracking."""
    base = {"subject_key": subject.key}
    try:
        rendered = rendering.render_email(compilation.prepared, subject.data)
    except rendering.RenderError as error:
        return {
            **base,
            "ok": False,
            "subject": "",
            "preheader": "",
            "html": "",
            "text": "",
            "blocks": [],
            "warnings": [{"kind": "render", "message": f"This variant cannot be rendered: {error}", "part": "mjml"}],
        }
    flags = subject.data.get("_blocks") or {}
    blocks = [
        {"name": name, "shown": bool(flags.get(name, True)), "adaptive": name in compilation.conditional_blocks}
        for name in compilation.compiled.blocks
    ]
    return {
        **base,
        "ok": True,
        "subject": rendered.subject,
        "preheader": preheader_of(rendered.html),
        "html": rendered.html,
        "text": rendered.text,
        "blocks": blocks,
        "warnings": subject_warnings(compilation, subject.data),
    }


_PREVIEW_DIV = re.compile(r'<div style="display:none;[^"]*">(.*?)</div>', re.S)


def preheader_of(html):
    """The preheader as an inbox shows it: MJML puts mj-preview in the first hidden div."""
    match = _PREVIEW_DIV.search(html)
    if not match:
        return ""
    text = re.sub(r"<[^>]+>", "", match.group(1))
    text = re.sub(r"&#847;|&zwnj;|&nbsp;|\u034f|\u200c|\xa0", " ", text)
    import html as htmllib

    return " ".join(htmllib.unescape(text).split())
