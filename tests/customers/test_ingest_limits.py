"""Segment's documented limits and error answers."""

import json

import pytest

from journeys.models import Event
from tests.factories import basic


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


# -- Crafted input: a 400 naming the field, never a 500 (Segment's libraries retry a 5xx for ever) --

DEEP = 10_000


def deep_properties(levels=DEEP):
    return b'{"userId": "u1", "event": "Deep", "properties": {"a": ' + b"[" * levels + b"]" * levels + b"}}"


def test_json_nested_10000_deep_is_a_400_naming_the_field(tracker):
    response = tracker.post("track", raw=deep_properties())
    assert response.status_code == 400
    assert response.json()["code"] == "too_deep"
    assert list(response.json()["fields"]) == ["properties"]
    assert not Event.objects.exists()


def test_a_batch_nested_too_deep_names_the_item(tracker):
    item = b'{"type": "track", "userId": "u1", "event": "Deep", "properties": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    body = b'{"batch": [{"type": "track", "userId": "u1", "event": "Fine"}, ' + item + b"]}"
    response = tracker.post("batch", raw=body)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["batch[1].properties"]


def test_nesting_within_the_limit_is_stored(tracker):
    # 61 levels under the body's object and `properties`: 63 in all, the limit is 64.
    assert tracker.post("track", raw=deep_properties(61)).status_code == 200
    assert Event.objects.count() == 1


def test_the_write_key_is_checked_before_a_deep_body_is_parsed(tracker):
    response = tracker.post("track", raw=deep_properties(), key="wk_unknown")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_write_key"


def test_the_lean_asgi_path_answers_deep_json_with_a_400(live_app, write_key):
    import http.client
    from base64 import b64encode

    conn = http.client.HTTPConnection(live_app.host, live_app.port, timeout=10)
    auth = "Basic " + b64encode(f"{write_key}:".encode()).decode()
    conn.request("POST", "/v1/track", deep_properties(), {"Content-Type": "application/json", "Authorization": auth})
    response = conn.getresponse()
    assert response.status == 400
    assert list(json.loads(response.read())["fields"]) == ["properties"]
    assert not Event.objects.exists()


def test_a_number_too_large_to_store_is_a_400_naming_the_field(tracker):
    response = tracker.post("track", raw=b'{"userId": "u1", "event": "E", "properties": {"total": 1e999}}')
    assert response.status_code == 400
    assert response.json()["fields"] == {"properties": ["properties.total is a number too large to store."]}
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"userId": "u\\ud800", "event": "E"}', "userId"),
        (b'{"userId": "u\\u0000", "event": "E"}', "userId"),
        (b'{"userId": "u1", "event": "E\\udfff"}', "event"),
        (b'{"userId": "u1", "event": "E", "properties": {"note": "a\\u0000b"}}', "properties"),
        (b'{"userId": "u1", "event": "E", "properties": {"\\ud834": 1}}', "properties"),
        (b'{"userId": "u1", "event": "E", "context": {"page": {"title": "\\udc00"}}}', "context"),
    ],
)
def test_text_no_database_stores_is_a_400_naming_the_field(tracker, body, field):
    response = tracker.post("track", raw=body)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert not Event.objects.exists()


def test_an_emoji_written_as_a_surrogate_pair_is_stored(tracker):
    body = b'{"userId": "u1", "event": "E", "properties": {"x": "\\ud83d\\ude00"}}'
    assert tracker.post("track", raw=body).status_code == 200
    assert Event.objects.get().properties == {"x": "\N{GRINNING FACE}"}


def test_in_a_batch_only_the_unstorable_event_is_refused(tracker):
    body = (
        b'{"batch": [{"type": "track", "userId": "u1", "event": "A", "messageId": "m1"},'
        b' {"type": "track", "userId": "u1", "event": "B", "messageId": "m2", "properties": {"x": 1e999}}]}'
    )
    response = tracker.post("batch", raw=body)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["batch[1].properties"]
    assert list(Event.objects.values_list("message_id", flat=True)) == ["m1"]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (b'"properties": {"note": "a\\u0000b"}', "properties"),
        (b'"properties": {"\\ud834": 1}', "properties"),
        (b'"context": {"page": {"title": "\\udc00"}}', "context"),
        (b'"traits": {"n": -1e999}', "traits"),
        (b'"extra": {"x": "\\u0000"}', "extra"),
    ],
)
@pytest.mark.parametrize("value", [b'"\\ud83d\\ude00"', b'"plain"'])
def test_a_batch_is_checked_once_as_a_whole_yet_refuses_just_the_unstorable_event(tracker, bad, field, value):
    """A batch whose JSON shows no NUL, surrogate or infinity skips the check per value; one
    that may hold them (an emoji is written as a surrogate pair too) has each event checked."""
    good = b'{"type": "track", "userId": "u1", "event": "A", "messageId": "m%d", "properties": {"x": %s}}'
    body = b'{"batch": [' + good % (1, value) + b', {"type": "track", "userId": "u1", "event": "B", '
    body += b'"messageId": "m2", ' + bad + b"}, " + good % (3, value) + b"]}"
    response = tracker.post("batch", raw=body)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [f"batch[1].{field}"]
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m1", "m3"]
    assert Event.objects.get(message_id="m1").properties == {"x": json.loads(value)}


def test_a_write_key_in_the_body_that_is_not_text_is_a_401(tracker):
    response = tracker.post("track", raw=b'{"writeKey": "\\ud800", "userId": "u1", "event": "E"}', key=None)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b'{"userId": "u1", "event": {"name": "E"}}',
        b'{"userId": ["u1"], "event": "E"}',
        b'{"userId": "u1", "event": "E", "properties": [1, 2]}',
        b'{"userId": "u1", "event": "E", "timestamp": 1e300}',
        b'{"userId": "u1", "event": "E", "timestamp": {}}',
        b'{"userId": 1e999, "event": "E"}',
    ],
)
def test_values_of_the_wrong_kind_are_a_400(tracker, body):
    assert tracker.post("track", raw=body).status_code == 400


def test_a_gzip_bomb_is_refused_without_inflating_it(tracker):
    import gzip

    bomb = gzip.compress(b'{"userId": "u1", "event": "E", "properties": {"x": "' + b"a" * (64 * 1024 * 1024) + b'"}}')
    response = tracker.client.generic(
        "POST",
        "/v1/track",
        bomb,
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(tracker.key),
        HTTP_CONTENT_ENCODING="gzip",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "payload_too_large"
