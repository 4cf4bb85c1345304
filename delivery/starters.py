"""Starter templates: ready-made emails (MJML + Liquid) a marketer copies into a workspace and edits,
and the sample data their thumbnails (and the template picker's) are rendered with.

The sources are the demo's (delivery/demo.py), imported, not copied: a change to a demo email is a
change to its starter. The content blocks they include (header, footer, product grid, the adaptive
shipping note) are the demo's too; a workspace that lacks one gets it when a starter is copied in,
and a thumbnail falls back to the demo's block where the workspace has none.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction

from accounts.access import scoped
from accounts.errors import DomainError
from journeys import clock
from journeys.models import Product

from . import actions, demo, rendering
from .models import ContentBlock, Template, TemplateVersion


@dataclass(frozen=True)
class Starter:
    key: str
    name: str
    description: str
    subject: str
    mjml: str
    category: str = "marketing"


ORDER_CONFIRMATION = demo.email_layout(
    "Your order",
    "Thanks for your order: here is what you bought",
    """    <mj-section background-color="#ffffff"><mj-column>
      <mj-text font-size="20px">Thank you, {{ contact.first_name | default: "there" }}!</mj-text>
      <mj-text>We have received your order <b>{{ event.properties.order_id }}</b>.</mj-text>
    </mj-column></mj-section>
    <mj-raw>{% for item in event.properties.products %}</mj-raw>
    <mj-section background-color="#ffffff" padding="4px 0">
      <mj-column width="70%"><mj-text>{{ item.name }} &times; {{ item.quantity | default: 1 }}</mj-text></mj-column>
      <mj-column width="30%"><mj-text align="right">{{ item.price | money }}</mj-text></mj-column>
    </mj-section>
    <mj-raw>{% endfor %}</mj-raw>
    <mj-section background-color="#ffffff"><mj-column>
      <mj-divider border-width="1px" border-color="#dddddd" />
      <mj-text align="right" font-size="16px">Total <b>{{ event.properties.total | money }}</b></mj-text>
      <mj-text>We will write again when it ships.</mj-text>
    </mj-column></mj-section>""",
)

_DESCRIPTIONS = {
    "cart-reminder": "Reminds a contact of what is left in the cart, with live prices, stock and an offer.",
    "welcome": "Greets a new subscriber and shows what other customers love.",
    "cross-sell": "After an order: products that go well with what was bought.",
    "win-back": "Brings back a lapsed customer with a coupon and recommendations.",
    "price-drop": "Tells a contact that a product they looked at costs less now, with today's price.",
    "back-in-stock": "Tells a contact that a product they wanted is in stock again.",
    "order-confirmation": "Confirms an order: its number, the products and the total.",
}

_SOURCES = {
    "cart-reminder": demo.cart_reminder(),
    "welcome": demo.TEMPLATES["welcome"],
    "cross-sell": demo.TEMPLATES["cross-sell"],
    "win-back": demo.TEMPLATES["win-back"],
    "price-drop": demo.TEMPLATES["price-drop"],
    "back-in-stock": demo.TEMPLATES["back-in-stock"],
    "order-confirmation": {
        "name": "Order confirmation",
        "subject": "Your order {{ event.properties.order_id }} is confirmed",
        "mjml": ORDER_CONFIRMATION,
        "category": "transactional",
    },
}

STARTERS = {
    key: Starter(
        key=key,
        name=spec["name"],
        description=_DESCRIPTIONS[key],
        subject=spec["subject"],
        mjml=spec["mjml"],
        category=spec.get("category", "marketing"),
    )
    for key, spec in _SOURCES.items()
}


_MADE_UP = [("Canvas tote", 24.0), ("Linen shirt", 59.0), ("Trail mug", 18.5)]


def _products(workspace):
    """Three products for the sample: the workspace's own (so that live images and links show
    its catalog), else made-up ones."""
    found = list(scoped(Product, workspace).order_by("name", "id")[:3]) if workspace is not None else []
    rows = [
        {
            "sku": p.sku,
            "name": p.name,
            "price": float(p.price),
            "url": p.url,
            "image_url": p.image_url,
            "stock": p.stock,
        }
        for p in found
    ] or [
        {
            "sku": f"SAMPLE-{n}",
            "name": name,
            "price": price,
            "url": "https://shop.example/",
            "image_url": "https://shop.example/logo.png",
            "stock": 12,
        }
        for n, (name, price) in enumerate(_MADE_UP, 1)
    ]
    return [{**row, "live_price": row["price"], "quantity": 1, "stock": row["stock"] or 12} for row in rows]


def sample_context(workspace=None, now=None):
    """Made-up data the starters read (contact, cart, recommendations, an offer, an event), for
    previews without a contact: what a thumbnail shows."""
    now = now or clock.now()
    products = _products(workspace)
    viewed = products[min(1, len(products) - 1)]
    return {
        "contact": {"id": "sample", "first_name": "Alex", "last_name": "Sample", "email": "alex@example.com"},
        "cart": {"items": products[:2], "total": round(sum(p["price"] for p in products[:2]), 2)},
        "recommendations": products,
        "offer": {"code": "PREVIEW-CODE", "percent_off": 10, "expires_at": now + timedelta(days=14)},
        "event": {
            "sku": viewed["sku"],
            "old_price": round(viewed["price"] * 1.25, 2),
            "new_price": viewed["price"],
            "percent_off": 20,
            "currency": "USD",
            "url": viewed["url"] or "https://shop.example/",
            "properties": {
                "name": viewed["name"],
                "sku": viewed["sku"],
                "order_id": "1042",
                "products": products,
                "total": round(sum(p["price"] for p in products), 2),
            },
        },
    }


def get_starter(key):
    starter = STARTERS.get(key)
    if starter is None:
        raise DomainError(f"There is no starter “{key}”.", code="unknown_starter", fields={"key": ["Unknown starter."]})
    return starter


def _blocks_for(workspace):
    """The workspace's content blocks, with the demo's where it has none of that name."""
    blocks = {name: rendering.Block(name, source, condition) for name, (_, source, condition) in demo.BLOCKS.items()}
    return {**blocks, **actions.workspace_blocks(workspace)}


def preview_starter(workspace, starter, now=None):
    """The starter rendered with the sample context: compiled against `_blocks_for` (the editor's
    compile_source would refuse a block the workspace lacks), then the editor's preview."""
    blocks = _blocks_for(workspace)
    compiled = rendering.compile_template(starter.mjml, starter.subject, "", blocks)
    version = TemplateVersion(
        workspace=workspace,
        subject=starter.subject,
        compiled_body=compiled.body,
        roots=sorted(compiled.roots),
        blocks={n: {"source": blocks[n].source, "condition": blocks[n].condition} for n in compiled.blocks},
        template=Template(workspace=workspace),
    )
    return actions.preview(workspace, version, sample=sample_context(workspace, now), now=now)


def create_from_starter(workspace, actor, key, slug=None, name=None):
    """A new template with the starter's content; the demo blocks it includes that the workspace
    lacks are added first (as ordinary content blocks, editable like any other)."""
    starter = get_starter(key)
    slug = slug or starter.key
    if scoped(Template, workspace).filter(slug=slug).exists():
        raise DomainError(f"A template with the slug “{slug}” exists already.", fields={"slug": ["Already in use."]})
    with transaction.atomic():  # a template that cannot be saved leaves no blocks behind
        have = set(scoped(ContentBlock, workspace).values_list("name", flat=True))
        needed = rendering.used_blocks(starter.mjml, _blocks_for(workspace))
        for block_name in sorted(needed - have):
            description, source, condition = demo.BLOCKS[block_name]
            actions.save_block(
                workspace, actor, name=block_name, description=description, source=source, condition=condition
            )
        template, _ = actions.save_template(
            workspace,
            actor,
            slug=slug,
            name=name or starter.name,
            category=starter.category,
            subject=starter.subject,
            mjml=starter.mjml,
        )
    return template


THUMBNAIL_SECONDS = 24 * 3600


def thumbnail_html(workspace, version):
    """A version rendered with the sample context, cached by version id (versions never change)."""
    key = f"delivery:thumbnail:{version.pk}"
    html = cache.get(key)
    if html is None:
        try:
            html = actions.preview(workspace, version, sample=sample_context(workspace)).html
        except rendering.RenderError:
            html = ""
        cache.set(key, html, THUMBNAIL_SECONDS)
    return html
