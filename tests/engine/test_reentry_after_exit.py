"""Each way out of a journey keeps the re-entry policy: after an enrollment ends (its path ends, an
exit node, a goal, removed at publish, the contact merged into another, the journey archived), a
new trigger for the same person enters again under "after_exit", never under "once", and under
"cooldown" only once the cooldown has passed.

The events come in through /v1/ and are processed as ingestion does; the worker runs in-process.
"""

from datetime import timedelta

import pytest

from journeys import clock, drafts, publishing
from journeys.models import Contact, Enrollment, StepLog

from .conftest import definition, publish, run_worker

POLICIES = {
    "once": {"re_entry": "once"},
    "after_exit": {"re_entry": "after_exit"},
    "cooldown": {"re_entry": "cooldown", "cooldown": "P1D"},
}
ENTERS_AGAIN = {"once": False, "after_exit": True, "cooldown": False}
REFUSED_BECAUSE = {"once": "already_entered_once", "cooldown": "cooldown"}

WAITS = (("later", "delay", {"duration": "PT1H"}),)
ENDS = (("done", "update_contact", {"set": {"traits.seen": "yes"}}),)
EXITS = (("bye", "exit", {}),)


def journey_with(workspace, policy, nodes, **extra):
    edges = [("trigger", nodes[0][0])]
    return publish(workspace, definition(*nodes, edges=edges, entry=POLICIES[policy], **extra), name=policy)


def signed_up(tracker, process, **who):
    response = tracker.post("track", {**who, "event": "Signed Up"})
    assert response.status_code == 200, response.content
    process()
    run_worker()


def person(workspace, user_id):
    contact = Contact.objects.get(workspace=workspace, user_id=user_id)
    return contact


def finished(journey):
    return Enrollment.objects.filter(journey=journey).exclude(status__in=Enrollment.OPEN)


# Each exit path: (nodes, extra definition keys, how the enrollment ends, the exit reason).
def end_by_path(**_):
    pass


def end_by_goal(tracker, process, **_):
    tracker.post("track", {"userId": "u1", "event": "Order Completed", "properties": {"total": 30}})
    process()


def end_by_publish(journey, **_):
    drafts.save_draft(journey, None, revision=journey.draft_revision, definition={**journey.draft})
    journey.refresh_from_db()
    publishing.publish_journey(journey, None, node_map={"later": None})


def end_by_archive(journey, **_):
    publishing.archive_journey(journey, None)


EXIT_PATHS = {
    "completed": (ENDS, {}, end_by_path, "end_of_path"),
    "exit node": (EXITS, {}, end_by_path, "exit_node"),
    "goal": (WAITS, {"exit_on": [{"event": "Order Completed"}]}, end_by_goal, "goal"),
    "removed at publish": (WAITS, {}, end_by_publish, "removed_at_publish"),
}


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("path", EXIT_PATHS)
def test_the_policy_holds_after_each_way_out(workspace, tracker, process, fake_email, policy, path):
    nodes, extra, end, reason = EXIT_PATHS[path]
    journey = journey_with(workspace, policy, nodes, **extra)
    signed_up(tracker, process, userId="u1")
    end(journey=journey, tracker=tracker, process=process)
    [first] = finished(journey)
    assert first.exit_reason == reason

    signed_up(tracker, process, userId="u1")
    again = Enrollment.objects.filter(journey=journey, contact=person(workspace, "u1")).count() == 2
    assert again is ENTERS_AGAIN[policy]
    if not again:
        skipped = StepLog.objects.filter(journey=journey, outcome="skipped").latest("id")
        assert skipped.detail["reason"] == REFUSED_BECAUSE[policy]
    if policy == "cooldown":  # a day later, it may enter again
        Enrollment.objects.filter(pk=first.pk).update(entered_at=clock.now() - timedelta(days=2))
        signed_up(tracker, process, userId="u1")
        assert Enrollment.objects.filter(journey=journey).count() == 2


@pytest.mark.parametrize("policy", POLICIES)
def test_the_policy_holds_for_a_person_merged_after_leaving(workspace, tracker, process, fake_email, policy):
    """An anonymous visitor goes through the journey, then identifies as a known customer: the
    merged person has been through it (their trip moved to the survivor)."""
    journey = journey_with(workspace, policy, EXITS)
    tracker.post("identify", {"userId": "u1", "traits": {"email": "ada@example.com"}})
    signed_up(tracker, process, anonymousId="phone-1")
    [first] = finished(journey)
    tracker.post("identify", {"userId": "u1", "anonymousId": "phone-1"})
    process()
    survivor = Contact.objects.get(workspace=workspace, merged_into=None)
    assert survivor.user_id == "u1" and Enrollment.objects.get(pk=first.pk).contact_id == survivor.pk

    signed_up(tracker, process, userId="u1")
    assert (Enrollment.objects.filter(journey=journey).count() == 2) is ENTERS_AGAIN[policy]


@pytest.mark.parametrize("policy", POLICIES)
def test_a_merged_contacts_trip_ends_when_the_survivor_is_in_the_journey(
    workspace, tracker, process, fake_email, policy
):
    journey = journey_with(workspace, policy, WAITS)
    signed_up(tracker, process, userId="u1")
    signed_up(tracker, process, anonymousId="phone-1")
    tracker.post("identify", {"userId": "u1", "anonymousId": "phone-1"})
    process()
    [ended] = finished(journey)
    assert ended.exit_reason == "contact_merged"
    open_trip = Enrollment.objects.get(journey=journey, status__in=Enrollment.OPEN)
    assert open_trip.contact.user_id == "u1"
    # The survivor's own trip goes on; a new trigger does not start a second one meanwhile.
    signed_up(tracker, process, userId="u1")
    assert Enrollment.objects.filter(journey=journey, status__in=Enrollment.OPEN).count() == 1


@pytest.mark.parametrize("policy", POLICIES)
def test_archiving_ends_every_trip_and_keeps_once(workspace, tracker, process, fake_email, policy):
    journey = journey_with(workspace, policy, WAITS)
    signed_up(tracker, process, userId="u1")
    end_by_archive(journey)
    [ended] = finished(journey)
    assert ended.exit_reason == "journey_archived"
    # "once" stays taken for good; the other policies release their key.
    assert ended.entry_key == ("once" if policy == "once" else None)
    signed_up(tracker, process, userId="u1")
    assert Enrollment.objects.filter(journey=journey).count() == 1
