"""Processing runs in workers, is kicked after commit, is idempotent and calls the engine seam."""

from unittest import mock

from django_q.models import OrmQ

from journeys import hooks
from journeys.customers import events
from journeys.models import Event, IngestState


def test_storing_kicks_one_task_until_a_worker_picks_it_up(tracker, workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tracker.post("track", {"userId": "u1", "event": "A"})
        tracker.post("track", {"userId": "u1", "event": "B"})
    assert OrmQ.objects.count() == 1  # the second call found a kick already queued
    assert IngestState.objects.get(workspace=workspace).kick_pending
    events.drain_events(workspace.id)
    assert not IngestState.objects.get(workspace=workspace).kick_pending
    with django_capture_on_commit_callbacks(execute=True):
        tracker.post("track", {"userId": "u1", "event": "C"})
    assert OrmQ.objects.count() == 2


def test_processing_an_event_twice_does_it_once(tracker, workspace):
    tracker.post("track", {"userId": "u1", "event": "Order Completed", "properties": {"order_id": "o1", "total": 5}})
    event = Event.objects.get()
    calls = []
    with mock.patch.dict(hooks._hooks, {"event.processed": calls.append}):
        assert events.process_event(event.id) is not None
        assert events.process_event(event.id) is None
        assert events.drain_events(workspace.id) == 0
    assert [e.pk for e in calls] == [event.pk]
    event.refresh_from_db()
    assert event.processed_at is not None and event.contact.lifetime_value == 5


def test_the_engine_hook_sees_the_updated_contact(tracker, workspace, process):
    seen = []
    tracker.post("identify", {"userId": "u1", "traits": {"plan": "pro"}})
    tracker.post("track", {"userId": "u1", "event": "Product Added", "properties": {"product_id": "p", "price": 3}})
    with mock.patch.dict(
        hooks._hooks,
        {"event.processed": lambda e: seen.append((e.name, e.contact.traits, e.contact.cart["total"]))},
    ):
        process()
    assert seen == [("", {"plan": "pro"}, 0.0), ("Product Added", {"plan": "pro"}, 3.0)]


def test_a_failing_event_is_retried_then_set_aside_without_blocking_others(tracker, workspace, process):
    tracker.post("track", {"userId": "u1", "event": "Boom"})
    tracker.post("track", {"userId": "u1", "event": "Fine"})

    def hook(event):
        if event.name == "Boom":
            raise ValueError("engine bug")

    with mock.patch.dict(hooks._hooks, {"event.processed": hook}):
        process()
    boom, fine = Event.objects.get(name="Boom"), Event.objects.get(name="Fine")
    assert fine.processed_at is not None and fine.error == ""
    assert boom.attempts == events.MAX_ATTEMPTS
    assert "engine bug" in boom.error


def test_the_sweeper_kicks_workspaces_with_waiting_events(tracker, workspace):
    tracker.post("track", {"userId": "u1", "event": "A"})
    IngestState.objects.update_or_create(workspace=workspace, defaults={"kick_pending": True})  # a lost kick
    OrmQ.objects.all().delete()
    assert events.sweep_stalled() == 1
    assert OrmQ.objects.count() == 1
