"""The outbox: one message per (enrollment, node, visit), coupons once per contact and journey,
failing renders never sent, crashes before and after the hand-off."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from delivery import actions, transports
from delivery.models import Coupon, CouponPool, Message
from journeys import hooks
from journeys.models import Enrollment, Journey, JourneyVersion

from .conftest import cart, make_contact, make_products, make_template, simple_mjml


def enroll(workspace, contact, template_version=None, context=None):
    journey = Journey.objects.create(workspace=workspace, name="Cart abandonment", status="live")
    version = JourneyVersion.objects.create(
        workspace=workspace,
        journey=journey,
        number=1,
        definition={"nodes": [{"id": "mail1", "type": "email", "config": {"template": "cart-reminder"}}]},
        template_versions={"mail1": template_version.pk} if template_version else {},
    )
    return Enrollment.objects.create(
        workspace=workspace, contact=contact, journey=journey, version=version, context=context or {}
    )


def step(enrollment, node_id="mail1", visit=1, config=None):
    return hooks.hook("email.send")(
        enrollment=enrollment,
        node_id=node_id,
        visit=visit,
        config=config or {"template": "cart-reminder"},
        now=timezone.now(),
    )


def test_the_hooks_are_registered_and_resolve_templates_by_slug_or_id(workspace):
    template, version = make_template(workspace)
    resolve = hooks.hook("template.resolve")
    assert resolve(workspace, "cart-reminder") == version.pk
    assert resolve(workspace, str(template.pk)) == version.pk
    assert resolve(workspace, "nope") is None
    _, newer = actions.save_template(workspace, None, template, subject="New subject")
    assert newer.number == 2 and resolve(workspace, "cart-reminder") == newer.pk


def test_a_step_that_runs_twice_creates_one_message_and_sends_once(workspace, smtp, site):
    make_products(workspace)
    contact = make_contact(workspace, cart=cart(("SKU-1001", 1, 49.99, "Trail Running Shoe")))
    _, version = make_template(workspace)
    enrollment = enroll(workspace, contact, version)
    first, second = step(enrollment), step(enrollment)
    assert first == second and first["status"] == "queued"
    assert Message.objects.count() == 1
    actions.send_message(first["message_id"])
    actions.send_message(first["message_id"])
    assert len(smtp.messages) == 1
    third = step(enrollment, visit=2)
    assert third["message_id"] != first["message_id"]


def test_the_journey_version_pins_the_template_version(workspace):
    template, pinned = make_template(workspace)
    actions.save_template(workspace, None, template, subject="Changed after publishing")
    enrollment = enroll(workspace, make_contact(workspace), pinned)
    message = Message.objects.get(pk=step(enrollment)["message_id"])
    assert message.template_version == pinned


def test_a_coupon_is_assigned_once_per_contact_and_journey_even_when_the_step_runs_twice(workspace, site):
    pool = CouponPool.objects.create(workspace=workspace, slug="comeback", name="Come back", percent_off=10)
    Coupon.objects.bulk_create(Coupon(workspace=workspace, pool=pool, code=f"CODE-{n}") for n in range(3))
    make_products(workspace)
    template, version = make_template(workspace, coupon_pool=pool)
    ada, bob = make_contact(workspace), make_contact(workspace, "bob@example.com")
    ada_enrollment = enroll(workspace, ada, version)
    messages = [Message.objects.get(pk=step(ada_enrollment, visit=v)["message_id"]) for v in (1, 1, 2)]
    codes = {m.text.split("Use code ")[1].split(" ")[0] for m in messages}
    assert len(codes) == 1
    assert Coupon.objects.filter(contact=ada).count() == 1
    bob_message = Message.objects.get(pk=step(enroll(workspace, bob, version))["message_id"])
    assert codes.isdisjoint({bob_message.text.split("Use code ")[1].split(" ")[0]})
    assert Coupon.objects.filter(contact__isnull=True).count() == 1


def test_a_template_that_fails_to_render_marks_the_message_failed_and_sends_nothing(workspace, smtp):
    mjml = simple_mjml("{{ contact.big | times: contact.big }}")
    _, version = make_template(workspace, "broken", mjml, "Hi")
    contact = make_contact(workspace, traits={"big": 10**3000})
    result = step(enroll(workspace, contact, version), config={"template": "broken"})
    assert result["status"] == "failed" and "could not be rendered" in result["reason"]
    assert actions.send_message(result["message_id"]) is None
    assert smtp.messages == []


def test_an_unknown_template_fails_the_step_with_a_reason(workspace):
    result = step(enroll(workspace, make_contact(workspace)), config={"template": "missing"})
    assert result["status"] == "failed" and "missing" in result["reason"]


class Killed(BaseException):
    """A worker process dying mid-send."""


def test_a_crash_after_the_hand_off_leaves_an_in_doubt_message_that_is_not_resent(workspace, admin, smtp, monkeypatch):
    _, version = make_template(workspace, "promo", simple_mjml("Promo"), "Promo")
    message = actions.enqueue_message(workspace, version, idempotency_key="x", contact=make_contact(workspace))
    real_send = transports.send_batch

    def send_then_die(emails, sending):
        real_send(emails, sending)  # the server has accepted it...
        raise Killed()  # ...and the worker dies before marking it sent

    monkeypatch.setattr(transports, "send_batch", send_then_die)
    with pytest.raises(Killed):
        actions.send_message(message.pk)
    monkeypatch.setattr(transports, "send_batch", real_send)
    assert actions.sweep(now=timezone.now() + timedelta(minutes=5)) == []
    message.refresh_from_db()
    assert message.status == Message.Status.IN_DOUBT and "may have been sent" in message.reason
    assert actions.send_message(message.pk) is None
    assert len(smtp.messages) == 1
    actions.resolve_in_doubt(message, admin, "sent")
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.sent_at is not None


def test_a_crash_before_the_hand_off_is_sent_once_by_the_sweeper(workspace, smtp, monkeypatch):
    _, version = make_template(workspace, "promo", simple_mjml("Promo"), "Promo")
    message = actions.enqueue_message(workspace, version, idempotency_key="x", contact=make_contact(workspace))

    def die(*args, **kwargs):
        raise Killed()

    monkeypatch.setattr(actions.policies, "check_batch", die)
    with pytest.raises(Killed):
        actions.send_message(message.pk)
    monkeypatch.undo()
    message.refresh_from_db()
    assert message.status == Message.Status.SENDING and message.handed_off_at is None
    assert actions.sweep() == []  # the lease still holds
    later = timezone.now() + timedelta(minutes=5)
    assert actions.sweep(now=later) == [message.pk]
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.attempts == 2
    assert len(smtp.messages) == 1


def test_a_bounce_or_complaint_from_the_provider_suppresses_the_address(workspace, site):
    from anymail.signals import AnymailTrackingEvent, tracking

    from journeys import customers

    _, version = make_template(workspace, "promo", simple_mjml("Promo"), "Promo")
    contact = make_contact(workspace)
    message = actions.enqueue_message(workspace, version, idempotency_key="x", contact=contact)
    Message.objects.filter(pk=message.pk).update(status="sent", provider_message_id="esp-123")
    event = AnymailTrackingEvent(event_type="complained", message_id="esp-123", recipient=contact.email)
    tracking.send(sender=object, event=event, esp_name="Postmark")
    assert customers.is_suppressed(workspace, contact.email)
    assert message.events.filter(kind="complaint").exists()
    unknown = AnymailTrackingEvent(event_type="bounced", message_id="nope", recipient="x@example.com")
    tracking.send(sender=object, event=unknown, esp_name="Postmark")
    assert not customers.is_suppressed(workspace, "x@example.com")


@pytest.mark.postgres
def test_the_rendered_html_and_text_are_compressed_with_lz4_on_postgresql(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attname IN ('html', 'text') ORDER BY attname",
            [Message._meta.db_table],
        )
        assert cursor.fetchall() == [("html", "l"), ("text", "l")]


def test_a_key_another_worker_inserted_meanwhile_keeps_its_row_and_ours_is_dropped(workspace, monkeypatch):
    _, version = make_template(workspace, "promo", simple_mjml("Hi {{ contact.first_name }}"), "Promo")
    ada = make_contact(workspace)
    bob = make_contact(workspace, "bob@example.com", user_id="bob")
    prepare = actions._prepare

    def another_worker_first(workspace, messages, now):
        prepare(workspace, messages, now)  # ours rendered; then the other worker's insert lands
        monkeypatch.setattr(actions, "_prepare", prepare)
        actions.enqueue_message(workspace, version, idempotency_key="k1", contact=bob)

    monkeypatch.setattr(actions, "_prepare", another_worker_first)
    message = actions.enqueue_message(workspace, version, idempotency_key="k1", contact=ada)
    stored = Message.objects.get(idempotency_key="k1")
    assert Message.objects.filter(workspace=workspace).count() == 1
    assert message.pk == stored.pk and message.token == stored.token
    assert stored.to_email == "bob@example.com" and stored.contact_id == bob.pk
