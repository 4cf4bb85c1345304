"""The render context of one email for one contact: who they are, the trigger event, the cart with
live price and stock, recommendations, their offer, their links. Only what the template version
uses (its `roots`) is built, so a template without recommendations costs no recommendation query.
"""

from collections import Counter
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone

from accounts.access import scoped
from journeys.engine import rules
from journeys.models import Event, Order, Product

from .liquid_env import PERSONA, Persona
from .models import Coupon

RECOMMENDATIONS = 6
ORDERS_SCANNED = 500


def _decimal(value):
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def contact_data(contact):
    traits = dict(contact.traits or {})
    first = traits.get("first_name") or traits.get("firstName")
    last = traits.get("last_name") or traits.get("lastName")
    if not first and traits.get("name"):
        first, _, rest = str(traits["name"]).partition(" ")
        last = last or rest
    return {
        **traits,
        "id": contact.user_id or str(contact.pk),
        "user_id": contact.user_id,
        "email": contact.email,
        "first_name": first or "",
        "last_name": last or "",
        "country": contact.country,
        "city": contact.city,
        "timezone": contact.timezone,
        "locale": contact.locale,
        "traits": traits,
        "orders_count": contact.orders_count,
        "lifetime_value": contact.lifetime_value,
    }


PRODUCT_FIELDS = ("sku", "name", "url", "image_url", "price", "currency", "stock", "category", "tags")


def product_data(product):
    return {
        "sku": product.sku,
        "name": product.name,
        "url": product.url,
        "image_url": product.image_url,
        "price": product.price,
        "currency": product.currency,
        "stock": product.stock,
        "in_stock": product.stock is None or product.stock > 0,
        "category": product.category,
        "tags": product.tags,
    }


class LiveProducts(dict):
    """`products["SKU-1"]`: a catalog product with today's price and stock, looked up on demand."""

    def __init__(self, workspace):
        super().__init__()
        self.workspace = workspace

    def __missing__(self, sku):
        product = scoped(Product, self.workspace).filter(sku=sku).first()
        if product is None:
            raise KeyError(sku)
        self[sku] = product_data(product)
        return self[sku]

    def __contains__(self, sku):
        try:
            self[sku]
        except KeyError:
            return False
        return True


def cart_data(workspace, contact):
    """The contact's cart: each line with the price when added and today's price and stock."""
    cart = contact.cart or {}
    lines = [line for line in cart.get("items") or [] if isinstance(line, dict)]
    keys = {str(line.get("sku") or line.get("product_id") or "") for line in lines} - {""}
    live = {p.sku: p for p in scoped(Product, workspace).filter(sku__in=keys)}
    items = []
    for line in lines:
        key = str(line.get("sku") or line.get("product_id") or "")
        product = live.get(key)
        added_price = _decimal(line.get("price"))
        live_price = product.price if product is not None else added_price
        item = {
            **line,
            "sku": key,
            "name": line.get("name") or (product.name if product else ""),
            "url": line.get("url") or (product.url if product else ""),
            "image_url": line.get("image_url") or (product.image_url if product else ""),
            "quantity": int(line.get("quantity") or 1),
            "price": added_price if added_price is not None else live_price,
            "live_price": live_price,
            "price_dropped": bool(added_price is not None and live_price is not None and live_price < added_price),
            "stock": product.stock if product is not None else None,
            "in_stock": product is None or product.stock is None or product.stock > 0,
            "category": line.get("category") or (product.category if product else ""),
        }
        items.append(item)
    total = sum(((i["live_price"] or Decimal(0)) * i["quantity"] for i in items), Decimal(0))
    return {
        "items": items,
        "total": total.quantize(Decimal("0.01")),
        "quantity": sum(i["quantity"] for i in items),
        "currency": cart.get("currency") or (items and live.get(items[0]["sku"]) and live[items[0]["sku"]].currency),
    }


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


def event_data(journey_context):
    trigger = journey_context.get("trigger") or journey_context.get("event") or {}
    if not isinstance(trigger, dict):
        return {}
    properties = trigger.get("properties") if isinstance(trigger.get("properties"), dict) else {}
    return {**properties, **trigger, "properties": properties}


def _adaptive(blocks, data, contact, now):
    conditions = {name: block.get("condition") for name, block in (blocks or {}).items() if block.get("condition")}
    if not conditions:
        return {}
    events = []
    if contact is not None and contact.pk is None:  # a made-up contact (editor personas) brings its own history
        events = list(getattr(contact, "event_history", None) or [])
    elif contact is not None and any("performed" in str(rule) for rule in conditions.values()):
        events = [
            {"name": e.name, "timestamp": e.timestamp.isoformat(), "properties": e.properties}
            for e in Event.objects.filter(workspace_id=contact.workspace_id, contact=contact).order_by("-timestamp")[
                :500
            ]
        ]
    facts = rules.DictFacts(data=data, events=events, now=now)
    return {name: rules.evaluate(rule, facts) for name, rule in conditions.items()}


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

    `assign_offer` gives the contact a real code from the template's coupon pool (sends only;
    previews show a sample code and never use one up)."""
    now = now or timezone.now()
    roots = set(version.roots or [])
    journey_context = journey_context or {}
    data = {"now": now, "workspace": {"name": workspace.name}}
    if contact is not None:
        data["contact"] = contact_data(contact)
        data["event"] = event_data(journey_context)
        data["journey"] = journey_context
        if roots & {"cart", "recommendations", "_blocks"}:
            data["cart"] = cart_data(workspace, contact)
        if "recommendations" in roots:
            data["recommendations"] = recommendations(workspace, contact, data["cart"]["items"])
        if "offer" in roots:
            pool = version.template.coupon_pool
            if pool is not None:
                coupon = assign_coupon(pool, contact, journey_key, now) if assign_offer else None
                if coupon is None and not assign_offer:
                    coupon = Coupon(code="PREVIEW-CODE", expires_at=now + timezone.timedelta(days=pool.valid_days))
                data["offer"] = offer_data(coupon, pool)
    data["products"] = LiveProducts(workspace)
    data["links"] = links_for(token)
    if sample:
        data.update({key: value for key, value in sample.items() if key not in ("products",)})
    data["_blocks"] = _adaptive(version.blocks, data, contact, now)
    person = data.get("contact") or {}
    currency = (data.get("cart") or {}).get("currency") or getattr(settings, "WAYLINE_DEFAULT_CURRENCY", "USD")
    data[PERSONA] = Persona(
        timezone=person.get("timezone") or "UTC",
        locale=(person.get("locale") or "en_US").replace("-", "_"),
        currency=currency or "USD",
    )
    return data
