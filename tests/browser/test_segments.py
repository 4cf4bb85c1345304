"""Segments in a real browser: a rule built with the condition builder, its live count and sample
while editing and its members once saved; a static list filled by pasting emails; membership over
time as a chart; deleting after a confirmation; and every page at a phone's width."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from journeys.customers import segments
from journeys.models import Contact, Segment

pytestmark = pytest.mark.browser


def history_chart(page):
    return (
        page.get_by_role("figure", name="Members per day, with entries and exits").locator("svg.recharts-surface").first
    )


PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shoppers(workspace):
    """Three contacts on the pro plan, two on the free one."""
    people = {}
    for name, plan in (("ada", "pro"), ("bob", "pro"), ("cy", "pro"), ("dan", "free"), ("eve", "free")):
        people[name] = Contact.objects.create(
            workspace=workspace, email=f"{name}@shop.test", user_id=name, traits={"plan": plan, "name": name.title()}
        )
    return people


def no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def test_a_marketer_builds_a_rule_and_sees_who_matches_while_editing(shoppers, marketer, page_for):
    page = page_for(marketer)
    page.goto("/")
    page.get_by_role("link", name="Segments").click()
    expect(page).to_have_url(re.compile(r"/segments$"))
    expect(page.get_by_text("No segments yet.")).to_be_visible()
    page.get_by_role("link", name="New segment").click()

    page.get_by_label("Name").fill("Plan is pro")
    count = page.get_by_test_id("preview-count")
    expect(count).to_have_text("5")  # no condition yet: everyone
    page.get_by_role("button", name="+ Condition").click()
    page.get_by_label("Segment rule, condition 1: field").fill("plan")
    row = page.locator('[data-field="rule.all[0]"]')
    expect(row.get_by_role("alert")).to_contain_text("Unknown field “plan”")
    page.get_by_label("Segment rule, condition 1: field").fill("contact.traits.plan")
    page.get_by_label("Segment rule, condition 1: value").fill("pro")
    expect(count).to_have_text("3")
    expect(row.get_by_role("alert")).to_have_count(0)
    sample = page.get_by_role("list", name="Sample of matching contacts")
    expect(sample.get_by_role("listitem")).to_have_count(3)
    for name in ("Ada", "Bob", "Cy"):
        expect(sample).to_contain_text(name)
    expect(sample).not_to_contain_text("Dan")

    page.get_by_role("button", name="Save segment").click()
    expect(page).to_have_url(re.compile(r"/segments/\d+$"))
    expect(page.get_by_role("heading", name="Plan is pro")).to_be_visible()
    expect(page.get_by_test_id("member-count")).to_have_text("3")
    members = page.get_by_role("table", name="Members")
    expect(members.get_by_role("row")).to_have_count(4)  # the header and three members
    expect(members).to_contain_text("ada@shop.test")
    expect(members).not_to_contain_text("eve@shop.test")
    page.get_by_label("Search members").fill("bob")
    expect(members.get_by_role("row")).to_have_count(2)
    chart = page.get_by_role("figure", name="Members per day, with entries and exits")
    expect(chart.locator("svg.recharts-surface").first).to_be_visible()
    export = re.compile(r"/api/segments/\d+/export$")
    expect(page.get_by_role("link", name="Export CSV")).to_have_attribute("href", export)

    segment = Segment.objects.get(name="Plan is pro")
    assert segment.kind == "dynamic"
    assert segment.rule == {"all": [{"field": "contact.traits.plan", "op": "eq", "value": "pro"}]}
    page.get_by_role("link", name="← Segments").click()
    listed = page.get_by_role("table", name="Segments")
    expect(listed.get_by_role("row", name=re.compile("Plan is pro"))).to_contain_text("3")
    assert page.console_errors == []


def test_a_large_workspace_shows_the_rebuild_progress_until_the_members_are_counted(
    shoppers, workspace, marketer, page_for, monkeypatch
):
    """Over INLINE_REBUILD contacts a worker counts the members: the page says so, follows its
    progress and shows the count when it is done."""
    monkeypatch.setattr(segments, "INLINE_REBUILD", 1)
    segment = segments.create_segment(
        workspace, marketer, {"name": "Pro", "rule": {"field": "contact.traits.plan", "op": "eq", "value": "pro"}},
        timezone.now(),
    )  # fmt: skip
    page = page_for(marketer)
    page.goto(f"/segments/{segment.pk}")
    progress = page.get_by_test_id("rebuild-progress")
    expect(progress).to_contain_text("Waiting for a worker to count the members")
    expect(page.get_by_test_id("member-count")).to_have_text("0")

    segments.rebuild_task(segment.pk, segment.version)  # the worker's task
    expect(progress).to_have_count(0)
    expect(page.get_by_test_id("member-count")).to_have_text("3")
    assert page.console_errors == []


def test_a_static_list_is_filled_by_pasting_emails_and_deleted_after_a_confirmation(shoppers, marketer, page_for):
    page = page_for(marketer)
    page.goto("/segments/new")
    page.get_by_label("Name").fill("Launch party")
    page.get_by_label("Kind").select_option("static")
    expect(page.get_by_role("group", name="Segment rule")).to_have_count(0)
    page.get_by_role("button", name="Save segment").click()
    expect(page).to_have_url(re.compile(r"/segments/\d+$"))
    expect(page.get_by_text("Nobody is on this list yet.")).to_be_visible()

    page.get_by_label("Emails").fill("ada@shop.test\ndan@SHOP.test, nobody@shop.test; ada@shop.test")
    page.get_by_role("button", name="Add 3 people").click()
    added = page.get_by_role("status").filter(has_text="Added 2 people.")
    expect(added).to_contain_text("Not among your contacts: nobody@shop.test.")
    members = page.get_by_role("table", name="Members")
    expect(members.get_by_role("row")).to_have_count(3)
    expect(page.get_by_test_id("member-count")).to_have_text("2")

    page.get_by_role("button", name="Remove Dan from the list").click()
    expect(members.get_by_role("row")).to_have_count(2)
    expect(members).not_to_contain_text("dan@shop.test")
    expect(page.get_by_test_id("member-count")).to_have_text("1")
    expect(history_chart(page)).to_be_visible()

    page.get_by_role("button", name="Delete segment…").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Delete “Launch party”? Its 1 contact stay")
    dialog.get_by_role("button", name="Delete segment").click()
    expect(page).to_have_url(re.compile(r"/segments$"))
    expect(page.get_by_text("No segments yet.")).to_be_visible()
    assert not Segment.objects.filter(name="Launch party").exists()
    assert Contact.objects.filter(email="dan@shop.test").exists()
    assert page.console_errors == []


def test_the_segment_pages_fit_a_phone(shoppers, workspace, marketer, page_for):
    rule = {"all": [{"field": "contact.traits.plan", "op": "eq", "value": "pro"}]}
    segment = segments.create_segment(
        workspace, marketer, {"name": "Plan is pro", "description": "Paying customers", "rule": rule}, timezone.now()
    )
    page = page_for(marketer, viewport=PHONE)

    page.goto("/segments")
    expect(page.get_by_role("table", name="Segments")).to_contain_text("Plan is pro")
    no_sideways_scroll(page)

    page.goto(f"/segments/{segment.pk}")
    expect(page.get_by_role("table", name="Members").get_by_role("row")).to_have_count(4)
    expect(history_chart(page)).to_be_visible()
    no_sideways_scroll(page)

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_test_id("preview-count")).to_have_text("3")
    page.get_by_role("button", name="+ Event history").click()
    page.get_by_label("Segment rule, condition 2: event").fill("Order Completed")
    expect(page.get_by_test_id("preview-count")).to_have_text("0")
    no_sideways_scroll(page)
    assert page.console_errors == []
