"""django-q2 entry points for customer data. Thin: each is a kick that says "look now"."""

from . import events, imports, segments


def process_events(workspace_id):
    return events.drain_events(workspace_id)


def run_import(job_id):
    imports.run_import(job_id)


def rebuild_segment(segment_id, version):
    segments.rebuild_task(segment_id, version)


def sweep():
    """Scheduled every minute: re-drive events left unprocessed by a worker that died."""
    return events.sweep_stalled()


def ensure_schedule(**kwargs):
    """post_migrate: the one-minute sweep of events a dead worker left unprocessed."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="journeys: unprocessed events sweep",
        defaults={
            "func": "journeys.customers.tasks.sweep",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
