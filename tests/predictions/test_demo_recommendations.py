"""The demo's "recommended for you" (issue 14): after the demo's nightly fits, its welcome email's
product grid shows different products to contacts with different histories, led by one that goes
with what they bought, never one they bought."""

from delivery import actions
from delivery import demo as delivery_demo
from delivery.models import Template
from journeys.customers import demo as customers_demo
from journeys.models import Contact, Order, Product, ProductSimilarity
from journeys.predictions import demo as predictions_demo


def bought(contact):
    return {
        (line.get("sku"), line.get("category"))
        for products in Order.objects.filter(contact=contact).values_list("products", flat=True)
        for line in products
    }


def test_the_demo_welcome_email_recommends_by_each_contact_s_history(workspace):
    customers_demo.seed(workspace)
    assert predictions_demo.seed(workspace)["recommendations"] == "done"
    delivery_demo.seed(workspace)
    welcome = Template.objects.get(workspace=workspace, slug="welcome").latest_version
    # Two past customers whose orders are all in one category each, a different one.
    by_category = {}
    for contact in Contact.objects.filter(workspace=workspace, user_id__startswith="cust-").order_by("pk"):
        categories = {category for _, category in bought(contact)}
        if len(categories) == 1 and len(bought(contact)) >= 2:
            by_category.setdefault(categories.pop(), contact)
    assert len(by_category) >= 2, by_category
    first, second = list(by_category.values())[:2]

    def grid(contact):
        """The products the rendered email's grid shows (by their image's alt text)."""
        html = actions.preview(workspace, welcome, contact=contact).html
        return [p for p in Product.objects.filter(workspace=workspace) if f'alt="{p.name}"' in html]

    first_grid, second_grid = grid(first), grid(second)
    assert first_grid and second_grid
    assert [p.sku for p in first_grid] != [p.sku for p in second_grid]
    for contact, shown in ((first, first_grid), (second, second_grid)):
        skus = {sku for sku, _ in bought(contact)}
        assert not {p.sku for p in shown} & skus  # never what they bought
        # Learned from behaviour: the first pick is a product that goes with one they bought.
        neighbours = ProductSimilarity.objects.filter(workspace=workspace, signal="behaviour", sku__in=skus)
        assert shown[0].sku in set(neighbours.values_list("similar_sku", flat=True))
