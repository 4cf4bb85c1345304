"""messageId deduplicates per workspace: a retried call stores nothing twice, even concurrently."""

import threading

from django.db import connection

from journeys.customers import events, ingest
from journeys.models import Event
from tests.factories import make_write_key


def test_a_retried_call_is_stored_once(tracker, workspace):
    body = {"userId": "u1", "event": "Order Completed", "messageId": "order-42-completed"}
    assert tracker.post("track", body).status_code == 200
    assert tracker.post("track", body).status_code == 200
    assert tracker.post("batch", {"batch": [dict(body, type="track")]}).status_code == 200
    assert Event.objects.filter(workspace=workspace).count() == 1


def test_the_same_message_id_in_two_workspaces_is_two_events(tracker, workspace, other_workspace):
    body = {"userId": "u1", "event": "E", "messageId": "shared-id"}
    tracker.post("track", body)
    tracker.post("track", body, key=make_write_key(other_workspace))
    assert Event.objects.count() == 2


def test_duplicates_within_one_batch_are_stored_once(tracker):
    item = {"type": "track", "userId": "u1", "event": "E", "messageId": "dup"}
    assert tracker.post("batch", {"batch": [item, item, item]}).status_code == 200
    assert Event.objects.count() == 1


def test_concurrent_retries_store_one_row(transactional_db, workspace):
    """Eight connections insert the same calls at the same moment (PostgreSQL: real concurrency)."""
    from django.utils import timezone

    rows_for = lambda: ingest.parse_batch(  # noqa: E731
        {"batch": [{"type": "track", "userId": "u1", "event": "E", "messageId": f"retry-{n}"} for n in range(50)]},
        timezone.now(),
    )[0]
    barrier = threading.Barrier(8)
    failures = []

    def retry():
        try:
            rows = rows_for()
            barrier.wait()
            events.store_events(workspace.id, rows)
        except Exception as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert Event.objects.filter(workspace=workspace).count() == 50


def test_concurrent_http_retries_store_one_row(live_app, workspace):
    import http.client
    import json
    from base64 import b64encode

    key = make_write_key(workspace)
    body = json.dumps({"userId": "u1", "event": "Paid", "messageId": "pay-1"}).encode()
    auth = "Basic " + b64encode(f"{key}:".encode()).decode()
    barrier = threading.Barrier(6)
    statuses = []

    def post():
        conn = http.client.HTTPConnection(live_app.host, live_app.port, timeout=10)
        barrier.wait()
        conn.request("POST", "/v1/track", body, {"Content-Type": "application/json", "Authorization": auth})
        statuses.append(conn.getresponse().status)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6
    assert Event.objects.filter(workspace=workspace, message_id="pay-1").count() == 1
