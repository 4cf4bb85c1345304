from journeys.customers import demo
from journeys.models import Contact, Event, Order, Product


def test_it_seeds_a_catalog_and_contacts_with_carts_and_orders(workspace):
    demo.seed(workspace)
    contacts = Contact.objects.filter(workspace=workspace, merged_into=None)
    assert contacts.count() == demo.CONTACTS + demo.PAST_CUSTOMERS  # 50 recent visitors, 160 past customers
    past = Order.objects.filter(workspace=workspace, contact__user_id__gte="cust-1050")
    assert past.values("contact").distinct().count() == demo.PAST_CUSTOMERS  # each with an order history
    assert past.order_by("placed_at").first().placed_at < past.order_by("-placed_at").first().placed_at
    assert Product.objects.filter(workspace=workspace).count() == 30
    assert len(set(contacts.values_list("country", flat=True))) >= 8
    assert len(set(contacts.values_list("timezone", flat=True))) >= 8
    assert contacts.exclude(cart__items=[]).count() >= 10
    assert Order.objects.filter(workspace=workspace).count() >= 20
    assert contacts.filter(lifetime_value__gt=0).count() >= 20
    assert not Event.objects.filter(workspace=workspace, processed_at__isnull=True).exists()
    assert not Event.objects.filter(workspace=workspace).exclude(error="").exists()


def test_seeding_twice_changes_nothing(workspace):
    demo.seed(workspace)
    before = (Contact.objects.count(), Event.objects.count(), Order.objects.count(), Product.objects.count())
    demo.seed(workspace)
    assert (Contact.objects.count(), Event.objects.count(), Order.objects.count(), Product.objects.count()) == before
