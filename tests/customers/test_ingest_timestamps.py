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
