"""THE list of node types: their ports, config fields and facts (does it wait, does it decide, its
limits). Pure. A fact about a node type is stated here once; the validator, the engine and the
canvas read it from here.

The canvas mirrors this list in frontend/src/journeys/nodeTypes.ts; a test checks that both agree,
and GET /api/journeys/node-types serves it (`catalog()`).

Ports: most node types have fixed ports. `split` has one port per path (the path's `id`) plus
`else`; `experiment` has one port per variant (the variant's `id`). An edge from a node with a
single port may leave `port` out (it means that port). The trigger is the pseudo-node "trigger"
with the one port "next".
"""

from dataclasses import dataclass

TRIGGER_NODE = "trigger"
TRIGGER_TYPES = ("event", "inactivity", "date_attribute", "api", "segment", "price_drop", "back_in_stock")
# A segment trigger starts the journey when a contact enters (or leaves) a saved segment.
SEGMENT_CHANGES = ("entered", "left")
# The catalog triggers start it for contacts who showed interest in the product within a window,
# once per contact and product per window: what counts as interest, and the event it is read from.
INTEREST_EVENTS = {"viewed": "Product Viewed", "carted": "Product Added", "wishlisted": "Product Added to Wishlist"}
DEFAULT_INTEREST_WINDOW = "P30D"
PRICE_DROP_PERCENT = (1, 99)  # the smallest and largest drop a price_drop trigger may ask for
RE_ENTRY_POLICIES = ("once", "after_exit", "cooldown")
EMAIL_CATEGORIES = ("marketing", "transactional")
# An email node's "send_time": now (the default), or at each contact's best time within a window.
SEND_TIME_MODES = ("now", "best")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEBHOOK_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
WEBHOOK_HEADER_NAME = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}"  # an RFC 9110 token (re.fullmatch)
# A journey's "sending": what happens to a marketing email over the workspace's frequency cap
# (delayed until the cap allows it, or skipped), and how long it may be delayed before it is skipped.
OVER_CAP_CHOICES = ("defer", "skip")
DEFAULT_MAX_DEFERRAL = "P3D"
# A conversion's credit (journeys/report.py): the last email clicked, opened or sent within these.
DEFAULT_ATTRIBUTION = {"click": "P5D", "open": "P5D", "send": "P1D"}
MAX_ATTRIBUTION_DAYS = 366


@dataclass(frozen=True)
class NodeType:
    type: str
    label: str
    ports: tuple[str, ...]  # fixed ports, in display order
    dynamic_ports: str | None = None  # "paths" (split) or "variants" (experiment): one port per item id
    config: tuple[str, ...] = ()  # config keys it understands
    description: str = ""
    waits: bool = False  # a contact may stay on it for a while (a cycle must pass one)
    decides: bool = False  # it picks one of several ports (each should lead somewhere)
    limits: tuple[tuple[str, int], ...] = ()  # numbers the validator, engine and panel share


NODE_TYPES: dict[str, NodeType] = {
    node.type: node
    for node in (
        NodeType(
            "email",
            "Send email",
            ("next",),
            config=("template", "category", "send_time"),
            description=(
                "Sends one email, personalized for the contact at send time: now, or at each contact's"
                " best time (the hour of the week it tends to open) within the next few hours."
            ),
            # send_time {"mode": "best", "within": ...}: the window, in hours (journeys/predictions/sendtime.py).
            limits=(
                ("send_time_within_min_hours", 1),
                ("send_time_within_max_hours", 168),
                ("send_time_within_default_hours", 24),
            ),
        ),
        NodeType(
            "delay",
            "Delay",
            ("next",),
            config=("mode", "duration", "time", "weekdays", "attribute", "offset"),
            description="Waits a duration, until a local time on chosen weekdays, or until a contact date ± offset.",
            waits=True,
        ),
        NodeType(
            "wait_for_event",
            "Wait for event",
            ("event", "timeout"),
            config=("event", "where", "match", "timeout"),
            description="Waits for an event (with conditions, optionally matching a trigger property) or a timeout.",
            waits=True,
        ),
        NodeType(
            "branch",
            "Branch",
            ("yes", "no"),
            config=("condition",),
            description="Goes one way if the condition holds, the other way if not.",
            decides=True,
        ),
        NodeType(
            "split",
            "Split",
            ("else",),
            dynamic_ports="paths",
            config=("paths",),
            description="Ordered paths, each with a condition; the first that holds wins, otherwise “else”.",
            decides=True,
        ),
        NodeType(
            "experiment",
            "Experiment",
            (),
            dynamic_ports="variants",
            config=("variants", "mode", "floor", "metric", "decide"),
            description=(
                "Sends each contact down one variant by weight (or by results: a winner rule, a bandit);"
                " a contact always gets the same variant."
            ),
            decides=True,
            # Weights are percentages: they add up to exactly this. The winner rule's and the
            # bandit's defaults (journeys/engine/experiments.py): contacts per variant before the
            # first look, the confidence, the bandit's floor per variant.
            limits=(
                ("weights_total", 100),
                ("min_variants", 2),
                ("min_sample_default", 100),
                ("confidence_default_percent", 95),
                ("floor_default_percent", 10),
            ),
        ),
        NodeType(
            "update_contact",
            "Update contact",
            ("next",),
            config=("set",),
            description="Sets contact attributes; values may use Liquid.",
        ),
        NodeType(
            "webhook",
            "Webhook",
            ("success", "failure"),
            config=("method", "url", "headers", "body", "timeout", "retries"),
            description="Calls an HTTP endpoint (never a private address); the response is kept for later nodes.",
            # The longest call must end well inside the worker's turn (journeys/loop.py, loop_seconds).
            limits=(
                ("timeout_default_seconds", 10),
                ("timeout_max_seconds", 15),
                ("retries_default", 2),
                ("retries_max", 9),
            ),
        ),
        NodeType("exit", "Exit", (), description="Ends the journey for the contact."),
    )
}


def limit(node_type: str, name: str) -> int:
    """A node type's limit: `limit("webhook", "timeout_max_seconds")`."""
    return dict(NODE_TYPES[node_type].limits)[name]


WAIT_TYPES = frozenset(kind.type for kind in NODE_TYPES.values() if kind.waits)
DECISION_TYPES = frozenset(kind.type for kind in NODE_TYPES.values() if kind.decides)


def ports_of(node: dict) -> list[str]:
    """The output ports of one node of a definition, in order."""
    kind = NODE_TYPES.get(node.get("type"))
    if kind is None:
        return []
    config = node.get("config") or {}
    if kind.dynamic_ports:
        items = config.get(kind.dynamic_ports) or []
        dynamic = [str(item.get("id")) for item in items if isinstance(item, dict) and item.get("id")]
        return dynamic + list(kind.ports)
    return list(kind.ports)


def default_port(node_type: str | None) -> str | None:
    """The port an edge without `port` means: the only port of a single-port node (and the trigger)."""
    if node_type == TRIGGER_NODE:
        return "next"
    kind = NODE_TYPES.get(node_type)
    if kind and not kind.dynamic_ports and len(kind.ports) == 1:
        return kind.ports[0]
    return None


def catalog() -> dict:
    """The node and trigger types as JSON, for the canvas."""
    return {
        "node_types": [
            {
                "type": kind.type,
                "label": kind.label,
                "ports": list(kind.ports),
                "dynamic_ports": kind.dynamic_ports,
                "config": list(kind.config),
                "description": kind.description,
                "waits": kind.waits,
                "decides": kind.decides,
                "limits": dict(kind.limits),
            }
            for kind in NODE_TYPES.values()
        ],
        "trigger_types": list(TRIGGER_TYPES),
        "segment_changes": list(SEGMENT_CHANGES),
        "interests": list(INTEREST_EVENTS),
        "default_interest_window": DEFAULT_INTEREST_WINDOW,
        "price_drop_percent": list(PRICE_DROP_PERCENT),
        "re_entry_policies": list(RE_ENTRY_POLICIES),
        "email_categories": list(EMAIL_CATEGORIES),
        "send_time_modes": list(SEND_TIME_MODES),
        "weekdays": list(WEEKDAYS),
        "webhook_methods": list(WEBHOOK_METHODS),
        "over_cap_choices": list(OVER_CAP_CHOICES),
        "default_max_deferral": DEFAULT_MAX_DEFERRAL,
        "default_attribution": dict(DEFAULT_ATTRIBUTION),
        "max_attribution_days": MAX_ATTRIBUTION_DAYS,
    }
