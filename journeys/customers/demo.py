"""Demo customer data: a small outdoor shop's catalog and ~50 contacts with views, carts and orders.

Everything goes through the real code paths: products through `upsert_products`, contacts through
Segment calls parsed by `journeys.customers.ingest` and stored and processed like any integrator's. Every
call has a fixed messageId, so a second run stores nothing new (idempotent).
"""

import random
from datetime import timedelta

from .. import clock
from . import catalog, events, ingest

CATEGORIES = {
    "Shoes": [("Trail Runner 2", 119), ("Summit Hiker GTX", 189), ("Ridge Sandal", 59), ("Alpine Boot", 229)],
    "Jackets": [("Storm Shell", 249), ("Down Hoodie", 199), ("Windbreaker Lite", 89), ("Fleece Midlayer", 79)],
    "Backpacks": [("Daypack 22", 95), ("Trek 45", 179), ("Summit 65", 259), ("Hydration Vest", 110)],
    "Tents": [("Bivy One", 199), ("Ultralight 2P", 399), ("Basecamp 4P", 549), ("Tarp Shelter", 129)],
    "Sleeping": [("Down Bag -5°C", 329), ("Synthetic Bag 5°C", 149), ("Air Pad", 119), ("Foam Mat", 39)],
    "Accessories": [
        ("Merino Socks", 22),
        ("Trekking Poles", 89),
        ("Headlamp 400", 49),
        ("Water Filter", 45),
        ("Sun Hat", 35),
        ("Buff Neck Gaiter", 19),
    ],
    "Kitchen": [("Titanium Pot", 65), ("Canister Stove", 55), ("Spork", 9), ("Insulated Mug", 29)],
}

PEOPLE = [
    # (first, last, country, city, timezone, locale)
    ("Emma", "Schmidt", "DE", "Berlin", "Europe/Berlin", "de-DE"),
    ("Lukas", "Müller", "DE", "Munich", "Europe/Berlin", "de-DE"),
    ("Hannah", "Weber", "AT", "Vienna", "Europe/Vienna", "de-AT"),
    ("Noah", "Keller", "CH", "Zurich", "Europe/Zurich", "de-CH"),
    ("Olivia", "Smith", "US", "Denver", "America/Denver", "en-US"),
    ("Liam", "Johnson", "US", "New York", "America/New_York", "en-US"),
    ("Ava", "Williams", "US", "Seattle", "America/Los_Angeles", "en-US"),
    ("Mason", "Brown", "US", "Austin", "America/Chicago", "en-US"),
    ("Sophia", "Jones", "US", "Boston", "America/New_York", "en-US"),
    ("Amelia", "Taylor", "GB", "London", "Europe/London", "en-GB"),
    ("Oliver", "Davies", "GB", "Manchester", "Europe/London", "en-GB"),
    ("Chloé", "Martin", "FR", "Lyon", "Europe/Paris", "fr-FR"),
    ("Louis", "Bernard", "FR", "Paris", "Europe/Paris", "fr-FR"),
    ("Lucía", "García", "ES", "Madrid", "Europe/Madrid", "es-ES"),
    ("Mateo", "Fernández", "ES", "Barcelona", "Europe/Madrid", "es-ES"),
    ("Giulia", "Rossi", "IT", "Milan", "Europe/Rome", "it-IT"),
    ("Sanne", "de Vries", "NL", "Utrecht", "Europe/Amsterdam", "nl-NL"),
    ("Yuki", "Tanaka", "JP", "Tokyo", "Asia/Tokyo", "ja-JP"),
    ("Haruto", "Sato", "JP", "Osaka", "Asia/Tokyo", "ja-JP"),
    ("Ana", "Silva", "BR", "São Paulo", "America/Sao_Paulo", "pt-BR"),
    ("Pedro", "Costa", "BR", "Curitiba", "America/Sao_Paulo", "pt-BR"),
    ("Chloe", "Wilson", "AU", "Sydney", "Australia/Sydney", "en-AU"),
    ("Jack", "Thompson", "AU", "Melbourne", "Australia/Melbourne", "en-AU"),
    ("Priya", "Sharma", "IN", "Bengaluru", "Asia/Kolkata", "en-IN"),
    ("Ethan", "Tremblay", "CA", "Montreal", "America/Toronto", "fr-CA"),
    ("Maya", "Cohen", "CA", "Vancouver", "America/Vancouver", "en-CA"),
    ("Freya", "Hansen", "DK", "Copenhagen", "Europe/Copenhagen", "da-DK"),
    ("Elias", "Andersson", "SE", "Stockholm", "Europe/Stockholm", "sv-SE"),
    ("Zofia", "Nowak", "PL", "Kraków", "Europe/Warsaw", "pl-PL"),
    ("Aroha", "Ngata", "NZ", "Wellington", "Pacific/Auckland", "en-NZ"),
]
CONTACTS = 50
# Past customers with up to two years of orders, so that the demo's customer-value models and
# recommendations have a history to learn from (journeys/predictions/): each buys at a rate of
# its own from one or two favourite categories, and may have stopped buying.
PAST_CUSTOMERS = 160
HISTORY_DAYS = 720


def _products():
    items, n = [], 0
    for category, products in CATEGORIES.items():
        for name, price in products:
            n += 1
            sku = f"WL-{n:03d}"
            items.append(
                {
                    "sku": sku,
                    "name": name,
                    "price": price,
                    "currency": "EUR",
                    "stock": (n * 37) % 60,
                    "category": category,
                    "tags": [category.lower(), "outdoor"] + (["sale"] if n % 7 == 0 else []),
                    "url": f"https://shop.example.com/products/{sku.lower()}",
                    "image_url": f"https://picsum.photos/seed/{sku.lower()}/480/480",
                    "attributes": {"brand": "Wayline Outdoor"},
                }
            )
    return items


def _person(index):
    first, last, country, city, tz, locale = PEOPLE[index % len(PEOPLE)]
    suffix = "" if index < len(PEOPLE) else str(index // len(PEOPLE) + 1)
    email = f"{first.lower()}.{last.lower().replace(' ', '')}{suffix}@example.com"
    email = email.encode("ascii", "ignore").decode() if not email.isascii() else email
    return {
        "user_id": f"cust-{1000 + index}",
        "anonymous_id": f"anon-demo-{index:03d}",
        "traits": {
            "email": email,
            "first_name": first,
            "last_name": last,
            "plan": ["free", "member", "vip"][index % 3],
            "address": {"country": country, "city": city},
            "newsletter": index % 4 != 0,
        },
        "context": {"timezone": tz, "locale": locale, "location": {"country": country, "city": city}},
    }


def _product_props(product, quantity=None):
    props = {
        "product_id": product["sku"],
        "sku": product["sku"],
        "name": product["name"],
        "price": product["price"],
        "currency": product["currency"],
        "category": product["category"],
        "url": product["url"],
        "image_url": product["image_url"],
    }
    if quantity is not None:
        props["quantity"] = quantity
    return props


def _calls(products, now):
    """The demo's Segment calls, deterministic (one seeded RNG), oldest first."""
    rng = random.Random(20240501)
    calls = []

    def call(kind, person, index, seq, at, **fields):
        body = {
            "type": kind,
            "messageId": f"demo-{index:03d}-{seq:03d}",
            "anonymousId": person["anonymous_id"],
            "timestamp": at.isoformat(),
            "context": person["context"],
            **fields,
        }
        calls.append(body)

    for index in range(CONTACTS):
        person = _person(index)
        at = now - timedelta(days=rng.randint(5, 90), hours=rng.randint(0, 23))
        seq = 0
        # Anonymous browsing first, then the visitor identifies (merged into the known contact).
        for _ in range(rng.randint(1, 4)):
            product = rng.choice(products)
            call("track", person, index, seq, at, event="Product Viewed", properties=_product_props(product))
            seq += 1
            at += timedelta(minutes=rng.randint(1, 30))
        call("identify", person, index, seq, at, userId=person["user_id"], traits=person["traits"])
        seq += 1
        uid = {"userId": person["user_id"]}
        for order in range(rng.choice([0, 0, 1, 1, 2, 3])):
            basket = rng.sample(products, rng.randint(1, 3))
            for product in basket:
                call(
                    "track", person, index, seq, at, event="Product Added", properties=_product_props(product, 1), **uid
                )
                seq += 1
                at += timedelta(minutes=rng.randint(1, 20))
            total = sum(product["price"] for product in basket)
            call(
                "track",
                person,
                index,
                seq,
                at,
                event="Order Completed",
                properties={
                    "order_id": f"DEMO-{index:03d}-{order}",
                    "total": total,
                    "revenue": total,
                    "currency": "EUR",
                    "products": [_product_props(product, 1) for product in basket],
                },
                **uid,
            )
            seq += 1
            at += timedelta(days=rng.randint(1, 20))
        if index % 3 == 0:  # an abandoned cart
            for product in rng.sample(products, rng.randint(1, 3)):
                call(
                    "track",
                    person,
                    index,
                    seq,
                    min(at, now),
                    event="Product Added",
                    properties=_product_props(product, rng.randint(1, 2)),
                    **uid,
                )
                seq += 1
                at += timedelta(minutes=rng.randint(1, 10))
            call(
                "track",
                person,
                index,
                seq,
                min(at, now),
                event="Checkout Started",
                properties={"currency": "EUR"},
                **uid,
            )
            seq += 1
        for _ in range(rng.randint(0, 3)):
            product = rng.choice(products)
            at = min(at + timedelta(hours=rng.randint(1, 48)), now)
            call("track", person, index, seq, at, event="Product Viewed", properties=_product_props(product), **uid)
            seq += 1
        call("page", person, index, seq, min(at, now), name="Home", properties={"path": "/"}, **uid)
    return calls


def _history_calls(products, now):
    """The past customers' identify and Order Completed calls, deterministic (a seeded RNG)."""
    rng = random.Random(19970101)
    by_category = {}
    for product in products:
        by_category.setdefault(product["category"], []).append(product)
    categories = sorted(by_category)
    calls = []
    for index in range(CONTACTS, CONTACTS + PAST_CUSTOMERS):
        person = _person(index)
        tastes = rng.sample(categories, rng.choice([1, 2]))
        rate = rng.gammavariate(0.8, 1 / 12)  # orders per week: most buy rarely, a few often
        stop = rng.betavariate(1, 3)  # the chance to stop buying after each order
        at = now - timedelta(days=rng.randint(120, HISTORY_DAYS), hours=rng.randint(8, 20))
        base = {"anonymousId": person["anonymous_id"], "context": person["context"], "userId": person["user_id"]}
        calls.append(
            {
                "type": "identify",
                "messageId": f"demo-past-{index:03d}-id",
                "timestamp": at.isoformat(),
                "traits": person["traits"],
                **base,
            }
        )
        for order in range(12):
            if at >= now:
                break
            basket = rng.sample(by_category[rng.choice(tastes)], rng.randint(1, 2))
            total = round(sum(product["price"] for product in basket), 2)
            calls.append(
                {
                    "type": "track",
                    "event": "Order Completed",
                    "messageId": f"demo-past-{index:03d}-{order:02d}",
                    "timestamp": at.isoformat(),
                    "properties": {
                        "order_id": f"PAST-{index:03d}-{order:02d}",
                        "total": total,
                        "revenue": total,
                        "currency": "EUR",
                        "products": [_product_props(product, 1) for product in basket],
                    },
                    **base,
                }
            )
            if rng.random() < stop:
                break
            at += timedelta(days=max(1, round(rng.expovariate(rate) * 7)) if rate > 0 else HISTORY_DAYS)
    return calls


def seed(workspace):
    """Idempotent: products are upserted by sku, calls deduplicated by messageId."""
    products = _products()
    catalog.upsert_products(workspace, products)
    now = clock.now().replace(microsecond=0)
    calls = _history_calls(products, now) + _calls(products, now)
    for start in range(0, len(calls), ingest.MAX_BATCH_EVENTS):
        rows, errors = ingest.parse_batch({"batch": calls[start : start + ingest.MAX_BATCH_EVENTS]}, now)
        if errors:
            raise ValueError(f"demo calls rejected: {errors}")
        events.store_events(workspace.id, rows)
    events.process_now(workspace.id)
    return {"products": len(products), "calls": len(calls)}
