import pytest

from editor import personas_demo
from editor.models import Persona
from journeys.models import Product

pytestmark = pytest.mark.django_db


def test_the_demo_personas_are_seeded_once_with_carts_from_the_catalog(workspace):
    for n, price in enumerate(["20.00", "80.00", "15.50", "9.99"], start=1):
        Product.objects.create(workspace=workspace, sku=f"WL-{n:03d}", name=f"Product {n}", price=price)
    personas_demo.seed(workspace)
    personas_demo.seed(workspace)
    assert Persona.objects.filter(workspace=workspace).count() == 5
    ada = Persona.objects.get(name="Ada with a price drop")
    assert ada.cart_items == [{"sku": "WL-002", "quantity": 1, "price": 100.0}]  # 80 today
    assert Persona.objects.get(name="Sam with an empty cart").cart_items == []
