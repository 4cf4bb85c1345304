"""One contact, one context: an expression a marketer writes means one thing wherever it stands.

The same Liquid and the same conditions are evaluated in a branch, an update_contact value, a
webhook body, an email sent by a real worker step through the real SMTP path, a preview, a test
send and the journey simulator; every place must see the same `contact.first_name`, `contact.id`
(the shop's user id), `cart.total` (at today's prices) and `event.total`.
"""

import pytest

from delivery import actions as delivery_actions
from delivery.models import Message
from journeys.models import Contact, StepLog, WebhookCall
from tests.delivery.conftest import cart, make_products, make_template, simple_mjml

from .conftest import definition, publish, run_worker, track

CONTACT = "{{ contact.first_name }}|{{ contact.last_name }}|{{ contact.id }}|{{ contact.plan }}|{{ cart.total }}"
EVENT = "{{ event.total }}|{{ event.properties.total }}|{{ journey.name }}"
EXPECTED_CONTACT = "Ada|Lovelace|u-42|pro|39.99"  # the shoe was 49.99 when added, 39.99 today
EXPECTED_EVENT = "120|120|Checkout"
SAME_EVERYWHERE = {
    "all": [
        {"field": "contact.first_name", "op": "eq", "value": "Ada"},
        {"field": "contact.id", "op": "eq", "value": "u-42"},
        {"field": "contact.plan", "op": "eq", "value": "pro"},
        {"field": "cart.total", "op": "eq", "value": "39.99"},
        {"field": "event.total", "op": "eq", "value": 120},
    ]
}


@pytest.fixture
def ada(workspace):
    make_products(workspace)
    return Contact.objects.create(
        workspace=workspace,
        user_id="u-42",
        email="ada@example.com",
        traits={"first_name": "Ada", "last_name": "Lovelace", "plan": "pro"},
        cart=cart(("SKU-1001", 1, 49.99, "Trail Running Shoe")),
        locale="en_US",
    )


@pytest.fixture
def journey(workspace, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_template(workspace, slug="echo", mjml=simple_mjml(f"{CONTACT} / {EVENT}"), subject=CONTACT)
    flow = definition(
        ("same", "branch", {"condition": SAME_EVERYWHERE}),
        ("set", "update_contact", {"set": {"traits.contact_echo": CONTACT, "traits.event_echo": EVENT}}),
        ("hook", "webhook", {"url": "https://hooks.example.com/echo", "body": f"{CONTACT} / {EVENT}", "retries": 0}),
        ("mail", "email", {"template": "echo"}),
        ("other", "exit", {}),
        trigger={"type": "event", "event": "Checkout Started"},
        edges=[
            ("trigger", "same"),
            ("same", "yes", "set"),
            ("same", "no", "other"),
            ("set", "hook"),
            ("hook", "failure", "mail"),
            ("hook", "success", "mail"),
        ],
    )
    return publish(workspace, flow, name="Checkout")


def test_one_expression_gives_one_value_everywhere(workspace, ada, journey, api, qa, admin):
    track(ada, "Checkout Started", {"total": 120})
    run_worker()

    # a branch condition
    assert StepLog.objects.get(journey=journey, node="same", left=True).port == "yes"
    # an update_contact value
    traits = Contact.objects.get(pk=ada.pk).traits
    assert (traits["contact_echo"], traits["event_echo"]) == (EXPECTED_CONTACT, EXPECTED_EVENT)
    # a webhook body (the call fails, hooks.example.com is not reachable here: what was rendered is kept)
    call = WebhookCall.objects.get()
    assert call.response["request"]["body"] == f"{EXPECTED_CONTACT} / {EXPECTED_EVENT}"
    # the email the journey sent
    message = Message.objects.get(enrollment_id=call.enrollment_id)
    delivery_actions.send_message(message.pk)
    message.refresh_from_db()
    assert message.subject == EXPECTED_CONTACT
    assert f"{EXPECTED_CONTACT} / {EXPECTED_EVENT}" in message.text

    template_id = message.template_version.template_id
    # a preview of the template for the contact (no journey: no event)
    preview = api(qa).post(f"/api/templates/{template_id}/preview", {"contact": ada.pk}, format="json")
    assert preview.status_code == 200 and preview.json()["subject"] == EXPECTED_CONTACT
    # a test send for the contact
    sent = api(qa).post(
        f"/api/templates/{template_id}/test-send", {"to": admin.email, "contact": ada.pk}, format="json"
    )
    assert sent.status_code == 201, sent.content
    assert Message.objects.get(pk=sent.json()["id"]).subject == f"[Test] {EXPECTED_CONTACT}"
    # the simulator, for the real contact
    body = {
        "contact": ada.pk,
        "source": "live",
        "events": [{"after": "PT0S", "name": "Checkout Started", "properties": {"total": 120}}],
    }
    simulated = api(qa).post(f"/api/qa/journeys/{journey.pk}/simulate", body, format="json")
    assert simulated.status_code == 200, simulated.content
    result = simulated.json()
    assert ("same", "yes") in [(step["node"], step["port"]) for step in result["path"]]
    assert result["updates"][0]["changes"] == {
        "traits.contact_echo": EXPECTED_CONTACT,
        "traits.event_echo": EXPECTED_EVENT,
    }
    assert result["webhooks"][0]["body"] == f"{EXPECTED_CONTACT} / {EXPECTED_EVENT}"
