"""The batched send path: a worker batch's email steps become outbox rows together, with the
batch's carts, products, recommendations and coupons loaded once, and delivery decides the policies
per batch; every message stays what it would be alone (one code per contact and journey, the cap
counted across the batch), and the number of queries does not grow with the batch."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery import actions
from delivery.models import Coupon, CouponPool, Message
from journeys import clock, drafts, publishing, worker
from journeys.models import Contact, Enrollment

from .conftest import REFERENCE_MJML, REFERENCE_SUBJECT, cart, make_products, make_template, simple_mjml

MAIL = {
    "trigger": {"type": "api"},
    "entry": {"re_entry": "after_exit"},
    "nodes": [{"id": "mail", "type": "email", "config": {"template": "cart-reminder"}}],
    "edges": [{"from": "trigger", "to": "mail"}],
}


@pytest.fixture
def pool(workspace):
    pool = CouponPool.objects.create(workspace=workspace, slug="back", name="Back", percent_off=10)
    Coupon.objects.bulk_create(Coupon(workspace=workspace, pool=pool, code=f"CODE-{n:03d}") for n in range(200))
    return pool


def burst(workspace, count, journey=None, label="b"):
    """`count` contacts with carts entering the journey at once (their enrollments due now)."""
    if journey is None:
        journey = drafts.create_journey(workspace, None, "Burst", definition=MAIL)
        publishing.publish_journey(journey, None)
        journey.refresh_from_db()
    contacts = Contact.objects.bulk_create(
        Contact(
            workspace=workspace,
            user_id=f"{label}{n}",
            email=f"{label}{n}@example.com",
            traits={"first_name": f"N{n}"},
            cart=cart(("SKU-1001", 1, 49.99, "Trail Running Shoe"), ("SKU-2002", 2, 14.99, "Merino Socks (3 pack)")),
        )
        for n in range(count)
    )
    Enrollment.objects.bulk_create(
        Enrollment(
            workspace=workspace,
            contact=contact,
            journey=journey,
            version=journey.live_version,
            status="active",
            current_node="trigger",
            entry_key="open",
            wake_at=clock.now(),
        )
        for contact in contacts
    )
    return journey


def run_engine():
    with CaptureQueriesContext(connection) as queries:
        while worker.advance_due():
            pass
    return len(queries)


def test_a_batch_gives_each_contact_its_own_email_code_and_cart(workspace, pool, settings):
    settings.JOURNEYS_KICKS = "off"
    make_products(workspace)
    make_template(workspace, mjml=REFERENCE_MJML, subject=REFERENCE_SUBJECT, coupon_pool=pool)
    journey = burst(workspace, 30)
    run_engine()
    messages = list(Message.objects.filter(workspace=workspace))
    assert len(messages) == 30 and {m.status for m in messages} == {"queued"}
    codes = {m.contact_id: next(c for c in Coupon.objects.filter(contact_id=m.contact_id)) for m in messages}
    assert len({c.code for c in codes.values()}) == 30  # one code each, none shared
    for message in messages:
        assert codes[message.contact_id].code in message.text
        assert "Trail Running Shoe" in message.html and "$39.99" in message.text  # today's price
    # The same contacts through the journey again: the same code each (once per contact and journey).
    Enrollment.objects.filter(journey=journey).update(
        status="active", current_node="trigger", wake_at=clock.now(), entry_key=None
    )
    Message.objects.all().delete()
    run_engine()
    for message in Message.objects.all():
        assert codes[message.contact_id].code in message.text
    assert Coupon.objects.filter(contact__isnull=False).count() == 30


def test_the_queries_of_a_batch_do_not_grow_with_its_contacts(workspace, pool, settings):
    settings.JOURNEYS_KICKS = "off"
    make_products(workspace)
    make_template(workspace, mjml=REFERENCE_MJML, subject=REFERENCE_SUBJECT, coupon_pool=pool)
    journey = burst(workspace, 10, label="small")
    small = run_engine()
    burst(workspace, 60, journey=journey, label="large")
    large = run_engine()
    assert Message.objects.filter(status="queued").count() == 70
    assert large <= small + 5, (small, large)


def test_the_cap_counts_the_messages_of_one_batch_against_each_other(workspace, smtp):
    actions.update_sending_settings(workspace, None, {"frequency_cap": 1, "frequency_window_hours": 24})
    _, version = make_template(workspace, "promo", simple_mjml("Hi {{ contact.first_name }}"), "Promo")
    contact = Contact.objects.create(workspace=workspace, user_id="u1", email="ada@example.com")
    first, second = (
        actions.enqueue_message(workspace, version, idempotency_key=key, contact=contact) for key in ("a", "b")
    )
    assert actions.deliver_due() == 2
    statuses = dict(Message.objects.values_list("idempotency_key", "status"))
    assert statuses == {"a": "sent", "b": "deferred"}
    assert len(smtp.messages) == 1


def test_one_refused_recipient_fails_alone_and_the_rest_of_the_batch_goes(workspace, smtp):
    from journeys import customers

    _, version = make_template(workspace, "promo", simple_mjml("Hi {{ contact.first_name }}"), "Promo")
    smtp.refuse["gone@example.com"] = (550, "5.1.1 No such user")
    smtp.refuse["busy@example.com"] = (451, "4.2.1 Try later")
    for name in ("ada", "gone", "busy", "bob"):
        contact = Contact.objects.create(workspace=workspace, user_id=name, email=f"{name}@example.com")
        actions.enqueue_message(workspace, version, idempotency_key=name, contact=contact)
    actions.deliver_due()
    statuses = dict(Message.objects.values_list("idempotency_key", "status"))
    assert statuses == {"ada": "sent", "bob": "sent", "gone": "failed", "busy": "queued"}
    assert sorted(m["to"][0] for m in smtp.messages) == ["ada@example.com", "bob@example.com"]
    assert customers.is_suppressed(workspace, "gone@example.com")
    assert not customers.is_suppressed(workspace, "busy@example.com")
    busy = Message.objects.get(idempotency_key="busy")
    assert busy.next_attempt_at is not None and "Try later" in busy.reason


def test_the_send_rate_holds_the_rest_of_a_batch_until_it_allows_more(workspace, smtp):
    actions.update_sending_settings(workspace, None, {"send_rate_per_second": 2})
    _, version = make_template(workspace, "promo", simple_mjml("Hi"), "Promo")
    for n in range(5):
        contact = Contact.objects.create(workspace=workspace, user_id=f"u{n}", email=f"u{n}@example.com")
        actions.enqueue_message(workspace, version, idempotency_key=f"m{n}", contact=contact)
    now = clock.now()
    actions.deliver_due(now=now)
    sent = Message.objects.filter(status="sent")
    held = Message.objects.filter(status="queued")
    assert sent.count() == 2 and held.count() == 3 and len(smtp.messages) == 2
    assert all(m.next_attempt_at > now and m.attempts == 0 for m in held)
    assert {m.reason for m in held} == {"Waiting for the workspace's send rate."}


# -- the worker sends what its batch rendered -------------------------------------------------------


def test_the_worker_sends_its_batch_itself_after_the_commit_once_each(
    workspace, smtp, settings, django_capture_on_commit_callbacks
):
    settings.JOURNEYS_KICKS = "off"
    _, version = make_template(workspace, mjml=simple_mjml("Hi {{ contact.first_name }}"), subject="Hi")
    burst(workspace, 12)
    with django_capture_on_commit_callbacks(execute=True):
        while worker.advance_due():
            pass
    messages = list(Message.objects.filter(workspace=workspace))
    assert {m.status for m in messages} == {"sent"} and len(messages) == 12
    assert all(m.attempts == 1 and m.handed_off_at and m.sent_at for m in messages)
    assert sorted(m["to"][0] for m in smtp.messages) == sorted(m.to_email for m in messages)
    sent = {m["email"]["X-Wayline-Message"]: m["email"] for m in smtp.messages}
    stored = messages[0]
    html = sent[str(stored.pk)].get_body(("html",)).get_content()
    assert html.replace("\r\n", "\n").strip() == stored.html.strip()  # what was stored is what went
    assert actions.deliver_due() == 0  # nothing left for the delivery workers, nothing sent twice
    assert len(smtp.messages) == 12


def test_what_another_worker_took_first_is_left_to_it(workspace, smtp, settings, django_capture_on_commit_callbacks):
    settings.JOURNEYS_KICKS = "off"
    make_template(workspace, mjml=simple_mjml("Hi"), subject="Hi")
    burst(workspace, 6)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        while worker.advance_due():
            pass
    assert actions.claim_due(clock.now(), 2)  # another worker claims two of them first
    for callback in callbacks:
        callback()
    statuses = sorted(Message.objects.values_list("status", flat=True))
    assert statuses == ["sending"] * 2 + ["sent"] * 4 and len(smtp.messages) == 4


def test_what_the_worker_cannot_send_in_its_time_goes_back_to_the_delivery_workers(
    workspace, smtp, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.JOURNEYS_KICKS = "off"
    monkeypatch.setattr(actions, "SEND_HERE_SECONDS", -1)  # out of time before the first chunk
    make_template(workspace, mjml=simple_mjml("Hi"), subject="Hi")
    burst(workspace, 5)
    with django_capture_on_commit_callbacks(execute=True):
        while worker.advance_due():
            pass
    held = list(Message.objects.filter(workspace=workspace))
    assert {m.status for m in held} == {"queued"} and all(m.attempts == 0 and m.lease_until is None for m in held)
    assert not smtp.messages
    assert actions.deliver_due() == 5
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"} and len(smtp.messages) == 5
