"""Ingestion throughput, end to end: HTTP request to committed event rows.

    .venv/bin/python bench/ingest.py                       # SQLite (a fresh database in a temp dir)
    DATABASE_URL=postgres://... .venv/bin/python bench/ingest.py   # PostgreSQL

Starts uvicorn (one process, as the Procfile does) on a free port, creates a workspace and a write
key, then sends
  - /v1/batch: batches of 500 track events over 2 keep-alive connections, BENCH_ROUNDS times,
  - /v1/track: single calls over 8 keep-alive connections,
and counts the committed rows afterwards. On PostgreSQL a second server loads rows the earlier way
(INGEST_PG_LOAD=values: multi-row INSERT ... VALUES) and the two take turns, round by round, so
that `batch:` (COPY, the default), `baseline batch:` and their `ratio:` come from the same run.
Then it measures, in this process, the parts of a call (parse, insert, commit, kick) to show where
the time goes, and the worker's processing rate.
Prints figures; never fails on time. Targets: 5,000 events/s batch and 500 calls/s track (issue 3),
10,000 events/s batch on PostgreSQL (issue 11).
"""

import http.client
import json
import os
import socket
import statistics
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

from benchlib import free_port  # noqa: E402

BATCH_SIZE = 500
BATCHES = int(os.environ.get("BENCH_BATCHES", 60))  # 30,000 events per round
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
TRACKS = int(os.environ.get("BENCH_TRACKS", 5000))
TRACK_CONNECTIONS = 8
BATCH_CONNECTIONS = 2


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


def start_server(port, **extra_env):
    env = dict(os.environ, **extra_env)
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


def warm_up(port, key):
    """Imports, the first connections, the writer thread."""
    run = uuid.uuid4().hex[:8]
    send_all(port, key, "/v1/track", [json.dumps(track_body(run, i)).encode() for i in range(50)], 2)
    batch = [dict(track_body(run + "b", i), type="track") for i in range(BATCH_SIZE)]
    send_all(port, key, "/v1/batch", [json.dumps({"batch": batch}).encode()] * 4, BATCH_CONNECTIONS)


def batch_round(port, key, workspace):
    """One round of /v1/batch: BATCHES new batches; -> events/s of committed rows."""
    run = uuid.uuid4().hex[:8]
    batches = [
        json.dumps(
            {"batch": [dict(track_body(run, b * BATCH_SIZE + i), type="track") for i in range(BATCH_SIZE)]}
        ).encode()
        for b in range(BATCHES)
    ]
    base = committed(workspace.id)
    seconds, statuses = send_all(port, key, "/v1/batch", batches, BATCH_CONNECTIONS)
    rows = committed(workspace.id) - base
    assert set(statuses) == {200}, set(statuses)
    assert rows == BATCHES * BATCH_SIZE, f"{rows} rows committed of {BATCHES * BATCH_SIZE} sent"
    return rows / seconds


def bench_batch(servers, workspace):
    """Rounds of /v1/batch, the servers taking turns; -> {name: [events/s per round]}."""
    rates = {name: [] for name in servers}
    for _ in range(ROUNDS):
        for name, (port, key) in servers.items():
            rates[name].append(batch_round(port, key, workspace))
    size = len(json.dumps({"batch": [dict(track_body("x", i), type="track") for i in range(BATCH_SIZE)]}))
    for name, figures in rates.items():
        print(
            f"  /v1/batch  {name:<22} {BATCHES * BATCH_SIZE:,} events x {ROUNDS} rounds: "
            f"median {statistics.median(figures):8,.0f} events/s "
            f"(min {min(figures):,.0f}, max {max(figures):,.0f}; {BATCH_SIZE} events, {size // 1024} KB a request)"
        )
    return {name: statistics.median(figures) for name, figures in rates.items()}


def bench_track(port, key, workspace, name, retries):
    run = uuid.uuid4().hex[:8]
    base = committed(workspace.id)
    tracks = [json.dumps(track_body(run + "t", i)).encode() for i in range(TRACKS)]
    seconds, statuses = send_all(port, key, "/v1/track", tracks, TRACK_CONNECTIONS)
    rows = committed(workspace.id) - base
    assert set(statuses) == {200}, set(statuses)
    assert rows == TRACKS, f"{rows} rows committed of {TRACKS} sent"
    track_rate = rows / seconds
    print(
        f"  /v1/track  {name:<22} {rows:,} calls in {seconds:6.2f} s = {track_rate:8,.0f} calls/s "
        f"({TRACK_CONNECTIONS} keep-alive connections, "
        f"{1000 * seconds / rows * TRACK_CONNECTIONS:.2f} ms per call each)"
    )
    if retries:
        base += rows
        seconds, statuses = send_all(port, key, "/v1/track", tracks[:2000], TRACK_CONNECTIONS)
        new_rows = committed(workspace.id) - base
        print(
            f"  /v1/track  {'retries':<22} {len(statuses):,} calls in {seconds:6.2f} s = "
            f"{len(statuses) / seconds:8,.0f} calls/s (same messageIds again: {new_rows} new rows)"
        )
    return track_rate


def breakdown(workspace, loaders):
    """Where the time of a batch call goes, per event, measured in-process (no HTTP), per loader."""
    from django.conf import settings
    from django.db import connection

    print(f"  in-process, per event of a {BATCH_SIZE}-event batch (µs):")
    print(f"    {'':<24} " + " ".join(f"{loader:>10}" for loader in loaders))
    columns, configured = [], settings.INGEST_PG_LOAD
    for loader in loaders:
        settings.INGEST_PG_LOAD = loader if connection.vendor == "postgresql" else "copy"  # SQLite: one loader
        time_parts(workspace, rounds=1)  # warm up (imports, a connection's staging table)
        columns.append(time_parts(workspace, rounds=10))
        connection.close()
    settings.INGEST_PG_LOAD = configured
    for name in columns[0]:
        print(f"    {name:<24} " + " ".join(f"{column[name]:10.1f}" for column in columns))
    sums = [sum(column.values()) for column in columns]
    print(f"    {'sum':<24} " + " ".join(f"{total:10.1f}" for total in sums))
    print(f"    {'-> events/s without HTTP':<24} " + " ".join(f"{1e6 / total:10,.0f}" for total in sums))


PARTS = (
    "auth (key lookup)",
    "parse: JSON decode",
    "parse: validate",
    "encode (COPY text)",
    "insert (writer)",
    "commit (writer)",
    "kick (after commit)",
)


def time_parts(workspace, rounds):
    """{part: µs per event} of `rounds` batch calls, each of new messageIds, as the writer runs them."""
    from django.db import transaction
    from django.utils import timezone

    from journeys.customers import events, ingest, ingest_api

    timings = {}
    clock = time.perf_counter
    for _ in range(rounds):
        run = uuid.uuid4().hex[:8]
        raw = json.dumps({"batch": [dict(track_body(run, i), type="track") for i in range(BATCH_SIZE)]}).encode()
        marks = [clock()]
        ingest_api._lookup_key("nope")
        marks.append(clock())
        body, check_values = ingest.decode_call(raw, None, ingest.MAX_BATCH_BYTES)
        marks.append(clock())
        rows, _ = ingest.parse_batch(body, timezone.now(), check_values)
        marks.append(clock())
        rows = events.encode_rows(workspace.id, rows)  # what IngestWriter.store does before the writer
        marks.append(clock())
        with transaction.atomic():
            events._insert_events([(workspace.id, rows)])
            marks.append(clock())
        marks.append(clock())  # the commit
        events.kick_processing(workspace.id)
        marks.append(clock())
        for name, begin, end in zip(PARTS, marks[:-1], marks[1:], strict=True):
            timings[name] = timings.get(name, 0) + end - begin
    return {name: 1e6 * seconds / (rounds * BATCH_SIZE) for name, seconds in timings.items()}


def one_call_through_django():
    from django.test import Client

    # A single call through Django's full stack, without the network.
    client = Client()
    auth = "Basic " + b64encode(f"{KEY}:".encode()).decode()
    run = uuid.uuid4().hex[:8]
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
    print(f"Wayline ingestion bench on {vendor} ({settings.DATABASES['default']['NAME']}), {os.cpu_count()} cores")
    connection.close()
    # PostgreSQL: the default loader (COPY) against the earlier one; SQLite has one loader.
    loaders = {"new (COPY)": "copy", "baseline (VALUES)": "values"} if vendor == "postgresql" else {"sqlite": None}
    servers, processes = {}, []
    try:
        for name, loader in loaders.items():
            port = free_port()
            processes.append(start_server(port, **({"INGEST_PG_LOAD": loader} if loader else {})))
            warm_up(port, KEY)
            servers[name] = (port, KEY)
        rates = bench_batch(servers, workspace)
        track_rates = [
            bench_track(port, key, workspace, name, retries=not n)
            for n, (name, (port, key)) in enumerate(servers.items())
        ]
        track_rate = track_rates[0]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
    batch_rate = next(iter(rates.values()))
    print(f"batch: {batch_rate:,.0f} events/s")
    if vendor == "postgresql":
        baseline = rates["baseline (VALUES)"]
        print(f"baseline batch (INGEST_PG_LOAD=values): {baseline:,.0f} events/s")
        print(f"ratio: {batch_rate / baseline:.2f}")
    print(
        f"  targets: batch {batch_rate:,.0f}/{10_000 if vendor == 'postgresql' else 5_000:,} events/s "
        f"{'OK' if batch_rate >= (10_000 if vendor == 'postgresql' else 5_000) else 'BELOW'}; "
        f"track {track_rate:,.0f}/500 calls/s {'OK' if track_rate >= 500 else 'BELOW'}"
    )
    print("Where the time goes:")
    breakdown(workspace, [loader for loader in loaders.values() if loader] or ["sqlite"])
    one_call_through_django()
    bench_processing(workspace)


if __name__ == "__main__":
    main()
