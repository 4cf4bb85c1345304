"""A burst: a whole audience enters a journey at once whose first step is the reference email.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/burst .venv/bin/python bench/burst.py
    BURST_CONTACTS=1000000 BURST_WORKERS=2 ...                      # a million, two qcluster processes
    BURST_ALLOW_SQLITE=1 .venv/bin/python bench/burst.py            # on the embedded default

BURST_CONTACTS contacts (default 100,000), each with a cart of the reference products, are put in a
live journey at once (their enrollments due now, as a segment entry or a broadcast makes them);
its first node sends the reference template (../shared/bench/cart_abandonment.mjml: cart with live
prices, recommendations' products, a coupon per contact, links, pixel, text part). The Procfile's
worker (`manage.py qcluster`, Q_WORKERS processes, BURST_WORKERS clusters) runs it; a real SMTP
server (aiosmtpd) on loopback receives every email. The bench checks that every contact received
exactly one email and prints, each on its own line:

    end to end: N emails/s      first enrollment due to the last email received by the SMTP server
    floor: N emails/s           bare Liquid render of the same compiled template on one core
    ratio: X                    end to end / floor
    time to the last email, peak memory per worker, and where the time went (an in-process run of
    the same path over a sample, timed by part: claim, policies, render, SMTP, database).

Prints figures; never fails on time. Refuses SQLite unless BURST_ALLOW_SQLITE=1 (a burst is the
scale profile's job).
"""

import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import free_port, fresh_database  # noqa: E402

CONTACTS = int(os.environ.get("BURST_CONTACTS", 100_000))
WORKERS = int(os.environ.get("BURST_WORKERS", 1))  # qcluster processes (each with Q_WORKERS workers)
SAMPLE = int(os.environ.get("BURST_SAMPLE", 2000))  # the in-process run that says where the time goes
SMTP_CONNECTIONS = int(os.environ.get("BURST_SMTP_CONNECTIONS", 2))  # kept open per worker process
SHARED = Path(os.environ.get("WAYLINE_SHARED", ROOT.parent / "shared")) / "bench"
if not (SHARED / "cart_abandonment.mjml").exists():
    SHARED = ROOT / "tests" / "delivery" / "reference"
SUBJECT = '{{ contact.first_name | default: "Hi" }}, your cart is waiting'
PRODUCTS = [
    ("SKU-1001", "Trail Running Shoe", "39.99", 3),
    ("SKU-2002", "Merino Socks (3 pack)", "14.99", 120),
    ("SKU-3003", "Water Bottle 750 ml", "9.99", 40),
    ("SKU-4004", "Running Cap", "19.99", 10),
    ("SKU-5005", "Energy Gel (12)", "24.99", 50),
    ("SKU-6006", "Reflective Vest", "29.99", 8),
]


def setup_environment():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if not os.environ.get("DATABASE_URL"):
        if not os.environ.get("BURST_ALLOW_SQLITE"):
            sys.exit("bench/burst.py measures the scale profile: set DATABASE_URL (or BURST_ALLOW_SQLITE=1).")
        os.environ.setdefault("WAYLINE_VAR_DIR", tempfile.mkdtemp(prefix="wayline-burst-"))
    import django

    django.setup()


class Mailbox:
    """Counts what the SMTP server received, per recipient."""

    def __init__(self):
        self.lock = threading.Lock()
        self.per_address, self.count, self.first, self.last = {}, 0, None, None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        now = time.time()
        with self.lock:
            for address in envelope.rcpt_tos:
                self.per_address[address] = self.per_address.get(address, 0) + 1
            self.count += 1
            self.first = self.first or now
            self.last = now
        return "250 OK"


def seed(count, label):
    """A workspace with the reference template, its products and a coupon pool, `count` contacts with
    carts, and their enrollments in a live journey, due at once. Returns (workspace, journey)."""
    from django.db import connection

    from accounts import actions as account_actions
    from delivery import actions as delivery_actions
    from delivery.models import Coupon, CouponPool
    from journeys import clock, drafts, publishing
    from journeys.models import Contact, Enrollment, Product

    workspace = account_actions.create_workspace(f"{label} {uuid.uuid4().hex[:6]}")
    # SMTP connections per worker (Settings → Sending): the SMTP server answers each in turn.
    delivery_actions.update_sending_settings(workspace, None, {"smtp_connections": SMTP_CONNECTIONS})
    for sku, name, price, stock in PRODUCTS:
        Product.objects.create(
            workspace=workspace, sku=sku, name=name, price=Decimal(price), stock=stock, category="running",
            url=f"https://shop.example/p/{sku}", image_url=f"https://shop.example/i/{sku}.jpg",
        )  # fmt: skip
    pool = CouponPool.objects.create(workspace=workspace, slug="comeback", name="Come back", percent_off=10)
    for start in range(0, count, 20_000):
        Coupon.objects.bulk_create(
            Coupon(workspace=workspace, pool=pool, code=f"CB-{i:07d}") for i in range(start, min(count, start + 20_000))
        )
    delivery_actions.save_template(
        workspace, None, slug="cart", name="Cart", mjml=(SHARED / "cart_abandonment.mjml").read_text(),
        subject=SUBJECT, coupon_pool=pool,
    )  # fmt: skip
    definition = {
        "trigger": {"type": "api"},
        "entry": {"re_entry": "after_exit"},
        "nodes": [{"id": "mail", "type": "email", "config": {"template": "cart"}}],
        "edges": [{"from": "trigger", "to": "mail"}],
    }
    journey = drafts.create_journey(workspace, None, label, definition=definition)
    version, _ = publishing.publish_journey(journey, None)
    now = clock.now()
    lines = [
        {"sku": "SKU-1001", "name": "Trail Running Shoe", "quantity": 1, "price": 49.99},
        {"sku": "SKU-2002", "name": "Merino Socks (3 pack)", "quantity": 2, "price": 14.99},
    ]
    cities = [("GB", "London", "en_GB", "Europe/London"), ("DE", "Berlin", "de_DE", "Europe/Berlin")]
    for start in range(0, count, 10_000):
        Contact.objects.bulk_create(
            Contact(
                workspace=workspace,
                user_id=f"{label}-{i}",
                email=f"{label.lower()}{i}@example.com",
                traits={"first_name": f"N{i}"},
                country=cities[i % 2][0],
                city=cities[i % 2][1],
                locale=cities[i % 2][2],
                timezone=cities[i % 2][3],
                cart={"items": lines, "currency": "USD"},
            )  # fmt: skip
            for i in range(start, min(count, start + 10_000))
        )
    ids = list(Contact.objects.filter(workspace=workspace).values_list("id", flat=True))
    for start in range(0, len(ids), 10_000):
        Enrollment.objects.bulk_create(
            Enrollment(
                workspace=workspace,
                contact_id=contact_id,
                journey=journey,
                version=version,
                status="active",
                current_node="trigger",
                node_entered_at=now,
                wake_at=now,
                entered_at=now,
                entry_key="open",
                context={"trigger": {"name": "api", "properties": {}}},
            )  # fmt: skip
            for contact_id in ids[start : start + 10_000]
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return workspace, journey


def floor_rate(seconds=5.0):
    """Bare Liquid on the compiled reference template, one core: the floor of any send path."""
    from delivery import rendering
    from journeys import liquid

    compiled = rendering.compile_template((SHARED / "cart_abandonment.mjml").read_text(), SUBJECT)
    prepared = rendering.prepare(compiled)
    data = json.loads((SHARED / "cart_context.json").read_text())
    data[liquid.PERSONA] = liquid.Persona(timezone="Europe/London", locale="en_GB", currency="USD")
    count, started = 0, time.process_time()
    while time.process_time() - started < seconds:
        liquid.render(prepared.body, data)
        count += 1
    return count / (time.process_time() - started)


QUEUE_TABLES = ("journeys_enrollment", "delivery_message", "delivery_coupon")


def vacuum_like_autovacuum(stop, every=30.0):
    """On a server with autovacuum off (this machine's CI configuration): vacuum and analyze the
    queue tables every `every` seconds, as autovacuum would in production. Without it every claim
    walks the dead row versions of all the batches before it, and the rate falls as the burst goes."""
    from django.db import connection

    while not stop.wait(every):
        with connection.cursor() as cursor:
            for table in QUEUE_TABLES:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
    connection.close()


def autovacuum_is_off():
    from django.db import connection

    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0] == "off"


def peak_rss_mb(pid):
    """The largest peak RSS among a process group's processes (VmHWM), in MB."""
    peaks = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            if os.getpgid(int(entry.name)) != pid:
                continue
        except (OSError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks) if peaks else 0.0


def where_the_time_goes(sample):
    """The same path in this process over `sample` contacts, profiled and grouped by part."""
    from delivery import actions as delivery_actions
    from journeys import worker

    seed(sample, "Sample")
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    while worker.advance_due():
        pass
    while delivery_actions.deliver_due():
        pass
    profile.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profile)
    parts = {
        "claim (engine and outbox)": ("claim_due",),
        "engine step": ("drive",),
        "policies": ("check_batch",),
        "render (context + Liquid + tracking)": ("render_message",),
        "write the renders back": ("_write_rendered",),
        "SMTP (client + in-process server)": ("send_batch",),
        "database (all queries)": ("execute", "executemany"),
    }
    totals = {}
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
        for part, names in parts.items():
            if name in names and ("django/db" in filename or part != "database (all queries)"):
                totals[part] = totals.get(part, 0.0) + cumulative
    return elapsed, totals


def main():
    setup_environment()
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count

    from delivery.models import Message

    fresh_database()
    label = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    print(f"Burst on {label}: {CONTACTS:,} contacts enter a journey at once (reference email)")
    floor = floor_rate()

    mailbox = Mailbox()
    smtp_port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = {
        **os.environ,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "JOURNEYS_KICKS": "on",
        "Q_LOG_LEVEL": "ERROR",
    }
    # The contacts and their enrollments first, then the workers: the burst starts when they start.
    seeded = time.perf_counter()
    workspace, journey = seed(CONTACTS, "Burst")
    print(f"  seeded in {time.perf_counter() - seeded:.0f} s")
    logs = open(Path(tempfile.gettempdir()) / "bench-burst.log", "ab")  # noqa: SIM115
    started, sink_started = time.time(), time.process_time()  # this process runs only the SMTP server meanwhile
    stop_vacuum = threading.Event()
    if autovacuum_is_off() and os.environ.get("BURST_VACUUM", "1") == "1":
        print("  autovacuum is off on this server: the bench vacuums the queue tables every 30 s as it would")
        threading.Thread(target=vacuum_like_autovacuum, args=(stop_vacuum,), daemon=True).start()
    clusters = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=logs,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        for _ in range(WORKERS)
    ]
    peaks = {}
    try:
        deadline = time.monotonic() + float(os.environ.get("BURST_TIMEOUT", 3 * 3600))
        last_seen, stalled_since = -1, time.monotonic()
        reported, reported_count = time.monotonic(), 0
        while mailbox.count < CONTACTS and time.monotonic() < deadline:
            time.sleep(1)
            if time.monotonic() - reported >= 60:  # progress, and whether the rate holds as it goes
                count = mailbox.count
                rate_now = (count - reported_count) / (time.monotonic() - reported)
                elapsed_now = timedelta(seconds=round(time.time() - started))
                print(f"  {elapsed_now}: {count:,} emails received, {rate_now:,.0f}/s in the last minute", flush=True)
                reported, reported_count = time.monotonic(), count
            for cluster in clusters:
                peaks[cluster.pid] = max(peaks.get(cluster.pid, 0.0), peak_rss_mb(cluster.pid))
            if mailbox.count != last_seen:
                last_seen, stalled_since = mailbox.count, time.monotonic()
            elif time.monotonic() - stalled_since > 120:
                print(f"  stalled at {mailbox.count:,} emails for 2 minutes")
                break
    finally:
        sink_cpu = time.process_time() - sink_started
        stop_vacuum.set()
        for cluster in clusters:
            os.killpg(cluster.pid, 15)
        for cluster in clusters:
            try:
                cluster.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(cluster.pid, 9)

    once = sum(1 for n in mailbox.per_address.values() if n == 1)
    twice = sum(1 for n in mailbox.per_address.values() if n > 1)
    statuses = dict(Message.objects.filter(workspace=workspace).values_list("status").annotate(n=Count("id")))
    elapsed = (mailbox.last or time.time()) - started
    rate = mailbox.count / elapsed if elapsed > 0 else 0.0
    print(
        f"  received: {mailbox.count:,} emails, {once:,} contacts exactly once, "
        f"{twice:,} more than once; outbox {statuses}"
    )
    print(f"  every contact received exactly one email: {once == CONTACTS and twice == 0}")
    print(f"end to end: {rate:,.0f} emails/s")
    print(f"floor: {floor:,.0f} emails/s")
    print(f"ratio: {rate / floor:.2f}")
    print(f"time to the last email: {timedelta(seconds=round(elapsed))}")
    print(f"peak memory per worker: {max(peaks.values(), default=0):.0f} MB")
    sink = sink_cpu / max(mailbox.count, 1) * 1000
    print(f"SMTP server's own CPU (aiosmtpd, on the same cores): {sink:.2f} ms an email")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.JOURNEYS_KICKS = "127.0.0.1", smtp_port, "off"
    sample_elapsed, parts = where_the_time_goes(min(SAMPLE, CONTACTS))
    controller.stop()
    print(f"where the time went (in this process, {min(SAMPLE, CONTACTS):,} contacts, {sample_elapsed:.1f} s):")
    for part, seconds in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"  {part:<38} {seconds:6.1f} s  {100 * seconds / sample_elapsed:5.1f}%")


if __name__ == "__main__":
    main()
