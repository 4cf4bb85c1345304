"""A contact's commerce state, derived from its e-commerce events. Pure: no ORM, no clock.

The state is a left fold of Segment's e-commerce events (Product Viewed, Product Added, Product
Removed, Cart Viewed, Checkout Started, Order Completed, Order Refunded, Order Cancelled) in event
time order, ties broken by the event's id. Because the order is that of the events' own
timestamps, not of their arrival, a late or out-of-order event gives exactly the state a full
rebuild gives: the caller folds a new event on when it sorts after everything folded so far
(`State.as_of`), and rebuilds from the history otherwise.

Money is Decimal inside, rounded to cents; `summary()` turns it into JSON-ready numbers.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ..engine.step import currency_code

RECENTLY_VIEWED = 20
CART_EVENTS = {"Product Added", "Product Removed", "Cart Viewed", "Checkout Started"}
ORDER_EVENTS = {"Order Completed", "Order Refunded", "Order Cancelled"}
EVENTS = CART_EVENTS | ORDER_EVENTS | {"Product Viewed"}
CENT = Decimal("0.01")

# What a cart line or a viewed product keeps of an event's product.
PRODUCT_FIELDS = ("product_id", "sku", "name", "price", "currency", "category", "brand", "variant", "url", "image_url")
MIXED = "MIXED"  # the currency of a cart whose lines are in several


def is_commerce(name):
    return name in EVENTS


def money(value):
    """A Decimal rounded to cents, or None for anything that is not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def quantity(value, default=1):
    try:
        number = int(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return default
    return number if number >= 0 else default


def product_key(product):
    for key in ("product_id", "sku", "id", "name"):
        value = product.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def product_line(product):
    line = {}
    for key in PRODUCT_FIELDS:
        value = product.get(key)
        if value in (None, ""):
            continue
        line[key] = money(value) if key == "price" else currency_code(value) if key == "currency" else value
    if "product_id" not in line and product.get("id") not in (None, ""):
        line["product_id"] = product["id"]
    if "price" in line and line["price"] is None:
        del line["price"]
    return line


@dataclass
class State:
    cart: dict = field(default_factory=dict)  # product key -> line (with "quantity")
    cart_updated_at: str | None = None
    viewed: list = field(default_factory=list)  # newest first: lines with "viewed_at"
    orders: dict = field(default_factory=dict)  # order id -> order
    as_of: tuple | None = None  # (timestamp ISO string, event id) of the last event folded in

    def after(self, event):
        """Whether `event` sorts after everything folded so far (so it can simply be folded on)."""
        return self.as_of is None or sort_key(event) > tuple(self.as_of)


def sort_key(event):
    return (event["timestamp"], event["id"])


def apply(state, event):
    """Fold one event into the state (in place) and return it.

    `event` is {"id": int, "name": str, "properties": dict, "timestamp": ISO 8601 UTC string}.
    ISO strings of one format sort like the times they denote; the caller uses one format.
    """
    name, props, at = event["name"], event.get("properties") or {}, event["timestamp"]
    if name == "Product Viewed":
        _viewed(state, props, at)
    elif name == "Product Added":
        _added(state, props, at)
    elif name == "Product Removed":
        _removed(state, props, at)
    elif name in ("Cart Viewed", "Checkout Started"):
        products = props.get("products")
        if isinstance(products, list) and products:
            _replace_cart(state, products, at)
    elif name == "Order Completed":
        _order_completed(state, props, at, event["id"])
    elif name in ("Order Refunded", "Order Cancelled"):
        _order_reversed(state, name, props, at)
    if is_commerce(name):
        state.as_of = sort_key(event)
    return state


def fold(events, state=None):
    """The state after every event, taken in event-time order."""
    state = state or State()
    for event in sorted(events, key=sort_key):
        apply(state, event)
    return state


def _viewed(state, props, at):
    key = product_key(props)
    if key is None:
        return
    line = product_line(props)
    line["viewed_at"] = at
    state.viewed = [item for item in state.viewed if product_key(item) != key]
    state.viewed.insert(0, line)
    del state.viewed[RECENTLY_VIEWED:]


def _added(state, props, at):
    key = product_key(props)
    if key is None:
        return
    line = state.cart.get(key, {})
    line = {**line, **product_line(props)}
    line["quantity"] = state.cart.get(key, {}).get("quantity", 0) + quantity(props.get("quantity"))
    state.cart[key] = line
    state.cart_updated_at = at


def _removed(state, props, at):
    key = product_key(props)
    if key is None or key not in state.cart:
        return
    if props.get("quantity") in (None, ""):
        del state.cart[key]
    else:
        remaining = state.cart[key].get("quantity", 0) - quantity(props.get("quantity"))
        if remaining > 0:
            state.cart[key] = {**state.cart[key], "quantity": remaining}
        else:
            del state.cart[key]
    state.cart_updated_at = at


def _replace_cart(state, products, at):
    cart = {}
    for product in products:
        if not isinstance(product, dict):
            continue
        key = product_key(product)
        if key is None:
            continue
        line = product_line(product)
        line["quantity"] = cart.get(key, {}).get("quantity", 0) + quantity(product.get("quantity"))
        cart[key] = line
    state.cart = cart
    state.cart_updated_at = at


def _order_id(props, fallback):
    for key in ("order_id", "checkout_id"):
        value = props.get(key)
        if value not in (None, ""):
            return str(value)
    return fallback


def _order_value(props):
    """What the order is worth: total, else revenue, else the sum of its products."""
    for key in ("total", "revenue", "value"):
        value = money(props.get(key))
        if value is not None:
            return value
    products = props.get("products") if isinstance(props.get("products"), list) else []
    value = sum(
        ((money(p.get("price")) or Decimal(0)) * quantity(p.get("quantity")) for p in products if isinstance(p, dict)),
        Decimal(0),
    )
    return value.quantize(CENT)


def _order_completed(state, props, at, event_id):
    order_id = _order_id(props, f"event-{event_id}")
    previous = state.orders.get(order_id, {})
    products = props.get("products") if isinstance(props.get("products"), list) else []
    state.orders[order_id] = {
        "order_id": order_id,
        "total": _order_value(props),
        "currency": currency_code(props.get("currency"), "USD"),
        "products": [
            product_line(p) | {"quantity": quantity(p.get("quantity"))} for p in products if isinstance(p, dict)
        ],
        "placed_at": at,
        "event_id": event_id,
        "status": previous.get("status", "completed"),
        "refunded": previous.get("refunded", Decimal(0)),
    }
    state.cart = {}
    state.cart_updated_at = at


def _order_reversed(state, name, props, at):
    order_id = _order_id(props, None)
    if order_id is None:
        return
    # A refund may arrive before its order (late data): it is kept on a placeholder that the
    # order's completion fills in.
    order = state.orders.setdefault(order_id, {"order_id": order_id, "placeholder": True, "refunded": Decimal(0)})
    if name == "Order Cancelled":
        order["status"] = "cancelled"
        return
    amount = money(props.get("total")) or money(props.get("revenue")) or money(props.get("value"))
    order["refunded"] = (order.get("refunded") or Decimal(0)) + (amount if amount is not None else Decimal("Infinity"))
    order["status"] = "refunded"


def completed_orders(state):
    return [order for order in state.orders.values() if not order.get("placeholder")]


def order_net(order):
    if order.get("status") == "cancelled":
        return Decimal(0)
    net = order["total"] - min(order.get("refunded") or Decimal(0), order["total"])
    return max(net, Decimal(0)).quantize(CENT)


def cart_total(state):
    total = Decimal(0)
    for line in state.cart.values():
        total += (line.get("price") or Decimal(0)) * line.get("quantity", 0)
    return total.quantize(CENT)


def _plain(value):
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def summary(state):
    """The projections stored on the contact and shown to rules and templates (JSON-ready).

    cart: {"items": [...], "total": 59.8, "quantity": 2, "currency": "EUR", "updated_at": ...}
    """
    items = [_plain(line) for line in state.cart.values()]
    currencies = {line.get("currency") for line in state.cart.values() if line.get("currency")}
    orders = sorted(completed_orders(state), key=lambda order: (order["placed_at"], order["order_id"]))
    ltv = sum((order_net(order) for order in orders), Decimal(0)).quantize(CENT)
    return {
        "cart": {
            "items": items,
            "total": float(cart_total(state)),
            "quantity": sum(line.get("quantity", 0) for line in state.cart.values()),
            "currency": currencies.pop() if len(currencies) == 1 else ("USD" if not currencies else MIXED),
            "updated_at": state.cart_updated_at,
        }
        if state.cart
        else {"items": [], "total": 0.0, "quantity": 0, "currency": None, "updated_at": state.cart_updated_at},
        "recently_viewed": [_plain(line) for line in state.viewed],
        "orders": [
            {**_plain({k: v for k, v in order.items() if k != "refunded"}), "net": float(order_net(order))}
            for order in orders
        ],
        "lifetime_value": ltv,
        "orders_count": sum(1 for order in orders if order.get("status") != "cancelled"),
    }


# -- Storage: the state as JSON on the contact ---------------------------------------------------


def dump(state):
    def encode(value):
        if isinstance(value, Decimal):
            return {"$d": str(value)}
        if isinstance(value, dict):
            return {key: encode(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [encode(item) for item in value]
        return value

    return {
        # The cart's lines in the order they were added, as a list: PostgreSQL's jsonb keeps an
        # object's keys in an order of its own, and the cart's items are shown in this order.
        "cart": [[key, encode(line)] for key, line in state.cart.items()],
        "cart_updated_at": state.cart_updated_at,
        "viewed": encode(state.viewed),
        "orders": encode(state.orders),
        "as_of": list(state.as_of) if state.as_of else None,
    }


def load(data):
    if not data:
        return State()

    def decode(value):
        if isinstance(value, dict):
            if set(value) == {"$d"}:
                return Decimal(value["$d"])
            return {key: decode(item) for key, item in value.items()}
        if isinstance(value, list):
            return [decode(item) for item in value]
        return value

    cart = data.get("cart") or {}
    return State(
        cart={key: decode(line) for key, line in (cart.items() if isinstance(cart, dict) else cart)},
        cart_updated_at=data.get("cart_updated_at"),
        viewed=decode(data.get("viewed") or []),
        orders=decode(data.get("orders") or {}),
        as_of=tuple(data["as_of"]) if data.get("as_of") else None,
    )
