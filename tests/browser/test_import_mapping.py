"""A contact import in a real browser: the file's first rows previewed, a column mapped to a trait,
the contacts put into a new list; a mapping error shown next to its column; and the mapping step at
a phone's width."""

import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from journeys.customers import imports
from journeys.models import Contact, ImportJob, Segment

# The page is the same on either database and its server side is tested on both (tests/api, the
# apps' own tests): in the browser once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]

PHONE = {"width": 390, "height": 844}
SHOES = "E-mail Address,Given Name,Shoe Size\nada@shop.test,Ada,38\nbob@shop.test,Bob,44\ncy@shop.test,Cy,41\n"


def run_queued_import():
    """What the qcluster worker does with the queued import (none runs in these tests)."""
    deadline = time.monotonic() + 10
    while not ImportJob.objects.filter(status="queued").exists():
        assert time.monotonic() < deadline, "the browser did not start an import"
        time.sleep(0.05)
    imports.run_import(ImportJob.objects.get(status="queued").id)


def open_import(page, csv):
    page.goto("/contacts")
    page.get_by_role("button", name="Import contacts").click()
    page.get_by_label("CSV file").set_input_files(str(csv))
    return page.get_by_role("table", name="Column mapping")


def test_a_marketer_maps_the_columns_and_imports_into_a_new_list(workspace, marketer, page_for, tmp_path):
    csv = tmp_path / "shoes.csv"
    csv.write_text(SHOES)
    page = page_for(marketer)
    table = open_import(page, csv)
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table).to_contain_text("bob@shop.test")
    expect(page.get_by_label("Target of column E-mail Address")).to_have_value("email")
    expect(page.get_by_label("Target of column Given Name")).to_have_value("first_name")
    page.get_by_label("Target of column Shoe Size").select_option(label="Trait: shoe_size")

    page.get_by_label("A new list").check()
    page.get_by_label("New list name").fill("Imported")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Waiting for a worker…")).to_be_visible()
    run_queued_import()
    expect(page.get_by_text("3 created, 0 updated.")).to_be_visible()
    expect(page.get_by_text("3 added to the list “Imported”.")).to_be_visible()

    ada = Contact.objects.get(workspace=workspace, email="ada@shop.test")
    assert (ada.traits["shoe_size"], ada.traits["first_name"]) == ("38", "Ada")
    assert "Shoe Size" not in ada.traits
    listed = Segment.objects.get(workspace=workspace, name="Imported")
    assert listed.kind == Segment.Kind.STATIC
    page.goto(f"/segments/{listed.id}")
    members = page.get_by_role("table", name="Members")
    expect(members.get_by_role("row")).to_have_count(4)  # the header and three members
    for email in ("ada@shop.test", "bob@shop.test", "cy@shop.test"):
        expect(members).to_contain_text(email)
    assert not page.console_errors


def test_a_mapping_error_is_shown_next_to_its_column(workspace, marketer, page_for, tmp_path):
    now = timezone.now()
    Segment.objects.create(
        workspace=workspace, name="Fair", kind=Segment.Kind.STATIC, rule={}, created_at=now, updated_at=now
    )
    csv = tmp_path / "shoes.csv"
    csv.write_text(SHOES)
    page = page_for(marketer)
    open_import(page, csv)
    page.get_by_label("Target of column Given Name").select_option("email")
    page.get_by_label("An existing static list").check()
    page.get_by_label("List", exact=True).select_option(label="Fair (0)")
    page.get_by_role("button", name="Import", exact=True).click()
    cell = page.locator('[data-column="Given Name"]')
    expect(cell.get_by_role("alert")).to_contain_text("“E-mail Address” also goes to email")
    expect(page.locator('[data-column="E-mail Address"]').get_by_role("alert")).to_contain_text("“Given Name”")
    assert not ImportJob.objects.exists()

    page.get_by_label("Target of column Given Name").select_option("first_name")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Waiting for a worker…")).to_be_visible()
    expect(cell.get_by_role("alert")).to_have_count(0)


def test_the_mapping_step_scrolls_inside_its_box_at_a_phone_width(workspace, marketer, page_for, tmp_path):
    wide = ",".join(["email", *(f"Column number {n}" for n in range(12))])
    csv = tmp_path / "wide.csv"
    csv.write_text(wide + "\n" + ",".join(["ada@shop.test", *(f"value {n}" for n in range(12))]) + "\n")
    page = page_for(marketer, viewport=PHONE)
    table = open_import(page, csv)
    expect(table.locator("tbody tr")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide"
    box = page.locator(".import-mapping-scroll")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")
