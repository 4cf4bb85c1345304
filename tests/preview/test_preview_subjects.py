"""Preview subjects: real contacts (searched), a random sample of contacts matching a rule, and the
email node of a journey draft as the thing previewed."""

import pytest
from channels.db import database_sync_to_async

from journeys.models import Contact

from .conftest import communicator, receive_until

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]

PRICES_MJML = (
    "<mjml><mj-body><mj-section><mj-column><mj-text>"
    "{% for i in cart.items %}{{ i.live_price }}{% endfor %}"
    "</mj-text></mj-column></mj-section></mj-body></mjml>"
)


@pytest.fixture
def contacts(workspace, catalog):
    made = []
    for n, country in enumerate(["DE", "DE", "DE", "GB", "GB"]):
        made.append(
            Contact.objects.create(
                workspace=workspace,
                user_id=f"u{n}",
                email=f"buyer{n}@example.com",
                country=country,
                traits={"first_name": f"Buyer{n}"},
                cart={"items": [{"sku": "SKU-1001", "quantity": 1, "price": 49.99}]} if n % 2 else {},
            )
        )
    return made


async def opened(user, target):
    comm = await communicator(user)
    await comm.connect()
    await comm.receive_json_from()
    await comm.send_json_to({"type": "open", **target})
    return comm


async def test_contacts_are_found_and_previewed(workspace, qa, contacts, cart_journey):
    comm = await opened(qa, {"journey": cart_journey.id, "node": "mail1"})
    opened_message = (await receive_until(comm, "opened"))[-1]
    assert opened_message["target"]["kind"] == "journey" and opened_message["target"]["node"] == "mail1"
    await comm.send_json_to({"type": "search", "q": "buyer1"})
    found = (await receive_until(comm, "search"))[-1]
    assert [c["email"] for c in found["contacts"]] == ["buyer1@example.com"]
    await comm.send_json_to({"type": "subjects", "subjects": [{"contact": found["contacts"][0]["id"]}]})
    messages = await receive_until(comm, "rendered")
    (variant,) = [m for m in messages if m["type"] == "variant"]
    assert variant["subject"] == "Your cart, Buyer1"  # the cart-reminder template the node sends
    assert "1 items" in variant["html"]
    await comm.disconnect()


async def test_a_random_sample_matches_the_rule(workspace, marketer, contacts):
    comm = await opened(marketer, {"scratch": True})
    await receive_until(comm, "opened")
    rule = {"field": "contact.country", "op": "eq", "value": "DE"}
    await comm.send_json_to({"type": "subjects", "subjects": [{"sample": rule, "size": 2}]})
    subjects = (await receive_until(comm, "subjects"))[-1]["subjects"]
    assert len(subjects) == 2
    assert {s["kind"] for s in subjects} == {"sample"} and {s["facts"]["country"] for s in subjects} == {"DE"}

    await comm.send_json_to({"type": "subjects", "subjects": [{"sample": {"field": "contact.country", "op": "near"}}]})
    error = (await receive_until(comm, "error"))[-1]
    assert error["code"] == "invalid" and "sample's condition is not valid" in error["error"]
    await comm.disconnect()


async def test_an_email_node_of_another_kind_or_journey_is_refused(workspace, marketer, cart_journey, outsider):
    comm = await opened(marketer, {"journey": cart_journey.id, "node": "wait1"})
    error = (await receive_until(comm, "error"))[-1]
    assert error["code"] == "invalid" and "not an email node" in error["error"]
    await comm.disconnect()

    comm = await opened(outsider, {"journey": cart_journey.id, "node": "mail1"})
    assert (await receive_until(comm, "error"))[-1]["code"] == "not_found"
    await comm.disconnect()


async def test_refresh_rebuilds_contexts_with_todays_prices(workspace, marketer, personas):
    from journeys.models import Product

    comm = await opened(marketer, {"scratch": True})
    await receive_until(comm, "opened")
    await comm.send_json_to({"type": "subjects", "subjects": [{"persona": personas[1].id}]})
    await comm.send_json_to({"type": "edit", "seq": 1, "mjml": PRICES_MJML})
    first = await receive_until(comm, "rendered", where=lambda m: m["seq"] == 1)
    assert "39.99" in [m for m in first if m["type"] == "variant"][-1]["html"]
    await database_sync_to_async(Product.objects.filter(sku="SKU-1001").update)(price="29.99")
    await comm.send_json_to({"type": "refresh"})
    again = await receive_until(comm, "rendered")
    assert "29.99" in [m for m in again if m["type"] == "variant"][-1]["html"]
    await comm.disconnect()
