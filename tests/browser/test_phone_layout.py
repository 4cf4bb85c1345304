"""The app at a phone's and a tablet's width: the navigation behind a "Menu" button, every page
within the screen (tables scroll inside their own box); and the "Get started" checklist of a new
workspace, which ticks its steps off as the workspace does them."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from delivery import actions as delivery_actions
from journeys import drafts, publishing
from journeys.customers import segments
from journeys.models import Broadcast, Contact, Product
from tests.delivery.conftest import make_template, simple_mjml
from tests.factories import stored_event

# The page in the browser is the same on either database: once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
WELCOME = {
    "trigger": {"type": "api"},
    "nodes": [{"id": "wait1", "type": "delay", "config": {"mode": "duration", "duration": "P1D"}}],
    "edges": [{"from": "trigger", "to": "wait1"}],
}


def page_width(page):
    return page.evaluate("document.documentElement.scrollWidth")


def make_event(contact, name="Product Viewed"):
    properties = {"sku": "SKU-1001", "a_rather_long_property_name": "with a rather long value in it"}
    return stored_event(contact, name, properties)


def make_product(workspace, sku="SKU-1001", name="Trail Running Shoe with a long descriptive name"):
    return Product.objects.create(
        workspace=workspace,
        sku=sku,
        name=name,
        price=Decimal("39.99"),
        category="running",
        url=f"https://shop.test/{sku}",
    )


def live_journey(workspace, name="Welcome series"):
    journey = drafts.create_journey(workspace, None, name, definition=WELCOME)
    publishing.publish_journey(journey, None)
    return journey


def make_test_send(workspace):
    _, version = make_template(workspace, "welcome", simple_mjml("Hi"), "Welcome to Acme")
    return delivery_actions.enqueue_message(
        workspace, version, idempotency_key="test-send-1", to_email="me@acme.test", is_test=True
    )


@pytest.fixture
def shop(workspace, marketer, settings):
    """A workspace with something on every list page: contacts with events, a segment, products,
    a live journey, a broadcast and a test email in the outbox."""
    settings.JOURNEYS_KICKS = "off"
    settings.EMAIL_BACKEND = "delivery.backends.SandboxBackend"
    contacts = [
        Contact.objects.create(
            workspace=workspace,
            email=f"{name}.with.a.long.address@shop.example.test",
            user_id=f"user-{name}-0001",
            traits={"plan": "pro", "name": name.title(), "first_name": name.title()},
        )
        for name in ("ada", "bob", "cy")
    ]
    for contact in contacts:
        make_event(contact)
    rule = {"all": [{"field": "contact.traits.plan", "op": "eq", "value": "pro"}]}
    segment = segments.create_segment(
        workspace, marketer, {"name": "Plan is pro", "description": "Paying customers", "rule": rule}, timezone.now()
    )
    for n in range(3):
        make_product(workspace, sku=f"SKU-100{n}")
    journey = live_journey(workspace)
    message = make_test_send(workspace)
    Broadcast.objects.create(workspace=workspace, name="Spring sale for everyone on the pro plan", segment=segment)
    return {"contact": contacts[0], "segment": segment, "journey": journey, "message": message}


def assert_fits(page, width):
    """Nothing scrolls sideways: not the document, not the content area (tables scroll inside their own box)."""
    assert page_width(page) <= width, f"{page.url} is {page_width(page)}px wide"
    main = page.locator("main#main")
    assert main.evaluate("m => m.scrollWidth <= m.clientWidth"), f"the content of {page.url} scrolls sideways"


def walk(shop):
    """Each main page, and what shows that it has loaded its data."""
    contact, segment = shop["contact"], shop["segment"]
    return [
        ("/journeys", lambda page: page.get_by_role("link", name="Welcome series")),
        ("/templates", lambda page: page.get_by_role("link", name="Welcome", exact=True)),
        ("/contacts", lambda page: page.get_by_role("table", name="Contacts").get_by_text(contact.email)),
        (f"/contacts/{contact.pk}", lambda page: page.get_by_role("heading", name="Traits")),
        ("/segments", lambda page: page.get_by_role("table", name="Segments").get_by_text("Plan is pro")),
        (f"/segments/{segment.pk}", lambda page: page.get_by_role("table", name="Members").get_by_text(contact.email)),
        ("/broadcasts", lambda page: page.get_by_role("table", name="Broadcasts").get_by_text("Spring sale")),
        ("/catalog", lambda page: page.get_by_role("table", name="Products").get_by_text("SKU-1000")),
        (
            "/data-sources",
            lambda page: page.get_by_role("table", name="Last events received").locator("tbody tr").first,
        ),
        ("/outbox", lambda page: page.get_by_role("table", name="Messages").get_by_text("me@acme.test")),
        ("/qa", lambda page: page.get_by_role("heading", level=1)),
        ("/settings/members", lambda page: page.get_by_role("table", name="Members").get_by_text("admin@acme.test")),
        ("/settings/predictions", lambda page: page.get_by_role("heading", level=1)),
    ]


def test_every_main_page_fits_a_phone(shop, admin, page_for):
    page = page_for(admin, viewport=PHONE)
    for path, loaded in walk(shop):
        page.goto(path)
        expect(loaded(page).first).to_be_visible()
        assert_fits(page, PHONE["width"])
    assert page.console_errors == []


def test_the_menu_opens_the_navigation_and_closes_on_the_way_to_a_page(shop, admin, page_for):
    page = page_for(admin, viewport=PHONE)
    page.goto("/contacts")
    menu = page.get_by_role("button", name="Menu", exact=True)
    navigation = page.get_by_role("navigation", name="Main")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(navigation).to_be_hidden()

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(navigation).to_be_visible()
    drawer = page.get_by_role("dialog", name="Menu")
    assert drawer.evaluate("d => d.contains(document.activeElement)"), "the focus moves into the menu"
    for _ in range(30):  # Tab wraps inside the open menu
        page.keyboard.press("Tab")
        assert drawer.evaluate("d => d.contains(document.activeElement)"), "the focus left the open menu"
    assert_fits(page, PHONE["width"])

    page.keyboard.press("Escape")
    expect(navigation).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()

    menu.click()
    navigation.get_by_role("link", name="Segments").click()
    expect(page).to_have_url(re.compile(r"/segments$"))
    expect(page.get_by_role("table", name="Segments")).to_contain_text("Plan is pro")
    expect(navigation).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")

    # The "Close menu" button and a tap beside the drawer close it as well.
    menu.click()
    page.get_by_role("button", name="Close menu").click()
    expect(navigation).to_be_hidden()
    expect(menu).to_be_focused()
    menu.click()
    page.mouse.click(PHONE["width"] - 10, PHONE["height"] // 2)
    expect(navigation).to_be_hidden()
    assert page.console_errors == []


def test_pages_fit_a_tablet_with_the_navigation_in_the_menu(shop, admin, page_for):
    page = page_for(admin, viewport=TABLET)
    for path, loaded in walk(shop):
        if path in ("/contacts", "/catalog", "/outbox", "/settings/members", "/qa") or path.startswith("/segments/"):
            page.goto(path)
            expect(loaded(page).first).to_be_visible()
            assert_fits(page, TABLET["width"])
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    page.get_by_role("button", name="Menu", exact=True).click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    expect(page).to_have_url(re.compile(r"/catalog$"))
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    assert page.console_errors == []


def test_the_desktop_keeps_its_sidebar(shop, admin, page_for):
    page = page_for(admin)
    page.goto("/contacts")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("button", name="Menu", exact=True)).to_be_hidden()


# -- Get started --


def checklist(page):
    return page.get_by_role("region", name="Get started")


def steps(page):
    return checklist(page).get_by_role("list", name="First steps").get_by_role("listitem")


def done_steps(page):
    return checklist(page).locator('[data-done="true"]')


def test_a_new_workspace_gets_started_step_by_step(workspace, admin, page_for, settings):
    settings.JOURNEYS_KICKS = "off"
    settings.EMAIL_BACKEND = "delivery.backends.SandboxBackend"
    page = page_for(admin, viewport=PHONE)
    page.goto("/contacts")
    expect(steps(page)).to_have_count(4)
    expect(done_steps(page)).to_have_count(0)
    expect(steps(page)).to_have_text(
        [
            re.compile("Send data with the snippet.*to do"),
            re.compile("Import products.*to do"),
            re.compile("Publish a journey from a starter.*to do"),
            re.compile("Send a test.*to do"),
        ]
    )
    expect(checklist(page).get_by_role("link", name="Set up tracking")).to_have_attribute("href", "/data-sources")
    expect(checklist(page).get_by_role("link", name="Add products")).to_have_attribute("href", "/catalog")
    expect(checklist(page).get_by_role("link", name="Start a journey")).to_have_attribute("href", "/journeys")
    expect(checklist(page).get_by_role("link", name="Pick a template")).to_have_attribute("href", "/templates")
    assert_fits(page, PHONE["width"])

    make_product(workspace)
    make_event(Contact.objects.create(workspace=workspace, email="ada@shop.test", user_id="ada"))
    page.reload()
    expect(done_steps(page)).to_have_count(2)
    expect(checklist(page).get_by_test_id("get-started-events")).to_have_attribute("data-done", "true")
    expect(checklist(page).get_by_test_id("get-started-products")).to_have_attribute("data-done", "true")
    expect(checklist(page).get_by_test_id("get-started-progress")).to_have_text("2 of 4 done")

    live_journey(workspace)
    make_test_send(workspace)
    page.reload()
    expect(page.get_by_role("table", name="Contacts")).to_contain_text("ada@shop.test")
    expect(checklist(page)).to_have_count(0)
    assert page.console_errors == []


def test_get_started_can_be_hidden_in_this_browser(workspace, admin, qa, page_for):
    page = page_for(admin)
    page.goto("/catalog")
    expect(steps(page)).to_have_count(4)
    checklist(page).get_by_role("button", name="Hide").click()
    expect(checklist(page)).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", name="Catalog", level=1)).to_be_visible()
    expect(checklist(page)).to_have_count(0)

    # Another browser still shows it; a QA member, who cannot do the steps, does not get it.
    again = page_for(admin)
    again.goto("/catalog")
    expect(steps(again)).to_have_count(4)
    reviewer = page_for(qa)
    reviewer.goto("/catalog")
    expect(reviewer.get_by_role("heading", name="Catalog", level=1)).to_be_visible()
    expect(checklist(reviewer)).to_have_count(0)
    assert page.console_errors == [] and again.console_errors == [] and reviewer.console_errors == []
