"""A broadcast in a real browser: a marketer sends a template to a static list of 10,000 contacts;
the progress bar moves while the workers enter the pages and reaches 100%; every contact gets
exactly one message, through the engine and delivery's batched path (the outbox); an empty segment
is refused in words before anything starts; the pages fit a phone."""

import re
import time
from datetime import timedelta

import pytest
from django.core import mail
from playwright.sync_api import expect

from delivery import actions
from delivery.models import Message
from journeys import broadcasts, clock, worker
from journeys.models import Broadcast, Contact, Segment, SegmentMembership
from tests.delivery.conftest import make_template, simple_mjml

pytestmark = pytest.mark.browser

MEMBERS = 10_000
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def sending(workspace, settings):
    settings.JOURNEYS_KICKS = "off"  # this test is the worker
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_template(
        workspace,
        slug="spring-sale",
        mjml=simple_mjml("Hi {{ contact.first_name }}, the sale is on."),
        subject="Spring sale",
    )


def static_list(workspace, name, count):
    segment = Segment.objects.create(workspace=workspace, name=name, kind=Segment.Kind.STATIC)
    contacts = Contact.objects.bulk_create(
        (
            Contact(workspace=workspace, user_id=f"m{n}", email=f"m{n}@example.com", traits={"first_name": f"N{n}"})
            for n in range(count)
        ),
        batch_size=1000,
    )
    joined = clock.now() - timedelta(minutes=1)
    SegmentMembership.objects.bulk_create(
        (SegmentMembership(workspace=workspace, segment=segment, contact=c, entered_at=joined) for c in contacts),
        batch_size=1000,
    )
    return segment


def run_workers(broadcast_id, pages=None):
    """What the qcluster workers do: enter pages of the broadcast (all, or `pages` of them), advance
    the engine, send the outbox."""
    done = 0
    while pages is None or done < pages:
        if not broadcasts.enter_page(broadcast_id):
            break
        done += 1
    while worker.advance_due() or actions.sweep():
        pass


def fill_form(page, name, segment_label):
    page.goto("/")
    page.get_by_role("link", name="Broadcasts").click()
    expect(page).to_have_url(re.compile(r"/broadcasts$"))
    page.get_by_role("link", name="New broadcast").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Segment", exact=True).select_option(label=segment_label)
    page.get_by_label("Template", exact=True).select_option(label="Spring Sale — Spring sale")
    page.get_by_role("button", name="Save broadcast").click()
    expect(page).to_have_url(re.compile(r"/broadcasts/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


@pytest.mark.sqlite_half  # 10,000 contacts: once is enough for .ci/run's time
def test_a_broadcast_to_10000_contacts_goes_out_once_each_with_a_progress_bar(workspace, marketer, sending, page_for):
    started = time.monotonic()
    static_list(workspace, "Everyone", MEMBERS)
    page = page_for(marketer)
    broadcast_id = fill_form(page, "Spring sale", "Everyone (10,000)")
    expect(page.get_by_text("10,000 contacts are in Everyone now.")).to_be_visible()
    page.get_by_role("button", name="Start").click()
    bar = page.get_by_role("progressbar", name="Contacts entered")
    expect(bar).to_have_attribute("aria-valuenow", "0")

    setup = time.monotonic()
    run_workers(broadcast_id, pages=1)  # the first page: 500 of 10,000
    expect(bar).to_have_attribute("aria-valuenow", "5")
    expect(page.get_by_test_id("broadcast-progress-text")).to_have_text("500 of 10,000")
    run_workers(broadcast_id, pages=9)
    expect(bar).to_have_attribute("aria-valuenow", "50")
    run_workers(broadcast_id)
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=10_000)
    expect(page.locator(".tag", has_text="Sent")).to_be_visible()
    expect(page.get_by_test_id("broadcast-sent")).to_have_text("10,000", timeout=15_000)
    sent = time.monotonic()

    row = Broadcast.objects.get(pk=broadcast_id)
    assert (row.status, row.total, row.entered, row.skipped) == ("sent", MEMBERS, MEMBERS, 0)
    messages = Message.objects.filter(journey_id=row.journey_id)
    assert messages.count() == MEMBERS
    assert messages.values("contact_id").distinct().count() == MEMBERS
    assert set(messages.values_list("status", flat=True)) == {"sent"}
    assert len(mail.outbox) == MEMBERS and len({m.to[0] for m in mail.outbox}) == MEMBERS
    assert page.console_errors == []
    print(f"\nsetup+form {setup - started:.1f}s, entering and sending {MEMBERS}: {sent - setup:.1f}s")


@pytest.mark.sqlite_half  # a page: its server side is tested on both (tests/engine/test_broadcasts.py)
def test_an_empty_segment_is_refused_in_words_and_the_pages_fit_a_phone(workspace, marketer, sending, page_for):
    Segment.objects.create(workspace=workspace, name="Nobody", kind=Segment.Kind.STATIC)
    page = page_for(marketer, viewport=PHONE)
    page.goto("/broadcasts/new")
    page.get_by_label("Name", exact=True).fill("Into the void")
    page.get_by_label("Segment", exact=True).select_option(label="Nobody (0)")
    expect(page.get_by_text("This segment has no members yet.")).to_be_visible()
    page.get_by_label("Template", exact=True).select_option(label="Spring Sale — Spring sale")
    page.get_by_role("button", name="Save broadcast").click()
    expect(page).to_have_url(re.compile(r"/broadcasts/\d+$"))
    page.get_by_role("button", name="Start").click()
    expect(
        page.get_by_role("alert")
        .or_(page.locator(".banner"))
        .filter(has_text="This segment has no members: nobody would receive it.")
    ).to_be_visible()
    assert Broadcast.objects.get().status == "draft"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.goto("/broadcasts")
    expect(page.get_by_role("table", name="Broadcasts")).to_contain_text("Into the void")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
