"""The journey engine, pure: no ORM, no I/O, time passed in.

`next_step(flow, position, subject, now)` says what the node the contact stands on does now,
as a small frozen dataclass (Goto, Send, UpdateContact, CallWebhook, Wait, Exit), from one
`match` over the node types. `drive()` runs steps until the contact has to wait or is done,
handing side effects to an `Effects` object: the worker's (journeys/actions.py) sends real
emails and calls real webhooks, the simulator's (journeys/simulator.py) only records them. Both
run this same code with their own clock.
"""

from __future__ import annotations

import hashlib
from collections import ChainMap
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import liquid
from . import experiments, rules
from .nodes import DEFAULT_ATTRIBUTION, TRIGGER_NODE, WEEKDAYS, default_port, limit

CATCH_UP_SLACK = timedelta(seconds=1)
MAX_STEPS_PER_RUN = 64  # a run stops here and continues at once; cycles need a delay or wait anyway
WEBHOOK_DEFAULT_TIMEOUT = float(limit("webhook", "timeout_default_seconds"))
WEBHOOK_MAX_TIMEOUT = float(limit("webhook", "timeout_max_seconds"))
WEBHOOK_DEFAULT_ATTEMPTS = limit("webhook", "retries_default") + 1

# -- the definition, compiled once per version -------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """A definition ready to run: nodes by id and where each (node, port) leads."""

    definition: Mapping
    nodes: Mapping[str, Mapping]
    edges: Mapping[tuple[str, str], str]

    @property
    def trigger(self) -> Mapping:
        return self.definition.get("trigger") or {}

    @property
    def entry(self) -> Mapping:
        return self.definition.get("entry") or {}

    @property
    def exit_on(self) -> list:
        return list(self.definition.get("exit_on") or [])

    @cached_property
    def conversion(self) -> dict | None:
        return conversion_rule(self.definition)

    def target(self, node_id: str, port: str) -> str | None:
        return self.edges.get((node_id, port))

    def node_type(self, node_id: str) -> str | None:
        if node_id == TRIGGER_NODE:
            return TRIGGER_NODE
        node = self.nodes.get(node_id)
        return node.get("type") if node else None


def compile_flow(definition: Mapping | Flow) -> Flow:
    if isinstance(definition, Flow):
        return definition
    nodes = {}
    for node in definition.get("nodes") or []:
        if isinstance(node, Mapping) and isinstance(node.get("id"), str):
            nodes.setdefault(node["id"], node)
    edges = {}
    for edge in definition.get("edges") or []:
        if not isinstance(edge, Mapping):
            continue
        source = edge.get("from")
        source_type = TRIGGER_NODE if source == TRIGGER_NODE else (nodes.get(source) or {}).get("type")
        port = edge.get("port") or default_port(source_type)
        if source and port and edge.get("to"):
            edges.setdefault((source, port), edge["to"])
    return Flow(definition=definition, nodes=nodes, edges=edges)


# -- what the engine knows about the contact ---------------------------------------------------


@dataclass(frozen=True)
class Position:
    node: str  # the node the contact stands on ("trigger" before the first)
    entered_at: datetime  # when it arrived there (delays and timeouts count from here)
    visit: int = 1  # how many times it has arrived at this node in this enrollment


@dataclass
class Subject:
    """The facts about one contact in one enrollment (implements rules.Facts).

    facts: the contact's context, the mapping customers/context.py builds (`contact`, `cart`,
    `orders`, `viewed`, `products`, `workspace`, ...; the simulator gives a plain dict of the same
    shape); rules and Liquid read the same mapping, so an expression means one thing everywhere.
    context: the enrollment's state ({"trigger": event, "events": {node: event}, "webhook":
    {node: result}}); journey: {"id", "name", "version"}; history: counts the contact's past
    events (ORM in the worker, a list in the simulator); assignments: experiment node -> the
    variant this contact already has; experiments: experiment node -> what results decided for
    new contacts ({"winner": variant or None, "weights": {variant: share}}, the worker's
    ExperimentState; none: the configured weights); key: what sticky experiment assignment
    hashes (stable per contact).
    """

    facts: MutableMapping
    context: dict = field(default_factory=dict)
    journey: dict = field(default_factory=dict)
    now: datetime | None = None
    history: Callable[[str, timedelta | None, dict | None], int] | None = None
    assignments: dict = field(default_factory=dict)
    experiments: dict = field(default_factory=dict)
    # (event name, since, until) -> the contact's events processed in that window, oldest first
    recent_events: Callable[[str, datetime, datetime], list] | None = None
    key: str = ""
    # (from, within) -> the contact's best time to get an email in that window, or None (send
    # now): an email node's "send_time" mode "best" (the worker's is journeys/predictions/sendtime.py).
    best_send_time: Callable[[datetime, timedelta], datetime | None] | None = None

    def __post_init__(self):
        if not self.key:
            contact = self.contact
            self.key = str(contact.get("id") or contact.get("email") or contact.get("user_id") or "")

    @property
    def contact(self) -> dict:
        return self.facts.get("contact") or {}

    @contact.setter
    def contact(self, value: dict):
        self.facts["contact"] = value

    def namespace(self) -> Mapping:
        """What rules and templates see: the contact's context, with the trigger event and the
        journey's state as they are at this step."""
        trigger = event_fields(self.context.get("trigger"))
        return ChainMap({"event": trigger, "trigger": trigger, "journey": self.journey_data()}, self.facts)

    # Facts protocol
    def value(self, name: str) -> Any:
        root, _, rest = name.partition(".")
        base = self.namespace().get(root)
        return rules.resolve_path(base, rest) if rest else base

    def count_events(self, name, within, where):
        return self.history(name, within, where) if self.history else 0

    def journey_data(self) -> dict:
        return {
            **self.journey,
            "webhook": self.context.get("webhook") or {},
            "events": self.context.get("events") or {},
        }

    def timezone(self) -> ZoneInfo:
        return zone(self.contact.get("timezone"))


def event_fields(event: Mapping | None) -> dict:
    """The `event` root: the event with its properties also at the top level, so that `event.total`
    and `event.properties.total` are the same value (the event's own keys win)."""
    if not isinstance(event, Mapping):
        return {}
    properties = event.get("properties") if isinstance(event.get("properties"), Mapping) else {}
    return {**properties, **event, "properties": dict(properties)}


def zone(name: str | None) -> ZoneInfo:
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


# -- steps -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goto:
    node: str
    port: str
    to: str | None  # None: the port leads nowhere, the journey ends here
    detail: Mapping = field(default_factory=dict)
    at: datetime | None = None  # when the contact logically left (a timer's due time), if not "now"


@dataclass(frozen=True)
class Send:
    node: str
    config: Mapping
    to: str | None
    at: datetime | None = None  # the chosen send time it waited for (send_time "best"), if any


@dataclass(frozen=True)
class UpdateContact:
    node: str
    changes: Mapping  # attribute path -> rendered value
    to: str | None


@dataclass(frozen=True)
class CallWebhook:
    node: str
    method: str
    url: str
    headers: Mapping
    body: str | None
    timeout: float
    max_attempts: int


@dataclass(frozen=True)
class Wait:
    node: str
    until: datetime | None  # None: only an event ends it
    event: str = ""  # the awaited event name, if any
    detail: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class Exit:
    node: str
    reason: str  # "exit_node", "end_of_path", "unknown_node"


Step = Goto | Send | UpdateContact | CallWebhook | Wait | Exit


def next_step(flow: Mapping | Flow, position: Position, subject: Subject, now: datetime) -> Step:
    """What the node at `position` does at `now`. One match over the node types."""
    flow = compile_flow(flow)
    node_id = position.node
    if node_id == TRIGGER_NODE:
        return Goto(node_id, "next", flow.target(node_id, "next"))
    node = flow.nodes.get(node_id)
    if node is None:
        return Exit(node_id, "unknown_node")
    config = node.get("config") or {}
    subject.now = now

    match node.get("type"):
        case "email":
            at = email_send_at(node_id, config, position, subject)
            if at is not None and now < at:
                return Wait(node_id, at, detail={"send_time": "best"})
            return Send(node_id, config, flow.target(node_id, "next"), at=at)

        case "delay":
            until, detail = delay_until(config, position.entered_at, subject)
            if until is None or now >= until:
                return Goto(node_id, "next", flow.target(node_id, "next"), detail, at=until)
            return Wait(node_id, until, detail=detail)

        case "wait_for_event":
            received = (subject.context.get("events") or {}).get(node_id)
            if received and received.get("visit") == position.visit:
                at = rules.parse_datetime(received.get("received_at"))
                return Goto(
                    node_id, "event", flow.target(node_id, "event"), {"message_id": received.get("message_id")}, at=at
                )
            until = None
            if config.get("timeout"):
                until = position.entered_at + rules.parse_duration(config["timeout"])
            early = _event_while_catching_up(config, position, subject, now, until)
            if early is not None:
                detail = {"message_id": early.get("message_id"), "event": early}
                return Goto(
                    node_id,
                    "event",
                    flow.target(node_id, "event"),
                    detail,
                    at=rules.parse_datetime(early["received_at"]),
                )
            if until is not None and now >= until:
                return Goto(node_id, "timeout", flow.target(node_id, "timeout"), at=until)
            detail = {}
            if config.get("match") and wait_match_value(config, subject) is None:
                detail = {"warning": f"the trigger has no “{match_spec(config)[1]}”: no event can match"}
            return Wait(node_id, until, event=config.get("event", ""), detail=detail)

        case "branch":
            port = "yes" if rules.evaluate(config.get("condition"), subject) else "no"
            return Goto(node_id, port, flow.target(node_id, port))

        case "split":
            for path in config.get("paths") or []:
                if rules.evaluate(path.get("condition"), subject):
                    return Goto(node_id, path["id"], flow.target(node_id, path["id"]))
            return Goto(node_id, "else", flow.target(node_id, "else"))

        case "experiment":
            variant = choose_variant(flow, node_id, config, subject)
            return Goto(node_id, variant, flow.target(node_id, variant), {"variant": variant})

        case "update_contact":
            changes, errors = render_changes(config.get("set") or {}, subject)
            if errors:
                return Goto(node_id, "next", flow.target(node_id, "next"), {"errors": errors, "changes": changes})
            return UpdateContact(node_id, changes, flow.target(node_id, "next"))

        case "webhook":
            result = (subject.context.get("webhook") or {}).get(node_id)
            if result and result.get("visit") == position.visit:
                port = "success" if result.get("ok") else "failure"
                return Goto(node_id, port, flow.target(node_id, port), {"status": result.get("status")})
            return webhook_request(node_id, config, subject)

        case "exit":
            return Exit(node_id, "exit_node")

    return Exit(node_id, "unknown_node")


def email_send_at(node_id: str, config: Mapping, position: Position, subject: Subject) -> datetime | None:
    """When an email node with `"send_time": {"mode": "best", "within": ...}` sends: the contact's
    best time within the window from its arrival, chosen once per visit and kept in the context
    (`send_at`), so that the wake-up sends at the time chosen even if the model changed meanwhile.
    None: send now (mode "now", or no model for the contact)."""
    spec = config.get("send_time")
    if not isinstance(spec, Mapping) or spec.get("mode") != "best":
        return None
    chosen = (subject.context.get("send_at") or {}).get(node_id)
    if isinstance(chosen, Mapping) and chosen.get("visit") == position.visit:
        return rules.parse_datetime(chosen.get("at"))
    if subject.best_send_time is None:
        return None
    within = spec.get("within") or f"PT{limit('email', 'send_time_within_default_hours')}H"
    at = subject.best_send_time(position.entered_at, rules.parse_duration(within))
    if at is None:
        return None
    subject.context["send_at"] = {
        **(subject.context.get("send_at") or {}),
        node_id: {"at": at.isoformat(), "visit": position.visit},
    }
    return at


def _event_while_catching_up(config, position, subject, now, until):
    """An awaited event that arrived after the contact (logically) reached this wait but before
    the worker got there: the engine lags its clock by a few milliseconds, events must not fall
    into that gap. Only when the subject can look events up (the worker; not the simulator)."""
    if subject.recent_events is None or now <= position.entered_at:
        return None
    trigger_id = (subject.context.get("trigger") or {}).get("message_id")
    since = position.entered_at - CATCH_UP_SLACK
    for event in subject.recent_events(config.get("event", ""), since, until or now):
        if trigger_id and event.get("message_id") == trigger_id:
            continue
        if event_ends_wait(config, event, subject)[0]:
            return event
    return None


# -- delays ------------------------------------------------------------------------------------


def parse_time_of_day(text: Any) -> time | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = time.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)


def delay_until(config: Mapping, entered_at: datetime, subject: Subject) -> tuple[datetime | None, dict]:
    """When a delay that started at `entered_at` ends. (None, detail) when it cannot be computed
    (a missing contact date): the contact goes on at once and the detail says why."""
    mode = delay_mode(config)
    if mode == "duration":
        return entered_at + rules.parse_duration(config.get("duration")), {}
    tz = subject.timezone()
    if mode == "time_of_day":
        at = parse_time_of_day(config.get("time")) or time(9, 0)
        allowed = weekday_numbers(config.get("weekdays"))
        local = entered_at.astimezone(tz)
        for days in range(0, 8):
            day = local.date() + timedelta(days=days)
            if day.weekday() not in allowed:
                continue
            candidate = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
            if candidate >= entered_at:
                return candidate, {"timezone": tz.key}
        return entered_at, {"warning": "no allowed weekday"}
    # mode == "date_attribute"
    attribute = config.get("attribute") or ""
    raw = subject.value(attribute)
    when = _as_date_or_datetime(raw)
    if when is None:
        return None, {"warning": f"{attribute} is missing or not a date ({raw!r}): going on at once"}
    offset = rules.parse_duration(config["offset"]) if config.get("offset") else timedelta(0)
    at = parse_time_of_day(config.get("time"))
    if isinstance(when, datetime):
        target = when + offset
    else:
        target = datetime.combine(when, at or time(0, 0), tzinfo=tz).astimezone(UTC) + offset
    if config.get("yearly") and isinstance(when, date) and not isinstance(when, datetime):
        year = entered_at.astimezone(tz).year
        for candidate_year in (year, year + 1):
            try:
                day = when.replace(year=candidate_year)
            except ValueError:  # 29 February in a common year
                day = date(candidate_year, 3, 1)
            target = datetime.combine(day, at or time(0, 0), tzinfo=tz).astimezone(UTC) + offset
            if target >= entered_at:
                break
    return target, {"date": str(raw)}


def delay_mode(config: Mapping) -> str:
    if config.get("mode"):
        return config["mode"]
    if "attribute" in config:
        return "date_attribute"
    if "time" in config or "weekdays" in config:
        return "time_of_day"
    return "duration"


def weekday_numbers(weekdays) -> set[int]:
    if not weekdays:
        return set(range(7))
    return {WEEKDAYS.index(day) for day in weekdays if day in WEEKDAYS}


def _as_date_or_datetime(value) -> date | datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            try:
                return date.fromisoformat(text)
            except ValueError:
                return None
        return rules.parse_datetime(text)
    return None


# -- waits, triggers and goals: does this event count? ------------------------------------------


def event_data(name: str, properties: Mapping | None, timestamp: datetime | str | None = None, **extra) -> dict:
    """The plain shape of an event inside the engine and in an enrollment's context."""
    if isinstance(timestamp, datetime):
        timestamp = timestamp.isoformat()
    return {"name": name, "properties": dict(properties or {}), "timestamp": timestamp, **extra}


def match_spec(config: Mapping) -> tuple[str, str]:
    """(event property, trigger property) a wait must match: {"property": "cart_id"} or
    {"property": "cart_id", "trigger_property": "id"}."""
    spec = config.get("match") or {}
    if isinstance(spec, str):
        return spec, spec
    prop = spec.get("property") or ""
    return prop, spec.get("trigger_property") or prop


def wait_match_value(config: Mapping, subject: Subject):
    _prop, trigger_prop = match_spec(config)
    return rules.resolve_path((subject.context.get("trigger") or {}).get("properties") or {}, trigger_prop)


def event_ends_wait(config: Mapping, event: Mapping, subject: Subject) -> tuple[bool, str]:
    """Does `event` end a wait_for_event node with this config? (matches, reason if not)."""
    if event.get("name") != config.get("event"):
        return False, "other event"
    properties = event.get("properties") or {}
    if config.get("match"):
        prop, trigger_prop = match_spec(config)
        expected = wait_match_value(config, subject)
        if expected is None:
            return False, f"the trigger event has no “{trigger_prop}” to match"
        actual = rules.resolve_path(properties, prop)
        if actual is None:
            return False, f"the event has no “{prop}”"
        if not rules.compare(actual, "eq", expected):
            return False, f"{prop} {actual!r} is not the trigger's {expected!r}"
    if config.get("where") and not rules.evaluate(config["where"], rules.EventFacts(properties, now=subject.now)):
        return False, "conditions not met"
    return True, ""


def trigger_accepts(flow: Flow, event: Mapping, now: datetime) -> tuple[bool, str]:
    """Does an event start this journey (type, name and property conditions)?"""
    trigger = flow.trigger
    if trigger.get("type") != "event" or trigger.get("event") != event.get("name"):
        return False, "other event"
    if trigger.get("where"):
        facts = Subject({}, context={"trigger": dict(event)}, now=now)
        if not rules.evaluate(trigger["where"], facts) and not rules.evaluate(
            trigger["where"], rules.EventFacts(event.get("properties") or {}, now=now)
        ):
            return False, "trigger conditions not met"
    return True, ""


def goal_reached(flow: Flow, event: Mapping, now: datetime) -> Mapping | None:
    """The exit_on goal this event reaches, if any."""
    for goal in flow.exit_on:
        if goal.get("event") != event.get("name"):
            continue
        where = goal.get("where")
        if where and not rules.evaluate(where, rules.EventFacts(event.get("properties") or {}, now=now)):
            continue
        return goal
    return None


def conversion_rule(definition: Mapping) -> dict | None:
    """The journey's conversion event and attribution windows: its definition's `conversion`
    ({"event", "where", "revenue", "windows": {"click", "open", "send"}}), else its first exit_on
    goal that counts as a conversion. None: the journey counts no conversions."""
    explicit = definition.get("conversion")
    explicit = explicit if isinstance(explicit, Mapping) else {}
    if isinstance(explicit.get("event"), str) and explicit["event"].strip():
        rule, source = explicit, "conversion"
    else:
        goals = [g for g in definition.get("exit_on") or [] if isinstance(g, Mapping) and g.get("event")]
        goals = [g for g in goals if g.get("as_conversion", True)]
        if not goals:
            return None
        rule, source = goals[0], "exit_on"
    windows = explicit.get("windows") if isinstance(explicit.get("windows"), Mapping) else {}
    return {
        "event": rule["event"],
        "where": rule.get("where"),
        "revenue": rule.get("revenue"),
        "windows": {**DEFAULT_ATTRIBUTION, **{k: v for k, v in windows.items() if k in DEFAULT_ATTRIBUTION}},
        "source": source,
    }


def currency_code(value, default=None):
    """A currency as orders, carts and conversions keep it: "eur" -> "EUR" (three letters at
    most); `default` for no value."""
    code = "" if value is None else str(value).strip()[:3].upper()
    return code or default


def goal_revenue(goal: Mapping, event: Mapping) -> tuple[str | None, str]:
    """(revenue as a string or None, currency) of a goal event: the property the goal names, else
    Segment's `revenue`, `total` or `value`."""
    properties = event.get("properties") or {}
    names = [goal["revenue"]] if goal.get("revenue") else ["revenue", "total", "value"]
    for name in names:
        value = rules.resolve_path(properties, name.removeprefix("properties."))
        number = rules._number(value)
        if number is not None:
            return str(number), currency_code(properties.get("currency"), "")
    return None, currency_code(properties.get("currency"), "")


# -- experiments -------------------------------------------------------------------------------


def choose_variant(flow: Flow, node_id: str, config: Mapping, subject: Subject) -> str:
    """The contact's variant: the one it already has (sticky), else the decided winner, else a
    hash of the contact on the weights (the bandit's current ones, or the configured ones).
    Deterministic given the subject: results reach it only through `subject.experiments`."""
    variants = [v for v in config.get("variants") or [] if isinstance(v, Mapping) and v.get("id")]
    ids = [str(v["id"]) for v in variants]
    sticky = subject.assignments.get(node_id)
    if sticky in ids:
        return sticky
    state = subject.experiments.get(node_id) or {}
    if state.get("winner") in ids:
        return state["winner"]
    current = state.get("weights") or {}
    if current and all(variant_id in current for variant_id in ids):
        weights = [max(float(current[variant_id]), 0.0) for variant_id in ids]
    else:
        weights = [max(float(v.get("weight") or 0), 0.0) for v in variants]
    journey_id = subject.journey.get("id", "")
    digest = hashlib.sha256(f"{journey_id}:{node_id}:{subject.key}".encode()).digest()
    return experiments.choose(int.from_bytes(digest[:8], "big") / 2**64, ids, weights)


# -- Liquid: update_contact values and webhooks ------------------------------------------------


def render_liquid(source: str, subject: Subject) -> str:
    """A marketer's template (a contact value, a webhook's URL, header or body), rendered in the
    one sandbox (journeys/liquid.py) against the same context emails see."""
    return liquid.render_text(source, subject.namespace())


CONTACT_COLUMNS = ("timezone", "locale", "country", "city", "email")


def render_changes(spec: Mapping | list, subject: Subject) -> tuple[dict, list]:
    """The attribute changes of an update_contact node, values rendered: ({path: value}, errors)."""
    items = spec.items() if isinstance(spec, Mapping) else [(i.get("field"), i.get("value")) for i in spec]
    changes, errors = {}, []
    for path, value in items:
        path = str(path or "").removeprefix("contact.")
        if isinstance(value, str):
            try:
                value = render_liquid(value, subject)
            except Exception as error:  # a marketer's template: report, never crash the worker
                errors.append(f"{path}: {error}")
                continue
        changes[path] = value
    return changes, errors


def apply_changes(contact: dict, changes: Mapping) -> dict:
    """The contact dict with changes applied ("traits.plan", "timezone", ...)."""
    updated = {**contact, "traits": dict(contact.get("traits") or {})}
    for path, value in changes.items():
        if path.startswith("traits."):
            updated["traits"][path.removeprefix("traits.")] = value
        elif path in CONTACT_COLUMNS:
            updated[path] = value
    return updated


def webhook_request(node_id: str, config: Mapping, subject: Subject) -> CallWebhook | Goto:
    try:
        url = render_liquid(str(config.get("url") or ""), subject).strip()
        headers = {str(k): render_liquid(str(v), subject) for k, v in (config.get("headers") or {}).items()}
        body = config.get("body")
        if isinstance(body, (dict, list)):
            import json

            body = json.dumps(body)
        body = render_liquid(body, subject) if isinstance(body, str) else None
    except Exception as error:
        return Goto(node_id, "failure", None, {"error": f"template error: {error}"})
    timeout = WEBHOOK_DEFAULT_TIMEOUT
    if config.get("timeout"):
        timeout = min(max(rules.parse_duration(config["timeout"]).total_seconds(), 0.5), WEBHOOK_MAX_TIMEOUT)
    attempts = int(config.get("retries", WEBHOOK_DEFAULT_ATTEMPTS - 1)) + 1  # the validator keeps it in range
    return CallWebhook(
        node_id,
        str(config.get("method") or "POST").upper(),
        url,
        headers,
        body,
        timeout,
        max(1, min(attempts, 10)),
    )


def webhook_backoff(attempt: int) -> timedelta:
    """Wait before the next attempt after `attempt` failed ones: 2 s, 4 s, 8 s ... capped at 5 min."""
    return timedelta(seconds=min(2**attempt, 300))


# -- the driver: steps until the contact waits or leaves ----------------------------------------


@dataclass(frozen=True)
class StepRecord:
    """One row of the step log."""

    node: str
    visit: int
    outcome: str
    at: datetime
    entered: bool = False
    left: bool = False
    port: str = ""
    detail: Mapping = field(default_factory=dict)


@dataclass
class Outcome:
    position: Position
    status: str  # active, waiting, completed, exited, failed
    wake_at: datetime | None = None
    awaited_event: str = ""
    exit_reason: str = ""
    records: list = field(default_factory=list)
    steps: int = 0
    fresh: bool = False  # it stands on a node whose arrival is not logged yet


class Effects(Protocol):
    def send_email(self, position: Position, step: Send, subject: Subject) -> dict: ...

    def update_contact(self, position: Position, step: UpdateContact, subject: Subject) -> None: ...

    def call_webhook(self, position: Position, step: CallWebhook, subject: Subject) -> dict | datetime:
        """The final result {"ok", "status", "body", ...}, or when to try again."""

    def assign_variant(self, position: Position, variant: str, subject: Subject) -> None: ...


def drive(
    flow: Mapping | Flow,
    position: Position,
    subject: Subject,
    visits: dict,
    now: datetime,
    effects: Effects,
    max_steps: int | None = None,
    fresh: bool = False,
) -> Outcome:
    """Run steps from `position` at `now` until the contact waits, leaves or `max_steps` ran.

    `visits` (node -> times entered) and `subject` (contact, context) are updated in place.
    `fresh`: the contact arrived at `position` but that arrival is not in the step log yet.
    """
    flow = compile_flow(flow)
    max_steps = max_steps or MAX_STEPS_PER_RUN
    records: list[StepRecord] = []
    just_entered = fresh and position.node != TRIGGER_NODE
    steps = 0

    def arrive(node_id: str | None, via: StepRecord | None, at: datetime | None = None):
        """Move on to `node_id`. The arrival time is logical: when the contact left the previous
        node (a timer's due time, or when it arrived there), never later than now. So a worker
        running a little late does not push every later delay back, and a wait that follows
        starts where the contact really was."""
        nonlocal just_entered
        if via is not None:
            records.append(via)
        if node_id is None:
            return None
        visits[node_id] = int(visits.get(node_id, 0)) + 1
        just_entered = True
        arrived = min(max(at or position.entered_at, position.entered_at), now)
        return Position(node_id, arrived, visits[node_id])

    def record(outcome, port="", left=True, detail=None):
        return StepRecord(
            position.node,
            position.visit,
            outcome,
            now,
            entered=just_entered,
            left=left,
            port=port,
            detail=dict(detail or {}),
        )

    while steps < max_steps:
        steps += 1
        try:
            step = next_step(flow, position, subject, now)
        except Exception as error:  # a definition the validator should have refused
            records.append(record("failed", detail={"error": str(error)}))
            return Outcome(position, "failed", exit_reason="error", records=records, steps=steps)

        match step:
            case Wait():
                if just_entered:
                    detail = {**step.detail}
                    if step.until:
                        detail["until"] = step.until.isoformat()
                    if step.event:
                        detail["event"] = step.event
                    records.append(record("waiting", left=False, detail=detail))
                return Outcome(position, "waiting", step.until, step.event, records=records, steps=steps)

            case Exit():
                if position.node != TRIGGER_NODE:
                    records.append(record("exited" if step.reason == "exit_node" else step.reason))
                return Outcome(position, "completed", exit_reason=step.reason, records=records, steps=steps)

            case Send():
                result = effects.send_email(position, step, subject) or {}
                detail = {k: result[k] for k in ("message_id", "status", "reason") if result.get(k) is not None}
                nxt = arrive(step.to, record("sent", "next", detail=detail), step.at)
                if nxt is None:
                    return _end(position, records, steps)
                position = nxt

            case UpdateContact():
                effects.update_contact(position, step, subject)
                subject.contact = apply_changes(subject.contact, step.changes)
                nxt = arrive(step.to, record("updated", "next", detail={"changes": dict(step.changes)}))
                if nxt is None:
                    return _end(position, records, steps)
                position = nxt

            case CallWebhook():
                result = effects.call_webhook(position, step, subject)
                if isinstance(result, datetime):  # the call happens later (or right after this run)
                    unlogged = just_entered
                    if just_entered and result > now:
                        records.append(record("waiting", left=False, detail={"retry_at": result.isoformat()}))
                        unlogged = False
                    return Outcome(position, "waiting", result, records=records, steps=steps, fresh=unlogged)
                webhook = dict(subject.context.get("webhook") or {})
                webhook[position.node] = {**result, "visit": position.visit}
                subject.context["webhook"] = webhook
                continue  # next_step now sees the result and takes success or failure

            case Goto():
                if flow.node_type(position.node) == "experiment":
                    effects.assign_variant(position, step.port, subject)
                    subject.assignments[position.node] = step.port
                detail = dict(step.detail)
                if "event" in detail:  # an awaited event found while catching up: keep it like on_event does
                    event = detail.pop("event")
                    events = dict(subject.context.get("events") or {})
                    events[position.node] = {**event, "visit": position.visit}
                    subject.context["events"] = events
                if position.node == TRIGGER_NODE:
                    nxt = arrive(step.to, None, step.at)
                else:
                    outcome = step.port if step.port not in ("next",) else "done"
                    nxt = arrive(step.to, record(outcome, step.port, detail=detail), step.at)
                if nxt is None:
                    return _end(position, records, steps)
                position = nxt

    return Outcome(position, "active", now, records=records, steps=steps)


def _end(position, records, steps) -> Outcome:
    return Outcome(position, "completed", exit_reason="end_of_path", records=records, steps=steps)


def start_position(now: datetime) -> Position:
    return Position(TRIGGER_NODE, now, 1)
