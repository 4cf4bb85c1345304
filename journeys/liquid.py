"""The one Liquid sandbox: every template a marketer writes renders here, whether it is an email
(HTML and text part, subject), a webhook's URL, headers and body, an update_contact value or a
preview. One set of limits, one time bound, one set of filters. Django-free, so the pure engine
(journeys/engine) renders with it too.

Two environments share the filters: `HTML_ENV` (autoescape on: the HTML and its text part) and
`TEXT_ENV` (subjects, webhooks, contact values). Both carry python-liquid's resource limits (loop
iterations, output size, context depth, local namespace size), and on top of them:

- every filter is guarded: its inputs are bounded (no string over MAX_STRING, no sequence over
  MAX_ITEMS), filters that can multiply their input (`replace`, `join`, `split`, `concat`,
  `append`, `prepend`) check the size of their result *before* building it, and every result is
  checked again (numbers too: no integer over MAX_DIGITS digits);
- ranges are bounded wherever they appear (`(1..n)` with n - 1 over MAX_ITEMS is an error), so
  neither `(1..10000000) | reverse` nor `{{ (1..10000000) }}` can build a huge list or string;
- the time bound (`render(..., seconds)`) is checked on every loop iteration, every assign and
  every filter call; since each filter's work is bounded by the limits above, no single step can
  outlive the deadline by more than a few milliseconds.

Filters that need to know who the email is for (timezone, locale, currency) read the render's
`PERSONA` global: a small `Persona` the context builder puts there.

One tag of our own, for the HTML environment (TEXT_ENV refuses it when parsing):
`{% live_image "price" sku: "SKU-1" %}` (kinds in LIVE_IMAGE_KINDS; `countdown` takes `until:`
instead of a sku; optional `color:` / `background:` hex colours and `alt:`) writes an <img> whose
picture is drawn when the email is opened. The tag checks its arguments when the template is parsed
and gets the image's URL from the render data's `LIVE_IMAGE_URL` callable (delivery signs one per
message); without one it shows a placeholder. `HTML_ONLY` in the data keeps the <img> out of the
email's text part.
"""

import base64
import datetime as dt
import functools
import html as htmllib
import re
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from io import StringIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from liquid import BoundTemplate, Environment, RenderContext
from liquid.ast import Node
from liquid.builtin.expressions import KeywordArgument, StringLiteral, parse_primitive
from liquid.builtin.expressions.primitive import RangeLiteral
from liquid.builtin.filters.misc import _to_date
from liquid.builtin.tags.for_tag import ForLoop, ForNode, ForTag
from liquid.exceptions import (
    BreakLoop,
    ContinueLoop,
    LiquidError,
    LiquidSyntaxError,
    OutputStreamLimitError,
    ResourceLimitError,
)
from liquid.filter import with_context
from liquid.tag import Tag
from liquid.token import TOKEN_COLON, TOKEN_COMMA, TOKEN_EOF, TOKEN_STRING, TOKEN_TAG, TOKEN_WORD
from liquid.undefined import is_undefined

PERSONA = "_persona"  # the global that carries timezone / locale / currency for the filters
RENDER_SECONDS = 2.0  # time bound of one render
LOOP_ITERATION_LIMIT = 10_000
OUTPUT_STREAM_LIMIT = 2_000_000  # bytes; Gmail clips at 102 KB, anything near this is a bug
CONTEXT_DEPTH_LIMIT = 10
LOCAL_NAMESPACE_LIMIT = 200_000  # bytes held by assign/capture
MAX_STRING = OUTPUT_STREAM_LIMIT  # characters of any one value a filter takes or makes
MAX_ITEMS = LOOP_ITERATION_LIMIT  # items of any one sequence (a range, a split, a join's input)
MAX_DIGITS = 50  # digits of an integer a filter makes


class RenderTimeout(ResourceLimitError):
    """A render took longer than its time bound."""


class ValueLimitError(ResourceLimitError):
    """A filter or a range would make a value larger than the sandbox allows."""


@dataclass(frozen=True)
class Persona:
    """Who a render is for, as the filters need it."""

    timezone: str = "UTC"
    locale: str = "en_US"
    currency: str = "USD"


DEFAULT_PERSONA = Persona()


class SandboxContext(RenderContext):
    """A render context that also enforces a deadline (set by `render`)."""

    deadline = None

    def check_deadline(self):
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise RenderTimeout("the template took too long to render", token=None)

    def raise_for_loop_limit(self, length=1):
        self.check_deadline()
        super().raise_for_loop_limit(length)

    def assign(self, key, val):
        self.check_deadline()
        super().assign(key, val)

    def copy(self, *args, **kwargs):
        context = super().copy(*args, **kwargs)
        context.deadline = self.deadline
        return context


class SandboxTemplate(BoundTemplate):
    context_class = SandboxContext


def _check(context, buffer):
    if buffer.tell() > context.env.output_stream_limit:
        raise OutputStreamLimitError("output stream limit reached", token=None)
    if context.deadline is not None and time.monotonic() > context.deadline:
        raise RenderTimeout("the template took too long to render", token=None)


class SandboxForNode(ForNode):
    """python-liquid's for loop, checking the output size and the deadline on every iteration:
    only a loop can make a render long or its output big (outside loops, the output is bounded by
    the template's size and its values by the local namespace limit)."""

    __slots__ = ()

    def render_to_output(self, context, buffer):
        it, length = self.expression.evaluate(context)
        if not length:
            return self.default.render(context, buffer) if self.default else 0
        name = self.expression.identifier
        forloop = ForLoop(
            name=f"{name}-{self.expression.iterable}", it=it, length=length, parentloop=context.parentloop()
        )
        namespace = {"forloop": forloop, name: None}
        count = 0
        with context.loop(namespace, forloop):
            for item in forloop:
                _check(context, buffer)
                namespace[name] = item
                try:
                    count += self.block.render(context, buffer)
                except ContinueLoop:
                    continue
                except BreakLoop:
                    break
        _check(context, buffer)
        return count


class SandboxForTag(ForTag):
    node_class = SandboxForNode


class SandboxEnvironment(Environment):
    template_class = SandboxTemplate
    loop_iteration_limit = LOOP_ITERATION_LIMIT
    output_stream_limit = OUTPUT_STREAM_LIMIT
    context_depth_limit = CONTEXT_DEPTH_LIMIT
    local_namespace_limit = LOCAL_NAMESPACE_LIMIT


def render(template, data, seconds=RENDER_SECONDS):
    """Render a parsed template with `data` under the sandbox's limits and a time bound.

    Raises LiquidError (including RenderTimeout and the resource limit errors) or, for runaway
    values such as a 5,000-digit number, ValueError/ArithmeticError; callers turn them into a
    RenderError."""
    deadline = time.monotonic() + seconds
    # Our environments have no globals and templates no front matter: the data is the global
    # namespace as it is (python-liquid would chain it with the two empty ones, on every lookup).
    namespace = data if not (template.globals or template.matter) else template.make_globals(data)
    context = template.context_class(template, globals=namespace)
    context.deadline = deadline
    buffer = StringIO()
    template.render_with_context(context, buffer)
    _check(context, buffer)
    return buffer.getvalue()


# -- filters -------------------------------------------------------------------------------------


def _persona(context):
    persona = context.globals.get(PERSONA)
    return persona if isinstance(persona, Persona) else DEFAULT_PERSONA


def _decimal(value):
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None or is_undefined(value):
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


@functools.lru_cache(maxsize=8192)
def _format_money(value, currency, locale):
    amount = _decimal(value)
    if amount is None:
        return ""
    if not amount.is_finite() or abs(amount.adjusted()) > 30:
        raise ValueError("money: the amount is out of range")
    try:  # a parsed Locale, kept: parsing one per call costs more than the formatting
        return format_currency(amount, currency, locale=_babel_locale(locale))
    except ValueError:  # an unknown currency code
        return format_currency(amount, "USD", locale=_babel_locale(locale))


@with_context
def money(value, currency=None, *, context):
    """`{{ 19.9 | money }}` -> "$19.90" / "19,90 €": the contact's locale, the context's currency
    (the cart's, else the workspace's), or the one given: `{{ price | money: "EUR" }}`."""
    persona = context.globals.get(PERSONA) or DEFAULT_PERSONA
    code = str(currency).upper() if currency and not is_undefined(currency) else persona.currency
    try:
        return _format_money(value, code, persona.locale)
    except TypeError:  # unhashable: a list or a mapping is no amount
        return ""


@functools.lru_cache(maxsize=256)
def _zone(name):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@functools.lru_cache(maxsize=256)
def _babel_locale(name):
    try:
        return Locale.parse(name or "en_US", sep="_" if "_" in (name or "") else "-")
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_US")


BABEL_FORMATS = {"short", "medium", "long", "full"}


def _to_datetime(value):
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time.min, tzinfo=dt.UTC)
    if value in ("now", "today"):
        return dt.datetime.now(dt.UTC)
    if isinstance(value, (str, int)):
        return _to_date(value)
    return None


@with_context
def date(value, fmt=None, *, context):
    """Liquid's `date`, in the contact's timezone. `fmt` is a strftime format ("%b %d") or one of
    short / medium / long / full for the contact's locale ("5 Dec 2026", "5. Dezember 2026")."""
    if is_undefined(value) or value is None or value == "":
        return ""
    moment = _to_datetime(value)
    if moment is None:
        return str(value)
    persona = _persona(context)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(_zone(persona.timezone))
    if fmt is None or is_undefined(fmt):
        fmt = "medium"
    fmt = str(fmt)
    if fmt in BABEL_FORMATS:
        return format_date(moment, format=fmt, locale=_babel_locale(persona.locale))
    if fmt.startswith("datetime:"):
        style = fmt.split(":", 1)[1]
        return format_datetime(
            moment, format=style if style in BABEL_FORMATS else "medium", locale=_babel_locale(persona.locale)
        )
    if fmt == "%s":
        return str(int(moment.timestamp()))
    return moment.strftime(fmt)


@with_context
def product(sku, *, context):
    """`{% assign shoe = "SKU-1001" | product %}`: the catalog's product, with live price and stock."""
    products = context.globals.get("products")
    if products is None or sku is None or is_undefined(sku):
        return None
    try:
        return products[str(sku)]
    except KeyError:
        return None


# -- guards: every filter bounded, every range bounded ---------------------------------------------


def _too_big(what):
    return ValueLimitError(f"{what} is too large for a template", token=None)


def _text(value):
    return value if isinstance(value, str) else "" if value is None or is_undefined(value) else str(value)


def _length(value):
    """How big a value a filter takes is (characters or items); 0 for scalars."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple, range, dict)):
        return len(value)
    return 0


def _check_value(value, what):
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise _too_big(what)
    elif isinstance(value, (list, tuple, range, dict)):
        if len(value) > MAX_ITEMS:
            raise _too_big(what)
    elif isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_DIGITS * 3.33:  # about MAX_DIGITS decimal digits
            raise _too_big(what)


def _replace_size(left, old="", new="", *_):
    text, old, new = _text(left), _text(old), _text(new)
    count = len(text) + 1 if not old else text.count(old)
    return len(text) + count * (len(new) - len(old))


def _join_size(left, separator=" ", *_):
    if not isinstance(left, (list, tuple, range)):
        return _length(left)
    items = sum(len(item) if isinstance(item, str) else 24 for item in left)
    return items + len(_text(separator)) * max(len(left) - 1, 0)


def _split_items(left, separator=" ", *_):
    text, separator = _text(left), _text(separator)
    return len(text) if not separator else text.count(separator) + 1


# Filters that can make a result much bigger than their input: its size, computed before it is made.
RESULT_SIZE = {
    "replace": _replace_size,
    "replace_first": lambda left, old="", new="", *_: len(_text(left)) + len(_text(new)),
    "replace_last": lambda left, old="", new="", *_: len(_text(left)) + len(_text(new)),
    "append": lambda left, other="", *_: len(_text(left)) + len(_text(other)),
    "prepend": lambda left, other="", *_: len(_text(left)) + len(_text(other)),
    "join": _join_size,
}
RESULT_ITEMS = {
    "split": _split_items,
    "concat": lambda left, other=(), *_: _length(left) + _length(other),
}


def _guarded(name, func):
    """`func` with the sandbox's checks around it (see the module docstring)."""
    size_of, items_of = RESULT_SIZE.get(name), RESULT_ITEMS.get(name)
    wants_context = getattr(func, "with_context", False)
    wants_environment = getattr(func, "with_environment", False)

    def guarded(left, *args, context, **kwargs):
        check = getattr(context, "check_deadline", None)
        if check is not None:
            check()
        what = f"the input of “{name}”"
        _check_value(left, what)
        for arg in args:
            _check_value(arg, what)
        if size_of is not None and size_of(left, *args) > MAX_STRING:
            raise _too_big(f"the result of “{name}”")
        if items_of is not None and items_of(left, *args) > MAX_ITEMS:
            raise _too_big(f"the result of “{name}”")
        if wants_context:
            kwargs["context"] = context
        if wants_environment:
            kwargs["environment"] = context.env
        result = func(left, *args, **kwargs)
        _check_value(result, f"the result of “{name}”")
        return result

    guarded.with_context = True
    if hasattr(func, "validate"):
        guarded.validate = func.validate
    guarded.__name__ = f"guarded_{name}"
    guarded.__doc__ = func.__doc__
    return guarded


def _bounded_range(self, start, stop):
    """python-liquid's range literal, refusing more than MAX_ITEMS items (everywhere a range can
    stand: a loop, an assign, a filter's input, an output statement)."""
    made = _unbounded_range(self, start, stop)
    if len(made) > MAX_ITEMS:
        raise ValueLimitError(
            f"the range ({start}..{stop}) has more than {MAX_ITEMS:,} items", token=getattr(self, "token", None)
        )
    return made


_unbounded_range = RangeLiteral._make_range
# A patch of the library's class, not of one environment: the parser builds RangeLiteral itself and
# offers no hook. Every environment in this process is a sandbox, so none needs unbounded ranges.
RangeLiteral._make_range = _bounded_range


FILTERS = {"money": money, "date": date, "product": product}


# -- the live image tag ----------------------------------------------------------------------------

LIVE_IMAGE_URL = "_live_image_url"  # render data: callable(kind, sku, options) -> the image's URL
HTML_ONLY = "_html_only"  # render data: callable(markup) -> markup the text part leaves out
LIVE_IMAGE_KINDS = ("price", "stock", "countdown")
LIVE_IMAGE_OPTIONS = ("sku", "until", "color", "background", "alt")
LIVE_IMAGE_SIZE = (600, 150)  # pixels drawn; shown at half that (sharp on high-density screens)
LIVE_IMAGE_MAX_SKU = 100  # Product.sku's length
DEFAULT_COLOR, DEFAULT_BACKGROUND = "1a1a1a", "ffffff"  # dark text on white
_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_ALT = {"price": "Current price", "stock": "Stock", "countdown": "Time left"}
# A transparent 1x1 PNG: what a preview without a signed URL shows.
PLACEHOLDER_PNG = base64.b64decode(
    b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNgYGBgAAAABQABeqhXUAAAAABJRU5ErkJggg=="
)
PLACEHOLDER_URL = "data:image/png;base64," + base64.b64encode(PLACEHOLDER_PNG).decode()


def hex_color(value):
    """A hex colour ("#1A1A1A", "1a1a1a", "#fff") -> "1a1a1a" / "ffffff"; None if it is none."""
    match = _HEX.fullmatch(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        return None
    digits = match.group(1).lower()
    return "".join(c * 2 for c in digits) if len(digits) == 3 else digits


def countdown_until(value):
    """An ISO 8601 moment -> aware UTC datetime, or None. A moment without a zone is UTC."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def live_image_options(kind, values, strict=True):
    """The checked, normalized options of a live image (see LiveImageTag) from its evaluated
    arguments -> (sku, {"color", "background", "until"?}, alt); raises ValueError saying what is
    wrong. Not `strict` (values from the data, when rendering), a colour that is no hex colour is
    the default one."""
    if kind not in LIVE_IMAGE_KINDS:
        raise ValueError(f"live_image: the kind must be one of {', '.join(LIVE_IMAGE_KINDS)}, not “{kind}”")
    sku = values.get("sku")
    sku = "" if sku is None or is_undefined(sku) else str(sku).strip()
    if len(sku) > LIVE_IMAGE_MAX_SKU:
        raise ValueError(f"live_image: the sku is longer than {LIVE_IMAGE_MAX_SKU} characters")
    options = {}
    for name, default in (("color", DEFAULT_COLOR), ("background", DEFAULT_BACKGROUND)):
        value = values.get(name)
        if value is None or is_undefined(value):
            options[name] = default
        elif (options.setdefault(name, hex_color(value) or (None if strict else default))) is None:
            raise ValueError(f"live_image: {name} must be a hex colour such as “#1a1a1a”, not “{value}”")
    if kind == "countdown":
        until = countdown_until(values.get("until"))
        if until is None:
            raise ValueError('live_image: a countdown needs until: "2026-12-24T00:00:00Z" (an ISO 8601 moment)')
        options["until"] = until.strftime("%Y-%m-%dT%H:%M:%SZ")
    elif not sku:
        raise ValueError(f'live_image: a {kind} image needs sku: "…" (the product\'s sku)')
    alt = values.get("alt")
    alt = _ALT[kind] if alt is None or is_undefined(alt) else str(alt)[:200]
    return sku, options, alt


class LiveImageNode(Node):
    __slots__ = ("kind", "arguments")

    def __init__(self, token, kind, arguments):
        super().__init__(token)
        self.kind, self.arguments = kind, arguments
        self.blank = False

    def __str__(self):
        return f"{{% live_image {self.kind!r} {', '.join(str(a) for a in self.arguments)} %}}"

    def render_to_output(self, context, buffer):
        values = dict(argument.evaluate(context) for argument in self.arguments)
        try:
            sku, options, alt = live_image_options(self.kind, values, strict=False)
        except ValueError:  # the data gave no sku or no moment: no image, and the email still goes
            return 0
        make_url = context.globals.get(LIVE_IMAGE_URL)
        url = make_url(self.kind, sku, options) if callable(make_url) else PLACEHOLDER_URL
        width, height = (n // 2 for n in LIVE_IMAGE_SIZE)
        markup = (
            f'<img src="{htmllib.escape(url)}" alt="{htmllib.escape(alt)}" width="{width}" height="{height}" '
            'style="display:block;max-width:100%;height:auto;border:0;" />'
        )
        html_only = context.globals.get(HTML_ONLY)
        return buffer.write(html_only(markup) if callable(html_only) else markup)

    def expressions(self):
        for argument in self.arguments:
            yield argument.value


class LiveImageTag(Tag):
    """`{% live_image "price" sku: "SKU-1" color: "#1a1a1a" background: "#ffffff" %}`. The kind is
    a string literal; arguments given as literals are checked here, when the template is parsed
    (saved), the others when it renders."""

    name = "live_image"
    block = False
    node_class = LiveImageNode

    def _arguments(self, tokens, tag):
        """`name: value` pairs, commas between them optional (`sku: "A" color: "#fff"` and
        `sku: "A", color: "#fff"` both read)."""
        arguments = []
        while True:
            if tokens.current.kind == TOKEN_COMMA:
                next(tokens)
            if tokens.current.kind == TOKEN_EOF:
                return arguments
            if tokens.current.kind != TOKEN_WORD:
                raise LiquidSyntaxError(
                    f'live_image expects options such as sku: "…", found {tokens.current.kind}', token=tag
                )
            name = next(tokens)
            tokens.eat(TOKEN_COLON)
            arguments.append(KeywordArgument(name, name.value, parse_primitive(self.env, tokens)))

    def parse(self, stream):
        token = stream.eat(TOKEN_TAG)
        if not self.env.autoescape:
            raise LiquidSyntaxError(
                "live_image belongs in the email's body, not in a subject, a webhook or a contact value",
                token=token,
            )
        needs = f'live_image needs a kind first: {" / ".join(repr(k) for k in LIVE_IMAGE_KINDS)}, then sku: "…"'
        try:
            tokens = stream.into_inner(tag=token, eat=False)
        except LiquidSyntaxError as error:  # nothing after the tag's name
            raise LiquidSyntaxError(needs, token=token) from error
        if tokens.current.kind != TOKEN_STRING:
            raise LiquidSyntaxError(needs, token=token)
        kind = next(tokens).value
        arguments = self._arguments(tokens, token)
        names = [argument.name for argument in arguments]
        for name in names:
            if name not in LIVE_IMAGE_OPTIONS:
                raise LiquidSyntaxError(
                    f"live_image has no option “{name}” (options: {', '.join(LIVE_IMAGE_OPTIONS)})", token=token
                )
            if names.count(name) > 1:
                raise LiquidSyntaxError(f"live_image: “{name}” is given twice", token=token)
        # Values from the data are known only when rendering: stand-ins that pass until then.
        stand_in = {"sku": "x", "until": "2000-01-01T00:00:00Z"}
        check = {
            a.name: a.value.value if isinstance(a.value, StringLiteral) else stand_in.get(a.name) for a in arguments
        }
        try:
            live_image_options(kind, check)
        except ValueError as error:
            raise LiquidSyntaxError(str(error), token=token) from error
        return self.node_class(token, kind, arguments)


def _make(autoescape):
    env = SandboxEnvironment(autoescape=autoescape, strict_filters=True)
    env.add_tag(SandboxForTag)
    env.add_tag(LiveImageTag)  # in TEXT_ENV only to say that it has no place there
    del env.tags["tablerow"]  # a loop without the sandbox's per-iteration checks; not for email
    env.filters.update(FILTERS)
    for name, func in list(env.filters.items()):
        env.filters[name] = _guarded(name, func)
    return env


HTML_ENV = _make(autoescape=True)
TEXT_ENV = _make(autoescape=False)


@functools.lru_cache(maxsize=4096)
def parse_text(source):
    """A TEXT_ENV template, parsed once per source (webhooks and contact values repeat)."""
    return TEXT_ENV.from_string(source)


def render_text(source, data, seconds=RENDER_SECONDS):
    """Render a short text template (a webhook's URL, header or body, an update_contact value)
    under the sandbox. Raises what `render` raises."""
    if "{" not in source:
        return source
    return render(parse_text(source), data, seconds)


__all__ = [
    "HTML_ENV",
    "HTML_ONLY",
    "LIVE_IMAGE_KINDS",
    "LIVE_IMAGE_URL",
    "TEXT_ENV",
    "LiquidError",
    "PERSONA",
    "Persona",
    "RenderTimeout",
    "ValueLimitError",
    "render",
    "render_text",
]
