"""The sandboxed Liquid environments every template renders in, and the filters marketers use.

Two environments share one set of filters: `HTML_ENV` (autoescape on: the HTML and its text part)
and `TEXT_ENV` (the subject). Both carry python-liquid's resource limits (loop iterations, output
size, context depth, local namespace size); `render()` adds a time bound per render. Output size and
time are checked on every loop iteration (see SandboxForNode) and every assign, so neither a loop
with an empty body nor a flood of output outlives them.

Filters that need to know who the email is for (timezone, locale, currency) read the render's
`PERSONA` global: a small `Persona` the context builder puts there.
"""

import datetime as dt
import functools
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from io import StringIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from liquid import BoundTemplate, Environment, RenderContext
from liquid.builtin.filters.misc import _to_date
from liquid.builtin.tags.for_tag import ForLoop, ForNode, ForTag
from liquid.exceptions import BreakLoop, ContinueLoop, LiquidError, OutputStreamLimitError, ResourceLimitError
from liquid.filter import with_context
from liquid.undefined import is_undefined

PERSONA = "_persona"  # the global that carries timezone / locale / currency for the filters
RENDER_SECONDS = 2.0  # time bound of one render
LOOP_ITERATION_LIMIT = 10_000
OUTPUT_STREAM_LIMIT = 2_000_000  # bytes; Gmail clips at 102 KB, anything near this is a bug
CONTEXT_DEPTH_LIMIT = 10
LOCAL_NAMESPACE_LIMIT = 200_000  # bytes held by assign/capture


class RenderTimeout(ResourceLimitError):
    """A render took longer than its time bound."""


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

    def raise_for_loop_limit(self, length=1):
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise RenderTimeout("the template took too long to render", token=None)
        super().raise_for_loop_limit(length)

    def assign(self, key, val):
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise RenderTimeout("the template took too long to render", token=None)
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


FILTERS = {"money": money, "date": date, "product": product}


def _make(autoescape):
    env = SandboxEnvironment(autoescape=autoescape, strict_filters=True)
    env.add_tag(SandboxForTag)
    del env.tags["tablerow"]  # a loop without the sandbox's per-iteration checks; not for email
    env.filters.update(FILTERS)
    return env


HTML_ENV = _make(autoescape=True)
TEXT_ENV = _make(autoescape=False)

__all__ = [
    "HTML_ENV",
    "TEXT_ENV",
    "LiquidError",
    "PERSONA",
    "Persona",
    "RenderTimeout",
    "render",
]
