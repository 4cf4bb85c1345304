"""Inactivity and date_attribute triggers, checked by the periodic sweep; merged contacts."""

from datetime import UTC, datetime, timedelta

from journeys import clock, lifecycle, triggers
from journeys.models import Enrollment

from .conftest import definition, enrollment_of, make_contact, publish, run_worker, track

NOW = datetime(2025, 6, 16, 10, 0, tzinfo=UTC)


def test_contacts_inactive_for_the_duration_enter_once_per_inactive_period(workspace, fake_email):
    flow = definition(
        ("mail", "email", {"template": "win-back"}),
        edges=[("trigger", "mail")],
        trigger={"type": "inactivity", "duration": "P30D"},
    )
    with clock.frozen(NOW):
        journey = publish(workspace, flow)
        idle = make_contact(workspace, last_activity_at=NOW - timedelta(days=31))
        busy = make_contact(workspace, last_activity_at=NOW - timedelta(days=2))
        assert triggers.sweep_triggers() == 1
        run_worker()
        assert triggers.sweep_triggers() == 0  # the same inactive period: not again
    assert enrollment_of(journey, busy) is None
    assert fake_email.sent_to(enrollment_of(journey, idle)) == [("mail", 1)]
    # active again, then inactive again: a new period, a new entry
    idle.last_activity_at = NOW + timedelta(days=1)
    idle.save()
    with clock.frozen(NOW + timedelta(days=32)):
        assert triggers.sweep_triggers() == 2  # idle's second period, and busy is now idle too
    assert Enrollment.objects.filter(journey=journey, contact=idle).count() == 2
    assert Enrollment.objects.filter(journey=journey, contact=busy).count() == 1


def test_a_date_attribute_trigger_enters_contacts_on_their_date_in_their_timezone(workspace, fake_email):
    flow = definition(
        ("mail", "email", {"template": "welcome"}),
        edges=[("trigger", "mail")],
        trigger={"type": "date_attribute", "attribute": "contact.traits.renewal", "offset": "-P7D", "time": "09:00"},
    )
    journey = publish(workspace, flow)
    berlin = make_contact(workspace, timezone="Europe/Berlin", traits={"renewal": "2025-06-23"})
    tokyo = make_contact(workspace, timezone="Asia/Tokyo", traits={"renewal": "2025-06-23"})
    later = make_contact(workspace, traits={"renewal": "2025-12-01"})
    nodate = make_contact(workspace, traits={})
    # 09:00 on 16 June is 07:00 UTC in Berlin and 00:00 UTC in Tokyo
    with clock.frozen(datetime(2025, 6, 16, 6, 0, tzinfo=UTC)):
        assert triggers.sweep_triggers() == 1
        assert enrollment_of(journey, tokyo) is not None and enrollment_of(journey, berlin) is None
    with clock.frozen(datetime(2025, 6, 16, 7, 0, tzinfo=UTC)):
        assert triggers.sweep_triggers() == 1
        assert triggers.sweep_triggers() == 0
    assert enrollment_of(journey, berlin) is not None
    assert enrollment_of(journey, later) is None and enrollment_of(journey, nodate) is None


def test_a_yearly_date_trigger_fires_each_birthday(workspace, fake_email):
    flow = definition(
        ("mail", "email", {"template": "welcome"}),
        edges=[("trigger", "mail")],
        trigger={"type": "date_attribute", "attribute": "contact.traits.birthday", "yearly": True, "time": "08:00"},
    )
    journey = publish(workspace, flow)
    contact = make_contact(workspace, traits={"birthday": "1990-06-16"})
    with clock.frozen(datetime(2025, 6, 16, 9, 0, tzinfo=UTC)):
        assert triggers.sweep_triggers() == 1
        run_worker()
    with clock.frozen(datetime(2026, 6, 16, 9, 0, tzinfo=UTC)):
        assert triggers.sweep_triggers() == 1
    assert Enrollment.objects.filter(journey=journey, contact=contact).count() == 2


def test_a_merged_contacts_enrollment_continues_as_the_survivor(workspace, fake_email):
    flow = definition(("d", "delay", {"duration": "P1D"}), edges=[("trigger", "d")])
    journey = publish(workspace, flow)
    loser, survivor = make_contact(workspace), make_contact(workspace)
    track(loser, "Signed Up")
    run_worker()
    lifecycle.contact_merged(loser=loser, survivor=survivor)
    assert enrollment_of(journey, survivor).status == Enrollment.Status.WAITING
    assert enrollment_of(journey, loser) is None


def test_when_both_were_in_the_journey_the_losers_enrollment_ends(workspace, fake_email):
    flow = definition(("d", "delay", {"duration": "P1D"}), edges=[("trigger", "d")])
    journey = publish(workspace, flow)
    loser, survivor = make_contact(workspace), make_contact(workspace)
    track(loser, "Signed Up")
    track(survivor, "Signed Up")
    run_worker()
    lifecycle.contact_merged(loser=loser, survivor=survivor)
    ended = enrollment_of(journey, loser)
    assert (ended.status, ended.exit_reason) == (Enrollment.Status.EXITED, "contact_merged")
