"""Segment's documented limits and error answers."""

import json

from journeys.models import Event


def test_invalid_json_is_a_400(tracker):
    response = tracker.post("track", raw=b"{not json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert "not valid JSON" in response.json()["error"]


def test_a_body_that_is_not_an_object_is_a_400(tracker):
    assert tracker.post("track", raw=b"[1, 2]").status_code == 400


def test_a_call_over_32_kb_is_a_400(tracker):
    body = {"userId": "u1", "event": "Big", "properties": {"blob": "x" * (32 * 1024)}}
    response = tracker.post("track", body)
    assert response.status_code == 400
    assert response.json()["code"] == "payload_too_large"
    assert not Event.objects.exists()


def test_a_gzipped_call_over_32_kb_once_inflated_is_a_400(tracker):
    body = {"userId": "u1", "event": "Big", "properties": {"blob": "x" * (40 * 1024)}}
    response = tracker.post("track", body, compress=True)
    assert response.status_code == 400
    assert response.json()["code"] == "payload_too_large"


def test_a_batch_over_500_kb_is_a_400(tracker):
    items = [{"type": "track", "userId": "u", "event": "E", "properties": {"p": "x" * 20000}} for _ in range(26)]
    response = tracker.post("batch", {"batch": items})
    assert response.status_code == 400
    assert response.json()["code"] == "payload_too_large"
    assert not Event.objects.exists()


def test_a_batch_of_more_than_2500_events_is_a_400(tracker):
    items = [{"type": "track", "userId": "u", "event": "E"} for _ in range(2501)]
    response = tracker.post("batch", {"batch": items})
    assert response.status_code == 400
    assert "2500" in response.json()["error"]


def test_a_batch_event_over_32_kb_is_rejected_and_the_others_stored(tracker):
    items = [
        {"type": "track", "userId": "u", "event": "Small", "messageId": "m1"},
        {"type": "track", "userId": "u", "event": "Big", "messageId": "m2", "properties": {"p": "x" * 33000}},
    ]
    response = tracker.post("batch", {"batch": items})
    assert response.status_code == 400
    assert response.json()["accepted"] == 1
    assert "batch[1]" in response.json()["fields"]
    assert list(Event.objects.values_list("message_id", flat=True)) == ["m1"]


def test_a_call_without_user_or_anonymous_id_is_a_400(tracker):
    response = tracker.post("track", {"event": "Anonymous?"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"userId": ["userId or anonymousId is required."]}


def test_track_needs_an_event_name(tracker):
    response = tracker.post("track", {"userId": "u1"})
    assert response.status_code == 400
    assert "event" in response.json()["fields"]


def test_group_needs_a_group_id(tracker):
    assert tracker.post("group", {"userId": "u1"}).json()["fields"] == {"groupId": ["groupId is required."]}


def test_alias_needs_previous_id_and_user_id(tracker):
    assert "previousId" in tracker.post("alias", {"userId": "u1"}).json()["fields"]
    assert "userId" in tracker.post("alias", {"previousId": "a1", "anonymousId": "a1"}).json()["fields"]


def test_a_message_id_over_100_characters_is_rejected(tracker):
    response = tracker.post("track", {"userId": "u1", "event": "E", "messageId": "m" * 101})
    assert response.status_code == 400
    assert "messageId" in response.json()["fields"]
    assert tracker.post("track", {"userId": "u1", "event": "E", "messageId": "m" * 100}).status_code == 200


def test_a_batch_item_needs_a_type(tracker):
    response = tracker.post("batch", {"batch": [{"userId": "u1", "event": "E"}]})
    assert response.status_code == 400
    assert "batch[0].type" in response.json()["fields"]


def test_a_bad_timestamp_is_a_400(tracker):
    response = tracker.post("track", {"userId": "u1", "event": "E", "timestamp": "yesterday"})
    assert response.status_code == 400
    assert "timestamp" in response.json()["fields"]


def test_only_post_is_allowed(tracker):
    response = tracker.client.get("/v1/track")
    assert response.status_code == 405
    assert json.loads(response.content)["code"] == "method_not_allowed"


def test_nan_and_infinity_are_not_json(tracker):
    response = tracker.post("track", raw=b'{"userId": "u1", "event": "E", "properties": {"x": NaN}}')
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_the_server_refuses_an_oversized_body_without_reading_it_all(live_app, write_key):
    import http.client
    from base64 import b64encode

    conn = http.client.HTTPConnection(live_app.host, live_app.port, timeout=10)
    auth = "Basic " + b64encode(f"{write_key}:".encode()).decode()
    conn.request("POST", "/v1/track", b"x" * (64 * 1024), {"Content-Type": "application/json", "Authorization": auth})
    response = conn.getresponse()
    assert response.status == 400
    assert b"payload_too_large" in response.read()
    assert not Event.objects.exists()
