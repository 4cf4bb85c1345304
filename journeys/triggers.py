"""What starts, wakes and ends enrollments from outside the graph.

- `on_event(event)`: the "event.processed" hook. Ingestion calls it inside its transaction after
  applying the event to the contact: goals (exit_on) first, then waits that the event ends, then
  the journeys it starts. Every decision that is not obvious is recorded in the step log (an
  event for a paused journey, trigger conditions not met, a wait that ignored the event and why).
- `sweep_triggers(now)`: inactivity and date_attribute journeys, run periodically by the engine
  loop (journeys/loop.py). Candidates are read a page at a time (keyset on the id) and never
  through an open cursor: every entry commits, and its kick (django-q2's ORM broker) may close
  the connection such a cursor would be reading from.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce

from . import clock, conf, engine, kicks, report
from .customers import context as contact_context
from .engine import rules
from .lifecycle import OPEN, enroll_contact, flow_for, is_stale, reach_goal, record_skip, step_row, write_steps
from .models import Contact, Conversion, Enrollment, Journey

log = logging.getLogger(__name__)


def on_event(event):
    """Engine reaction to one stored, applied event."""
    if event.type != "track" or not event.name or event.contact_id is None:
        return
    now = clock.now()
    with transaction.atomic():
        contact = event.contact
        data = engine.event_data(
            event.name,
            event.properties,
            event.timestamp,
            message_id=event.message_id,
            id=event.pk,
            received_at=now.isoformat(),
        )
        # The contact's enrollments that the event can touch, in one query: the open ones (goals,
        # waits) and those finished within the attribution window (conversions).
        enrollments = list(
            Enrollment.objects.filter(contact_id=contact.pk)
            .filter(Q(status__in=OPEN) | Q(finished_at__gte=now - report.MAX_WINDOW))
            .annotate(converted=Exists(Conversion.objects.filter(enrollment=OuterRef("pk"))))
            .select_related("version", "journey")
        )
        open_enrollments = [e for e in enrollments if e.status in OPEN]
        finished = _apply_goals(open_enrollments, event, data, now)
        report.convert_event([e for e in enrollments if not e.converted], data, event, now)
        _resume_waits([e for e in open_enrollments if e.pk not in finished], contact, data, event, now)
        _start_journeys(event, contact, data, now)


def _apply_goals(enrollments, event, data, now):
    finished = set()
    for enrollment in enrollments:
        goal = engine.goal_reached(flow_for(enrollment.version), data, now)
        if goal is None:
            continue
        if is_stale(event, enrollment):
            _log_ignored(enrollment, event, "the goal event is older than the enrollment", now)
            continue
        reach_goal(enrollment, goal, event, now)
        finished.add(enrollment.pk)
    return finished


def _resume_waits(enrollments, contact, data, event, now):
    facts = None
    for enrollment in enrollments:
        if enrollment.status != Enrollment.Status.WAITING or enrollment.awaited_event != event.name:
            continue
        node = flow_for(enrollment.version).nodes.get(enrollment.current_node)
        if node is None or node.get("type") != "wait_for_event":
            continue
        if is_stale(event, enrollment):
            _log_ignored(enrollment, event, "the event is older than the enrollment", now)
            continue
        facts = facts or contact_context.build(contact, now=now)
        subject = engine.Subject(facts, context=dict(enrollment.context or {}), now=now)
        matches, reason = engine.event_ends_wait(node.get("config") or {}, data, subject)
        if not matches:
            _log_ignored(enrollment, event, reason, now)
            continue
        visit = int((enrollment.visits or {}).get(enrollment.current_node, 1) or 1)
        context = dict(enrollment.context or {})
        context["events"] = {**(context.get("events") or {}), enrollment.current_node: {**data, "visit": visit}}
        paused = enrollment.journey.status == Journey.Status.PAUSED
        wake = {"paused_wake_at": now, "wake_at": None} if paused else {"wake_at": now}
        # Conditional on the enrollment still waiting at that node: of an event processed twice,
        # or an event racing the timeout, one wins.
        woken = Enrollment.objects.filter(
            pk=enrollment.pk,
            status=Enrollment.Status.WAITING,
            current_node=enrollment.current_node,
            awaited_event=event.name,
        ).update(context=context, status=Enrollment.Status.ACTIVE, claim="", awaited_event="", **wake)
        if woken and not paused:
            transaction.on_commit(kicks.advance)


def _log_ignored(enrollment, event, reason, now):
    detail = {"event": event.name, "message_id": event.message_id, "reason": reason}
    write_steps([step_row(enrollment, enrollment.current_node, "event_ignored", now, detail=detail)])


def _start_journeys(event, contact, data, now):
    journeys = Journey.objects.filter(
        workspace_id=event.workspace_id,
        status__in=[Journey.Status.LIVE, Journey.Status.PAUSED],
        trigger_event=event.name,
        live_version__isnull=False,
    ).select_related("live_version")
    for journey in journeys:
        accepted, reason = engine.trigger_accepts(flow_for(journey.live_version), data, now)
        if not accepted:
            record_skip(journey, contact, "trigger_conditions_not_met", now, message_id=event.message_id)
            continue
        if journey.status == Journey.Status.PAUSED:
            record_skip(journey, contact, "journey_paused", now, message_id=event.message_id)
            continue
        if event.timestamp < now - conf.max_trigger_age():
            # A replayed or imported old event: starting a journey for it now would be wrong.
            record_skip(journey, contact, "event_too_old", now, message_id=event.message_id)
            continue
        enroll_contact(journey, contact, trigger=data, trigger_key=f"event:{event.pk}", now=now)


# -- periodic triggers -------------------------------------------------------------------------


def sweep_triggers(now=None, limit=50_000):
    """Enter contacts into live inactivity and date_attribute journeys. Returns how many entered."""
    now = now or clock.now()
    entered = 0
    journeys = Journey.objects.filter(
        status=Journey.Status.LIVE, trigger_type__in=["inactivity", "date_attribute"], live_version__isnull=False
    ).select_related("live_version")
    for journey in journeys:
        trigger = flow_for(journey.live_version).trigger
        try:
            if journey.trigger_type == "inactivity":
                entered += _sweep_inactivity(journey, trigger, now, limit - entered)
            else:
                entered += _sweep_dates(journey, trigger, now, limit - entered)
        except Exception:
            log.exception("trigger sweep of journey %s failed", journey.pk)
        if entered >= limit:
            break
    return entered


def _pages(queryset, limit):
    """The queryset's rows a page at a time, by id (no cursor stays open between pages)."""
    chunk, last, seen = conf.sweep_chunk(), 0, 0
    while seen < limit:
        page = list(queryset.filter(pk__gt=last).order_by("pk")[: min(chunk, limit - seen)])
        if not page:
            return
        yield from page
        seen += len(page)
        last = page[-1].pk


def _sweep_inactivity(journey, trigger, now, limit):
    cutoff = now - rules.parse_duration(trigger["duration"])
    activity = Coalesce("last_activity_at", "created_at")
    # Entered already in this inactivity period (since the last activity): not again.
    entered_since = Enrollment.objects.filter(journey=journey, contact=OuterRef("pk"), entered_at__gte=OuterRef("seen"))
    candidates = (
        Contact.objects.filter(workspace_id=journey.workspace_id, merged_into__isnull=True)
        .annotate(seen=activity)
        .filter(seen__lte=cutoff)
        .exclude(Exists(entered_since))
    )
    entered = 0
    for contact in _pages(candidates, max(limit, 0)):
        trig = {"name": "inactivity", "properties": {"last_activity_at": _iso(contact.seen)}, "timestamp": None}
        with transaction.atomic():
            enrollment, reason = enroll_contact(
                journey, contact, trigger=trig, trigger_key=f"inactive:{_iso(contact.seen)}", now=now, record=False
            )
        entered += reason == "entered"
    return entered


def date_occurrence(trigger, contact, now):
    """When the date trigger is due for this contact (the latest occurrence not after now), or None."""
    facts = contact_context.build(contact, now=now)
    raw = engine.Subject(facts, now=now).value(trigger["attribute"])
    when = engine.step._as_date_or_datetime(raw)
    if when is None:
        return None
    config = {
        "mode": "date_attribute",
        "attribute": trigger["attribute"],
        "offset": trigger.get("offset"),
        "time": trigger.get("time"),
    }
    subject = engine.Subject(facts, now=now)
    if trigger.get("yearly"):
        # This year's occurrence if it is due, else last year's (the window decides).
        candidates = []
        for years_back in (0, 1):
            start = now.replace(year=now.year - years_back, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
            target, _ = engine.delay_until({**config, "yearly": True}, start, subject)
            if target is not None and target <= now:
                candidates.append(target)
        return max(candidates) if candidates else None
    target, _ = engine.delay_until(config, now, subject)
    return target if target is not None and target <= now else None


def _sweep_dates(journey, trigger, now, limit):
    window = rules.parse_duration(trigger.get("window") or "P1D")
    entered = 0
    contacts = Contact.objects.filter(workspace_id=journey.workspace_id, merged_into__isnull=True)
    for contact in _pages(contacts, 10**9):
        if entered >= limit:
            break
        due = date_occurrence(trigger, contact, now)
        if due is None or due < now - window:
            continue
        if Enrollment.objects.filter(journey=journey, contact=contact, entered_at__gte=due).exists():
            continue
        trig = {"name": "date", "properties": {"date": due.isoformat()}, "timestamp": None}
        with transaction.atomic():
            enrollment, reason = enroll_contact(
                journey, contact, trigger=trig, trigger_key=f"date:{due.date()}", now=now, record=False
            )
        entered += reason == "entered"
    return entered


def _iso(value):
    return value.isoformat() if value else None


__all__ = ["on_event", "sweep_triggers", "date_occurrence"]
