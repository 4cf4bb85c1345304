"""Policies before each send: suppression, consent per topic, the frequency cap (transactional
exempt; test_frequency_cap.py for what happens over it), quiet hours in the contact's timezone
(deferred, never dropped)."""

from datetime import UTC, datetime, time, timedelta

from delivery import actions, policies
from delivery.models import Category, Message
from journeys import customers

from .conftest import make_contact, make_template, simple_mjml

NOON_UTC = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def enqueue(workspace, version, contact, key, now=NOON_UTC):
    return actions.enqueue_message(workspace, version, idempotency_key=key, contact=contact, now=now)


def test_a_suppressed_address_gets_nothing_not_even_transactional(workspace, smtp):
    _, marketing = make_template(workspace, "promo", simple_mjml("Sale"), "Sale")
    _, receipt = make_template(workspace, "receipt", simple_mjml("Receipt"), "Receipt", category=Category.TRANSACTIONAL)
    contact = make_contact(workspace)
    customers.suppress(workspace, contact.email, reason="bounced")
    assert enqueue(workspace, marketing, contact, "a").status == Message.Status.SUPPRESSED
    assert enqueue(workspace, receipt, contact, "b").status == Message.Status.SUPPRESSED
    assert smtp.messages == []


def test_consent_is_per_topic_and_unsubscribe_from_all_stops_every_marketing_email(workspace, smtp):
    _, news = make_template(workspace, "news", simple_mjml("News"), "News", topic="newsletter")
    _, promo = make_template(workspace, "promo", simple_mjml("Promo"), "Promo", topic="marketing")
    _, receipt = make_template(workspace, "receipt", simple_mjml("R"), "R", category=Category.TRANSACTIONAL)
    contact = make_contact(workspace, consent={"newsletter": False})
    statuses = [actions.send_message(enqueue(workspace, v, contact, k).pk) for k, v in [("1", news), ("2", promo)]]
    assert statuses == [Message.Status.SUPPRESSED, Message.Status.SENT]
    contact.consent = {"all": False}
    contact.save()
    assert actions.send_message(enqueue(workspace, promo, contact, "3").pk) == Message.Status.SUPPRESSED
    assert actions.send_message(enqueue(workspace, receipt, contact, "4").pk) == Message.Status.SENT
    assert [m["email"]["Subject"] for m in smtp.messages] == ["Promo", "R"]


def test_the_frequency_cap_counts_marketing_email_per_contact_and_exempts_transactional(workspace, smtp):
    _, promo = make_template(workspace, "promo", simple_mjml("Promo"), "Promo")
    _, receipt = make_template(workspace, "receipt", simple_mjml("R"), "R", category=Category.TRANSACTIONAL)
    actions.update_sending_settings(workspace, None, {"frequency_cap": 3, "frequency_window_hours": 24})
    ada, bob = make_contact(workspace), make_contact(workspace, "bob@example.com")
    now = NOON_UTC
    results = []
    for n in range(4):
        results.append(actions.send_message(enqueue(workspace, promo, ada, f"ada{n}", now).pk, now=now))
        now += timedelta(hours=1)
    assert results == [Message.Status.SENT] * 3 + [Message.Status.DEFERRED]
    assert Message.objects.get(idempotency_key="ada3").reason.startswith("frequency_cap: 3 marketing emails")
    assert actions.send_message(enqueue(workspace, receipt, ada, "r", now).pk, now=now) == Message.Status.SENT
    assert actions.send_message(enqueue(workspace, promo, bob, "bob", now).pk, now=now) == Message.Status.SENT
    # a day after the first, the window has room again
    later = NOON_UTC + timedelta(hours=24, minutes=1)
    assert actions.send_message(enqueue(workspace, promo, ada, "ada-next-day", later).pk, now=later) == "sent"


def test_test_sends_are_outside_the_cap_and_go_only_to_members(workspace, admin, smtp):
    _, promo = make_template(workspace, "promo", simple_mjml("Promo"), "Promo")
    actions.update_sending_settings(workspace, None, {"frequency_cap": 1})
    for _ in range(3):
        message = actions.test_send(workspace, admin, promo, "admin@acme.test")
        assert actions.send_message(message.pk) == Message.Status.SENT
    assert [m["email"]["Subject"] for m in smtp.messages] == ["[Test] Promo"] * 3
    assert smtp.messages[0]["email"]["X-Wayline-Test"] == "1"


def test_quiet_hours_defer_to_the_contacts_morning_and_the_sweeper_sends_then(workspace, smtp):
    _, promo = make_template(workspace, "promo", simple_mjml("Promo"), "Promo")
    actions.update_sending_settings(workspace, None, {"quiet_hours_start": time(21), "quiet_hours_end": time(8)})
    tokyo = make_contact(workspace, "ken@example.jp", timezone="Asia/Tokyo")  # 12:00 UTC = 21:00 in Tokyo
    london = make_contact(workspace, "amy@example.co.uk", timezone="Europe/London")  # 13:00 in London
    deferred = enqueue(workspace, promo, tokyo, "jp")
    assert actions.send_message(deferred.pk, now=NOON_UTC) == Message.Status.DEFERRED
    assert actions.send_message(enqueue(workspace, promo, london, "uk").pk, now=NOON_UTC) == Message.Status.SENT
    deferred.refresh_from_db()
    assert deferred.next_attempt_at == datetime(2026, 6, 1, 23, 0, tzinfo=UTC)  # 08:00 in Tokyo
    assert actions.sweep(now=NOON_UTC + timedelta(hours=5)) == []  # still night there: nothing
    assert actions.sweep(now=datetime(2026, 6, 1, 23, 0, 30, tzinfo=UTC)) == [deferred.pk]
    deferred.refresh_from_db()
    assert deferred.status == Message.Status.SENT
    assert sorted(m["to"][0] for m in smtp.messages) == ["amy@example.co.uk", "ken@example.jp"]


def test_quiet_hours_end_handles_both_kinds_of_window():
    at = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Europe/Berlin moves to summer time
    assert policies.quiet_hours_end(at, "Europe/Berlin", time(22), time(7)) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    assert policies.quiet_hours_end(at, "Europe/Berlin", time(12), time(14)) is None
    assert policies.quiet_hours_end(at, "Nowhere/Invalid", time(0), time(1)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert policies.quiet_hours_end(at, "UTC", None, None) is None
