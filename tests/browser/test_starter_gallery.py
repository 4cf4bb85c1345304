"""Email design without code (issue 15): a marketer starts a template from the gallery of starters
(thumbnails of each), lands in its editor, then picks it on a journey's email node by searching the
template picker's thumbnails; the node's template is set in the draft."""

import json
import os
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from delivery.models import Template
from journeys import drafts

# The page in the browser is the same on either database: once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]

# Screenshots go to a scratch folder unless asked for (WAYLINE_SCREENSHOTS=docs/screenshots).
SCREENSHOTS = Path(os.environ.get("WAYLINE_SCREENSHOTS") or tempfile.mkdtemp(prefix="wayline-shots-"))

DEFINITION = {
    "trigger": {"type": "event", "event": "Product Viewed", "where": {"all": []}},
    "entry": {"re_entry": "after_exit", "audience": {"all": []}},
    "exit_on": [],
    "nodes": [{"id": "email1", "type": "email", "config": {"template": "", "category": "marketing"}}],
    "edges": [{"from": "trigger", "to": "email1"}],
}


def test_a_marketer_starts_from_the_price_drop_starter_and_picks_it_on_the_canvas(
    page_for, marketer, workspace, live_app
):
    page = page_for(marketer)
    page.goto("/templates")
    page.get_by_role("button", name="New template").click()
    page.get_by_role("button", name="Start from a starter").click()

    gallery = page.get_by_role("dialog")
    expect(gallery.get_by_role("heading", name="Start from a starter")).to_be_visible()
    price_drop = gallery.get_by_test_id("starter-price-drop")
    expect(price_drop.locator("iframe")).to_be_visible()
    expect(price_drop.locator("iframe")).to_have_attribute("sandbox", "")
    expect(price_drop.locator("iframe")).to_have_attribute("title", re.compile("Price drop"))
    expect(gallery.locator("iframe")).to_have_count(7)
    for index in range(7):
        expect(gallery.locator("iframe").nth(index)).to_be_visible()

    page.screenshot(path=str(SCREENSHOTS / "starter-gallery.png"))
    violations = serious_violations(page)
    assert violations == [], describe(violations)
    price_drop.get_by_role("button", name="Price drop").click()
    page.wait_for_url(re.compile(r"/templates/\d+$"))
    page.get_by_test_id("template-editor").wait_for()
    expect(page.get_by_test_id("template-save-status")).to_have_text("Version 1 saved")
    template = Template.objects.get(workspace=workspace, slug="price-drop")
    assert template.name == "Price drop" and template.latest_version.number == 1
    assert page.url.endswith(f"/templates/{template.id}")

    # Another template, so that the search has something to leave out.
    page.request.post(
        f"{live_app.url}/api/templates/from-starter",
        data=json.dumps({"key": "welcome"}),
        headers=csrf_headers(page),
    )

    journey = drafts.create_journey(workspace, marketer, "Price watch", definition=DEFINITION)
    page.goto(f"/journeys/{journey.id}")
    page.get_by_test_id("journey-editor").wait_for()
    page.get_by_test_id("node-email1").click()
    panel = page.get_by_test_id("side-panel")
    panel.get_by_role("button", name="Browse templates…").click()
    search = panel.get_by_role("combobox", name="Search by name or slug")
    expect(search).to_be_focused()
    expect(picker(panel).get_by_role("option")).to_have_count(2)
    search.fill("price")
    options = picker(panel).get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Price drop")
    expect(options.first.locator("iframe")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "template-picker.png"))
    violations = serious_violations(page)
    assert violations == [], describe(violations)
    options.first.click()

    expect(picker(panel).get_by_role("option")).to_have_count(0)
    expect(panel.get_by_label("Template")).to_have_value("price-drop")
    expect(page.get_by_test_id("save-status")).to_have_text("Saved", timeout=10_000)
    draft = page.request.get(f"{live_app.url}/api/journeys/{journey.id}").json()
    [node] = [n for n in draft["draft"]["nodes"] if n["id"] == "email1"]
    assert node["config"]["template"] == "price-drop"
    assert page.console_errors == []


def test_the_picker_is_keyboard_navigable(page_for, marketer, workspace, live_app):
    page = page_for(marketer)
    for key in ("back-in-stock", "price-drop"):
        page.goto("/")  # the session's cookies
        answer = page.request.post(
            f"{live_app.url}/api/templates/from-starter", data=json.dumps({"key": key}), headers=csrf_headers(page)
        )
        assert answer.status == 201, answer.text()
    journey = drafts.create_journey(workspace, marketer, "Keyboard", definition=DEFINITION)
    page.goto(f"/journeys/{journey.id}")
    page.get_by_test_id("journey-editor").wait_for()
    page.get_by_test_id("node-email1").click()
    panel = page.get_by_test_id("side-panel")
    browse = panel.get_by_role("button", name="Browse templates…")
    browse.click()
    search = panel.get_by_role("combobox", name="Search by name or slug")
    expect(picker(panel).get_by_role("option")).to_have_count(2)
    expect(picker(panel).get_by_role("option", selected=True)).to_contain_text("Back in stock")
    search.press("ArrowDown")
    expect(picker(panel).get_by_role("option", selected=True)).to_contain_text("Price drop")
    expect(search).to_have_attribute("aria-activedescendant", re.compile(".+"))
    search.press("Enter")
    expect(panel.get_by_label("Template")).to_have_value("price-drop")
    expect(browse).to_be_focused()
    browse.click()
    panel.get_by_role("combobox", name="Search by name or slug").press("Escape")
    expect(picker(panel).get_by_role("option")).to_have_count(0)
    expect(page.get_by_test_id("side-panel")).to_be_visible()
    assert page.console_errors == []


AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(page):
    """axe-core's serious and critical findings on the page as it is now (run through DevTools:
    the app's CSP refuses an injected <script>)."""
    page.evaluate(AXE.read_text())
    violations = page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations.map(
            (v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")) }))"""
    )
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def describe(violations):
    return "\n".join(f"- {v['id']} ({v['impact']}): {v['help']}: {', '.join(v['targets'][:10])}" for v in violations)


def picker(panel):
    """The picker's listbox (the selects' own options are options too)."""
    return panel.get_by_role("listbox", name="Matching emails")


def csrf_headers(page):
    token = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "csrftoken")
    return {"X-CSRFToken": token, "Content-Type": "application/json"}
