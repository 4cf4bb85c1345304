"""The Outbox page in a real browser: messages with their status, and the sandbox mailbox's email
shown as rendered HTML in a frame that may run nothing, its text part and its headers."""

import re

import pytest
from playwright.sync_api import expect

from delivery import actions
from delivery.models import Message
from tests.delivery.conftest import cart, make_contact, make_products, make_template, simple_mjml

# The page is the same on either database and its server side is tested on both (tests/api, the
# apps' own tests): in the browser once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]


def test_the_outbox_shows_a_sent_email_from_the_sandbox_mailbox(workspace, admin, page_for, settings):
    settings.EMAIL_BACKEND = "delivery.backends.SandboxBackend"
    make_products(workspace)
    contact = make_contact(workspace, cart=cart(("SKU-1001", 1, 49.99, "Trail Running Shoe")))
    _, version = make_template(workspace)
    sent = actions.enqueue_message(workspace, version, idempotency_key="a", contact=contact)
    actions.send_message(sent.pk)
    _, broken = make_template(workspace, "broken", simple_mjml("{{ contact.n | times: contact.n }}"), "Broken")
    failing = make_contact(workspace, "big@example.com", traits={"n": 10**3000})
    actions.enqueue_message(workspace, broken, idempotency_key="b", contact=failing)
    assert Message.objects.filter(status="failed").count() == 1

    page = page_for(admin)
    page.goto("/outbox")
    table = page.get_by_role("table", name="Messages")
    expect(table.get_by_role("row")).to_have_count(3)
    expect(table).to_contain_text("could not be rendered")
    table.get_by_role("link", name="ada@example.com").click()
    expect(page).to_have_url(re.compile(r"/outbox/\d+$"))
    expect(page.get_by_role("heading", name="Ada, your cart is waiting")).to_be_visible()
    # each value under its own label, not "cart-reminder v1 · marketing · marketing"
    expect(page.locator("dl.facts dt", has_text=re.compile("^Category$"))).to_have_count(1)
    expect(page.locator("dl.facts dt:text-is('Template') + dd")).to_have_text("cart-reminder v1")
    frame = page.get_by_title("Rendered HTML")
    expect(frame).to_have_attribute("sandbox", "")
    expect(
        page.frame_locator("iframe[title='Rendered HTML']").get_by_text("Hi Ada, you left something behind")
    ).to_be_visible()
    page.get_by_role("tab", name="Text part").click()
    expect(page.get_by_label("Text part")).to_contain_text("Only 3 left in stock")
    page.get_by_role("tab", name="Headers").click()
    headers = page.get_by_role("table", name="Headers")
    expect(headers).to_contain_text("List-Unsubscribe-Post")
    expect(headers).to_contain_text("List-Unsubscribe=One-Click")

    page.goto("/outbox/sandbox")
    page.get_by_role("table", name="Sandbox mailbox").get_by_role("link", name="ada@example.com").click()
    expect(page.get_by_title("Rendered HTML")).to_have_attribute("sandbox", "")
    assert page.console_errors == []


def test_an_admin_sets_limits_and_sees_which_dns_records_the_domain_needs(admin, marketer, page_for, monkeypatch):
    from delivery import domains
    from delivery.models import SendingSettings
    from tests.delivery.test_api import FakeResolver

    resolver = FakeResolver({"shop.example": ["v=spf1 include:_spf.example.net ~all"]})
    monkeypatch.setattr(domains, "default_resolver", lambda: resolver)
    page = page_for(admin)
    page.goto("/settings/sending")
    form = page.get_by_role("form", name="Sending settings")
    form.get_by_label("From address").fill("news@shop.example")
    form.get_by_label("Marketing emails per contact (0 = no cap)").fill("2")
    form.get_by_label("Quiet hours from").fill("21:00")
    form.get_by_label("until").last.fill("08:00")
    form.get_by_role("button", name="Save sending settings").click()
    expect(form.get_by_text("Saved.")).to_be_visible()
    saved = SendingSettings.objects.get()
    assert (saved.frequency_cap, str(saved.quiet_hours_start), str(saved.quiet_hours_end)) == (
        2,
        "21:00:00",
        "08:00:00",
    )

    domain = page.get_by_role("region", name="Sending domain")
    domain.get_by_role("button", name="Generate a DKIM key").click()
    expect(domain.get_by_text("v=DKIM1; k=rsa; p=")).to_be_visible()
    domain.get_by_role("button", name="Check DNS records").click()
    records = domain.get_by_role("table", name="DNS records")
    expect(records.get_by_role("row", name=re.compile("SPF"))).to_contain_text("ok")
    expect(records.get_by_role("row", name=re.compile("DMARC"))).to_contain_text("missing")
    expect(domain.get_by_text("Still needed: DKIM, DMARC.")).to_be_visible()
    assert page.console_errors == []

    other = page_for(marketer)
    other.goto("/settings/sending")
    expect(other.get_by_role("alert")).to_contain_text("Your role does not give access")


def test_the_outbox_is_searched_by_recipient_and_shows_the_journey_that_sent_each_email(workspace, admin, page_for):
    from journeys.models import Journey

    journey = Journey.objects.create(workspace=workspace, name="Win back", status="live")
    _, version = make_template(workspace, "promo", simple_mjml("Hi"), "Come back")
    for name in ("ada", "bob"):
        contact = make_contact(workspace, f"{name}@shop.test", user_id=name)
        spec = {"journey_id": journey.pk, "node_id": "mail1"} if name == "ada" else {}
        actions.enqueue_message(workspace, version, idempotency_key=name, contact=contact, **spec)

    page = page_for(admin)
    page.goto("/outbox")
    table = page.get_by_role("table", name="Messages")
    expect(table.get_by_role("row")).to_have_count(3)
    page.get_by_label("Recipient").fill("bob@")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).to_contain_text("bob@shop.test")
    page.get_by_label("Recipient").fill("")
    expect(table.get_by_role("row")).to_have_count(3)
    expect(table.get_by_role("link", name="Win back")).to_have_attribute("href", f"/journeys/{journey.pk}")

    table.get_by_role("link", name="ada@shop.test").click()
    page.get_by_role("link", name="its other emails").click()
    expect(page).to_have_url(re.compile(rf"/outbox\?journey={journey.pk}$"))
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).to_contain_text("ada@shop.test")
