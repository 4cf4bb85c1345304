"""Thin django-q2 entry points, found by their dotted paths (enqueued through journeys/kicks.py).
Tasks are only kicks: the outbox rows are the queue. Only app wiring imports this."""

from . import actions


def send(message_id):
    return actions.send_message(message_id)


def send_due():
    """A batch kick: send what is due, a batch at a time, for at most about half the queue's
    timeout (then the next kick or the sweep goes on)."""
    import time

    deadline = time.monotonic() + 25
    total = 0
    while time.monotonic() < deadline:
        claimed = actions.deliver_due()
        total += claimed
        if claimed < actions.BATCH:
            break
    return total


def sweep():
    """Every minute (see apps.py): leases of dead workers, retries and deferred messages now due."""
    return len(actions.sweep())


def ensure_schedule(**kwargs):
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="delivery.sweep",
        defaults={"func": "delivery.tasks.sweep", "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )
