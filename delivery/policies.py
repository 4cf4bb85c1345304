"""What may be sent, and when: suppression, consent per topic, the frequency cap, quiet hours.

`decide` is pure: facts in, a Decision out. `check` gathers the facts of one outbox message from
the database (its caller holds the contact's row lock, so two workers cannot both count the same
two emails and both send a third).

- Suppression (hard bounces, complaints, erased contacts; journeys.customers) stops every email.
- Consent, the cap and quiet hours concern marketing email only; transactional email is exempt.
- Consent per topic: a contact receives a topic unless they unsubscribed from it or from all.
- The cap: at most N marketing emails per contact within the window; one over it is suppressed.
- Quiet hours, in the contact's own timezone: the email is deferred to their end, never dropped.
- Test sends skip all of it (they go to a member's own address).
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from journeys import customers

SEND, SUPPRESS, DEFER = "send", "suppress", "defer"
ALL_TOPICS = "all"


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


def decide(
    *,
    category,
    is_test=False,
    suppressed=False,
    consent=None,
    topic="marketing",
    sent_in_window=0,
    cap=0,
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
    if cap and sent_in_window >= cap:
        return Decision(SUPPRESS, f"Frequency cap: {sent_in_window} marketing emails already sent in the window.")
    resume = quiet_hours_end(now, timezone_name, quiet_start, quiet_end)
    if resume is not None:
        return Decision(DEFER, "Quiet hours in the contact's timezone.", resume)
    return Decision(SEND)


def sent_in_window(message, window_hours, now):
    from .models import Category, Message

    if message.contact_id is None:
        return 0
    return (
        Message.objects.filter(
            workspace_id=message.workspace_id,
            contact_id=message.contact_id,
            category=Category.MARKETING,
            is_test=False,
            handed_off_at__gte=now - timedelta(hours=window_hours),
            status__in=[Message.Status.SENDING, Message.Status.SENT, Message.Status.IN_DOUBT],
        )
        .exclude(pk=message.pk)
        .count()
    )


def check(message, contact, sending, now):
    """The Decision for one outbox message now."""
    if message.is_test:
        return Decision(SEND)
    cap = sending.frequency_cap if message.category == "marketing" else 0
    return decide(
        category=message.category,
        suppressed=customers.is_suppressed(message.workspace_id, message.to_email),
        consent=contact.consent if contact is not None else {},
        topic=message.topic,
        sent_in_window=sent_in_window(message, sending.frequency_window_hours, now) if cap else 0,
        cap=cap,
        quiet_start=sending.quiet_hours_start,
        quiet_end=sending.quiet_hours_end,
        timezone_name=contact.timezone if contact is not None else "",
        now=now,
    )
