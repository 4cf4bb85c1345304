"""A journey's Report tab in a real browser: two contacts start a live journey over /v1/, its email
goes out, one of them opens it, clicks its link and orders for $240; the report shows the entries,
the conversion and its revenue, a chart, the email's figures and its link, refuses a reversed
range in words, offers the same figures as CSV and fits a phone; the canvas shows the conversion
and its revenue on the email node that earned them."""

import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from playwright.sync_api import expect

from delivery import actions
from delivery.models import Message
from journeys import drafts, publishing
from tests.browser.test_canvas import SCREENSHOTS, count, open_editor, run_workers, send
from tests.delivery.conftest import make_template, simple_mjml
from tests.delivery.test_report import SHOP_LINK, journey_definition
from tests.factories import make_write_key

# The page is the same on either database and its server side is tested on both (tests/api, the
# apps' own tests): in the browser once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]

PHONE = {"width": 390, "height": 844}
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
APPLE_PREFETCH = "Mozilla/5.0"  # Apple Mail Privacy Protection: a machine's open, counted apart

WELCOME = journey_definition()  # welcome email, two days, a nudge; an order is the goal


@pytest.fixture
def earned(workspace, marketer, live_app, settings):
    """The journey, after Ada and Bo signed up and got the welcome email; Ada opened it, clicked its
    link and ordered for $240, Bo's mail app fetched it: all through the app's doors (/v1/, /t/)."""
    settings.JOURNEYS_KICKS = "off"  # this test is the worker
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_template(workspace, slug="welcome", mjml=simple_mjml(f'Hi! <a href="{SHOP_LINK}">Our sale</a>'))
    journey = drafts.create_journey(workspace, marketer, "Welcome", definition=WELCOME)
    publishing.publish_journey(journey, marketer)
    write_key = make_write_key(workspace)
    for name in ("ada", "bo"):
        send(live_app, write_key, "identify", {"userId": name, "traits": {"email": f"{name}@example.com"}})
        send(live_app, write_key, "track", {"userId": name, "event": "Signed Up"})
    run_workers(workspace)
    actions.sweep()
    assert Message.objects.filter(node_id="welcome", status=Message.Status.SENT).count() == 2
    ada, bo = (Message.objects.get(node_id="welcome", to_email=f"{name}@example.com") for name in ("ada", "bo"))
    assert visit(f"{live_app.url}/t/o/{ada.token}.gif", BROWSER) == 200
    assert visit(f"{live_app.url}/t/o/{bo.token}.gif", APPLE_PREFETCH) == 200
    click = unescape(re.search(r'href="([^"]*/t/c/[^"]+)"', ada.html).group(1))
    assert visit(click, BROWSER) == 302
    order = {"userId": "ada", "event": "Order Completed", "properties": {"revenue": 240, "currency": "USD"}}
    send(live_app, write_key, "track", order)
    run_workers(workspace)
    return journey


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def visit(url, agent):
    """A mail client (or its reader) loading a tracked address: the status code, redirects not followed."""
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    try:
        with urllib.request.build_opener(NoRedirect).open(request) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def report_url(journey):
    return f"/journeys/{journey.id}/report"


def test_the_report_shows_what_the_journey_earned(earned, marketer, page_for, live_app):
    page = page_for(marketer, viewport={"width": 1440, "height": 900})
    open_editor(page, earned.id)
    # The canvas: the email node that earned the order says so.
    expect(page.get_by_test_id("conversions-welcome")).to_have_text(re.compile(r"^1 conversion · \$?240\.00"))
    expect(count(page, "welcome", "sent")).to_have_text("2")
    expect(page.get_by_test_id("conversions-nudge")).to_have_count(0)

    page.get_by_role("navigation", name="Journey views").get_by_role("link", name="Report").click()
    expect(page).to_have_url(re.compile(rf"/journeys/{earned.id}/report$"))
    report = page.get_by_test_id("journey-report")
    expect(report.get_by_test_id("tile-entries")).to_have_text("2")
    expect(report.get_by_test_id("tile-conversions")).to_have_text("1")
    expect(report.get_by_test_id("tile-rate")).to_have_text("50%")
    expect(report.get_by_test_id("tile-revenue-USD")).to_contain_text("240.00")
    expect(report.get_by_test_id("attribution-rule")).to_contain_text("“Order Completed”")

    chart = report.get_by_test_id("daily-chart")
    expect(chart.locator("svg .recharts-bar-rectangle").first).to_be_visible()
    expect(chart.locator("svg .recharts-line-curve")).to_have_count(1)  # the revenue in dollars
    funnel = report.get_by_test_id("funnel-chart")
    expect(funnel.locator("svg .recharts-bar-rectangle").first).to_be_visible()
    expect(funnel.locator("svg")).to_contain_text("Entered")
    expect(funnel.locator("svg")).to_contain_text("Delay · pause")  # as the canvas names the step

    row = report.get_by_test_id("email-row-welcome")
    figures = {name: row.locator(f'[data-figure="{name}"]') for name in ("sent", "delivered", "open_rate")}
    expect(figures["sent"]).to_have_text("2")
    expect(figures["delivered"]).to_have_text("2")
    expect(figures["open_rate"]).to_contain_text("50%")
    expect(row.locator('[data-figure="click_rate"]')).to_contain_text("50%")
    expect(row.locator('[data-figure="conversions"]')).to_have_text("1")
    expect(row.locator('[data-figure="revenue"]')).to_contain_text("240.00")
    expect(row.locator('[data-figure="machine_opens"]')).to_have_text("1")  # Bo's, apart from the opens
    for name in ("unsubscribed", "bounced", "complained"):
        expect(row.locator(f'[data-figure="{name}"]')).to_have_text("0")
    links = report.get_by_test_id("links-welcome")
    expect(links.get_by_role("listitem")).to_have_count(1)
    expect(links.get_by_role("listitem")).to_contain_text(SHOP_LINK)
    expect(links.get_by_role("listitem")).to_contain_text("1 click")
    expect(report.get_by_test_id("links-nudge")).to_contain_text("No link clicked in these days.")
    versions = report.get_by_role("table", name="Versions")
    expect(versions.get_by_role("row", name=re.compile("Version 1"))).to_contain_text("50%")

    today = datetime.now(UTC).date()
    start = today - timedelta(days=29)
    csv = report.get_by_role("link", name="Download CSV")
    expected = f"/api/journeys/{earned.id}/report?from={start}&to={today}&download=csv"
    expect(csv).to_have_attribute("href", expected)
    answer = page.request.get(f"{live_app.url}{expected}")
    assert answer.ok and answer.headers["content-type"].startswith("text/csv")
    assert "Journey,Welcome" in answer.text()

    report.get_by_label("Version", exact=True).select_option(label="Version 1")
    expect(csv).to_have_attribute("href", f"{expected.removesuffix('&download=csv')}&version=1&download=csv")
    report.get_by_role("button", name="7 days").click()
    expect(report.get_by_role("button", name="7 days")).to_have_attribute("aria-pressed", "true")
    expect(report.get_by_test_id("tile-entries")).to_have_text("2")

    # A reversed range: the server's refusal, in words, next to the input at fault.
    report.get_by_label("From", exact=True).fill((today + timedelta(days=3)).isoformat())
    expect(report.get_by_role("alert")).to_have_text("The start of the range is after its end.")
    expect(report.get_by_label("From", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(report.get_by_test_id("tile-entries")).to_have_text("2")  # the last report stays
    report.get_by_role("button", name="30 days").click()
    expect(report.get_by_role("alert")).to_have_count(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report.png"), full_page=True)
    assert page.console_errors == []


def test_a_period_without_entries_says_so(earned, marketer, page_for):
    page = page_for(marketer)
    page.goto(f"{report_url(earned)}?from=2020-01-01&to=2020-01-31")
    expect(page.get_by_role("status").filter(has_text="No one has entered this journey in these days")).to_be_visible()
    expect(page.get_by_test_id("tile-entries")).to_have_text("0")
    assert page.console_errors == []


def test_the_report_fits_a_phone(earned, marketer, page_for):
    page = page_for(marketer, viewport=PHONE)
    page.goto(report_url(earned))
    expect(page.get_by_test_id("tile-entries")).to_have_text("2")
    expect(page.get_by_test_id("daily-chart").locator("svg .recharts-bar-rectangle").first).to_be_visible()
    fits = page.evaluate(
        """() => {
            const root = document.documentElement, report = document.querySelector("[data-testid=journey-report]");
            const edge = report.getBoundingClientRect().right + 0.5;
            // Only the tables scroll sideways, inside their own frame; nothing else sticks out.
            const outside = [...report.querySelectorAll("*")].filter((e) => !e.closest(".table-scroll")
                && e.getBoundingClientRect().right > edge);
            const tiles = [...report.querySelectorAll(".report-tile")].map((t) => t.getBoundingClientRect().top);
            return {
                body: root.scrollWidth <= root.clientWidth && document.body.scrollWidth <= root.clientWidth,
                report: report.scrollWidth <= report.clientWidth,
                outside: outside.map((e) => e.className || e.tagName),
                rows: new Set(tiles).size,
            };
        }"""
    )
    assert fits["body"] and fits["report"] and fits["outside"] == [], fits
    assert fits["rows"] > 1, "the tiles wrap onto several rows"
    table = page.get_by_role("region", name="Email figures, scrolls sideways")
    assert table.evaluate("e => e.scrollWidth > e.clientWidth && getComputedStyle(e).overflowX === 'auto'")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report-phone.png"))
    assert page.console_errors == []


def test_the_attribution_windows_are_set_on_the_trigger_and_checked(workspace, marketer, page_for):
    make_template(workspace, slug="welcome", mjml=simple_mjml("Hi"))
    journey = drafts.create_journey(workspace, marketer, "Welcome", definition=WELCOME)
    page = page_for(marketer, viewport={"width": 1440, "height": 900})
    open_editor(page, journey.id)
    page.get_by_test_id("node-trigger").click()
    panel = page.get_by_test_id("side-panel")
    event = panel.get_by_label("Conversion event")
    expect(event).to_have_attribute("placeholder", "Order Completed")
    expect(
        panel.get_by_text("Left empty: the first goal that counts as a conversion, “Order Completed”.")
    ).to_be_visible()
    window = panel.get_by_label("Credit an email clicked within", exact=True)
    expect(window).to_have_value("5")
    window.fill("0")
    click_field = panel.locator('[data-field="conversion.windows.click"]')
    expect(click_field.get_by_role("alert")).to_have_text("The duration must be longer than zero.", timeout=10_000)
    expect(page.get_by_test_id("problems-trigger")).to_contain_text("longer than zero")
    window.fill("7")
    expect(click_field.get_by_role("alert")).to_have_count(0, timeout=10_000)
    event.fill("Subscribed")
    expect(page.get_by_test_id("save-status")).to_have_text("Saved", timeout=10_000)
    journey.refresh_from_db()
    assert journey.draft["conversion"] == {"event": "Subscribed", "windows": {"click": "P7D"}}
    assert page.console_errors == []
