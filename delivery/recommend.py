"""Recommendation strategies for an email (issue 14), read from what the similarity fit learned
(journeys/predictions/similar.py: ProductSimilarity rows of the latest done fit, its trending and
popular lists) and from the contact's own history.

In a template, `recommendations` is a list (the default strategy, "for you") that also answers,
by name, each other strategy; a strategy is computed the first time the template reads it:

    {% for p in recommendations limit: 3 %}                 for you (as before: a list of products)
    {% for p in recommendations.for_you %}                  the same list, by its name
    {% for p in recommendations.similar %}                  similar to the product viewed last
                                                            (else the cart's first, else the last order's)
    {% for p in recommendations.similar_to["SKU-1"] %}      similar to one product (a sku, or p.sku)
    {% for p in recommendations.bought_together %}          bought together with the cart's items
    {% for p in recommendations.trending %}                 growing lately (last 7 days vs the 28 before)
    {% for p in recommendations.popular %}                  bought most (recent purchases weigh more)
    {{ recommendations.trending.size }}, {{ recommendations.first.name }} work as on any list.

Each product is the catalog's `product` shape (sku, name, url, image_url, price, currency, stock,
in_stock, category, tags). Every strategy leaves out what the contact bought, what its cart holds,
sold-out products (stock 0) and products without an image (`similar_to` also the product itself).

- for you: the neighbours (behaviour signal) of everything the contact viewed, carted and bought,
  each weighted like the fit weighs it (view 1, cart 3, purchase 5) and decayed by its age
  (half-life HISTORY_HALF_LIFE_DAYS), summed per product.
- similar / similar_to: the product's neighbours, best first.
- bought together: the bought-together neighbours of the cart's items (else of the last order's,
  else of the products viewed last), summed.
- trending, popular: the fit's lists.

When the data are thin (no fit yet, a new contact, a niche product) each strategy fills its places
with today's chain (personalize.Recommender.recommend: bought together with the cart's items in
the latest orders, then the same category, then popular, then the newest), under the same
exclusions; `similar` fills with the product's category first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from journeys.customers.context import product_data
from journeys.models import Order, ProductSimilarity
from journeys.predictions import similar as fit_model

STRATEGIES = ("for_you", "similar", "bought_together", "trending", "popular")
HISTORY_HALF_LIFE_DAYS = 14.0  # in "for you", what the contact did two weeks ago weighs half
HISTORY_ITEMS = 30  # the contact's products (heaviest first) whose neighbours are summed
SEEDS = 3  # recently viewed products that seed "bought together" when the cart is empty
BEHAVIOUR, BOUGHT_TOGETHER = ProductSimilarity.Signal.BEHAVIOUR, ProductSimilarity.Signal.BOUGHT_TOGETHER
_UNSET = object()


@dataclass
class Shopper:
    """What the strategies know about one contact."""

    contact: object
    cart_items: list
    cart: list = field(default_factory=list)  # skus in the cart
    bought: set = field(default_factory=set)
    history: dict = field(default_factory=dict)  # sku -> weight (viewed, carted, bought; decayed)
    viewed: list = field(default_factory=list)  # skus, newest first
    last_order: list = field(default_factory=list)  # skus of the newest order


def _when(value, default):
    if isinstance(value, dt.datetime):
        return value
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return default
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _weight(kind, at, now):
    age = max((now - at).total_seconds() / 86400.0, 0.0)
    return kind * 0.5 ** (age / HISTORY_HALF_LIFE_DAYS)


def shopper_of(contact, cart_items, now, orders=None) -> Shopper:
    """The contact's history: recently viewed (the contact's own list), the cart, every order
    (`orders`: [(products, placed_at)] newest first, else one query), each product weighted as the
    fit weighs it and decayed by its age."""
    shopper = Shopper(contact, list(cart_items or []))
    history = shopper.history
    for line in contact.recently_viewed or []:
        sku = fit_model.sku_of(line)
        if sku:
            shopper.viewed.append(sku)
            at = _when(line.get("viewed_at"), now)
            history[sku] = history.get(sku, 0.0) + _weight(fit_model.VIEW, at, now)
    cart_at = _when((contact.cart or {}).get("updated_at"), now)
    for line in shopper.cart_items:
        sku = line.get("sku")
        if sku:
            shopper.cart.append(str(sku))
            history[str(sku)] = history.get(str(sku), 0.0) + _weight(fit_model.CART, cart_at, now)
    if orders is None:
        orders = _orders_of([contact.pk]).get(contact.pk, []) if contact.pk else []
    if orders:
        for n, (products, placed_at) in enumerate(orders):
            skus = [s for s in dict.fromkeys(fit_model.sku_of(line) for line in products or []) if s]
            if n == 0:
                shopper.last_order = skus
            for sku in skus:
                shopper.bought.add(sku)
                history[sku] = history.get(sku, 0.0) + _weight(fit_model.PURCHASE, placed_at, now)
    return shopper


def _orders_of(contact_ids) -> dict:
    """contact id -> [(products, placed_at)] of its orders (not cancelled), newest first."""
    found = {}
    rows = (
        Order.objects.filter(contact_id__in=contact_ids)
        .exclude(status="cancelled")
        .order_by("-placed_at", "-id")
        .values_list("contact_id", "products", "placed_at")
    )
    for contact_id, products, placed_at in rows:
        found.setdefault(contact_id, []).append((products, placed_at))
    return found


class SimilarTo:
    """`recommendations.similar_to[sku]`: similar to one product, computed when read."""

    def __init__(self, recommendations):
        self._recommendations = recommendations

    def __getitem__(self, sku):
        if not isinstance(sku, str | int) or sku in ("size", "first", "last"):
            raise KeyError(sku)
        return self._recommendations.strategy("similar_to", str(sku))


class Recommendations(list):
    """The "for you" list, which answers each strategy by name (`recommendations.trending`),
    computing it when first read."""

    def __init__(self, strategies, shopper):
        self._strategies, self._shopper, self._computed = strategies, shopper, {}
        super().__init__(self.strategy("for_you"))

    def strategy(self, name, *args):
        key = (name, *args)
        if key not in self._computed:
            self._computed[key] = getattr(self._strategies, name)(self._shopper, *args)
        return self._computed[key]

    def __getitem__(self, key):
        if isinstance(key, str):
            if key == "similar_to":
                return SimilarTo(self)
            if key in STRATEGIES:
                return self.strategy(key)
            raise KeyError(key)  # `size`, `first`, `last` then work as on any list
        return super().__getitem__(key)


class Strategies:
    """The strategies for the contacts of one workspace, with what they share looked up once (a
    batch keeps one): the latest fit, each product's neighbours, and the Recommender of
    delivery/personalize.py (products by sku, order statistics, categories, today's chain)."""

    def __init__(self, recommender, contacts=()):
        self.recommender = recommender
        self.workspace, self.limit = recommender.workspace, recommender.limit
        self._fit = _UNSET
        self._neighbours = {}  # (signal, sku) -> [(similar sku, score)] best first
        self._batch = {c.pk for c in contacts if c.pk}  # a batch's contacts, their orders read together
        self._orders = None

    def for_contact(self, contact, cart_items, now) -> Recommendations:
        return Recommendations(self, shopper_of(contact, cart_items, now, self._orders_for(contact)))

    def _orders_for(self, contact):
        if not contact.pk or contact.pk not in self._batch:
            return None
        if self._orders is None:
            self._orders = _orders_of(sorted(self._batch))
        return self._orders.get(contact.pk, [])

    # -- what the fit learned

    def fit(self):
        if self._fit is _UNSET:
            self._fit = fit_model.latest_fit(self.workspace.pk)
        return self._fit

    def neighbours(self, signal, skus) -> dict:
        """sku -> [(similar sku, score)] for those of `skus` the latest fit knows, one query for
        the skus not yet looked up."""
        fit = self.fit()
        if fit is None:
            return {}
        missing = [sku for sku in dict.fromkeys(skus) if (signal, sku) not in self._neighbours]
        if missing:
            found = {sku: [] for sku in missing}
            rows = ProductSimilarity.objects.filter(
                workspace_id=self.workspace.pk, signal=signal, sku__in=missing, fit_id=fit.pk
            ).values_list("sku", "similar_sku", "score")
            for sku, similar_sku, score in rows:
                found[sku].append((similar_sku, score))
            for sku, pairs in found.items():
                self._neighbours[(signal, sku)] = sorted(pairs, key=lambda pair: (-pair[1], pair[0]))
        return {sku: self._neighbours[(signal, sku)] for sku in skus if self._neighbours.get((signal, sku))}

    def _summed(self, signal, weights) -> list:
        """Skus by the sum over `weights` (sku -> weight) of weight × similarity, best first."""
        scores = {}
        for sku, pairs in self.neighbours(signal, list(weights)).items():
            for similar_sku, score in pairs:
                scores[similar_sku] = scores.get(similar_sku, 0.0) + weights[sku] * score
        return [sku for sku, _ in sorted(scores.items(), key=lambda item: (-item[1], item[0]))]

    def _listed(self, name) -> list:
        fit = self.fit()
        return [sku for sku, _ in (fit.params.get(name) or [])] if fit is not None else []

    # -- picking

    @staticmethod
    def usable(product):
        """In stock (or stock unknown) and with an image."""
        return product.stock != 0 and bool(product.image_url)

    def _pick(self, ranked, exclude, picked=None):
        """Up to `limit` products of `ranked` skus (in order) that exist and are usable, none in
        `exclude`; appended to `picked`."""
        picked = picked if picked is not None else []
        seen = set(exclude) | {p["sku"] for p in picked}
        wanted = [sku for sku in dict.fromkeys(ranked) if sku not in seen]
        step = 3 * self.limit
        for start in range(0, len(wanted), step):  # rarely more than one round
            products = self.recommender.products(wanted[start : start + step])
            for sku in wanted[start : start + step]:
                product = products.get(sku)
                if product is not None and self.usable(product):
                    picked.append(product_data(product))
                    if len(picked) >= self.limit:
                        return picked
        return picked

    def _today(self, shopper, exclude, picked):
        """Fill the places left with today's chain (bought together, same category, popular, newest)."""
        if len(picked) >= self.limit:
            return picked
        taken = set(exclude) | {p["sku"] for p in picked}
        more = self.recommender.recommend(shopper.contact, shopper.cart_items, exclude=taken, keep=self.usable)
        return (picked + more)[: self.limit]

    def _excluded(self, shopper, *more):
        return shopper.bought | set(shopper.cart) | set(more)

    # -- the strategies (each: shopper -> [product dict])

    def for_you(self, shopper):
        weights = dict(sorted(shopper.history.items(), key=lambda item: -item[1])[:HISTORY_ITEMS])
        exclude = self._excluded(shopper)
        return self._today(shopper, exclude, self._pick(self._summed(BEHAVIOUR, weights), exclude))

    def similar(self, shopper):
        anchor = next(iter(shopper.viewed + shopper.cart + shopper.last_order), None)
        if anchor is None:
            return self._today(shopper, self._excluded(shopper), [])
        return self.similar_to(shopper, anchor)

    def similar_to(self, shopper, sku):
        exclude = self._excluded(shopper, sku)
        picked = self._pick([s for s, _ in self.neighbours(BEHAVIOUR, [sku]).get(sku, [])], exclude)
        product = self.recommender.products([sku]).get(sku)
        if product is not None and product.category and len(picked) < self.limit:
            picked = self._pick(self.recommender.same_category({product.category}), exclude, picked)
        return self._today(shopper, exclude, picked)

    def bought_together(self, shopper):
        seeds = shopper.cart or shopper.last_order or shopper.viewed[:SEEDS]
        exclude = self._excluded(shopper, *seeds)
        picked = self._pick(self._summed(BOUGHT_TOGETHER, dict.fromkeys(seeds, 1.0)), exclude)
        return self._today(shopper, exclude, picked)

    def trending(self, shopper):
        exclude = self._excluded(shopper)
        return self._today(shopper, exclude, self._pick(self._listed("trending"), exclude))

    def popular(self, shopper):
        exclude = self._excluded(shopper)
        ranked = self._listed("popular") or [sku for sku, _ in self.recommender.stats()[0].most_common()]
        return self._today(shopper, exclude, self._pick(ranked, exclude))
