"""The one rule language of Wayline: trigger filters, entry audiences, branches, splits, waits,
show-if content. Pure: no ORM, no I/O. Whoever evaluates a rule supplies the facts.

A rule is one of:

    {"all": [rule, ...]}            every sub-rule holds (an empty list holds)
    {"any": [rule, ...]}            at least one holds (an empty list does not)
    {"not": rule}
    {"field": "contact.country", "op": "in", "value": ["DE", "AT"]}
    {"performed": "Order Completed", "within": "P30D", "count": {"gte": 1}, "where": {...}}

`{}` and `None` mean "no condition" and hold.

Fields are dotted paths into the facts: "contact.country", "contact.traits.plan",
"event.properties.total", "cart.total", "journey.webhook.<node>.status". A list element is reached
by its index ("cart.items.0.sku"); "x.size" is the length of a list, string or object x.

Operators: eq, neq, gt, gte, lt, lte, in, not_in, contains, not_contains, starts_with, exists,
not_exists, before, after. Comparisons are loose about types the way marketers expect: "42" equals
42, "19.90" > 10, booleans match "true"/"false". A missing field is neither greater nor less than
anything, equals nothing but null, and so `neq` and `not_in` hold for it.
`before` / `after` compare dates: the value is an ISO 8601 date or date-time, "now", or a signed
duration relative to now ("-P30D" = 30 days ago, "P7D" = in 7 days).

Event history (`performed`): the contact performed the named event `count` times (default: at
least once), within the duration `within` before now (default: ever), counting only events whose
properties match `where`. Inside `where`, fields name the event's properties: "total",
"properties.total" and "event.properties.total" are the same field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "OPERATORS",
    "COUNT_OPERATORS",
    "Facts",
    "DictFacts",
    "EventFacts",
    "Reads",
    "evaluate",
    "reads",
    "validate",
    "parse_duration",
    "parse_datetime",
    "resolve_path",
]

OPERATORS = (
    "eq",
    "neq",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "starts_with",
    "exists",
    "not_exists",
    "before",
    "after",
)
COUNT_OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte")
_NO_VALUE_OPS = {"exists", "not_exists"}
_LIST_OPS = {"in", "not_in"}
_DATE_OPS = {"before", "after"}
_MISSING = object()


@runtime_checkable
class Facts(Protocol):
    """What a rule can ask about. `now` (a timezone-aware datetime) is optional: evaluators use it
    for relative dates and `within` windows and fall back to the wall clock."""

    def value(self, field: str) -> Any: ...

    def count_events(self, name: str, within: timedelta | None, where: dict | None) -> int: ...


# -- durations and dates -----------------------------------------------------------------------

_DURATION = re.compile(
    r"^(?P<sign>[+-])?P(?!$)"
    r"(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: Any) -> timedelta:
    """An ISO 8601 duration ("PT1H", "P3D", "P1DT12H", "P2W", "-P30D") as a timedelta.

    Years count 365 days and months 30 days (windows and waits, not calendar arithmetic).
    Raises ValueError with a readable message for anything else.
    """
    if not isinstance(text, str):
        raise ValueError("must be an ISO 8601 duration such as PT1H or P3D")
    match = _DURATION.match(text.strip().upper())
    if match is None:
        raise ValueError(f"“{text}” is not an ISO 8601 duration (examples: PT30M, PT1H, P3D, P1DT12H)")
    parts = match.groupdict()
    delta = timedelta(
        days=int(parts["years"] or 0) * 365
        + int(parts["months"] or 0) * 30
        + int(parts["weeks"] or 0) * 7
        + int(parts["days"] or 0),
        hours=int(parts["hours"] or 0),
        minutes=int(parts["minutes"] or 0),
        seconds=float(parts["seconds"] or 0),
    )
    return -delta if parts["sign"] == "-" else delta


def parse_datetime(value: Any) -> datetime | None:
    """A timezone-aware datetime from a datetime, a date, an epoch number or an ISO 8601 string;
    None when the value is not a date. Naive values are taken as UTC; a date is its midnight UTC."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _relative_date(value: Any, now: datetime) -> datetime | None:
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "now":
            return now
        if text[:1] in "+-P" and text[:2] != "--":
            try:
                return now + parse_duration(text)
            except ValueError:
                pass
    return parse_datetime(value)


# -- facts -------------------------------------------------------------------------------------


def resolve_path(data: Any, path: str) -> Any:
    """Walk a dotted path through dicts and lists; None when any step is missing."""
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping):
            if part in current:
                current = current[part]
                continue
            if part == "size":
                return len(current)
            return None
        if isinstance(current, (list, tuple)):
            if part.lstrip("-").isdigit():
                index = int(part)
                if -len(current) <= index < len(current):
                    current = current[index]
                    continue
                return None
            if part == "size":
                return len(current)
            return None
        if isinstance(current, str) and part == "size":
            return len(current)
        if current is not None and hasattr(current, part) and not part.startswith("_"):
            current = getattr(current, part)
            continue
        return None
    return current


def _event_time(event: Mapping) -> datetime | None:
    return parse_datetime(event.get("timestamp") or event.get("at"))


@dataclass
class DictFacts:
    """Facts from plain data, for simulation, personas and tests.

    `data` is {"contact": {...}, "event": {...}, "cart": {...}, ...}; `events` is the contact's
    history, each {"name" (or "event"), "timestamp", "properties"} (or `history` counts them);
    `now` defaults to the wall clock.
    """

    data: Mapping = field(default_factory=dict)
    events: Iterable[Mapping] = ()
    now: datetime | None = None
    # count_events(name, within, where) from elsewhere (a contact's stored events), instead of `events`
    history: Callable[[str, timedelta | None, dict | None], int] | None = None

    def __post_init__(self):
        self.events = list(self.events)
        if self.now is None:
            self.now = datetime.now(UTC)

    def value(self, field: str) -> Any:
        return resolve_path(self.data, field)

    def count_events(self, name: str, within: timedelta | None, where: dict | None) -> int:
        if self.history is not None:
            return self.history(name, within, where)
        since = self.now - within if within is not None else None
        total = 0
        for event in self.events:
            if (event.get("name") or event.get("event")) != name:
                continue
            at = _event_time(event)
            if since is not None and (at is None or at < since or at > self.now):
                continue
            if where and not evaluate(where, EventFacts(event.get("properties") or {}, now=self.now)):
                continue
            total += 1
        return total


class EventFacts:
    """The facts a `performed ... where` rule sees: one event's properties."""

    def __init__(self, properties: Mapping, now: datetime | None = None):
        self.properties = properties
        self.now = now

    def value(self, field: str) -> Any:
        for prefix in ("event.properties.", "properties."):
            if field.startswith(prefix):
                field = field[len(prefix) :]
                break
        return resolve_path(self.properties, field)

    def count_events(self, name, within, where):
        return 0


# -- evaluation --------------------------------------------------------------------------------


def evaluate(rule: dict | None, facts: Facts) -> bool:
    """Does the rule hold for these facts? Assumes a rule that `validate` accepts; anything
    malformed that slips through evaluates to False rather than raising."""
    if not rule:
        return True
    if not isinstance(rule, Mapping):
        return False
    if "all" in rule:
        return all(evaluate(sub, facts) for sub in rule["all"] or [])
    if "any" in rule:
        return any(evaluate(sub, facts) for sub in rule["any"] or [])
    if "not" in rule:
        return not evaluate(rule["not"], facts)
    if "performed" in rule:
        return _evaluate_performed(rule, facts)
    if "field" in rule:
        return compare(facts.value(rule["field"]), rule.get("op", "eq"), rule.get("value"), _now_of(facts))
    return False


def _now_of(facts) -> datetime:
    now = getattr(facts, "now", None)
    return now if isinstance(now, datetime) else datetime.now(UTC)


def _evaluate_performed(rule: Mapping, facts: Facts) -> bool:
    try:
        within = parse_duration(rule["within"]) if rule.get("within") else None
    except ValueError:
        return False
    count = facts.count_events(rule["performed"], within, rule.get("where") or None)
    condition = rule.get("count") or {"gte": 1}
    return all(_compare_number(count, op, expected) for op, expected in condition.items())


def _compare_number(actual, op, expected) -> bool:
    number = _number(expected)
    if number is None:
        return False
    return {
        "eq": actual == number,
        "neq": actual != number,
        "gt": actual > number,
        "gte": actual >= number,
        "lt": actual < number,
        "lte": actual <= number,
    }.get(op, False)


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip()
        if not text or text[0] not in "+-.0123456789":  # not a number: skip the costly exception
            return None
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            return None
        return number if number.is_finite() else None
    return None


def _scalar_equal(actual, expected) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(actual, bool) or isinstance(expected, bool):
        return _as_bool(actual) is not None and _as_bool(actual) == _as_bool(expected)
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left == right
    if isinstance(actual, str) and isinstance(expected, str):
        return actual == expected
    return actual == expected


def _as_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    return None


def _ordered(actual, expected, now):
    """A pair comparable with < and >: numbers, dates or strings; None when not comparable."""
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left, right
    if isinstance(actual, str) and isinstance(expected, str):
        left_date, right_date = parse_datetime(actual), parse_datetime(expected)
        if left_date and right_date:
            return left_date, right_date
        return actual, expected
    left_date, right_date = parse_datetime(actual), _relative_date(expected, now)
    if left_date and right_date and not isinstance(actual, (int, float)):
        return left_date, right_date
    return None


def compare(actual, op: str, expected, now: datetime | None = None) -> bool:
    """One field comparison: `actual <op> expected`."""
    now = now or datetime.now(UTC)
    match op:
        case "exists":
            return actual is not None and actual != ""
        case "not_exists":
            return actual is None or actual == ""
        case "eq":
            return _scalar_equal(actual, expected)
        case "neq":
            return not _scalar_equal(actual, expected)
        case "in":
            return isinstance(expected, (list, tuple)) and any(_scalar_equal(actual, item) for item in expected)
        case "not_in":
            return not (isinstance(expected, (list, tuple)) and any(_scalar_equal(actual, i) for i in expected))
        case "contains":
            return _contains(actual, expected)
        case "not_contains":
            return not _contains(actual, expected)
        case "starts_with":
            return isinstance(actual, str) and expected is not None and actual.startswith(str(expected))
        case "gt" | "gte" | "lt" | "lte":
            if actual is None:
                return False
            pair = _ordered(actual, expected, now)
            if pair is None:
                return False
            left, right = pair
            try:
                return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]
            except TypeError:
                return False
        case "before" | "after":
            left, right = parse_datetime(actual), _relative_date(expected, now)
            if left is None or right is None:
                return False
            return left < right if op == "before" else left > right
    return False


def _contains(actual, expected) -> bool:
    if actual is None or expected is None:
        return False
    if isinstance(actual, str):
        return str(expected) in actual
    if isinstance(actual, Mapping):
        return str(expected) in actual
    if isinstance(actual, (list, tuple, set)):
        return any(_scalar_equal(item, expected) for item in actual)
    return False


# -- validation --------------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    if not path:
        return key
    return f"{path}{key}" if key.startswith("[") else f"{path}.{key}"


def validate(rule: Any, path: str = "") -> list[tuple[str, str]]:
    """Problems with a rule, each (field path, message); empty when the rule is well formed.

    `path` prefixes every field path, e.g. validate(rule, "nodes.branch1.config.condition").
    """
    if rule is None or rule == {}:
        return []
    if not isinstance(rule, Mapping):
        return [(path or "rule", 'A condition must be an object such as {"all": [...]}.')]
    kinds = [key for key in ("all", "any", "not", "performed", "field") if key in rule]
    if len(kinds) != 1:
        if not kinds:
            return [(path or "rule", "A condition needs one of: all, any, not, field, performed.")]
        return [(path or "rule", f"A condition has exactly one of all/any/not/field/performed, not {kinds}.")]
    kind = kinds[0]
    errors: list[tuple[str, str]] = []
    if kind in ("all", "any"):
        items = rule[kind]
        if not isinstance(items, list):
            return [(_join(path, kind), f"“{kind}” must be a list of conditions.")]
        for index, sub in enumerate(items):
            sub_path = _join(_join(path, kind), f"[{index}]")
            if sub is None or sub == {}:
                errors.append((sub_path, "Empty condition: choose a field or remove it."))
            else:
                errors += validate(sub, sub_path)
        return errors
    if kind == "not":
        if not rule["not"]:
            return [(_join(path, "not"), "“not” needs a condition.")]
        return validate(rule["not"], _join(path, "not"))
    if kind == "performed":
        return _validate_performed(rule, path)
    return _validate_field_rule(rule, path)


def _validate_field_rule(rule: Mapping, path: str) -> list[tuple[str, str]]:
    errors = []
    unknown = set(rule) - {"field", "op", "value"}
    if unknown:
        errors.append((path or "rule", f"Unknown keys in a field condition: {', '.join(sorted(unknown))}."))
    name = rule.get("field")
    if not isinstance(name, str) or not name.strip() or any(not part for part in name.split(".")):
        errors.append((_join(path, "field"), "A field is a dotted path such as contact.country."))
    op = rule.get("op")
    if op not in OPERATORS:
        errors.append((_join(path, "op"), f"Unknown operator “{op}”. Use one of: {', '.join(OPERATORS)}."))
        return errors
    value_path = _join(path, "value")
    value = rule.get("value", _MISSING)
    if op in _NO_VALUE_OPS:
        if value not in (_MISSING, None):
            errors.append((value_path, f"“{op}” takes no value."))
    elif value is _MISSING:
        errors.append((value_path, f"“{op}” needs a value."))
    elif op in _LIST_OPS:
        if not isinstance(value, list):
            errors.append((value_path, f"“{op}” needs a list of values."))
    elif op in _DATE_OPS:
        if _relative_date(value, datetime.now(UTC)) is None:
            errors.append((value_path, f"“{op}” needs a date (2025-01-31), “now”, or a duration such as -P30D."))
    elif op in ("gt", "gte", "lt", "lte"):
        if isinstance(value, (bool, list, dict)) or value is None:
            errors.append((value_path, f"“{op}” needs a number or a date."))
    elif isinstance(value, (dict,)):
        errors.append((value_path, "A value cannot be an object."))
    return errors


def _validate_performed(rule: Mapping, path: str) -> list[tuple[str, str]]:
    errors = []
    unknown = set(rule) - {"performed", "within", "count", "where"}
    if unknown:
        errors.append((path or "rule", f"Unknown keys in an event-history condition: {', '.join(sorted(unknown))}."))
    if not isinstance(rule.get("performed"), str) or not rule["performed"].strip():
        errors.append((_join(path, "performed"), "Name the event, e.g. “Order Completed”."))
    if rule.get("within") not in (None, ""):
        try:
            if parse_duration(rule["within"]) <= timedelta(0):
                errors.append((_join(path, "within"), "“within” must be a positive duration."))
        except ValueError as error:
            errors.append((_join(path, "within"), str(error)))
    count = rule.get("count")
    if count is not None:
        if not isinstance(count, Mapping) or not count:
            errors.append((_join(path, "count"), '“count” is an object such as {"gte": 1}.'))
        else:
            for op, expected in count.items():
                if op not in COUNT_OPERATORS:
                    errors.append(
                        (
                            _join(_join(path, "count"), op),
                            f"Unknown count operator “{op}”. Use one of: eq, neq, gt, gte, lt, lte.",
                        )
                    )
                elif _number(expected) is None or _number(expected) < 0:
                    errors.append((_join(_join(path, "count"), op), "A count is a number of times, 0 or more."))
    if rule.get("where"):
        errors += validate(rule["where"], _join(path, "where"))
    return errors


# -- what a rule reads -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reads:
    """What a rule depends on, so that a change to a contact re-evaluates only the rules it can
    affect. fields: the dotted paths of its field conditions (outside `performed ... where`);
    events: the event names its `performed` conditions count; windows: their `within` durations;
    dates: whether a field condition compares with a date relative to now (before/after), so that
    it can change with time alone."""

    fields: frozenset = frozenset()
    events: frozenset = frozenset()
    windows: tuple = ()
    dates: bool = False

    @property
    def timed(self) -> bool:
        """Whether the rule's answer can change with time alone."""
        return bool(self.windows) or self.dates

    def reads_field(self, changed: str) -> bool:
        """Whether a condition reads the changed path (a field under it, or a field it is under)."""
        return any(
            name == changed or name.startswith(changed + ".") or changed.startswith(name + ".") for name in self.fields
        )


def reads(rule: Any) -> Reads:
    """What `rule` reads (see Reads). Assumes a rule that `validate` accepts."""
    fields, events, windows = set(), set(), []
    dates = False
    stack = [rule]
    while stack:
        current = stack.pop()
        if not isinstance(current, Mapping) or not current:
            continue
        if "all" in current or "any" in current:
            stack.extend(current.get("all") or current.get("any") or [])
        elif "not" in current:
            stack.append(current["not"])
        elif "performed" in current:
            events.add(str(current["performed"]))
            if current.get("within"):
                try:
                    windows.append(parse_duration(current["within"]))
                except ValueError:
                    pass
        elif "field" in current:
            fields.add(str(current["field"]))
            dates = dates or current.get("op") in _DATE_OPS
    return Reads(frozenset(fields), frozenset(events), tuple(sorted(windows)), dates)


def next_change(rule: Any, facts: Facts, now: datetime, oldest_event=None) -> datetime | None:
    """The earliest moment after `now` at which the rule's answer for these facts can change by time
    alone, or None when nothing timed can change it (a new event or a changed field may, but those
    re-evaluate the rule when they happen). Conservative: the answer may stay the same then.

    - `performed ... within W`: an event leaves the window W after it happened, so the next change
      is the oldest counted event's time + W; `oldest_event(name, within, where)` gives that time
      (None: no such event). Without it, the smallest of W and one day from now.
    - a field `before` / `after` a date relative to now (`-P30D`, `now`): the comparison flips when
      now + offset reaches the field's date, at (field's date - offset)."""
    moments = []
    stack = [rule]
    while stack:
        current = stack.pop()
        if not isinstance(current, Mapping) or not current:
            continue
        if "all" in current or "any" in current:
            stack.extend(current.get("all") or current.get("any") or [])
        elif "not" in current:
            stack.append(current["not"])
        elif "performed" in current and current.get("within"):
            try:
                within = parse_duration(current["within"])
            except ValueError:
                continue
            if oldest_event is None:
                moments.append(now + min(within, timedelta(days=1)))
                continue
            oldest = oldest_event(str(current["performed"]), within, current.get("where") or None)
            if oldest is not None:
                moments.append(oldest + within)
        elif "field" in current and current.get("op") in _DATE_OPS:
            offset = _relative_offset(current.get("value"))
            actual = parse_datetime(facts.value(str(current["field"])))
            if offset is not None and actual is not None:
                moments.append(actual - offset)
    future = [moment for moment in moments if moment > now]
    return min(future) if future else None


def _relative_offset(value: Any) -> timedelta | None:
    """The offset from now of a relative date ("now": zero, "-P30D"), None for an absolute one."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.lower() == "now":
        return timedelta(0)
    if text[:1] in "+-P" and text[:2] != "--":
        try:
            return parse_duration(text)
        except ValueError:
            return None
    return None
