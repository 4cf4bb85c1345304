from journeys.models import Event
from tests.factories import make_write_key


def test_it_answers_429_with_retry_after_over_the_key_s_limit(tracker, settings):
    settings.INGEST_RATE_LIMIT = 1  # events per second,
    settings.INGEST_RATE_WINDOW = 3600  # so 3,600 events in this window
    items = [{"type": "track", "userId": "u", "event": "E"} for _ in range(2000)]  # messageIds assigned
    assert tracker.post("batch", {"batch": items}).status_code == 200
    assert tracker.post("batch", {"batch": items[:1500]}).status_code == 200
    response = tracker.post("batch", {"batch": items[:200]})
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert Event.objects.count() == 3500


def test_the_limit_is_per_write_key(tracker, workspace, settings):
    settings.INGEST_RATE_LIMIT = 1
    settings.INGEST_RATE_WINDOW = 5
    tracker.post("batch", {"batch": [{"type": "track", "userId": "u", "event": "E"}] * 5})
    assert tracker.post("track", {"userId": "u", "event": "E"}).status_code == 429
    other = make_write_key(workspace, "second key")
    assert tracker.post("track", {"userId": "u", "event": "E"}, key=other).status_code == 200
