"""Demo personas for the QA workspace: made-up customers whose emails differ (a German with the
German block, a price drop, an empty cart, a VIP, a customer far away). Idempotent: personas are
found by name and updated. Their carts use the workspace's catalog (the demo shop's products)."""

from decimal import Decimal

from accounts.access import scoped
from journeys.models import Product

from .models import Persona


def _item(product, quantity=1, markup="1"):
    """A cart line at the price it had when added (above today's price for a price drop)."""
    price = (product.price * Decimal(markup)).quantize(Decimal("0.01"))
    return {"sku": product.sku, "quantity": quantity, "price": float(price)}


def seed(workspace):
    products = list(scoped(Product, workspace).order_by("sku")[:4])
    first, second, third, fourth = (products + [None] * 4)[:4]
    personas = [
        {
            "name": "Jonas in Berlin",
            "description": "German customer with two items in the cart: sees the German shipping block.",
            "email": "jonas.persona@example.com",
            "traits": {"first_name": "Jonas", "last_name": "Becker", "plan": "member"},
            "country": "DE",
            "city": "Berlin",
            "timezone": "Europe/Berlin",
            "locale": "de_DE",
            "cart_items": [_item(first, 2)] if first else [],
            "recent_events": [
                {"name": "Checkout Started", "properties": {}, "ago": "PT2H"},
            ],
        },
        {
            "name": "Ada with a price drop",
            "description": "Added a product that is cheaper today: sees the old and the new price.",
            "email": "ada.persona@example.com",
            "traits": {"first_name": "Ada", "last_name": "Lovelace", "plan": "free"},
            "country": "GB",
            "city": "London",
            "timezone": "Europe/London",
            "locale": "en_GB",
            "cart_items": [_item(second, 1, "1.25")] if second else [],
            "recent_events": [{"name": "Checkout Started", "properties": {}, "ago": "PT1H"}],
        },
        {
            "name": "Sam with an empty cart",
            "description": "Nothing in the cart: the email falls back to recommendations.",
            "email": "sam.persona@example.com",
            "traits": {"first_name": "Sam", "plan": "free"},
            "country": "US",
            "city": "",
            "timezone": "America/New_York",
            "locale": "en_US",
            "cart_items": [],
            "recent_events": [
                {"name": "Product Viewed", "properties": {"sku": third.sku if third else ""}, "ago": "P1D"}
            ],
        },
        {
            "name": "Mia, VIP in Paris",
            "description": "Loyal customer with a big cart and many orders.",
            "email": "mia.persona@example.com",
            "traits": {"first_name": "Mia", "last_name": "Laurent", "plan": "vip", "orders_count": 12},
            "country": "FR",
            "city": "Paris",
            "timezone": "Europe/Paris",
            "locale": "fr_FR",
            "cart_items": [_item(third, 1), _item(fourth, 3)] if fourth else [],
            "recent_events": [
                {"name": "Order Completed", "properties": {"total": 240}, "ago": "P20D"},
                {"name": "Checkout Started", "properties": {}, "ago": "PT3H"},
            ],
        },
        {
            "name": "Kenji in Tokyo",
            "description": "Far away: times and quiet hours in Asia/Tokyo.",
            "email": "kenji.persona@example.com",
            "traits": {"first_name": "Kenji", "last_name": "Sato", "plan": "member"},
            "country": "JP",
            "city": "Tokyo",
            "timezone": "Asia/Tokyo",
            "locale": "ja_JP",
            "cart_items": [_item(fourth, 1)] if fourth else [],
            "recent_events": [{"name": "Checkout Started", "properties": {}, "ago": "PT30M"}],
        },
    ]
    for values in personas:
        name = values.pop("name")
        Persona.objects.update_or_create(workspace=workspace, name=name, defaults=values)
    return len(personas)
