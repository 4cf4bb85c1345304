"""Saved segments at a million contacts (issue 13), on PostgreSQL with the Procfile's processes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/segments_bench .venv/bin/python bench/segments.py
    BENCH_CONTACTS=1000000 (default)  BENCH_IDENTIFIES=200  BENCH_DUE=1000

Empties the database, then loads the contacts by SQL in stages (a tenth, half, all) into one
workspace with two dynamic segments:
  - "Pro in Europe": traits.plan = pro and traits.region = eu (a quarter of the contacts), its
    membership rows written by SQL to match the rule (checked against the rule's SQL count);
  - "Viewed lately": performed Product Viewed within 7 days, every contact with a check (when its
    answer can next change), BENCH_DUE of them due now.

Prints, each headline on its own line:
  - the sweep's cost as contacts grow: one sweep of the due checks at each stage, beside the
    baseline of the same run (re-evaluating every contact, as a periodic recompute does: the rate
    measured on 5,000 contacts, times the stage's contacts) and the ratio; flat means the cost
    follows what is due, not the contacts;
  - count of a segment: GET /api/segments/{id} (its member count) p95 over 30 calls, beside the
    baseline (counting the rule over the contacts table in SQL, without membership rows);
  - identify → membership: uvicorn and a qcluster (the Procfile's web and worker) running, new
    contacts identify one at a time with traits that match "Pro in Europe"; the time from sending
    the call to its membership row being visible (polled every 10 ms), p50 and p95, beside the
    baseline (a full re-evaluation of the million contacts: what a periodic recompute waits).
Never fails on time.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from base64 import b64encode
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchlib import free_port, fresh_database  # noqa: E402

CONTACTS = int(os.environ.get("BENCH_CONTACTS", 1_000_000))
IDENTIFIES = int(os.environ.get("BENCH_IDENTIFIES", 200))
DUE = int(os.environ.get("BENCH_DUE", 1000))
PRO_EU = {
    "all": [
        {"field": "contact.traits.plan", "op": "eq", "value": "pro"},
        {"field": "contact.traits.region", "op": "eq", "value": "eu"},
    ]
}
VIEWED = {"performed": "Product Viewed", "within": "P7D"}


def setup_environment():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
    os.environ["INGEST_RATE_LIMIT"] = "10000000"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if not os.environ.get("DATABASE_URL"):
        sys.exit("bench/segments.py measures the scale profile: set DATABASE_URL to a PostgreSQL database")
    import django

    django.setup()


def load_contacts(workspace, first, last):
    """Contacts first..last (inclusive) by one INSERT ... SELECT; a quarter match "Pro in Europe"."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO journeys_contact (workspace_id, user_id, email, traits, timezone, locale, country, city,
                consent, cart, recently_viewed, lifetime_value, orders_count, last_activity_at, field_timestamps,
                commerce, created_at, updated_at)
            SELECT %s, 'seed-' || g, 'seed' || g || '@example.com',
                jsonb_build_object('plan', CASE WHEN g %% 2 = 0 THEN 'pro' ELSE 'free' END,
                                   'region', CASE WHEN g %% 4 < 2 THEN 'eu' ELSE 'us' END),
                'Europe/Berlin', 'de_DE', 'DE', 'Berlin', '{}', '{}', '[]', 0, 0,
                now() - interval '30 days', '{}', '{}', now(), now()
            FROM generate_series(%s, %s) AS g
            """,
            [workspace.pk, first, last],
        )
        cursor.execute(
            """
            INSERT INTO journeys_contactidentity (workspace_id, contact_id, kind, value)
            SELECT workspace_id, id, 'user_id', user_id FROM journeys_contact
            WHERE workspace_id = %s AND user_id LIKE 'seed-%%' AND id > coalesce(
                (SELECT max(contact_id) FROM journeys_contactidentity WHERE workspace_id = %s), 0)
            """,
            [workspace.pk, workspace.pk],
        )


def fill_memberships(segment):
    """The rule's members by SQL (as a rebuild would leave them), and the viewed segment's checks."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO journeys_segmentmembership (workspace_id, segment_id, contact_id, entered_at)
            SELECT c.workspace_id, %s, c.id, now() FROM journeys_contact c
            WHERE c.workspace_id = %s AND c.traits->>'plan' = 'pro' AND c.traits->>'region' = 'eu'
            ON CONFLICT DO NOTHING
            """,
            [segment.pk, segment.workspace_id],
        )


def fill_checks(segment, due):
    """Every contact of the workspace has a check on `segment`: `due` of them due now, the rest later."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO journeys_segmentcheck (workspace_id, segment_id, contact_id, due_at)
            SELECT c.workspace_id, %s, c.id, now() + interval '3 days' FROM journeys_contact c
            WHERE c.workspace_id = %s
            ON CONFLICT (segment_id, contact_id) DO UPDATE SET due_at = excluded.due_at
            """,
            [segment.pk, segment.workspace_id],
        )
        cursor.execute(
            """
            UPDATE journeys_segmentcheck SET due_at = now() - interval '1 minute'
            WHERE id IN (SELECT id FROM journeys_segmentcheck WHERE segment_id = %s ORDER BY random() LIMIT %s)
            """,
            [segment.pk, due],
        )
    vacuum()


def vacuum():
    """As autovacuum would after a bulk load (the bench's server may run without it)."""
    from django.db import connection

    with connection.cursor() as cursor:
        tables = ("journeys_contact", "journeys_contactidentity", "journeys_segmentcheck", "journeys_segmentmembership")
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def evaluation_rate(segment, sample=5000):
    """Contacts per second that evaluating a segment's rule takes (a page at a time, as a rebuild)."""
    from django.db import transaction

    from journeys import clock
    from journeys.customers import segments
    from journeys.models import Contact

    contacts = list(Contact.objects.filter(workspace_id=segment.workspace_id).order_by("?")[:sample])
    started = time.perf_counter()
    with transaction.atomic():
        for start in range(0, len(contacts), segments.PAGE):
            segments._evaluate_page(segment, contacts[start : start + segments.PAGE], clock.now())
        transaction.set_rollback(True)  # measured, not kept
    return len(contacts) / (time.perf_counter() - started)


def bench_sweep(workspace, viewed, stages):
    from journeys import clock
    from journeys.customers import segments

    rate = None
    print(f"  sweep: {DUE:,} due checks, one sweep at each size (baseline: every contact re-evaluated)")
    first = None
    for size, (low, high) in stages:
        load_contacts(workspace, low, high)
        fill_checks(viewed, DUE)
        rate = rate or evaluation_rate(viewed)
        started = time.perf_counter()
        segments.sweep(clock.now())
        seconds = time.perf_counter() - started
        first = first or seconds
        baseline = size / rate
        print(
            f"sweep cost at {size:,} contacts: {1000 * seconds:,.0f} ms "
            f"({seconds / first:.2f}x the first size; baseline {baseline:,.0f} s, ratio {baseline / seconds:,.0f}x)"
        )
    return rate


def bench_count(workspace, marketer, segment):
    from django.db import connection
    from django.test import Client

    client = Client()
    client.force_login(marketer)
    times, baseline_times, answer = [], [], None
    for _ in range(30):
        started = time.perf_counter()
        response = client.get(f"/api/segments/{segment.pk}")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:300]
        answer = response.json()["member_count"]
    with connection.cursor() as cursor:
        for _ in range(5):
            started = time.perf_counter()
            cursor.execute(
                "SELECT count(*) FROM journeys_contact WHERE workspace_id = %s AND traits->>'plan' = 'pro' "
                "AND traits->>'region' = 'eu' AND merged_into_id IS NULL",
                [workspace.pk],
            )
            expected = cursor.fetchone()[0]
            baseline_times.append(time.perf_counter() - started)
    assert answer == expected, f"member_count {answer} but the rule matches {expected}"
    p95, baseline = p95_of(times), statistics.median(baseline_times)
    print(
        f"count of a segment p95: {1000 * p95:,.1f} ms ({answer:,} members of {CONTACTS:,} contacts; "
        f"goal under 500 ms; baseline {1000 * baseline:,.0f} ms counting the rule in SQL, ratio {baseline / p95:,.1f}x)"
    )


def p95_of(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def start_processes(logs):
    port = free_port()
    env = {**os.environ, "JOURNEYS_KICKS": "on", "Q_LOG_LEVEL": "ERROR", "WAYLINE_PORT": str(port)}
    web = subprocess.Popen(
        [str(ROOT / ".venv/bin/uvicorn"), "wayline.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--lifespan", "off", "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except OSError as error:
            if getattr(error, "code", None):  # an HTTP answer: it is up
                break
            time.sleep(0.2)
    return port, [web, worker]


def bench_identify(workspace, segment, key, port, full_seconds):
    from journeys.models import SegmentMembership

    auth = "Basic " + b64encode(f"{key}:".encode()).decode()
    run = uuid.uuid4().hex[:6]
    sent, seen = {}, {}
    done = threading.Event()

    def poll():
        while not done.is_set():
            waiting = [user for user in sent if user not in seen]
            if waiting:
                found = SegmentMembership.objects.filter(
                    segment=segment, left_at__isnull=True, contact__user_id__in=waiting
                ).values_list("contact__user_id", flat=True)
                now = time.perf_counter()
                for user in found:
                    seen.setdefault(user, now)
            time.sleep(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()

    def identify(user):
        body = json.dumps({"userId": user, "traits": {"plan": "pro", "region": "eu", "email": f"{user}@example.com"}})
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/identify",
            data=body.encode(),
            headers={"Authorization": auth, "Content-Type": "application/json"},
        )
        sent[user] = time.perf_counter()
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200

    for n in range(10):  # warm: the worker's first tasks load its code and connections
        identify(f"warm-{run}-{n}")
    time.sleep(2)
    sent.clear()
    seen.clear()
    users = [f"new-{run}-{n}" for n in range(IDENTIFIES)]
    for user in users:
        identify(user)
        time.sleep(0.05)  # about 20 a second, one at a time
    deadline = time.monotonic() + 60
    while len(seen) < len(users) and time.monotonic() < deadline:
        time.sleep(0.05)
    done.set()
    poller.join()
    latencies = [seen[user] - sent[user] for user in users if user in seen]
    missing = len(users) - len(latencies)
    p50, p95 = statistics.median(latencies), p95_of(latencies)
    print(
        f"identify → membership p95: {1000 * p95:,.0f} ms (p50 {1000 * p50:,.0f} ms, {len(latencies)} contacts"
        f"{f', {missing} never seen' if missing else ''}; goal under 1 s; baseline {full_seconds:,.0f} s "
        f"for a full re-evaluation of {CONTACTS:,} contacts, ratio {full_seconds / p95:,.0f}x)"
    )


def main():
    setup_environment()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts import actions
    from journeys import clock
    from journeys.models import Segment

    if connection.vendor != "postgresql":
        sys.exit("bench/segments.py measures the scale profile: set DATABASE_URL to a PostgreSQL database")
    fresh_database()
    print(f"Segments on PostgreSQL: {CONTACTS:,} contacts, {IDENTIFIES} identify calls, {DUE:,} due checks")
    marketer = get_user_model().objects.create_user(
        username="bench@example.com", email="bench@example.com", password=uuid.uuid4().hex
    )
    workspace = actions.create_workspace(f"Segments {uuid.uuid4().hex[:6]}", owner=marketer)
    _, key = actions.create_write_key(workspace, None, "bench")
    now = clock.now()
    pro_eu = Segment.objects.create(workspace=workspace, name="Pro in Europe", rule=PRO_EU, created_at=now)
    viewed = Segment.objects.create(workspace=workspace, name="Viewed lately", rule=VIEWED, created_at=now)

    marks = sorted({max(1, CONTACTS // 10), max(1, CONTACTS // 2), CONTACTS})
    stages, low = [], 1
    for mark in marks:
        stages.append((mark, (low, mark)))
        low = mark + 1
    loaded = time.perf_counter()
    rate = bench_sweep(workspace, viewed, stages)
    fill_memberships(pro_eu)
    vacuum()
    print(f"  loaded {CONTACTS:,} contacts, memberships and checks in {time.perf_counter() - loaded:,.0f} s")
    bench_count(workspace, marketer, pro_eu)
    full_seconds = CONTACTS / evaluation_rate(pro_eu)
    print(f"  evaluating a rule: {rate:,.0f} contacts/s with events, {CONTACTS / full_seconds:,.0f}/s on traits")
    logs = open(Path(tempfile.gettempdir()) / "bench-segments.log", "ab")  # noqa: SIM115
    port, processes = start_processes(logs)
    try:
        bench_identify(workspace, pro_eu, key, port, full_seconds)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
