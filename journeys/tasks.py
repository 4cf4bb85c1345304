"""django-q2 entry points of the engine. Tasks are only kicks: the enrollment rows are the queue.

- `advance`: a kick ("look now"), enqueued in on_commit when something became due (a contact
  entered, an event ended a wait, a journey resumed). Kicks are coalesced: at most one waits in
  the queue at a time. A kick drains due work in batches; when a batch comes back full it
  invites one more worker with another kick, so a backlog spreads over the cluster.
- `engine_loop`: the timer loop. One runs at a time (a lease with a heartbeat); it polls the due
  index every IDLE_POLL seconds, so a timer fires within about a second of its time, and runs the
  periodic trigger sweep. It hands over to a fresh task before django-q2's timeout. A dead
  loop's lease runs out after LOOP_LEASE seconds; `ensure_loop` (from every kick, from each newly
  spawned worker process and from a one-minute schedule) starts another.
- What a dead worker leaves needs no special task: its claimed enrollments' `wake_at` is the end
  of its lease, so the same due query picks them up again (the sweeper is the claim itself).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from . import actions
from .models import EngineLease

log = logging.getLogger(__name__)

IDLE_POLL = 0.2  # seconds between looks at the due index when there is nothing to do
LOOP_LEASE = timedelta(seconds=10)
KICK_STALE = timedelta(seconds=5)  # a kick flag older than this is presumed lost
LOOP = "engine-loop"
KICK = "engine-kick"
SWEEP = "trigger-sweep"


def _sync():
    return bool(settings.Q_CLUSTER.get("sync"))


def kicks_enabled():
    return actions.setting("JOURNEYS_KICKS", "on") != "off"


def _async(func, **kwargs):
    from django_q.tasks import async_task

    return async_task(func, save=False, **kwargs)


def _lease_row(name):
    EngineLease.objects.get_or_create(name=name)


def enqueue_advance():
    """A coalesced kick: enqueue `advance` unless one is already waiting in the queue."""
    if not kicks_enabled():
        return
    if _sync():
        advance(budget=5)
        return
    now = timezone.now()
    took = EngineLease.objects.filter(Q(until__isnull=True) | Q(until__lt=now - KICK_STALE), name=KICK).update(
        until=now
    )
    if not took:
        if EngineLease.objects.filter(name=KICK).exists():
            return
        _lease_row(KICK)
        return enqueue_advance()
    _async("journeys.tasks.advance")


def advance(budget=None):
    """The kick task: advance due enrollments until none are left or the budget is spent."""
    EngineLease.objects.filter(name=KICK).update(until=None)  # later commits kick again
    ensure_loop()
    deadline = time.monotonic() + (budget or loop_seconds())
    total = 0
    while True:
        claimed = actions.advance_due(deadline=deadline)
        total += claimed
        if claimed < actions.batch_size():
            return total
        enqueue_advance()  # a full batch: more is due, let another worker help
        if time.monotonic() > deadline:
            return total


def _take_lease(name, owner, duration, handover_ok=False):
    now = timezone.now()
    free = Q(until__isnull=True) | Q(until__lt=now) | Q(owner=owner)
    if handover_ok:
        free |= Q(owner="handover")
    taken = EngineLease.objects.filter(free, name=name).update(owner=owner, until=now + duration)
    if not taken and not EngineLease.objects.filter(name=name).exists():
        _lease_row(name)
        return _take_lease(name, owner, duration, handover_ok)
    return bool(taken)


def loop_seconds():
    """How long a loop or kick task works before handing over: half the queue's timeout, so that
    a last batch (its webhook calls take at most engine.WEBHOOK_MAX_TIMEOUT each) ends
    well before django-q2 would kill the worker."""
    timeout = settings.Q_CLUSTER.get("timeout") or 60
    return max(3.0, min(45.0, float(timeout) / 2))


def ensure_loop(force=False, **kwargs):
    """Start the timer loop if none is running (its lease is free). `force`: enqueue a loop task
    even if the lease looks held (it takes over if the holder turns out to be dead)."""
    if _sync() or not kicks_enabled():
        return False
    now = timezone.now()
    running = EngineLease.objects.filter(name=LOOP, until__gte=now).exclude(owner="").exists()
    if running and not force:
        return False
    _async("journeys.tasks.engine_loop")
    return True


def engine_loop():
    """The timer loop (see the module docstring). Returns the number of enrollments it claimed."""
    owner = uuid.uuid4().hex
    if not _take_lease(LOOP, owner, LOOP_LEASE, handover_ok=True) and not _take_over(owner):
        return 0  # another loop is alive
    started = time.monotonic()
    claimed_total = 0
    handed_over = False
    try:
        while time.monotonic() - started < loop_seconds():
            if not _take_lease(LOOP, owner, LOOP_LEASE):
                return claimed_total  # lost the lease (we were too slow): the other loop goes on
            claimed = actions.advance_due(deadline=started + loop_seconds())
            claimed_total += claimed
            if claimed >= actions.batch_size():
                enqueue_advance()
            if claimed == 0:
                _maybe_sweep_triggers(owner)
                if not connection.in_atomic_block:  # (a test's transaction)
                    close_old_connections()  # a dead PostgreSQL connection is replaced, not kept
                time.sleep(IDLE_POLL)
        # Hand over: keep the lease for the next loop task only.
        EngineLease.objects.filter(name=LOOP, owner=owner).update(owner="handover", until=timezone.now() + LOOP_LEASE)
        handed_over = True
        _async("journeys.tasks.engine_loop")
    finally:
        if not handed_over:
            EngineLease.objects.filter(name=LOOP, owner=owner).update(owner="", until=None)
    return claimed_total


def _take_over(owner):
    """The lease is held: wait until its holder either beats (alive: give up) or lets it run out
    (dead: take it). A worker killed with the loop is replaced within LOOP_LEASE."""
    seen = EngineLease.objects.filter(name=LOOP).values_list("until", flat=True).first()
    deadline = time.monotonic() + LOOP_LEASE.total_seconds() + 1
    while time.monotonic() < deadline:
        time.sleep(IDLE_POLL * 2)
        if _take_lease(LOOP, owner, LOOP_LEASE, handover_ok=True):
            return True
        until = EngineLease.objects.filter(name=LOOP).values_list("until", flat=True).first()
        if until != seen:
            return False
    return _take_lease(LOOP, owner, LOOP_LEASE, handover_ok=True)


def _maybe_sweep_triggers(owner):
    interval = timedelta(seconds=actions.setting("JOURNEYS_TRIGGER_SWEEP_SECONDS", 300.0))
    now = timezone.now()
    _lease_row(SWEEP)
    due = EngineLease.objects.filter(
        Q(last_run_at__isnull=True) | Q(last_run_at__lt=now - interval), name=SWEEP
    ).update(last_run_at=now, owner=owner)
    if due:
        from .triggers import sweep_triggers

        try:
            entered = sweep_triggers(now)
            if entered:
                log.info("trigger sweep entered %d contacts", entered)
        except Exception:
            log.exception("trigger sweep failed")


def sweep_triggers_task():
    from .triggers import sweep_triggers

    return sweep_triggers()


def on_worker_spawn(**kwargs):
    """django-q2's post_spawn: a (re)started worker process makes sure the timer loop runs."""
    try:
        close_old_connections()
        # A restarted worker may be replacing the loop's own process: check the lease's holder.
        ensure_loop(force=True)
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
