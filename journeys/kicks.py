"""Every django-q2 enqueue, by dotted path. The domain never imports its queue's entry points (the
`tasks` modules, which only app wiring imports): it says here what should run, and the queue
finds the function by name. Tasks are only kicks ("look now"): the domain tables are the queue.

- `advance()`: the engine's kick, coalesced: at most one waits in the queue at a time (an
  EngineLease row flags it; the task clears the flag before it looks, so later commits kick
  again). Called in `transaction.on_commit`, after the rows it points at exist.
- `engine_loop()`: a timer loop task (journeys/loop.py).
- `enqueue(func, *args, **options)`: any other task (customer data, delivery's sends).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from . import clock, conf
from .models import EngineLease

KICK = "engine-kick"
KICK_STALE = timedelta(seconds=5)  # a kick flag older than this is presumed lost


def sync_queue():
    """django-q2 runs tasks inline (Q_SYNC): no cluster, no loop; kicks run at once."""
    return bool(settings.Q_CLUSTER.get("sync"))


def enqueue(func, *args, **options):
    """Enqueue `func` (a dotted path) with django-q2. Results are not kept."""
    from django_q.tasks import async_task

    return async_task(func, *args, save=False, **options)


def advance():
    """A coalesced kick: enqueue the engine's `advance` task unless one already waits."""
    if not conf.kicks_enabled():
        return
    if sync_queue():
        from . import loop

        loop.drain(budget=5)
        return
    now = clock.now()
    took = EngineLease.objects.filter(Q(until__isnull=True) | Q(until__lt=now - KICK_STALE), name=KICK).update(
        until=now
    )
    if not took:
        if EngineLease.objects.filter(name=KICK).exists():
            return  # a kick is already waiting
        EngineLease.objects.get_or_create(name=KICK)
        return advance()
    enqueue("journeys.tasks.advance")


def kick_taken():
    """The advance task started: commits from now on kick again."""
    EngineLease.objects.filter(name=KICK).update(until=None)


def engine_loop():
    enqueue("journeys.tasks.engine_loop")


def broadcast(broadcast_id):
    """A broadcast's next page of members (journeys/broadcasts.py, `enter_page`)."""
    enqueue("journeys.tasks.broadcast_page", broadcast_id, task_name=f"broadcast-{broadcast_id}")
