"""The engine's Subject for a real contact in an enrollment: the one contact context
(customers/context.py) plus what the engine asks the database (event history, events that
arrived while a worker caught up)."""

from .customers import context as contact_context
from .engine import Subject, event_data
from .models import Event


def recent_events_of(contact):
    """(name, since, until) -> the contact's events of that name processed in the window."""

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


def subject_for(contact, *, context=None, journey=None, version=None, now=None, assignments=None, workspace=None):
    """The Subject of `contact` in a journey: `context` is the enrollment's (trigger, events,
    webhook results)."""
    context = context if context is not None else {}
    return Subject(
        contact_context.build(contact, workspace=workspace, event=context.get("trigger"), now=now),
        context=context,
        journey={
            "id": journey.pk if journey else None,
            "name": journey.name if journey else "",
            "version": version.number if version else None,
        },
        now=now,
        history=contact_context.history_of(contact, now),
        assignments=dict(assignments or {}),
        recent_events=recent_events_of(contact),
        key=str(contact.pk or contact.user_id or contact.email or ""),
    )
