"""The journey report on a big journey: 1,000,000 step-log rows and 1,000,000 outbox messages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/report_bench .venv/bin/python bench/report.py
    .venv/bin/python bench/report.py          # SQLite, a temporary database (BENCH_ENROLLMENTS smaller)

Empties and migrates the database, then loads a journey of five emails with delays between them:
200,000 enrollments over the last 30 days (a fifth still waiting), each with five step-log rows and
five messages (opened and clicked in part), and conversions with revenue, in bulk SQL. Its counts
are built the way a deployment's are for data from before counting (journeys.report.rebuild), and
a few thousand unfolded tallies are added, as the workers leave between two folds.

Then it asks for the report over HTTP (Django's test client, a logged-in marketer: routing, access,
serialization) 20 times and prints the p95; the baseline is the same figures computed by scanning the
step log and the outbox (journeys.report.recount: what the report would cost without the counts),
timed in the same run. Prints figures; never fails on time. Target (issue 12): under 300 ms p95.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENROLLMENTS = int(os.environ.get("BENCH_ENROLLMENTS", 200_000))
EMAILS = 5  # five email nodes: five step rows and five messages per enrollment
CALLS = 20
DAYS = 30


def setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["JOURNEYS_KICKS"] = "off"
    if not os.environ.get("DATABASE_URL"):
        os.environ["WAYLINE_VAR_DIR"] = tempfile.mkdtemp(prefix="wayline-bench-")
    import django

    django.setup()
    from benchlib import fresh_database

    fresh_database()


def definition():
    nodes, edges, previous = [], [], "trigger"
    for i in range(1, EMAILS + 1):
        nodes.append({"id": f"email{i}", "type": "email", "config": {"template": "bench"}})
        edges.append({"from": previous, "to": f"email{i}"})
        previous = f"email{i}"
        if i < EMAILS:
            nodes.append({"id": f"wait{i}", "type": "delay", "config": {"mode": "duration", "duration": "P2D"}})
            edges.append({"from": previous, "to": f"wait{i}"})
            previous = f"wait{i}"
    return {
        "trigger": {"type": "event", "event": "Signed Up"},
        "exit_on": [{"event": "Order Completed", "as_conversion": True}],
        "nodes": nodes,
        "edges": edges,
    }


def columns_and_defaults(model, given):
    """Every concrete column of `model` but the id: an SQL expression from `given`, else the
    field's default as a parameter."""
    from django.db import connection

    names, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        names.append(connection.ops.quote_name(field.column))
        if field.column in given:
            values.append(given[field.column].replace("%", "%%"))  # the SQL has parameters
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    return ", ".join(names), ", ".join(values), params


def series(n):
    from django.db import connection

    if connection.vendor == "postgresql":
        return f"generate_series(1, {n}) AS g(i)"
    return f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s) AS g"


def insert_select(model, given, n, extra_from=""):
    from django.db import connection

    names, values, params = columns_and_defaults(model, given)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {values} FROM {series(n)}{extra_from}", params)


def load():
    from django.db import connection

    from accounts.models import Role
    from delivery import actions as delivery
    from delivery.models import Message
    from journeys import clock
    from journeys.models import Contact, Conversion, Enrollment, Journey, JourneyVersion, StepLog
    from tests.factories import make_member, make_workspace

    workspace = make_workspace("Report bench")
    marketer = make_member(workspace, Role.MARKETER, email="marketer@bench.test")
    _, template = delivery.save_template(
        workspace, None, slug="bench", name="Bench", subject="Hi", mjml="<mjml><mj-body></mj-body></mjml>"
    )
    now = clock.now()
    journey = Journey.objects.create(workspace=workspace, name="Big welcome", status="live", draft=definition())
    versions = [
        JourneyVersion.objects.create(workspace=workspace, journey=journey, number=n, definition=definition())
        for n in (1, 2)
    ]
    journey.live_version = versions[-1]
    journey.save()
    pg = connection.vendor == "postgresql"

    def at(seconds_expr):
        """A time `seconds_expr` seconds before now, as SQL."""
        if pg:
            return f"('{now.isoformat()}'::timestamptz - ({seconds_expr}) * interval '1 second')"
        return f"strftime('%Y-%m-%d %H:%M:%f', '{now.isoformat()[:26]}', '-' || ({seconds_expr}) || ' seconds')"

    span = DAYS * 86400 - 3600
    started = time.perf_counter()
    n = ENROLLMENTS
    # contacts 1..n, one enrollment each (entered i seconds apart over the last 30 days)
    insert_select(
        Contact,
        {
            "workspace_id": str(workspace.pk),
            "user_id": "'u' || g.i",
            "email": "'c' || g.i || '@bench.example'",
        },
        n,
    )
    first_contact = Contact.objects.filter(workspace=workspace).order_by("id").values_list("id", flat=True)[0]
    entered = f"(g.i * {span // n} % {span})"
    insert_select(
        Enrollment,
        {
            "workspace_id": str(workspace.pk),
            "contact_id": f"({first_contact} - 1 + g.i)",
            "journey_id": str(journey.pk),
            "version_id": f"(CASE WHEN g.i % 3 = 0 THEN {versions[0].pk} ELSE {versions[1].pk} END)",
            "status": "(CASE WHEN g.i % 5 = 0 THEN 'waiting' ELSE 'completed' END)",
            "current_node": f"(CASE WHEN g.i % 5 = 0 THEN 'wait' || (1 + g.i % {EMAILS - 1}) ELSE 'email{EMAILS}' END)",
            "entered_at": at(entered),
            "node_entered_at": at(entered),
            "entry_key": "NULL",
            "trigger_key": "'event:' || g.i",
        },
        n,
    )
    first_enrollment = Enrollment.objects.filter(journey=journey).order_by("id").values_list("id", flat=True)[0]
    print(f"loaded {n:,} contacts and enrollments in {time.perf_counter() - started:.0f} s", flush=True)
    # five step rows and five messages per enrollment: row k of enrollment e is g.i = (k-1)*n + e
    enrollment = f"(1 + (g.i - 1) % {n})"
    k = f"(1 + (g.i - 1) / {n})"
    when = f"(({enrollment}) * {span // n} % {span})"
    insert_select(
        StepLog,
        {
            "workspace_id": str(workspace.pk),
            "journey_id": str(journey.pk),
            "enrollment_id": f"({first_enrollment} - 1 + {enrollment})",
            "contact_id": f"({first_contact} - 1 + {enrollment})",
            "version_number": f"(CASE WHEN {enrollment} % 3 = 0 THEN 1 ELSE 2 END)",
            "node": f"'email' || {k}",
            "entered": "TRUE" if pg else "1",
            "left": "TRUE" if pg else "1",
            "outcome": "'sent'",
            "port": "'next'",
            "at": at(when),
        },
        n * EMAILS,
    )
    print(f"loaded {n * EMAILS:,} step-log rows in {time.perf_counter() - started:.0f} s", flush=True)
    insert_select(
        Message,
        {
            "workspace_id": str(workspace.pk),
            "idempotency_key": f"'enrollment:' || {enrollment} || ':email' || {k} || ':1'",
            "contact_id": f"({first_contact} - 1 + {enrollment})",
            "to_email": f"'c' || {enrollment} || '@bench.example'",
            "template_version_id": str(template.pk),
            "enrollment_id": f"({first_enrollment} - 1 + {enrollment})",
            "journey_id": str(journey.pk),
            "node_id": f"'email' || {k}",
            "visit": "1",
            "status": "'sent'",
            "token": "'t' || g.i",
            "subject": "'Hi'",
            "sent_at": at(when),
            "opened_at": f"(CASE WHEN g.i % 3 = 0 THEN {at(when)} END)",
            "open_count": "(CASE WHEN g.i % 3 = 0 THEN 1 ELSE 0 END)",
            "clicked_at": f"(CASE WHEN g.i % 10 = 0 THEN {at(when)} END)",
            "click_count": "(CASE WHEN g.i % 10 = 0 THEN 1 ELSE 0 END)",
            "created_at": at(when),
            "updated_at": at(when),
        },
        n * EMAILS,
    )
    print(f"loaded {n * EMAILS:,} messages in {time.perf_counter() - started:.0f} s", flush=True)
    insert_select(
        Conversion,
        {
            "workspace_id": str(workspace.pk),
            "journey_id": str(journey.pk),
            "version_id": f"(CASE WHEN g.i * 7 % 3 = 0 THEN {versions[0].pk} ELSE {versions[1].pk} END)",
            "enrollment_id": f"({first_enrollment} - 1 + g.i * 7)",
            "contact_id": f"({first_contact} - 1 + g.i * 7)",
            "goal": "'Order Completed'",
            "revenue": "(g.i % 200 + 0.99)",
            "currency": "'USD'",
            "node": f"'email' || (1 + g.i % {EMAILS})",
            "touch": "'click'",
            "at": at(f"(g.i * 7 * {span // n} % {span})"),
        },
        n // 7,
    )
    if pg:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
    return workspace, marketer, journey, now


def main():
    setup()
    from django.test import Client
    from django.test.utils import setup_test_environment

    from journeys import report
    from journeys.models import ReportTally, ReportTotal, StepLog

    setup_test_environment()
    workspace, marketer, journey, now = load()
    from delivery.models import Message

    steps = StepLog.objects.filter(journey=journey).count()
    messages = Message.objects.filter(journey_id=journey.pk).count()
    started = time.perf_counter()
    keys = report.rebuild(journey)
    print(f"counts built from the logs (rebuild): {keys:,} keys in {time.perf_counter() - started:.1f} s")
    # What the workers leave between two folds: a few thousand tallies.
    for i in range(3000):
        report.tally([(workspace.pk, journey.pk, 2, now, f"email{1 + i % EMAILS}", report.SENT, "", 1, None)])
    print(
        f"counted rows: {ReportTotal.objects.filter(journey=journey).count():,} totals, "
        f"{ReportTally.objects.filter(journey=journey).count():,} tallies"
    )

    client = Client()
    client.force_login(marketer)
    url = f"/api/journeys/{journey.pk}/report"
    response = client.get(url, HTTP_HOST="127.0.0.1")
    assert response.status_code == 200, response.content[:500]
    figures = response.json()
    times = []
    for _ in range(CALLS):
        t = time.perf_counter()
        response = client.get(url, HTTP_HOST="127.0.0.1")
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
    times.sort()
    p95 = times[int(0.95 * (CALLS - 1) + 0.5)]

    scans = []
    for _ in range(3):
        t = time.perf_counter()
        report.recount(journey)
        scans.append((time.perf_counter() - t) * 1000)
    baseline = statistics.median(scans)

    totals = figures["totals"]
    print(
        f"journey: {steps:,} step-log rows, {messages:,} messages, {totals['entries']:,} entries in 30 days, "
        f"{totals['conversions']:,} conversions, revenue {totals['revenue']}"
    )
    print(f"report p95 of {CALLS} calls: {p95:.0f} ms")
    print(f"report median: {statistics.median(times):.0f} ms (min {times[0]:.0f}, max {times[-1]:.0f})")
    print(f"baseline (scanning the step log and the outbox): {baseline:.0f} ms")
    print(f"ratio: {baseline / p95:.1f}x faster than the baseline")


if __name__ == "__main__":
    main()
