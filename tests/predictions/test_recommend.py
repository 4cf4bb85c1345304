"""Recommendations learned from behaviour (issue 14): the similarity fit (co-views, co-carts,
co-purchases) and the strategies a template picks (`recommendations`, `.similar`,
`.similar_to[sku]`, `.bought_together`, `.trending`, `.popular`), rendered through delivery's
real path for a contact."""

import re
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone
from scipy import sparse

from delivery import actions
from journeys.models import Contact, Event, Order, PredictionFit, Product, ProductSimilarity
from journeys.predictions import similar
from tests.delivery.conftest import cart, make_products, make_template, simple_mjml

NOW = timezone.now().replace(microsecond=0)
SHOES = ["SHOE-1", "SHOE-2", "SHOE-3", "SHOE-4", "SHOE-5"]
BOOKS = ["BOOK-1", "BOOK-2", "BOOK-3", "BOOK-4", "BOOK-5"]
_ids = iter(range(1, 10**9))


def catalog(workspace, skus, **overrides):
    for sku in skus:
        fields = {
            "name": f"Name of {sku}",
            "price": Decimal("10"),
            "stock": 5,
            "category": sku.split("-")[0].lower(),
            "url": f"https://shop.example/p/{sku}",
            "image_url": f"https://shop.example/i/{sku}.jpg",
        }
        fields.update(overrides.get(sku, {}))
        Product.objects.create(workspace=workspace, sku=sku, **fields)


def contact(workspace, name, **fields):
    return Contact.objects.create(workspace=workspace, user_id=name, email=f"{name}@example.com", **fields)


def track(workspace, who, name, sku, days_ago=1.0):
    n = next(_ids)
    Event.objects.create(
        workspace=workspace,
        contact=who,
        message_id=f"m{n}",
        type="track",
        name=name,
        properties={"product_id": f"id-{sku}", "sku": sku},
        timestamp=NOW - timedelta(days=days_ago),
    )


def order(workspace, who, *skus, days_ago=1.0):
    Order.objects.create(
        workspace=workspace,
        contact=who,
        order_id=f"o{next(_ids)}",
        placed_at=NOW - timedelta(days=days_ago),
        products=[{"sku": sku, "quantity": 1} for sku in skus],
    )


def browsers(workspace, skus, people=4, prefix="b", days_ago=3.0):
    """`people` contacts who each viewed every one of `skus` (so they are each other's neighbours)."""
    for n in range(people):
        who = contact(workspace, f"{prefix}{n}-{workspace.pk}")
        for sku in skus:
            track(workspace, who, "Product Viewed", sku, days_ago)


def viewed(*skus):
    return [{"sku": sku, "viewed_at": (NOW - timedelta(hours=1)).isoformat()} for sku in skus]


def render(workspace, source, who):
    _, version = make_template(workspace, f"t{next(_ids)}", simple_mjml(source), "x")
    text = actions.preview(workspace, version, contact=who, now=NOW).text
    return re.findall(r"\[([A-Z0-9-]+)\]", text)


LIST = "{% for p in recommendations limit: 4 %}[{{ p.sku }}]{% endfor %}"


def strategy(name):
    return "{% for p in recommendations." + name + " limit: 4 %}[{{ p.sku }}]{% endfor %}"


@pytest.fixture
def shop(workspace):
    """Two tastes: shoe people and book people, each browsing their own category."""
    catalog(workspace, SHOES + BOOKS)
    browsers(workspace, SHOES[:4], prefix="shoe")
    browsers(workspace, BOOKS[:4], prefix="book")
    return workspace


def test_it_learns_neighbours_from_co_views_with_scipy_cosine():
    # 3 contacts × 3 products: 0 and 1 always together, 2 alone.
    matrix = sparse.csr_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    items, neighbours, scores = similar.cosine_neighbours(matrix, k=5, shrink=0.0)
    assert sorted(zip(items.tolist(), neighbours.tolist(), strict=True)) == [(0, 1), (1, 0)]
    assert np.allclose(scores, 1.0)
    # Shrinkage: two contacts sharing the pair give 2 / (2 + 3) of the cosine.
    _, _, shrunk = similar.cosine_neighbours(matrix, k=5, shrink=3.0)
    assert np.allclose(shrunk, 0.4)


def test_contacts_with_different_histories_get_different_for_you_lists(shop):
    similar.fit_workspace(shop.pk, now=NOW)
    shoe_fan = contact(shop, "ada", recently_viewed=viewed("SHOE-1"))
    book_fan = contact(shop, "bo", recently_viewed=viewed("BOOK-1"))
    shoes, books = render(shop, LIST, shoe_fan), render(shop, LIST, book_fan)
    assert shoes[:3] and set(shoes[:3]) <= {"SHOE-2", "SHOE-3", "SHOE-4"}
    assert books[:3] and set(books[:3]) <= {"BOOK-2", "BOOK-3", "BOOK-4"}
    # The default list is the "for you" strategy, also by its name.
    assert render(shop, strategy("for_you"), shoe_fan) == shoes


def test_bought_sold_out_and_image_less_products_never_appear(workspace):
    catalog(
        workspace,
        SHOES,
        **{"SHOE-2": {"stock": 0}, "SHOE-3": {"image_url": ""}},
    )
    browsers(workspace, SHOES)
    for n in range(3):
        order(workspace, contact(workspace, f"buyer{n}"), "SHOE-1", "SHOE-4", "SHOE-2", "SHOE-3")
    for n in range(6):
        track(workspace, contact(workspace, f"fan{n}"), "Product Viewed", "SHOE-4", days_ago=1)
    similar.fit_workspace(workspace.pk, now=NOW)
    who = contact(workspace, "ada", recently_viewed=viewed("SHOE-1"))
    order(workspace, who, "SHOE-4", days_ago=10)
    for name in ("for_you", "similar", 'similar_to["SHOE-1"]', "bought_together", "trending", "popular"):
        shown = render(workspace, strategy(name), who)
        assert shown, name
        assert not {"SHOE-2", "SHOE-3", "SHOE-4"} & set(shown), (name, shown)


def test_thin_data_falls_back_to_todays_chain(workspace):
    """No fit yet: bought together with the cart in the latest orders, then the same category, then
    popular, as before (the tent has no image now: it is left out)."""
    make_products(workspace)
    catalog(workspace, ["TENT-7"], **{"TENT-7": {"image_url": "", "category": "camping"}})
    buyer = contact(workspace, "buyer")
    order(workspace, buyer, "SKU-1001", "SKU-5005")
    order(workspace, buyer, "SKU-1001", "SKU-5005", "SKU-3003")
    who = contact(workspace, "ada", cart=cart(("SKU-1001", 1, 39.99, "Trail Running Shoe")))
    shown = render(workspace, "{% for p in recommendations %}[{{ p.sku }}]{% endfor %}", who)
    assert shown[:2] == ["SKU-5005", "SKU-3003"]
    assert set(shown[2:4]) == {"SKU-2002", "SKU-4004"}
    assert "SKU-1001" not in shown and "SKU-6006" not in shown and "TENT-7" not in shown
    assert not PredictionFit.objects.filter(workspace=workspace).exists()


def test_similar_to_a_product_lists_its_neighbours_then_its_category(shop):
    similar.fit_workspace(shop.pk, now=NOW)
    nobody = contact(shop, "new")
    shown = render(shop, strategy('similar_to["BOOK-2"]'), nobody)
    assert set(shown[:3]) == {"BOOK-1", "BOOK-3", "BOOK-4"} and "BOOK-2" not in shown
    assert shown[3] == "BOOK-5"  # never browsed: the same category fills the place
    # A sku from a variable; the lists answer `size` and `first` like any list.
    source = (
        '{% assign sku = "BOOK-2" %}{% for p in recommendations.similar_to[sku] limit: 1 %}[{{ p.sku }}]{% endfor %}'
        "{{ recommendations.popular.size }} [{{ recommendations.first.sku }}]"
    )
    _, version = make_template(shop, "variable-sku", simple_mjml(source), "x")
    assert version.roots == ["recommendations"]
    text = actions.preview(shop, version, contact=nobody, now=NOW).text
    assert re.search(r"\[BOOK-[134]\]6 \[[A-Z]+-\d\]", text), text
    # `similar`: similar to the product viewed last.
    assert set(render(shop, strategy("similar"), contact(shop, "ada", recently_viewed=viewed("SHOE-3")))[:3]) == {
        "SHOE-1",
        "SHOE-2",
        "SHOE-4",
    }


def test_bought_together_with_the_cart(workspace):
    catalog(workspace, SHOES + BOOKS)
    for n in range(3):
        order(workspace, contact(workspace, f"buyer{n}"), "SHOE-1", "BOOK-5")
    order(workspace, contact(workspace, "other"), "SHOE-2", "SHOE-3")
    similar.fit_workspace(workspace.pk, now=NOW)
    who = contact(workspace, "ada", cart=cart(("SHOE-1", 1, 10, "Shoe")))
    assert render(workspace, strategy("bought_together"), who)[0] == "BOOK-5"


def test_trending_is_recent_growth_not_size(workspace):
    catalog(workspace, ["BIG-1", "NEW-1", "OLD-1"])
    for n in range(12):  # BIG-1: steady and large, 3 a week for five weeks
        who = contact(workspace, f"steady{n}")
        track(workspace, who, "Product Viewed", "BIG-1", days_ago=2 + (n % 5) * 7)
        track(workspace, who, "Product Viewed", "OLD-1", days_ago=20)
    for n in range(6):  # NEW-1: nothing before, six views this week
        track(workspace, contact(workspace, f"new{n}"), "Product Viewed", "NEW-1", days_ago=1)
    fit = similar.fit_workspace(workspace.pk, now=NOW)
    trending = [sku for sku, _ in fit.params["trending"]]
    assert trending[0] == "NEW-1" and "OLD-1" not in trending
    assert render(workspace, strategy("trending"), contact(workspace, "ada"))[0] == "NEW-1"


def test_a_fit_replaces_the_previous_fits_rows(shop):
    first = similar.fit_workspace(shop.pk, now=NOW)
    assert first.status == PredictionFit.Status.DONE
    assert ProductSimilarity.objects.filter(fit=first).count() == first.quality["rows"] > 0
    browsers(shop, ["SHOE-1", "BOOK-5"], people=6, prefix="mixed")
    second = similar.fit_workspace(shop.pk, now=NOW)
    rows = ProductSimilarity.objects.filter(workspace=shop)
    assert set(rows.values_list("fit_id", flat=True)) == {second.pk}
    assert rows.count() == second.quality["rows"]
    assert rows.filter(sku="SHOE-1", similar_sku="BOOK-5").exists()
    # A fit on too little data refuses and keeps the rows it would replace.
    refused = similar.fit_workspace(shop.pk, now=NOW + timedelta(days=400))
    assert refused.status == PredictionFit.Status.REFUSED
    assert set(ProductSimilarity.objects.filter(workspace=shop).values_list("fit_id", flat=True)) == {second.pk}


def test_another_workspaces_products_never_appear(shop, other_workspace):
    catalog(other_workspace, ["SHOE-1", "ZED-9"])
    browsers(other_workspace, ["SHOE-1", "ZED-9"], people=8, prefix="z")
    similar.fit_workspace(shop.pk, now=NOW)
    similar.fit_workspace(other_workspace.pk, now=NOW)
    who = contact(shop, "ada", recently_viewed=viewed("SHOE-1"))
    for name in ("for_you", 'similar_to["SHOE-1"]', "trending", "popular"):
        assert "ZED-9" not in render(shop, strategy(name), who)
    assert not ProductSimilarity.objects.filter(workspace=shop, similar_sku="ZED-9").exists()


def test_the_hourly_job_enqueues_a_fit_per_workspace_with_behaviour(shop, other_workspace, monkeypatch):
    enqueued = []
    monkeypatch.setattr(similar.kicks, "enqueue", lambda func, *args, **options: enqueued.append((func, args)))
    similar.fit_all()
    assert enqueued == [("journeys.predictions.similar.task_fit", (shop.pk,))]
    similar.task_fit(shop.pk)
    assert similar.latest_fit(shop.pk).status == PredictionFit.Status.DONE
