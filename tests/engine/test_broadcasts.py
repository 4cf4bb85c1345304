"""Broadcasts: a template sent (or a journey entered) once to every member of a segment, through the
engine and delivery's batched path, in pages a worker enters; now, at a time, or at a time of day
in each contact's timezone; cancelled part-way; refused with the field at fault."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from delivery import actions
from delivery.models import Message
from journeys import broadcasts, clock, drafts, publishing, worker
from journeys.customers import segments
from journeys.models import Broadcast, Contact, Enrollment, Journey, Segment
from tests.delivery.conftest import make_template, simple_mjml
from tests.factories import make_member

NEWS = "Hello {{ contact.first_name }}, our spring sale starts now."


@pytest.fixture
def template(workspace):
    return make_template(workspace, slug="spring-sale", mjml=simple_mjml(NEWS), subject="Spring sale")


def people(workspace, count, label="p", **fields):
    return Contact.objects.bulk_create(
        Contact(workspace=workspace, user_id=f"{label}{n}", email=f"{label}{n}@example.com", **fields)
        for n in range(count)
    )


def static_list(workspace, contacts, name="Newsletter"):
    segment = Segment.objects.create(workspace=workspace, name=name, kind=Segment.Kind.STATIC)
    segments.add_members(segment, contacts, clock.now())
    return segment


def run_workers(rounds=50):
    """What the qcluster workers do, here: enter the running broadcasts' pages, advance the engine,
    send the outbox."""
    for _ in range(rounds):
        entered = sum(broadcasts.enter_page(pk) for pk in running())
        advanced = worker.advance_due()
        sent = actions.sweep()
        if not (entered or advanced or sent):
            return


def running():
    return list(Broadcast.objects.filter(status=Broadcast.Status.RUNNING).values_list("pk", flat=True))


def create(api, user, **body):
    answer = api(user).post("/api/broadcasts", body, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def start(api, user, broadcast):
    return api(user).post(f"/api/broadcasts/{broadcast['id']}/start", format="json")


def test_it_sends_a_template_to_a_static_list_once_each(workspace, marketer, api, template):
    segment = static_list(workspace, people(workspace, 7))
    broadcast = create(api, marketer, name="Spring", segment=segment.pk, template="spring-sale")
    assert broadcast["status"] == "draft" and broadcast["member_count"] == 7

    answer = start(api, marketer, broadcast)
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "running" and answer.json()["total"] == 7
    assert start(api, marketer, broadcast).status_code == 409  # a second click starts nothing more
    run_workers()

    row = Broadcast.objects.get(pk=broadcast["id"])
    assert (row.status, row.entered, row.skipped) == ("sent", 7, 0)
    messages = Message.objects.filter(journey_id=row.journey_id)
    assert messages.count() == 7 and set(messages.values_list("status", flat=True)) == {"sent"}
    assert len({m.contact_id for m in messages}) == 7
    assert len(mail.outbox) == 7 and {m.subject for m in mail.outbox} == {"Spring sale"}
    shown = api(marketer).get(f"/api/broadcasts/{row.pk}").json()
    assert shown["progress"] == 100.0 and shown["status"] == "sent"


def test_it_sends_to_a_dynamic_segment(workspace, marketer, api, template):
    people(workspace, 3, label="pro", traits={"plan": "pro"})
    people(workspace, 2, label="free", traits={"plan": "free"})
    rule = {"all": [{"field": "contact.traits.plan", "op": "eq", "value": "pro"}]}
    segment = segments.create_segment(
        workspace, marketer, {"name": "Pro", "kind": "dynamic", "rule": rule}, clock.now()
    )
    broadcast = create(api, marketer, name="Pro news", segment=segment.pk, template="spring-sale")
    assert start(api, marketer, broadcast).status_code == 200
    run_workers()
    assert sorted(m.to for m in mail.outbox) == [["pro0@example.com"], ["pro1@example.com"], ["pro2@example.com"]]


def test_running_the_pages_again_sends_nothing_twice(workspace, marketer, api, template, monkeypatch):
    monkeypatch.setattr(broadcasts, "PAGE", 2)
    segment = static_list(workspace, people(workspace, 5))
    broadcast = create(api, marketer, name="Twice", segment=segment.pk, template="spring-sale")
    start(api, marketer, broadcast)
    assert broadcasts.enter_page(broadcast["id"]) == 2
    # The queue runs the task again (at least once), and a worker lost the cursor: the trigger key
    # makes every repeat a no-op.
    Broadcast.objects.filter(pk=broadcast["id"]).update(after_contact=0)
    assert broadcasts.enter_page(broadcast["id"]) == 2
    run_workers()
    Broadcast.objects.filter(pk=broadcast["id"]).update(status="running", after_contact=0)
    run_workers()

    row = Broadcast.objects.get(pk=broadcast["id"])
    assert Enrollment.objects.filter(journey_id=row.journey_id).count() == 5
    assert Message.objects.filter(journey_id=row.journey_id).count() == 5
    assert len(mail.outbox) == 5
    assert row.skipped_reasons == {"duplicate_trigger": 7}  # the two repeats: 2 + 5


def test_a_time_of_day_waits_in_each_contacts_timezone(workspace, marketer, api, template):
    now = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # 08:00 in Berlin, 02:00 in New York
    with clock.frozen(now):
        berlin, new_york, nowhere = (
            Contact.objects.create(workspace=workspace, email=f"{n}@example.com", timezone=tz)
            for n, tz in (("berlin", "Europe/Berlin"), ("ny", "America/New_York"), ("nowhere", ""))
        )
        segment = static_list(workspace, [berlin, new_york, nowhere])
        broadcast = create(
            api,
            marketer,
            name="Morning",
            segment=segment.pk,
            template="spring-sale",
            schedule="local_time",
            local_time="09:00",
        )
        assert start(api, marketer, broadcast).status_code == 200
        run_workers()
        waiting = {e.contact_id: e.wake_at for e in Enrollment.objects.filter(journey__broadcasts=broadcast["id"])}
        assert waiting == {
            berlin.pk: datetime(2026, 6, 1, 7, 0, tzinfo=UTC),
            new_york.pk: datetime(2026, 6, 1, 13, 0, tzinfo=UTC),
            nowhere.pk: datetime(2026, 6, 1, 9, 0, tzinfo=UTC),  # no timezone: UTC
        }
        assert mail.outbox == []
        shown = api(marketer).get(f"/api/broadcasts/{broadcast['id']}").json()
        assert shown["status"] == "sent" and shown["can_cancel"] is True  # all entered; emails wait
    with clock.frozen(datetime(2026, 6, 1, 7, 0, 1, tzinfo=UTC)):
        run_workers()
    assert [m.to for m in mail.outbox] == [["berlin@example.com"]]
    with clock.frozen(datetime(2026, 6, 1, 13, 0, 1, tzinfo=UTC)):
        run_workers()
    assert len(mail.outbox) == 3


def test_cancel_stops_the_rest(workspace, marketer, api, template, monkeypatch):
    monkeypatch.setattr(broadcasts, "PAGE", 2)
    segment = static_list(workspace, people(workspace, 6))
    broadcast = create(api, marketer, name="Stop", segment=segment.pk, template="spring-sale")
    start(api, marketer, broadcast)
    broadcasts.enter_page(broadcast["id"])
    worker.advance_due()
    actions.sweep()
    answer = api(marketer).post(f"/api/broadcasts/{broadcast['id']}/cancel")
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    run_workers()
    assert broadcasts.enter_page(broadcast["id"]) == 0
    row = Broadcast.objects.get(pk=broadcast["id"])
    assert row.entered == 2 and len(mail.outbox) == 2
    assert api(marketer).post(f"/api/broadcasts/{row.pk}/cancel").status_code == 409


def test_an_empty_segment_is_refused_before_it_starts(workspace, marketer, api, template):
    segment = static_list(workspace, [], name="Nobody")
    broadcast = create(api, marketer, name="Void", segment=segment.pk, template="spring-sale")
    answer = start(api, marketer, broadcast)
    assert answer.status_code == 400
    assert answer.json()["error"] == "This segment has no members: nobody would receive it."
    assert answer.json()["fields"]["segment"] == ["This segment has no members: nobody would receive it."]
    row = Broadcast.objects.get(pk=broadcast["id"])
    assert row.status == "draft" and row.journey_id is None
    assert not Journey.objects.exists()


def test_a_viewer_reads_but_cannot_create_or_start(workspace, marketer, qa, api, template):
    segment = static_list(workspace, people(workspace, 2))
    broadcast = create(api, marketer, name="Roles", segment=segment.pk, template="spring-sale")
    assert api(qa).get("/api/broadcasts").json()["count"] == 1
    assert api(qa).post(f"/api/broadcasts/{broadcast['id']}/start").status_code == 403
    assert api(qa).post("/api/broadcasts", {"name": "x", "segment": segment.pk}, format="json").status_code == 403
    assert Broadcast.objects.get(pk=broadcast["id"]).status == "draft"


def test_another_workspaces_segment_or_broadcast_is_not_found(
    workspace, other_workspace, marketer, outsider, api, template
):
    theirs = static_list(other_workspace, people(other_workspace, 2, label="o"), name="Theirs")
    answer = api(marketer).post(
        "/api/broadcasts", {"name": "Steal", "segment": theirs.pk, "template": "spring-sale"}, format="json"
    )
    assert answer.status_code == 400 and answer.json()["fields"]["segment"] == ["There is no such segment."]
    mine = create(
        api, marketer, name="Mine", segment=static_list(workspace, people(workspace, 1)).pk, template="spring-sale"
    )
    assert api(outsider).get(f"/api/broadcasts/{mine['id']}").status_code == 404
    assert api(outsider).post(f"/api/broadcasts/{mine['id']}/start").status_code == 404


def test_bad_input_names_the_field(workspace, marketer, api, template):
    segment = static_list(workspace, people(workspace, 1))
    client = api(marketer)

    def refused(**body):
        answer = client.post("/api/broadcasts", {"name": "Bad", "segment": segment.pk, **body}, format="json")
        assert answer.status_code == 400, answer.json()
        return answer.json()["fields"]

    assert refused()["template"] == ["Choose the template to send."]
    assert refused(template="nope")["template"] == ["There is no published template “nope”."]
    assert "journey" in refused(kind="journey")
    past = (clock.now() - timedelta(hours=1)).isoformat()
    assert refused(template="spring-sale", schedule="at", send_at=past)["send_at"] == [
        "This time has passed: choose a time to come."
    ]
    assert "local_time" in refused(template="spring-sale", schedule="local_time", local_time="25:00")
    assert "segment" in refused(template="spring-sale", segment=999999)
    draft = drafts.create_journey(workspace, marketer, "Draft only", definition=None)
    assert refused(kind="journey", journey=draft.pk)["journey"] == [
        "“Draft only” is not live: publish or resume it first."
    ]


def test_it_enters_a_live_journey(workspace, marketer, api, template):
    journey = drafts.create_journey(
        workspace,
        marketer,
        "Welcome",
        definition={
            "trigger": {"type": "event", "event": "Signed Up"},
            "entry": {"re_entry": "once"},
            "nodes": [{"id": "hello", "type": "email", "config": {"template": "spring-sale"}}],
            "edges": [{"from": "trigger", "to": "hello"}],
        },
    )
    publishing.publish_journey(journey, marketer)
    segment = static_list(workspace, people(workspace, 3))
    broadcast = create(api, marketer, name="Into welcome", segment=segment.pk, kind="journey", journey=journey.pk)
    start(api, marketer, broadcast)
    run_workers()
    assert Enrollment.objects.filter(journey=journey, trigger_key=f"broadcast:{broadcast['id']}").count() == 3
    assert Message.objects.filter(journey_id=journey.pk, node_id="hello").count() == 3
    listed = [j["name"] for j in api(marketer).get("/api/journeys").json()["results"]]
    assert listed == ["Welcome"]


def test_a_scheduled_broadcast_starts_at_its_time_and_its_report_counts_the_sent(workspace, marketer, api, template):
    segment = static_list(workspace, people(workspace, 4))
    at = clock.now() + timedelta(hours=2)
    broadcast = create(
        api, marketer, name="Later", segment=segment.pk, template="spring-sale", schedule="at", send_at=at.isoformat()
    )
    assert start(api, marketer, broadcast).json()["status"] == "scheduled"
    broadcasts.start_due(clock.now())
    assert Broadcast.objects.get(pk=broadcast["id"]).status == "scheduled"
    with clock.frozen(at + timedelta(seconds=1)):
        broadcasts.start_due(clock.now())
        assert Broadcast.objects.get(pk=broadcast["id"]).status == "running"
        run_workers()
        row = Broadcast.objects.get(pk=broadcast["id"])
        assert row.status == "sent" and len(mail.outbox) == 4
        report = api(marketer).get(f"/api/journeys/{row.journey_id}/report").json()
    assert report["totals"]["entries"] == 4
    email = next(node for node in report["nodes"] if node["id"] == "email")
    assert email["email"]["sent"] == 4
    # The broadcast's own journey is not among the journeys.
    assert api(marketer).get("/api/journeys").json()["count"] == 0


def test_a_viewer_member_of_the_list_is_refused_a_cancel(workspace, marketer, api, template):
    viewer = make_member(workspace, "qa", email="viewer@acme.test")
    segment = static_list(workspace, people(workspace, 2))
    broadcast = create(api, marketer, name="Keep", segment=segment.pk, template="spring-sale")
    start(api, marketer, broadcast)
    assert api(viewer).post(f"/api/broadcasts/{broadcast['id']}/cancel").status_code == 403
    assert Broadcast.objects.get(pk=broadcast["id"]).status == "running"
