"""What starts, wakes and ends enrollments from outside the graph.

- `on_event(event)`: the "event.processed" hook. Ingestion calls it inside its transaction after
  applying the event to the contact: goals (exit_on) first, then waits that the event ends, then
  the journeys it starts. Every decision that is not obvious is recorded in the step log (an
  event for a paused journey, trigger conditions not met, a wait that ignored the event and why).
- `on_segment_changed(contact, changes)`: the "segment.changed" hook, in the transaction that
  changed the memberships: journeys triggered by entering or leaving a segment start, and a
  contact that leaves the segment of an "entered" journey with `exit_when_left` leaves it.
- `on_catalog_changed(workspace_id, changes)`: the "catalog.changed" hook; queues
  `catalog_changed`, which starts price_drop and back_in_stock journeys for the contacts who showed
  interest in the product (viewed, carted, wishlisted) within the trigger's window, once per
  contact and product per window.
- `sweep_triggers(now)`: inactivity and date_attribute journeys, run periodically by the engine
  loop (journeys/loop.py). Candidates are read a page at a time (keyset on the id) and never
  through an open cursor: every entry commits, and its kick (django-q2's ORM broker) may close
  the connection such a cursor would be reading from.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce

from . import clock, conf, engine, kicks, report
from .customers import context as contact_context
from .engine import rules
from .engine.nodes import DEFAULT_INTEREST_WINDOW, INTEREST_EVENTS
from .lifecycle import (
    OPEN,
    enroll_contact,
    finish_open,
    flow_for,
    is_stale,
    reach_goal,
    record_skip,
    step_row,
    write_steps,
)
from .models import Contact, Conversion, Enrollment, Event, Journey

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
        trigger_type="event",
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


# -- segment triggers --------------------------------------------------------------------------


def on_segment_changed(contact, changes):
    """A contact entered or left saved segments ([(segment, "entered" | "left")]): start the
    journeys triggered by that change; end, in "entered" journeys that say so, the trip of a
    contact that left."""
    now = clock.now()
    by_key = {f"segment:{segment.pk}": (segment, change) for segment, change in changes}
    journeys = Journey.objects.filter(
        workspace_id=contact.workspace_id,
        status__in=[Journey.Status.LIVE, Journey.Status.PAUSED],
        trigger_type="segment",
        trigger_event__in=list(by_key),
        live_version__isnull=False,
    ).select_related("live_version")
    for journey in journeys:
        segment, change = by_key[journey.trigger_event]
        trigger = flow_for(journey.live_version).trigger
        wanted = trigger.get("on", "entered")
        if change == wanted:
            if journey.status == Journey.Status.PAUSED:
                record_skip(journey, contact, "journey_paused", now, segment=segment.pk)
                continue
            data = engine.event_data(
                f"Segment {change.capitalize()}", {"segment": segment.pk, "name": segment.name}, now
            )
            # One entry per stay in (or out of) the segment: the key holds the time of the change.
            key = f"segment:{segment.pk}:{change}:{now.isoformat()}"
            enroll_contact(journey, contact, trigger=data, trigger_key=key, now=now)
        elif wanted == "entered" and trigger.get("exit_when_left"):
            staying = Enrollment.objects.filter(journey=journey, contact_id=contact.pk, status__in=OPEN)
            ids = list(staying.values_list("pk", flat=True))
            if ids:
                finish_open(ids, Enrollment.Status.EXITED, "left_segment", now, detail={"segment": segment.pk})


# -- catalog triggers --------------------------------------------------------------------------

CATALOG_TRIGGERS = ("price_drop", "back_in_stock")


def on_catalog_changed(workspace_id, changes):
    """Products changed price or stock ([{product, sku, old_price, new_price, old_stock,
    new_stock}], inside the catalog's transaction): if a live journey may start from it, queue
    `catalog_changed` for after the commit (finding the interested contacts reads the events)."""
    live = Journey.objects.filter(
        workspace_id=workspace_id, status=Journey.Status.LIVE, trigger_type__in=CATALOG_TRIGGERS
    )
    if changes and live.exists():
        transaction.on_commit(
            lambda: kicks.enqueue("journeys.tasks.catalog_changed", workspace_id, changes, clock.now().isoformat())
        )


def catalog_changed(workspace_id, changes, now=None):
    """Start the workspace's live price_drop and back_in_stock journeys that these changes meet,
    for every contact interested in the product. Returns how many entered."""
    now = now or clock.now()
    journeys = Journey.objects.filter(
        workspace_id=workspace_id,
        status=Journey.Status.LIVE,
        trigger_type__in=CATALOG_TRIGGERS,
        live_version__isnull=False,
    ).select_related("live_version")
    entered = 0
    for journey in journeys:
        trigger = flow_for(journey.live_version).trigger
        for change in changes:
            happening = catalog_event(trigger, change, now)
            if happening is not None:
                try:
                    entered += _enter_interested(journey, trigger, change, happening, now)
                except Exception:
                    log.exception("catalog trigger of journey %s failed", journey.pk)
    return entered


def _decimal(value):
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def catalog_event(trigger, change, now):
    """The trigger event this product change makes for this trigger ("Price Dropped" or "Back In
    Stock", with the product, the old and the new price), or None when it does not meet it."""
    old, new = _decimal(change.get("old_price")), _decimal(change.get("new_price"))
    if trigger.get("type") == "price_drop":
        if old is None or new is None or old <= 0 or new >= old:
            return None
        percent = (old - new) * 100 / old
        if trigger.get("min_percent") not in (None, "") and percent < Decimal(str(trigger["min_percent"])):
            return None
        if trigger.get("below") not in (None, "") and new >= Decimal(str(trigger["below"])):
            return None
        name = "Price Dropped"
    elif trigger.get("type") == "back_in_stock":
        before, after = change.get("old_stock"), change.get("new_stock")
        if before is None or after is None or before > 0 or after <= 0:
            return None
        percent, name = None, "Back In Stock"
    else:
        return None
    price = new if new is not None else old
    properties = {
        "product_id": change["sku"],
        "sku": change["sku"],
        "name": change.get("name", ""),
        "url": change.get("url", ""),
        "image_url": change.get("image_url", ""),
        "category": change.get("category", ""),
        "currency": change.get("currency", ""),
        "price": float(price) if price is not None else None,
        "old_price": float(old) if old is not None else None,
        "new_price": float(new) if new is not None else None,
        "stock": change.get("new_stock"),
    }
    if percent is not None:
        properties["percent_off"] = float(round(percent, 1))
    return engine.event_data(name, properties, now)


def interested_contacts(workspace_id, sku, interest, since):
    """Ids of contacts who viewed, carted or wishlisted (`interest`) the product since `since`."""
    names = [INTEREST_EVENTS[item] for item in interest if item in INTEREST_EVENTS]
    return (
        Event.objects.filter(
            workspace_id=workspace_id, type="track", name__in=names, timestamp__gte=since, contact__isnull=False
        )
        .filter(Q(properties__sku=sku) | Q(properties__product_id=sku))
        .order_by("contact_id")
        .values_list("contact_id", flat=True)
        .distinct()
    )


def _enter_interested(journey, trigger, change, happening, now):
    window = rules.parse_duration(trigger.get("window") or DEFAULT_INTEREST_WINDOW)
    interest = trigger.get("interest") or list(INTEREST_EVENTS)
    ids = list(interested_contacts(journey.workspace_id, change["sku"], interest, now - window))
    # Once per contact and product per window: the key names the product and the window's slot
    # (two workers on the same change enter once), and an entry for this product within the last
    # window (a slot earlier) is looked up.
    prefix = f"{trigger['type']}:{change['product']}:"
    key = f"{prefix}{int(now.timestamp() // max(window.total_seconds(), 1))}"
    entered = 0
    for start in range(0, len(ids), 500):
        page = ids[start : start + 500]
        recent = set(
            Enrollment.objects.filter(
                journey=journey, contact_id__in=page, trigger_key__startswith=prefix, entered_at__gt=now - window
            ).values_list("contact_id", flat=True)
        )
        for contact in Contact.objects.filter(pk__in=[pk for pk in page if pk not in recent]).order_by("pk"):
            with transaction.atomic():
                _, reason = enroll_contact(journey, contact, trigger=happening, trigger_key=key, now=now)
            entered += reason == "entered"
    return entered


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


__all__ = [
    "on_event",
    "on_segment_changed",
    "on_catalog_changed",
    "catalog_changed",
    "sweep_triggers",
    "date_occurrence",
]
