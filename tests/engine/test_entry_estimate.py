"""The publish dialog's estimate of who will enter a day: the distinct contacts who sent the
draft trigger's event over the last 7 days, divided by 7."""

from datetime import timedelta

from journeys import clock, drafts
from tests.factories import stored_event

from .conftest import definition, make_contact

CART = definition(
    ("mail", "email", {"template": "cart-reminder"}),
    edges=[("trigger", "mail")],
    trigger={"type": "event", "event": "Checkout Started"},
)


def sent(contact, name, days_ago=0.0):
    return stored_event(contact, name, at=clock.now() - timedelta(days=days_ago))


def estimate(client, journey):
    response = client.get(f"/api/journeys/{journey.pk}/entry-estimate")
    assert response.status_code == 200, response.content
    return response.json()


def test_it_counts_distinct_contacts_with_the_trigger_event_in_the_last_7_days(workspace, other_workspace, qa, api):
    journey = drafts.create_journey(workspace, None, "Cart", definition=CART)
    ann, bo, cy, dee = (make_contact(workspace) for _ in range(4))
    sent(ann, "Checkout Started", 0.5)
    sent(ann, "Checkout Started", 2)  # the same contact twice: once
    sent(bo, "Checkout Started", 6.5)
    sent(cy, "Checkout Started", 8)  # too long ago
    sent(dee, "Order Completed", 1)  # another event
    sent(make_contact(other_workspace), "Checkout Started", 1)  # another workspace's

    answer = estimate(api(qa), journey)

    assert answer["per_day"] == round(2 / 7, 1)
    assert answer["contacts_7d"] == 2
    assert answer["event"] == "Checkout Started"
    assert "2 contacts" in answer["basis"]


def test_it_follows_the_draft_trigger(workspace, marketer, api):
    journey = drafts.create_journey(workspace, marketer, "Cart", definition=CART)
    sent(make_contact(workspace), "Product Viewed", 1)
    journey.draft = {**journey.draft, "trigger": {"type": "event", "event": "Product Viewed"}}
    journey.save(update_fields=["draft"])

    assert estimate(api(marketer), journey)["contacts_7d"] == 1


def test_other_triggers_get_no_figure_and_a_reason(workspace, marketer, api):
    journey = drafts.create_journey(workspace, marketer, "By API", definition={**CART, "trigger": {"type": "api"}})

    answer = estimate(api(marketer), journey)

    assert answer["per_day"] is None
    assert "event trigger" in answer["basis"]


def test_an_outsider_cannot_ask(workspace, outsider, api):
    journey = drafts.create_journey(workspace, None, "Cart", definition=CART)
    assert api(outsider).get(f"/api/journeys/{journey.pk}/entry-estimate").status_code == 404
