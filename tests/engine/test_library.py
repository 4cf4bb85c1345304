"""The ready-made journeys are valid, publish, and run."""

from datetime import timedelta

import pytest

from journeys import clock, drafts, publishing, triggers
from journeys.engine import library
from journeys.engine.definition import validate_definition
from journeys.models import Enrollment

from .conftest import TEMPLATES, enrollment_of, make_contact, run_worker, track


@pytest.mark.parametrize("key", [item["key"] for item in library.ITEMS])
def test_each_ready_made_journey_is_valid_and_publishes(workspace, fake_email, key):
    definition = library.definition_of(key)
    assert validate_definition(definition, resolve_template=TEMPLATES.get) == []
    journey = drafts.create_journey(workspace, None, key, definition=definition, library_key=key)
    version, _ = publishing.publish_journey(journey, None)
    assert version.number == 1
    assert set(definition["layout"]) == {node["id"] for node in definition["nodes"]}


def live(workspace, key):
    journey = drafts.create_journey(workspace, None, key, definition=library.definition_of(key))
    publishing.publish_journey(journey, None)
    journey.refresh_from_db()
    return journey


def test_cart_abandonment_reminds_a_contact_whose_cart_is_still_full(workspace, fake_email):
    journey = live(workspace, "cart-abandonment")
    full = make_contact(workspace, cart={"items": [{"sku": "A", "quantity": 1}], "total": 30})
    empty = make_contact(workspace, cart={"items": [], "total": 0})
    buyer = make_contact(workspace, cart={"items": [{"sku": "B"}], "total": 9})
    start = clock.now()
    with clock.frozen(start):
        for contact in (full, empty, buyer):
            track(contact, "Checkout Started", {"cart_id": f"cart-{contact.pk}"}, at=start)
        run_worker()
        track(buyer, "Order Completed", {"cart_id": f"cart-{buyer.pk}", "revenue": 9})
    with clock.frozen(start + timedelta(hours=1, seconds=1)):
        run_worker()
    assert fake_email.sent_to(enrollment_of(journey, full)) == [("reminder", 1)]
    assert fake_email.sent_to(enrollment_of(journey, empty)) == []
    assert enrollment_of(journey, buyer).exit_reason == "goal"


def test_re_engagement_enters_inactive_contacts_from_the_sweep(workspace, fake_email):
    journey = live(workspace, "re-engagement")
    dormant = make_contact(workspace, last_activity_at=clock.now() - timedelta(days=61))
    triggers.sweep_triggers()
    run_worker()
    enrollment = enrollment_of(journey, dormant)
    assert fake_email.sent_to(enrollment) == [("win_back", 1)]
    assert enrollment.status == Enrollment.Status.WAITING and enrollment.awaited_event == "Product Viewed"
