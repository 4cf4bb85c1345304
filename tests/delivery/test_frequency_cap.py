"""A marketing email over the frequency cap is delayed until the cap allows it (quiet hours still
apply then), or skipped when its journey chooses so, or skipped once it would wait longer than the
journey's maximum deferral. Transactional email is exempt."""

from datetime import UTC, datetime, time, timedelta

from delivery import actions
from delivery.models import Category, Message
from journeys import hooks
from journeys.models import Enrollment, Journey, JourneyVersion

from .conftest import make_contact, make_template, simple_mjml

NOON_UTC = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def cap(workspace, emails, hours, **more):
    actions.update_sending_settings(workspace, None, {"frequency_cap": emails, "frequency_window_hours": hours, **more})


def send_now(workspace, version, contact, key, now):
    message = actions.enqueue_message(workspace, version, idempotency_key=key, contact=contact, now=now)
    return actions.send_message(message.pk, now=now), message


def enroll(workspace, contact, sending=None):
    """An enrollment in a journey whose definition has this "sending" choice (None: left out)."""
    definition = {
        "trigger": {"type": "event", "event": "Signed Up"},
        "nodes": [
            {"id": "mail1", "type": "email", "config": {"template": "promo"}},
            {"id": "mail2", "type": "email", "config": {"template": "promo"}},
        ],
        "edges": [{"from": "trigger", "to": "mail1"}, {"from": "mail1", "to": "mail2"}],
    }
    if sending is not None:
        definition["sending"] = sending
    journey = Journey.objects.create(workspace=workspace, name="Promotions", status="live")
    version = JourneyVersion.objects.create(workspace=workspace, journey=journey, number=1, definition=definition)
    return Enrollment.objects.create(workspace=workspace, contact=contact, journey=journey, version=version)


def email_step(enrollment, node_id, now, visit=1):
    """The engine's email node, through delivery's "email.send" hook; returns the message."""
    result = hooks.hook("email.send")(
        enrollment=enrollment, node_id=node_id, visit=visit, config={"template": "promo"}, now=now
    )
    return Message.objects.get(pk=result["message_id"])


def test_an_email_over_the_cap_waits_until_the_oldest_leaves_the_window_then_goes(workspace, smtp):
    _, promo = make_template(workspace, "promo", simple_mjml("Promo"), "Promo")
    _, receipt = make_template(workspace, "receipt", simple_mjml("R"), "Receipt", category=Category.TRANSACTIONAL)
    cap(workspace, 2, 24)
    ada = make_contact(workspace)
    assert send_now(workspace, promo, ada, "first", NOON_UTC)[0] == Message.Status.SENT
    assert send_now(workspace, promo, ada, "second", NOON_UTC + timedelta(hours=1))[0] == Message.Status.SENT

    status, third = send_now(workspace, promo, ada, "third", NOON_UTC + timedelta(hours=2))
    assert status == Message.Status.DEFERRED
    third.refresh_from_db()
    assert third.next_attempt_at == NOON_UTC + timedelta(hours=24)  # when "first" leaves the window
    assert third.reason.startswith("frequency_cap: 2 marketing emails already sent in the last 24 hours")
    # transactional email is exempt: it goes at once, over the cap
    assert send_now(workspace, receipt, ada, "receipt", NOON_UTC + timedelta(hours=3))[0] == Message.Status.SENT

    assert actions.sweep(now=NOON_UTC + timedelta(hours=23, minutes=59)) == []
    assert actions.sweep(now=NOON_UTC + timedelta(hours=24)) == [third.pk]
    third.refresh_from_db()
    assert (third.status, third.reason) == (Message.Status.SENT, "")
    assert [m["email"]["Subject"] for m in smtp.messages] == ["Promo", "Promo", "Receipt", "Promo"]


def test_quiet_hours_still_apply_when_the_cap_allows_the_email(workspace, smtp):
    _, promo = make_template(workspace, "promo", simple_mjml("Promo"), "Promo")
    cap(workspace, 1, 2, quiet_hours_start=time(21), quiet_hours_end=time(8))
    ken = make_contact(workspace, "ken@example.jp", timezone="Asia/Tokyo")
    first_at = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)  # 20:00 in Tokyo
    assert send_now(workspace, promo, ken, "first", first_at)[0] == Message.Status.SENT
    status, second = send_now(workspace, promo, ken, "second", first_at + timedelta(minutes=30))
    assert status == Message.Status.DEFERRED

    frees_at = first_at + timedelta(hours=2)  # 22:00 in Tokyo: quiet hours
    assert actions.sweep(now=frees_at) == [second.pk]
    second.refresh_from_db()
    assert second.status == Message.Status.DEFERRED
    assert second.next_attempt_at == datetime(2026, 6, 1, 23, 0, tzinfo=UTC)  # 08:00 in Tokyo
    assert "Quiet hours" in second.reason
    assert len(smtp.messages) == 1

    actions.sweep(now=datetime(2026, 6, 1, 23, 0, tzinfo=UTC))
    second.refresh_from_db()
    assert second.status == Message.Status.SENT and len(smtp.messages) == 2


def test_a_journey_that_chooses_skip_drops_the_email_over_the_cap_with_the_reason(workspace, smtp):
    make_template(workspace, "promo", simple_mjml("Promo"), "Promo")
    cap(workspace, 1, 24)
    ada = make_contact(workspace)
    enrollment = enroll(workspace, ada, sending={"over_cap": "skip"})
    first = email_step(enrollment, "mail1", NOON_UTC)
    assert actions.send_message(first.pk, now=NOON_UTC) == Message.Status.SENT

    later = NOON_UTC + timedelta(hours=1)
    second = email_step(enrollment, "mail2", later)
    assert actions.send_message(second.pk, now=later) == Message.Status.SUPPRESSED
    second.refresh_from_db()
    assert second.reason == (
        "frequency_cap: 1 marketing email already sent in the last 24 hours; this journey skips emails over the cap."
    )
    assert second.next_attempt_at is None
    assert actions.sweep(now=NOON_UTC + timedelta(days=2)) == []  # skipped for good
    assert len(smtp.messages) == 1


def test_a_journey_that_leaves_the_choice_out_defers(workspace, smtp):
    make_template(workspace, "promo", simple_mjml("Promo"), "Promo")
    cap(workspace, 1, 24)
    enrollment = enroll(workspace, make_contact(workspace))
    assert actions.send_message(email_step(enrollment, "mail1", NOON_UTC).pk, now=NOON_UTC) == "sent"
    later = NOON_UTC + timedelta(hours=1)
    second = email_step(enrollment, "mail2", later)
    assert actions.send_message(second.pk, now=later) == Message.Status.DEFERRED
    second.refresh_from_db()
    assert second.next_attempt_at == NOON_UTC + timedelta(hours=24)


def test_an_email_the_cap_would_hold_past_the_max_deferral_is_skipped_with_the_reason(workspace, smtp):
    make_template(workspace, "promo", simple_mjml("Promo"), "Promo")
    cap(workspace, 1, 24)
    enrollment = enroll(workspace, make_contact(workspace), sending={"over_cap": "defer", "max_deferral": "P1D"})
    first = email_step(enrollment, "mail1", NOON_UTC)
    assert actions.send_message(first.pk, now=NOON_UTC) == Message.Status.SENT

    # two more an hour later: both wait for the window's end (23 hours, within a day)
    later = NOON_UTC + timedelta(hours=1)
    second, third = email_step(enrollment, "mail2", later), email_step(enrollment, "mail1", later, visit=2)
    assert [actions.send_message(m.pk, now=later) for m in (second, third)] == ["deferred", "deferred"]

    # at the window's end one goes; the other would now wait until a day after that: skipped
    assert sorted(actions.sweep(now=NOON_UTC + timedelta(hours=24))) == sorted([second.pk, third.pk])
    second.refresh_from_db(), third.refresh_from_db()
    assert second.status == Message.Status.SENT
    assert (third.status, third.reason) == (Message.Status.SUPPRESSED, "frequency_cap: deferred longer than 1 day")
    assert len(smtp.messages) == 2
