"""The product catalog: create or update products by sku, keeping every price change."""

from decimal import Decimal

from django.db import transaction

from accounts.actions import record_audit

from .. import clock, hooks
from ..models import PriceChange, Product

PRODUCT_FIELDS = ("name", "url", "image_url", "price", "currency", "stock", "category", "tags", "attributes")


def upsert_products(workspace, items, actor=None):
    """Create or update products by sku; every price change is kept in the price history.

    `items` are validated dicts (sku plus any PRODUCT_FIELDS). Returns {"created", "updated"}.
    """
    now = clock.now()
    with transaction.atomic():
        existing = {
            product.sku: product
            for product in Product.objects.select_for_update().filter(
                workspace=workspace, sku__in=[item["sku"] for item in items]
            )
        }
        created, updated, changes, moved = [], [], [], []
        for item in items:
            product = existing.get(item["sku"])
            if product is None:
                product = Product(workspace=workspace, sku=item["sku"], updated_at=now)
                for key in PRODUCT_FIELDS:
                    if key in item:
                        setattr(product, key, item[key])
                existing[item["sku"]] = product
                created.append(product)
                continue
            old_price, old_stock = product.price, product.stock
            dirty = False
            for key in PRODUCT_FIELDS:
                if key in item and getattr(product, key) != item[key]:
                    setattr(product, key, item[key])
                    dirty = True
            if dirty and product.pk:
                product.updated_at = now
                updated.append(product)
                if "price" in item and Decimal(old_price) != Decimal(item["price"]):
                    changes.append(
                        PriceChange(
                            workspace=workspace,
                            product=product,
                            old_price=old_price,
                            new_price=item["price"],
                            changed_at=now,
                        )
                    )
                if Decimal(old_price) != Decimal(product.price) or old_stock != product.stock:
                    moved.append(_change(product, old_price, old_stock))
        Product.objects.bulk_create(created)
        for product in created:
            changes.append(
                PriceChange(
                    workspace=workspace, product=product, old_price=None, new_price=product.price, changed_at=now
                )
            )
        if updated:
            Product.objects.bulk_update(updated, [*PRODUCT_FIELDS, "updated_at"])
        PriceChange.objects.bulk_create(changes)
        if moved and hooks.has_hook("catalog.changed"):
            hooks.hook("catalog.changed")(workspace.pk, moved)
        if actor is not None:
            record_audit(workspace, actor, "products.upserted", "", created=len(created), updated=len(updated))
    return {"created": len(created), "updated": len({p.pk for p in updated})}


def _change(product, old_price, old_stock):
    """A price or stock change as the "catalog.changed" hook gets it (plain JSON: it is queued)."""
    return {
        "product": product.pk,
        "sku": product.sku,
        "name": product.name,
        "url": product.url,
        "image_url": product.image_url,
        "category": product.category,
        "currency": product.currency,
        "old_price": str(old_price),
        "new_price": str(product.price),
        "old_stock": old_stock,
        "new_stock": product.stock,
    }


def update_product(product, actor, changes):
    item = {"sku": product.sku, **changes}
    upsert_products(product.workspace, [item], actor=actor)
    product.refresh_from_db()
    return product
