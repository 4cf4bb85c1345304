"""Ingestion throughput, end to end: HTTP request to committed event rows.

    .venv/bin/python bench/ingest.py                       # SQLite (a fresh database in a temp dir)
    DATABASE_URL=postgres://... .venv/bin/python bench/ingest.py   # PostgreSQL

Starts uvicorn (one process, as the Procfile does) on a free port, creates a workspace and a write
key, then sends
  - /v1/batch: batches of 500 track events over 2 keep-alive connections,
  - /v1/track: single calls over 8 keep-alive connections,
and counts the committed rows afterwards. Then it measures, in this process, the parts of a call
(parse, insert, kick) to show where the time goes, and the worker's processing rate.
Prints figures; never fails on time. Targets (issue 3): 5,000 events/s batch, 500 calls/s track.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from base64 import b64encode
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH_SIZE = 500
BATCHES = int(os.environ.get("BENCH_BATCHES", 60))  # 30,000 events
TRACKS = int(os.environ.get("BENCH_TRACKS", 5000))
TRACK_CONNECTIONS = 8
BATCH_CONNECTIONS = 2


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup_environment():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
    os.environ["INGEST_RATE_LIMIT"] = "10000000"  # measure the pipeline, not the limiter
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if not os.environ.get("DATABASE_URL"):
        os.environ["WAYLINE_VAR_DIR"] = tempfile.mkdtemp(prefix="wayline-bench-")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_key():
    from accounts import actions

    workspace = actions.create_workspace(f"Bench {uuid.uuid4().hex[:6]}")
    _, raw = actions.create_write_key(workspace, None, "bench")
    return workspace, raw


def start_server(port):
    env = dict(os.environ)
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/uvicorn"),
            "wayline.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("uvicorn did not start")


def track_body(run, n):
    return {
        "userId": f"user-{n % 1000}",
        "event": "Product Viewed",
        "messageId": f"{run}-{n}",
        "properties": {"product_id": f"sku-{n % 50}", "name": "Trail shoe", "price": 89.9, "currency": "EUR"},
        "context": {"library": {"name": "bench", "version": "1"}, "ip": "203.0.113.9", "locale": "de-DE"},
        "timestamp": "2025-01-01T10:00:00.000Z",
    }


def send_all(port, key, path, bodies, connections):
    """Send pre-encoded bodies over `connections` keep-alive connections; returns (seconds, statuses)."""
    auth = "Basic " + b64encode(f"{key}:".encode()).decode()
    chunks = [bodies[i::connections] for i in range(connections)]
    statuses = []
    lock = threading.Lock()

    def worker(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for body in chunk:
            conn.request("POST", path, body, {"Content-Type": "application/json", "Authorization": auth})
            response = conn.getresponse()
            response.read()
            mine.append(response.status)
        conn.close()
        with lock:
            statuses.extend(mine)

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, statuses


def committed(workspace_id):
    from django.db import connection

    from journeys.models import Event

    connection.close()
    return Event.objects.filter(workspace_id=workspace_id).count()


def bench_http(port, key, workspace):
    run = uuid.uuid4().hex[:8]
    # Warm up the server process (imports, first connections).
    send_all(port, key, "/v1/track", [json.dumps(track_body(run + "w", i)).encode() for i in range(50)], 2)
    base = committed(workspace.id)

    batches = [
        json.dumps(
            {"batch": [dict(track_body(run, b * BATCH_SIZE + i), type="track") for i in range(BATCH_SIZE)]}
        ).encode()
        for b in range(BATCHES)
    ]
    seconds, statuses = send_all(port, key, "/v1/batch", batches, BATCH_CONNECTIONS)
    rows = committed(workspace.id) - base
    assert set(statuses) == {200}, set(statuses)
    batch_rate = rows / seconds
    print(
        f"  /v1/batch  {rows:>7,} events in {seconds:6.2f} s = {batch_rate:8,.0f} events/s "
        f"({BATCHES / seconds:,.1f} requests/s of {BATCH_SIZE}, {len(batches[0]) // 1024} KB each)"
    )

    base += rows
    tracks = [json.dumps(track_body(run + "t", i)).encode() for i in range(TRACKS)]
    seconds, statuses = send_all(port, key, "/v1/track", tracks, TRACK_CONNECTIONS)
    rows = committed(workspace.id) - base
    assert set(statuses) == {200}, set(statuses)
    track_rate = rows / seconds
    print(
        f"  /v1/track  {rows:>7,} calls  in {seconds:6.2f} s = {track_rate:8,.0f} calls/s "
        f"({TRACK_CONNECTIONS} keep-alive connections, "
        f"{1000 * seconds / rows * TRACK_CONNECTIONS:.2f} ms per call each)"
    )

    base += rows
    seconds, statuses = send_all(port, key, "/v1/track", tracks[:2000], TRACK_CONNECTIONS)
    print(
        f"  /v1/track  {len(statuses):>7,} retries in {seconds:6.2f} s = {len(statuses) / seconds:8,.0f} calls/s "
        f"(same messageIds again: {committed(workspace.id) - base} new rows)"
    )
    return batch_rate, track_rate


def breakdown(workspace):
    """Where the time of a call goes, measured in-process (no HTTP)."""
    from django.db import transaction
    from django.test import Client
    from django.utils import timezone

    from journeys.customers import events, ingest, ingest_api

    run = uuid.uuid4().hex[:8]
    items = [dict(track_body(run, i), type="track") for i in range(BATCH_SIZE)]
    raw = json.dumps({"batch": items}).encode()
    rounds = 10
    timings = {}

    def timed(name, fn):
        started = time.perf_counter()
        result = fn()
        timings[name] = timings.get(name, 0) + time.perf_counter() - started
        return result

    for r in range(rounds):
        body = timed("json decode", lambda: ingest.decode_body(raw, None, ingest.MAX_BATCH_BYTES))
        for item in body["batch"]:
            item["messageId"] = f"{item['messageId']}-{r}"
        timed("auth (key lookup)", lambda: ingest_api._lookup_key("nope"))
        rows, _ = timed("validate + timestamps", lambda body=body: ingest.parse_batch(body, timezone.now()))

        def insert(rows=rows):
            with transaction.atomic():
                events._insert_events([(workspace.id, rows)])

        timed("INSERT + COMMIT", insert)
        timed("kick (after commit)", lambda: events.kick_processing(workspace.id))
    count = rounds * BATCH_SIZE
    print(f"  in-process, per event of a {BATCH_SIZE}-event batch (µs):")
    for name, seconds in timings.items():
        print(f"    {name:<24} {1e6 * seconds / count:7.1f}")
    print(
        f"    {'sum':<24} {1e6 * sum(timings.values()) / count:7.1f}"
        f"  -> {count / sum(timings.values()):,.0f} events/s without HTTP"
    )

    # A single call through Django's full stack, without the network.
    client = Client()
    auth = "Basic " + b64encode(f"{KEY}:".encode()).decode()
    bodies = [json.dumps(track_body(run + "c", i)).encode() for i in range(500)]
    started = time.perf_counter()
    for body in bodies:
        client.generic("POST", "/v1/track", body, content_type="application/json", HTTP_AUTHORIZATION=auth)
    per_call = (time.perf_counter() - started) / len(bodies)
    print(f"  one /v1/track through Django's stack in-process (test client, WSGI): {1000 * per_call:.2f} ms")


def bench_processing(workspace):
    from journeys.customers import events
    from journeys.models import Event

    pending = Event.objects.filter(workspace=workspace, processed_at__isnull=True).count()
    sample = min(pending, int(os.environ.get("BENCH_PROCESS", 3000)))
    started = time.perf_counter()
    done = events.drain_events(workspace.id, batch=sample, budget=__import__("datetime").timedelta(seconds=20))
    seconds = time.perf_counter() - started
    print(
        f"  worker: processed {done:,} events in {seconds:.2f} s = {done / seconds:,.0f} events/s "
        f"(identity, profile, commerce state, suggestions; one process)"
    )


KEY = None


def main():
    global KEY
    setup_environment()
    from django.conf import settings
    from django.db import connection

    vendor = connection.vendor
    workspace, KEY = make_key()
    port = free_port()
    print(f"Wayline ingestion bench on {vendor} ({settings.DATABASES['default']['NAME']}), {os.cpu_count()} cores")
    connection.close()
    server = start_server(port)
    try:
        batch_rate, track_rate = bench_http(port, KEY, workspace)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"  targets: batch {batch_rate:,.0f}/5,000 events/s {'OK' if batch_rate >= 5000 else 'BELOW'}; "
        f"track {track_rate:,.0f}/500 calls/s {'OK' if track_rate >= 500 else 'BELOW'}"
    )
    print("Where the time goes:")
    breakdown(workspace)
    bench_processing(workspace)


if __name__ == "__main__":
    main()
