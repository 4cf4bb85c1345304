"""Pausing holds every contact where it is; resuming lets them go on; archiving ends the journey."""

from datetime import timedelta

from journeys import clock, publishing, worker
from journeys.models import Enrollment, StepLog

from .conftest import definition, enrollment_of, make_contact, publish, run_worker, steps, track

FLOW = definition(
    ("d", "delay", {"duration": "PT1H"}),
    ("wait", "wait_for_event", {"event": "Clicked", "timeout": "P1D"}),
    ("mail", "email", {"template": "welcome"}),
    edges=[("trigger", "d"), ("d", "wait"), ("wait", "event", "mail")],
)


def test_an_event_for_a_paused_journey_does_not_start_it_and_is_recorded(workspace, fake_email):
    journey = publish(workspace, FLOW)
    publishing.pause_journey(journey, None)
    contact = make_contact(workspace)
    track(contact, "Signed Up", message_id="m-1")
    assert enrollment_of(journey, contact) is None
    skip = StepLog.objects.get(journey=journey, contact=contact)
    assert skip.detail == {"reason": "journey_paused", "message_id": "m-1"}


def test_timers_are_held_while_paused_and_fire_after_resume(workspace, fake_email):
    journey = publish(workspace, FLOW)
    contact = make_contact(workspace)
    start = clock.now()
    with clock.frozen(start):
        track(contact, "Signed Up", at=start)
        run_worker()
        publishing.pause_journey(journey, None)
    enrollment = enrollment_of(journey, contact)
    assert enrollment.wake_at is None and enrollment.paused_wake_at == start + timedelta(hours=1)
    with clock.frozen(start + timedelta(hours=2)):
        assert run_worker() == 0  # nothing due while paused
        publishing.resume_journey(journey, None)
        run_worker()
    enrollment.refresh_from_db()
    assert enrollment.current_node == "wait" and enrollment.status == Enrollment.Status.WAITING


def test_an_awaited_event_during_the_pause_is_kept_for_the_resume(workspace, fake_email):
    journey = publish(workspace, FLOW)
    contact = make_contact(workspace)
    start = clock.now()
    with clock.frozen(start):
        track(contact, "Signed Up", at=start)
        run_worker()
    with clock.frozen(start + timedelta(hours=1)):
        run_worker()  # now waiting for Clicked
        publishing.pause_journey(journey, None)
        track(contact, "Clicked")
        run_worker()
        assert fake_email.calls == []
        publishing.resume_journey(journey, None)
        run_worker()
    enrollment = enrollment_of(journey, contact)
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert fake_email.sent_to(enrollment) == [("mail", 1)]
    assert steps(enrollment)[-2:] == [("wait", "event"), ("mail", "sent")]


def test_a_worker_holding_a_claim_when_the_journey_is_paused_holds_the_contact(workspace, fake_email):
    journey = publish(workspace, FLOW)
    contact = make_contact(workspace)
    track(contact, "Signed Up")
    token, ids = worker.claim_due()
    publishing.pause_journey(journey, None)  # the claimed row is left to the worker
    worker.advance_claimed(ids, token)
    enrollment = enrollment_of(journey, contact)
    assert enrollment.wake_at is None and enrollment.paused_wake_at is not None and enrollment.claim == ""
    assert enrollment.current_node == "trigger"


def test_archiving_exits_everybody_and_refuses_new_entries(workspace, fake_email):
    journey = publish(workspace, FLOW)
    contact = make_contact(workspace)
    track(contact, "Signed Up")
    run_worker()
    publishing.archive_journey(journey, None)
    enrollment = enrollment_of(journey, contact)
    assert (enrollment.status, enrollment.exit_reason) == (Enrollment.Status.EXITED, "journey_archived")
    track(make_contact(workspace), "Signed Up")
    assert Enrollment.objects.filter(journey=journey).count() == 1
