"""Recommendations learned from behaviour (issue 14): how good each strategy is, and what it costs.

    .venv/bin/python bench/recommend.py                           # SQLite (a fresh database in a temp dir)
    DATABASE_URL=postgres://... .venv/bin/python bench/recommend.py
    BENCH_CONTACTS=3000 (default)  BENCH_SEED=14  CDNOW_DIR=/work/shared/data/cdnow

(1) A generated shop: CATEGORIES categories of PER_CATEGORY products each, popularity Zipf within a
category (a few popular items, a long niche tail). Each contact has a taste (1 or 2 favourite
categories) and shops in sessions over 90 days: a session picks a category (a favourite 85% of the
time), views 1-5 of its products (Zipf), adds each viewed one to the cart with probability 0.3,
and orders what it carted 60% of the time (never a product it already bought). One product per
category is launched in the last 10 days (a third of the sessions then look at it first): that is
what "trending" should find. Each contact's last order is left out, with everything from the start
of its session on; the fit (journeys/predictions/similar.py, the worker's code) runs on the rest,
and each contact's recommendations come from the render path's object
(personalize.Recommender.for_contact, what `recommendations` is in a template), 10 places.
Printed: hit rate@4 (any left-out product among the first 4) and recall@10 (share of the left-out
products among the first 10) of each strategy next to the popularity baseline (the `popular`
strategy: purchases, recent weighted more), and the ratio. Data are written with bulk_create
(a benchmark of the models, not of ingestion).

(2) The CDNOW purchase sample (transactions.txt: customer, day, number of CDs, dollars): it names
no products, so it is used for timing only: each line becomes one order of as many synthetic
products as it has CDs (each customer given one of 8 synthetic genres of 60 products, Zipf; a CD
outside the genre 20% of the time), its day shifted so the last day is yesterday. Printed: fit
time (window widened to the sample's 18 months), and the time of one contact's `recommendations`
(a new Recommender each time, as one render outside a batch: fit lookup, orders, neighbours,
products), p50 and p95 over 500 customers.

Each headline figure on its own line. Never fails on time or quality.
"""

import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CONTACTS = int(os.environ.get("BENCH_CONTACTS", 3000))
SEED = int(os.environ.get("BENCH_SEED", 14))
DATA = Path(os.environ.get("CDNOW_DIR", "/work/shared/data/cdnow"))
CATEGORIES, PER_CATEGORY = 8, 60
DAYS = 90
LAUNCH_DAYS = 10
ZIPF = 1.1
STRATEGIES = ("for_you", "similar", "bought_together", "trending", "popular")
LABELS = {
    "for_you": "for_you",
    "similar": "similar to last viewed",
    "bought_together": "bought together",
    "trending": "trending",
    "popular": "popular",
}
PLACES = 10
TIMED = 500


def setup_environment():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if not os.environ.get("DATABASE_URL"):
        os.environ["WAYLINE_VAR_DIR"] = tempfile.mkdtemp(prefix="wayline-bench-")
    import django

    django.setup()
    from benchlib import fresh_database

    fresh_database()


def zipf_weights(n, exponent=ZIPF):
    return [1.0 / (rank + 1) ** exponent for rank in range(n)]


def make_catalog(workspace, skus_by_category):
    from journeys.models import Product

    Product.objects.bulk_create(
        Product(
            workspace=workspace,
            sku=sku,
            name=f"Product {sku}",
            price=Decimal("19.90"),
            stock=100,
            category=category,
            url=f"https://shop.example/p/{sku}",
            image_url=f"https://shop.example/i/{sku}.jpg",
        )
        for category, skus in skus_by_category.items()
        for sku in skus
    )


class Shop:
    """The generated shop's behaviour, before it is written: per contact, its sessions."""

    def __init__(self, rng, now):
        self.rng, self.now = rng, now
        self.categories = [f"c{n}" for n in range(CATEGORIES)]
        self.skus = {c: [f"{c}-{n:03d}" for n in range(PER_CATEGORY)] for c in self.categories}
        self.weights = zipf_weights(PER_CATEGORY)
        # A niche product of each category, launched lately.
        self.launched = {c: self.skus[c][rng.randrange(PER_CATEGORY // 2, PER_CATEGORY)] for c in self.categories}

    def contact(self):
        """[(start, [(kind, sku, at)])] sessions, oldest first; kind: view, cart, order."""
        rng = self.rng
        taste = rng.sample(self.categories, rng.choice((1, 2)))
        starts = sorted(rng.uniform(0, DAYS) for _ in range(1 + min(12, int(rng.expovariate(1 / 3.5)))))
        bought, sessions = set(), []
        for day in starts:
            start = self.now - timedelta(days=DAYS - day)
            category = rng.choice(taste) if rng.random() < 0.85 else rng.choice(self.categories)
            count = rng.randint(1, 5)
            seen = []
            if DAYS - day < LAUNCH_DAYS and rng.random() < 0.33:
                seen.append(self.launched[category])
            while len(seen) < count:
                sku = rng.choices(self.skus[category], self.weights)[0]
                if sku not in seen:
                    seen.append(sku)
            events, carted, at = [], [], start
            for sku in seen:
                at += timedelta(minutes=rng.uniform(0.5, 4))
                events.append(("view", sku, at))
                if rng.random() < 0.3 and sku not in bought:
                    at += timedelta(seconds=30)
                    events.append(("cart", sku, at))
                    carted.append(sku)
            if carted and rng.random() < 0.6:
                events.append(("order", tuple(carted), at + timedelta(minutes=3)))
                bought.update(carted)
            sessions.append((start, events))
        return sessions


def split(sessions):
    """(training events, left-out skus): the last order's session on is left out."""
    last = max((n for n, (_, events) in enumerate(sessions) if any(k == "order" for k, _, _ in events)), default=None)
    if last is None:
        return [e for _, events in sessions for e in events], set()
    target = next(set(sku) for k, sku, _ in sessions[last][1] if k == "order")
    return [e for _, events in sessions[:last] for e in events], target


def write_shop(workspace, shop, rng):
    """Contacts, events and orders (bulk); the state of each contact at its cut-off (recently
    viewed, cart). Returns [(contact, left-out skus)]."""
    from journeys.models import Contact, Event, Order

    people = []
    for n in range(CONTACTS):
        training, target = split(shop.contact())
        views = [(sku, at) for kind, sku, at in training if kind == "view"]
        recent = list(dict.fromkeys(sku for sku, _ in sorted(views, key=lambda v: v[1], reverse=True)))[:20]
        when = {sku: at for sku, at in views}
        last_order_at = max((at for kind, _, at in training if kind == "order"), default=None)
        bought = {s for kind, sku, _ in training if kind == "order" for s in sku}
        cart = [
            sku
            for kind, sku, at in training
            if kind == "cart" and (last_order_at is None or at > last_order_at) and sku not in bought
        ]
        contact = Contact(
            workspace=workspace,
            user_id=f"u{n}",
            email=f"u{n}@example.com",
            recently_viewed=[{"sku": sku, "viewed_at": when[sku].isoformat()} for sku in recent],
            cart={"items": [{"sku": sku, "quantity": 1, "price": "19.90"} for sku in dict.fromkeys(cart)]},
            orders_count=sum(1 for kind, _, _ in training if kind == "order"),
        )
        people.append((contact, training, target))
    Contact.objects.bulk_create([c for c, _, _ in people], batch_size=1000)
    contacts = {c.user_id: c for c in Contact.objects.filter(workspace=workspace)}
    events, orders = [], []
    for contact, training, _ in people:
        saved = contacts[contact.user_id]
        contact.pk = saved.pk
        for kind, sku, at in training:
            if kind == "order":
                orders.append(
                    Order(
                        workspace=workspace,
                        contact_id=saved.pk,
                        order_id=uuid.uuid4().hex,
                        placed_at=at,
                        products=[{"sku": s, "quantity": 1} for s in sku],
                    )
                )
            else:
                events.append(
                    Event(
                        workspace=workspace,
                        contact_id=saved.pk,
                        message_id=uuid.uuid4().hex,
                        type="track",
                        name="Product Viewed" if kind == "view" else "Product Added",
                        properties={"sku": sku, "product_id": sku},
                        timestamp=at,
                        processed_at=at,
                    )
                )
    Event.objects.bulk_create(events, batch_size=2000)
    Order.objects.bulk_create(orders, batch_size=2000)
    return [(contact, target) for contact, _, target in people], len(events), len(orders)


def evaluate(workspace, people, now):
    """{strategy: (hit rate@4, recall@10)} over the contacts with a left-out order."""
    from delivery.personalize import Recommender
    from journeys.customers import context as contact_context

    hits = {name: [] for name in STRATEGIES}
    recalls = {name: [] for name in STRATEGIES}
    recommender = Recommender(workspace, limit=PLACES)
    for contact, target in people:
        if not target:
            continue
        recs = recommender.for_contact(contact, contact_context.cart_of(contact)["items"], now)
        for name in STRATEGIES:
            skus = [p["sku"] for p in recs[name]]
            hits[name].append(bool(target & set(skus[:4])))
            recalls[name].append(len(target & set(skus[:PLACES])) / len(target))
    return {name: (statistics.mean(hits[name]), statistics.mean(recalls[name])) for name in STRATEGIES}


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def generated(now):
    from accounts import actions
    from journeys.predictions import similar

    rng = random.Random(SEED)
    workspace = actions.create_workspace(f"Generated {uuid.uuid4().hex[:6]}")
    shop = Shop(rng, now)
    make_catalog(workspace, shop.skus)
    started = time.perf_counter()
    people, n_events, n_orders = write_shop(workspace, shop, rng)
    print(
        f"generated shop: {CATEGORIES} categories x {PER_CATEGORY} products, {CONTACTS} contacts, "
        f"{n_events} view/cart events and {n_orders} orders kept for the fit, "
        f"{sum(1 for _, t in people if t)} left-out last orders (written in {time.perf_counter() - started:.1f} s)"
    )
    started = time.perf_counter()
    fit = similar.fit_workspace(workspace.pk, now=now)
    took = time.perf_counter() - started
    q = fit.quality
    print(
        f"generated fit: {took:.2f} s ({fit.status}; {q.get('contacts')} contacts, {q.get('products')} products, "
        f"density {q.get('density')}, {q.get('rows')} similarity rows)"
    )
    launched = set(shop.launched.values())
    trending = [sku for sku, _ in fit.params["trending"][:CATEGORIES]]
    popular = [sku for sku, _ in fit.params["popular"][:CATEGORIES]]
    print(
        f"trending top {CATEGORIES}: {len(launched & set(trending))} of the {CATEGORIES} products launched in the "
        f"last {LAUNCH_DAYS} days (popular top {CATEGORIES}: {len(launched & set(popular))})"
    )
    scores = evaluate(workspace, people, now)
    base_hit, base_recall = scores["popular"]
    print()
    print(f"{'strategy':<24} | {'hit rate@4':>10} | {'x popular':>9} | {'recall@10':>9} | {'x popular':>9}")
    for name in STRATEGIES:
        hit, recall = scores[name]
        print(
            f"{LABELS[name]:<24} | {hit:>10.3f} | {hit / base_hit if base_hit else 0:>8.1f}x | "
            f"{recall:>9.3f} | {recall / base_recall if base_recall else 0:>8.1f}x"
        )
    print()
    for name in STRATEGIES:
        hit, recall = scores[name]
        print(
            f"{LABELS[name]} hit rate@4: {hit:.3f} (popular {base_hit:.3f}, {hit / base_hit if base_hit else 0:.1f}x)"
        )
        print(
            f"{LABELS[name]} recall@10: {recall:.3f} (popular {base_recall:.3f}, "
            f"{recall / base_recall if base_recall else 0:.1f}x)"
        )


def cdnow(now):
    from accounts import actions
    from delivery.personalize import Recommender
    from journeys.customers import context as contact_context
    from journeys.models import Contact, Order
    from journeys.predictions import similar

    path = DATA / "transactions.txt"
    if not path.exists():
        print(f"CDNOW: no {path}, skipped")
        return
    rng = random.Random(SEED)
    rows = []
    for line in path.read_text().splitlines():
        _, customer, day, cds, _ = line.split()
        rows.append((int(customer), date(int(day[:4]), int(day[4:6]), int(day[6:])), int(cds)))
    last = max(day for _, day, _ in rows)
    shift = (now.date() - timedelta(days=1)) - last
    workspace = actions.create_workspace(f"CDNOW {uuid.uuid4().hex[:6]}")
    genres = {f"g{n}": [f"g{n}-{k:03d}" for k in range(60)] for n in range(8)}
    make_catalog(workspace, genres)
    customers = sorted({c for c, _, _ in rows})
    Contact.objects.bulk_create(
        [Contact(workspace=workspace, user_id=f"cd{c}", email=f"cd{c}@example.com") for c in customers], batch_size=1000
    )
    ids = dict(Contact.objects.filter(workspace=workspace).values_list("user_id", "pk"))
    taste = {c: rng.choice(list(genres)) for c in customers}
    weights = zipf_weights(60)
    orders = []
    for n, (customer, day, cds) in enumerate(rows):
        skus = set()
        for _ in range(max(1, min(cds, 20))):
            genre = taste[customer] if rng.random() < 0.8 else rng.choice(list(genres))
            skus.add(rng.choices(genres[genre], weights)[0])
        placed = datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + shift
        orders.append(
            Order(
                workspace=workspace,
                contact_id=ids[f"cd{customer}"],
                order_id=f"cdnow-{n}",
                placed_at=placed,
                products=[{"sku": s, "quantity": 1} for s in sorted(skus)],
            )
        )
    Order.objects.bulk_create(orders, batch_size=2000)
    window = (now.date() - (min(day for _, day, _ in rows) + shift)).days + 1
    started = time.perf_counter()
    fit = similar.fit_workspace(workspace.pk, now=now, window_days=window)
    took = time.perf_counter() - started
    q = fit.quality
    print(
        f"CDNOW ({len(rows)} orders, {len(customers)} customers; products synthetic: timing only) "
        f"fit time: {took:.2f} s ({fit.status}; {q.get('products')} products, {q.get('rows')} similarity rows)"
    )
    timed = rng.sample(list(Contact.objects.filter(workspace=workspace)), min(TIMED, len(customers)))
    times = {"for_you": [], "all five": []}
    for contact in timed:
        started = time.perf_counter()
        recs = Recommender(workspace).for_contact(contact, contact_context.cart_of(contact)["items"], now)
        list(recs)
        times["for_you"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        recs = Recommender(workspace).for_contact(contact, [], now)
        for name in STRATEGIES:
            recs[name]
        times["all five"].append((time.perf_counter() - started) * 1000)
    for name, values in times.items():
        print(
            f"CDNOW per-contact query time ({name}, a new Recommender each): "
            f"p50 {percentile(values, 0.5):.1f} ms, p95 {percentile(values, 0.95):.1f} ms over {len(values)} customers"
        )


def main():
    setup_environment()
    from django.db import connection

    from journeys import clock

    now = clock.now().replace(microsecond=0)
    print(f"Wayline recommendations bench on {connection.vendor}, seed {SEED}")
    generated(now)
    print()
    cdnow(now)


if __name__ == "__main__":
    main()
