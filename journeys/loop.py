"""The engine's timer loop and the kick's drain.

- `drain(budget)`: what a kick does: advance due enrollments until none are left or the budget is
  spent. When a batch comes back full it invites one more worker with another kick, so a backlog
  spreads over the cluster.
- `run()`: the timer loop. One runs at a time (a lease with a heartbeat); it polls the due index
  every IDLE_POLL seconds, so a timer fires within about a second of its time, and runs the
  periodic trigger sweep. It hands over to a fresh task before django-q2's timeout. A dead loop's
  lease runs out after LOOP_LEASE seconds; `ensure_running` (from every kick, from each newly
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

from . import broadcasts, clock, conf, kicks, report, worker
from .models import EngineLease

log = logging.getLogger(__name__)

IDLE_POLL = 0.2  # seconds between looks at the due index when there is nothing to do
FOLD_EVERY = 10.0  # seconds between folds of the report's tallies (journeys/report.py)
LOOP_LEASE = timedelta(seconds=10)
LOOP = "engine-loop"
SWEEP = "trigger-sweep"
SEGMENT_SWEEP = "segment-sweep"
SEGMENT_SWEEP_EVERY = timedelta(minutes=5)  # rules that change with time alone (customers/segments.py)


def _lease_row(name):
    EngineLease.objects.get_or_create(name=name)


def drain(budget=None):
    """The kick task: advance due enrollments until none are left or the budget is spent."""
    kicks.kick_taken()  # later commits kick again
    ensure_running()
    deadline = time.monotonic() + (budget or loop_seconds())
    total = 0
    while True:
        claimed = worker.advance_due(deadline=deadline)
        total += claimed
        if claimed < conf.batch_size():
            return total
        kicks.advance()  # a full batch: more is due, let another worker help
        if time.monotonic() > deadline:
            return total


def _take_lease(name, owner, duration, handover_ok=False):
    now = clock.now()
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


def ensure_running(force=False):
    """Start the timer loop if none is running (its lease is free). `force`: enqueue a loop task
    even if the lease looks held (it takes over if the holder turns out to be dead)."""
    if kicks.sync_queue() or not conf.kicks_enabled():
        return False
    now = clock.now()
    running = EngineLease.objects.filter(name=LOOP, until__gte=now).exclude(owner="").exists()
    if running and not force:
        return False
    kicks.engine_loop()
    return True


def run():
    """The timer loop (see the module docstring). Returns the number of enrollments it claimed."""
    owner = uuid.uuid4().hex
    if not _take_lease(LOOP, owner, LOOP_LEASE, handover_ok=True) and not _take_over(owner):
        return 0  # another loop is alive
    started = time.monotonic()
    claimed_total = 0
    handed_over = False
    folded_at = started
    try:
        while time.monotonic() - started < loop_seconds():
            if not _take_lease(LOOP, owner, LOOP_LEASE):
                return claimed_total  # lost the lease (we were too slow): the other loop goes on
            claimed = worker.advance_due(deadline=started + loop_seconds())
            claimed_total += claimed
            if claimed >= conf.batch_size():
                kicks.advance()
            if time.monotonic() - folded_at > FOLD_EVERY:
                _fold()
                folded_at = time.monotonic()
            if claimed == 0:
                _maybe_sweep_triggers(owner)
                _maybe_sweep_segments(owner)
                broadcasts.start_due(clock.now())  # scheduled broadcasts whose time came
                if not connection.in_atomic_block:  # (a test's transaction)
                    close_old_connections()  # a dead PostgreSQL connection is replaced, not kept
                time.sleep(IDLE_POLL)
        # Hand over: keep the lease for the next loop task only.
        EngineLease.objects.filter(name=LOOP, owner=owner).update(owner="handover", until=clock.now() + LOOP_LEASE)
        handed_over = True
        kicks.engine_loop()
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


def _fold():
    try:
        report.fold()
    except Exception:
        log.exception("folding the report's tallies failed")


def _maybe_sweep_triggers(owner):
    interval = conf.trigger_sweep_interval()
    now = clock.now()
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


def _maybe_sweep_segments(owner):
    """Every SEGMENT_SWEEP_EVERY: the segments whose rules change with time alone, for the contacts
    whose time came since the last sweep (its time is the lease row's last_run_at)."""
    now = clock.now()
    _lease_row(SEGMENT_SWEEP)
    previous = EngineLease.objects.filter(name=SEGMENT_SWEEP).values_list("last_run_at", flat=True).first()
    if previous is not None and previous > now - SEGMENT_SWEEP_EVERY:
        return
    # The claim: of two loops seeing the same last run, one moves it (the other sweeps nothing).
    if not EngineLease.objects.filter(name=SEGMENT_SWEEP, last_run_at=previous).update(last_run_at=now, owner=owner):
        return
    from .customers import segments

    try:
        changed = segments.sweep(now, since=previous)
        if changed:
            log.info("segment sweep changed %d memberships", changed)
    except Exception:
        log.exception("segment sweep failed")
