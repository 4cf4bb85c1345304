"""The journey's choice for emails over the frequency cap, on the trigger's panel of the canvas:
delay until allowed (the default, with a longest delay) or skip the email."""

import pytest
from playwright.sync_api import expect

from delivery import actions as delivery_actions
from journeys import drafts

# The page is the same on either database and its server side is tested on both (tests/api, the
# apps' own tests): in the browser once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]

PROMO = {
    "trigger": {"type": "event", "event": "Signed Up", "where": {"all": []}},
    "entry": {"re_entry": "after_exit", "audience": {"all": []}},
    "exit_on": [],
    "nodes": [{"id": "email1", "type": "email", "config": {"template": "promo", "category": "marketing"}}],
    "edges": [{"from": "trigger", "to": "email1"}],
    "layout": {"trigger": {"x": 0, "y": 0}, "email1": {"x": 0, "y": 150}},
}
MJML = "<mjml><mj-body><mj-section><mj-column><mj-text>Sale</mj-text></mj-column></mj-section></mj-body></mjml>"


def test_a_marketer_chooses_what_the_frequency_cap_does_with_the_journeys_emails(page_for, marketer, workspace):
    delivery_actions.save_template(workspace, None, slug="promo", name="Promo", subject="Sale", mjml=MJML)
    journey = drafts.create_journey(workspace, marketer, "Promo", definition=PROMO)
    page = page_for(marketer)
    page.goto(f"/journeys/{journey.id}")
    page.get_by_test_id("journey-editor").wait_for()
    page.get_by_test_id("node-trigger").click()
    panel = page.get_by_test_id("side-panel")
    choice = panel.get_by_label("When a contact is over the frequency cap")
    expect(choice).to_have_value("defer")  # the default, for a journey that never chose
    expect(panel.get_by_label("Skip it if delayed longer than", exact=True)).to_have_value("3")
    expect(panel.get_by_label("Skip it if delayed longer than: unit")).to_have_value("days")

    choice.select_option(label="Skip this email")
    expect(panel.get_by_label("Skip it if delayed longer than", exact=True)).to_have_count(0)
    expect(page.get_by_test_id("save-status")).to_have_text("Saved", timeout=10_000)
    journey.refresh_from_db()
    assert journey.draft["sending"] == {"over_cap": "skip"}

    choice.select_option(label="Delay until allowed (default)")
    panel.get_by_label("Skip it if delayed longer than", exact=True).fill("12")
    panel.get_by_label("Skip it if delayed longer than: unit").select_option("hours")
    expect(page.get_by_test_id("save-status")).to_have_text("Saved", timeout=10_000)
    journey.refresh_from_db()
    assert journey.draft["sending"] == {"over_cap": "defer", "max_deferral": "PT12H"}
    assert {key: value for key, value in journey.draft.items() if key != "sending"} == {
        **PROMO,
        "layout": journey.draft["layout"],
    }
    assert page.console_errors == []
