"""The write key: Basic-auth user name with an empty password, or writeKey in the body."""

import pytest

from accounts import actions
from accounts.models import WriteKey
from journeys.models import Event
from tests.factories import make_write_key


def test_a_missing_key_is_a_401(tracker):
    response = tracker.post("track", {"userId": "u1", "event": "E"}, key=None)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_write_key"
    assert not Event.objects.exists()


def test_an_unknown_key_is_a_401(tracker):
    assert tracker.post("track", {"userId": "u1", "event": "E"}, key="wk_unknown").status_code == 401


def test_the_key_may_come_in_the_body(tracker, write_key, workspace):
    response = tracker.post("track", {"userId": "u1", "event": "E", "writeKey": write_key}, key=None)
    assert response.status_code == 200
    assert Event.objects.get().workspace == workspace


def test_a_revoked_key_is_a_401_at_once(tracker, write_key):
    assert tracker.post("track", {"userId": "u1", "event": "E"}).status_code == 200
    key = WriteKey.objects.get()
    actions.revoke_write_key(key, None)
    assert tracker.post("track", {"userId": "u1", "event": "E"}).status_code == 401


def test_events_land_in_the_key_s_workspace(tracker, workspace, other_workspace):
    other_key = make_write_key(other_workspace)
    tracker.post("track", {"userId": "u1", "event": "Mine"})
    tracker.post("track", {"userId": "u1", "event": "Theirs"}, key=other_key)
    assert Event.objects.get(name="Mine").workspace == workspace
    assert Event.objects.get(name="Theirs").workspace == other_workspace


@pytest.mark.parametrize("header", ["Bearer abc", "Basic !!!", "Basic "])
def test_a_malformed_authorization_header_is_a_401(tracker, header):
    response = tracker.client.generic(
        "POST", "/v1/track", b'{"userId":"u","event":"E"}', content_type="application/json", HTTP_AUTHORIZATION=header
    )
    assert response.status_code == 401
