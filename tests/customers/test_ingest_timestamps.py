"""The four Segment timestamps and clock-skew correction."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from journeys.customers import ingest
from journeys.models import Event

RECEIVED = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_it_corrects_client_clock_skew_like_segment():
    # The device clock is 2 hours fast: it says it sent at 14:00:05 an event of 14:00:00.
    original = datetime(2025, 3, 1, 14, 0, 0, tzinfo=UTC)
    sent = datetime(2025, 3, 1, 14, 0, 5, tzinfo=UTC)
    assert ingest.corrected_timestamp(original, sent, RECEIVED) == RECEIVED - timedelta(seconds=5)


def test_without_sent_at_the_client_time_is_kept_for_historical_imports():
    original = datetime(2024, 1, 1, tzinfo=UTC)
    assert ingest.corrected_timestamp(original, None, RECEIVED) == original


def test_without_any_time_it_is_the_receiving_time():
    assert ingest.corrected_timestamp(None, None, RECEIVED) == RECEIVED


def test_a_future_timestamp_is_clamped_to_the_receiving_time():
    future = RECEIVED + timedelta(days=3)
    assert ingest.corrected_timestamp(future, None, RECEIVED) == RECEIVED


def test_it_stores_all_four_timestamps(tracker):
    before = timezone.now()
    tracker.post(
        "track",
        {
            "userId": "u1",
            "event": "E",
            "timestamp": "2020-05-01T10:00:00.000Z",
            "sentAt": "2020-05-01T10:00:30.000Z",
        },
    )
    event = Event.objects.get()
    assert event.original_timestamp == datetime(2020, 5, 1, 10, 0, tzinfo=UTC)
    assert event.sent_at == datetime(2020, 5, 1, 10, 0, 30, tzinfo=UTC)
    assert event.received_at >= before
    assert event.timestamp == event.received_at - timedelta(seconds=30)


def test_a_batch_s_sent_at_applies_to_its_events(tracker):
    tracker.post(
        "batch",
        {
            "sentAt": "2030-01-01T00:01:00Z",
            "batch": [{"type": "track", "userId": "u1", "event": "E", "timestamp": "2030-01-01T00:00:00Z"}],
        },
    )
    event = Event.objects.get()
    assert event.timestamp == event.received_at - timedelta(minutes=1)


def test_timestamps_without_a_zone_are_utc():
    assert ingest.parse_time("2025-01-01T10:00:00", "timestamp") == datetime(2025, 1, 1, 10, tzinfo=UTC)
    assert ingest.parse_time("2025-01-01T12:00:00+02:00", "timestamp") == datetime(2025, 1, 1, 10, tzinfo=UTC)


# -- Timestamps out of any sane range: receivedAt stands in, as Segment does; never a 500 --------


def track(tracker, **times):
    before = timezone.now()
    response = tracker.post("track", {"userId": "u1", "event": "E", "messageId": "m1", **times})
    assert response.status_code == 200, response.content
    event = Event.objects.get()
    assert before <= event.received_at <= timezone.now()
    return event


def test_a_timestamp_past_the_end_of_the_calendar_in_utc_is_received_at(tracker):
    event = track(tracker, timestamp="9999-12-31T23:59:59-14:00")  # 10000-01-01 in UTC
    assert event.timestamp == event.received_at
    assert event.original_timestamp is None
    assert event.payload["timestamp"] == "9999-12-31T23:59:59-14:00"  # kept as sent


def test_year_1_sent_in_year_9999_is_received_at(tracker):
    event = track(tracker, timestamp="0001-01-01T00:00:00Z", sentAt="9999-12-31T23:59:59Z")
    assert event.timestamp == event.received_at
    assert event.original_timestamp is None and event.sent_at is None


def test_a_year_1_timestamp_is_not_stored(tracker):
    event = track(tracker, timestamp="0001-01-01T00:00:00Z")
    assert event.timestamp == event.received_at
    assert event.original_timestamp is None
    assert event.payload["timestamp"] == "0001-01-01T00:00:00Z"


def test_a_timestamp_before_1995_is_received_at(tracker):
    event = track(tracker, timestamp="1994-12-31T23:59:59Z")
    assert event.timestamp == event.received_at


def test_a_historical_order_of_1997_keeps_its_time(tracker):
    event = track(tracker, timestamp="1997-03-02T12:00:00Z")
    assert event.timestamp.isoformat() == "1997-03-02T12:00:00+00:00"


def test_a_device_clock_years_off_is_still_corrected_by_sent_at(tracker):
    # A phone whose clock was reset to 1970 sent, 5 s after it, an event of its own time.
    event = track(tracker, timestamp="1970-01-01T00:00:05Z", sentAt="1970-01-01T00:00:10Z")
    assert event.timestamp == event.received_at - timedelta(seconds=5)
    assert event.original_timestamp is None and event.sent_at is None  # not stored as the client said


def test_a_timestamp_days_ahead_is_received_at_and_not_stored(tracker):
    ahead = (timezone.now() + timedelta(days=3)).isoformat()
    event = track(tracker, timestamp=ahead)
    assert event.timestamp == event.received_at
    assert event.original_timestamp is None


def test_a_timestamp_hours_ahead_is_kept_as_the_original(tracker):
    ahead = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    event = track(tracker, timestamp=ahead.isoformat())
    assert event.timestamp == event.received_at  # clamped: it cannot have happened after it arrived
    assert event.original_timestamp == ahead


def test_a_batch_sent_in_year_9999_keeps_its_events(tracker):
    response = tracker.post(
        "batch",
        {
            "sentAt": "9999-12-31T23:59:59Z",
            "batch": [
                {"type": "track", "userId": "u1", "event": "A", "timestamp": "0001-01-01T00:00:00+14:00"},
                {"type": "track", "userId": "u1", "event": "B", "timestamp": "2024-05-01T10:00:00Z"},
            ],
        },
    )
    assert response.status_code == 200, response.content
    for event in Event.objects.all():
        assert event.timestamp == event.received_at
        assert event.sent_at is None


def test_the_lean_asgi_path_answers_an_overflowing_timestamp(live_app, write_key):
    import http.client
    import json
    from base64 import b64encode

    conn = http.client.HTTPConnection(live_app.host, live_app.port, timeout=10)
    body = json.dumps({"userId": "u1", "event": "E", "timestamp": "9999-12-31T23:59:59-14:00"})
    auth = "Basic " + b64encode(f"{write_key}:".encode()).decode()
    conn.request("POST", "/v1/track", body, {"Content-Type": "application/json", "Authorization": auth})
    response = conn.getresponse()
    assert response.status == 200, response.read()
    event = Event.objects.get()
    assert event.timestamp == event.received_at


def test_time_out_of_range_is_receiving_time_in_the_formula():
    assert (
        ingest.corrected_timestamp(datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC), RECEIVED)
        == RECEIVED
    )
    assert ingest.corrected_timestamp(datetime(1990, 1, 1, tzinfo=UTC), None, RECEIVED) == RECEIVED
    assert ingest.parse_time("9999-12-31T23:59:59-14:00", "timestamp") is ingest.OUT_OF_RANGE
