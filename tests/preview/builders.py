"""Data for preview and QA tests (websocket, API and browser tests share it): the reference
template's catalog, three personas whose emails differ, two templates and a cart journey."""

import json
from pathlib import Path

from editor.models import Persona
from journeys.models import Product

SHARED = Path("/work/shared/bench")
REFERENCE_MJML = (SHARED / "cart_abandonment.mjml").read_text()

# The reference template with a fallback for an empty cart.
FALLBACK_MJML = REFERENCE_MJML.replace(
    "<mj-raw>{% for item in cart.items %}</mj-raw>",
    "<mj-raw>{% if cart.items.size == 0 %}</mj-raw><mj-section><mj-column><mj-text>"
    "Your cart is empty: discover this week's favourites.</mj-text></mj-column></mj-section>"
    "<mj-raw>{% endif %}</mj-raw>\n<mj-raw>{% for item in cart.items %}</mj-raw>",
)

SIMPLE_MJML = """<mjml><mj-body><mj-section><mj-column>
<mj-text>Hi {{ contact.first_name | default: "there" }}</mj-text>
<mj-raw>{% if contact.country == "DE" %}</mj-raw><mj-text>Kostenloser Versand</mj-text><mj-raw>{% endif %}</mj-raw>
<mj-text>{{ cart.items | size }} items, {{ cart.total | money }}</mj-text>
</mj-column></mj-section></mj-body></mjml>"""


def make_catalog(workspace):
    """The reference template's products: the shoe is on sale now (49.99 when added, 39.99 today)."""
    context = json.loads((SHARED / "cart_context.json").read_text())
    for item in context["cart"]["items"] + context["recommendations"]:
        Product.objects.create(
            workspace=workspace,
            sku=item["sku"],
            name=item["name"],
            url=item["url"],
            image_url=item["image_url"],
            price=item.get("live_price", item["price"]),
            stock=item.get("stock", 50),
            category="running",
        )


def make_personas(workspace):
    """Three personas whose variants differ: a German, a price drop, an empty cart."""
    german = Persona.objects.create(
        workspace=workspace,
        name="Jonas in Berlin",
        traits={"first_name": "Jonas"},
        country="DE",
        city="Berlin",
        timezone="Europe/Berlin",
        locale="de_DE",
        cart_items=[{"sku": "SKU-2002", "quantity": 2, "price": 14.99}],
    )
    price_drop = Persona.objects.create(
        workspace=workspace,
        name="Ada with a price drop",
        traits={"first_name": "Ada"},
        country="GB",
        city="London",
        timezone="Europe/London",
        locale="en_GB",
        cart_items=[{"sku": "SKU-1001", "quantity": 1, "price": 49.99}],
    )
    empty = Persona.objects.create(
        workspace=workspace,
        name="Empty cart",
        traits={},
        country="US",
        city="",
        timezone="America/New_York",
        locale="en_US",
        cart_items=[],
    )
    return german, price_drop, empty


def make_template(workspace, mjml, subject="Your cart", preheader="", slug="cart-reminder", name="Cart reminder"):
    """A template with one saved version, saved by delivery's save action."""
    from delivery.actions import save_template

    template, _ = save_template(workspace, None, slug=slug, name=name, subject=subject, preheader=preheader, mjml=mjml)
    return template


def cart_journey_definition():
    """Checkout Started -> wait 1 h for an order -> reminder -> 1 day -> big cart? -> one of two emails."""
    return {
        "trigger": {"type": "event", "event": "Checkout Started", "where": {"all": []}},
        "entry": {"re_entry": "after_exit", "audience": {"all": []}},
        "exit_on": [{"event": "Order Completed", "as_conversion": True}],
        "nodes": [
            {"id": "wait1", "type": "wait_for_event", "config": {"event": "Order Completed", "timeout": "PT1H"}},
            {"id": "mail1", "type": "email", "config": {"template": "cart-reminder"}},
            {"id": "delay1", "type": "delay", "config": {"mode": "duration", "duration": "P1D"}},
            {
                "id": "branch1",
                "type": "branch",
                "config": {"condition": {"field": "cart.total", "op": "gte", "value": 35}},
            },
            {"id": "mail2", "type": "email", "config": {"template": "big-cart"}},
            {"id": "mail3", "type": "email", "config": {"template": "cart-reminder"}},
        ],
        "edges": [
            {"from": "trigger", "to": "wait1"},
            {"from": "wait1", "port": "timeout", "to": "mail1"},
            {"from": "mail1", "to": "delay1"},
            {"from": "delay1", "to": "branch1"},
            {"from": "branch1", "port": "yes", "to": "mail2"},
            {"from": "branch1", "port": "no", "to": "mail3"},
        ],
        "layout": {},
    }


def make_cart_journey(workspace, actor):
    """Two saved templates and a journey draft that sends them."""
    from delivery.actions import save_template
    from journeys.drafts import create_journey

    save_template(
        workspace,
        actor,
        slug="cart-reminder",
        name="Cart reminder",
        subject="Your cart, {{ contact.first_name | default: 'friend' }}",
        mjml=SIMPLE_MJML,
    )
    save_template(
        workspace,
        actor,
        slug="big-cart",
        name="Big cart",
        subject="Still thinking it over?",
        mjml=SIMPLE_MJML.replace("Hi ", "Hello again "),
    )
    return create_journey(workspace, actor, "Cart abandonment", cart_journey_definition())
