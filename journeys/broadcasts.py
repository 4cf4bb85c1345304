"""Broadcasts: a template sent, or a journey entered, once for every member of a segment (issue 13).

A broadcast enters its contacts through the engine, so that sending (delivery's batched path),
the policies, tracking, attribution and the report are the journeys' own:
- "Send a template": the broadcast makes and publishes a journey of its own (trigger "api" →
  [delay until the local time of day] → email → exit), not listed among the journeys; its report
  is that journey's report.
- "Enter a journey": every member enters the chosen live journey.

Every member enters through `lifecycle.enroll_contact` (the one way in) with the trigger key
"broadcast:<id>", so a contact enters once however often a page is run. The members are those of
the segment when the broadcast started (`started_at`: the membership rows open at that time), taken
in pages by contact id, a page per transaction, by worker tasks kicked through journeys/kicks.py;
the progress is saved on the broadcast row with each page.

- `create_broadcast`, `update_broadcast` (drafts only), `start_broadcast` (now, or scheduled),
  `cancel_broadcast`: the API's actions; refusals are DomainErrors naming the field.
- `enter_page(id)`: the worker task's step.
- `start_due(now)`: from the engine loop: start the scheduled broadcasts whose time came, and kick
  again a running one whose next page was lost (a worker killed between its commit and its kick).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F, Q

from accounts.access import scoped
from accounts.actions import record_audit
from accounts.errors import DomainError

from . import clock, drafts, hooks, kicks, lifecycle, publishing
from .engine.nodes import WEEKDAYS, limit
from .models import Broadcast, Contact, Enrollment, Journey, Segment, SegmentMembership

log = logging.getLogger(__name__)

PAGE = 500  # members entered per transaction
STALLED = timedelta(minutes=2)  # a running broadcast with no page done for this long is kicked again
EMPTY_SEGMENT = "This segment has no members: nobody would receive it."
TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# Schedule best_time: each contact's email goes at its best hour within this window of entering.
BEST_TIME_WITHIN = f"PT{limit('email', 'send_time_within_default_hours')}H"

Status, Kind, Schedule = Broadcast.Status, Broadcast.Kind, Broadcast.Schedule


# -- checks ----------------------------------------------------------------------------------------


def problems(broadcast, now) -> dict[str, list[str]]:
    """{field: [message]}: what keeps this broadcast from being started now."""
    errors: dict[str, list[str]] = {}
    if not broadcast.name.strip():
        errors["name"] = ["Give the broadcast a name."]
    if broadcast.segment_id is None:
        errors["segment"] = ["Choose the segment to send to."]
    elif broadcast.segment.workspace_id != broadcast.workspace_id:
        errors["segment"] = ["There is no such segment."]
    if broadcast.kind == Kind.TEMPLATE:
        if not broadcast.template:
            errors["template"] = ["Choose the template to send."]
        elif _template_version(broadcast) is None:
            errors["template"] = [f"There is no published template “{broadcast.template}”."]
    else:
        journey = broadcast.journey
        if journey is None or journey.workspace_id != broadcast.workspace_id or is_own_journey(journey):
            errors["journey"] = ["Choose the journey to enter."]
        elif journey.status != Journey.Status.LIVE or journey.live_version_id is None:
            errors["journey"] = [f"“{journey.name}” is not live: publish or resume it first."]
    if broadcast.schedule == Schedule.AT:
        if broadcast.send_at is None:
            errors["send_at"] = ["Choose when to send it."]
        elif broadcast.send_at <= now:
            errors["send_at"] = ["This time has passed: choose a time to come."]
    if broadcast.schedule == Schedule.LOCAL_TIME and not TIME_OF_DAY.match(broadcast.local_time or ""):
        errors["local_time"] = ["A time of day as HH:MM (00:00 to 23:59)."]
    if broadcast.schedule == Schedule.BEST_TIME and broadcast.kind == Kind.JOURNEY:
        errors["schedule"] = [
            "Each contact's best time is for sending a template; a journey's emails choose their own."
        ]
    return errors


def _template_version(broadcast):
    if not hooks.has_hook("template.resolve"):
        return None
    return hooks.hook("template.resolve")(broadcast.workspace, broadcast.template)


def is_own_journey(journey) -> bool:
    """Is this a broadcast's own journey (made to send its template)?"""
    return Broadcast.objects.filter(journey=journey, kind=Kind.TEMPLATE).exists()


def _refuse(errors):
    if errors:
        field, messages = next(iter(errors.items()))
        raise DomainError(messages[0], code="invalid", fields=errors)


def members_at(broadcast, at):
    """The segment's membership rows open at `at` (one per contact)."""
    return SegmentMembership.objects.filter(
        Q(left_at__isnull=True) | Q(left_at__gt=at), segment_id=broadcast.segment_id, entered_at__lte=at
    )


# -- the API's actions -----------------------------------------------------------------------------


def create_broadcast(workspace, actor, data):
    """A draft: complete and valid (its segment may be empty until it starts)."""
    broadcast = Broadcast(workspace=workspace, created_by=drafts.actor_user(actor))
    unknown = _apply(broadcast, data)
    _refuse({**problems(broadcast, clock.now()), **unknown})
    broadcast.save()
    record_audit(workspace, actor, "broadcast.created", broadcast.name, broadcast=broadcast.pk)
    return broadcast


def update_broadcast(broadcast, actor, data):
    with transaction.atomic():
        broadcast = _locked(broadcast)
        if broadcast.status != Status.DRAFT:
            raise DomainError("Only a draft broadcast can be changed.", code="not_draft", status_code=409)
        unknown = _apply(broadcast, data)
        _refuse({**problems(broadcast, clock.now()), **unknown})
        broadcast.updated_at = clock.now()
        broadcast.save()
        record_audit(broadcast.workspace, actor, "broadcast.updated", broadcast.name, broadcast=broadcast.pk)
    return broadcast


def _apply(broadcast, data) -> dict[str, list[str]]:
    """Set the fields given; a segment or journey id is looked up in the broadcast's workspace only.
    Returns the field errors of ids that name nothing there."""
    errors = {}
    for name, model in (("segment", Segment), ("journey", Journey)):
        if name in data:
            found = scoped(model, broadcast.workspace).filter(pk=data[name]).first() if data[name] else None
            setattr(broadcast, name, found)
            if data[name] and found is None:
                errors[name] = [f"There is no such {name}."]
    for name in ("name", "kind", "template", "schedule", "local_time"):
        if name in data:
            setattr(broadcast, name, (data[name] or "").strip())
    if "send_at" in data:
        broadcast.send_at = data["send_at"]
    if broadcast.kind == Kind.TEMPLATE and broadcast.journey_id and not is_own_journey(broadcast.journey):
        broadcast.journey = None  # a draft switched from "enter a journey" to "send a template"
    if broadcast.kind == Kind.JOURNEY:
        broadcast.template = ""
    if broadcast.schedule != Schedule.AT:
        broadcast.send_at = None
    if broadcast.schedule != Schedule.LOCAL_TIME:
        broadcast.local_time = ""
    return errors


def _locked(broadcast):
    rows = Broadcast.objects.select_related("segment", "journey")
    if connection.vendor == "postgresql":
        rows = rows.select_for_update(of=("self",))
    return rows.get(pk=broadcast.pk)


def start_broadcast(broadcast, actor, now=None):
    """Start a draft now, or schedule it for its time. Refused (400, before anything is entered or
    enqueued) when it cannot go out: an empty segment, no template, a journey not live, a time
    passed."""
    now = now or clock.now()
    with transaction.atomic():
        # The claim: of two starts (two clicks, two tabs), the first write wins the row (its lock
        # on PostgreSQL, the write lock on SQLite); the other then finds it no longer a draft.
        if not Broadcast.objects.filter(pk=broadcast.pk, status=Status.DRAFT).update(updated_at=now):
            raise DomainError("This broadcast has been started already.", code="not_draft", status_code=409)
        broadcast = _locked(broadcast)
        _refuse(problems(broadcast, now))
        if not members_at(broadcast, now).exists():
            raise DomainError(EMPTY_SEGMENT, code="empty_segment", fields={"segment": [EMPTY_SEGMENT]})
        if broadcast.schedule == Schedule.AT:
            broadcast.status, broadcast.updated_at = Status.SCHEDULED, now
            broadcast.save(update_fields=["status", "updated_at"])
            record_audit(broadcast.workspace, actor, "broadcast.scheduled", broadcast.name, broadcast=broadcast.pk)
            return broadcast
        _begin(broadcast, actor, now)
    return broadcast


def _begin(broadcast, actor, now):
    """Snapshot the audience (its time), make the broadcast's own journey if it sends a template,
    and kick the first page. Inside the caller's transaction, on the locked row."""
    total = members_at(broadcast, now).count()
    if total == 0:
        raise DomainError(EMPTY_SEGMENT, code="empty_segment", fields={"segment": [EMPTY_SEGMENT]})
    if broadcast.kind == Kind.TEMPLATE:
        journey = drafts.create_journey(
            broadcast.workspace, actor, f"Broadcast: {broadcast.name}"[:200], own_definition(broadcast)
        )
        publishing.publish_journey(journey, actor)
        broadcast.journey = journey
    broadcast.status, broadcast.started_at, broadcast.total = Status.RUNNING, now, total
    broadcast.entered = broadcast.skipped = broadcast.after_contact = 0
    broadcast.skipped_reasons, broadcast.progressed_at, broadcast.updated_at = {}, now, now
    broadcast.save()
    record_audit(broadcast.workspace, actor, "broadcast.started", broadcast.name, broadcast=broadcast.pk, total=total)
    broadcast_id = broadcast.pk
    transaction.on_commit(lambda: kicks.broadcast(broadcast_id))


def own_definition(broadcast) -> dict:
    """The journey a template broadcast sends through: api trigger → [delay until the local time of
    day, in each contact's timezone] → email (at each contact's best time within 24 hours, for
    schedule best_time) → exit. Entered once per contact."""
    nodes, edges, first = [], [], "email"
    if broadcast.schedule == Schedule.LOCAL_TIME:
        first = "local_time"
        config = {"mode": "time_of_day", "time": broadcast.local_time, "weekdays": list(WEEKDAYS)}
        nodes.append({"id": "local_time", "type": "delay", "config": config})
        edges.append({"from": "local_time", "to": "email"})
    email = {"template": broadcast.template}
    if broadcast.schedule == Schedule.BEST_TIME:
        email["send_time"] = {"mode": "best", "within": BEST_TIME_WITHIN}
    nodes += [
        {"id": "email", "type": "email", "config": email},
        {"id": "exit", "type": "exit", "config": {}},
    ]
    edges = [{"from": "trigger", "to": first}, *edges, {"from": "email", "to": "exit"}]
    return {
        "trigger": {"type": "api"},
        "entry": {"re_entry": "once", "audience": {"all": []}},
        "exit_on": [],
        "nodes": nodes,
        "edges": edges,
        "layout": {node["id"]: {"x": 0, "y": 120 * (i + 1)} for i, node in enumerate(nodes)},
    }


def cancellable(broadcast) -> bool:
    """Scheduled or running; or sent but some of its emails still wait for their local time."""
    if broadcast.status in (Status.SCHEDULED, Status.RUNNING):
        return True
    return (
        broadcast.status == Status.SENT
        and broadcast.kind == Kind.TEMPLATE
        and broadcast.journey_id is not None
        and Enrollment.objects.filter(journey_id=broadcast.journey_id, status__in=lifecycle.OPEN).exists()
    )


def cancel_broadcast(broadcast, actor, now=None):
    """Stop it: the pages not entered yet are not entered; a template broadcast's journey is archived,
    so those still waiting (for their local time, or for the engine) get nothing. Sent stays sent."""
    now = now or clock.now()
    with transaction.atomic():
        # Write first, so that the row is ours before it is read: a page being entered right now
        # commits first (and this sees its progress), a later page sees the broadcast cancelled.
        Broadcast.objects.filter(pk=broadcast.pk).update(updated_at=now)
        broadcast = _locked(broadcast)
        if not cancellable(broadcast):
            raise DomainError(
                "Only a scheduled or running broadcast can be cancelled.", code="not_cancellable", status_code=409
            )
        broadcast.status, broadcast.finished_at, broadcast.updated_at = Status.CANCELLED, now, now
        broadcast.save(update_fields=["status", "finished_at", "updated_at"])
        if broadcast.kind == Kind.TEMPLATE and broadcast.journey_id:
            publishing.archive_journey(broadcast.journey, actor)
        record_audit(broadcast.workspace, actor, "broadcast.cancelled", broadcast.name, broadcast=broadcast.pk)
    return broadcast


# -- the workers -----------------------------------------------------------------------------------


class _PageTaken(Exception):
    """Another run of the task did this page first (the queue delivers at least once)."""


def enter_page(broadcast_id) -> int:
    """Enter the next page of members; kick the next page after the commit. Returns how many
    members the page held (0: nothing left, or not running)."""
    try:
        return _enter_page(broadcast_id)
    except _PageTaken:
        return 0


def _enter_page(broadcast_id):
    now = clock.now()
    with transaction.atomic():
        rows = Broadcast.objects.filter(pk=broadcast_id)
        if connection.vendor == "postgresql":
            rows = rows.select_for_update()
        broadcast = rows.first()
        if broadcast is None or broadcast.status != Status.RUNNING:
            return 0
        cursor = broadcast.after_contact
        ids = list(
            members_at(broadcast, broadcast.started_at)
            .filter(contact_id__gt=cursor)
            .order_by("contact_id")
            .values_list("contact_id", flat=True)[:PAGE]
        )
        mine = Broadcast.objects.filter(pk=broadcast_id, status=Status.RUNNING, after_contact=cursor)
        if not ids:
            mine.update(status=Status.SENT, finished_at=now, progressed_at=now, updated_at=now)
            return 0
        journey = Journey.objects.select_related("live_version").filter(pk=broadcast.journey_id).first()
        if journey is None or journey.status != Journey.Status.LIVE:
            error = f"The journey “{journey.name}” is {journey.status}: nobody more enters it." if journey else ""
            mine.update(status=Status.FAILED, error=error or "The journey is gone.", finished_at=now, updated_at=now)
            return 0
        trigger = {
            "name": "broadcast",
            "properties": {"broadcast": broadcast.pk, "name": broadcast.name},
            "timestamp": now.isoformat(),
        }
        key = f"broadcast:{broadcast.pk}"
        entered, reasons = 0, Counter()
        for contact in Contact.objects.filter(pk__in=ids).order_by("pk"):
            _, reason = lifecycle.enroll_contact(journey, contact, trigger=trigger, trigger_key=key, now=now)
            if reason == "entered":
                entered += 1
            else:
                reasons[reason] += 1
        merged = dict(broadcast.skipped_reasons or {})
        for reason, n in reasons.items():
            merged[reason] = merged.get(reason, 0) + n
        # The claim: of two runs on the same page, only the one that moves the cursor from where it
        # read it keeps its work; the other rolls its entries back (and the trigger key would have
        # made them no-ops anyway).
        won = mine.update(
            after_contact=ids[-1],
            entered=F("entered") + entered,
            skipped=F("skipped") + sum(reasons.values()),
            skipped_reasons=merged,
            progressed_at=now,
            updated_at=now,
        )
        if not won:
            raise _PageTaken
        transaction.on_commit(lambda: kicks.broadcast(broadcast_id))
    return len(ids)


def start_due(now=None):
    """From the engine loop: start the scheduled broadcasts whose time came; kick a running one
    again when its next page seems lost. Never raises (the loop goes on)."""
    now = now or clock.now()
    try:
        for pk in Broadcast.objects.filter(status=Status.SCHEDULED, send_at__lte=now).values_list("pk", flat=True)[:20]:
            _start_scheduled(pk, now)
        stalled = Broadcast.objects.filter(status=Status.RUNNING, progressed_at__lt=now - STALLED)
        for pk, seen in stalled.values_list("pk", "progressed_at")[:20]:
            # Conditional: of two loops seeing the same stall, one kicks.
            if Broadcast.objects.filter(pk=pk, progressed_at=seen).update(progressed_at=now):
                transaction.on_commit(lambda pk=pk: kicks.broadcast(pk))
    except Exception:
        log.exception("starting due broadcasts failed")


def _start_scheduled(pk, now):
    try:
        with transaction.atomic():
            broadcast = _locked(Broadcast(pk=pk))
            if broadcast.status != Status.SCHEDULED:
                return  # another loop started it, or it was cancelled
            _begin(broadcast, broadcast.created_by, now)
    except DomainError as error:
        Broadcast.objects.filter(pk=pk, status=Status.SCHEDULED).update(
            status=Status.FAILED, error=error.message, finished_at=now, updated_at=now
        )
