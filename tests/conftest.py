import os
import shutil
import socket
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Role

from .factories import PASSWORD, Tracker, make_member, make_workspace, make_write_key

# Playwright's sync API runs an event loop in the test thread; the ORM calls our tests make from
# that thread are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    """Passwords hash fast in tests (Django's default hasher takes a good part of a second each;
    the suite creates a member per test)."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` (SKIP LOCKED, concurrent writers) run in the PostgreSQL half of
    .ci/run; tests marked `sqlite_half` (long simulated populations whose database work other
    tests cover on both; pages in the browser whose server side other tests cover on both, where
    no live layer (Redis) is in play) in the SQLite half. Elsewhere they are deselected, not skipped."""
    from django.conf import settings

    other = "sqlite_half" if "postgresql" in settings.DATABASES["default"]["ENGINE"] else "postgres"
    kept = [item for item in items if item.get_closest_marker(other) is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker(other)])
        items[:] = kept


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits (the ingestion API's) count in the cache: each test starts with none, whatever
    the tests before it did. Login throttles count in a table, emptied with the test database."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def fresh_flows():
    """Compiled versions are kept per process by (id, publish time); a test's rolled-back version
    id is used again by the next test, which may publish at the same frozen time."""
    from journeys import lifecycle
    from journeys.customers import segments

    lifecycle._FLOWS.clear()
    segments._CACHE.clear()  # so are workspaces' segments, by workspace id
    yield


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """A new channel layer instance per test: channels-redis binds an instance to the event loop
    that first receives on it, and every async test runs on a loop of its own."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def workspace(db):
    return make_workspace("Acme Shop")


@pytest.fixture
def admin(workspace):
    return make_member(workspace, Role.ADMIN, email="admin@acme.test")


@pytest.fixture
def marketer(workspace):
    return make_member(workspace, Role.MARKETER, email="marketer@acme.test")


@pytest.fixture
def qa(workspace):
    return make_member(workspace, Role.QA, email="qa@acme.test")


@pytest.fixture
def other_workspace(db):
    return make_workspace("Other Corp")


@pytest.fixture
def outsider(other_workspace):
    """An admin of another workspace: must see nothing of `workspace`."""
    return make_member(other_workspace, Role.ADMIN, email="outsider@other.test")


@pytest.fixture
def write_key(workspace):
    return make_write_key(workspace)


@pytest.fixture
def writer_connection_closed():
    """The ingest writer thread keeps its own connection; close it after each test so the test
    database can be flushed and dropped (PostgreSQL refuses to drop a database in use)."""
    yield
    from journeys.customers.ingest_api import writer

    writer.close_connection()


@pytest.fixture
def tracker(write_key, writer_connection_closed):
    """Segment calls to /v1/ with the workspace's write key."""
    return Tracker(write_key)


@pytest.fixture
def process(workspace):
    """Run the ingestion worker's step now (what the django-q2 task does)."""
    from journeys.customers import events

    def run(ws=None):
        return events.process_now((ws or workspace).id)

    return run


@pytest.fixture
def run_queued(db):
    """What a qcluster worker does with the ORM broker's queue: take each queued task off it and
    run it (its dotted path, its arguments), tasks queued meanwhile too. Returns how many ran."""
    from pydoc import locate

    from django_q.models import OrmQ

    def run():
        ran = 0
        while rows := list(OrmQ.objects.order_by("id")[:50]):
            for row in rows:
                task = row.task
                row.delete()
                locate(task["func"])(*task["args"], **task["kwargs"])
                ran += 1
        return ran

    return run


def client_for(user):
    client = APIClient()
    client.force_authenticate(user=None)
    client.force_login(user)
    return client


@pytest.fixture
def api(db):
    """`api(user)` gives an API client logged in as that user (session auth)."""
    return client_for


# -- The app served for real, for browser and websocket tests --


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveApp:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.url = f"http://{host}:{port}"
        self.ws_url = f"ws://{host}:{port}"


@pytest.fixture
def live_app(transactional_db, settings):
    """The ASGI app (HTTP + websockets) served by uvicorn on a free port, on the test database."""
    import uvicorn

    from wayline.asgi import application

    port = free_port()
    settings.SITE_URL = f"http://127.0.0.1:{port}"
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        ws="websockets-sansio",
        timeout_graceful_shutdown=1,  # a page's websocket left open must not hold the teardown
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield LiveApp("127.0.0.1", port)
    server.should_exit = True
    server.force_exit = True  # open websockets are the test's past: do not wait for them
    thread.join(timeout=10)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, driven by Playwright (its own browser download is not possible here)."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise RuntimeError("Debian's chromium is missing: run `make test`, which installs it.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_for(browser, live_app):
    """`page_for(user)` opens a fresh browser context logged in as `user`, on a blank page: by the
    session cookie a login makes (Django's test client), or with `through_login_page=True` by typing
    the password into the login page, which then lands on the home page. (tests/browser/test_foundation.py
    logs in through the page; the cookie saves each other browser test a page load and a login.)"""
    contexts = []

    def open_page(user=None, password=PASSWORD, viewport=None, through_login_page=False):
        context = browser.new_context(base_url=live_app.url, viewport=viewport or {"width": 1280, "height": 800})
        contexts.append(context)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # console.error from the app; chromium's own "Failed to load resource" line for an expected
        # 4xx answer (a refused login, a 403 for a role) is not an app error.
        page.on(
            "console",
            lambda msg: (
                errors.append(msg.text)
                if msg.type == "error" and not msg.text.startswith("Failed to load resource")
                else None
            ),
        )
        page.console_errors = errors
        if user is not None and not through_login_page:
            client = Client()
            client.force_login(user)
            session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
            context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": live_app.url}])
        elif user is not None:
            page.goto("/login")
            page.get_by_label("Email").fill(user.email)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield open_page
    for context in contexts:
        context.close()
