"""A worker process killed (SIGKILL) while it processes events loses nothing and applies nothing
twice: after another worker takes over, the state is exactly what a rebuild from history gives."""

import pytest
from django.db import connection
from django.utils import timezone

from journeys.customers import events, ingest
from journeys.models import Contact, Event, IngestState, Order
from tests.engine.cluster import Cluster, SMTPServer, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CONTACTS, PER_CONTACT = 120, 12


def _calls():
    calls = []
    for n in range(CONTACTS):
        user = {"userId": f"k-{n}"}
        calls.append({"type": "identify", **user, "traits": {"email": f"k{n}@example.com"}, "messageId": f"k-{n}-id"})
        for i in range(PER_CONTACT - 2):
            calls.append(
                {
                    "type": "track",
                    **user,
                    "event": "Product Added",
                    "properties": {"product_id": f"p{i % 4}", "price": 10 + i, "quantity": 1},
                    "timestamp": f"2025-01-01T10:{i:02d}:00Z",
                    "messageId": f"k-{n}-{i}",
                }
            )
        calls.append(
            {
                "type": "track",
                **user,
                "event": "Order Completed",
                "properties": {"order_id": f"ord-{n}", "total": 100 + n},
                "timestamp": "2025-01-01T11:00:00Z",
                "messageId": f"k-{n}-order",
            }
        )
    return calls


def test_a_killed_worker_loses_nothing_and_applies_nothing_twice(workspace):
    calls = _calls()
    for start in range(0, len(calls), 500):
        rows, errors = ingest.parse_batch({"batch": calls[start : start + 500]}, timezone.now())
        assert not errors
        events.store_events(workspace.id, rows)  # kicks a processing task after commit
    total = len(calls)
    smtp = SMTPServer()
    first = Cluster(smtp.port, workers=1).start()
    try:
        wait_for(lambda: Event.objects.filter(processed_at__isnull=False).count() > total // 10, timeout=120)
        first.kill()  # mid-drain: a transaction of events in flight is rolled back by the database
        done_before = Event.objects.filter(processed_at__isnull=False).count()
        assert done_before < total, "the worker finished before it could be killed; grow the backlog"
        # The dead worker's drain lease runs out (90 s later in production; here at once).
        IngestState.objects.filter(workspace=workspace).update(lease_until=None)
        second = Cluster(smtp.port, workers=1).start()
        try:
            events.sweep_stalled()  # what the one-minute schedule does
            wait_for(lambda: not Event.objects.filter(processed_at__isnull=True).exists(), timeout=180)
        finally:
            second.stop()
    finally:
        first.stop()
        smtp.stop()
        connection.close()

    assert not Event.objects.exclude(error="").exists()
    assert Contact.objects.filter(workspace=workspace, merged_into=None).count() == CONTACTS
    assert Order.objects.count() == CONTACTS
    live = {c.pk: (c.cart, c.lifetime_value, c.orders_count) for c in Contact.objects.all()}
    for contact in Contact.objects.all():
        events.rebuild_commerce(contact)
    assert {c.pk: (c.cart, c.lifetime_value, c.orders_count) for c in Contact.objects.all()} == live
    assert sum(float(v[1]) for v in live.values()) == sum(100 + n for n in range(CONTACTS))
