"""Websocket tests of the preview consumer: a real session cookie through the real ASGI stack
(origin check, session auth), the test database shared with the consumer's threads."""

import pytest
from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from accounts.access import SESSION_KEY

from .builders import (  # noqa: F401 (re-exported for the test modules)
    FALLBACK_MJML,
    REFERENCE_MJML,
    SIMPLE_MJML,
    make_cart_journey,
    make_catalog,
    make_personas,
    make_template,
)


@pytest.fixture
def anyio_backend(monkeypatch):
    # Consumer tests run strict: an ORM call left on the event loop fails here as in production
    # (the suite allows it elsewhere for Playwright). Test bodies use database_sync_to_async.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    yield "asyncio"
    # The consumers' database thread keeps its connection (CONN_MAX_AGE): close it, so the test
    # database can be dropped at the end.
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


def session_cookie(user, workspace=None):
    client = Client()
    client.force_login(user)
    if workspace is not None:
        session = client.session
        session[SESSION_KEY] = workspace.id
        session.save()
    return client.cookies["sessionid"].value


async def communicator(user=None, workspace=None, origin="http://127.0.0.1", path="/ws/preview/"):
    from wayline.asgi import application

    headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1")]
    if user is not None:
        cookie = await database_sync_to_async(session_cookie)(user, workspace)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


def _apply(base, patch):
    start, end, insert, length = patch
    units = base.encode("utf-16-le")
    assert len(units) // 2 == length, "a patch for another text than the one received"
    return (units[: 2 * start] + insert.encode("utf-16-le") + units[2 * end :]).decode("utf-16-le")


def expand(comm, message):
    """A variant as the browser has it (frontend/src/preview/patch.ts): its html and text whole,
    applying the patches to what this socket received for the subject before."""
    if message.get("type") != "variant":
        return message
    bases = comm.__dict__.setdefault("wayline_bases", {})
    base = bases.get(message["subject_key"])
    for field in ("html", "text"):
        patch = message.pop(f"{field}_patch", None)
        if patch is not None:
            assert base is not None, "a patch before any whole variant"
            message[field] = _apply(base[field], patch)
    bases[message["subject_key"]] = {"html": message["html"], "text": message["text"]}
    return message


async def receive_until(comm, type_, timeout=10, where=None):
    """Messages up to and including the first of `type_` (matching `where`), in order; variants
    expanded (`expand`)."""
    seen = []
    while True:
        message = expand(comm, await comm.receive_json_from(timeout=timeout))
        seen.append(message)
        if message["type"] == type_ and (where is None or where(message)):
            return seen


@pytest.fixture
def catalog(workspace):
    make_catalog(workspace)


@pytest.fixture
def personas(workspace, catalog):
    return make_personas(workspace)


@pytest.fixture
def cart_journey(workspace, admin):
    return make_cart_journey(workspace, admin)
