"""Thin django-q2 entry points. Tasks are only kicks: the outbox rows are the queue."""

from django_q.tasks import async_task

from . import actions


def kick_send(message_id):
    async_task("delivery.tasks.send", message_id, task_name=f"send-{message_id}", group="delivery")


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
