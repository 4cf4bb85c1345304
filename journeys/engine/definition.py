"""Server-side validation of a journey definition (design.md, "Journey definition").

Every problem names the node (or the trigger, entry, exit_on or edge) and the field, so the canvas
can put the message on the right node and the right input. Pure: what only the app knows (is a
template published, may a webhook reach an address) comes in as functions; journeys/drafts.py
passes them.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from .. import liquid
from . import experiments, rules
from .nodes import (
    DECISION_TYPES,
    DEFAULT_INTEREST_WINDOW,
    EMAIL_CATEGORIES,
    INTEREST_EVENTS,
    MAX_ATTRIBUTION_DAYS,
    NODE_TYPES,
    OVER_CAP_CHOICES,
    PRICE_DROP_PERCENT,
    RE_ENTRY_POLICIES,
    SEGMENT_CHANGES,
    SEND_TIME_MODES,
    TRIGGER_NODE,
    TRIGGER_TYPES,
    WAIT_TYPES,
    WEBHOOK_HEADER_NAME,
    WEBHOOK_METHODS,
    WEEKDAYS,
    default_port,
    limit,
    ports_of,
)
from .step import CONTACT_COLUMNS, delay_mode, match_spec, parse_time_of_day

NODE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    path: str  # "nodes.wait1.config.timeout", "trigger.event", "edges[2].port"
    node: str | None = None  # the node id the canvas highlights ("trigger" for the trigger)
    field: str = ""  # the field inside the node ("config.timeout")

    def as_dict(self) -> dict:
        return asdict(self)


def as_fields(problems: list[Problem]) -> dict:
    """{"path": [messages]} for DomainError.fields."""
    fields: dict[str, list[str]] = {}
    for problem in problems:
        fields.setdefault(problem.path, []).append(problem.message)
    return fields


class _Collector:
    def __init__(self, resolve_template=None, address_forbidden=None, segment_exists=None):
        self.problems: list[Problem] = []
        self.resolve_template = resolve_template
        self.address_forbidden = address_forbidden
        self.segment_exists = segment_exists

    def add(self, code, message, path, node=None, field=""):
        self.problems.append(Problem(code, message, path, node, field))

    def node(self, node_id, code, message, field):
        self.add(code, message, f"nodes.{node_id}.{field}" if field else f"nodes.{node_id}", node_id, field)

    def rule(self, rule, path, node=None, field_prefix=""):
        for sub_path, message in rules.validate(rule, path):
            code = "unknown_operator" if sub_path.endswith(".op") and "Unknown operator" in message else "bad_condition"
            field = sub_path[len(f"nodes.{node}.") :] if node and sub_path.startswith(f"nodes.{node}.") else sub_path
            self.add(code, message, sub_path, node, field if node else field_prefix or sub_path)

    def duration(self, value, path, node=None, field="", positive=True, allow_negative=False):
        try:
            delta = rules.parse_duration(value)
        except ValueError as error:
            self.add("bad_duration", str(error), path, node, field)
            return None
        if positive and delta.total_seconds() <= 0 and not allow_negative:
            self.add("bad_duration", "The duration must be longer than zero.", path, node, field)
        return delta


def validate_definition(
    definition,
    *,
    resolve_template: Callable[[str], int | None] | None = None,
    address_forbidden: Callable[[str], str | None] | None = None,
    segment_exists: Callable[[int], bool] | None = None,
) -> list[Problem]:
    """All problems of a definition; an empty list means it can be published.

    `resolve_template(ref)` -> the published template version id or None (without it, templates
    are only checked for presence); `address_forbidden(ip)` -> why webhooks may not reach that
    address, or None (without it, literal private addresses are not checked).
    """
    out = _Collector(resolve_template, address_forbidden, segment_exists)
    if not isinstance(definition, Mapping):
        out.add("invalid", "A journey definition is a JSON object.", "definition")
        return out.problems
    _validate_trigger(definition.get("trigger"), out)
    _validate_entry(definition.get("entry"), out)
    _validate_exit_on(definition.get("exit_on"), out)
    _validate_sending(definition.get("sending"), out)
    _validate_conversion(definition.get("conversion"), out)
    nodes = _validate_nodes(definition.get("nodes"), out)
    _validate_graph(definition.get("edges"), nodes, out)
    return out.problems


# -- trigger, entry, goals ---------------------------------------------------------------------


def _validate_trigger(trigger, out: _Collector):
    if not isinstance(trigger, Mapping):
        out.add("missing_trigger", "Choose what starts the journey.", "trigger", TRIGGER_NODE, "type")
        return
    kind = trigger.get("type")
    if kind not in TRIGGER_TYPES:
        out.add(
            "unknown_trigger",
            f"Unknown trigger type “{kind}”. Use one of: {', '.join(TRIGGER_TYPES)}.",
            "trigger.type",
            TRIGGER_NODE,
            "type",
        )
        return
    if kind == "event":
        if not isinstance(trigger.get("event"), str) or not trigger["event"].strip():
            out.add("missing_event", "Name the event that starts the journey.", "trigger.event", TRIGGER_NODE, "event")
        if trigger.get("where"):
            for path, message in rules.validate(trigger["where"], "trigger.where"):
                code = "unknown_operator" if "Unknown operator" in message else "bad_condition"
                out.add(code, message, path, TRIGGER_NODE, path.removeprefix("trigger."))
    elif kind == "inactivity":
        if not trigger.get("duration"):
            out.add(
                "bad_duration",
                "Say how long without activity starts the journey (e.g. P30D).",
                "trigger.duration",
                TRIGGER_NODE,
                "duration",
            )
        else:
            out.duration(trigger["duration"], "trigger.duration", TRIGGER_NODE, "duration")
    elif kind == "segment":
        _validate_segment_trigger(trigger, out)
    elif kind in ("price_drop", "back_in_stock"):
        _validate_catalog_trigger(trigger, out)
    elif kind == "date_attribute":
        attribute = trigger.get("attribute")
        if not isinstance(attribute, str) or not attribute.startswith("contact."):
            out.add(
                "missing_attribute",
                "Choose the contact date, e.g. contact.traits.renewal_date.",
                "trigger.attribute",
                TRIGGER_NODE,
                "attribute",
            )
        if trigger.get("offset"):
            out.duration(trigger["offset"], "trigger.offset", TRIGGER_NODE, "offset", positive=False)
        if trigger.get("time") and parse_time_of_day(trigger["time"]) is None:
            out.add("bad_time", "A time of day is HH:MM, e.g. 09:00.", "trigger.time", TRIGGER_NODE, "time")


def _validate_segment_trigger(trigger, out: _Collector):
    segment = trigger.get("segment")
    if isinstance(segment, str) and segment.isdigit():
        segment = int(segment)
    if not isinstance(segment, int) or isinstance(segment, bool) or segment <= 0:
        message = "Choose the segment that starts the journey."
        out.add("missing_segment", message, "trigger.segment", TRIGGER_NODE, "segment")
    elif out.segment_exists is not None and not out.segment_exists(segment):
        message = "This segment no longer exists in the workspace: choose another one."
        out.add("unknown_segment", message, "trigger.segment", TRIGGER_NODE, "segment")
    change = trigger.get("on", "entered")
    if change not in SEGMENT_CHANGES:
        message = f"Start the journey when a contact enters or leaves the segment, not “{change}”."
        out.add("invalid", message, "trigger.on", TRIGGER_NODE, "on")
    if not isinstance(trigger.get("exit_when_left", False), bool):
        message = "Say yes or no: does a contact leave the journey when it leaves the segment?"
        out.add("invalid", message, "trigger.exit_when_left", TRIGGER_NODE, "exit_when_left")


def _validate_catalog_trigger(trigger, out: _Collector):
    """price_drop: `min_percent` (1–99) and/or `below` (a price); both: `interest` (viewed, carted,
    wishlisted) within `window` (a duration)."""
    if trigger["type"] == "price_drop":
        percent, below = trigger.get("min_percent"), trigger.get("below")
        if percent in (None, "") and below in (None, ""):
            message = "Say how much the price must fall: at least a percentage, or below a price."
            out.add("missing_threshold", message, "trigger.min_percent", TRIGGER_NODE, "min_percent")
        low, high = PRICE_DROP_PERCENT
        if percent not in (None, "") and not (_number(percent) and low <= percent <= high):
            message = f"A price drop is between {low}% and {high}%."
            out.add("bad_threshold", message, "trigger.min_percent", TRIGGER_NODE, "min_percent")
        if below not in (None, "") and not (_number(below) and math.isfinite(below) and below > 0):
            out.add("bad_threshold", "A price is a number above zero.", "trigger.below", TRIGGER_NODE, "below")
    interest = trigger.get("interest", list(INTEREST_EVENTS))
    if not isinstance(interest, list) or not interest or any(item not in INTEREST_EVENTS for item in interest):
        message = f"Choose who is interested: contacts who {', '.join(INTEREST_EVENTS)} the product."
        out.add("bad_interest", message, "trigger.interest", TRIGGER_NODE, "interest")
    out.duration(trigger.get("window") or DEFAULT_INTEREST_WINDOW, "trigger.window", TRIGGER_NODE, "window")


def _validate_entry(entry, out: _Collector):
    if entry is None:
        return
    if not isinstance(entry, Mapping):
        out.add("invalid", "Entry settings are an object.", "entry")
        return
    policy = entry.get("re_entry", "after_exit")
    if policy not in RE_ENTRY_POLICIES:
        out.add(
            "unknown_re_entry",
            f"Unknown re-entry policy “{policy}”. Use one of: {', '.join(RE_ENTRY_POLICIES)}.",
            "entry.re_entry",
            TRIGGER_NODE,
            "entry.re_entry",
        )
    if policy == "cooldown":
        if not entry.get("cooldown"):
            out.add(
                "bad_duration",
                "Say how long a contact waits before entering again (e.g. P7D).",
                "entry.cooldown",
                TRIGGER_NODE,
                "entry.cooldown",
            )
        else:
            out.duration(entry["cooldown"], "entry.cooldown", TRIGGER_NODE, "entry.cooldown")
    if entry.get("audience"):
        for path, message in rules.validate(entry["audience"], "entry.audience"):
            code = "unknown_operator" if "Unknown operator" in message else "bad_condition"
            out.add(code, message, path, TRIGGER_NODE, path)


def _validate_exit_on(goals, out: _Collector):
    if goals is None:
        return
    if not isinstance(goals, list):
        out.add("invalid", "exit_on is a list of goal events.", "exit_on")
        return
    for index, goal in enumerate(goals):
        path = f"exit_on[{index}]"
        if not isinstance(goal, Mapping) or not isinstance(goal.get("event"), str) or not goal["event"].strip():
            out.add("missing_event", "Name the goal event, e.g. Order Completed.", f"{path}.event")
            continue
        if goal.get("where"):
            for sub_path, message in rules.validate(goal["where"], f"{path}.where"):
                code = "unknown_operator" if "Unknown operator" in message else "bad_condition"
                out.add(code, message, sub_path)


MAX_ATTRIBUTION_WINDOW = timedelta(days=MAX_ATTRIBUTION_DAYS)


def _settings_object(value, name, keys, out: _Collector) -> bool:
    """A journey's settings object shown on the trigger (`sending`, `conversion`): a problem and
    False unless it is an object; a problem for each key it does not know."""
    if not isinstance(value, Mapping):
        out.add("invalid", f"{name.capitalize()} settings are an object.", name, TRIGGER_NODE, name)
        return False
    for key in value:
        if key not in keys:
            choices = f"{', '.join(keys[:-1])} or {keys[-1]}"
            message = f"Unknown {name} setting “{key}”. Use {choices}."
            out.add("unknown_setting", message, f"{name}.{key}", TRIGGER_NODE, f"{name}.{key}")
    return True


def _validate_conversion(conversion, out: _Collector):
    """The journey's conversion event and attribution windows (journeys/report.py): {"event",
    "where", "revenue", "windows": {"click", "open", "send"}}, all optional. Shown on the trigger."""
    if conversion is None or not _settings_object(
        conversion, "conversion", ("event", "where", "revenue", "windows"), out
    ):
        return
    event = conversion.get("event")
    if event is not None and (not isinstance(event, str) or len(event) > 255):
        message = "Name the conversion event, e.g. Order Completed."
        out.add("missing_event", message, "conversion.event", TRIGGER_NODE, "conversion.event")
    if conversion.get("revenue") is not None and not isinstance(conversion["revenue"], str):
        message = "Name the event property that holds the revenue, e.g. total."
        out.add("invalid", message, "conversion.revenue", TRIGGER_NODE, "conversion.revenue")
    if conversion.get("where"):
        out.rule(conversion["where"], "conversion.where", field_prefix="conversion.where")
    windows = conversion.get("windows")
    if windows is None:
        return
    if not isinstance(windows, Mapping):
        message = "The attribution windows are an object: click, open, send."
        out.add("invalid", message, "conversion.windows", TRIGGER_NODE, "conversion.windows")
        return
    for touch, value in windows.items():
        field = f"conversion.windows.{touch}"
        if touch not in ("click", "open", "send"):
            message = f"Unknown attribution window “{touch}”. Use click, open or send."
            out.add("unknown_setting", message, field, TRIGGER_NODE, field)
            continue
        delta = out.duration(value, field, TRIGGER_NODE, field)
        if delta is not None and delta > MAX_ATTRIBUTION_WINDOW:
            message = "An attribution window is at most a year."
            out.add("bad_duration", message, field, TRIGGER_NODE, field)


def _validate_sending(sending, out: _Collector):
    """The journey's choice for a marketing email over the frequency cap (delivery.policies):
    {"over_cap": "defer" | "skip", "max_deferral": "P3D"}; both optional. Shown on the trigger."""
    if sending is None or not _settings_object(sending, "sending", ("over_cap", "max_deferral"), out):
        return
    over_cap = sending.get("over_cap", "defer")
    if over_cap not in OVER_CAP_CHOICES:
        out.add(
            "unknown_over_cap",
            f"Unknown choice “{over_cap}” for an email over the frequency cap. "
            f"Use one of: {', '.join(OVER_CAP_CHOICES)}.",
            "sending.over_cap",
            TRIGGER_NODE,
            "sending.over_cap",
        )
    if "max_deferral" in sending:
        out.duration(sending["max_deferral"], "sending.max_deferral", TRIGGER_NODE, "sending.max_deferral")


# -- nodes -------------------------------------------------------------------------------------


def _validate_nodes(nodes, out: _Collector) -> dict[str, Mapping]:
    if not isinstance(nodes, list):
        out.add("invalid", "nodes is a list.", "nodes")
        return {}
    seen: dict[str, Mapping] = {}
    for index, node in enumerate(nodes):
        if not isinstance(node, Mapping):
            out.add("invalid", "A node is an object with id, type and config.", f"nodes[{index}]")
            continue
        node_id = node.get("id")
        if not isinstance(node_id, str) or not NODE_ID.match(node_id) or node_id == TRIGGER_NODE:
            out.add(
                "bad_node_id",
                "A node id is 1–64 letters, digits, “-” or “_” (and not “trigger”).",
                f"nodes[{index}].id",
            )
            continue
        if node_id in seen:
            out.node(node_id, "duplicate_node_id", f"Two nodes have the id “{node_id}”.", "id")
            continue
        seen[node_id] = node
        kind = node.get("type")
        if kind not in NODE_TYPES:
            known = ", ".join(NODE_TYPES)
            out.node(node_id, "unknown_node_type", f"Unknown node type “{kind}”. Use one of: {known}.", "type")
            continue
        config = node.get("config") or {}
        if not isinstance(config, Mapping):
            out.node(node_id, "invalid", "A node's config is an object.", "config")
            continue
        check = _NODE_CHECKS.get(kind)
        if check:
            check(node_id, config, out)
    return seen


def _check_email(node_id, config, out):
    ref = config.get("template")
    if ref in (None, ""):
        out.node(node_id, "missing_template", "Choose the email template to send.", "config.template")
    elif out.resolve_template is not None and out.resolve_template(str(ref)) is None:
        out.node(node_id, "unknown_template", f"There is no published template “{ref}”.", "config.template")
    category = config.get("category", "marketing")
    if category not in EMAIL_CATEGORIES:
        out.node(
            node_id,
            "unknown_category",
            f"Unknown category “{category}”. Use marketing or transactional.",
            "config.category",
        )
    if config.get("send_time") is not None:
        _check_send_time(node_id, config["send_time"], out)


def _check_send_time(node_id, spec, out):
    """`"send_time": {"mode": "now"}` or `{"mode": "best", "within": "PT24H"}` (1 hour to 7 days)."""
    if not isinstance(spec, Mapping):
        out.node(node_id, "bad_send_time", "send_time is an object: {mode, within}.", "config.send_time")
        return
    mode = spec.get("mode", "now")
    if mode not in SEND_TIME_MODES:
        out.node(
            node_id,
            "bad_send_time",
            f"Unknown send time “{mode}”. Use {' or '.join(SEND_TIME_MODES)}.",
            "config.send_time.mode",
        )
        return
    if mode != "best" or spec.get("within") in (None, ""):
        return
    field = "config.send_time.within"
    delta = out.duration(spec["within"], f"nodes.{node_id}.{field}", node_id, field, positive=False)
    least, most = limit("email", "send_time_within_min_hours"), limit("email", "send_time_within_max_hours")
    if delta is not None and not timedelta(hours=least) <= delta <= timedelta(hours=most):
        out.node(
            node_id,
            "bad_send_time_window",
            f"Look for the best time within {least} hour to {most // 24} days (PT{least}H to P{most // 24}D).",
            field,
        )


def _check_delay(node_id, config, out):
    mode = delay_mode(config)
    if mode == "duration":
        if not config.get("duration"):
            out.node(node_id, "bad_duration", "Say how long to wait, e.g. PT1H or P2D.", "config.duration")
        else:
            out.duration(config["duration"], f"nodes.{node_id}.config.duration", node_id, "config.duration")
    elif mode == "time_of_day":
        if parse_time_of_day(config.get("time")) is None:
            out.node(node_id, "bad_time", "A time of day is HH:MM, e.g. 09:00.", "config.time")
        weekdays = config.get("weekdays")
        if weekdays is not None and (
            not isinstance(weekdays, list) or not weekdays or any(day not in WEEKDAYS for day in weekdays)
        ):
            out.node(
                node_id, "bad_weekdays", f"Weekdays are a non-empty list of: {', '.join(WEEKDAYS)}.", "config.weekdays"
            )
    elif mode == "date_attribute":
        attribute = config.get("attribute")
        if not isinstance(attribute, str) or not attribute.startswith("contact."):
            out.node(
                node_id,
                "missing_attribute",
                "Choose the contact date, e.g. contact.traits.renewal_date.",
                "config.attribute",
            )
        if config.get("offset"):
            out.duration(config["offset"], f"nodes.{node_id}.config.offset", node_id, "config.offset", positive=False)
        if config.get("time") and parse_time_of_day(config["time"]) is None:
            out.node(node_id, "bad_time", "A time of day is HH:MM, e.g. 09:00.", "config.time")
    else:
        out.node(
            node_id,
            "unknown_delay_mode",
            f"Unknown delay mode “{mode}”. Use duration, time_of_day or date_attribute.",
            "config.mode",
        )


def _check_wait(node_id, config, out):
    if not isinstance(config.get("event"), str) or not config["event"].strip():
        out.node(node_id, "missing_event", "Name the event to wait for.", "config.event")
    if config.get("timeout"):
        out.duration(config["timeout"], f"nodes.{node_id}.config.timeout", node_id, "config.timeout")
    if config.get("where"):
        out.rule(config["where"], f"nodes.{node_id}.config.where", node_id)
    if config.get("match"):
        prop, trigger_prop = match_spec(config) if isinstance(config["match"], (str, Mapping)) else ("", "")
        if not prop or not trigger_prop:
            out.node(
                node_id,
                "bad_match",
                'Name the property to match, e.g. {"property": "cart_id"}.',
                "config.match",
            )


def _check_branch(node_id, config, out):
    if not config.get("condition"):
        out.node(node_id, "missing_condition", "A branch needs a condition.", "config.condition")
    else:
        out.rule(config["condition"], f"nodes.{node_id}.config.condition", node_id)


def _check_split(node_id, config, out):
    paths = config.get("paths")
    if not isinstance(paths, list) or not paths:
        out.node(node_id, "missing_paths", "A split needs at least one path.", "config.paths")
        return
    ids = set()
    for index, path in enumerate(paths):
        field = f"config.paths[{index}]"
        if not isinstance(path, Mapping):
            out.node(node_id, "invalid", "A path is an object with id and condition.", field)
            continue
        path_id = path.get("id")
        if not isinstance(path_id, str) or not NODE_ID.match(path_id) or path_id == "else":
            out.node(node_id, "bad_port_id", "A path id is letters, digits, “-” or “_” (not “else”).", f"{field}.id")
        elif path_id in ids:
            out.node(node_id, "duplicate_port_id", f"Two paths have the id “{path_id}”.", f"{field}.id")
        ids.add(path_id)
        if not path.get("condition"):
            out.node(node_id, "missing_condition", "Each path needs a condition.", f"{field}.condition")
        else:
            out.rule(path["condition"], f"nodes.{node_id}.{field}.condition", node_id)


def _check_experiment(node_id, config, out):
    variants = config.get("variants")
    if not isinstance(variants, list) or len(variants) < limit("experiment", "min_variants"):
        out.node(node_id, "experiment_variants", "An experiment needs at least two variants.", "config.variants")
        return
    ids, total = set(), 0.0
    for index, variant in enumerate(variants):
        field = f"config.variants[{index}]"
        if not isinstance(variant, Mapping):
            out.node(node_id, "invalid", "A variant is an object with id and weight.", field)
            continue
        variant_id = variant.get("id")
        if not isinstance(variant_id, str) or not NODE_ID.match(variant_id):
            out.node(node_id, "bad_port_id", "A variant id is letters, digits, “-” or “_”.", f"{field}.id")
        elif variant_id in ids:
            out.node(node_id, "duplicate_port_id", f"Two variants have the id “{variant_id}”.", f"{field}.id")
        ids.add(variant_id)
        weight = variant.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            out.node(node_id, "experiment_weights", "A weight is a number, 0 or more.", f"{field}.weight")
        else:
            total += weight
    wanted = limit("experiment", "weights_total")
    if abs(total - wanted) > 1e-6 and not any(
        p.code == "experiment_weights" and p.node == node_id for p in out.problems
    ):
        out.node(
            node_id,
            "experiment_weights",
            f"The weights add up to {round(total, 2):g}%; they must add up to {wanted}%.",
            "config.variants",
        )
    _check_experiment_rule(node_id, config, len(variants), out)


def _number(value):
    return not isinstance(value, bool) and isinstance(value, (int, float))


def _check_experiment_rule(node_id, config, count, out):
    """The bandit (mode, floor) and the winner rule (decide) of an experiment node
    (journeys/engine/experiments.py)."""
    mode = config.get("mode", "split")
    if mode not in experiments.MODES:
        out.node(node_id, "unknown_mode", f"Unknown mode “{mode}”. Use split or bandit.", "config.mode")
    if "metric" in config and config["metric"] not in experiments.METRICS:
        message = f"Unknown metric “{config['metric']}”. Use conversion or click."
        out.node(node_id, "unknown_metric", message, "config.metric")
    if config.get("floor") is not None:
        floor = config["floor"]
        most = 1 / count
        if not _number(floor) or floor < 0 or experiments.as_fraction(floor, 0) > most + 1e-9:
            message = (
                f"The floor is each variant's smallest share of new contacts, from 0 to {most:.4g} "
                f"({100 * most:.4g}% with {count} variants), e.g. 0.1."
            )
            out.node(node_id, "bad_floor", message, "config.floor")
    decide = config.get("decide")
    if decide is None:
        return
    if not isinstance(decide, Mapping):
        message = "The winner rule is an object: metric, min_sample, confidence, deadline, fallback."
        out.node(node_id, "invalid", message, "config.decide")
        return
    for key in decide:
        if key not in ("metric", "min_sample", "confidence", "deadline", "fallback"):
            message = f"Unknown winner rule setting “{key}”. Use metric, min_sample, confidence, deadline or fallback."
            out.node(node_id, "unknown_setting", message, f"config.decide.{key}")
    if decide.get("metric", "conversion") not in experiments.METRICS:
        message = f"Unknown metric “{decide.get('metric')}”. Use conversion or click."
        out.node(node_id, "unknown_metric", message, "config.decide.metric")
    min_sample = decide.get("min_sample", experiments.DEFAULT_MIN_SAMPLE)
    if not _number(min_sample) or min_sample != int(min_sample) or min_sample < 1:
        message = "The minimum sample is a whole number of contacts per variant, 1 or more."
        out.node(node_id, "bad_min_sample", message, "config.decide.min_sample")
    confidence = decide.get("confidence", experiments.DEFAULT_CONFIDENCE)
    fraction = experiments.as_fraction(confidence, 0) if _number(confidence) else 0
    if not _number(confidence) or not 0.5 < fraction < 1 or confidence in (1, 100):
        message = "The confidence is above 50% and below 100%, e.g. 0.95 (95%)."
        out.node(node_id, "bad_confidence", message, "config.decide.confidence")
    if decide.get("deadline") not in (None, ""):
        field = "config.decide.deadline"
        out.duration(decide["deadline"], f"nodes.{node_id}.{field}", node_id, field)
    if decide.get("fallback", "keep_split") not in experiments.FALLBACKS:
        message = f"Unknown fallback “{decide.get('fallback')}”. Use keep_split or take_best."
        out.node(node_id, "unknown_fallback", message, "config.decide.fallback")


def _check_update_contact(node_id, config, out):
    spec = config.get("set")
    if isinstance(spec, list):
        items = [(i.get("field"), i.get("value")) if isinstance(i, Mapping) else (None, None) for i in spec]
    elif isinstance(spec, Mapping):
        items = list(spec.items())
    else:
        items = []
    if not items:
        out.node(node_id, "missing_changes", "Say which attributes to set.", "config.set")
        return
    for key, value in items:
        path = str(key or "").removeprefix("contact.")
        if not (path.startswith("traits.") and len(path) > 7) and path not in CONTACT_COLUMNS:
            out.node(
                node_id,
                "unknown_attribute",
                f"“{key}” cannot be set: use traits.<name> or one of {', '.join(CONTACT_COLUMNS)}.",
                f"config.set.{key}",
            )
        if isinstance(value, str):
            try:
                liquid.parse_text(value)
            except liquid.LiquidError as error:
                out.node(node_id, "bad_liquid", f"Liquid error: {error}", f"config.set.{key}")


def _check_webhook(node_id, config, out):
    method = str(config.get("method") or "POST").upper()
    if method not in WEBHOOK_METHODS:
        out.node(node_id, "bad_method", f"Method must be one of: {', '.join(WEBHOOK_METHODS)}.", "config.method")
    url = config.get("url")
    if not isinstance(url, str) or not url.strip():
        out.node(node_id, "missing_url", "Enter the URL to call.", "config.url")
    else:
        literal = url.split("{", 1)[0]
        parts = urlsplit(literal)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not host or "{" in url.split("//", 1)[-1].split("/", 1)[0]:
            out.node(
                node_id,
                "bad_url",
                "The URL must start with http:// or https:// and a fixed host name (Liquid only in the path).",
                "config.url",
            )
        elif _obviously_private(host, out.address_forbidden):
            out.node(
                node_id,
                "private_url",
                f"{host} is a private, loopback or link-local address: webhooks only go to public hosts.",
                "config.url",
            )
    headers = config.get("headers") or {}
    if not isinstance(headers, Mapping) or any(not isinstance(v, (str, int, float)) for v in headers.values()):
        out.node(node_id, "bad_headers", "Headers are name: value pairs.", "config.headers")
    elif bad_names := [str(name) for name in headers if not re.fullmatch(WEBHOOK_HEADER_NAME, str(name))]:
        out.node(
            node_id,
            "bad_header_name",
            f"“{bad_names[0][:60]}” is not a valid header name: use up to 256 letters, digits and hyphens "
            "(no spaces or colons).",
            "config.headers",
        )
    if config.get("timeout"):
        delta = out.duration(config["timeout"], f"nodes.{node_id}.config.timeout", node_id, "config.timeout")
        most = limit("webhook", "timeout_max_seconds")
        if delta is not None and delta.total_seconds() > most:
            out.node(node_id, "timeout_too_long", f"A webhook waits at most {most} s for an answer.", "config.timeout")
    retries, most = config.get("retries", limit("webhook", "retries_default")), limit("webhook", "retries_max")
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= most:
        out.node(node_id, "bad_retries", f"Retries is a whole number from 0 to {most}.", "config.retries")


def _obviously_private(host: str, address_forbidden) -> bool:
    """A literal host that can only be private (an IP literal or localhost), unless the operator
    allowed it (`address_forbidden` says). Names are checked again at call time."""
    if address_forbidden is None:
        return False
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return address_forbidden("127.0.0.1") is not None
    if host.endswith(".internal"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return address_forbidden(host) is not None


_NODE_CHECKS = {
    "email": _check_email,
    "delay": _check_delay,
    "wait_for_event": _check_wait,
    "branch": _check_branch,
    "split": _check_split,
    "experiment": _check_experiment,
    "update_contact": _check_update_contact,
    "webhook": _check_webhook,
}


# -- the graph ---------------------------------------------------------------------------------


def _validate_graph(edges, nodes: dict[str, Mapping], out: _Collector):
    if edges is None:
        edges = []
    if not isinstance(edges, list):
        out.add("invalid", "edges is a list.", "edges")
        return
    outgoing: dict[tuple[str, str], str] = {}
    adjacency: dict[str, set[str]] = {node_id: set() for node_id in nodes}
    adjacency[TRIGGER_NODE] = set()
    for index, edge in enumerate(edges):
        path = f"edges[{index}]"
        if not isinstance(edge, Mapping):
            out.add("invalid", "An edge is an object with from, port and to.", path)
            continue
        source, target = edge.get("from"), edge.get("to")
        if source and not target:
            out.add("port_unconnected", f"An edge from “{source}” leads nowhere: connect it.", f"{path}.to", source)
            continue
        if source != TRIGGER_NODE and source not in nodes:
            out.add("edge_unknown_node", f"The edge starts at an unknown node “{source}”.", f"{path}.from")
            continue
        if target not in nodes:
            message = (
                "Nothing can lead back to the trigger."
                if target == TRIGGER_NODE
                else f"The edge leads to an unknown node “{target}”."
            )
            out.add("edge_unknown_node", message, f"{path}.to", source)
            continue
        source_type = TRIGGER_NODE if source == TRIGGER_NODE else nodes[source].get("type")
        port = edge.get("port") or default_port(source_type)
        allowed = ["next"] if source == TRIGGER_NODE else ports_of(nodes[source])
        if port is None:
            out.add(
                "missing_port",
                f"Say which port of “{source}” this edge leaves from ({', '.join(allowed)}).",
                f"{path}.port",
                source,
                "port",
            )
            continue
        if port not in allowed:
            message = f"“{source}” ({source_type}) has no port “{port}”" + (
                f"; its ports are {', '.join(allowed)}." if allowed else "; it has no ports."
            )
            out.add("edge_unknown_port", message, f"{path}.port", source, "port")
            continue
        if (source, port) in outgoing:
            out.add(
                "port_connected_twice",
                f"Port “{port}” of “{source}” is connected twice; a port leads to one node.",
                f"{path}.port",
                source,
                f"ports.{port}",
            )
            continue
        outgoing[(source, port)] = target
        adjacency[source].add(target)

    if (TRIGGER_NODE, "next") not in outgoing:
        out.add("port_unconnected", "Connect the trigger to the first step.", "edges", TRIGGER_NODE, "ports.next")

    # A decision (branch, split, experiment) with some ports connected and others not is
    # unfinished: each outcome must lead somewhere (an Exit node ends it explicitly). Any other
    # node may leave ports open: that outcome ends the journey there (design.md's own example
    # ends when the awaited order arrives). A wait without a timeout never takes its timeout port.
    for node_id, node in nodes.items():
        ports = ports_of(node)
        if node.get("type") == "wait_for_event" and not (node.get("config") or {}).get("timeout"):
            ports = [p for p in ports if p != "timeout"]
            if (node_id, "timeout") in outgoing:
                out.node(
                    node_id,
                    "port_without_timeout",
                    "The timeout port is connected but the wait has no timeout.",
                    "config.timeout",
                )
        connected = [p for p in ports if (node_id, p) in outgoing]
        if node.get("type") in DECISION_TYPES and connected and len(connected) < len(ports):
            for port in ports:
                if (node_id, port) not in outgoing:
                    out.node(
                        node_id,
                        "port_unconnected",
                        f"Port “{port}” of “{node_id}” is not connected: connect it (to an Exit node to end there).",
                        f"ports.{port}",
                    )

    reachable = _reachable(adjacency)
    for node_id in nodes:
        if node_id not in reachable:
            out.node(node_id, "unreachable", f"No path from the trigger reaches “{node_id}”.", "")

    for cycle in _cycles_without_wait(adjacency, nodes):
        first = cycle[0]
        out.node(
            first,
            "cycle_without_wait",
            f"The loop {' → '.join([*cycle, first])} has no Delay or Wait for event: it would run forever.",
            "",
        )


def _reachable(adjacency) -> set[str]:
    seen, stack = {TRIGGER_NODE}, [TRIGGER_NODE]
    while stack:
        for target in adjacency.get(stack.pop(), ()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _cycles_without_wait(adjacency, nodes) -> list[list[str]]:
    """Strongly connected components (Tarjan) of the graph without delay/wait nodes that contain a
    cycle: each is a loop that never waits."""
    graph = {
        node_id: [t for t in adjacency.get(node_id, ()) if t in nodes and nodes[t].get("type") not in WAIT_TYPES]
        for node_id in nodes
        if nodes[node_id].get("type") not in WAIT_TYPES
    }
    index_of, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = [0]

    def connect(start):
        # iterative Tarjan to stay clear of the recursion limit on large journeys
        work = [(start, iter(graph[start]))]
        index_of[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index_of:
                    index_of[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index_of[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    result.append(sorted(component))

    for node_id in graph:
        if node_id not in index_of:
            connect(node_id)
    return result


def resolve_templates(definition, resolve_template: Callable[[str], int | None]) -> dict[str, int]:
    """node id -> pinned template version id for every email node (what publishing stores)."""
    pinned = {}
    nodes = definition.get("nodes") if isinstance(definition, Mapping) else None
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, Mapping) or node.get("type") != "email":
            continue
        config = node.get("config")
        if isinstance(config, Mapping) and config.get("template"):
            version_id = resolve_template(str(config["template"]))
            if version_id is not None:
                pinned[node["id"]] = version_id
    return pinned
