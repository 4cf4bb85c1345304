"""An enrollment's life: entering a journey, and the one way out of it.

- `enroll_contact` starts a contact on the journey's live version if the re-entry policy allows.
- `finish` is the one state change that ends an enrollment, whatever ends it (the end of a path,
  an exit node, a goal, a failure, removal at publish, an archived journey, a merged contact).
  The re-entry policy's rule for the entry key lives there and only there.
- `finish_open` ends the open enrollments among some ids from outside the worker (publish,
  archive, merge, goal) with `finish`, under their row locks.
- `write_steps` is the one writer of step-log rows.

Two guards keep entries unique, both as unique constraints on the enrollment table:
- `entry_key`, the re-entry policy: "once" stays for ever (one entry per contact, ever); "open"
  (after_exit) is released when the enrollment finishes; cooldown has none (a time check).
- `trigger_key`, what started it ("event:<id>", "api:<idempotency key>", "inactive:<time>",
  "date:<day>"): never released, so the same trigger enters once under every policy.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction

from . import clock, hooks, kicks, report
from .engine import rules, step
from .engine.nodes import TRIGGER_NODE
from .models import Contact, Enrollment, Journey, StepLog

OPEN = list(Enrollment.OPEN)
ONCE, OPEN_KEY = "once", "open"

# An event older than the enrollment by more than this neither ends its waits nor its goals nor
# converts it (a replayed or imported old event); newer ones count even if their clock is a little
# behind.
STALE_EVENT = timedelta(minutes=5)


def is_stale(event, enrollment):
    return event is not None and event.timestamp < enrollment.entered_at - STALE_EVENT


# -- the step log ----------------------------------------------------------------------------------


@dataclass(slots=True)
class StepRow:
    """A step log row on its way into `write_steps` (a model instance costs far more)."""

    workspace_id: int
    journey_id: int
    enrollment_id: int | None
    contact_id: int | None
    version_number: int | None
    node: str
    visit: int
    entered: bool
    left: bool
    outcome: str
    port: str
    detail: dict
    at: object


def step_row(enrollment, node, outcome, at, *, visit=None, entered=False, left=False, port="", detail=None):
    """A row about `enrollment` at `node` (its current visit there unless `visit` is given)."""
    if visit is None:
        visit = int((enrollment.visits or {}).get(node, 1) or 1)
    return StepRow(
        enrollment.workspace_id,
        enrollment.journey_id,
        enrollment.pk,
        enrollment.contact_id,
        enrollment.version.number,
        node,
        visit,
        entered,
        left,
        outcome,
        port,
        dict(detail or {}),
        at,
    )


_STEP_COLUMNS = (
    "workspace_id",
    "journey_id",
    "enrollment_id",
    "contact_id",
    "version_number",
    "node",
    "visit",
    "entered",
    "left",
    "outcome",
    "port",
    "detail",
    "at",
)


def json_param(vendor):
    return "%s::jsonb" if vendor == "postgresql" else "%s"


def write_steps(rows):
    """Append step log rows with one INSERT run for every row (executemany)."""
    if not rows:
        return
    ops, vendor = connection.ops, connection.vendor
    placeholders = ", ".join(json_param(vendor) if column == "detail" else "%s" for column in _STEP_COLUMNS)
    sql = (
        f"INSERT INTO {ops.quote_name(StepLog._meta.db_table)} "
        f"({', '.join(ops.quote_name(c) for c in _STEP_COLUMNS)}) VALUES ({placeholders})"
    )
    dumps, when = json.dumps, ops.adapt_datetimefield_value
    params = [
        (
            row.workspace_id,
            row.journey_id,
            row.enrollment_id,
            row.contact_id,
            row.version_number,
            row.node,
            row.visit,
            row.entered,
            row.left,
            row.outcome,
            row.port,
            dumps(row.detail, cls=DjangoJSONEncoder),
            when(row.at),
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    report.tally(report.steps_counts(rows))


_UPDATE_FIELDS = (
    "status",
    "current_node",
    "node_entered_at",
    "visits",
    "wake_at",
    "paused_wake_at",
    "awaited_event",
    "context",
    "claim",
    "claimed_at",
    "entry_key",
    "finished_at",
    "exit_reason",
)


_JSON_UPDATE_FIELDS = {"visits", "context"}


def write_enrollments(enrollments):
    """One UPDATE statement run for every row (executemany): positions, timers, context. Values
    are adapted here rather than through the ORM's per-field machinery (the hot path)."""
    if not enrollments:
        return
    ops, vendor = connection.ops, connection.vendor
    meta = Enrollment._meta
    columns = [meta.get_field(name).column for name in _UPDATE_FIELDS]
    assignments = ", ".join(
        f"{ops.quote_name(column)} = {json_param(vendor) if name in _JSON_UPDATE_FIELDS else '%s'}"
        for name, column in zip(_UPDATE_FIELDS, columns, strict=True)
    )
    sql = f"UPDATE {ops.quote_name(meta.db_table)} SET {assignments} WHERE id = %s"
    dumps, when = json.dumps, ops.adapt_datetimefield_value
    params = [
        (
            e.status,
            e.current_node,
            when(e.node_entered_at),
            dumps(e.visits),
            when(e.wake_at),
            when(e.paused_wake_at),
            e.awaited_event,
            dumps(e.context, cls=DjangoJSONEncoder),
            e.claim,
            when(e.claimed_at),
            e.entry_key,
            when(e.finished_at),
            e.exit_reason,
            e.pk,
        )
        for e in enrollments
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def record_skip(journey, contact, reason, now, **detail):
    """An event (or API call) that did not start the journey, and why."""
    write_steps(
        [
            StepRow(
                journey.workspace_id,
                journey.pk,
                None,
                contact.pk,
                journey.live_version.number if journey.live_version_id else None,
                TRIGGER_NODE,
                1,
                False,
                False,
                "skipped",
                "",
                {"reason": reason, **detail},
                now,
            )
        ]
    )


def progress(journey_ids):
    """Contacts moved in these journeys: tell whoever listens (the canvas's live counts, through
    the "journey.progress" hook; it notifies after the commit, coalesced)."""
    if journey_ids and hooks.has_hook("journey.progress"):
        hooks.hook("journey.progress")(journey_ids)


# -- entering ----------------------------------------------------------------------------------


_FLOWS: OrderedDict[tuple, step.Flow] = OrderedDict()


def flow_for(version) -> step.Flow:
    """The compiled flow of a version. Versions never change; the key includes the publish time
    so that a reused id (a deleted journey's, or a test's rolled-back one) is not mistaken."""
    key = (version.pk, version.published_at)
    flow = _FLOWS.get(key)
    if flow is None:
        flow = step.compile_flow(version.definition)
        _FLOWS[key] = flow
        if len(_FLOWS) > 512:
            _FLOWS.popitem(last=False)
    return flow


def enroll_contact(journey, contact, *, trigger=None, trigger_key=None, now=None, record=True):
    """Start `contact` on the journey's live version, if the journey is live, the contact is in
    the entry audience and the re-entry policy allows it. Returns (enrollment or None, reason).

    `trigger`: the event (engine.event_data shape) or API payload that started it; kept in the
    enrollment's context. `trigger_key`: what makes this trigger unique ("event:<id>", "api:<key>"):
    the same trigger enters once, under every re-entry policy; a repeat answers the enrollment it
    made, with the reason "duplicate_trigger".
    """
    from .customers import context as contact_context

    now = now or clock.now()
    if journey.status != Journey.Status.LIVE or journey.live_version_id is None:
        reason = f"journey_{journey.status}"
        if record:
            record_skip(journey, contact, reason, now, trigger=(trigger or {}).get("message_id"))
        return None, reason
    if contact.merged_into_id:
        contact = Contact.objects.get(pk=contact.merged_into_id)
    earlier = _entered_by(journey, contact, trigger_key, now, record)
    if earlier is not None:
        return earlier, "duplicate_trigger"
    version = journey.live_version
    flow = flow_for(version)
    entry = flow.entry
    audience = entry.get("audience")
    context = {"trigger": trigger} if trigger else {}
    if audience:
        subject = contact_context.facts_of(
            contact,
            now=now,
            event=trigger,
            context=context,
            journey={"id": journey.pk, "name": journey.name, "version": version.number},
        )
        if not rules.evaluate(audience, subject):
            if record:
                record_skip(journey, contact, "not_in_audience", now)
            return None, "not_in_audience"

    policy = entry.get("re_entry", "after_exit")
    key = ONCE if policy == "once" else OPEN_KEY if policy == "after_exit" else None
    if policy == "cooldown":
        cooldown = rules.parse_duration(entry.get("cooldown") or "PT0S")
        if Enrollment.objects.filter(journey=journey, contact=contact, entered_at__gt=now - cooldown).exists():
            if record:
                record_skip(journey, contact, "cooldown", now)
            return None, "cooldown"
    try:
        with transaction.atomic():
            enrollment = Enrollment.objects.create(
                workspace_id=journey.workspace_id,
                contact=contact,
                journey=journey,
                version=version,
                status=Enrollment.Status.ACTIVE,
                current_node=TRIGGER_NODE,
                node_entered_at=now,
                wake_at=now,
                context=context,
                entry_key=key,
                trigger_key=trigger_key or None,
                entered_at=now,
            )
    except IntegrityError:
        # Another process entered this contact meanwhile: by the same trigger, or by the policy.
        earlier = _entered_by(journey, contact, trigger_key, now, record)
        if earlier is not None:
            return earlier, "duplicate_trigger"
        reason = "already_entered_once" if policy == "once" else "already_in_journey"
        if record:
            record_skip(journey, contact, reason, now)
        return None, reason
    report.tally(report.entry_counts([enrollment], now))
    transaction.on_commit(kicks.advance)
    return enrollment, "entered"


def _entered_by(journey, contact, trigger_key, now, record):
    """The enrollment this trigger made already, if any (recorded as a skip)."""
    if not trigger_key:
        return None
    earlier = Enrollment.objects.filter(journey=journey, contact=contact, trigger_key=trigger_key).first()
    if earlier is not None and record:
        record_skip(journey, contact, "duplicate_trigger", now, enrollment=earlier.pk)
    return earlier


# -- leaving -----------------------------------------------------------------------------------


def released_entry_key(entry_key):
    """The entry key an enrollment keeps once finished: "once" blocks re-entry for ever; the
    after_exit key is released so the contact may enter again."""
    return ONCE if entry_key == ONCE else None


def finish(enrollment, status, reason, now):
    """The one state change that ends an enrollment (the caller writes the row and the step log)."""
    enrollment.status = status
    enrollment.exit_reason = reason or ""
    enrollment.finished_at = now
    enrollment.wake_at = None
    enrollment.paused_wake_at = None
    enrollment.awaited_event = ""
    enrollment.claim = ""
    enrollment.claimed_at = None
    enrollment.entry_key = released_entry_key(enrollment.entry_key)


def finish_open(ids, status, reason, now, *, outcome="exited", detail=None):
    """End the enrollments among `ids` that are still open, from outside the worker. Returns the
    finished enrollments.

    Rows are locked first (PostgreSQL; SQLite's write transaction serializes writers): a worker
    advancing one of them right now finishes its batch first, and then this sees it as it left it
    (and skips it if it finished meanwhile).
    """
    finished = []
    with transaction.atomic():
        rows = Enrollment.objects.filter(id__in=list(ids), status__in=OPEN).select_related("version")
        if connection.vendor == "postgresql":
            rows = rows.select_for_update(of=("self",))
        steps = []
        for enrollment in rows.order_by("id"):
            node = enrollment.current_node
            finish(enrollment, status, reason, now)
            steps.append(
                step_row(enrollment, node, outcome, now, left=True, detail={"reason": reason, **(detail or {})})
            )
            finished.append(enrollment)
        write_enrollments(finished)
        write_steps(steps)
        progress({e.journey_id for e in finished})
    return finished


def reach_goal(enrollment, goal, event, now):
    """The enrollment met an exit_on goal: it leaves the journey (its conversion, if the goal is
    the journey's conversion event, is recorded by report.convert_event with every other one).
    Returns whether it left."""
    event_dict = event if isinstance(event, dict) else None
    name = event_dict["name"] if event_dict else event.name
    data = event_dict or step.event_data(event.name, event.properties)
    detail = {"goal": name}
    if goal.get("as_conversion", True):
        detail["revenue"] = step.goal_revenue(goal, data)[0]
    with transaction.atomic():
        return bool(finish_open([enrollment.pk], Enrollment.Status.EXITED, "goal", now, outcome="goal", detail=detail))


def contact_merged(loser, survivor, **kwargs):
    """The "contact.merged" hook: identity resolution found two contacts to be one person.

    The loser's enrollments become the survivor's, finished ones too (so "once" still holds for
    the person, and one trigger still enters once). Where the survivor already holds the same
    entry or trigger key (it is in that journey, or entered it once), the loser's enrollment stays
    the loser's and, if open, leaves the journey with the reason "contact_merged"."""
    now = clock.now()
    leaving = []
    survivor_in = set(Enrollment.objects.filter(contact=survivor, status__in=OPEN).values_list("journey_id", flat=True))
    for enrollment in Enrollment.objects.filter(contact=loser).only("id", "status", "journey_id"):
        if enrollment.status in OPEN and enrollment.journey_id in survivor_in:
            leaving.append(enrollment.pk)  # one person, one trip through a journey at a time
            continue
        try:
            with transaction.atomic():
                if Enrollment.objects.filter(pk=enrollment.pk, contact=loser).update(contact=survivor):
                    if enrollment.status in OPEN:
                        survivor_in.add(enrollment.journey_id)
                    continue
        except IntegrityError:  # the survivor holds that entry or trigger key
            pass
        if enrollment.status in OPEN:
            leaving.append(enrollment.pk)
    if leaving:
        finish_open(leaving, Enrollment.Status.EXITED, "contact_merged", now, detail={"into": survivor.pk})
