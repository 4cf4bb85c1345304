"""Experiments are weighted and sticky per contact across re-entries; update_contact writes the
contact with Liquid-rendered values."""

from datetime import timedelta

from journeys import clock
from journeys.models import Enrollment, ExperimentAssignment

from .conftest import definition, enrollment_of, make_contact, publish, run_worker, track

AB = definition(
    ("ab", "experiment", {"variants": [{"id": "a", "weight": 50}, {"id": "b", "weight": 50}]}),
    ("mail_a", "email", {"template": "welcome"}),
    ("mail_b", "email", {"template": "cart-reminder"}),
    edges=[("trigger", "ab"), ("ab", "a", "mail_a"), ("ab", "b", "mail_b")],
    entry={"re_entry": "after_exit"},
)


def test_each_contact_keeps_its_variant_when_it_enters_again(workspace, fake_email):
    journey = publish(workspace, AB)
    contacts = [make_contact(workspace) for _ in range(40)]
    for contact in contacts:
        track(contact, "Signed Up")
    run_worker()
    first = {c.pk: ExperimentAssignment.objects.get(contact=c).variant for c in contacts}
    assert set(first.values()) == {"a", "b"}
    # Change the weights in a new version: contacts who already have a variant keep it.
    from journeys import drafts, publishing

    journey.refresh_from_db()
    skewed = {
        **AB,
        "nodes": [
            {**AB["nodes"][0], "config": {"variants": [{"id": "a", "weight": 100}, {"id": "b", "weight": 0}]}},
            *AB["nodes"][1:],
        ],
    }
    drafts.save_draft(journey, None, revision=journey.draft_revision, definition=skewed)
    publishing.publish_journey(journey, None)
    with clock.frozen(clock.now() + timedelta(minutes=1)):
        for contact in contacts:
            track(contact, "Signed Up")
        run_worker()
    for contact in contacts:
        latest = enrollment_of(journey, contact)
        assert latest.version.number == 2 and latest.status == Enrollment.Status.COMPLETED
        expected = "mail_a" if first[contact.pk] == "a" else "mail_b"
        assert latest.steps.filter(outcome="sent").get().node == expected
    newcomer = make_contact(workspace)
    track(newcomer, "Signed Up")
    run_worker()
    assert ExperimentAssignment.objects.get(contact=newcomer).variant == "a"


def test_update_contact_sets_traits_and_columns_with_liquid(workspace, fake_email):
    flow = definition(
        (
            "u",
            "update_contact",
            {"set": {"traits.last_plan": "{{ event.properties.plan | upcase }}", "traits.score": 5, "city": "Berlin"}},
        ),
        edges=[("trigger", "u")],
    )
    publish(workspace, flow)
    contact = make_contact(workspace, traits={"keep": "me"})
    track(contact, "Signed Up", {"plan": "pro"})
    run_worker()
    contact.refresh_from_db()
    assert contact.traits == {"keep": "me", "last_plan": "PRO", "score": 5}
    assert contact.city == "Berlin"


def test_a_broken_liquid_value_is_recorded_and_the_contact_goes_on(workspace, fake_email):
    flow = definition(
        ("u", "update_contact", {"set": {"traits.x": "{{ contact.email | nope }}"}}),
        ("m", "email", {"template": "welcome"}),
        edges=[("trigger", "u"), ("u", "m")],
    )
    journey = publish(workspace, flow)
    contact = make_contact(workspace)
    track(contact, "Signed Up")
    run_worker()
    enrollment = enrollment_of(journey, contact)
    step = enrollment.steps.get(node="u")
    assert step.outcome == "done" and "nope" in step.detail["errors"][0]
    assert fake_email.sent_to(enrollment) == [("m", 1)]
