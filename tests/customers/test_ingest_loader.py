"""The event loader (events._insert_events): on PostgreSQL COPY into a staging table then
INSERT ... SELECT ... ON CONFLICT DO NOTHING (INGEST_PG_LOAD=copy, the default) or multi-row VALUES
(INGEST_PG_LOAD=values); on SQLite one prepared statement. Every loader stores each messageId once
and what it stores reads back exactly as it was sent."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from journeys.customers import events, ingest
from journeys.customers.ingest_api import writer
from journeys.models import Event


@pytest.fixture(params=events.PG_LOADERS)
def loader(request, settings, monkeypatch):
    """Each PostgreSQL loader, COPY for calls of any size (it starts at COPY_MIN_ROWS rows)."""
    settings.INGEST_PG_LOAD = request.param
    monkeypatch.setattr(events, "COPY_MIN_ROWS", 1)
    return request.param


def track(message_id, **properties):
    return {"type": "track", "userId": "u1", "event": "Viewed", "messageId": message_id, "properties": properties}


def test_it_stores_each_message_id_once_within_a_batch_and_against_earlier_rows(tracker, workspace, loader):
    assert tracker.post("batch", {"batch": [track("m1", v="first"), track("m2", v="first")]}).status_code == 200

    batch = [track("m2", v="again"), track("m3", v="first"), track("m3", v="again"), track("m1", v="again")]
    batch += [track("m4", v="first"), track("m4", v="again")]
    assert tracker.post("batch", {"batch": batch}).status_code == 200

    stored = list(Event.objects.filter(workspace=workspace).order_by("id").values_list("message_id", "properties"))
    assert stored == [(f"m{n}", {"v": "first"}) for n in (1, 2, 3, 4)]  # the first of each, in arrival order


TRICKY = [
    "double \"quotes\" and 'single'",
    "back\\slash, \\\\two, trailing\\",
    "\\N",  # COPY's null marker, as text
    "\\.",  # the end-of-data marker of COPY's text format
    "tab\there\tand\tthere",
    "new\nline\n",
    "carriage\rreturn\r\n",
    "\x01\x08\x0b\x0c\x1b\x1f\x7f",
    "ünïcødé, 漢字, עברית, 🎉 and e\u0301",
    "line\u2028separator\u2029",
    "{not: json}, [1, 2",
    "  spaces around  ",
    "\\t\\n (escapes as text)",
]


def tricky_call(n, text):
    return {
        "type": "identify" if n % 2 else "track",
        "event": text,
        "userId": f"user {text}",
        "anonymousId": f"anon {text}",
        "messageId": f"{n} {text}"[:100],
        "properties": {"value": text, f"key {text}": [text, {"nested": text}], "n": 0.1, "big": 2**53 + 1},
        "traits": {"name": text, "empty": "", "none": None},
        "context": {"page": {"title": text}},
        "custom": {"kept": text},  # not a Segment field: kept in the payload
    }


def test_it_round_trips_quotes_backslashes_tabs_newlines_and_unicode_exactly(tracker, workspace, loader):
    calls = [tricky_call(n, text) for n, text in enumerate(TRICKY)]
    assert tracker.post("batch", {"batch": calls}).status_code == 200

    stored = {event.message_id: event for event in Event.objects.filter(workspace=workspace)}
    assert len(stored) == len(calls)
    for call in calls:
        event = stored[call["messageId"]]
        assert event.user_id == call["userId"]
        assert event.anonymous_id == call["anonymousId"]
        assert event.properties == call["properties"]
        assert event.context == call["context"]
        assert event.traits == call["traits"]
        assert event.payload == {"custom": call["custom"]}
        assert event.name == (call["event"] if call["type"] == "track" else "")


def test_it_keeps_nulls_and_times_apart_from_text(tracker, workspace, loader):
    sent = {"type": "track", "anonymousId": "\\N", "event": "E", "messageId": "t1"}
    sent["timestamp"] = "2025-03-01T10:00:00.123456+02:00"
    assert tracker.post("batch", {"batch": [sent]}).status_code == 200

    event = Event.objects.get(workspace=workspace)
    assert event.user_id is None
    assert event.anonymous_id == "\\N"
    assert event.original_timestamp.isoformat() == "2025-03-01T08:00:00.123456+00:00"
    assert event.sent_at is None


def rows(count, prefix="retry"):
    batch = [track(f"{prefix}-{n}", n=n) for n in range(count)]
    return ingest.parse_batch({"batch": batch + batch[:5]}, timezone.now())[0]  # repeats within, too


def test_concurrent_retries_of_one_batch_through_the_writer_store_each_event_once(
    transactional_db, workspace, writer_connection_closed, loader
):
    """Eight calls with the same batch reach the writer at once: the writer's group commit puts
    several in one transaction, so one INSERT meets the same messageIds many times."""
    barrier = threading.Barrier(8)
    futures, lock = [], threading.Lock()

    def send():
        batch = rows(50)
        barrier.wait()
        future = writer.store(workspace.id, batch)
        with lock:
            futures.append(future)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for future in futures:
        future.result(timeout=30)

    assert Event.objects.filter(workspace=workspace).count() == 50
    assert sorted(Event.objects.values_list("properties__n", flat=True)) == list(range(50))


def test_concurrent_retries_on_their_own_connections_store_each_event_once(transactional_db, workspace):
    """PostgreSQL: eight connections, each with its own staging table, race on the unique constraint
    with the same events in different orders (the COPY loader inserts them sorted: no deadlock)."""
    barrier = threading.Barrier(8)
    failures = []

    def retry(offset):
        try:
            batch = rows(150)[offset:] + rows(150)[:offset]  # the same events, in another order (COPY)
            barrier.wait()
            events.store_events(workspace.id, batch)
            events.store_events(workspace.id, batch)  # and once more on a connection that has staged
        except Exception as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry, args=(7 * n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert Event.objects.filter(workspace=workspace).count() == 150


def test_a_call_inside_a_longer_transaction_leaves_nothing_staged_for_the_next(workspace, loader):
    """The test's own transaction never commits here, so ON COMMIT never empties the staging
    table: the next call in the same transaction must not store the first call's rows again."""
    events.store_events(workspace.id, rows(3, "first"))
    Event.objects.filter(workspace=workspace).delete()
    events.store_events(workspace.id, rows(2, "second"))
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["second-0", "second-1"]


def test_an_unknown_loader_is_refused(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.INGEST_PG_LOAD = "bulk"
    with pytest.raises(ImproperlyConfigured):
        events.pg_loader()
