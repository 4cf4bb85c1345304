"""django-q2 entry points for customer data. Thin: each is a kick that says "look now"."""

from . import customer_actions


def process_events(workspace_id):
    return customer_actions.drain_events(workspace_id)


def run_import(job_id):
    customer_actions.run_import(job_id)


def sweep():
    """Scheduled every minute: re-drive events left unprocessed by a worker that died."""
    return customer_actions.sweep_stalled()


def ensure_schedule(**kwargs):
    """post_migrate: the one-minute sweep of events a dead worker left unprocessed."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="journeys: unprocessed events sweep",
        defaults={
            "func": "journeys.customer_tasks.sweep",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
