"""Websocket tests of the preview consumer: a real session cookie through the real ASGI stack
(origin check, session auth), the test database shared with the consumer's threads."""

import json
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from accounts.access import SESSION_KEY
from editor.models import Persona
from journeys.models import Product

SHARED = Path("/work/shared/bench")
REFERENCE_MJML = (SHARED / "cart_abandonment.mjml").read_text() if (SHARED / "cart_abandonment.mjml").exists() else ""


@pytest.fixture
def anyio_backend(monkeypatch):
    # Consumer tests run strict: an ORM call left on the event loop fails here as in production
    # (the suite allows it elsewhere for Playwright). Test bodies use database_sync_to_async.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    return "asyncio"


def session_cookie(user, workspace=None):
    client = Client()
    client.force_login(user)
    if workspace is not None:
        session = client.session
        session[SESSION_KEY] = workspace.id
        session.save()
    return client.cookies["sessionid"].value


async def communicator(user=None, workspace=None, origin="http://127.0.0.1", path="/ws/preview/"):
    from wayline.asgi import application

    headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1")]
    if user is not None:
        cookie = await database_sync_to_async(session_cookie)(user, workspace)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def receive_until(comm, type_, timeout=10, where=None):
    """Messages up to and including the first of `type_` (matching `where`), in order."""
    seen = []
    while True:
        message = await comm.receive_json_from(timeout=timeout)
        seen.append(message)
        if message["type"] == type_ and (where is None or where(message)):
            return seen


@pytest.fixture
def catalog(workspace):
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


@pytest.fixture
def personas(workspace, catalog):
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
    """A template with one saved version, saved the way the template editor saves."""
    from delivery import rendering
    from delivery.models import Template, TemplateVersion

    template = Template.objects.create(workspace=workspace, slug=slug, name=name)
    compiled = rendering.compile_template(mjml, subject, preheader)
    version = TemplateVersion.objects.create(
        workspace=workspace,
        template=template,
        number=1,
        subject=subject,
        preheader=preheader,
        mjml=mjml,
        compiled_body=compiled.body,
        roots=sorted(compiled.roots),
        content_hash=compiled.content_hash,
    )
    template.latest_version = version
    template.save(update_fields=["latest_version"])
    return template


SIMPLE_MJML = """<mjml><mj-body><mj-section><mj-column>
<mj-text>Hi {{ contact.first_name | default: "there" }}</mj-text>
<mj-raw>{% if contact.country == "DE" %}</mj-raw><mj-text>Kostenloser Versand</mj-text><mj-raw>{% endif %}</mj-raw>
<mj-text>{{ cart.items | size }} items, {{ cart.total | money }}</mj-text>
</mj-column></mj-section></mj-body></mjml>"""


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
                "config": {"condition": {"field": "cart.total", "op": "gte", "value": 40}},
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


@pytest.fixture
def cart_journey(workspace, admin):
    """Two saved templates and a journey draft that sends them."""
    from delivery.actions import save_template
    from journeys.actions import create_journey

    save_template(
        workspace,
        admin,
        slug="cart-reminder",
        name="Cart reminder",
        subject="Your cart, {{ contact.first_name | default: 'friend' }}",
        mjml=SIMPLE_MJML,
    )
    save_template(
        workspace,
        admin,
        slug="big-cart",
        name="Big cart",
        subject="Still thinking it over?",
        mjml=SIMPLE_MJML.replace("Hi ", "Hello again "),
    )
    return create_journey(workspace, admin, "Cart abandonment", cart_journey_definition())
