"""Kicks are coalesced; one timer loop runs at a time and hands over before the queue's timeout."""

from datetime import timedelta

from django.utils import timezone
from django_q.models import OrmQ

from journeys import kicks, loop
from journeys.models import EngineLease, Enrollment

from .conftest import definition, make_contact, publish, track


def queued(func):
    return [task for task in OrmQ.objects.all() if task.func() == func]


def test_kicks_are_coalesced_until_a_worker_takes_one(db, settings):
    settings.JOURNEYS_KICKS = "on"
    kicks.advance()
    kicks.advance()
    assert len(queued("journeys.tasks.advance")) == 1
    loop.drain(budget=0.1)  # the worker clears the flag first
    kicks.advance()
    assert len(queued("journeys.tasks.advance")) == 2


def test_a_lost_kick_does_not_block_kicks_forever(db, settings):
    settings.JOURNEYS_KICKS = "on"
    kicks.advance()
    EngineLease.objects.filter(name=kicks.KICK).update(until=timezone.now() - timedelta(seconds=6))
    kicks.advance()
    assert len(queued("journeys.tasks.advance")) == 2


def test_ensure_loop_starts_one_only_when_none_runs(db, settings):
    settings.JOURNEYS_KICKS = "on"
    EngineLease.objects.create(name=loop.LOOP, owner="someone", until=timezone.now() + timedelta(seconds=5))
    assert loop.ensure_running() is False
    EngineLease.objects.filter(name=loop.LOOP).update(until=timezone.now() - timedelta(seconds=1))
    assert loop.ensure_running() is True
    assert len(queued("journeys.tasks.engine_loop")) == 1


def test_the_loop_advances_due_work_and_hands_over(workspace, fake_email, settings):
    settings.JOURNEYS_KICKS = "on"
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 2}  # a 3-second loop
    journey = publish(workspace, definition(("mail", "email", {"template": "welcome"}), edges=[("trigger", "mail")]))
    for _ in range(3):
        track(make_contact(workspace), "Signed Up")
    assert loop.run() == 3
    assert Enrollment.objects.filter(journey=journey, status="completed").count() == 3
    assert EngineLease.objects.get(name=loop.LOOP).owner == "handover"
    assert len(queued("journeys.tasks.engine_loop")) == 1


def test_a_second_loop_gives_up_while_the_first_is_alive(db, settings):
    settings.JOURNEYS_KICKS = "on"
    EngineLease.objects.create(name=loop.LOOP, owner="alive", until=timezone.now() + timedelta(seconds=10))

    def beat(*args, **kwargs):
        EngineLease.objects.filter(name=loop.LOOP).update(until=timezone.now() + timedelta(seconds=11))

    original = loop.time.sleep
    loop.time.sleep = beat  # the other loop beats while this one waits
    try:
        assert loop.run() == 0
    finally:
        loop.time.sleep = original
    assert EngineLease.objects.get(name=loop.LOOP).owner == "alive"
