"""Live preview and the QA workspace in a real browser: typing in the template editor updates each
persona's variant; the gallery shows every persona at every email step; QA approves and the
marketer publishes; an edit after the approval gets the publish refused."""

import re

import pytest
from playwright.sync_api import expect

from delivery.models import Message
from editor.models import QAApproval, WorkspaceQASettings
from journeys.drafts import save_draft
from journeys.models import Journey, JourneyVersion
from tests.preview.builders import FALLBACK_MJML, make_cart_journey, make_catalog, make_personas, make_template

pytestmark = pytest.mark.browser

GERMAN_SECTION = (
    '<mj-raw>{% if contact.country == "DE" %}</mj-raw><mj-section><mj-column>'
    "<mj-text>Hallo aus Berlin: Versand gratis.</mj-text></mj-column></mj-section><mj-raw>{% endif %}</mj-raw>"
)


def variant(page, label):
    return page.locator(f'[data-testid="variant"][data-label="{label}"]')


def frame(page, label):
    return page.frame_locator(f'[data-testid="variant"][data-label="{label}"] iframe')


def test_typing_in_the_template_editor_updates_each_personas_variant(page_for, workspace, marketer):
    make_catalog(workspace)
    make_personas(workspace)
    template = make_template(workspace, FALLBACK_MJML, subject="Your cart")
    page = page_for(marketer, viewport={"width": 1600, "height": 1000})
    page.goto(f"/templates/{template.id}")
    page.get_by_test_id("template-editor").wait_for()
    preview = page.get_by_test_id("live-preview")
    expect(preview.get_by_test_id("variant")).to_have_count(3, timeout=15_000)
    for label in ("Ada with a price drop", "Empty cart", "Jonas in Berlin"):
        expect(frame(page, label).get_by_text("you left something behind")).to_be_visible(timeout=15_000)

    # Type a German-only section just before </mj-body>, and a personal subject.
    mjml = page.locator('.cm-content[aria-label="MJML"]')
    mjml.click()
    page.keyboard.press("Control+End")  # the empty line after </mjml>
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")  # the line of </mj-body>
    page.keyboard.press("Home")
    page.keyboard.insert_text(GERMAN_SECTION + "\n")
    subject = page.locator('.cm-content[aria-label="Subject"]')
    subject.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text("{{ contact.first_name | default: 'Friend' }}, your cart")

    # The German contact sees the German block, the others do not.
    expect(frame(page, "Jonas in Berlin").get_by_text("Hallo aus Berlin: Versand gratis.")).to_be_visible(
        timeout=15_000
    )
    expect(frame(page, "Ada with a price drop").get_by_text("Hallo aus Berlin")).to_have_count(0)
    expect(frame(page, "Empty cart").get_by_text("Hallo aus Berlin")).to_have_count(0)
    # A price drop: the old and the new price.
    drop = frame(page, "Ada with a price drop")
    expect(drop.locator("span.was")).to_have_text("US$49.99")
    expect(drop.get_by_text("the price dropped!")).to_be_visible()
    # An empty cart: the fallback.
    expect(frame(page, "Empty cart").get_by_text("Your cart is empty")).to_be_visible()
    expect(frame(page, "Jonas in Berlin").get_by_text("Your cart is empty")).to_have_count(0)
    # The subject line, per persona.
    expect(variant(page, "Jonas in Berlin").get_by_test_id("variant-subject")).to_have_text("Jonas, your cart")
    expect(variant(page, "Ada with a price drop").get_by_test_id("variant-subject")).to_have_text("Ada, your cart")
    expect(variant(page, "Empty cart").get_by_test_id("variant-subject")).to_have_text("Friend, your cart")
    # Sandboxed frames: their own script only, no same origin.
    assert page.locator('[data-testid="variant"] iframe').first.get_attribute("sandbox") == "allow-scripts"

    # One at a time, at mobile width.
    preview.get_by_role("button", name="One at a time").click()
    preview.get_by_role("tab", name="Jonas in Berlin").click()
    preview.get_by_role("button", name="Mobile").click()
    expect(preview.get_by_test_id("variant")).to_have_count(1)
    assert preview.locator("iframe").evaluate("frame => frame.getBoundingClientRect().width") == 375

    # A test of this variant (the saved version) to my own address, marked as a test.
    preview.get_by_role("button", name="Send test").click()
    expect(preview.get_by_role("status").filter(has_text="Sent to marketer@acme.test")).to_be_visible()
    message = Message.objects.get(is_test=True)
    assert message.to_email == "marketer@acme.test" and message.subject == "[Test] Your cart"
    assert "Hallo aus Berlin" not in message.html  # the typed section is not saved
    assert "Kostenloser Versand nach Deutschland" in message.html and "Merino Socks" in message.html  # Jonas
    assert page.console_errors == []


def test_the_gallery_shows_every_persona_at_every_email_step(page_for, workspace, admin, qa):
    make_catalog(workspace)
    german, price_drop, empty = make_personas(workspace)
    journey = make_cart_journey(workspace, admin)
    page = page_for(qa, viewport={"width": 1600, "height": 1000})
    page.goto(f"/qa/journeys/{journey.id}")
    cells = page.get_by_test_id("gallery-cell")
    expect(cells).to_have_count(9, timeout=20_000)  # 3 personas x 3 email nodes
    for persona in (german, price_drop, empty):
        for node in ("mail1", "mail2", "mail3"):
            expect(
                page.locator(f'[data-testid="gallery-cell"][data-persona="{persona.id}"][data-node="{node}"]')
            ).to_have_count(1)
    first = page.locator(f'[data-testid="gallery-cell"][data-persona="{german.id}"][data-node="mail1"]')
    expect(first).to_have_attribute("data-reached", "true")
    expect(first).to_contain_text("arrives +1 h")
    expect(first).to_contain_text("trigger → wait1 → mail1")
    expect(first.get_by_test_id("cell-subject")).to_have_text("Your cart, Jonas")
    expect(first.frame_locator("iframe").get_by_text("Kostenloser Versand")).to_be_visible()
    off_path = page.locator(f'[data-testid="gallery-cell"][data-persona="{german.id}"][data-node="mail2"]')
    expect(off_path).to_have_attribute("data-reached", "false")

    # Path simulation with a hypothetical order: the journey ends before any email.
    simulation = page.get_by_test_id("simulation")
    simulation.get_by_label("Subject").select_option(label="Jonas in Berlin")
    simulation.get_by_role("button", name="Add event").click()
    simulation.get_by_label("Event name").fill("Order Completed")
    simulation.get_by_label("After").fill("30")
    simulation.get_by_role("button", name="Simulate").click()
    expect(simulation.get_by_test_id("simulation-outcome")).to_contain_text("goal reached")
    expect(simulation.get_by_test_id("simulation-outcome")).to_contain_text("No email.")

    # The live preview of one email node: the template it sends, for the personas.
    page.get_by_role("columnheader").filter(has_text="mail1").get_by_role("link", name="Live preview").click()
    expect(page.get_by_test_id("variant")).to_have_count(3, timeout=15_000)
    expect(variant(page, "Jonas in Berlin").get_by_test_id("variant-subject")).to_have_text("Your cart, Jonas")
    assert page.console_errors == []


def test_qa_approves_the_marketer_publishes_and_an_edit_needs_a_new_approval(page_for, workspace, admin, marketer, qa):
    make_catalog(workspace)
    make_personas(workspace)
    WorkspaceQASettings.objects.create(workspace=workspace, publish_requires_approval=True)
    journey = make_cart_journey(workspace, admin)

    reviewer = page_for(qa, viewport={"width": 1440, "height": 900})
    reviewer.goto(f"/qa/journeys/{journey.id}")
    approval = reviewer.get_by_test_id("approval")
    expect(approval).to_have_attribute("data-approved", "false")
    expect(approval).to_contain_text("has not been approved")
    approval.get_by_role("button", name="Approve revision 1").click()
    expect(approval).to_have_attribute("data-approved", "true")
    expect(approval).to_contain_text("Revision 1 approved by qa@acme.test")

    editor = page_for(marketer, viewport={"width": 1440, "height": 900})
    editor.goto(f"/journeys/{journey.id}")
    editor.get_by_test_id("journey-editor").wait_for()
    editor.get_by_test_id("publish").click()
    editor.get_by_test_id("publish-confirm").click()
    expect(editor.get_by_test_id("publish-dialog")).to_have_count(0, timeout=10_000)
    assert JourneyVersion.objects.filter(journey=journey).count() == 1
    assert QAApproval.objects.get(journey=journey).published_version == 1

    # The marketer changes the draft (elsewhere): the approval no longer holds.
    journey.refresh_from_db()
    definition = journey.draft
    definition["nodes"][0]["config"]["timeout"] = "PT2H"
    save_draft(journey, marketer, revision=journey.draft_revision, definition=definition)
    editor.reload()
    editor.get_by_test_id("journey-editor").wait_for()
    editor.get_by_test_id("publish").click()
    dialog = editor.get_by_test_id("publish-dialog")
    expect(dialog).to_contain_text("Publishing needs a QA approval", timeout=10_000)
    expect(dialog).to_contain_text("edited after QA approved revision 1")
    expect(editor.get_by_test_id("publish-confirm")).to_be_disabled()
    assert JourneyVersion.objects.filter(journey=journey).count() == 1
    assert Journey.objects.get(pk=journey.pk).live_version.number == 1

    reviewer.reload()
    expect(reviewer.get_by_test_id("approval")).to_have_attribute("data-approved", "false")
    expect(reviewer.get_by_test_id("approval")).to_contain_text("Approve revision 2")
    assert editor.console_errors == [] and reviewer.console_errors == []


def test_a_simulated_path_is_highlighted_on_the_canvas_with_times(page_for, workspace, admin, marketer):
    make_catalog(workspace)
    make_personas(workspace)
    journey = make_cart_journey(workspace, admin)
    page = page_for(marketer, viewport={"width": 1600, "height": 1000})
    page.goto(f"/journeys/{journey.id}")
    page.get_by_test_id("journey-editor").wait_for()
    page.get_by_test_id("simulate-toggle").click()
    drawer = page.get_by_test_id("simulation-drawer")
    drawer.get_by_label("Subject").select_option(label="Jonas in Berlin")
    drawer.get_by_role("button", name="Simulate").click()
    # Jonas (a small cart) waits an hour, gets the reminder, a day later the branch says no.
    expect(page.get_by_test_id("sim-mail1")).to_have_text("+1 h")
    expect(page.get_by_test_id("sim-mail3")).to_have_text("+1 d 1 h")
    expect(page.get_by_test_id("node-mail3")).to_have_class(re.compile("on-sim-path"))
    expect(page.get_by_test_id("sim-mail2")).to_have_count(0)
    expect(page.get_by_test_id("node-mail2")).not_to_have_class(re.compile("on-sim-path"))

    # An order half an hour in: the journey ends at the wait, nothing else is on the path.
    drawer.get_by_role("button", name="Add event").click()
    drawer.get_by_label("Event name").fill("Order Completed")
    drawer.get_by_label("After").fill("30")
    drawer.get_by_role("button", name="Simulate").click()
    expect(drawer.get_by_test_id("simulation-outcome")).to_contain_text("goal reached")
    expect(page.get_by_test_id("sim-mail1")).to_have_count(0)
    expect(page.get_by_test_id("sim-wait1")).to_be_visible()
    drawer.get_by_role("button", name="Close the simulation").click()
    expect(page.get_by_test_id("sim-wait1")).to_have_count(0)
    assert page.console_errors == []


def test_two_members_on_a_journey_see_each_other_and_the_others_saves(page_for, workspace, admin, marketer):
    journey = make_cart_journey(workspace, admin)
    mine = page_for(marketer, viewport={"width": 1440, "height": 900})
    mine.goto(f"/journeys/{journey.id}")
    mine.get_by_test_id("journey-editor").wait_for()
    theirs = page_for(admin, viewport={"width": 1440, "height": 900})
    theirs.goto(f"/journeys/{journey.id}")
    theirs.get_by_test_id("journey-editor").wait_for()
    expect(mine.get_by_test_id("journey-presence")).to_contain_text("is here too")
    expect(mine.get_by_label(re.compile(r"is here$"))).to_have_count(1)
    expect(theirs.get_by_test_id("journey-presence")).to_contain_text("is here too")
    expect(mine.get_by_test_id("node-wait1")).to_contain_text("1 h")

    # The admin's change is saved (through the API, as their canvas saves): the marketer, with
    # nothing unsaved, sees it on the canvas without reloading.
    journey.refresh_from_db()
    definition = journey.draft
    definition["nodes"][0]["config"]["timeout"] = "PT5H"
    save_draft(journey, admin, revision=journey.draft_revision, definition=definition)
    expect(mine.get_by_test_id("presence-notice")).to_contain_text("saved revision 2", timeout=10_000)
    expect(mine.get_by_test_id("node-wait1")).to_contain_text("5 h")

    theirs.close()
    expect(mine.get_by_test_id("journey-presence")).not_to_contain_text("is here too", timeout=10_000)
    assert mine.console_errors == []
