"""A canvas that reads at a glance: connections routed around the steps with their names by the
way out they leave, dropped steps that stay in view, the keys working after a click on the empty
canvas, the trigger's entered count, a publish dialog that says what changes and who will enter,
and a search that says when nothing matches."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from journeys import clock, drafts, lifecycle, publishing, worker
from journeys.engine import library
from journeys.models import Contact
from tests.browser.test_canvas import (
    CART_ABANDONMENT,
    SCREENSHOTS,
    close_panel,
    drop,
    open_editor,
    templates,
    wait_saved,
)
from tests.factories import stored_event

# The page in the browser is the same on either database: once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]

__all__ = ["templates"]  # the fixture, shared with test_canvas.py

# Each connection's route sampled along its SVG path, in page pixels, and each step's box.
GEOMETRY = """() => {
  const edges = [...document.querySelectorAll('.react-flow__edge')].map((edge) => {
    const path = edge.querySelector('path.react-flow__edge-path');
    const matrix = path.getScreenCTM();
    const total = path.getTotalLength();
    const points = [];
    for (let at = 0; at <= total; at += 3) {
      const point = path.getPointAtLength(at);
      const screen = new DOMPoint(point.x, point.y).matrixTransform(matrix);
      points.push([screen.x, screen.y]);
    }
    return { id: edge.dataset.id, points };
  });
  const nodes = Object.fromEntries([...document.querySelectorAll('.react-flow__node')].map((node) => {
    const box = node.getBoundingClientRect();
    return [node.dataset.id, { left: box.left, top: box.top, right: box.right, bottom: box.bottom }];
  }));
  return { edges, nodes };
}"""


def ends_of(edge_id):
    source, target = edge_id.split("->")
    return source.rsplit(".", 1)[0], target


def crossings(geometry):
    """(connection, step) pairs where a connection runs through a step other than its own ends."""
    found = set()
    for edge in geometry["edges"]:
        own = set(ends_of(edge["id"]))
        for node, box in geometry["nodes"].items():
            if node in own:
                continue
            for x, y in edge["points"]:
                if box["left"] + 1 < x < box["right"] - 1 and box["top"] + 1 < y < box["bottom"] - 1:
                    found.add((edge["id"], node))
                    break
    return sorted(found)


def distance_to(box, x, y):
    dx = max(box["x"] - x, 0, x - (box["x"] + box["width"]))
    dy = max(box["y"] - y, 0, y - (box["y"] + box["height"]))
    return (dx * dx + dy * dy) ** 0.5


def inside(inner, outer):
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def overlap(a, b):
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def click_empty_canvas(page):
    """A click on the pane away from every step and control."""
    pane = page.locator(".react-flow__pane").bounding_box()
    page.mouse.click(pane["x"] + 24, pane["y"] + 24)


def test_the_keys_work_after_a_click_on_the_empty_canvas(page_for, marketer, workspace):
    journey = drafts.create_journey(workspace, marketer, "Keys", definition=None)
    page = page_for(marketer)
    open_editor(page, journey.id)
    drop(page, "delay", 420, 320)
    close_panel(page)
    expect(page.get_by_test_id("node-delay1")).to_be_visible()

    click_empty_canvas(page)
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("node-delay1")).to_have_count(0)
    page.keyboard.press("Control+y")
    expect(page.get_by_test_id("node-delay1")).to_be_visible()
    click_empty_canvas(page)
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("node-delay1")).to_have_count(0)
    page.keyboard.press("Control+Shift+z")
    expect(page.get_by_test_id("node-delay1")).to_be_visible()

    # Copy a step, click the empty canvas, paste.
    page.get_by_test_id("node-delay1").click()
    page.keyboard.press("Control+c")
    close_panel(page)
    click_empty_canvas(page)
    page.keyboard.press("Control+v")
    expect(page.get_by_test_id("node-delay2")).to_contain_text("Wait 1 day")
    assert page.console_errors == []


def test_a_step_dropped_near_the_bottom_stays_in_view_and_off_the_minimap(page_for, marketer, workspace):
    journey = drafts.create_journey(workspace, marketer, "Drops", definition=None)
    page = page_for(marketer)
    open_editor(page, journey.id)
    pane = page.locator(".react-flow__pane").bounding_box()
    minimap = page.locator(".react-flow__minimap").bounding_box()

    # Just left of the minimap (the step would cover half of it), and low at the left.
    drop(page, "email", minimap["x"] - 40 - pane["x"], minimap["y"] + minimap["height"] / 2 - pane["y"])
    close_panel(page)
    drop(page, "delay", 300, pane["height"] - 6)
    close_panel(page)

    pane = page.locator(".react-flow__pane").bounding_box()
    minimap = page.locator(".react-flow__minimap").bounding_box()
    for node in ("email1", "delay1"):
        box = page.get_by_test_id(f"node-{node}").bounding_box()
        assert inside(box, pane), (node, box, pane)
        assert not overlap(box, minimap), (node, box, minimap)
    assert page.console_errors == []


def test_connections_go_around_the_steps_of_the_cart_abandonment(page_for, marketer, workspace):
    """The ready-made journey has no stored places: ELK arranges it on open, with its routes."""
    journey = drafts.create_journey(
        workspace, marketer, "Cart abandonment", definition=library.definition_of("cart-abandonment")
    )
    page = page_for(marketer)
    open_editor(page, journey.id)
    expect(page.locator(".react-flow__edge")).to_have_count(9)
    page.wait_for_timeout(800)  # the arrangement and its fit

    assert crossings(page.evaluate(GEOMETRY)) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "canvas-routed.png"))

    # The branch's "No" is named by the branch, not by the email its "Yes" leads to.
    no = page.get_by_test_id("edge-label-cart_full.no->done")
    expect(no).to_have_text("No")
    label = no.bounding_box()
    x, y = label["x"] + label["width"] / 2, label["y"] + label["height"] / 2
    branch = page.get_by_test_id("node-cart_full").bounding_box()
    email = page.get_by_test_id("node-reminder").bounding_box()
    assert distance_to(branch, x, y) < distance_to(email, x, y)
    assert distance_to(branch, x, y) < 24

    # ELK's arrangement (its own routes): still nothing crossed.
    page.get_by_role("button", name="Auto-layout").click()
    page.wait_for_timeout(800)  # the layout and the fit animation
    assert crossings(page.evaluate(GEOMETRY)) == []
    page.screenshot(path=str(SCREENSHOTS / "canvas-arranged.png"))
    wait_saved(page)

    # The side panel's "Leads to" menus fit in the panel at 1280 px.
    page.get_by_test_id("node-cart_full").click()
    panel = page.get_by_test_id("side-panel").bounding_box()
    for name in ("Yes leads to", "No leads to"):
        menu = page.get_by_test_id("side-panel").get_by_label(name, exact=True).bounding_box()
        assert inside(menu, panel), (name, menu, panel)
    close_panel(page)
    assert page.console_errors == []


def test_connections_go_around_steps_placed_by_hand(page_for, marketer, workspace):
    """Every step in one column, as a hand-made journey might be: the connections that skip
    steps go around them instead of through them."""
    definition = library.definition_of("cart-abandonment")
    ids = ["trigger", *(node["id"] for node in definition["nodes"])]
    definition["layout"] = {node: {"x": 0, "y": index * 160} for index, node in enumerate(ids)}
    journey = drafts.create_journey(workspace, marketer, "One column", definition=definition)
    page = page_for(marketer, viewport={"width": 1280, "height": 1000})
    open_editor(page, journey.id)
    expect(page.locator(".react-flow__edge")).to_have_count(9)
    page.wait_for_timeout(400)  # the first fit

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "canvas-column.png"))
    assert crossings(page.evaluate(GEOMETRY)) == []

    # Moved by hand: the routes follow.
    box = page.get_by_test_id("node-reminder").bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 12)
    page.mouse.down()
    page.mouse.move(box["x"] + 240, box["y"] + 12, steps=8)
    page.mouse.up()
    page.wait_for_timeout(200)
    assert crossings(page.evaluate(GEOMETRY)) == []
    assert page.console_errors == []


def sent(contact, name, days_ago):
    stored_event(contact, name, at=clock.now() - timedelta(days=days_ago))


def test_the_publish_dialog_says_what_changes_and_who_will_enter(page_for, marketer, workspace, templates, settings):
    settings.JOURNEYS_KICKS = "off"
    journey = drafts.create_journey(workspace, marketer, "Cart", definition=CART_ABANDONMENT)
    publishing.publish_journey(journey, marketer)
    journey.refresh_from_db()
    for n in range(14):
        contact = Contact.objects.create(workspace=workspace, email=f"e{n}@example.com", user_id=f"e{n}")
        sent(contact, "Checkout Started", days_ago=n % 6 + 0.5)
        if n < 3:
            lifecycle.enroll_contact(journey, contact, trigger={"name": "Checkout Started", "properties": {}})
    for _ in range(5):
        if not worker.advance_due():
            break

    page = page_for(marketer)
    open_editor(page, journey.id)
    # The trigger shows how many entered.
    expect(page.get_by_test_id("node-trigger").locator('[data-count="entered"]')).to_have_text("3")

    # Remove the last call, add an exit where it was.
    page.get_by_test_id("node-email3").click()
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("node-email3")).to_have_count(0)
    branch = page.get_by_test_id("node-branch1").bounding_box()
    pane = page.locator(".react-flow__pane").bounding_box()
    drop(page, "exit", branch["x"] - pane["x"] + branch["width"] + 60, branch["y"] - pane["y"] + branch["height"] + 90)
    close_panel(page)
    page.get_by_test_id("node-branch1").click()
    page.get_by_test_id("side-panel").get_by_label("No leads to", exact=True).select_option("exit1")
    close_panel(page)
    wait_saved(page)

    page.get_by_test_id("publish").click()
    dialog = page.get_by_test_id("publish-dialog")
    diff = dialog.get_by_test_id("publish-diff")
    expect(diff).to_contain_text("exit1 added")
    expect(diff).to_contain_text("email3 removed")
    expect(dialog.get_by_test_id("migration-wait1")).to_contain_text("3")
    estimate = dialog.get_by_test_id("entry-estimate")
    expect(estimate).to_contain_text("About 2 contacts a day.")
    expect(estimate).to_contain_text("14 contacts sent “Checkout Started” in the last 7 days")
    assert page.console_errors == []


def test_a_search_that_matches_nothing_says_so(page_for, marketer, workspace):
    drafts.create_journey(workspace, marketer, "Winter sale", definition=None)
    page = page_for(marketer)
    page.goto("/journeys")
    expect(page.get_by_test_id("journeys-table").get_by_role("link")).to_have_text(["Winter sale"])
    page.get_by_label("Search").fill("summer")
    expect(page.get_by_test_id("journeys-empty")).to_contain_text("No journeys match “summer”.")
    expect(page.get_by_text("No journeys yet")).to_have_count(0)
    page.get_by_role("button", name="Clear the search").click()
    expect(page.get_by_test_id("journeys-table").get_by_role("link")).to_have_text(["Winter sale"])
    assert page.console_errors == []
