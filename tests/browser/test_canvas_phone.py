"""The canvas on a phone (issue 15): at 390×844 a journey's canvas is viewable and pannable with
its counts, the page is no wider than the screen, and editing asks for a larger screen."""

import os

import pytest
from playwright.sync_api import expect

from journeys import drafts
from journeys.engine import library

from .test_canvas import SCREENSHOTS, templates  # noqa: F401 (a fixture)

# The page is the same on either database and its server side is tested on both (tests/api, the
# apps' own tests): in the browser once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]

PHONE = {"width": 390, "height": 844}


def test_a_journey_is_viewable_and_pannable_on_a_phone(page_for, marketer, workspace, templates):  # noqa: F811
    journey = drafts.create_journey(
        workspace, marketer, "Cart abandonment", definition=library.definition_of("cart-abandonment")
    )
    page = page_for(marketer, viewport=PHONE)
    page.goto("/journeys")
    expect(page.get_by_role("link", name="Cart abandonment")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.goto(f"/journeys/{journey.pk}")
    page.get_by_test_id("journey-editor").wait_for()
    expect(page.get_by_test_id("node-trigger")).to_be_visible()
    expect(page.get_by_test_id("phone-note")).to_contain_text("open it on a larger screen")
    expect(page.get_by_test_id("palette-email")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    toolbar = page.get_by_role("toolbar", name="Journey").bounding_box()
    assert toolbar["x"] >= 0 and toolbar["x"] + toolbar["width"] <= PHONE["width"]

    # Pannable: dragging the empty canvas moves the steps.
    before = page.get_by_test_id("node-trigger").bounding_box()
    pane = page.locator(".react-flow__pane").bounding_box()
    start_x, start_y = pane["x"] + pane["width"] - 15, pane["y"] + 160  # right of the steps
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    page.mouse.move(start_x - 100, start_y + 100, steps=8)
    page.mouse.up()
    after = page.get_by_test_id("node-trigger").bounding_box()
    assert (round(after["x"] - before["x"]), round(after["y"] - before["y"])) == (-100, 100)

    # A step's panel opens over the canvas, inside the screen.
    page.get_by_test_id("node-trigger").click()
    panel = page.get_by_test_id("side-panel").bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=os.fspath(SCREENSHOTS / "canvas-phone.png"))
