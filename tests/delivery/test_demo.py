"""The demo data: every template compiles, renders for a demo-like contact, and seeding twice
changes nothing."""

from delivery import actions, demo
from delivery.models import ContentBlock, Template, TemplateVersion

from .conftest import cart, make_contact, make_products


def test_seed_creates_the_templates_the_demo_journeys_send_and_is_idempotent(workspace):
    demo.seed(workspace)
    versions = TemplateVersion.objects.count()
    demo.seed(workspace)
    assert TemplateVersion.objects.count() == versions
    slugs = set(Template.objects.values_list("slug", flat=True))
    assert slugs == {
        "cart-reminder",
        "welcome",
        "browse-abandonment",
        "cross-sell",
        "win-back",
        "price-drop",
        "back-in-stock",
    }
    assert ContentBlock.objects.filter(condition__isnull=False).count() == 1

    make_products(workspace)
    berlin = make_contact(
        workspace, country="DE", city="Berlin", cart=cart(("SKU-1001", 1, 49.99, "Trail Running Shoe"))
    )
    trigger = {"event": {"name": "Product Viewed", "properties": {"sku": "SKU-1001", "name": "Trail Running Shoe"}}}
    for template in Template.objects.all():
        rendered = actions.preview(workspace, template.latest_version, contact=berlin)
        assert rendered.subject and "Unsubscribe" in rendered.text, template.slug
        assert "Kostenloser Versand" in rendered.text or template.slug == "cart-reminder"
    browse = actions.preview(
        workspace, Template.objects.get(slug="browse-abandonment").latest_version, contact=berlin, sample=trigger
    )
    assert browse.subject == "Still thinking about Trail Running Shoe?"
    assert "It is US$39.99 today, and only 3 are left." in browse.text  # en_GB shows dollars as US$
