"""Send-time optimization (issue 14): each contact's hour of the week, shrunk toward the
workspace's when it has few opens; the best hour within a window in the contact's timezone,
outside quiet hours; an email node that waits for it; a broadcast that uses it; a fit that counts
human opens and clicks only."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from delivery.models import Message, MessageEvent, SendingSettings
from journeys import broadcasts, clock
from journeys.engine import definition as validation
from journeys.models import Broadcast, ContactPrediction, Enrollment, PredictionFit, Segment
from journeys.predictions import sendtime
from tests.delivery.conftest import make_template, simple_mjml
from tests.engine.conftest import definition, enrollment_of, make_contact, publish, run_worker
from tests.engine.conftest import steps as steps_of

NEW_YORK = ZoneInfo("America/New_York")
TUESDAY_19 = 1 * 24 + 19  # hour of the week of Tuesday 19:00
UNIFORM = [1 / 168] * 168


@pytest.fixture(autouse=True)
def fresh_patterns(settings):
    settings.JOURNEYS_KICKS = "off"  # the tests run the workers themselves
    sendtime._CACHE.clear()
    yield
    sendtime._CACHE.clear()


def peaked(hour, mass=0.5):
    """A workspace distribution with `mass` on one hour and the rest spread evenly."""
    rest = (1 - mass) / 167
    return [mass if h == hour else rest for h in range(168)]


# -- the pure functions --------------------------------------------------------------------------


def test_it_counts_the_hour_of_the_week_on_the_contacts_own_clock():
    at = datetime(2026, 6, 2, 23, 30, tzinfo=UTC)  # Tuesday 23:30 UTC = Tuesday 19:30 in New York
    assert sendtime.hour_of_week(at, NEW_YORK) == TUESDAY_19
    assert sendtime.hour_of_week(at, "UTC") == 24 + 23
    assert sendtime.hour_of_week(at, "") == 24 + 23  # no zone: UTC
    assert sendtime.hour_of_week(datetime(2026, 6, 7, 23, 0, tzinfo=UTC), "UTC") == 167  # Sunday 23:00


def test_a_contact_with_few_events_follows_the_workspace():
    workspace = peaked(10)
    result = sendtime.posterior({str(TUESDAY_19): 1}, workspace, strength=8)
    assert abs(sum(result) - 1) < 1e-9
    assert max(range(168), key=result.__getitem__) == 10
    assert sendtime.posterior({}, workspace) == pytest.approx(workspace)


def test_a_contact_with_many_events_follows_its_own_pattern():
    workspace = peaked(10)
    result = sendtime.posterior({str(TUESDAY_19): 40, "10": 2}, workspace, strength=8)
    assert max(range(168), key=result.__getitem__) == TUESDAY_19
    assert result[TUESDAY_19] == pytest.approx((40 + 8 * workspace[TUESDAY_19]) / 50)


def test_the_best_time_is_the_start_of_the_best_hour_within_the_window_in_the_contacts_zone():
    now = datetime(2026, 6, 2, 8, 0, tzinfo=NEW_YORK)  # Tuesday 08:00 in New York
    posterior = sendtime.posterior({str(TUESDAY_19): 20}, UNIFORM)
    assert sendtime.best_time(now, timedelta(hours=24), posterior, NEW_YORK) == datetime(
        2026, 6, 2, 19, 0, tzinfo=NEW_YORK
    )
    # The same counts read in UTC: 19:00 UTC is 15:00 in New York.
    assert sendtime.best_time(now.astimezone(UTC), timedelta(hours=24), posterior, "UTC") == datetime(
        2026, 6, 2, 19, 0, tzinfo=UTC
    )


def test_the_best_time_stays_inside_the_window_and_now_can_be_best():
    now = datetime(2026, 6, 2, 8, 20, tzinfo=NEW_YORK)
    posterior = sendtime.posterior({str(TUESDAY_19): 20, str(24 + 8): 5}, UNIFORM)
    # 19:00 is 10 h 40 min away: outside a 6-hour window, so the next best is the current hour, at once.
    assert sendtime.best_time(now, timedelta(hours=6), posterior, NEW_YORK) == now
    assert sendtime.best_time(now, timedelta(hours=12), posterior, NEW_YORK).hour == 19


def test_the_best_time_skips_what_the_allowed_filter_refuses():
    now = datetime(2026, 6, 2, 8, 0, tzinfo=NEW_YORK)
    posterior = sendtime.posterior({str(TUESDAY_19): 20, str(24 + 12): 5}, UNIFORM)
    quiet = sendtime.outside_quiet_hours(time(18, 0), time(9, 0), NEW_YORK)
    chosen = sendtime.best_time(now, timedelta(hours=24), posterior, NEW_YORK, allowed=quiet)
    assert chosen == datetime(2026, 6, 2, 12, 0, tzinfo=NEW_YORK)
    assert sendtime.best_time(now, timedelta(hours=24), posterior, NEW_YORK, allowed=lambda at: False) is None


def test_the_best_time_steps_real_hours_across_a_dst_change():
    now = datetime(2026, 3, 8, 0, 30, tzinfo=NEW_YORK)  # Sunday; 02:00 does not exist that night
    posterior = sendtime.posterior({str(6 * 24 + 3): 20}, UNIFORM)
    chosen = sendtime.best_time(now, timedelta(hours=6), posterior, NEW_YORK)
    elapsed = chosen.astimezone(UTC) - now.astimezone(UTC)  # real time, not wall-clock time
    assert chosen.astimezone(NEW_YORK).hour == 3 and elapsed == timedelta(hours=1, minutes=30)


# -- validation ----------------------------------------------------------------------------------


def email_definition(send_time):
    return definition(("mail", "email", {"template": "welcome", "send_time": send_time}), edges=[("trigger", "mail")])


@pytest.mark.parametrize("within", ["PT30M", "P8D", "PT0S", "tomorrow"])
def test_a_window_outside_one_hour_to_seven_days_is_refused_on_its_field(within):
    problems = validation.validate_definition(email_definition({"mode": "best", "within": within}))
    paths = [p.path for p in problems]
    assert paths == ["nodes.mail.config.send_time.within"], problems
    assert problems[0].node == "mail" and problems[0].field == "config.send_time.within"


def test_a_valid_window_and_an_unknown_mode():
    assert validation.validate_definition(email_definition({"mode": "best", "within": "PT24H"})) == []
    assert validation.validate_definition(email_definition({"mode": "best", "within": "P7D"})) == []
    assert validation.validate_definition(email_definition({"mode": "now"})) == []
    problems = validation.validate_definition(email_definition({"mode": "later"}))
    assert [p.path for p in problems] == ["nodes.mail.config.send_time.mode"]


# -- the engine ----------------------------------------------------------------------------------


def fitted(workspace, hours=UNIFORM):
    return PredictionFit.objects.create(
        workspace=workspace,
        kind=PredictionFit.Kind.SEND_TIME,
        status=PredictionFit.Status.DONE,
        params={"hours": hours},
    )


def test_an_email_at_the_best_time_waits_for_the_contacts_evening_then_sends(workspace, fake_email):
    from tests.engine.conftest import track

    fitted(workspace)
    journey = publish(workspace, email_definition({"mode": "best", "within": "PT24H"}))
    contact = make_contact(workspace, timezone="America/New_York")
    ContactPrediction.objects.create(workspace=workspace, contact=contact, engagement_hours={str(TUESDAY_19): 12})
    entered = datetime(2026, 6, 2, 8, 0, tzinfo=NEW_YORK)
    evening = datetime(2026, 6, 2, 19, 0, tzinfo=NEW_YORK)
    with clock.frozen(entered):
        track(contact, "Signed Up")
        run_worker()
    enrollment = enrollment_of(journey, contact)
    assert enrollment.status == Enrollment.Status.WAITING and enrollment.wake_at == evening
    assert fake_email.calls == []
    with clock.frozen(evening - timedelta(minutes=1)):
        run_worker()
    assert fake_email.calls == []
    with clock.frozen(evening + timedelta(seconds=1)):
        run_worker()
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert fake_email.sent_to(enrollment) == [("mail", 1)]
    assert steps_of(enrollment) == [("mail", "waiting"), ("mail", "sent")]


def test_without_a_send_time_fit_the_email_goes_at_once(workspace, fake_email):
    from tests.engine.conftest import track

    journey = publish(workspace, email_definition({"mode": "best", "within": "PT24H"}))
    contact = make_contact(workspace, timezone="America/New_York")
    with clock.frozen(datetime(2026, 6, 2, 8, 0, tzinfo=NEW_YORK)):
        track(contact, "Signed Up")
        run_worker()
    assert fake_email.sent_to(enrollment_of(journey, contact)) == [("mail", 1)]


def test_the_chosen_hour_avoids_the_workspaces_quiet_hours(workspace):
    fitted(workspace)
    SendingSettings.objects.create(workspace=workspace, quiet_hours_start=time(18, 0), quiet_hours_end=time(8, 0))
    contact = make_contact(workspace, timezone="America/New_York")
    ContactPrediction.objects.create(
        workspace=workspace, contact=contact, engagement_hours={str(TUESDAY_19): 30, str(24 + 17): 10}
    )
    chosen = sendtime.best_time_for(contact, datetime(2026, 6, 2, 8, 0, tzinfo=NEW_YORK), timedelta(hours=24))
    assert chosen == datetime(2026, 6, 2, 17, 0, tzinfo=NEW_YORK)


# -- the fit -------------------------------------------------------------------------------------


def test_the_fit_counts_human_opens_and_clicks_in_the_contacts_zone(workspace):
    _template, version = make_template(workspace, slug="news", mjml=simple_mjml("Hi"))
    evening = make_contact(workspace, timezone="America/New_York")
    others = [make_contact(workspace) for _ in range(5)]
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)

    def engage(contact, at, kind="open", detail=None):
        message = Message.objects.create(
            workspace=workspace,
            contact=contact,
            to_email=contact.email,
            template_version=version,
            idempotency_key=f"test-{contact.pk}-{at.isoformat()}-{kind}",
            status=Message.Status.SENT,
        )
        MessageEvent.objects.create(workspace=workspace, message=message, kind=kind, at=at, detail=detail or {})

    for week in range(6):  # Tuesdays 19:xx in New York (23:xx UTC)
        engage(evening, datetime(2026, 4, 28, 23, 10, tzinfo=UTC) + timedelta(weeks=week))
        engage(evening, datetime(2026, 4, 28, 23, 40, tzinfo=UTC) + timedelta(weeks=week), kind="click")
        engage(evening, datetime(2026, 4, 27, 3, 0, tzinfo=UTC) + timedelta(weeks=week), detail={"machine": True})
    for n, contact in enumerate(others):  # Mondays 10:00 UTC
        for week in range(10):
            engage(contact, datetime(2026, 3, 2, 10, n, tzinfo=UTC) + timedelta(weeks=week))

    fit = sendtime.fit_workspace(workspace.pk, now=now)

    assert fit.status == PredictionFit.Status.DONE, fit.message
    assert fit.quality["events"] == 62 and len(fit.params["hours"]) == 168
    assert max(range(168), key=fit.params["hours"].__getitem__) == 10  # Monday 10:00
    prediction = ContactPrediction.objects.get(contact=evening)
    assert prediction.engagement_hours == {str(TUESDAY_19): 12} and prediction.send_time_fitted_at == now


def test_the_fit_refuses_a_workspace_with_too_few_opens(workspace):
    fit = sendtime.fit_workspace(workspace.pk, now=datetime(2026, 6, 10, tzinfo=UTC))
    assert fit.status == PredictionFit.Status.REFUSED
    assert "at least 50" in fit.message


# -- the broadcast -------------------------------------------------------------------------------


def test_a_best_time_broadcast_sends_through_an_email_node_at_the_best_time(workspace):
    broadcast = Broadcast(workspace=workspace, name="News", template="news", schedule=Broadcast.Schedule.BEST_TIME)
    built = broadcasts.own_definition(broadcast)
    email = next(node for node in built["nodes"] if node["type"] == "email")
    assert email["config"] == {"template": "news", "send_time": {"mode": "best", "within": "PT24H"}}
    assert built["edges"][0] == {"from": "trigger", "to": "email"}
    assert validation.validate_definition(built) == []


def test_a_best_time_broadcast_is_only_for_templates(workspace):
    broadcast = Broadcast(workspace=workspace, name="News", kind=Broadcast.Kind.JOURNEY, schedule="best_time")
    assert "schedule" in broadcasts.problems(broadcast, clock.now())


def test_a_best_time_broadcast_goes_out_at_each_contacts_hour_and_the_cap_still_holds(workspace, api, marketer):
    from django.core import mail

    from delivery import actions
    from journeys.customers import segments

    _template, version = make_template(workspace, slug="news", mjml=simple_mjml("Hi"), subject="News")
    actions.update_sending_settings(workspace, None, {"frequency_cap": 1, "frequency_window_hours": 24})
    fitted(workspace)
    morning = datetime(2026, 6, 2, 8, 0, tzinfo=NEW_YORK)
    evening = datetime(2026, 6, 2, 19, 0, tzinfo=NEW_YORK)
    with clock.frozen(morning):
        reader, capped = (make_contact(workspace, timezone="America/New_York") for _ in range(2))
        for contact in (reader, capped):
            ContactPrediction.objects.create(
                workspace=workspace, contact=contact, engagement_hours={str(TUESDAY_19): 9}
            )
        # `capped` already got a marketing email today: the cap (1 a day) holds its broadcast back.
        Message.objects.create(
            workspace=workspace,
            contact=capped,
            to_email=capped.email,
            template_version=version,
            idempotency_key="earlier",
            status=Message.Status.SENT,
            handed_off_at=evening - timedelta(hours=2),
            sent_at=evening - timedelta(hours=2),
        )
        segment = Segment.objects.create(workspace=workspace, name="Readers", kind=Segment.Kind.STATIC)
        segments.add_members(segment, [reader, capped], clock.now())
        body = {"name": "News", "segment": segment.pk, "template": "news", "schedule": "best_time"}
        created = api(marketer).post("/api/broadcasts", body, format="json")
        assert created.status_code == 201, created.json()
        assert api(marketer).post(f"/api/broadcasts/{created.json()['id']}/start", format="json").status_code == 200
        drain()
    assert mail.outbox == []
    with clock.frozen(evening + timedelta(seconds=1)):
        drain()
    assert [m.to for m in mail.outbox] == [[reader.email]]
    held = Message.objects.get(contact=capped, journey_id__isnull=False)
    assert held.status == Message.Status.DEFERRED and held.reason.startswith("frequency_cap")


def drain(rounds=20):
    from delivery import actions
    from journeys import worker

    for _ in range(rounds):
        pages = Broadcast.objects.filter(status=Broadcast.Status.RUNNING).values_list("pk", flat=True)
        entered = sum(broadcasts.enter_page(pk) for pk in list(pages))
        if not (entered or worker.advance_due() or actions.sweep()):
            return
