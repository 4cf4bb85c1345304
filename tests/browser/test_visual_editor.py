"""The template editor's visual view in a real browser: GrapesJS with grapesjs-mjml on the same MJML
source as the code view. Every demo template survives Code → Visual → Code and a save with its
Liquid, mj-raw and includes as written; a marketer designs an email by dragging blocks, types its
text, saves it and receives a test of it."""

import re

import pytest
from playwright.sync_api import expect

from delivery import actions as delivery_actions
from delivery import demo
from delivery.models import ContentBlock, Message, Template
from tests.browser.test_canvas import console_errors
from tests.browser.test_template_editor import SCREENSHOTS
from tests.delivery.conftest import REFERENCE_MJML, REFERENCE_SUBJECT, smtp  # noqa: F401 (a fixture)

# The page in the browser is the same on either database: once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]


def normalized(mjml):
    """Equal apart from whitespace: runs of whitespace collapsed, none left between tags."""
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", mjml)).strip()


def source_of(page):
    """The whole MJML the code view holds (CodeMirror draws only the lines in view)."""
    return page.evaluate(
        """() => {
          const dom = document.querySelector('.cm-content[aria-label="MJML"]');
          const view = dom.cmTile ? dom.cmTile.root.view : dom.cmView.rootView.view;
          return view.state.doc.toString();
        }"""
    )


def open_visual(page):
    page.get_by_role("tab", name="Visual").click()
    canvas = page.frame_locator("iframe.gjs-frame")
    expect(canvas.locator("body [data-gjs-type='mj-body']").first).to_be_attached(timeout=20_000)
    return canvas


def drag(page, source, x, y):
    """A real drag with the mouse (GrapesJS blocks are native drag and drop) into the canvas frame,
    in small steps so the canvas sees the drag move over it."""
    source.scroll_into_view_if_needed()
    box = source.bounding_box()
    start_x, start_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(start_x + (x - start_x) * step / 20, start_y + (y - start_y) * step / 20)
        page.wait_for_timeout(20)
    page.mouse.up()


@pytest.fixture
def demo_templates(workspace):
    """The demo's content blocks and templates (cart-reminder is the reference template)."""
    for name, (description, source, condition) in demo.BLOCKS.items():
        ContentBlock.objects.create(
            workspace=workspace, name=name, description=description, source=source, condition=condition
        )
    specs = {"cart-reminder": {"name": "Cart reminder", "subject": REFERENCE_SUBJECT, "mjml": REFERENCE_MJML}}
    specs.update({slug: {k: v for k, v in spec.items() if k != "coupon_pool"} for slug, spec in demo.TEMPLATES.items()})
    templates = []
    for slug, spec in specs.items():
        template, _ = delivery_actions.save_template(workspace, None, slug=slug, **spec)
        templates.append(template)
    return templates


def test_every_demo_template_survives_the_visual_editor_as_written(page_for, marketer, demo_templates, live_app):
    page = page_for(marketer, viewport={"width": 1600, "height": 1000})
    logged = console_errors(page, live_app.url)
    for template in demo_templates:
        original = template.latest_version.mjml
        page.goto(f"/templates/{template.id}")
        page.get_by_test_id("template-editor").wait_for()
        canvas = open_visual(page)
        # Liquid shows as itself in text; code-only parts are locked blocks, nothing is dropped.
        if "{% include" in original or "<mj-raw>" in original:
            expect(canvas.get_by_text("Code only — edit in the code view").first).to_be_visible()
        page.get_by_role("tab", name="Code").click()
        expect(page.locator(".cm-content[aria-label='MJML']")).to_be_visible()
        assert normalized(source_of(page)) == normalized(original), template.slug
        assert source_of(page) == original, template.slug  # not even the whitespace moved
        expect(page.get_by_test_id("template-save-status")).to_have_text("Version 1 saved")

        # Saved after a visit to the visual view (a new subject makes it a new version).
        page.get_by_role("tab", name="Visual").click()
        expect(page.frame_locator("iframe.gjs-frame").locator("[data-gjs-type='mj-body']").first).to_be_attached(
            timeout=20_000
        )
        page.locator('.cm-content[aria-label="Subject"]').click()
        page.keyboard.press("End")
        page.keyboard.insert_text("!")
        page.get_by_role("button", name="Save version").click()
        expect(page.get_by_test_id("template-save-status")).to_have_text("Version 2 saved")
        saved = Template.objects.get(pk=template.pk).latest_version
        assert normalized(saved.mjml) == normalized(original), template.slug
    assert page.console_errors == [] and logged == []


def test_a_marketer_designs_an_email_visually_and_receives_a_test(page_for, marketer, workspace, live_app, smtp):  # noqa: F811
    delivery_actions.update_sending_settings(
        workspace, None, {"from_name": "Acme", "from_email": "hello@shop.example", "postal_address": "1 Main Street"}
    )
    page = page_for(marketer, viewport={"width": 1600, "height": 1000})
    page.goto("/templates")
    page.get_by_role("button", name="New template").click()
    page.get_by_label("Name").fill("Visual news")
    page.get_by_role("button", name="Create and edit").click()
    page.get_by_test_id("template-editor").wait_for()
    expect(page.get_by_test_id("template-save-status")).to_have_text("Version 1 saved")
    canvas = open_visual(page)

    # A one-column section (with its text) dragged from the blocks to the end of the canvas.
    sections = canvas.locator("[data-gjs-type='mj-section']")
    before = sections.count()
    last = sections.last.bounding_box()
    frame = page.locator("iframe.gjs-frame").bounding_box()
    drag(
        page,
        page.locator(".gjs-block", has_text="1 Column"),
        frame["x"] + frame["width"] / 2,
        last["y"] + last["height"] - 5,
    )
    expect(sections).to_have_count(before + 1)

    # A product grid of recommendations under it: its Liquid loop shows as a locked block.
    sections.last.scroll_into_view_if_needed()
    last = sections.last.bounding_box()
    frame = page.locator("iframe.gjs-frame").bounding_box()
    drag(
        page,
        page.locator(".gjs-block", has_text="Recommendations"),
        frame["x"] + frame["width"] / 2,
        last["y"] + last["height"] - 5,
    )
    expect(sections).to_have_count(before + 2)
    expect(canvas.get_by_text("{% for p in recommendations limit: 3 %}")).to_be_visible()

    # Its text, typed in place.
    added = canvas.locator("[data-gjs-type='mj-text']", has_text="Content 1")
    added.dblclick()
    page.keyboard.press("Control+A")
    page.keyboard.type("Our autumn collection is here")
    page.get_by_role("button", name="Save version").click()
    expect(page.get_by_test_id("template-save-status")).to_have_text("Version 2 saved")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "visual-editor.png"))
    template = Template.objects.get(slug="visual-news")
    mjml = template.latest_version.mjml
    assert "Our autumn collection is here" in mjml
    assert '<a href="{{ links.unsubscribe }}">Unsubscribe</a>' in mjml  # the starter's Liquid, as written
    assert '{{ contact.first_name | default: "there" }}' in mjml
    assert "<mj-raw>{% for p in recommendations limit: 3 %}</mj-raw>" in mjml  # the product grid's loop
    assert '<mj-image src="{{ p.image_url }}" alt="{{ p.name }}" href="{{ p.url }}" />' in mjml

    # A test of the saved version, to my own address, through a real SMTP server.
    preview = page.get_by_test_id("live-preview")
    preview.get_by_role("button", name="Send test").first.click()
    expect(preview.get_by_role("status").filter(has_text="Sent to marketer@acme.test").first).to_be_visible()
    message = Message.objects.get(is_test=True)
    delivery_actions.send_message(message.id)
    assert len(smtp.messages) == 1
    received = smtp.messages[0]["email"]
    assert received["To"] == "marketer@acme.test"
    html = received.get_body(("html",)).get_content()
    assert "Our autumn collection is here" in html
    assert page.console_errors == []


def test_on_a_phone_the_visual_view_asks_for_a_larger_screen_and_the_code_stays(page_for, marketer, workspace):
    template, _ = delivery_actions.save_template(
        workspace, None, slug="cart-reminder", name="Cart reminder", subject=REFERENCE_SUBJECT, mjml=REFERENCE_MJML
    )
    page = page_for(marketer, viewport={"width": 390, "height": 844})
    page.goto(f"/templates/{template.id}")
    page.get_by_test_id("template-editor").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_role("tab", name="Visual").click()
    expect(page.get_by_text("The visual editor needs a larger screen")).to_be_visible()
    expect(page.locator(".cm-content[aria-label='MJML']")).to_be_visible()
    expect(page.locator("iframe.gjs-frame")).to_have_count(0)
    assert source_of(page) == REFERENCE_MJML
    page.screenshot(path=str(SCREENSHOTS / "template-visual-phone.png"))
    assert page.console_errors == []


def test_the_settings_panel_shows_and_takes_liquid_as_written(page_for, marketer, workspace):
    """A button's link in the settings panel reads as its Liquid (not the editor's ⟦L7⟧ marker), and
    Liquid typed there, double quotes included, is in the source as typed; Ctrl+S in the canvas saves."""
    template, _ = delivery_actions.save_template(
        workspace, None, slug="cart-reminder", name="Cart reminder", subject=REFERENCE_SUBJECT, mjml=REFERENCE_MJML
    )
    page = page_for(marketer, viewport={"width": 1600, "height": 1000})
    page.goto(f"/templates/{template.id}")
    page.get_by_test_id("template-editor").wait_for()
    canvas = open_visual(page)
    canvas.locator("[data-gjs-type='mj-button']").first.click()
    expect(page.locator(".gjs-blocks-c").first).to_be_visible()  # the blocks, when it opens
    # The panel's buttons are buttons to the keyboard too: Tab reaches them, Enter presses.
    page.get_by_test_id("visual-editor").get_by_role("button", name="Settings").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".gjs-blocks-c").first).to_be_hidden()  # the settings instead, not under them
    link = page.locator(".gjs-trt-trait", has=page.get_by_text("Href", exact=True)).locator("input")
    expect(link).to_have_value("https://shop.example/cart?c={{ contact.id }}")
    typed = '{{ cart.url | append: "?utm_source=email" }}'
    link.fill(typed)
    link.press("Enter")
    expect(link).to_have_value(typed)

    # Ctrl+S while typing a text in the canvas (a frame of its own) saves, the text typed included.
    text = canvas.locator("[data-gjs-type='mj-text']", has_text="you left something behind")
    text.dblclick()
    expect(canvas.locator("[contenteditable='true']", has_text="you left something behind")).to_be_visible()
    page.keyboard.press("Control+End")
    page.keyboard.type(" Still here")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("template-save-status")).to_have_text("Version 2 saved")
    saved = Template.objects.get(pk=template.pk).latest_version.mjml
    assert saved.count(" Still here") == 1  # in the text, where the caret was
    expected = REFERENCE_MJML.replace('href="https://shop.example/cart?c={{ contact.id }}"', f'href="{typed}"')
    assert expected != REFERENCE_MJML and saved.replace(" Still here", "") == expected
    page.get_by_role("tab", name="Code").click()
    expect(page.locator(".cm-content[aria-label='MJML']")).to_be_visible()
    assert source_of(page) == saved
    assert page.console_errors == []
