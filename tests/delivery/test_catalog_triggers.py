"""Price-drop and back-in-stock journeys (issue 13): a product viewed by three contacts drops in
price through the catalog API; those three get one email each, showing the old and the new price,
through the engine, delivery's batched path and a real SMTP server; a second drop the same day
sends nothing more. The threshold decides, interest has a window, and bad thresholds are refused
with the path of the bad part."""

from datetime import timedelta

import pytest

from delivery import actions
from journeys import clock, worker
from journeys.models import Enrollment, Journey

from .conftest import make_template, simple_mjml

PRODUCT = "{{ event.properties.name }}"
BODY = f"{PRODUCT} is now {{{{ event.new_price | money: event.currency }}}}, was {{{{ event.old_price | money }}}}."


@pytest.fixture
def sending(workspace, settings):
    settings.JOURNEYS_KICKS = "off"  # the test runs the workers' steps itself
    make_template(workspace, slug="price-drop", mjml=simple_mjml(BODY), subject=f"{PRODUCT} is cheaper")
    make_template(workspace, slug="restock", mjml=simple_mjml(f"{PRODUCT} is back."), subject="It is back")


def product(client, sku="TENT-1", price="200.00", stock=5):
    answer = client.post(
        "/api/products", {"sku": sku, "name": f"Tent {sku}", "price": price, "stock": stock}, format="json"
    )
    assert answer.status_code == 201, answer.content
    return answer.json()["id"]


def catalog_journey(client, trigger, template="price-drop", name="Price drop"):
    definition = {
        "trigger": trigger,
        "entry": {"re_entry": "after_exit"},
        "nodes": [{"id": "mail", "type": "email", "config": {"template": template}}],
        "edges": [{"from": "trigger", "to": "mail"}],
    }
    created = client.post("/api/journeys", {"name": name, "definition": definition}, format="json").json()
    answer = client.post(
        f"/api/journeys/{created['id']}/publish", {"revision": created["draft_revision"]}, format="json"
    )
    answer.journey_id = created["id"]
    return answer


@pytest.fixture
def change(django_capture_on_commit_callbacks, run_queued):
    """PATCH a product as the catalog API's client does, then let the workers do what it queued."""

    def patch(client, product_id, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.patch(f"/api/products/{product_id}", fields, format="json")
        assert answer.status_code == 200, answer.content
        run_queued()
        while worker.advance_due() or actions.sweep():
            pass

    return patch


def view(tracker, user_id, sku, event="Product Viewed", at=None):
    body = {"userId": user_id, "event": event, "properties": {"sku": sku, "product_id": sku, "price": 200}}
    if at:
        body["timestamp"] = at.isoformat()
    tracker.post("identify", {"userId": user_id, "traits": {"email": f"{user_id}@example.com"}})
    tracker.post("track", body)


def test_three_viewers_get_one_price_drop_email_each_with_old_and_new_price(
    api, marketer, tracker, process, sending, smtp, change
):
    client = api(marketer)
    tent = product(client)
    product(client, sku="STOVE-1", price="80.00")
    answer = catalog_journey(client, {"type": "price_drop", "min_percent": 10, "interest": ["viewed"]})
    assert answer.status_code == 200, answer.content
    for user in ("ann", "bob", "cy"):
        view(tracker, user, "TENT-1")
    view(tracker, "dee", "STOVE-1")  # viewed another product
    tracker.post("track", {"userId": "eve", "event": "Product Added", "properties": {"sku": "TENT-1"}})  # carted
    process()

    change(client, tent, price="150.00")
    assert sorted(m["to"][0] for m in smtp.messages) == ["ann@example.com", "bob@example.com", "cy@example.com"]
    for message in smtp.messages:
        html = message["email"].get_body(("html",)).get_content()
        assert "Tent TENT-1 is now $150.00, was $200.00." in html
        assert message["email"]["Subject"] == "Tent TENT-1 is cheaper"
    [trip] = Enrollment.objects.filter(journey_id=answer.journey_id, contact__user_id="ann")
    assert trip.context["trigger"]["properties"]["percent_off"] == 25.0

    later = clock.now() + timedelta(hours=6)
    with clock.frozen(later):  # a second drop the same day sends nothing more
        change(client, tent, price="120.00")
    assert len(smtp.messages) == 3
    assert Enrollment.objects.filter(journey_id=answer.journey_id).count() == 3


def test_a_drop_below_the_threshold_sends_nothing_and_old_interest_does_not_count(
    api, marketer, tracker, process, sending, smtp, change
):
    client = api(marketer)
    tent = product(client)
    catalog_journey(client, {"type": "price_drop", "min_percent": 30, "window": "P7D"})
    view(tracker, "ann", "TENT-1")
    view(tracker, "old", "TENT-1", at=clock.now() - timedelta(days=10))
    view(tracker, "fan", "TENT-1", event="Product Added to Wishlist")
    process()
    change(client, tent, price="180.00")  # 10 %: not enough
    assert smtp.messages == []
    change(client, tent, price="100.00")  # 44 % below 180
    assert sorted(m["to"][0] for m in smtp.messages) == ["ann@example.com", "fan@example.com"]


def test_a_price_below_a_threshold(api, marketer, tracker, process, sending, smtp, change):
    client = api(marketer)
    tent = product(client)
    catalog_journey(client, {"type": "price_drop", "below": 100})
    view(tracker, "ann", "TENT-1")
    process()
    change(client, tent, price="150.00")
    assert smtp.messages == []
    change(client, tent, price="99.00")
    assert [m["to"][0] for m in smtp.messages] == ["ann@example.com"]


def test_back_in_stock_tells_those_who_carted_it(api, marketer, tracker, process, sending, smtp, change):
    client = api(marketer)
    tent = product(client, stock=0)
    catalog_journey(client, {"type": "back_in_stock", "interest": ["carted"]}, template="restock", name="Restock")
    view(tracker, "ann", "TENT-1", event="Product Added")
    view(tracker, "bob", "TENT-1")  # only viewed
    process()
    change(client, tent, price="190.00")  # still out of stock
    assert smtp.messages == []
    change(client, tent, stock=4)
    assert [m["to"][0] for m in smtp.messages] == ["ann@example.com"]
    assert "Tent TENT-1 is back." in smtp.messages[0]["email"].get_body(("html",)).get_content()
    change(client, tent, stock=9)  # more stock is not a restock
    assert len(smtp.messages) == 1


@pytest.mark.parametrize(
    ("trigger", "path"),
    [
        ({"type": "price_drop"}, "trigger.min_percent"),
        ({"type": "price_drop", "min_percent": 0}, "trigger.min_percent"),
        ({"type": "price_drop", "min_percent": 100}, "trigger.min_percent"),
        ({"type": "price_drop", "min_percent": "lots"}, "trigger.min_percent"),
        ({"type": "price_drop", "below": -5}, "trigger.below"),
        ({"type": "price_drop", "min_percent": 10, "interest": ["liked"]}, "trigger.interest"),
        ({"type": "back_in_stock", "interest": []}, "trigger.interest"),
        ({"type": "back_in_stock", "window": "soon"}, "trigger.window"),
    ],
)
def test_bad_catalog_triggers_are_refused_with_the_path(api, marketer, sending, trigger, path):
    answer = catalog_journey(api(marketer), trigger)
    assert answer.status_code == 400, answer.content
    assert path in answer.json()["fields"], answer.json()
    assert Journey.objects.get(pk=answer.journey_id).live_version is None
