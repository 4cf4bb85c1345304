"""The template editor in a real browser: CodeMirror with MJML and Liquid, completion of the objects
an email sees, the server's errors at their line and column, content blocks, the preview, saving
versions, and read-only for QA."""

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from delivery import actions as delivery_actions
from delivery.models import Template
from tests.browser.test_canvas import console_errors

# The page is the same on either database and its server side is tested on both (tests/api, the
# apps' own tests): in the browser once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]

# The README tour's screenshots are refreshed only when asked (WAYLINE_SCREENSHOTS=docs/screenshots);
# otherwise they go to a scratch folder so a test run leaves the tree as it was.
SCREENSHOTS = Path(os.environ.get("WAYLINE_SCREENSHOTS") or tempfile.mkdtemp(prefix="wayline-shots-"))

FOOTER = """<mj-section><mj-column><mj-text font-size="12px" color="#8a91a0" align="center">
  Acme Shop · 1 Main Street · <a href="{{ links.unsubscribe }}">Unsubscribe</a>
</mj-text></mj-column></mj-section>"""


@pytest.fixture
def footer_block(workspace):
    return delivery_actions.save_block(
        workspace, None, name="footer", description="Address and unsubscribe", source=FOOTER
    )


def editor(page, label):
    return page.locator(f'.cm-content[aria-label="{label}"]')


def select_all_and_type(page, label, text):
    editor(page, label).click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def test_a_marketer_writes_a_template_with_liquid_and_sees_errors_where_they_are(
    page_for, marketer, footer_block, live_app
):
    page = page_for(marketer, viewport={"width": 1440, "height": 900})
    logged = console_errors(page, live_app.url)
    page.goto("/templates")
    page.get_by_role("button", name="New template").click()
    page.get_by_label("Name").fill("Cart reminder")
    expect(page.get_by_label("Slug")).to_have_value("cart-reminder")
    page.get_by_role("button", name="Create and edit").click()
    page.get_by_test_id("template-editor").wait_for()
    expect(page.get_by_test_id("template-save-status")).to_have_text("Version 1 saved")
    expect(page.get_by_test_id("template-problems")).to_have_text("✓ No problems")

    # The subject takes Liquid, with completion of the contact's fields.
    select_all_and_type(page, "Subject", "Your cart is waiting, ")
    page.keyboard.type("{{ contact.fir")
    completion = page.locator(".cm-tooltip-autocomplete")
    expect(completion).to_contain_text("first_name")
    page.wait_for_timeout(200)  # CodeMirror ignores Enter for a moment after the list opens
    page.keyboard.press("Enter")
    page.keyboard.type(' | default: "friend" }}')
    expect(editor(page, "Subject")).to_have_text('Your cart is waiting, {{ contact.first_name | default: "friend" }}')
    expect(page.get_by_test_id("preview-subject")).to_have_text("Your cart is waiting, friend")

    # An unclosed tag: the server names line and column, the editor marks the spot, saving waits.
    mjml = editor(page, "MJML")
    mjml.click()
    page.keyboard.press("Control+Home")
    for _ in range(6):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.insert_text("<mj-text>{% if cart.total > 100 %}Free shipping on us.")
    problems = page.get_by_test_id("template-problems")
    expect(problems).to_contain_text("mjml 8:")
    expect(problems).to_contain_text("endif")
    expect(page.locator(".cm-lintRange-error")).not_to_have_count(0)
    expect(page.get_by_role("button", name="Save version")).to_be_disabled()

    page.keyboard.insert_text("{% endif %}</mj-text>")
    expect(problems).to_have_text("✓ No problems", timeout=10_000)

    # A content block goes in at the cursor.
    page.get_by_role("button", name="Content blocks").click()
    mjml.click()
    page.keyboard.press("Control+End")
    for _ in range(3):
        page.keyboard.press("ArrowUp")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Insert footer").click()
    expect(mjml).to_contain_text('{% include "footer" %}')
    page.get_by_role("button", name="Close content blocks").click()

    preview = page.frame_locator('[data-testid="preview-frame"]')
    expect(preview.get_by_text("Free shipping on us.")).to_have_count(0)  # the sample cart is small
    expect(preview.get_by_text("1 Main Street")).to_be_visible(timeout=10_000)

    page.get_by_role("button", name="Save version").click()
    expect(page.get_by_test_id("template-save-status")).to_have_text("Version 2 saved")
    template = Template.objects.get(slug="cart-reminder")
    assert template.latest_version.number == 2
    assert '{% include "footer" %}' in template.latest_version.mjml
    assert template.latest_version.subject == 'Your cart is waiting, {{ contact.first_name | default: "friend" }}'

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    mjml.click()
    page.keyboard.press("Control+Home")
    page.screenshot(path=str(SCREENSHOTS / "template-editor.png"))
    assert page.console_errors == [] and logged == []


def test_a_qa_member_reads_templates_but_cannot_change_them(page_for, qa, workspace):
    template, _ = delivery_actions.save_template(
        workspace,
        None,
        slug="welcome",
        name="Welcome",
        subject="Welcome!",
        mjml=FOOTER.join(["<mjml><mj-body>", "</mj-body></mjml>"]),
    )
    page = page_for(qa)
    page.goto(f"/templates/{template.id}")
    page.get_by_test_id("template-editor").wait_for()
    expect(page.get_by_role("button", name="Save version")).to_have_count(0)
    expect(editor(page, "MJML")).to_have_attribute("contenteditable", "false")
    expect(page.frame_locator('[data-testid="preview-frame"]').get_by_text("1 Main Street")).to_be_visible()
    assert page.console_errors == []
