"""Workers claiming the outbox at the same time take disjoint batches (PostgreSQL: FOR UPDATE SKIP
LOCKED; SQLite: one write transaction at a time), and each claim holds a lease."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from delivery import actions
from delivery.models import Message

from .conftest import make_contact, make_template, simple_mjml

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_claims_take_disjoint_batches(workspace):
    _, version = make_template(workspace, "promo", simple_mjml("Hi"), "Hi")
    contact = make_contact(workspace)
    ids = [actions.enqueue_message(workspace, version, idempotency_key=f"m{n}", contact=contact).pk for n in range(40)]
    now = timezone.now()
    taken, errors = [], []
    start = threading.Barrier(3)

    def worker():
        try:
            start.wait()
            while batch := actions.claim_due(now, limit=7):
                taken.extend(batch)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(taken) == sorted(ids)  # every message once, none twice
    leases = Message.objects.filter(pk__in=ids).values_list("status", "lease_until", "attempts")
    assert {(status, attempts) for status, _, attempts in leases} == {("sending", 1)}
    assert all(lease > now for _, lease, _ in leases)
