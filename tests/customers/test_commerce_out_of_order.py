"""Late and out-of-order events give the same state as a full rebuild from the history."""

import random

from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeys.customers import commerce, events
from journeys.models import Contact, Event, Order

NAMES = ["Product Viewed", "Product Added", "Product Removed", "Order Completed", "Order Refunded", "Checkout Started"]


def _event(n, rng):
    name = rng.choice(NAMES)
    product = rng.choice(["a", "b", "c"])
    props = {"product_id": product, "price": rng.choice([5, 10.5, 99]), "quantity": rng.randint(1, 3)}
    if name in ("Order Completed", "Order Refunded"):
        props = {"order_id": f"o{rng.randint(1, 3)}", "total": rng.choice([20, 35.5]), "products": [props]}
    if name == "Checkout Started":
        props = {"products": [props]}
    return {
        "id": n,
        "name": name,
        "properties": props,
        "timestamp": f"2025-01-01T10:{rng.randint(0, 59):02d}:00.000000+00:00",
    }


@given(st.integers(min_value=0, max_value=10_000))
def test_folding_in_any_arrival_order_with_rebuilds_equals_the_full_fold(seed):
    rng = random.Random(seed)
    events = [_event(n, rng) for n in range(1, 25)]
    expected = commerce.summary(commerce.fold(events))

    arrival = events[:]
    rng.shuffle(arrival)
    state, seen = commerce.State(), []
    for event in arrival:  # what the worker does: fold on when later, rebuild otherwise
        seen.append(event)
        state = commerce.apply(state, event) if state.after(event) else commerce.fold(seen)
        state = commerce.load(commerce.dump(state))  # stored as JSON between events
    assert commerce.summary(state) == expected


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=10_000))
def test_the_pipeline_in_shuffled_order_matches_the_rebuild_command(tracker, workspace, seed):
    rng = random.Random(seed)
    Event.objects.all().delete()
    Contact.objects.all().delete()
    calls = []
    for n, event in enumerate(_event(n, rng) for n in range(30)):
        calls.append(
            {
                "userId": "u1",
                "event": event["name"],
                "properties": event["properties"],
                "timestamp": event["timestamp"].replace(".000000+00:00", "Z"),
                "messageId": f"{seed}-{n}",
            }
        )
    rng.shuffle(calls)
    for call in calls:  # one at a time: each arrives late or early relative to the others
        tracker.post("track", call)
        events.process_now(workspace.id)
    contact = Contact.objects.get(user_id="u1")
    incremental = (contact.cart, contact.recently_viewed, contact.lifetime_value, contact.orders_count)
    orders = sorted(Order.objects.values_list("order_id", "revenue", "status"))

    call_command("rebuild_commerce_state", workspace=workspace.id, verbosity=0)
    contact.refresh_from_db()
    assert (contact.cart, contact.recently_viewed, contact.lifetime_value, contact.orders_count) == incremental
    assert sorted(Order.objects.values_list("order_id", "revenue", "status")) == orders


def test_cart_lines_keep_the_order_they_were_added_in(tracker, workspace):
    """The state is stored as JSON between events; PostgreSQL's jsonb reorders an object's keys
    (shorter first), so the cart's order must not rest on them."""
    for minute, sku in enumerate(["zzz-long", "a", "mm"]):
        properties = {"product_id": sku, "price": 5, "quantity": 1}
        body = {"userId": "u1", "event": "Product Added", "properties": properties}
        tracker.post("track", {**body, "timestamp": f"2025-01-01T10:0{minute}:00Z"})
        events.process_now(workspace.id)
    contact = Contact.objects.get(user_id="u1")
    assert [line["product_id"] for line in contact.cart["items"]] == ["zzz-long", "a", "mm"]
    call_command("rebuild_commerce_state", workspace=workspace.id, verbosity=0)
    contact.refresh_from_db()
    assert [line["product_id"] for line in contact.cart["items"]] == ["zzz-long", "a", "mm"]
