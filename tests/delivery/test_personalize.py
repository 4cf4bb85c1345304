"""The render context: the cart with live price and stock next to the price when added,
recommendations (bought together, then same category, then popular), product lookup by sku."""

from decimal import Decimal

from django.utils import timezone

from delivery import actions, personalize
from journeys.customers import context as contact_context
from journeys.models import Order, Product

from .conftest import cart, make_contact, make_products, make_template, simple_mjml


def order(workspace, contact, n, *skus):
    return Order.objects.create(
        workspace=workspace,
        contact=contact,
        order_id=f"o{n}",
        placed_at=timezone.now(),
        products=[{"sku": sku, "quantity": 1} for sku in skus],
    )


def test_the_cart_shows_the_price_when_added_next_to_todays_price_and_stock(workspace):
    make_products(workspace)
    contact = make_contact(
        workspace, cart=cart(("SKU-1001", 2, 49.99, "Trail Running Shoe"), ("GONE-1", 1, 5, "Retired item"))
    )
    data = contact_context.cart_of(contact)
    shoe, gone = data["items"]
    assert (shoe["price"], shoe["live_price"], shoe["stock"], shoe["price_dropped"]) == (
        Decimal("49.99"),
        Decimal("39.99"),
        3,
        True,
    )
    assert gone["live_price"] == Decimal("5") and gone["stock"] is None and gone["in_stock"] is True
    assert data["total"] == Decimal("84.98") and data["quantity"] == 3


def test_recommendations_are_bought_together_then_same_category_then_popular(workspace):
    make_products(workspace)
    Product.objects.create(workspace=workspace, sku="SKU-7007", name="Tent", price=Decimal("199"), category="camping")
    buyer = make_contact(workspace, "buyer@example.com")
    order(workspace, buyer, 1, "SKU-1001", "SKU-5005")
    order(workspace, buyer, 2, "SKU-1001", "SKU-5005", "SKU-3003")
    for n in range(3, 7):
        order(workspace, buyer, n, "SKU-7007")
    contact = make_contact(workspace, cart=cart(("SKU-1001", 1, 39.99, "Trail Running Shoe")))
    items = contact_context.cart_of(contact)["items"]
    skus = [p["sku"] for p in personalize.recommendations(workspace, contact, items)]
    # bought together (most often first), then the cart's category (running; the vest is sold out),
    # then the most popular
    assert skus[:2] == ["SKU-5005", "SKU-3003"]
    assert set(skus[2:4]) == {"SKU-2002", "SKU-4004"}
    assert skus[4] == "SKU-7007"
    assert "SKU-1001" not in skus and "SKU-6006" not in skus


def test_a_product_is_looked_up_by_sku_with_its_live_price_and_stock(workspace):
    make_products(workspace)
    mjml = simple_mjml(
        '{% assign cap = "SKU-4004" | product %}{{ cap.name }}: {{ cap.price | money }}, {{ cap.stock }} left. '
        '{{ products["SKU-2002"].price | money }}. {% assign none = "NOPE" | product %}[{{ none.name }}]'
    )
    _, version = make_template(workspace, "lookup", mjml, "x")
    Product.objects.filter(sku="SKU-4004").update(price=Decimal("17.50"), stock=2)
    rendered = actions.preview(workspace, version, contact=make_contact(workspace, locale="en_US"))
    assert "Running Cap: $17.50, 2 left. $14.99. []" in rendered.text
