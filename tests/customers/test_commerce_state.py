"""Cart, recently viewed, orders and lifetime value, derived from e-commerce events."""

from journeys.models import Contact, Order


def added(product_id, price, quantity=1, at="2025-01-01T10:00:00Z", **extra):
    return {
        "userId": "u1",
        "event": "Product Added",
        "timestamp": at,
        "properties": {"product_id": product_id, "price": price, "quantity": quantity, **extra},
    }


def test_the_cart_follows_added_and_removed_products(tracker, workspace, process):
    tracker.post("track", added("tent", 199.0, 1, "2025-01-01T10:00:00Z", name="Tent", currency="EUR"))
    tracker.post("track", added("socks", 12.5, 2, "2025-01-01T10:01:00Z", currency="EUR"))
    tracker.post("track", added("socks", 12.5, 1, "2025-01-01T10:02:00Z", currency="EUR"))
    tracker.post(
        "track",
        {
            "userId": "u1",
            "event": "Product Removed",
            "timestamp": "2025-01-01T10:03:00Z",
            "properties": {"product_id": "tent"},
        },
    )
    process()
    cart = Contact.objects.get(user_id="u1").cart
    assert [(item["product_id"], item["quantity"]) for item in cart["items"]] == [("socks", 3)]
    assert cart["total"] == 37.5
    assert cart["currency"] == "EUR"


def test_an_order_empties_the_cart_and_counts_towards_lifetime_value(tracker, workspace, process):
    tracker.post("track", added("tent", 199.0))
    tracker.post(
        "track",
        {
            "userId": "u1",
            "event": "Order Completed",
            "timestamp": "2025-01-01T11:00:00Z",
            "properties": {"order_id": "A-1", "total": 205.5, "currency": "eur", "products": [{"product_id": "tent"}]},
        },
    )
    tracker.post(
        "track",
        {
            "userId": "u1",
            "event": "Order Completed",
            "timestamp": "2025-02-01T11:00:00Z",
            "properties": {"order_id": "A-2", "revenue": 50},
        },
    )
    tracker.post(
        "track",
        {
            "userId": "u1",
            "event": "Order Refunded",
            "timestamp": "2025-02-02T11:00:00Z",
            "properties": {"order_id": "A-2"},
        },
    )
    process()
    contact = Contact.objects.get(user_id="u1")
    assert contact.cart["items"] == []
    assert contact.orders_count == 2
    assert float(contact.lifetime_value) == 205.5
    order = Order.objects.get(order_id="A-1")
    assert (order.contact_id, float(order.revenue), order.currency, order.status) == (
        contact.pk,
        205.5,
        "EUR",
        "completed",
    )
    assert Order.objects.get(order_id="A-2").status == "refunded"


def test_recently_viewed_is_newest_first_without_duplicates(tracker, process):
    for n, product in enumerate(["a", "b", "a", "c"]):
        tracker.post(
            "track",
            {
                "userId": "u1",
                "event": "Product Viewed",
                "timestamp": f"2025-01-01T10:0{n}:00Z",
                "properties": {"product_id": product},
            },
        )
    process()
    assert [item["product_id"] for item in Contact.objects.get(user_id="u1").recently_viewed] == ["c", "a", "b"]


def test_checkout_started_with_products_sets_the_cart(tracker, process):
    tracker.post("track", added("old", 5))
    tracker.post(
        "track",
        {
            "userId": "u1",
            "event": "Checkout Started",
            "timestamp": "2025-01-01T12:00:00Z",
            "properties": {"products": [{"product_id": "x", "price": 10, "quantity": 2}]},
        },
    )
    process()
    cart = Contact.objects.get(user_id="u1").cart
    assert [(item["product_id"], item["quantity"]) for item in cart["items"]] == [("x", 2)]
    assert cart["total"] == 20.0


def test_last_activity_is_the_newest_event(tracker, process):
    tracker.post("track", {"userId": "u1", "event": "E", "timestamp": "2025-03-01T00:00:00Z"})
    tracker.post("track", {"userId": "u1", "event": "E", "timestamp": "2025-01-01T00:00:00Z"})
    process()
    assert Contact.objects.get(user_id="u1").last_activity_at.isoformat() == "2025-03-01T00:00:00+00:00"
