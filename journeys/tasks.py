"""django-q2 entry points of the engine, found by their dotted paths (journeys/kicks.py enqueues
them); thin: each hands over to the module that does the work. Only app wiring imports this."""

import logging
from datetime import datetime

from django.db import close_old_connections

from . import loop

log = logging.getLogger(__name__)


def advance(budget=None):
    """A kick: advance what is due (journeys/loop.py, `drain`)."""
    return loop.drain(budget)


def engine_loop():
    """The timer loop (journeys/loop.py, `run`)."""
    return loop.run()


def broadcast_page(broadcast_id):
    """A broadcast's next page of members (journeys/broadcasts.py, `enter_page`)."""
    from . import broadcasts

    return broadcasts.enter_page(broadcast_id)


def catalog_changed(workspace_id, changes, at=None):
    """Price-drop and back-in-stock journeys for a batch of product changes (journeys/triggers.py)."""
    from . import triggers

    return triggers.catalog_changed(workspace_id, changes, datetime.fromisoformat(at) if at else None)


def ensure_loop(**kwargs):
    """Scheduled every minute: start the timer loop if it died."""
    return loop.ensure_running()


def on_worker_spawn(**kwargs):
    """django-q2's post_spawn: a (re)started worker process makes sure the timer loop runs."""
    try:
        close_old_connections()
        # A restarted worker may be replacing the loop's own process: check the lease's holder.
        loop.ensure_running(force=True)
    except Exception:
        log.exception("could not check the engine loop")


def ensure_schedule(**kwargs):
    """post_migrate: a one-minute schedule that restarts the timer loop if it died."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="journeys: engine loop watchdog",
        defaults={
            "func": "journeys.tasks.ensure_loop",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
