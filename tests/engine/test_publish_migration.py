"""Publishing over a live version: contacts stay on theirs unless the publisher moves them."""

import copy

import pytest

from accounts.errors import DomainError
from journeys import drafts, publishing
from journeys.models import Enrollment, Journey

from .conftest import definition, enrollment_of, make_contact, run_worker, track

V1 = definition(
    ("wait", "wait_for_event", {"event": "Clicked", "timeout": "P1D"}),
    ("old_mail", "email", {"template": "welcome"}),
    edges=[("trigger", "wait"), ("wait", "event", "old_mail")],
)
V2 = definition(
    ("wait2", "wait_for_event", {"event": "Clicked", "timeout": "P2D"}),
    ("new_mail", "email", {"template": "cart-reminder"}),
    edges=[("trigger", "wait2"), ("wait2", "event", "new_mail")],
)


def live_with_contacts(workspace, n=2):
    journey = drafts.create_journey(workspace, None, "J", definition=copy.deepcopy(V1))
    publishing.publish_journey(journey, None)
    contacts = [make_contact(workspace) for _ in range(n)]
    for contact in contacts:
        track(contact, "Signed Up")
    run_worker()
    journey.refresh_from_db()
    drafts.save_draft(journey, None, revision=journey.draft_revision, definition=copy.deepcopy(V2))
    journey.refresh_from_db()
    return journey, contacts


def test_contacts_in_flight_stay_on_their_version_by_default(workspace, fake_email):
    journey, contacts = live_with_contacts(workspace)
    version, plan = publishing.publish_journey(journey, None)
    assert version.number == 2 and plan["totals"] == {"move": 0, "keep": 2, "exit": 0}
    track(contacts[0], "Clicked")
    run_worker()
    enrollment = enrollment_of(journey, contacts[0])
    assert enrollment.version.number == 1
    assert [c["node"] for c in fake_email.calls] == ["old_mail"]


def test_the_publisher_moves_contacts_node_by_node(workspace, fake_email):
    journey, contacts = live_with_contacts(workspace)
    _, dry = publishing.publish_journey(journey, None, node_map={"wait": "wait2"}, dry_run=True)
    assert dry["nodes"] == [{"version": 1, "node": "wait", "count": 2, "action": "move", "to": "wait2"}]
    assert Journey.objects.get(pk=journey.pk).versions.count() == 1  # the dry run changed nothing
    version, _ = publishing.publish_journey(journey, None, node_map={"wait": "wait2"})
    run_worker()
    enrollment = enrollment_of(journey, contacts[0])
    assert (enrollment.version_id, enrollment.current_node, enrollment.status) == (version.pk, "wait2", "waiting")
    track(contacts[0], "Clicked")
    run_worker()
    assert [c["node"] for c in fake_email.calls] == ["new_mail"]


def test_the_publisher_can_exit_contacts_of_a_removed_node(workspace, fake_email):
    journey, contacts = live_with_contacts(workspace)
    _, plan = publishing.publish_journey(journey, None, node_map={"wait": None})
    assert plan["totals"] == {"move": 0, "keep": 0, "exit": 2}
    enrollment = enrollment_of(journey, contacts[0])
    assert (enrollment.status, enrollment.exit_reason) == (Enrollment.Status.EXITED, "removed_at_publish")


def test_a_node_map_to_a_node_the_new_version_lacks_is_refused(workspace, fake_email):
    journey, _ = live_with_contacts(workspace)
    with pytest.raises(DomainError) as error:
        publishing.publish_journey(journey, None, node_map={"wait": "nowhere"})
    assert error.value.fields == {"node_map.wait": ["“nowhere” is not a node of the new version."]}


def test_a_stale_revision_cannot_be_published(workspace, fake_email):
    journey, _ = live_with_contacts(workspace)
    with pytest.raises(DomainError) as error:
        publishing.publish_journey(journey, None, revision=1)
    assert error.value.status_code == 409 and error.value.code == "stale_revision"
