"""The one contact context: what every rule, template, webhook, update_contact value, preview,
simulation and test send sees of a contact (design.md, "One contact, one context", documents the
fields). One expression means one thing everywhere: `{{ contact.first_name }}` in an email, in a
webhook body and in a branch condition are the same value, because all of them read this.

`build(contact, ...)` gives a `Context`: a dict whose roots are filled when first read, so a rule
that only asks for `contact.country` costs no cart, order or catalog query. The roots:

- `contact`: `contact_fields(contact)`, eager (it is read nearly always);
- `cart`: the current cart with today's price and stock per line (`cart_of`);
- `orders`: the latest orders, newest first; `viewed`: recently viewed products;
- `products`: the catalog by sku with live price and stock (`"SKU-1" | product` in Liquid);
- `predicted`: what the latest customer-value fit predicts (`predicted_of`; {} before any);
- `workspace`, `now`, and whatever the caller adds (`event`, `journey`, `links`, ...).

A contact that was never saved (a QA persona) is read the same way; its orders and catalog
lookups come from what it carries, never from another contact's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from ..engine import step
from ..engine.step import event_fields
from ..liquid import PERSONA, Persona
from ..models import Event, Order, Product

RECENT_ORDERS = 10
HISTORY_SCAN_LIMIT = 5000  # a "performed ... where" rule looks at no more matching events than this


def _decimal(value):
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _iso(value):
    return value.isoformat() if value else None


def names_of(traits: Mapping) -> tuple[str, str]:
    """(first, last) from the traits Segment's spec names: first_name/firstName, last_name/lastName,
    else split from `name`."""
    first = traits.get("first_name") or traits.get("firstName")
    last = traits.get("last_name") or traits.get("lastName")
    if not first and traits.get("name"):
        first, _, rest = str(traits["name"]).partition(" ")
        last = last or rest
    return str(first or ""), str(last or "")


def contact_fields(contact) -> dict:
    """The `contact` root. Every trait is reachable as `contact.traits.<name>` and, unless a field
    below has that name, as `contact.<name>`."""
    traits = dict(contact.traits or {})
    first, last = names_of(traits)
    return {
        **traits,
        "id": contact.user_id or (str(contact.pk) if contact.pk else ""),
        "user_id": contact.user_id,
        "email": contact.email,
        "first_name": first,
        "last_name": last,
        "traits": traits,
        "timezone": contact.timezone,
        "locale": contact.locale,
        "country": contact.country,
        "city": contact.city,
        "consent": dict(contact.consent or {}),
        "orders_count": contact.orders_count,
        "lifetime_value": _decimal(contact.lifetime_value) or Decimal("0"),
        "last_activity_at": _iso(contact.last_activity_at),
        "created_at": _iso(contact.created_at),
    }


PRODUCT_FIELDS = ("sku", "name", "url", "image_url", "price", "currency", "stock", "category", "tags")


def product_data(product) -> dict:
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

    def __init__(self, workspace_id):
        super().__init__()
        self.workspace_id = workspace_id

    def __missing__(self, sku):
        product = None
        if self.workspace_id:
            product = Product.objects.filter(workspace_id=self.workspace_id, sku=sku).only(*PRODUCT_FIELDS).first()
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


def _line_key(line) -> str:
    return str(line.get("sku") or line.get("product_id") or "")


def cart_skus(contact) -> set[str]:
    return {_line_key(line) for line in (contact.cart or {}).get("items") or [] if isinstance(line, dict)} - {""}


def catalog_for(contacts) -> dict:
    """The products the carts of these contacts hold, in one query: sku -> Product (a batch's
    `catalog`, so that building each contact's cart costs no query of its own)."""
    contacts = list(contacts)
    skus = set().union(*(cart_skus(c) for c in contacts)) if contacts else set()
    workspaces = {c.workspace_id for c in contacts}
    if not skus:
        return {}
    return {(p.workspace_id, p.sku): p for p in Product.objects.filter(workspace_id__in=workspaces, sku__in=skus)}


def cart_of(contact, catalog=None) -> dict:
    """The contact's cart: each line with the price when added and today's price and stock; the
    total at today's prices. `catalog`: the products prefetched for a batch (`catalog_for`)."""
    cart = contact.cart or {}
    lines = [line for line in cart.get("items") or [] if isinstance(line, dict)]
    keys = {_line_key(line) for line in lines} - {""}
    live = {}
    if catalog is not None:
        live = {sku: catalog[(contact.workspace_id, sku)] for sku in keys if (contact.workspace_id, sku) in catalog}
    elif keys and contact.workspace_id:
        live = {p.sku: p for p in Product.objects.filter(workspace_id=contact.workspace_id, sku__in=keys)}
    items = []
    for line in lines:
        key = _line_key(line)
        product = live.get(key)
        added_price = _decimal(line.get("price"))
        live_price = product.price if product is not None else added_price
        quantity = _decimal(line.get("quantity"))
        items.append(
            {
                **line,
                "sku": key,
                "name": line.get("name") or (product.name if product else ""),
                "url": line.get("url") or (product.url if product else ""),
                "image_url": line.get("image_url") or (product.image_url if product else ""),
                "quantity": int(quantity) if quantity is not None and quantity > 0 else 1,
                "price": added_price if added_price is not None else live_price,
                "live_price": live_price,
                "price_dropped": bool(added_price is not None and live_price is not None and live_price < added_price),
                "stock": product.stock if product is not None else None,
                "in_stock": product is None or product.stock is None or product.stock > 0,
                "category": line.get("category") or (product.category if product else ""),
            }
        )
    total = sum(((i["live_price"] or Decimal(0)) * i["quantity"] for i in items), Decimal(0))
    currency = cart.get("currency") or next((live[i["sku"]].currency for i in items if i["sku"] in live), None)
    return {
        "items": items,
        "total": total.quantize(Decimal("0.01")),
        "quantity": sum(i["quantity"] for i in items),
        "currency": currency,
        "updated_at": cart.get("updated_at"),
    }


def orders_of(contact, limit=RECENT_ORDERS) -> list[dict]:
    """The latest orders, newest first."""
    if not contact.pk:
        return list(getattr(contact, "orders_data", None) or [])
    rows = Order.objects.filter(contact_id=contact.pk).order_by("-placed_at")[:limit]
    return [
        {
            "order_id": order.order_id,
            "total": order.revenue,
            "net": order.net,
            "currency": order.currency,
            "status": order.status,
            "placed_at": order.placed_at.isoformat(),
            "products": list(order.products or []),
        }
        for order in rows
    ]


def predicted_of(contact) -> dict:
    """The `predicted` root (journeys/predictions/): orders_next_90d, probability_active,
    clv_365d (a Decimal), churn_risk ("low", "medium", "high"), next_order_date (an ISO date or
    None) and fitted_at; {} when no customer-value fit has predicted this contact. One query per
    context, none when the contact was loaded with select_related("prediction")."""
    if not contact.pk:
        return dict(getattr(contact, "predicted_data", None) or {})
    try:
        prediction = contact.prediction
    except ObjectDoesNotExist:
        return {}
    if prediction.clv_fitted_at is None:
        return {}
    return {
        "orders_next_90d": prediction.orders_next_90d,
        "probability_active": prediction.probability_active,
        "clv_365d": prediction.clv_365d,
        "churn_risk": prediction.churn_risk,
        "next_order_date": _iso(prediction.next_order_date),
        "fitted_at": _iso(prediction.clv_fitted_at),
    }


def viewed_of(contact) -> list[dict]:
    return [dict(p) for p in contact.recently_viewed or [] if isinstance(p, Mapping)]


def persona_of(context) -> Persona:
    contact = context.get("contact") or {}
    currency = (context.get("cart") or {}).get("currency") or settings.WAYLINE_DEFAULT_CURRENCY
    return Persona(
        timezone=contact.get("timezone") or "UTC",
        locale=(contact.get("locale") or "en_US").replace("-", "_"),
        currency=currency or "USD",
    )


class Context(dict):
    """A dict whose roots are computed when first read (see the module docstring). `get`, `in`
    and `[]` all see the lazy roots; iteration sees those already computed."""

    def __init__(self, eager: Mapping, loaders: Mapping[str, Callable[[], object]]):
        super().__init__(eager)
        self._loaders = dict(loaders)

    def __missing__(self, key):
        loader = self._loaders.get(key)
        if loader is None:
            raise KeyError(key)
        value = self[key] = loader()
        return value

    def __contains__(self, key):
        return dict.__contains__(self, key) or key in self._loaders

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def add(self, key, loader: Callable[[], object]):
        """Another lazy root (delivery adds recommendations, offers, links)."""
        self.pop(key, None)
        self._loaders[key] = loader


def build(contact, *, workspace=None, event=None, now=None, extra: Mapping | None = None, catalog=None) -> Context:
    """The context of one contact (see the module docstring). `extra`: more eager roots
    (`journey`, `links`, ...), which win over the built ones; `catalog`: products prefetched for a
    batch of contacts (`catalog_for`)."""
    workspace_id = getattr(workspace, "pk", None) or contact.workspace_id
    eager = {"contact": contact_fields(contact), "event": event_fields(event), "now": now}
    loaders = {
        "cart": lambda: cart_of(contact, catalog),
        "orders": lambda: orders_of(contact),
        "viewed": lambda: viewed_of(contact),
        "predicted": lambda: predicted_of(contact),
        "products": lambda: LiveProducts(workspace_id),
        "workspace": lambda: {"name": workspace.name if workspace is not None else contact.workspace.name},
    }
    context = Context(eager, loaders)
    # Who the render is for, as the money and date filters need it (the cart's currency is only
    # looked up when a filter asks).
    context.add(PERSONA, lambda: persona_of(context))
    context.update(extra or {})
    return context


# -- event history, for `performed` rules and waits -----------------------------------------------


def facts_of(contact, *, now, event=None, context=None, journey=None):
    """What a rule about this contact reads (rules.Facts): the context `build` gives, plus its
    event history for `performed` conditions. The journey's entry audience and the saved segments
    (customers/segments.py) both evaluate through this, so a rule means one thing in both.
    `context`/`journey`: an enrollment's state and its journey, when there is one."""
    return step.Subject(
        build(contact, event=event, now=now),
        context=dict(context or {}),
        journey=dict(journey or {}),
        now=now,
        history=history_of(contact, now),
    )


def history_of(contact, now):
    """count_events(name, within, where) over the contact's stored events (a persona: its own)."""
    from ..engine import rules

    if not contact.pk:
        facts = rules.DictFacts({}, events=list(getattr(contact, "event_history", None) or []), now=now)
        return facts.count_events

    def count(name, within, where):
        events = _counted(contact, name, within, now)
        if not where:
            return events.count()
        matching = 0
        for properties in events.order_by("-timestamp").values_list("properties", flat=True)[:HISTORY_SCAN_LIMIT]:
            if rules.evaluate(where, rules.EventFacts(properties or {}, now=now)):
                matching += 1
        return matching

    return count


def _counted(contact, name, within, now):
    """The stored events a `performed name within` condition counts for this contact."""
    events = Event.objects.filter(workspace_id=contact.workspace_id, contact_id=contact.pk, name=name)
    if within is not None:
        events = events.filter(timestamp__gte=now - within, timestamp__lte=now)
    return events


def oldest_counted_of(contact, now):
    """oldest(name, within, where): the time of the oldest event a `performed` condition counts
    for this contact now (the first to leave its window), or None (rules.next_change)."""
    from ..engine import rules

    def oldest(name, within, where):
        events = _counted(contact, name, within, now).order_by("timestamp")
        if not where:
            return events.values_list("timestamp", flat=True).first()
        for at, properties in events.values_list("timestamp", "properties")[:HISTORY_SCAN_LIMIT]:
            if rules.evaluate(where, rules.EventFacts(properties or {}, now=now)):
                return at
        return None

    return oldest
