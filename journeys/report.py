"""What a journey earned: the counts the workers keep, the credit for each conversion, the report.

Counting. Whatever is counted appends `ReportTally` rows in the transaction that does it
(`tally`): the step log through `lifecycle.write_steps` (entered, left by port), entries through
`enroll_contact`, emails through delivery (sent, failed, suppressed, bounced, opened, clicked,
unsubscribed, complained: `tally_messages`), conversions through `convert`. Rows are only ever
appended, so workers never wait on each other's counts; `fold` (the engine loop, now and then)
moves them into `ReportTotal`, one row per (version, UTC day, node, metric, key). The report sums
both, so it is exact as soon as the counted thing commits, and reads neither the step log nor the
outbox.

Attribution. A journey's conversion event is its definition's `conversion.event`, else its first
exit_on goal that counts as a conversion. When a contact with an enrollment in the journey (open, or
finished within the attribution window) does it, the enrollment converts once (`convert`): the
conversion is credited to the last email of that journey the contact got that it clicked or opened
within the window (5 days by default) or was sent within its send window (1 day), else to the
journey alone. Revenue is the event's `revenue`, `total` or `value` (or the property the rule names).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate

from . import clock, hooks
from .engine import rules, step
from .engine.nodes import TRIGGER_NODE
from .models import Conversion, Enrollment, JourneyVersion, ReportTally, ReportTotal, StepLog

# -- metrics ---------------------------------------------------------------------------------------

ENTRY = "entry"  # an enrollment started (node: the trigger)
ENTERED = "entered"  # a contact arrived at a node
LEFT = "left"  # ... and left it (key: the port, or how it left: goal, exited, failed)
SKIPPED = "skipped"  # an event that did not start the journey (key: why)
SENT, FAILED, SUPPRESSED = "sent", "failed", "suppressed"  # an email handed to the server, or not
BOUNCED, COMPLAINED, UNSUBSCRIBED = "bounced", "complained", "unsubscribed"
OPENED, OPENS, MACHINE_OPENS = "opened", "opens", "machine_opens"  # unique, counted, machine
CLICKED, CLICKS = "clicked", "clicks"  # unique per message; every click (key: the link)
CONVERSION = "conversion"  # node: the email credited ("" the journey alone); key: currency

MAX_WINDOW = timedelta(days=366)
MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
FOLD_BATCH = 20_000
_KEY_LENGTH = 500

_COLUMNS = ("workspace_id", "journey_id", "version_number", "day", "node", "metric", "key", "n", "amount")


def _day(at) -> date:
    return at.astimezone(UTC).date() if isinstance(at, datetime) and at.tzinfo else at


def tally(counts):
    """Append counts: an iterable of (workspace_id, journey_id, version_number, at, node, metric,
    key, n, amount). Counts of the same key are added together first; one INSERT run for all."""
    summed: Counter = Counter()
    money: dict = {}
    for workspace_id, journey_id, version, at, node, metric, key, n, amount in counts:
        if not journey_id:
            continue
        row = (workspace_id, journey_id, version or 0, _day(at), node or "", metric, (key or "")[:_KEY_LENGTH])
        summed[row] += n
        if amount:
            money[row] = money.get(row, Decimal("0")) + Decimal(amount)
    if not summed:
        return
    _insert(ReportTally, [(*row, n, money.get(row, Decimal("0"))) for row, n in summed.items()])


def _insert(model, rows, upsert=False):
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    names = ", ".join(ops.quote_name(c) for c in _COLUMNS)
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
    if upsert:
        key = ", ".join(ops.quote_name(c) for c in ("journey_id", "version_number", "day", "node", "metric", "key"))
        sql += (
            f" ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + excluded.n, amount = {table}.amount + excluded.amount"
        )
    adapt_day, adapt_amount = ops.adapt_datefield_value, ops.adapt_decimalfield_value
    params = [(*row[:3], adapt_day(row[3]), *row[4:8], adapt_amount(row[8], 18, 2)) for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def fold(limit=FOLD_BATCH) -> int:
    """Move up to `limit` tallies into the totals (one row per key). Returns how many it moved.
    Concurrent folds on PostgreSQL take disjoint tallies (SKIP LOCKED); a tally not committed yet
    is not seen, and folded next time."""
    ops = connection.ops
    tally_table = ops.quote_name(ReportTally._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    names = ", ".join(ops.quote_name(c) for c in _COLUMNS)
    sql = (
        f"DELETE FROM {tally_table} WHERE id IN (SELECT id FROM {tally_table} ORDER BY id LIMIT %s{lock}) "
        f"RETURNING {names}"
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [limit])
            taken = cursor.fetchall()
        if not taken:
            return 0
        sums: dict = {}
        for row in taken:
            row = list(row)
            row[3] = date.fromisoformat(row[3]) if isinstance(row[3], str) else row[3]  # SQLite
            key = tuple(row[:7])
            n, amount = sums.get(key, (0, Decimal("0")))
            sums[key] = (n + int(row[7]), amount + Decimal(row[8] or 0))
        _insert(ReportTotal, [(*key, n, amount) for key, (n, amount) in sorted(sums.items())], upsert=True)
    return len(taken)


def fold_all():
    """Fold until no tally is left (the loop's periodic task, and tests)."""
    moved = 0
    while True:
        n = fold()
        moved += n
        if n < FOLD_BATCH:
            return moved


def rebuild(journey) -> int:
    """Replace the journey's counts with `recount`'s: for data stored before counting began (the
    migration that added the counts), or after a repair. Returns the number of keys."""
    rows = recount(journey)
    with transaction.atomic():
        ReportTally.objects.filter(journey=journey).delete()
        ReportTotal.objects.filter(journey=journey).delete()
        tally((journey.workspace_id, journey.pk, *row) for row in rows)
        fold_all()
    return len(rows)


def recount(journey) -> list[tuple]:
    """The journey's counts recomputed from what is stored (the step log, enrollments, conversions,
    and the outbox through delivery's "journey.message_counts" hook): [(version, day, node, metric,
    key, n, amount)]. It scans them all: what the report would cost without the counts."""
    day = TruncDate("at", tzinfo=UTC)
    rows = []
    entries = Enrollment.objects.filter(workspace_id=journey.workspace_id, journey=journey)
    for row in (
        entries.annotate(on=TruncDate("entered_at", tzinfo=UTC)).values("version__number", "on").annotate(n=Count("id"))
    ):
        rows.append((row["version__number"], row["on"], TRIGGER_NODE, ENTRY, "", row["n"], None))
    steps = StepLog.objects.filter(workspace_id=journey.workspace_id, journey=journey, enrollment__isnull=False)
    for row in (
        steps.filter(Q(entered=True) | Q(left=True))
        .annotate(on=day)
        .values("version_number", "on", "node", "entered", "left", "port", "outcome")
        .annotate(n=Count("id"))
    ):
        where = (row["version_number"], row["on"], row["node"])
        if row["entered"]:
            rows.append((*where, ENTERED, "", row["n"], None))
        if row["left"]:
            rows.append((*where, LEFT, row["port"] or row["outcome"], row["n"], None))
    skips = StepLog.objects.filter(
        workspace_id=journey.workspace_id, journey=journey, enrollment__isnull=True, outcome="skipped"
    )
    for row in (
        skips.annotate(on=day, reason=KT("detail__reason"))
        .values("version_number", "on", "reason")
        .annotate(n=Count("id"))
    ):
        rows.append((row["version_number"], row["on"], TRIGGER_NODE, SKIPPED, row["reason"] or "", row["n"], None))
    conversions = Conversion.objects.filter(workspace_id=journey.workspace_id, journey=journey)
    for row in (
        conversions.annotate(on=day)
        .values("version__number", "on", "node", "currency")
        .annotate(n=Count("id"), money=Sum("revenue"))
    ):
        where = (row["version__number"], row["on"], row["node"])
        rows.append((*where, CONVERSION, row["currency"], row["n"], row["money"]))
    if hooks.has_hook("journey.message_counts"):
        rows.extend(hooks.hook("journey.message_counts")(journey))
    return rows


# -- what is counted -------------------------------------------------------------------------------


def steps_counts(rows):
    """The counts of step log rows (lifecycle.StepRow): arrivals, departures by port, skips."""
    for row in rows:
        version, where = row.version_number, (row.workspace_id, row.journey_id)
        if row.enrollment_id is None:
            if row.outcome == "skipped":
                yield (*where, version, row.at, TRIGGER_NODE, SKIPPED, (row.detail or {}).get("reason", ""), 1, None)
            continue
        if row.entered:
            yield (*where, version, row.at, row.node, ENTERED, "", 1, None)
        if row.left:
            yield (*where, version, row.at, row.node, LEFT, row.port or row.outcome, 1, None)


def entry_counts(enrollments, at):
    for enrollment in enrollments:
        version = enrollment.version.number
        yield (enrollment.workspace_id, enrollment.journey_id, version, at, TRIGGER_NODE, ENTRY, "", 1, None)


def tally_messages(messages, at, *metrics):
    """Count each of `metrics` (a name, or a (name, key) pair) once for each of these outbox rows
    (journey_id, node_id, enrollment_id, workspace_id; test sends and messages outside journeys are
    not counted): one lookup of their versions for all."""
    messages = [m for m in messages if getattr(m, "journey_id", None) and not getattr(m, "is_test", False)]
    if not messages or not metrics:
        return
    versions = dict(
        Enrollment.objects.filter(id__in={m.enrollment_id for m in messages if m.enrollment_id}).values_list(
            "id", "version__number"
        )
    )
    progress({m.journey_id for m in messages})  # the canvas's live counts show sends, opens, clicks
    pairs = [metric if isinstance(metric, tuple) else (metric, "") for metric in metrics]
    tally(
        (m.workspace_id, m.journey_id, versions.get(m.enrollment_id, 0), at, m.node_id, metric, key, 1, None)
        for m in messages
        for metric, key in pairs
    )


def progress(journey_ids):
    """lifecycle.progress: the canvas's live counts refresh (imported here when called, as
    lifecycle imports this module)."""
    from .lifecycle import progress as moved

    moved(journey_ids)


# -- conversions -----------------------------------------------------------------------------------


def windows_of(rule) -> dict:
    """{"click": timedelta, "open": ..., "send": ...} of a rule (validated at publish)."""
    return {touch: rules.parse_duration(value) for touch, value in rule["windows"].items()}


def describe(rule) -> str:
    """The attribution rule in the marketer's words."""
    if rule is None:
        return "This journey counts no conversions: give it a conversion event (or a goal that counts as one)."
    windows = {touch: _words(rules.parse_duration(value)) for touch, value in rule["windows"].items()}
    return (
        f"A “{rule['event']}” by a contact in the journey (or who left it within {windows['click']}) is a "
        f"conversion, credited to the last email of this journey the contact clicked within {windows['click']}, "
        f"opened within {windows['open']} or was sent within {windows['send']}; to the journey alone otherwise. "
        "Revenue is the event's revenue, total or value."
    )


def _words(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0 and seconds >= size:
            n = seconds // size
            return f"{n} {name}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"


def convert_event(enrollments, data, event, now):
    """A contact's event: each of its `enrollments` (not converted yet: open, or finished within
    MAX_WINDOW; the caller loads them, journeys/triggers.on_event) whose journey converts on it
    converts, once. Returns the conversions made."""
    from .lifecycle import flow_for, is_stale

    made = []
    for enrollment in enrollments:
        rule = flow_for(enrollment.version).conversion
        if rule is None or rule["event"] != data.get("name"):
            continue
        if rule.get("where") and not rules.evaluate(
            rule["where"], rules.EventFacts(data.get("properties") or {}, now=now)
        ):
            continue
        if enrollment.finished_at and enrollment.finished_at < now - max(windows_of(rule).values()):
            continue
        if is_stale(event, enrollment):
            continue
        conversion = convert(enrollment, rule, data, event, now)
        if conversion is not None:
            made.append(conversion)
    return made


def convert(enrollment, rule, data, event, now):
    """The enrollment converts (once): credited to the journey's last email within the windows."""
    revenue, currency = step.goal_revenue(rule, data)
    touch = None
    if hooks.has_hook("journey.last_touch"):
        touch = hooks.hook("journey.last_touch")(enrollment, windows_of(rule), now)
    node, message_id, how = touch or ("", None, "")
    try:
        amount = Decimal(revenue) if revenue is not None else Decimal("0")
    except InvalidOperation:
        amount = Decimal("0")
    with transaction.atomic():
        conversion, made = Conversion.objects.get_or_create(
            enrollment=enrollment,
            defaults={
                "workspace_id": enrollment.workspace_id,
                "journey_id": enrollment.journey_id,
                "version_id": enrollment.version_id,
                "contact_id": enrollment.contact_id,
                "event": event,
                "goal": rule["event"],
                "revenue": amount,
                "currency": currency,
                "at": now,
                "node": node,
                "message_id": message_id,
                "touch": how,
            },
        )
        if made:
            where = (enrollment.workspace_id, enrollment.journey_id, enrollment.version.number)
            tally([(*where, now, node, CONVERSION, currency, 1, amount)])
            progress({enrollment.journey_id})  # the canvas's live counts show the conversion
    return conversion if made else None


# -- the report ------------------------------------------------------------------------------------


class ReportError(ValueError):
    def __init__(self, field, message):
        super().__init__(message)
        self.field, self.message = field, message


def date_range(start: str | None, end: str | None, today: date | None = None) -> tuple[date, date]:
    """The report's days (inclusive), from the query's `from` and `to` (YYYY-MM-DD; default: the
    last 30 days). Raises ReportError naming the parameter."""
    today = today or clock.now().astimezone(UTC).date()
    end_day = _parse_day(end, "to") if end else today
    start_day = _parse_day(start, "from") if start else end_day - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start_day > end_day:
        raise ReportError("from", "The start of the range is after its end.")
    if (end_day - start_day).days + 1 > MAX_RANGE_DAYS:
        raise ReportError("to", f"A report covers at most {MAX_RANGE_DAYS} days; choose a shorter range.")
    return start_day, end_day


def _parse_day(value, field):
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ReportError(field, "Give a date as YYYY-MM-DD.") from None


def counts(journey, start_day, end_day, version=None) -> list[tuple]:
    """[(version, day, node, metric, key, n, amount)] of the journey over the days (None: all): the
    totals and the tallies not folded yet, summed."""
    summed: dict = {}
    for model in (ReportTotal, ReportTally):
        rows = model.objects.filter(workspace_id=journey.workspace_id, journey=journey)
        if start_day is not None:
            rows = rows.filter(day__range=(start_day, end_day))
        if version is not None:
            rows = rows.filter(version_number=version)
        for row in rows.values_list("version_number", "day", "node", "metric", "key").annotate(
            total=Sum("n"), money=Sum("amount")
        ):
            key = row[:5]
            n, amount = summed.get(key, (0, Decimal("0")))
            summed[key] = (n + int(row[5] or 0), amount + Decimal(row[6] or 0))
    return [(*key, n, amount) for key, (n, amount) in summed.items()]


def waiting_now(journey, version=None) -> dict:
    rows = Enrollment.objects.filter(workspace_id=journey.workspace_id, journey=journey, status__in=Enrollment.OPEN)
    if version is not None:
        rows = rows.filter(version__number=version)
    return {row["current_node"]: row["n"] for row in rows.values("current_node").annotate(n=Count("id"))}


def _rate(part, whole):
    return round(part / whole, 4) if whole else None


def money(amounts: dict) -> list[dict]:
    return [{"currency": c, "amount": f"{a:.2f}"} for c, a in sorted(amounts.items()) if a or c]


def journey_report(journey, start_day, end_day, version=None) -> dict:
    """The report of `journey` over the days (and one version): per node, per email, per day, per
    version, and the journey's conversions and revenue. See the module's docstring."""
    versions = list(
        JourneyVersion.objects.filter(journey=journey).order_by("number").values("number", "definition", "published_at")
    )
    definition = next((v["definition"] for v in reversed(versions) if version in (None, v["number"])), None)
    definition = definition or journey.draft or {}
    rule = step.conversion_rule(definition)
    rows = counts(journey, start_day, end_day, version)

    nodes: dict[str, dict] = {}
    days: dict[date, dict] = {}
    per_version: dict[int, dict] = {}
    entries, conversions, revenue = 0, 0, {}

    def node_slot(node_id):
        return nodes.setdefault(node_id, {"entered": 0, "left": {}, "conversions": 0, "revenue": {}, "email": None})

    def day_slot(day):
        return days.setdefault(day, {"entries": 0, "conversions": 0, "revenue": {}})

    def version_slot(number):
        return per_version.setdefault(number, {"entries": 0, "conversions": 0, "revenue": {}})

    for number, day, node, metric, key, n, amount in rows:
        if metric == ENTRY:
            entries += n
            day_slot(day)["entries"] += n
            version_slot(number)["entries"] += n
        elif metric == ENTERED:
            node_slot(node)["entered"] += n
        elif metric == LEFT:
            left = node_slot(node)["left"]
            left[key] = left.get(key, 0) + n
        elif metric == CONVERSION:
            conversions += n
            for slot in (day_slot(day), version_slot(number)):
                slot["conversions"] += n
                slot["revenue"][key] = slot["revenue"].get(key, Decimal("0")) + amount
            revenue[key] = revenue.get(key, Decimal("0")) + amount
            if node:
                slot = node_slot(node)
                slot["conversions"] += n
                slot["revenue"][key] = slot["revenue"].get(key, Decimal("0")) + amount
        elif metric != SKIPPED:
            email = node_slot(node)["email"] = node_slot(node)["email"] or _empty_email()
            if metric == CLICKS:
                email["clicks_total"] += n
                email["links"][key] = email["links"].get(key, 0) + n
            else:
                email[metric] += n

    waiting = waiting_now(journey, version)
    shown = {n["id"]: n for n in definition.get("nodes") or [] if isinstance(n, dict) and n.get("id")}
    node_list = []
    for node_id in [*shown, *sorted(set(nodes) - set(shown) - {TRIGGER_NODE})]:
        slot = node_slot(node_id)
        info = shown.get(node_id) or {}
        entry = {
            "id": node_id,
            "type": info.get("type", ""),
            "label": info.get("label") or "",
            "entered": slot["entered"],
            "left": slot["left"],
            "waiting": waiting.get(node_id, 0),
            "exited_by_goal": slot["left"].get("goal", 0),
            "conversions": slot["conversions"],
            "revenue": money(slot["revenue"]),
        }
        if info.get("type") == "email" or slot["email"]:
            entry["email"] = _email_figures(slot["email"] or _empty_email())
        node_list.append(entry)

    return {
        "journey": {"id": journey.pk, "name": journey.name},
        "range": {"from": start_day.isoformat(), "to": end_day.isoformat()},
        "version": version,
        "versions": [{"number": v["number"], "published_at": v["published_at"]} for v in versions],
        "attribution": {
            "event": rule["event"] if rule else None,
            "source": rule["source"] if rule else None,
            "windows": rule["windows"] if rule else None,
            "rule": describe(rule),
        },
        "totals": {
            "entries": entries,
            "conversions": conversions,
            "conversion_rate": _rate(conversions, entries),
            "revenue": money(revenue),
        },
        "daily": [
            {
                "day": (start_day + timedelta(days=i)).isoformat(),
                "entries": days.get(start_day + timedelta(days=i), {}).get("entries", 0),
                "conversions": days.get(start_day + timedelta(days=i), {}).get("conversions", 0),
                "revenue": money(days.get(start_day + timedelta(days=i), {}).get("revenue", {})),
            }
            for i in range((end_day - start_day).days + 1)
        ],
        "by_version": [
            {
                "version": number,
                **{k: v for k, v in slot.items() if k != "revenue"},
                "conversion_rate": _rate(slot["conversions"], slot["entries"]),
                "revenue": money(slot["revenue"]),
            }
            for number, slot in sorted(per_version.items())
        ],
        "nodes": node_list,
        "funnel": _funnel(definition, nodes, entries),
    }


def as_csv(figures) -> str:
    """The report as a spreadsheet: the days, then the nodes with their email figures."""
    out = io.StringIO()
    writer = _SafeWriter(csv.writer(out))
    period = ["From", figures["range"]["from"], "To", figures["range"]["to"]]
    writer.writerow(["Journey", figures["journey"]["name"], *period])
    writer.writerow(["Attribution", figures["attribution"]["rule"]])
    writer.writerow([])
    writer.writerow(["Day", "Entries", "Conversions", "Revenue"])
    for day in figures["daily"]:
        writer.writerow([day["day"], day["entries"], day["conversions"], _money_text(day["revenue"])])
    writer.writerow([])
    email_columns = [c for c in _email_figures(_empty_email()) if c != "links"]
    header = ["Node", "Type", "Entered", "Waiting", "Exited by goal", "Conversions", "Revenue"]
    writer.writerow([*header, *(c.replace("_", " ").capitalize() for c in email_columns)])
    for node in figures["nodes"]:
        email = node.get("email") or {}
        row = [node["id"], node["type"], node["entered"], node["waiting"], node["exited_by_goal"], node["conversions"]]
        writer.writerow([*row, _money_text(node["revenue"]), *(email.get(c, "") for c in email_columns)])
    return out.getvalue()


class _SafeWriter:
    """A cell a spreadsheet would run as a formula (=, +, -, @: a journey's name, a link) is
    written as text."""

    def __init__(self, writer):
        self.writer = writer

    def writerow(self, row):
        self.writer.writerow([f"'{c}" if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c for c in row])


def _money_text(amounts):
    return "; ".join(f"{m['amount']} {m['currency']}".strip() for m in amounts)


_EMAIL_METRICS = (SENT, FAILED, SUPPRESSED, BOUNCED, OPENED, OPENS, MACHINE_OPENS, CLICKED, UNSUBSCRIBED, COMPLAINED)


def _empty_email():
    return {**dict.fromkeys(_EMAIL_METRICS, 0), "clicks_total": 0, "links": {}}


def _email_figures(email) -> dict:
    sent = email[SENT]
    delivered = max(sent - email[BOUNCED], 0)
    return {
        "sent": sent,
        "delivered": delivered,
        "bounced": email[BOUNCED],
        "failed": email[FAILED],
        "suppressed": email[SUPPRESSED],
        "opened_unique": email[OPENED],
        "opened_total": email[OPENS],
        "machine_opens": email[MACHINE_OPENS],
        "clicked_unique": email[CLICKED],
        "clicks_total": email["clicks_total"],
        "unsubscribed": email[UNSUBSCRIBED],
        "complained": email[COMPLAINED],
        "open_rate": _rate(email[OPENED], delivered),
        "click_rate": _rate(email[CLICKED], delivered),
        "links": [
            {"url": url, "clicks": n} for url, n in sorted(email["links"].items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def _funnel(definition, nodes, entries) -> list[dict]:
    """The journey's main path: from the trigger, at each node the port most contacts took."""
    edges: dict[str, dict[str, str]] = {}
    for (source, port), target in step.compile_flow(definition).edges.items():
        edges.setdefault(source, {})[port] = target
    names = {n["id"]: n for n in definition.get("nodes") or [] if isinstance(n, dict) and n.get("id")}
    funnel = [{"node": TRIGGER_NODE, "label": "Entered", "type": "trigger", "count": entries}]
    seen, current = {TRIGGER_NODE}, TRIGGER_NODE
    while True:
        ports = edges.get(current) or {}
        if not ports:
            break
        left = (nodes.get(current) or {}).get("left") or {}
        port = max(ports, key=lambda p: (left.get(p, 0), p == "next"))
        current = ports[port]
        if current in seen or current not in names:
            break
        seen.add(current)
        info = names[current]
        count = (nodes.get(current) or {}).get("entered", 0)
        funnel.append({"node": current, "label": info.get("label") or "", "type": info.get("type", ""), "count": count})
    return funnel
