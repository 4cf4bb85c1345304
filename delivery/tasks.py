"""Thin django-q2 entry points, found by their dotted paths (enqueued through journeys/kicks.py).
Tasks are only kicks: the outbox rows are the queue. Only app wiring imports this."""

from . import actions


def send(message_id):
    return actions.send_message(message_id)


def sweep():
    """Every minute (see apps.py): leases of dead workers, retries and deferred messages now due."""
    return len(actions.sweep())


def ensure_schedule(**kwargs):
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="delivery.sweep",
        defaults={"func": "delivery.tasks.sweep", "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )
