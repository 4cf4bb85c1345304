"""What may be sent, and when: suppression, consent per topic, the frequency cap, quiet hours.

`decide` is pure: facts in, a Decision out. `check` gathers the facts of one outbox message from
the database (its caller holds the contact's row lock, so two workers cannot both count the same
two emails and both send a third).

- Suppression (hard bounces, complaints, erased contacts; journeys.customers) stops every email.
- Consent, the cap and quiet hours concern marketing email only; transactional email is exempt.
- Consent per topic: a contact receives a topic unless they unsubscribed from it or from all.
- The cap: at most N marketing emails per contact within the window (handed to the transport in
  the last `frequency_window_hours`). One over it is deferred until the cap allows it (when the
  oldest email that fills the window leaves it), then checked again, quiet hours included. A
  journey may choose to skip it instead (its definition's `"sending": {"over_cap": "skip"}`); an
  email the cap would hold past the journey's `max_deferral` (default P3D) after it was created is
  skipped then, with the reason. Messages not from a journey defer.
- Quiet hours, in the contact's own timezone: the email is deferred to their end, never dropped.
- Test sends skip all of it (they go to a member's own address).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from journeys import customers
from journeys.engine import nodes, rules

SEND, SUPPRESS, DEFER = "send", "suppress", "defer"
ALL_TOPICS = "all"
OVER_CAP_DEFER, OVER_CAP_SKIP = nodes.OVER_CAP_CHOICES
DEFAULT_MAX_DEFERRAL = rules.parse_duration(nodes.DEFAULT_MAX_DEFERRAL)


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str = ""
    until: datetime | None = None


def consent_allows(consent, topic):
    consent = consent or {}
    if consent.get(ALL_TOPICS) is False:
        return False
    return consent.get(topic or "marketing") is not False


def zone(name):
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_hours_end(now, timezone_name, start, end):
    """When the quiet hours that `now` falls in end (an aware datetime), or None outside them.
    Hours may wrap midnight (21:00-08:00)."""
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(zone(timezone_name))
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    # A wall-clock time in the contact's zone (DST-aware through zoneinfo).
    resume = datetime.combine(day, end, tzinfo=local.tzinfo)
    return resume.astimezone(now.tzinfo)


def journey_sending(definition) -> tuple[str, timedelta]:
    """A journey definition's choice for an email over the cap: (over_cap, max_deferral), with the
    defaults for what it leaves out (versions published before the choice existed)."""
    sending = definition.get("sending") if isinstance(definition, Mapping) else None
    sending = sending if isinstance(sending, Mapping) else {}
    over_cap = sending.get("over_cap") if sending.get("over_cap") in nodes.OVER_CAP_CHOICES else OVER_CAP_DEFER
    try:
        max_deferral = rules.parse_duration(sending.get("max_deferral") or nodes.DEFAULT_MAX_DEFERRAL)
    except ValueError:
        max_deferral = DEFAULT_MAX_DEFERRAL
    return over_cap, max_deferral if max_deferral > timedelta(0) else DEFAULT_MAX_DEFERRAL


def describe(delta: timedelta) -> str:
    """A duration as a marketer says it: "3 days", "12 hours", "90 minutes"."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("s" if count != 1 else "")
    return f"{seconds} second" + ("s" if seconds != 1 else "")


def cap_frees_at(window_sends: Sequence[datetime], cap, window: timedelta) -> datetime | None:
    """When the cap allows one more email: the moment enough of the emails in the window (hand-off
    times, oldest first) have left it; None when it allows one now."""
    over = len(window_sends) - cap
    if not cap or over < 0:
        return None
    return window_sends[over] + window


def decide(
    *,
    category,
    is_test=False,
    suppressed=False,
    consent=None,
    topic="marketing",
    window_sends: Sequence[datetime] = (),
    cap=0,
    window=timedelta(hours=24),
    over_cap=OVER_CAP_DEFER,
    max_deferral=DEFAULT_MAX_DEFERRAL,
    waiting_since: datetime | None = None,
    quiet_start: time | None = None,
    quiet_end: time | None = None,
    timezone_name="",
    now,
):
    if is_test:
        return Decision(SEND)
    if suppressed:
        return Decision(SUPPRESS, "The address is suppressed (bounced, complained or erased).")
    if category == "transactional":
        return Decision(SEND)
    if not consent_allows(consent, topic):
        return Decision(SUPPRESS, f"The contact unsubscribed from “{topic}”.")
    frees_at = cap_frees_at(window_sends, cap, window)
    if frees_at is not None:
        sent, hours = len(window_sends), round(window.total_seconds() / 3600)  # the setting is in hours
        full = (
            f"frequency_cap: {sent} marketing email{'s' if sent != 1 else ''} already sent "
            f"in the last {hours} hour{'s' if hours != 1 else ''}"
        )
        if over_cap == OVER_CAP_SKIP:
            return Decision(SUPPRESS, f"{full}; this journey skips emails over the cap.")
        if frees_at - (waiting_since or now) > max_deferral:
            return Decision(SUPPRESS, f"frequency_cap: deferred longer than {describe(max_deferral)}")
        return Decision(DEFER, f"{full}; it goes when the cap allows it.", frees_at)
    resume = quiet_hours_end(now, timezone_name, quiet_start, quiet_end)
    if resume is not None:
        return Decision(DEFER, "Quiet hours in the contact's timezone.", resume)
    return Decision(SEND)


def check(message, contact, sending, now):
    """The Decision for one outbox message now (a batch of one)."""
    return check_batch([message], {message.contact_id: contact}, sending, now)[message.pk]


def check_batch(messages, contacts, sending, now) -> dict:
    """The Decision for each of a batch of one workspace's outbox messages now, with a few queries
    for all of them: the suppressed addresses, and each contact's marketing emails in the cap's
    window. Messages of one contact in the same batch count against the cap in turn, as if sent one
    after the other. `contacts`: id -> Contact (locked by the caller). Returns {message id: Decision}."""
    from .models import Category, Message

    messages = list(messages)
    if not messages:
        return {}
    workspace_id = messages[0].workspace_id
    window = timedelta(hours=sending.frequency_window_hours)
    suppressed = customers.suppressed_among(workspace_id, [m.to_email for m in messages if not m.is_test])
    capped = {m.contact_id for m in messages if m.contact_id and m.category == "marketing" and not m.is_test}
    sends: dict = {contact_id: [] for contact_id in capped}
    if capped and sending.frequency_cap:
        rows = (
            Message.objects.filter(
                workspace_id=workspace_id,
                contact_id__in=capped,
                category=Category.MARKETING,
                is_test=False,
                handed_off_at__gt=now - window,
                status__in=[Message.Status.SENDING, Message.Status.SENT, Message.Status.IN_DOUBT],
            )
            .exclude(pk__in=[m.pk for m in messages])
            .order_by("handed_off_at")
            .values_list("contact_id", "handed_off_at")
        )
        for contact_id, at in rows:
            sends[contact_id].append(at)
    decisions = {}
    for message in messages:
        contact = contacts.get(message.contact_id)
        cap = sending.frequency_cap if message.category == "marketing" and not message.is_test else 0
        decision = decide(
            category=message.category,
            is_test=message.is_test,
            suppressed=customers.normalize_email(message.to_email) in suppressed,
            consent=contact.consent if contact is not None else {},
            topic=message.topic,
            window_sends=sends.get(message.contact_id, ()) if cap else (),
            cap=cap,
            window=window,
            over_cap=message.over_cap,
            max_deferral=message.max_deferral,
            waiting_since=message.created_at,
            quiet_start=sending.quiet_hours_start,
            quiet_end=sending.quiet_hours_end,
            timezone_name=contact.timezone if contact is not None else "",
            now=now,
        )
        if decision.action == SEND and message.contact_id in sends:
            sends[message.contact_id].append(now)
        decisions[message.pk] = decision
    return decisions
