"""The trigger panel in a real browser for the audience and catalog triggers (issue 13): a
marketer makes a price-drop journey, sees a threshold outside 1–99% refused on the trigger, fixes
it, narrows who is interested and publishes; another journey starts on entering a segment chosen
from the workspace's segments."""

import pytest
from playwright.sync_api import expect

from delivery import actions as delivery_actions
from journeys import drafts
from journeys.models import Journey, Segment

from .test_canvas import MJML, api_get, close_panel, open_editor

# The page is the same on either database and its server side is tested on both (tests/api, the
# apps' own tests): in the browser once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]


@pytest.fixture
def templates(workspace):
    delivery_actions.save_template(workspace, None, slug="cart-reminder", name="Cart reminder", subject="Hi", mjml=MJML)


EMAIL_ONLY = {
    "entry": {"re_entry": "after_exit"},
    "exit_on": [],
    "nodes": [{"id": "email1", "type": "email", "config": {"template": "cart-reminder", "category": "marketing"}}],
    "edges": [{"from": "trigger", "to": "email1"}],
    "layout": {"trigger": {"x": 0, "y": 0}, "email1": {"x": 0, "y": 160}},
}


def test_a_price_drop_trigger_is_set_in_the_panel_and_a_bad_threshold_is_refused(
    page_for,
    marketer,
    workspace,
    templates,
    live_app,
):
    definition = {**EMAIL_ONLY, "trigger": {"type": "price_drop", "min_percent": 150}}
    journey = drafts.create_journey(workspace, marketer, "Tent price drop", definition=definition)
    page = page_for(marketer)
    open_editor(page, journey.id)
    expect(page.get_by_test_id("problems-trigger")).to_contain_text("between 1% and 99%")
    expect(page.get_by_test_id("publish")).to_be_disabled()

    page.get_by_test_id("node-trigger").click()
    panel = page.get_by_test_id("side-panel")
    expect(panel.get_by_label("Trigger", exact=True)).to_have_value("price_drop")
    panel.get_by_label("Drops by at least (%)").fill("20")
    expect(page.get_by_test_id("problems-trigger")).to_have_count(0)
    panel.get_by_label("Wishlisted it").uncheck()
    panel.get_by_label("Within the last", exact=True).fill("14")
    close_panel(page)
    expect(page.get_by_test_id("problems-badge")).to_have_text("✓ Ready to publish", timeout=10_000)
    page.get_by_test_id("publish").click()
    page.get_by_test_id("publish-confirm").click()
    expect(page.locator(".editor-title .tag")).to_have_text("live")

    live = api_get(live_app, page, f"/api/journeys/{journey.id}")["live_definition"]["trigger"]
    assert live == {"type": "price_drop", "min_percent": 20, "interest": ["viewed", "carted"], "window": "P14D"}
    assert page.console_errors == []


def test_a_segment_trigger_picks_one_of_the_workspace_segments(page_for, marketer, workspace, templates, live_app):
    vip = Segment.objects.create(
        workspace=workspace, name="VIP", rule={"field": "contact.traits.vip", "op": "eq", "value": True}
    )
    journey = drafts.create_journey(
        workspace,
        marketer,
        "VIP welcome",
        definition={**EMAIL_ONLY, "trigger": {"type": "event", "event": "Signed Up"}},
    )
    page = page_for(marketer)
    open_editor(page, journey.id)
    page.get_by_test_id("node-trigger").click()
    panel = page.get_by_test_id("side-panel")
    panel.get_by_label("Trigger", exact=True).select_option("segment")
    expect(panel.locator('[data-field="segment"]')).to_contain_text("Choose the segment that starts the journey.")
    panel.get_by_label("Segment", exact=True).select_option(label="VIP (0)")
    expect(panel.get_by_label("Leave the journey on leaving the segment")).to_be_checked()
    close_panel(page)
    expect(page.get_by_test_id("node-trigger")).to_contain_text("On entering a segment")
    expect(page.get_by_test_id("problems-badge")).to_have_text("✓ Ready to publish", timeout=10_000)
    page.get_by_test_id("publish").click()
    page.get_by_test_id("publish-confirm").click()
    expect(page.locator(".editor-title .tag")).to_have_text("live")
    journey = Journey.objects.get(pk=journey.pk)
    assert journey.live_version.definition["trigger"] == {
        "type": "segment",
        "segment": vip.pk,
        "on": "entered",
        "exit_when_left": True,
    }
    assert journey.trigger_event == f"segment:{vip.pk}"
    assert page.console_errors == []
