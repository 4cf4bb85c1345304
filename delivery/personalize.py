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
from journeys.models import Order, Product

from .models import Coupon

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


def recommendations(workspace, contact, cart_items, limit=RECOMMENDATIONS):
    """Bought together with the cart's items, then the same category, then popular; in stock,
    not already in the cart."""
    seed = [i["sku"] for i in cart_items] or [p.get("sku") for p in (contact.recently_viewed or []) if p.get("sku")]
    exclude = set(seed)
    popular, pairs = _order_stats(workspace)
    together = Counter()
    for sku in exclude:
        together.update(pairs.get(sku, {}))
    for sku in exclude:
        together.pop(sku, None)
    ranked = [sku for sku, _ in together.most_common()]
    categories = {i.get("category") for i in cart_items if i.get("category")}
    if seed and not categories:
        categories = set(scoped(Product, workspace).filter(sku__in=seed).values_list("category", flat=True)) - {""}
    candidates = scoped(Product, workspace).exclude(sku__in=exclude).exclude(stock=0).only(*PRODUCT_FIELDS)
    same_category = (
        list(
            candidates.filter(category__in=categories)
            .order_by("-updated_at")
            .values_list("sku", flat=True)[: 2 * limit]
        )
        if categories
        else []
    )
    # Enough of each kind to fill `limit` places when some are sold out or in the cart.
    wanted = ranked[: 2 * limit] + same_category + [sku for sku, _ in popular.most_common(4 * limit)]
    products = {p.sku: p for p in candidates.filter(sku__in=set(wanted))}
    picked, seen = [], set()
    for sku in wanted:
        if sku in products and sku not in seen:
            seen.add(sku)
            picked.append(product_data(products[sku]))
            if len(picked) == limit:
                break
    if len(picked) < limit:  # a young shop without orders: its newest products
        for product in candidates.exclude(sku__in=seen).order_by("-updated_at")[: limit - len(picked)]:
            picked.append(product_data(product))
    return picked


def assign_coupon(pool, contact, journey_key, now):
    """The contact's code from the pool for this journey: assigned once, the same code every time
    after (the unique constraint settles a race between two workers)."""
    existing = Coupon.objects.filter(pool=pool, contact=contact, journey_key=journey_key).first()
    if existing is not None:
        return existing
    for _ in range(5):
        with transaction.atomic():
            # Never-assigned codes only: an erased contact's code stays used.
            free = (
                Coupon.objects.select_for_update(skip_locked=True)
                .filter(pool=pool, contact__isnull=True, assigned_at__isnull=True)
                .first()
            )
            if free is None:
                return None
            expires = now + timezone.timedelta(days=pool.valid_days)
            try:
                with transaction.atomic():
                    claimed = Coupon.objects.filter(pk=free.pk, assigned_at__isnull=True).update(
                        contact=contact, journey_key=journey_key, assigned_at=now, expires_at=expires
                    )
            except IntegrityError:  # another worker assigned this contact a code meanwhile
                return Coupon.objects.filter(pool=pool, contact=contact, journey_key=journey_key).first()
            if claimed:
                free.refresh_from_db()
                return free
    return None


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
):
    """The render data for `version` and `contact` (or only `sample`, a given context, for previews).

    `journey_context`: the enrollment's context as the email node saw it (trigger, received events,
    webhook results, and `journey`: id, name, version). `assign_offer` gives the contact a real
    code from the template's coupon pool (sends only; previews show a sample code and never use
    one up)."""
    now = now or clock.now()
    roots = set(version.roots or [])
    journey_context = journey_context or {}
    if contact is not None:
        facts = contact_context.build(contact, workspace=workspace, now=now)
        history = contact_context.history_of(contact, now)
    else:
        facts, history = _blank_context(workspace, now), None
    journey = dict(journey_context.get("journey") or {})
    subject = Subject(facts, context=dict(journey_context), journey=journey, now=now, history=history)
    extras = {"links": links_for(token)}
    if contact is not None and "recommendations" in roots:
        extras["recommendations"] = recommendations(workspace, contact, facts["cart"]["items"])
    if contact is not None and "offer" in roots:
        pool = version.template.coupon_pool
        if pool is not None:
            coupon = assign_coupon(pool, contact, journey_key, now) if assign_offer else None
            if coupon is None and not assign_offer:
                coupon = Coupon(code="PREVIEW-CODE", expires_at=now + timezone.timedelta(days=pool.valid_days))
            extras["offer"] = offer_data(coupon, pool)
    if sample:
        extras.update({key: value for key, value in sample.items() if key not in ("products",)})
    data = subject.namespace().new_child(extras)
    if version.blocks:
        # Show-if rules see what the template sees (a sample's values too).
        data["_blocks"] = _adaptive(version.blocks, rules.DictFacts(data, now=now, history=history))
    return data
