"""A track event starts matching journeys; entry audience and re-entry policy decide who enters."""

from datetime import timedelta

from journeys import clock
from journeys.models import Enrollment, StepLog

from .conftest import definition, enrollment_of, make_contact, publish, run_worker, steps, track

WELCOME = definition(
    ("mail", "email", {"template": "welcome"}),
    edges=[("trigger", "mail")],
    trigger={"type": "event", "event": "Signed Up", "where": {"field": "event.properties.plan", "op": "exists"}},
)


def test_it_starts_the_journey_and_sends_the_first_email(workspace, fake_email):
    journey = publish(workspace, WELCOME)
    contact = make_contact(workspace)
    track(contact, "Signed Up", {"plan": "pro"})
    run_worker()
    enrollment = enrollment_of(journey, contact)
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert fake_email.sent_to(enrollment) == [("mail", 1)]
    assert fake_email.calls[0]["config"]["template_version_id"] == 102
    assert enrollment.context["trigger"]["properties"] == {"plan": "pro"}
    assert steps(enrollment) == [("mail", "sent")]


def test_an_event_without_the_required_property_does_not_start_it_and_says_why(workspace, fake_email):
    journey = publish(workspace, WELCOME)
    contact = make_contact(workspace)
    track(contact, "Signed Up", {})
    assert not Enrollment.objects.filter(journey=journey).exists()
    skip = StepLog.objects.get(journey=journey, contact=contact)
    assert (skip.node, skip.outcome, skip.detail["reason"]) == ("trigger", "skipped", "trigger_conditions_not_met")


def test_other_events_do_not_start_it(workspace, fake_email):
    journey = publish(workspace, WELCOME)
    track(make_contact(workspace), "Signed Out", {"plan": "pro"})
    assert not Enrollment.objects.filter(journey=journey).exists()
    assert not StepLog.objects.filter(journey=journey).exists()


def test_the_entry_audience_filters_contacts(workspace, fake_email):
    journey = publish(
        workspace, {**WELCOME, "entry": {"audience": {"field": "contact.country", "op": "eq", "value": "DE"}}}
    )
    german, french = make_contact(workspace, country="DE"), make_contact(workspace, country="FR")
    track(german, "Signed Up", {"plan": "a"})
    track(french, "Signed Up", {"plan": "a"})
    assert enrollment_of(journey, german) is not None
    assert enrollment_of(journey, french) is None
    assert StepLog.objects.get(contact=french).detail["reason"] == "not_in_audience"


def test_after_exit_lets_a_contact_in_again_only_once_it_left(workspace, fake_email):
    waiting = definition(("d", "delay", {"duration": "P1D"}), edges=[("trigger", "d")])
    journey = publish(workspace, waiting)
    contact = make_contact(workspace)
    track(contact, "Signed Up")
    track(contact, "Signed Up")
    run_worker()
    assert Enrollment.objects.filter(journey=journey, contact=contact).count() == 1
    assert StepLog.objects.filter(contact=contact, outcome="skipped").get().detail["reason"] == "already_in_journey"
    with clock.frozen(clock.now() + timedelta(days=1, seconds=1)):
        run_worker()
        track(contact, "Signed Up")
    assert Enrollment.objects.filter(journey=journey, contact=contact).count() == 2


def test_once_never_lets_a_contact_in_twice(workspace, fake_email):
    journey = publish(workspace, {**WELCOME, "entry": {"re_entry": "once"}})
    contact = make_contact(workspace)
    track(contact, "Signed Up", {"plan": "a"})
    run_worker()
    track(contact, "Signed Up", {"plan": "a"})
    assert Enrollment.objects.filter(journey=journey, contact=contact).count() == 1
    assert StepLog.objects.filter(contact=contact, outcome="skipped").get().detail["reason"] == "already_entered_once"


def test_cooldown_lets_a_contact_in_again_after_the_cooldown(workspace, fake_email):
    journey = publish(workspace, {**WELCOME, "entry": {"re_entry": "cooldown", "cooldown": "PT1H"}})
    contact = make_contact(workspace)
    start = clock.now()
    with clock.frozen(start):
        track(contact, "Signed Up", {"plan": "a"}, at=start)
        track(contact, "Signed Up", {"plan": "a"}, at=start)
    with clock.frozen(start + timedelta(minutes=61)):
        track(contact, "Signed Up", {"plan": "a"})
    assert Enrollment.objects.filter(journey=journey, contact=contact).count() == 2
    assert StepLog.objects.filter(contact=contact, outcome="skipped").get().detail["reason"] == "cooldown"


def test_the_same_event_processed_twice_enters_once(workspace, fake_email):
    from journeys import triggers

    journey = publish(workspace, {**WELCOME, "entry": {"re_entry": "cooldown", "cooldown": "PT1S"}})
    contact = make_contact(workspace)
    event = track(contact, "Signed Up", {"plan": "a"})
    with clock.frozen(clock.now() + timedelta(seconds=5)):
        triggers.on_event(event)  # redelivered later: the cooldown is over, the event is the same
    assert Enrollment.objects.filter(journey=journey, contact=contact).count() == 1
    assert StepLog.objects.get(contact=contact, outcome="skipped").detail["reason"] == "duplicate_trigger"


def test_an_old_event_replayed_now_does_not_start_the_journey(workspace, fake_email):
    journey = publish(workspace, WELCOME)
    contact = make_contact(workspace)
    track(contact, "Signed Up", {"plan": "a"}, at=clock.now() - timedelta(days=3), message_id="old-1")
    assert enrollment_of(journey, contact) is None
    assert StepLog.objects.get(contact=contact).detail == {"reason": "event_too_old", "message_id": "old-1"}
