"""Facts about real contacts for the engine and the rule language (the ORM side of
engine.Subject): a contact as plain data, and its event history."""

from datetime import timedelta

from .engine import Subject, rules

# A "performed" condition looks at no more than this many matching events (newest first).
HISTORY_SCAN_LIMIT = 5000


def contact_data(contact) -> dict:
    """A contact as the plain dict rules, Liquid and the engine see."""

    def iso(value):
        return value.isoformat() if value else None

    return {
        "id": contact.pk,
        "user_id": contact.user_id,
        "email": contact.email,
        "traits": dict(contact.traits or {}),
        "timezone": contact.timezone,
        "locale": contact.locale,
        "country": contact.country,
        "city": contact.city,
        "consent": dict(contact.consent or {}),
        "cart": dict(contact.cart or {}),
        "recently_viewed": list(contact.recently_viewed or []),
        "lifetime_value": str(contact.lifetime_value) if contact.lifetime_value is not None else "0",
        "orders_count": contact.orders_count,
        "last_activity_at": iso(contact.last_activity_at),
        "created_at": iso(contact.created_at),
    }


def history_of(contact, now):
    """count_events(name, within, where) over the contact's stored events."""
    from .models import Event

    def count(name, within: timedelta | None, where):
        events = Event.objects.filter(workspace_id=contact.workspace_id, contact_id=contact.pk, name=name)
        if within is not None:
            events = events.filter(timestamp__gte=now - within, timestamp__lte=now)
        if not where:
            return events.count()
        matching = 0
        for properties in events.order_by("-timestamp").values_list("properties", flat=True)[:HISTORY_SCAN_LIMIT]:
            if rules.evaluate(where, rules.EventFacts(properties or {}, now=now)):
                matching += 1
        return matching

    return count


def recent_events_of(contact):
    """(name, since, until) -> the contact's events of that name processed in the window."""
    from .engine import event_data
    from .models import Event

    def recent(name, since, until):
        rows = (
            Event.objects.filter(
                workspace_id=contact.workspace_id,
                contact_id=contact.pk,
                name=name,
                processed_at__gte=since,
                processed_at__lte=until,
            )
            .order_by("processed_at", "id")
            .values_list("name", "properties", "timestamp", "message_id", "processed_at")[:50]
        )
        return [
            event_data(n, p, t, message_id=m, received_at=at.isoformat() if at else None) for n, p, t, m, at in rows
        ]

    return recent


def subject_for(contact, *, context=None, journey=None, version=None, now=None, assignments=None) -> Subject:
    return Subject(
        contact=contact_data(contact),
        context=context if context is not None else {},
        journey={
            "id": journey.pk if journey else None,
            "name": journey.name if journey else "",
            "version": version.number if version else None,
        },
        now=now,
        history=history_of(contact, now),
        assignments=dict(assignments or {}),
        recent_events=recent_events_of(contact),
    )
