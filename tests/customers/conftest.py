import base64
import gzip
import json

import pytest
from django.test import Client

from tests.factories import make_write_key


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters live in Django's cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def writer_connection_closed():
    """The ingest writer thread keeps its own connection; close it after each test so the test
    database can be flushed and dropped (PostgreSQL refuses to drop a database in use)."""
    yield
    from journeys.customers.ingest_api import writer

    writer.close_connection()


@pytest.fixture
def write_key(workspace):
    return make_write_key(workspace)


def basic(key):
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


class Tracker:
    """Posts Segment calls to /v1/ as an integrator's server would."""

    def __init__(self, key):
        self.key = key
        self.client = Client()

    def post(self, endpoint, body=None, key=..., raw=None, compress=False, **headers):
        key = self.key if key is ... else key
        data = raw if raw is not None else json.dumps(body or {}).encode()
        extra = {}
        if key is not None:
            extra["HTTP_AUTHORIZATION"] = basic(key)
        if compress:
            data = gzip.compress(data)
            extra["HTTP_CONTENT_ENCODING"] = "gzip"
        for name, value in headers.items():
            extra[f"HTTP_{name.upper()}"] = value
        return self.client.generic("POST", f"/v1/{endpoint}", data, content_type="application/json", **extra)


@pytest.fixture
def tracker(write_key):
    return Tracker(write_key)


@pytest.fixture
def process(workspace):
    """Run the ingestion worker's step now (what the django-q2 task does)."""
    from journeys.customers import events

    def run(ws=None):
        return events.process_now((ws or workspace).id)

    return run
