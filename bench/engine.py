"""Journey engine figures. Prints them; never fails on time.

    .venv/bin/python bench/engine.py                       # SQLite (a fresh database in a temp dir)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/engine_bench .venv/bin/python bench/engine.py
    BENCH_PARTS=latency,throughput,sweep BENCH_ENROLLMENTS=100000 BENCH_WAITING=1000000 \\
        BENCH_EVENTS=100 BENCH_EMAIL_ENROLLMENTS=20000 .venv/bin/python bench/engine.py

1. latency: uvicorn (the Procfile's web process), `manage.py qcluster` with 2 workers (the Procfile's
   worker) and an SMTP server (aiosmtpd). A journey "Bench Started" -> email. Track calls are sent
   one at a time over HTTP (the system idle between them); each is timed from sending the call to
   the SMTP server receiving the email: ingestion, event processing, the engine and delivery.
2. throughput: BENCH_ENROLLMENTS enrollments due at once (a one-minute delay that has just ended),
   in a journey delay -> branch -> split -> exit, advanced by 1, then 2, worker processes running
   the engine's worker step (journeys.worker.advance_due, what the qcluster tasks call) until
   nothing is due. Steps = nodes executed (step log rows). Each worker's peak memory (max RSS).
   Then the same with an email node (delivery's real executor: outbox row + rendering per email)
   for BENCH_EMAIL_ENROLLMENTS enrollments.
3. sweep: the cost of one look for due work (the claim query when nothing is due) with 10,000,
   100,000 and BENCH_WAITING enrollments waiting in the future, and its query plan.

Targets (issue 5): p95 under 1 s; at least 2,000 steps/s per worker; under 300 MB per worker; the
sweep's cost flat in the number waiting.
"""

import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from base64 import b64encode
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import free_port, fresh_database  # noqa: E402

ENROLLMENTS = int(os.environ.get("BENCH_ENROLLMENTS", 100_000))
EMAIL_ENROLLMENTS = int(os.environ.get("BENCH_EMAIL_ENROLLMENTS", 20_000))
WAITING = int(os.environ.get("BENCH_WAITING", 1_000_000))
EVENTS = int(os.environ.get("BENCH_EVENTS", 100))
PARTS = os.environ.get("BENCH_PARTS", "latency,throughput,sweep").split(",")

MJML = (
    "<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{ contact.traits.first_name }}, "
    "{{ event.properties.item }} is waiting.</mj-text></mj-column></mj-section></mj-body></mjml>"
)


def setup_environment():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
    os.environ["INGEST_RATE_LIMIT"] = "10000000"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["JOURNEYS_KICKS"] = os.environ.get("JOURNEYS_KICKS", "on")
    if not os.environ.get("DATABASE_URL") and not os.environ.get("BENCH_CHILD"):
        os.environ["WAYLINE_VAR_DIR"] = tempfile.mkdtemp(prefix="wayline-bench-engine-")
    import django

    django.setup()


def db_label():
    from django.db import connection

    return "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# -- 1. event -> email latency ----------------------------------------------------------------


class Mailbox:
    def __init__(self):
        self.arrivals, self.lock = {}, threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            for address in envelope.rcpt_tos:
                self.arrivals.setdefault(address, time.perf_counter())
        return "250 OK"


def latency():
    import logging

    from aiosmtpd.controller import Controller

    from accounts import actions as account_actions
    from delivery import actions as delivery_actions
    from journeys import drafts, publishing

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    workspace = account_actions.create_workspace(f"Latency {uuid.uuid4().hex[:6]}")
    _, key = account_actions.create_write_key(workspace, None, "bench")
    delivery_actions.save_template(workspace, None, slug="bench-mail", name="Bench", mjml=MJML, subject="Bench")
    journey = drafts.create_journey(
        workspace,
        None,
        "Latency",
        definition={
            "trigger": {"type": "event", "event": "Bench Started"},
            "entry": {"re_entry": "cooldown", "cooldown": "PT1S"},
            "nodes": [{"id": "mail", "type": "email", "config": {"template": "bench-mail"}}],
            "edges": [{"from": "trigger", "to": "mail"}],
        },
    )
    publishing.publish_journey(journey, None)
    timer = drafts.create_journey(
        workspace,
        None,
        "Timer",
        definition={
            "trigger": {"type": "event", "event": "Bench Timer"},
            "entry": {"re_entry": "cooldown", "cooldown": "PT1S"},
            "nodes": [{"id": "wait", "type": "delay", "config": {"duration": "PT2S"}}],
            "edges": [{"from": "trigger", "to": "wait"}],
        },
    )
    publishing.publish_journey(timer, None)

    mailbox = Mailbox()
    smtp_port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    web_port = free_port()
    env = {
        **os.environ,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "Q_WORKERS": "2",
        "BENCH_CHILD": "1",
    }
    logs = open(Path(tempfile.gettempdir()) / "bench-engine-latency.log", "ab")  # noqa: SIM115
    web = subprocess.Popen(
        [str(ROOT / ".venv/bin/uvicorn"), "wayline.asgi:application", "--port", str(web_port), "--lifespan", "off",
         "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        auth = "Basic " + b64encode(f"{key}:".encode()).decode()
        conn = None
        deadline = time.monotonic() + 30
        while conn is None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", web_port, timeout=10)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
            except OSError:
                conn = None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

        def call(endpoint, body):
            conn.request(
                "POST",
                f"/v1/{endpoint}",
                json.dumps({"messageId": uuid.uuid4().hex, **body}),
                {"Authorization": auth, "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status

        users = [f"lat{i}" for i in range(EVENTS)]
        for user in users:
            call("identify", {"userId": user, "traits": {"email": f"{user}@example.com", "first_name": user}})
        from journeys.models import Contact

        wait_until(lambda: Contact.objects.filter(workspace=workspace, email__endswith="@example.com").count()
                   >= EVENTS, 120)  # fmt: skip
        time.sleep(3)  # let the workers go idle
        timings = []
        for user in users:
            address = f"{user}@example.com"
            sent = time.perf_counter()
            call("track", {"userId": user, "event": "Bench Started", "properties": {"item": "the shoe"}})
            if wait_until(lambda a=address: a in mailbox.arrivals, 20):
                timings.append(mailbox.arrivals[address] - sent)
            time.sleep(0.3)  # idle between calls
        # Timers: a two-second delay each; how late after its due time each one is acted on.
        from journeys.models import StepLog

        for user in users[:30]:
            call("track", {"userId": user, "event": "Bench Timer"})
            time.sleep(0.1)
        wait_until(lambda: StepLog.objects.filter(journey=timer, outcome="done").count() >= 30, 60)
        from datetime import datetime

        due, late = {}, []
        for step in StepLog.objects.filter(journey=timer, node="wait").order_by("id"):
            if step.outcome == "waiting":
                due[step.enrollment_id] = datetime.fromisoformat(step.detail["until"])
            elif step.outcome == "done" and step.enrollment_id in due:
                late.append((step.at - due[step.enrollment_id]).total_seconds() * 1000)
        conn.close()
    finally:
        for process in (web, worker):
            os.killpg(process.pid, 15)
        for process in (web, worker):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # the timer loop finishes its turn first: don't wait
                os.killpg(process.pid, 9)
                process.wait(timeout=10)
        controller.stop()
    ms = [t * 1000 for t in timings]
    print(f"\n[{db_label()}] event -> email at the SMTP server, {len(ms)}/{EVENTS} calls (one at a time, idle):")
    p50, p95 = percentile(ms, 50), percentile(ms, 95)
    print(f"  p50 {p50:.0f} ms   p95 {p95:.0f} ms   max {max(ms):.0f} ms   (target p95 < 1000 ms)")
    if late:
        print(f"[{db_label()}] a due timer acted on after its time, {len(late)} timers of 2 s:")
        p50, p95 = percentile(late, 50), percentile(late, 95)
        print(f"  p50 {p50:.0f} ms   p95 {p95:.0f} ms   max {max(late):.0f} ms   (target < 2000 ms)")


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


# -- 2. throughput ----------------------------------------------------------------------------

THROUGHPUT_FLOW = {
    "trigger": {"type": "api"},
    "entry": {"re_entry": "cooldown", "cooldown": "PT1S"},
    "nodes": [
        {"id": "wait", "type": "delay", "config": {"duration": "PT1M"}},
        {
            "id": "vip",
            "type": "branch",
            "config": {"condition": {"field": "contact.traits.tier", "op": "eq", "value": "gold"}},
        },
        {
            "id": "region",
            "type": "split",
            "config": {
                "paths": [
                    {"id": "dach", "condition": {"field": "contact.country", "op": "in", "value": ["DE", "AT", "CH"]}},
                    {"id": "fr", "condition": {"field": "contact.country", "op": "eq", "value": "FR"}},
                ]
            },
        },
        {"id": "done_vip", "type": "exit", "config": {}},
        {"id": "done", "type": "exit", "config": {}},
    ],
    "edges": [
        {"from": "trigger", "to": "wait"},
        {"from": "wait", "to": "vip"},
        {"from": "vip", "port": "yes", "to": "done_vip"},
        {"from": "vip", "port": "no", "to": "region"},
        {"from": "region", "port": "dach", "to": "done"},
        {"from": "region", "port": "fr", "to": "done"},
        {"from": "region", "port": "else", "to": "done"},
    ],
}


def email_flow():
    flow = json.loads(json.dumps(THROUGHPUT_FLOW))
    flow["nodes"].append({"id": "mail", "type": "email", "config": {"template": "bench-mail"}})
    flow["edges"] = [e for e in flow["edges"] if e.get("port") != "else"]
    flow["edges"].append({"from": "region", "port": "else", "to": "mail"})
    return flow


def due_enrollments(count, definition, label):
    """`count` contacts, each with an enrollment whose one-minute delay ended just now."""
    from django.db import connection
    from django.utils import timezone

    from accounts import actions as account_actions
    from delivery import actions as delivery_actions
    from journeys import drafts, publishing
    from journeys.models import Contact, Enrollment

    workspace = account_actions.create_workspace(f"{label} {uuid.uuid4().hex[:6]}")
    delivery_actions.save_template(workspace, None, slug="bench-mail", name="Bench", mjml=MJML, subject="Bench")
    journey = drafts.create_journey(workspace, None, label, definition=definition)
    version, _ = publishing.publish_journey(journey, None)
    now = timezone.now()
    countries = ["DE", "FR", "US", "GB", "AT"]
    for start in range(0, count, 10_000):
        Contact.objects.bulk_create(
            Contact(
                workspace=workspace,
                user_id=f"{label}-{i}",
                email=f"{label.lower()}{i}@example.com",
                country=countries[i % 5],
                traits={"tier": "gold" if i % 10 == 0 else "basic", "first_name": f"N{i}"},
            )
            for i in range(start, min(count, start + 10_000))
        )
    ids = list(Contact.objects.filter(workspace=workspace).values_list("id", flat=True))
    for start in range(0, count, 10_000):
        Enrollment.objects.bulk_create(
            Enrollment(
                workspace=workspace,
                contact_id=contact_id,
                journey=journey,
                version=version,
                status="waiting",
                current_node="wait",
                node_entered_at=now - timedelta(minutes=1),
                visits={"wait": 1},
                wake_at=now,
                entered_at=now - timedelta(minutes=1),
            )
            for contact_id in ids[start : start + 10_000]
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return journey


def run_workers(n):
    """n worker processes advancing everything due; returns their reports."""
    go = time.time() + 3  # all start together, after Django has loaded
    env = {**os.environ, "BENCH_CHILD": "1", "JOURNEYS_KICKS": "off", "BENCH_GO": str(go)}
    processes = [
        subprocess.Popen([sys.executable, __file__, "--worker"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(n)
    ]
    reports = []
    for process in processes:
        out, _ = process.communicate(timeout=3600)
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def worker_main():
    setup_environment()
    from journeys import clock, worker
    from journeys.models import Enrollment

    while time.time() < float(os.environ["BENCH_GO"]):
        time.sleep(0.01)
    started = time.time()
    last = started
    while True:
        if worker.advance_due():
            last = time.time()
            continue
        if not Enrollment.objects.filter(wake_at__lte=clock.now()).exists():
            break
        time.sleep(0.05)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"claimed": worker.STATS["claimed"], "start": started, "end": last, "rss_mb": rss_mb}))


def throughput():
    from journeys.models import StepLog

    scenarios = [("engine", THROUGHPUT_FLOW, ENROLLMENTS), ("with email", email_flow(), EMAIL_ENROLLMENTS)]
    for name, definition, count in scenarios:
        if not count:
            continue
        for workers in (1, 2):
            journey = due_enrollments(count, definition, f"T{workers}{name[:1]}")
            reports = run_workers(workers)
            seconds = max(r["end"] for r in reports) - min(r["start"] for r in reports)
            steps = StepLog.objects.filter(journey=journey).count()
            claimed = sum(r["claimed"] for r in reports)
            print(
                f"\n[{db_label()}] {name}: {count:,} enrollments due at once, {workers} worker(s): "
                f"{steps:,} steps in {seconds:.1f} s"
            )
            print(
                f"  {steps / seconds:,.0f} steps/s ({steps / seconds / workers:,.0f} per worker), "
                f"{claimed / seconds:,.0f} enrollments/s   (target >= 2,000 steps/s per worker)"
            )
            print(
                "  peak memory per worker: "
                + ", ".join(f"{r['rss_mb']:.0f} MB" for r in reports)
                + "  (target < 300 MB)"
            )


# -- 3. the wake-up sweep ---------------------------------------------------------------------


def add_waiting(journey, version, contact_ids, count):
    """Insert `count` enrollments waiting for timers between one hour and thirty days ahead."""
    from django.db import connection
    from django.utils import timezone

    from journeys.models import Enrollment

    now = timezone.now()
    batch = []
    for i in range(count):
        batch.append(
            Enrollment(
                workspace_id=journey.workspace_id,
                contact_id=contact_ids[i % len(contact_ids)],
                journey=journey,
                version=version,
                status="waiting",
                current_node="wait",
                node_entered_at=now,
                visits={"wait": 1},
                wake_at=now + timedelta(hours=1, seconds=(i * 2.59) % 2_592_000),
                entered_at=now,
            )
        )
        if len(batch) == 20_000:
            Enrollment.objects.bulk_create(batch)
            batch = []
    if batch:
        Enrollment.objects.bulk_create(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE journeys_enrollment")


def sweep():
    from django.db import connection

    from accounts import actions as account_actions
    from journeys import clock, drafts, publishing, worker
    from journeys.models import Contact, Enrollment

    workspace = account_actions.create_workspace(f"Sweep {uuid.uuid4().hex[:6]}")
    journey = drafts.create_journey(workspace, None, "Sweep", definition=THROUGHPUT_FLOW)
    version, _ = publishing.publish_journey(journey, None)
    Contact.objects.bulk_create(Contact(workspace=workspace, user_id=f"s{i}") for i in range(1000))
    contact_ids = list(Contact.objects.filter(workspace=workspace).values_list("id", flat=True))
    Enrollment.objects.filter(wake_at__isnull=False).update(wake_at=None)  # earlier parts' leftovers
    print(f"\n[{db_label()}] one look for due work (the claim query, nothing due), median of 50:")
    total = 0
    for size in (10_000, 100_000, WAITING):
        if size <= total:
            continue
        add_waiting(journey, version, contact_ids, size - total)
        total = size
        times = []
        for _ in range(50):
            started = time.perf_counter()
            _, ids = worker.claim_due()
            times.append(time.perf_counter() - started)
            assert ids == []
        print(f"  {total:>9,} waiting: {statistics.median(times) * 1000:.2f} ms per look")
    query = Enrollment.objects.filter(wake_at__lte=clock.now()).order_by("wake_at").values("id")[:500]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cursor.execute(explain + sql, params)
        plan = [" ".join(str(c) for c in row) for row in cursor.fetchall()]
    print("  plan: " + " | ".join(plan))


def main():
    setup_environment()
    fresh_database()
    print(f"Journey engine bench on {db_label()} ({os.cpu_count()} CPUs)")
    if "latency" in PARTS:
        latency()
    if "throughput" in PARTS:
        throughput()
    if "sweep" in PARTS:
        sweep()


if __name__ == "__main__":
    if "--worker" in sys.argv:
        worker_main()
    else:
        main()
