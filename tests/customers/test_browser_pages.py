"""The contacts, catalog and data sources pages in a real browser."""

import re
import time

import pytest
from playwright.sync_api import expect
from segment.analytics import Client as SegmentClient

from journeys.customers import catalog, events, imports
from journeys.models import ImportJob
from tests.factories import make_write_key

pytestmark = pytest.mark.browser


def run_queued_import():
    """What the qcluster worker does with the queued import (none runs in these tests)."""
    deadline = time.monotonic() + 10
    while not ImportJob.objects.filter(status="queued").exists():
        assert time.monotonic() < deadline, "the browser did not start an import"
        time.sleep(0.05)
    imports.run_import(ImportJob.objects.get(status="queued").id)


def test_calls_from_the_segment_library_show_on_the_contact_page(live_app, page_for, workspace, admin):
    client = SegmentClient(make_write_key(workspace), host=live_app.url, sync_mode=False)
    client.identify("shopper-1", {"email": "shopper@example.com", "first_name": "Sam", "plan": "vip"})
    client.track(
        "shopper-1", "Product Added", {"product_id": "TENT-2", "name": "Ultralight 2P", "price": 399, "currency": "EUR"}
    )
    client.track(
        "shopper-1",
        "Order Completed",
        {"order_id": "A-100", "total": 59.5, "currency": "EUR", "products": [{"name": "Stove"}]},
    )
    client.track(
        "shopper-1", "Product Added", {"product_id": "TENT-2", "name": "Ultralight 2P", "price": 399, "currency": "EUR"}
    )
    client.flush()
    client.join()
    events.process_now(workspace.id)

    page = page_for(admin)
    page.goto("/contacts")
    page.get_by_label("Search").fill("shopper@")
    rows = page.get_by_role("table", name="Contacts").locator("tbody tr")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Sam", level=1)).to_be_visible()
    expect(page.get_by_role("table", name="Traits")).to_contain_text("vip")
    expect(page.get_by_role("table", name="Cart")).to_contain_text("Ultralight 2P")
    expect(page.get_by_role("table", name="Orders")).to_contain_text("A-100")
    timeline = page.get_by_role("list", name="Events")
    expect(timeline.locator("li")).to_have_count(4)
    expect(timeline).to_contain_text("Order Completed")
    assert not page.console_errors


def test_a_marketer_imports_products_and_sees_the_row_errors(live_app, page_for, workspace, marketer, tmp_path):
    csv = tmp_path / "products.csv"
    csv.write_text("sku,name,price,category\nP-1,Trail Runner,119,Shoes\nP-2,Broken,oops,Shoes\nP-3,Lamp,49,Gear\n")
    page = page_for(marketer)
    page.goto("/catalog")
    page.get_by_role("button", name="Import products").click()
    page.get_by_label("CSV file").set_input_files(str(csv))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Waiting for a worker…")).to_be_visible()
    run_queued_import()
    expect(page.get_by_text("2 created, 0 updated, 1 rows skipped")).to_be_visible()
    expect(page.get_by_role("table", name="Rows with errors")).to_contain_text("price is not a number.")
    expect(page.get_by_role("progressbar", name="Import progress")).to_have_attribute("value", "100")
    products = page.get_by_role("table", name="Products")
    expect(products.locator("tbody tr")).to_have_count(2)

    products.get_by_role("link", name="Trail Runner").click()
    page.get_by_label("Price", exact=True).fill("99")
    page.get_by_role("button", name="Save product").click()
    expect(page.get_by_role("table", name="Price history").locator("tbody tr")).to_have_count(2)


def test_qa_reads_the_catalog_but_cannot_change_it(live_app, page_for, workspace, qa):
    catalog.upsert_products(workspace, [{"sku": "S-1", "name": "Socks", "price": 9}])
    page = page_for(qa)
    page.goto("/catalog")
    expect(page.get_by_role("button", name="Import products")).to_have_count(0)
    page.get_by_role("link", name="Socks").click()
    expect(page.get_by_text("Your role can read the catalog but not change it.")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_disabled()


def test_the_data_sources_page_shows_events_as_they_arrive(live_app, page_for, workspace, admin):
    import json
    import urllib.request
    from base64 import b64encode

    key = make_write_key(workspace, "Shop")
    page = page_for(admin)
    page.goto("/data-sources")
    expect(page.get_by_text("Nothing received yet")).to_be_visible()
    expect(page.get_by_label("segment-analytics-python (server) snippet", exact=True)).to_contain_text(
        f'analytics.host = "{live_app.url}"'
    )
    expect(page.get_by_text(re.compile(r"Shop: wk_"))).to_be_visible()

    request = urllib.request.Request(
        f"{live_app.url}/v1/track",
        data=json.dumps({"userId": "live-1", "event": "Checkout Started"}).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": "Basic " + b64encode(f"{key}:".encode()).decode(),
        },
    )
    assert urllib.request.urlopen(request).status == 200
    table = page.get_by_role("table", name="Last events received")
    expect(table).to_contain_text("Checkout Started", timeout=10_000)
    expect(table).to_contain_text("live-1")


def test_an_admin_erases_a_contact_from_its_page(live_app, page_for, workspace, admin):
    from journeys.models import Contact

    contact = Contact.objects.create(workspace=workspace, email="gone@example.com", traits={"name": "Gone Soon"})
    page = page_for(admin)
    page.goto(f"/contacts/{contact.id}")
    page.get_by_role("button", name="Erase contact…").click()
    page.get_by_role("button", name="Confirm erase").click()
    expect(page.get_by_text("The profile, its events and orders were deleted")).to_be_visible()
    assert not Contact.objects.filter(pk=contact.pk).exists()
