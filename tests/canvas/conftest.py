"""Fixtures of the canvas tests: a published journey, contacts and events handed to the engine the
way ingestion does, the worker run in-process, and websocket clients through the real ASGI stack
(origin check, session cookie)."""

import itertools
import uuid

import pytest
from asgiref.sync import SyncToAsync
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client
from django.utils import timezone

from accounts.access import SESSION_KEY
from journeys import drafts, publishing, triggers, worker
from journeys.models import Contact, Event

_seq = itertools.count(1)

# trigger -> wait for Order Completed (1 h) -> on timeout: exit. Nothing to send, so no template.
WAITING_JOURNEY = {
    "trigger": {"type": "event", "event": "Checkout Started", "where": {"all": []}},
    "entry": {"re_entry": "after_exit", "audience": {"all": []}},
    "exit_on": [{"event": "Order Completed", "as_conversion": True}],
    "nodes": [
        {"id": "wait1", "type": "wait_for_event", "config": {"event": "Order Completed", "timeout": "PT1H"}},
        {"id": "exit1", "type": "exit", "config": {}},
    ],
    "edges": [{"from": "trigger", "to": "wait1"}, {"from": "wait1", "port": "timeout", "to": "exit1"}],
    "layout": {"trigger": {"x": 0, "y": 0}, "wait1": {"x": 0, "y": 160}, "exit1": {"x": 0, "y": 320}},
}


@pytest.fixture
def anyio_backend(monkeypatch):
    # Strict, as in production: an ORM call left on the event loop fails here.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    yield "asyncio"
    # The consumers' database thread keeps its connection: close it, so the test database can be
    # dropped at the end (PostgreSQL).
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture(autouse=True)
def no_kicks(settings):
    """The tests run the worker themselves."""
    settings.JOURNEYS_KICKS = "off"


def publish(workspace, definition=WAITING_JOURNEY, name="Cart abandonment"):
    journey = drafts.create_journey(workspace, None, name, definition=definition)
    publishing.publish_journey(journey, None)
    journey.refresh_from_db()
    return journey


def make_contact(workspace, **fields):
    n = next(_seq)
    fields.setdefault("email", f"shopper{n}@example.com")
    fields.setdefault("user_id", f"shopper-{n}")
    return Contact.objects.create(workspace=workspace, **fields)


def track(contact, name, properties=None):
    """An event stored and applied the way ingestion does, then handed to the engine."""
    event = Event.objects.create(
        workspace_id=contact.workspace_id,
        contact=contact,
        message_id=uuid.uuid4().hex,
        type="track",
        name=name,
        user_id=contact.user_id,
        properties=properties or {},
        timestamp=timezone.now(),
        processed_at=timezone.now(),
    )
    triggers.on_event(event)
    return event


def run_worker(rounds=20):
    for _ in range(rounds):
        if not worker.advance_due():
            break


def session_cookie(user, workspace=None):
    client = Client()
    client.force_login(user)
    if workspace is not None:
        session = client.session
        session[SESSION_KEY] = workspace.id
        session.save()
    return client.cookies["sessionid"].value


async def counts_socket(journey_id, user=None, origin="http://127.0.0.1"):
    from channels.db import database_sync_to_async

    from wayline.asgi import application

    headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1")]
    if user is not None:
        cookie = await database_sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, f"/ws/journeys/{journey_id}/counts", headers=headers)
