"""A contact's profile in a real browser: the journeys it is in or was in (where it is now, what it
converted) and every email it was sent, with opens and clicks, on a desktop and at a phone's width."""

import re
import uuid
from types import SimpleNamespace

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from delivery import actions as delivery_actions
from delivery.models import Message
from journeys import drafts, lifecycle, publishing, triggers, worker
from journeys.models import Contact, Event
from tests.delivery.conftest import simple_mjml

# The page is the same on either database and its server side is tested on both (tests/api, the
# apps' own tests): in the browser once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]

WELCOME = {
    "trigger": {"type": "api"},
    "nodes": [
        {"id": "email1", "type": "email", "config": {"template": "welcome", "category": "marketing"}},
        {"id": "email2", "type": "email", "config": {"template": "tips", "category": "marketing"}},
        {"id": "wait1", "type": "delay", "config": {"mode": "duration", "duration": "P3D"}},
    ],
    "edges": [
        {"from": "trigger", "to": "email1"},
        {"from": "email1", "to": "email2"},
        {"from": "email2", "to": "wait1"},
    ],
}
CART = {
    "trigger": {"type": "api"},
    "exit_on": [{"event": "Order Completed", "as_conversion": True}],
    "nodes": [{"id": "wait1", "type": "delay", "config": {"mode": "duration", "duration": "P1D"}}],
    "edges": [{"from": "trigger", "to": "wait1"}],
}
PHONE = {"width": 390, "height": 844}


def live(workspace, name, definition):
    journey = drafts.create_journey(workspace, None, name, definition=definition)
    publishing.publish_journey(journey, None)
    journey.refresh_from_db()
    return journey


def enter(journey, contact):
    lifecycle.enroll_contact(journey, contact, trigger={"name": "api", "properties": {}})
    while worker.advance_due():
        pass


def order_completed(contact, revenue):
    """An Order Completed event as ingestion leaves it, handed to the engine."""
    event = Event.objects.create(
        workspace_id=contact.workspace_id,
        contact=contact,
        message_id=uuid.uuid4().hex,
        type="track",
        name="Order Completed",
        user_id=contact.user_id,
        properties={"revenue": revenue, "currency": "EUR"},
        timestamp=timezone.now(),
        processed_at=timezone.now(),
    )
    triggers.on_event(event)


@pytest.fixture
def ada(workspace, settings):
    """In the Welcome series (sent two emails: the first opened, the second clicked and then
    unsubscribed from; waiting on the delay now) and converted in Cart recovery."""
    settings.JOURNEYS_KICKS = "off"
    settings.EMAIL_BACKEND = "delivery.backends.SandboxBackend"
    for slug, subject in (("welcome", "Welcome to Acme"), ("tips", "Three tips for your first run")):
        mjml = simple_mjml("Hi {{ contact.first_name }}")
        delivery_actions.save_template(workspace, None, slug=slug, name=subject, subject=subject, mjml=mjml)
    contact = Contact.objects.create(workspace=workspace, email="ada@shop.test", user_id="ada", traits={"name": "Ada"})
    welcome = live(workspace, "Welcome series", WELCOME)
    enter(welcome, contact)
    messages = {m.node_id: m for m in Message.objects.filter(contact=contact)}
    assert set(messages) == {"email1", "email2"}
    for message in messages.values():
        delivery_actions.send_message(message.pk)
    delivery_actions.record_open(messages["email1"])
    delivery_actions.record_click(messages["email2"], "https://shop.example/tips")
    delivery_actions.unsubscribe(messages["email2"])
    enter(live(workspace, "Cart recovery", CART), contact)
    order_completed(contact, 59.9)
    return SimpleNamespace(pk=contact.pk, welcome=welcome, messages=messages)


def test_the_profile_shows_the_contacts_journeys_and_emails(ada, marketer, page_for):
    page = page_for(marketer)
    page.goto(f"/contacts/{ada.pk}")

    journeys = page.get_by_role("list", name="Journeys of this contact")
    expect(journeys.get_by_role("listitem")).to_have_count(2)
    welcome = journeys.get_by_role("listitem", name="Welcome series")
    expect(welcome.get_by_role("link", name="Welcome series")).to_have_attribute("href", f"/journeys/{ada.welcome.pk}")
    expect(welcome).to_contain_text("In the journey")
    expect(welcome).to_contain_text("Waiting at Delay (wait1) until")
    cart = journeys.get_by_role("listitem", name="Cart recovery")
    expect(cart).to_contain_text("Reached the goal")
    expect(cart).to_contain_text(re.compile(r"Converted €59\.90"))
    expect(cart).to_contain_text("reached the journey's goal")

    emails = page.get_by_role("list", name="Emails sent to this contact")
    expect(emails.get_by_role("listitem")).to_have_count(2)
    opened = emails.get_by_role("listitem", name="Welcome to Acme")
    expect(opened).to_contain_text("Sent")
    expect(opened).to_contain_text("Opened ×1")
    expect(opened).not_to_contain_text("Clicked")
    expect(opened.get_by_role("link", name="Welcome series")).to_have_attribute("href", f"/journeys/{ada.welcome.pk}")
    clicked = emails.get_by_role("listitem", name="Three tips for your first run")
    expect(clicked).to_contain_text("Clicked ×1")
    expect(clicked).to_contain_text("Unsubscribed")
    expect(opened).not_to_contain_text("Unsubscribed")
    clicked.get_by_role("link", name="Three tips for your first run").click()
    expect(page).to_have_url(re.compile(rf"/outbox/{ada.messages['email2'].pk}$"))
    expect(page.get_by_role("heading", name="Three tips for your first run")).to_be_visible()
    assert page.console_errors == []


def test_a_contact_with_no_activity_says_so_in_words(workspace, marketer, page_for):
    bob = Contact.objects.create(workspace=workspace, email="bob@shop.test", user_id="bob")
    page = page_for(marketer)
    page.goto(f"/contacts/{bob.pk}")
    expect(page.get_by_text("Not in any journey yet.")).to_be_visible()
    expect(page.get_by_text("No email has been sent to this contact yet.")).to_be_visible()
    assert page.console_errors == []


def test_the_journeys_and_emails_fit_a_phone(ada, marketer, page_for):
    page = page_for(marketer, viewport=PHONE)
    page.goto(f"/contacts/{ada.pk}")
    for name in ("Journeys of this contact", "Emails sent to this contact"):
        listing = page.get_by_role("list", name=name)
        listing.scroll_into_view_if_needed()
        expect(listing.get_by_role("listitem")).to_have_count(2)
        # One column, and nothing inside sticks out of its card: long names, times and tags wrap.
        fits = listing.evaluate(
            """list => {
                const card = list.closest("section"), column = card.parentElement;
                const inside = [...list.querySelectorAll("*")].every(
                    (e) => e.getBoundingClientRect().right <= card.getBoundingClientRect().right + 0.5);
                return list.scrollWidth <= list.clientWidth && card.offsetWidth <= column.clientWidth && inside
                    && getComputedStyle(column.parentElement).gridTemplateColumns.split(" ").length === 1;
            }"""
        )
        assert fits, name
    # The whole page fits the phone: the sidebar is a bar on top, nothing scrolls sideways.
    main = page.locator("main#main")
    assert main.evaluate("m => m.getBoundingClientRect().width") >= PHONE["width"] - 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert main.evaluate("m => m.scrollWidth <= m.clientWidth")
    emails = page.get_by_role("list", name="Emails sent to this contact")
    expect(emails.get_by_role("listitem", name="Welcome to Acme")).to_contain_text("Opened ×1")
    expect(emails.get_by_role("link", name="Three tips for your first run")).to_be_visible()
    expect(page.get_by_role("list", name="Journeys of this contact")).to_contain_text("Converted")
    assert page.console_errors == []
