"""The email's extras on top of the one contact context (journeys/customers/context.py): the
recommendations, the contact's offer (a coupon assigned once per contact and journey), their links
and the adaptive blocks shown or hidden for them. Everything else a template reads (`contact`,
`cart` with live price and stock, `orders`, `viewed`, `products`, `event`, `journey`, `workspace`)
is the context every rule, webhook and update_contact value sees, so one expression means one
thing in an email and in a branch. Only what the template version uses (its `roots`) costs a
query: the context's roots are computed when first read, the extras only when the version names
them.
"""

from collections import Counter

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone

from accounts.access import scoped
from journeys import clock
from journeys.customers import context as contact_context
from journeys.customers.context import PRODUCT_FIELDS, LiveProducts, product_data
from journeys.engine import Subject, rules
from journeys.liquid import HTML_ONLY, LIVE_IMAGE_URL, PERSONA
from journeys.models import Order, Product

from . import live_images
from .models import Coupon
from .recommend import Strategies

RECOMMENDATIONS = 6
ORDERS_SCANNED = 500


_order_stats_cache = {}  # workspace id -> (orders fingerprint, popular, pairs)


def _order_stats(workspace):
    """How often each sku sold, and which skus sold together, over the latest orders. Kept per
    process until an order is added or removed (one aggregate query tells), not per email."""
    orders = scoped(Order, workspace)
    fingerprint = tuple(orders.aggregate(n=Count("id"), last=Max("id")).values())
    cached = _order_stats_cache.get(workspace.pk)
    if cached is not None and cached[0] == fingerprint:
        return cached[1], cached[2]
    popular, pairs = Counter(), {}
    for products in orders.order_by("-placed_at").values_list("products", flat=True)[:ORDERS_SCANNED]:
        skus = {str(p.get("sku") or p.get("product_id")) for p in products or [] if isinstance(p, dict)}
        popular.update(skus)
        for sku in skus:
            pairs.setdefault(sku, Counter()).update(skus - {sku})
    _order_stats_cache[workspace.pk] = (fingerprint, popular, pairs)
    return popular, pairs


class Recommender:
    """Recommendations for the contacts of one workspace, with what they share looked up once (a
    batch of sends keeps one): the order statistics, products by sku, each set of categories'
    newest products, the newest products, and the strategies learned from behaviour
    (delivery/recommend.py). `recommend` is today's chain: bought together with the cart's items,
    then the same category, then popular; in stock, not already in the cart. `for_contact` is what
    a template's `recommendations` reads: "for you" by default, each strategy by name, today's
    chain filling the places when data are thin."""

    SPARE = 20  # more than a place needs, so that a contact's own cart does not empty a shared list

    def __init__(self, workspace, limit=RECOMMENDATIONS, contacts=()):
        """`contacts`: a batch's, whose orders the strategies then read in one query."""
        self.workspace, self.limit = workspace, limit
        self._stats, self._newest = None, None
        self._products, self._categories = {}, {}
        self.strategies = Strategies(self, contacts)

    def _candidates(self):
        return scoped(Product, self.workspace).exclude(stock=0).only(*PRODUCT_FIELDS)

    def products(self, skus):
        """sku -> Product (in stock or not) for those that exist, fetched once per sku."""
        missing = [sku for sku in skus if sku not in self._products]
        if missing:
            found = {p.sku: p for p in scoped(Product, self.workspace).filter(sku__in=missing)}
            self._products.update({sku: found.get(sku) for sku in missing})
        return {sku: self._products[sku] for sku in skus if self._products.get(sku) is not None}

    def stats(self):
        if self._stats is None:
            self._stats = _order_stats(self.workspace)
        return self._stats

    def same_category(self, categories):
        key = frozenset(categories)
        if key not in self._categories:
            self._categories[key] = list(
                self._candidates()
                .filter(category__in=key)
                .order_by("-updated_at")
                .values_list("sku", flat=True)[: 2 * self.limit + self.SPARE]
            )
        return self._categories[key]

    def newest(self):
        if self._newest is None:
            self._newest = list(self._candidates().order_by("-updated_at")[: self.limit + self.SPARE])
            self._products.update({p.sku: p for p in self._newest})
        return self._newest

    def for_contact(self, contact, cart_items, now=None):
        """The contact's `recommendations` (delivery/recommend.py: a list that answers each strategy)."""
        return self.strategies.for_contact(contact, cart_items, now or clock.now())

    def recommend(self, contact, cart_items, exclude=(), keep=None):
        """Today's chain. `exclude`: skus never picked besides the cart (or the viewed products it is
        seeded with); `keep`: a test each product must pass besides being in stock."""
        limit = self.limit
        seed = [i["sku"] for i in cart_items] or [p.get("sku") for p in (contact.recently_viewed or []) if p.get("sku")]
        popular, pairs = self.stats()
        together = Counter()
        for sku in set(seed):
            together.update(pairs.get(sku, {}))
        exclude = set(seed) | set(exclude)
        for sku in exclude:
            together.pop(sku, None)
        ranked = [sku for sku, _ in together.most_common()]
        categories = {i.get("category") for i in cart_items if i.get("category")}
        if seed and not categories:
            categories = {p.category for p in self.products(seed).values()} - {""}
        same = [sku for sku in self.same_category(categories) if sku not in exclude][: 2 * limit] if categories else []
        # Enough of each kind to fill `limit` places when some are sold out or in the cart.
        wanted = ranked[: 2 * limit] + same + [sku for sku, _ in popular.most_common(4 * limit)]
        products = self.products(list(dict.fromkeys(wanted)))
        picked, seen = [], set()
        for sku in wanted:
            product = products.get(sku)
            usable = product is not None and product.stock != 0 and (keep is None or keep(product))
            if usable and sku not in exclude and sku not in seen:
                seen.add(sku)
                picked.append(product_data(product))
                if len(picked) == limit:
                    return picked
        for product in self.newest():  # a young shop without orders: its newest products
            if len(picked) == limit:
                break
            if product.sku not in exclude and product.sku not in seen and (keep is None or keep(product)):
                seen.add(product.sku)
                picked.append(product_data(product))
        return picked


def recommendations(workspace, contact, cart_items, limit=RECOMMENDATIONS):
    """The recommendations of one contact (a Recommender of its own)."""
    return Recommender(workspace, limit).recommend(contact, cart_items)


def assign_coupons(pool, contacts, journey_key, now):
    """Each contact's code from the pool for this journey: assigned once, the same code every time
    after, for a batch of contacts in a few statements. Codes are taken under row locks (other
    workers skip them); the unique constraint (pool, contact, journey) settles a race for the same
    contact. Returns {contact id: Coupon}; a contact the pool has no code left for is missing."""
    ids = [c.pk for c in contacts]
    found = {c.contact_id: c for c in Coupon.objects.filter(pool=pool, journey_key=journey_key, contact_id__in=ids)}
    for _ in range(3):
        need = [pk for pk in dict.fromkeys(ids) if pk not in found]
        if not need:
            break
        try:
            with transaction.atomic():
                # Never-assigned codes only: an erased contact's code stays used.
                free = list(
                    Coupon.objects.select_for_update(skip_locked=True)
                    .filter(pool=pool, contact__isnull=True, assigned_at__isnull=True)
                    .order_by("id")
                    .values_list("id", flat=True)[: len(need)]
                )
                if not free:
                    break
                expires = now + timezone.timedelta(days=pool.valid_days)
                _claim_codes(list(zip(free, need, strict=False)), journey_key, now, expires)
        except IntegrityError:  # another worker assigned one of these contacts a code meanwhile
            pass
        found.update(
            {c.contact_id: c for c in Coupon.objects.filter(pool=pool, journey_key=journey_key, contact_id__in=need)}
        )
    return found


def _claim_codes(pairs, journey_key, now, expires):
    """Give coupon ids to contact ids (one statement run for every pair; only codes still free)."""
    from django.db import connection

    ops = connection.ops
    table = ops.quote_name(Coupon._meta.db_table)
    sql = (
        f"UPDATE {table} SET contact_id = %s, journey_key = %s, assigned_at = %s, expires_at = %s "
        "WHERE id = %s AND assigned_at IS NULL"
    )
    when = ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(contact, journey_key, when(now), when(expires), code) for code, contact in pairs])


def assign_coupon(pool, contact, journey_key, now):
    """The contact's code from the pool for this journey (a batch of one)."""
    return assign_coupons(pool, [contact], journey_key, now).get(contact.pk)


class Batch:
    """What the renders of a batch of one workspace's messages share, loaded together: the products
    their carts hold, the recommender, and the coupons of those that show an offer."""

    def __init__(self, workspace, contacts):
        self.workspace = workspace
        self.catalog = contact_context.catalog_for(contacts)
        self.recommender = Recommender(workspace, contacts=contacts)
        self.coupons = {}  # (pool id, journey key) -> {contact id: Coupon}

    def assign_offers(self, wanted, now):
        """wanted: [(pool, journey_key, contact)]: codes for all of them, a few statements per pool."""
        groups = {}
        for pool, journey_key, contact in wanted:
            groups.setdefault((pool.pk, journey_key), (pool, []))[1].append(contact)
        for (pool_id, journey_key), (pool, contacts) in groups.items():
            self.coupons[(pool_id, journey_key)] = assign_coupons(pool, contacts, journey_key, now)

    def coupon(self, pool, contact, journey_key, now):
        assigned = self.coupons.get((pool.pk, journey_key))
        if assigned is not None and contact.pk in assigned:
            return assigned[contact.pk]
        return assign_coupon(pool, contact, journey_key, now)


def offer_data(coupon, pool):
    if coupon is None:
        return None
    return {
        "code": coupon.code,
        "percent_off": pool.percent_off,
        "description": pool.description,
        "expires_at": coupon.expires_at,
    }


def links_for(token, site_url=None):
    base = (site_url or settings.SITE_URL).rstrip("/")
    return {
        "unsubscribe": f"{base}/t/u/{token}",
        "preferences": f"{base}/t/p/{token}",
        "view_in_browser": f"{base}/t/v/{token}",
    }


def live_image_extras(workspace, token, now, sample=None):
    """What `{% live_image %}` needs (journeys/liquid.py): a message's signed image URLs, or for a
    preview the picture itself (of a sample's recommended products too, where the workspace has no
    such product); and the marker that keeps the <img> out of the text part."""
    if token == "preview":
        products = (sample or {}).get("recommendations") or []
        samples = {p["sku"]: p for p in products if isinstance(p, dict) and isinstance(p.get("sku"), str)}
        make_url = live_images.preview_maker(workspace.pk, now, samples)
    else:
        make_url = live_images.url_maker(token, now)
    return {LIVE_IMAGE_URL: make_url, HTML_ONLY: live_images.html_only}


def _adaptive(blocks, subject):
    """Which adaptive blocks show for this subject (their show-if rules, on the same facts)."""
    conditions = {name: block.get("condition") for name, block in (blocks or {}).items() if block.get("condition")}
    return {name: rules.evaluate(rule, subject) for name, rule in conditions.items()}


def _blank_context(workspace, now):
    """No contact at all (a preview of how the defaults read)."""
    return contact_context.Context(
        {"now": now, "event": {}, "journey": {}},
        {"products": lambda: LiveProducts(workspace.pk), "workspace": lambda: {"name": workspace.name}},
    )


def build_context(
    workspace,
    version,
    *,
    contact=None,
    journey_context=None,
    token="preview",
    journey_key="",
    assign_offer=False,
    sample=None,
    now=None,
    batch=None,
):
    """The render data for `version` and `contact` (or only `sample`, a given context, for previews).

    `journey_context`: the enrollment's context as the email node saw it (trigger, received events,
    webhook results, and `journey`: id, name, version). `assign_offer` gives the contact a real
    code from the template's coupon pool (sends only; previews show a sample code and never use
    one up). `batch`: what a batch of renders shares, loaded together (`Batch`)."""
    now = now or clock.now()
    roots = set(version.roots or [])
    journey_context = journey_context or {}
    if contact is not None:
        facts = contact_context.build(contact, workspace=workspace, now=now, catalog=batch.catalog if batch else None)
        history = contact_context.history_of(contact, now)
    else:
        facts, history = _blank_context(workspace, now), None
    journey = dict(journey_context.get("journey") or {})
    subject = Subject(facts, context=dict(journey_context), journey=journey, now=now, history=history)
    extras = {"links": links_for(token), **live_image_extras(workspace, token, now, sample)}
    if contact is not None and "recommendations" in roots:
        recommender = batch.recommender if batch else Recommender(workspace)
        extras["recommendations"] = recommender.for_contact(contact, facts["cart"]["items"], now)
    if contact is not None and "offer" in roots:
        pool = version.template.coupon_pool
        if pool is not None:
            coupon = None
            if assign_offer:
                coupon = (
                    batch.coupon(pool, contact, journey_key, now)
                    if batch
                    else assign_coupon(pool, contact, journey_key, now)
                )
            if coupon is None and not assign_offer:
                coupon = Coupon(code="PREVIEW-CODE", expires_at=now + timezone.timedelta(days=pool.valid_days))
            extras["offer"] = offer_data(coupon, pool)
    if sample:
        extras.update({key: value for key, value in sample.items() if key not in ("products",)})
    data = subject.namespace().new_child(extras)
    if version.blocks:
        # Show-if rules see what the template sees (a sample's values too).
        data["_blocks"] = _adaptive(version.blocks, rules.DictFacts(data, now=now, history=history))
    if version.roots:
        # The roots the template reads, computed now into one plain dict: Liquid looks names up
        # many times per render, a chain of mappings costs on every lookup.
        names = {*version.roots, *extras, "_blocks", "products", "now", PERSONA}
        return {name: data[name] for name in names if name in data}
    return data
