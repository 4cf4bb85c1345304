"""Journeys started by a saved segment (issue 13): through /api/ and /v1/, a contact that comes to
match a segment is a member at once and enters the journey triggered by entering it; one that stops
matching leaves the segment, and the journey's exit rule (exit_when_left) ends its trip. A journey
on "left" starts when a contact leaves. The trigger is checked at publish: no segment, an unknown
one or another workspace's is refused with the path of the bad part."""

from journeys.models import Enrollment, Journey, Segment, SegmentMembership

from .conftest import run_worker

PRO = {"field": "contact.traits.plan", "op": "eq", "value": "pro"}


def segment_via_api(client, name="Pro", rule=None):
    answer = client.post("/api/segments", {"name": name, "kind": "dynamic", "rule": rule or PRO}, format="json")
    assert answer.status_code == 201, answer.content
    return Segment.objects.get(pk=answer.json()["id"])


def journey_via_api(client, trigger, name="Pro onboarding"):
    definition = {
        "trigger": trigger,
        "entry": {"re_entry": "after_exit"},
        "exit_on": [],
        "nodes": [
            {"id": "wait", "type": "delay", "config": {"duration": "P3D"}},
            {"id": "mail", "type": "email", "config": {"template": "welcome"}},
        ],
        "edges": [{"from": "trigger", "to": "wait"}, {"from": "wait", "to": "mail"}],
    }
    created = client.post("/api/journeys", {"name": name, "definition": definition}, format="json")
    assert created.status_code == 201, created.content
    journey = created.json()
    answer = client.post(
        f"/api/journeys/{journey['id']}/publish", {"revision": journey["draft_revision"]}, format="json"
    )
    answer.journey_id = journey["id"]
    return answer


def published(answer):
    assert answer.status_code == 200, answer.content
    return Journey.objects.get(pk=answer.journey_id)


def open_member(segment, user_id):
    return SegmentMembership.objects.filter(segment=segment, contact__user_id=user_id, left_at__isnull=True).exists()


def test_a_contact_that_comes_to_match_enters_the_journey_and_leaves_it_when_it_stops(
    api, marketer, tracker, process, fake_email
):
    client = api(marketer)
    segment = segment_via_api(client)
    journey = published(
        journey_via_api(client, {"type": "segment", "segment": segment.pk, "on": "entered", "exit_when_left": True})
    )
    assert journey.trigger_type == "segment"

    tracker.post("identify", {"userId": "ann", "traits": {"plan": "free", "email": "ann@example.com"}})
    process()
    assert not Enrollment.objects.filter(journey=journey).exists()

    tracker.post("identify", {"userId": "ann", "traits": {"plan": "pro"}})
    process()  # the worker that processes the identify updates the membership and starts the journey
    assert open_member(segment, "ann")
    [trip] = Enrollment.objects.filter(journey=journey)
    assert trip.contact.user_id == "ann" and trip.status in ("active", "waiting")
    assert trip.context["trigger"]["name"] == "Segment Entered"
    assert trip.context["trigger"]["properties"] == {"segment": segment.pk, "name": "Pro"}
    run_worker()
    trip.refresh_from_db()
    assert (trip.status, trip.current_node) == ("waiting", "wait")

    tracker.post("identify", {"userId": "ann", "traits": {"plan": "free"}})
    process()
    assert not open_member(segment, "ann")
    trip.refresh_from_db()
    assert (trip.status, trip.exit_reason) == ("exited", "left_segment")
    assert fake_email.calls == []  # the email after the delay never goes

    tracker.post("identify", {"userId": "ann", "traits": {"plan": "pro"}})
    process()  # a second stay in the segment is a second trip
    assert Enrollment.objects.filter(journey=journey).count() == 2


def test_without_the_exit_rule_the_trip_goes_on_after_leaving(api, marketer, tracker, process, fake_email):
    client = api(marketer)
    segment = segment_via_api(client)
    journey = published(journey_via_api(client, {"type": "segment", "segment": segment.pk}))
    tracker.post("identify", {"userId": "bob", "traits": {"plan": "pro"}})
    process()
    tracker.post("identify", {"userId": "bob", "traits": {"plan": "free"}})
    process()
    trip = Enrollment.objects.get(journey=journey)
    assert trip.status in ("active", "waiting") and trip.exit_reason == ""


def test_a_journey_on_leaving_starts_when_a_contact_leaves(api, marketer, tracker, process, fake_email):
    client = api(marketer)
    segment = segment_via_api(client)
    journey = published(journey_via_api(client, {"type": "segment", "segment": segment.pk, "on": "left"}))
    tracker.post("identify", {"userId": "cy", "traits": {"plan": "pro"}})
    process()
    assert not Enrollment.objects.filter(journey=journey).exists()
    tracker.post("identify", {"userId": "cy", "traits": {"plan": "free"}})
    process()
    trip = Enrollment.objects.get(journey=journey)
    assert trip.context["trigger"]["name"] == "Segment Left"


def test_an_event_named_like_the_internal_key_starts_nothing(api, marketer, tracker, process, fake_email):
    client = api(marketer)
    segment = segment_via_api(client)
    journey = published(journey_via_api(client, {"type": "segment", "segment": segment.pk}))
    tracker.post("track", {"userId": "dee", "event": f"segment:{segment.pk}"})
    process()
    assert not Enrollment.objects.filter(journey=journey).exists()


def test_the_trigger_needs_a_segment_of_the_workspace(api, marketer, outsider, fake_email):
    client = api(marketer)
    theirs = segment_via_api(api(outsider), name="Theirs")
    for trigger, path in (
        ({"type": "segment"}, "trigger.segment"),
        ({"type": "segment", "segment": "pro"}, "trigger.segment"),
        ({"type": "segment", "segment": theirs.pk}, "trigger.segment"),
        ({"type": "segment", "segment": segment_via_api(client).pk, "on": "stays"}, "trigger.on"),
    ):
        answer = journey_via_api(client, trigger)
        assert answer.status_code == 400, (trigger, answer.content)
        assert path in answer.json()["fields"], answer.json()


def test_a_segment_a_journey_starts_from_cannot_be_deleted(api, marketer, fake_email):
    client = api(marketer)
    segment = segment_via_api(client)
    published(journey_via_api(client, {"type": "segment", "segment": segment.pk}, name="Pro onboarding"))
    answer = client.delete(f"/api/segments/{segment.pk}")
    assert answer.status_code == 409
    assert "“Pro onboarding” starts from this segment" in answer.json()["error"]
    assert Segment.objects.filter(pk=segment.pk).exists()
