"""The journey builder in a real browser: a marketer draws the cart-abandonment journey from an
empty canvas, problems show on the node at fault and block publishing, two editors of one journey
get a conflict instead of overwriting each other, QA sees it read-only, and node counts move live
while the canvas is open."""

import base64
import json
import os
import re
import tempfile
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from delivery import actions as delivery_actions
from delivery.models import Message
from journeys import clock, drafts, lifecycle, publishing, worker
from journeys.customers import events
from tests.factories import make_write_key

pytestmark = pytest.mark.browser

# The README tour's screenshots are refreshed only when asked (WAYLINE_SCREENSHOTS=docs/screenshots);
# otherwise they go to a scratch folder so a test run leaves the tree as it was.
SCREENSHOTS = Path(os.environ.get("WAYLINE_SCREENSHOTS") or tempfile.mkdtemp(prefix="wayline-shots-"))

MJML = """<mjml>
  <mj-body background-color="#f4f4f7">
    <mj-section background-color="#ffffff" padding="24px">
      <mj-column>
        <mj-text font-size="22px" font-weight="700">
          Still thinking it over, {{ contact.traits.first_name | default: "there" }}?
        </mj-text>
        <mj-text>Your cart is waiting for you.</mj-text>
        <mj-button href="https://shop.example/cart" background-color="#3b4bd8">Back to your cart</mj-button>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>"""

TEMPLATES = [
    ("cart-reminder", "Cart reminder"),
    ("cart-big-spender", "Big spender offer"),
    ("cart-last-call", "Last call"),
]

# What the marketer draws (ids are the canvas's own: the first wait is wait1, and so on).
CART_ABANDONMENT = {
    "trigger": {"type": "event", "event": "Checkout Started", "where": {"all": []}},
    "entry": {"re_entry": "after_exit", "audience": {"all": []}},
    "exit_on": [{"event": "Order Completed", "as_conversion": True}],
    "nodes": [
        {"id": "wait1", "type": "wait_for_event", "config": {"event": "Order Completed", "timeout": "PT1H"}},
        {"id": "email1", "type": "email", "config": {"template": "cart-reminder", "category": "marketing"}},
        {"id": "delay1", "type": "delay", "config": {"mode": "duration", "duration": "P1D"}},
        {
            "id": "branch1",
            "type": "branch",
            "config": {"condition": {"all": [{"field": "cart.total", "op": "gte", "value": 100}]}},
        },
        {"id": "email2", "type": "email", "config": {"template": "cart-big-spender", "category": "marketing"}},
        {"id": "email3", "type": "email", "config": {"template": "cart-last-call", "category": "marketing"}},
    ],
    "edges": [
        {"from": "trigger", "to": "wait1"},
        {"from": "wait1", "port": "timeout", "to": "email1"},
        {"from": "email1", "to": "delay1"},
        {"from": "delay1", "to": "branch1"},
        {"from": "branch1", "port": "yes", "to": "email2"},
        {"from": "branch1", "port": "no", "to": "email3"},
    ],
}


@pytest.fixture
def templates(workspace):
    for slug, name in TEMPLATES:
        delivery_actions.save_template(
            workspace, None, slug=slug, name=name, subject=f"{name}: your cart is waiting", mjml=MJML
        )


def without_layout(definition):
    drawn = {key: value for key, value in definition.items() if key != "layout"}
    drawn["edges"] = sorted(drawn["edges"], key=lambda edge: (edge["from"], edge.get("port", ""), edge["to"]))
    return drawn


def api_get(live_app, page, path):
    answer = page.request.get(f"{live_app.url}{path}")
    assert answer.ok, answer.text()
    return answer.json()


def console_errors(page, origin):
    """What the app logs as an error from now on (its failed requests included). Rendered emails
    in their sandboxed frames may point at outside hosts (web fonts) this machine cannot reach:
    those are the email's, not the app's."""
    errors = []

    def collect(message):
        url = message.location.get("url") or ""
        if message.type == "error" and (not url.startswith("http") or url.startswith(origin)):
            errors.append((message.text, url))

    page.on("console", collect)
    return errors


def open_editor(page, journey_id):
    page.goto(f"/journeys/{journey_id}")
    page.get_by_test_id("journey-editor").wait_for()


def drop(page, kind, x, y):
    """Drag a step from the palette onto the canvas at (x, y) of the pane; its panel opens."""
    page.get_by_test_id(f"palette-{kind}").drag_to(page.locator(".react-flow__pane"), target_position={"x": x, "y": y})
    expect(page.get_by_test_id("side-panel")).to_be_visible()


def connect(page, source, port, target):
    """Drag from a node's way out to another node's way in."""
    page.get_by_test_id(f"port-{source}-{port}").drag_to(page.get_by_test_id(f"node-{target}").locator(".port-in"))
    expect(page.locator(f'.react-flow__edge[data-id="{source}.{port}->{target}"]')).to_have_count(1)


def close_panel(page):
    page.get_by_role("button", name="Close the panel").click()
    expect(page.get_by_test_id("side-panel")).to_have_count(0)


def wait_saved(page):
    expect(page.get_by_test_id("save-status")).to_have_text("Saved", timeout=10_000)


def test_a_marketer_draws_the_cart_abandonment_journey_and_publishes_it(page_for, marketer, templates, live_app):
    page = page_for(marketer)
    logged = console_errors(page, live_app.url)
    page.goto("/journeys")
    page.get_by_role("button", name="New journey").click()
    page.get_by_label("Name").fill("Cart abandonment")
    page.get_by_role("button", name="Create journey").click()
    page.get_by_test_id("journey-editor").wait_for()
    journey_id = int(page.url.rstrip("/").split("/")[-1])

    # The trigger: Checkout Started, and leaving as a conversion when the order comes.
    page.get_by_test_id("node-trigger").click()
    panel = page.get_by_test_id("side-panel")
    panel.get_by_label("Event", exact=True).fill("Checkout Started")
    panel.get_by_role("button", name="+ Goal").click()
    close_panel(page)

    # Each step is dragged from the palette and filled in its side panel.
    drop(page, "wait_for_event", 140, 260)
    panel.get_by_label("Wait for the event").fill("Order Completed")
    panel.get_by_label("Timeout", exact=True).fill("1")
    panel.get_by_label("Timeout: unit").select_option("hours")
    close_panel(page)

    drop(page, "email", 430, 260)
    panel.get_by_label("Template").select_option("cart-reminder")
    expect(panel.get_by_role("link", name="Edit template")).to_be_visible()
    close_panel(page)

    drop(page, "delay", 720, 260)
    panel.get_by_label("How long", exact=True).fill("1")
    panel.get_by_label("How long: unit").select_option("days")
    close_panel(page)

    drop(page, "branch", 140, 450)
    panel.get_by_role("button", name="+ Condition").click()
    panel.get_by_label("Branch condition, condition 1: field").fill("cart.total")
    panel.get_by_label("Branch condition, condition 1: operator").select_option("gte")
    panel.get_by_label("Branch condition, condition 1: value").fill("100")
    close_panel(page)

    drop(page, "email", 430, 450)
    panel.get_by_label("Template").select_option("cart-big-spender")
    close_panel(page)
    drop(page, "email", 720, 450)
    panel.get_by_label("Template").select_option("cart-last-call")
    close_panel(page)

    # The ports: dragged from each way out to the next step.
    connect(page, "trigger", "next", "wait1")
    connect(page, "wait1", "timeout", "email1")
    connect(page, "email1", "next", "delay1")
    connect(page, "delay1", "next", "branch1")
    connect(page, "branch1", "yes", "email2")
    connect(page, "branch1", "no", "email3")
    page.get_by_role("button", name="Auto-layout").click()

    wait_saved(page)
    expect(page.get_by_test_id("problems-badge")).to_have_text("✓ Ready to publish", timeout=10_000)
    assert page.console_errors == []

    page.get_by_test_id("publish").click()
    page.get_by_test_id("publish-confirm").click()
    expect(page.get_by_test_id("publish-dialog")).to_have_count(0)
    expect(page.locator(".editor-title .tag")).to_have_text("live")

    journey = api_get(live_app, page, f"/api/journeys/{journey_id}")
    assert journey["status"] == "live"
    assert without_layout(journey["live_definition"]) == without_layout(CART_ABANDONMENT)
    assert logged == []
    assert set(journey["live_definition"]["layout"]) == {
        "trigger",
        "wait1",
        "email1",
        "delay1",
        "branch1",
        "email2",
        "email3",
    }
    assert page.console_errors == []


def csrf_headers(page):
    token = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "csrftoken")
    return {"X-CSRFToken": token, "Content-Type": "application/json"}


def test_an_invalid_journey_shows_the_problem_on_the_node_and_cannot_be_published(
    page_for, marketer, workspace, templates, live_app
):
    broken = json.loads(json.dumps(CART_ABANDONMENT))
    broken["nodes"][1]["config"] = {"template": "", "category": "marketing"}  # email1: no template
    broken["edges"] = [edge for edge in broken["edges"] if edge.get("port") != "no"]  # branch1: "no" leads nowhere
    journey = drafts.create_journey(workspace, marketer, "Broken cart journey", definition=broken)

    page = page_for(marketer)
    open_editor(page, journey.id)
    expect(page.get_by_test_id("problems-email1")).to_contain_text("Choose the email template to send.")
    expect(page.get_by_test_id("problems-branch1")).to_contain_text("“no”")
    expect(page.get_by_test_id("problems-email3")).to_contain_text("No path from the trigger")
    for fine in ("trigger", "wait1", "delay1", "email2"):
        expect(page.get_by_test_id(f"problems-{fine}")).to_have_count(0)
    expect(page.get_by_test_id("problems-badge")).to_have_text("3 problems")
    expect(page.get_by_test_id("publish")).to_be_disabled()

    # The panel puts the message on the field at fault.
    page.get_by_test_id("node-email1").click()
    template_field = page.get_by_test_id("side-panel").locator('[data-field="config.template"]')
    expect(template_field).to_contain_text("Choose the email template to send.")
    expect(template_field.get_by_label("Template")).to_have_attribute("aria-invalid", "true")

    # The server refuses too, whatever the browser shows.
    answer = page.request.post(
        f"{live_app.url}/api/journeys/{journey.id}/publish", data=json.dumps({}), headers=csrf_headers(page)
    )
    assert answer.status == 400 and answer.json()["code"] == "invalid_definition"

    # Fixing it in the panel clears the node and allows publishing.
    template_field.get_by_label("Template").select_option("cart-reminder")
    expect(page.get_by_test_id("problems-email1")).to_have_count(0)
    close_panel(page)
    page.get_by_test_id("port-branch1-no").drag_to(page.get_by_test_id("node-email3").locator(".port-in"))
    expect(page.get_by_test_id("problems-badge")).to_have_text("✓ Ready to publish", timeout=10_000)
    expect(page.get_by_test_id("publish")).to_be_enabled()
    assert page.console_errors == []


def test_a_second_editor_gets_a_conflict_instead_of_overwriting(page_for, marketer, admin, workspace, templates):
    journey = drafts.create_journey(workspace, marketer, "Cart", definition=CART_ABANDONMENT)
    first, second = page_for(marketer), page_for(admin)
    open_editor(first, journey.id)
    open_editor(second, journey.id)

    # Both edit at the same time: the second editor's save is still on its way (held here) while
    # the first one's lands.
    held = []
    second.route("**/api/journeys/*/draft", lambda route: held.append(route))
    second.get_by_test_id("node-trigger").click()
    second.get_by_test_id("side-panel").get_by_label("Event", exact=True).fill("Cart Viewed")
    expect(second.get_by_test_id("save-status")).to_have_text("Saving…")

    first.get_by_test_id("node-trigger").click()
    first.get_by_test_id("side-panel").get_by_label("Event", exact=True).fill("Checkout Started v2")
    wait_saved(first)

    held[0].continue_()
    expect(second.get_by_test_id("conflict")).to_contain_text("Someone else changed this journey")
    expect(second.get_by_test_id("save-status")).to_have_text("Conflict: not saved")
    second.unroute("**/api/journeys/*/draft")

    journey.refresh_from_db()
    assert journey.draft["trigger"]["event"] == "Checkout Started v2"  # nothing overwritten

    # Further edits do not try again; loading their version ends the conflict.
    second.get_by_test_id("side-panel").get_by_label("Event", exact=True).fill("Cart Viewed again")
    expect(second.get_by_test_id("save-status")).to_have_text("Conflict: not saved")
    second.get_by_role("button", name="Load their version").click()
    expect(second.get_by_test_id("conflict")).to_have_count(0)
    expect(second.get_by_test_id("node-trigger")).to_contain_text("Checkout Started v2")
    journey.refresh_from_db()
    assert journey.draft["trigger"]["event"] == "Checkout Started v2"
    assert first.console_errors == [] and second.console_errors == []


def test_a_qa_member_sees_the_canvas_read_only(page_for, qa, workspace, templates):
    journey = drafts.create_journey(workspace, None, "Cart", definition=CART_ABANDONMENT)
    publishing.publish_journey(journey, None)
    page = page_for(qa)
    open_editor(page, journey.id)

    expect(page.get_by_test_id("read-only")).to_contain_text("Read-only")
    expect(page.get_by_role("navigation", name="Steps to add")).to_have_count(0)
    expect(page.get_by_test_id("publish")).to_have_count(0)
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)
    expect(page.get_by_role("button", name="Undo")).to_have_count(0)

    node = page.get_by_test_id("node-delay1")
    wrapper = page.locator('.react-flow__node[data-id="delay1"]')
    position = wrapper.evaluate("element => element.style.transform")
    before = node.bounding_box()
    node.click()
    panel = page.get_by_test_id("side-panel")
    expect(panel.get_by_label("How long", exact=True)).to_be_disabled()
    expect(panel.get_by_role("button", name="Delete step")).to_have_count(0)
    page.keyboard.press("Delete")
    expect(node).to_be_visible()
    page.mouse.move(before["x"] + 60, before["y"] + 20)
    page.mouse.down()
    page.mouse.move(before["x"] + 260, before["y"] + 120, steps=5)
    page.mouse.up()
    assert wrapper.evaluate("element => element.style.transform") == position  # dragging pans, never moves
    journey.refresh_from_db()
    assert journey.draft == CART_ABANDONMENT
    assert page.console_errors == []


def send(live_app, write_key, kind, body):
    """One Segment call to the tracking API, as a shop's backend makes it."""
    auth = base64.b64encode(f"{write_key}:".encode()).decode()
    request = urllib.request.Request(
        f"{live_app.url}/v1/{kind}",
        data=json.dumps({"messageId": uuid.uuid4().hex, **body}).encode(),
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200


def run_workers(workspace):
    """What the qcluster workers do, in this process: process stored events, advance the engine."""
    events.process_now(workspace.id)
    for _ in range(20):
        if not worker.advance_due():
            break


def count(page, node, figure):
    return page.get_by_test_id(f"node-{node}").locator(f'[data-count="{figure}"]')


def test_node_counts_change_on_the_open_canvas_as_events_arrive(
    page_for, marketer, workspace, templates, live_app, settings
):
    settings.JOURNEYS_KICKS = "off"  # this test is the worker
    journey = drafts.create_journey(workspace, marketer, "Cart abandonment", definition=CART_ABANDONMENT)
    publishing.publish_journey(journey, marketer)
    write_key = make_write_key(workspace)

    page = page_for(marketer, viewport={"width": 1440, "height": 900})
    logged = console_errors(page, live_app.url)
    open_editor(page, journey.id)
    expect(count(page, "wait1", "waiting")).to_have_text("0")
    expect(page.locator(".live-dot.live-live")).to_be_visible()

    shoppers = ["ada", "bo", "cy", "di", "ed", "flo"]
    for name in shoppers:
        send(
            live_app,
            write_key,
            "identify",
            {"userId": name, "traits": {"email": f"{name}@example.com", "first_name": name.title()}},
        )
        send(
            live_app,
            write_key,
            "track",
            {"userId": name, "event": "Checkout Started", "properties": {"cart_id": f"cart-{name}", "total": 80}},
        )
    run_workers(workspace)
    expect(count(page, "wait1", "entered")).to_have_text("6")
    expect(count(page, "wait1", "waiting")).to_have_text("6")

    # Ada orders: she leaves for the goal.
    send(
        live_app,
        write_key,
        "track",
        {"userId": "ada", "event": "Order Completed", "properties": {"cart_id": "cart-ada", "total": 80}},
    )
    run_workers(workspace)
    expect(count(page, "wait1", "waiting")).to_have_text("5")
    expect(count(page, "wait1", "left")).to_have_text("1")

    # An hour later the others time out: the reminder goes out, then they wait a day.
    with clock.frozen(timezone.now() + timedelta(minutes=61)):
        run_workers(workspace)
    expect(count(page, "email1", "sent")).to_have_text("5")
    expect(count(page, "delay1", "waiting")).to_have_text("5")

    # Opens and clicks of the reminder show on the email node.
    messages = list(Message.objects.filter(journey_id=journey.id, node_id="email1").order_by("id"))
    for message in messages[:3]:
        delivery_actions.record_open(message)
    delivery_actions.record_click(messages[0], "https://shop.example/cart")
    send(
        live_app,
        write_key,
        "track",
        {"userId": "gus", "event": "Checkout Started", "properties": {"cart_id": "cart-gus"}},
    )
    run_workers(workspace)
    expect(count(page, "wait1", "entered")).to_have_text("7")
    expect(count(page, "email1", "opened")).to_have_text("3")
    expect(count(page, "email1", "clicked")).to_have_text("1")

    # The events received are suggested in the side panels.
    page.get_by_test_id("node-wait1").click()
    suggestions = page.get_by_test_id("side-panel").locator("datalist option")
    expect(suggestions.and_(page.locator('[value="Order Completed"]'))).to_have_count(1)
    expect(suggestions.and_(page.locator('[value="Checkout Started"]'))).to_have_count(1)
    # ... and who is on the step now: Gus waits for his order, the other five wait a day.
    here = page.get_by_test_id("side-panel").get_by_role("region", name="Contacts here")
    expect(here.get_by_role("heading")).to_have_text("Contacts here (1)")
    expect(here.get_by_role("link")).to_have_text(["gus"])
    close_panel(page)
    page.get_by_test_id("node-delay1").click()
    expect(here.get_by_role("heading")).to_have_text("Contacts here (5)")
    expect(here.get_by_role("link")).to_have_count(5)
    expect(here.get_by_role("link", name="bo@example.com")).to_have_attribute("href", re.compile(r"/contacts/\d+$"))
    close_panel(page)

    page.get_by_role("button", name="Fit", exact=True).click()
    page.wait_for_timeout(400)  # the fit animation
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "canvas.png"))
    assert page.console_errors == [] and logged == []


def node_ids(page):
    return sorted(page.locator(".react-flow__node").evaluate_all("nodes => nodes.map(node => node.dataset.id)"))


def test_keyboard_undo_redo_copy_paste_delete_and_dropping_onto_a_connection(page_for, marketer, workspace, templates):
    journey = drafts.create_journey(workspace, marketer, "Cart", definition=CART_ABANDONMENT)
    page = page_for(marketer, viewport={"width": 1440, "height": 900})
    open_editor(page, journey.id)
    everything = ["branch1", "delay1", "email1", "email2", "email3", "trigger", "wait1"]
    assert node_ids(page) == everything

    # From the keyboard: a palette step goes below the selected one, connected from its free port.
    page.get_by_test_id("node-email3").click()
    page.get_by_test_id("palette-exit").focus()
    page.keyboard.press("Enter")
    expect(page.locator('.react-flow__edge[data-id="email3.next->exit1"]')).to_have_count(1)
    close_panel(page)

    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("node-exit1")).to_have_count(0)
    page.keyboard.press("Control+Shift+z")
    expect(page.get_by_test_id("node-exit1")).to_be_visible()

    # Connected from the side panel too from the side panel: Wait for event's "Event" way out to the new exit.
    page.get_by_test_id("node-wait1").click()
    page.get_by_test_id("side-panel").get_by_label("Event leads to").select_option("exit1")
    expect(page.locator('.react-flow__edge[data-id="wait1.event->exit1"]')).to_have_count(1)
    close_panel(page)

    # Copy and paste a step: a new id, same settings.
    page.get_by_test_id("node-delay1").click()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(page.get_by_test_id("node-delay2")).to_contain_text("Wait 1 day")

    # Delete with the keyboard.
    page.get_by_test_id("node-delay2").click()
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("node-delay2")).to_have_count(0)
    page.keyboard.press("Escape")

    # Dropping a step onto a connection puts it in between.
    edge = page.locator('.react-flow__edge[data-id="email1.next->delay1"] .react-flow__edge-path')
    box = edge.bounding_box()
    pane = page.locator(".react-flow__pane").bounding_box()
    page.get_by_test_id("palette-update_contact").drag_to(
        page.locator(".react-flow__pane"),
        target_position={"x": box["x"] + box["width"] / 2 - pane["x"], "y": box["y"] + box["height"] / 2 - pane["y"]},
    )
    expect(page.locator('.react-flow__edge[data-id="email1.next->update1"]')).to_have_count(1)
    expect(page.locator('.react-flow__edge[data-id="update1.next->delay1"]')).to_have_count(1)
    expect(page.locator('.react-flow__edge[data-id="email1.next->delay1"]')).to_have_count(0)

    # A connection the definition forbids is refused with the reason.
    close_panel(page)
    page.get_by_test_id("port-email3-next").drag_to(
        page.get_by_test_id("node-trigger").locator(".react-flow__handle").first
    )
    expect(page.get_by_test_id("port-email3-next")).to_be_visible()
    wait_saved(page)
    journey.refresh_from_db()
    edges = {(edge["from"], edge.get("port", ""), edge["to"]) for edge in journey.draft["edges"]}
    assert ("email1", "", "update1") in edges and ("update1", "", "delay1") in edges
    assert ("email3", "", "exit1") in edges and ("wait1", "event", "exit1") in edges
    assert not any(edge[2] == "trigger" for edge in edges)
    assert page.console_errors == []


def test_new_journey_from_a_ready_made_one_and_the_list_filters(page_for, marketer, workspace):
    drafts.create_journey(workspace, marketer, "Winter sale", definition=None)
    page = page_for(marketer)
    page.goto("/journeys")
    page.get_by_role("button", name="New journey").click()
    page.get_by_role("radio", name="Welcome series").check()
    page.get_by_role("button", name="Create journey").click()
    page.get_by_test_id("journey-editor").wait_for()
    expect(page.locator("#journey-name")).to_have_value("Welcome series")
    expect(page.locator(".react-flow__node")).not_to_have_count(1)

    page.goto("/journeys")
    table = page.get_by_test_id("journeys-table")
    expect(table.get_by_role("link")).to_have_count(2)
    page.get_by_label("Search").fill("winter")
    expect(table.get_by_role("link")).to_have_text(["Winter sale"])
    page.get_by_label("Search").fill("")
    page.get_by_label("Status").select_option("live")
    expect(page.get_by_text("No journey matches these filters.")).to_be_visible()
    assert page.console_errors == []


def test_publishing_over_a_live_version_shows_changes_and_moves_contacts_in_flight(
    page_for, marketer, workspace, templates, settings
):
    settings.JOURNEYS_KICKS = "off"
    journey = drafts.create_journey(workspace, marketer, "Cart", definition=CART_ABANDONMENT)
    publishing.publish_journey(journey, marketer)
    journey.refresh_from_db()
    from journeys.models import Contact, Enrollment

    for n in range(3):
        contact = Contact.objects.create(workspace=workspace, email=f"s{n}@example.com", user_id=f"s{n}")
        lifecycle.enroll_contact(journey, contact, trigger={"name": "Checkout Started", "properties": {}})
    for _ in range(5):
        if not worker.advance_due():
            break
    assert Enrollment.objects.filter(journey=journey, current_node="wait1", status="waiting").count() == 3

    page = page_for(marketer)
    open_editor(page, journey.id)
    expect(page.get_by_test_id("publish")).to_be_disabled()  # nothing new yet
    page.get_by_test_id("node-wait1").click()
    page.get_by_test_id("side-panel").get_by_label("Timeout", exact=True).fill("2")
    wait_saved(page)
    page.get_by_test_id("publish").click()
    dialog = page.get_by_test_id("publish-dialog")
    expect(dialog.get_by_test_id("publish-diff")).to_contain_text("wait1: timeout changed")
    expect(dialog.get_by_test_id("migration-wait1")).to_contain_text("3")
    expect(dialog.get_by_test_id("migration-totals")).to_have_text("3 stay · 0 move · 0 leave")
    dialog.get_by_label("Contacts at wait1").select_option("move:wait1")
    expect(dialog.get_by_test_id("migration-totals")).to_have_text("0 stay · 3 move · 0 leave")
    dialog.get_by_test_id("publish-confirm").click()
    expect(page.locator(".editor-version")).to_have_text("v2")
    assert set(Enrollment.objects.filter(journey=journey).values_list("version__number", flat=True)) == {2}

    # The versions: each viewable read-only.
    page.get_by_role("button", name="Versions").click()
    page.get_by_role("link", name="View").last.click()
    expect(page.get_by_test_id("version-view")).to_contain_text("version 1")
    expect(page.get_by_test_id("node-wait1")).to_contain_text("up to 1 hour")
    expect(page.get_by_role("navigation", name="Steps to add")).to_have_count(0)

    # Pause, resume, archive.
    page.get_by_role("link", name="Back to the draft").last.click()
    page.get_by_role("button", name="Pause").click()
    expect(page.locator(".editor-title .tag")).to_have_text("paused")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator(".editor-title .tag")).to_have_text("live")
    page.get_by_role("button", name="Archive").click()
    page.locator(".confirm-inline").get_by_role("button", name="Archive").click()
    expect(page.locator(".editor-title .tag")).to_have_text("archived")
    expect(page.get_by_test_id("read-only")).to_contain_text("archived")
    assert page.console_errors == []
