"""Predicted customer value on real purchases (issue 14): the CDNOW sample through the real API.

    .venv/bin/python bench/predict.py                           # SQLite (a fresh database in a temp dir)
    DATABASE_URL=postgres://... .venv/bin/python bench/predict.py
    CDNOW_DIR=/work/shared/data/cdnow (default)

Creates a workspace and a write key, sends every purchase of the CDNOW sample (6,919 lines of
transactions.txt, 2,357 customers who first bought in Jan-Mar 1997) to /v1/batch as an
`Order Completed` track call with its historical timestamp (one order per line, order_id unique,
userId = the customer), runs the ingestion worker's step (events.process_now), then the same fit
the nightly job runs (fit.fit_workspace) with the calibration period ending on 1997-09-30.

It checks that each stored order's placed_at is its historical timestamp.

Prints, each on its own line: the BG/NBD parameters beside the published ones (Fader, Hardie &
Lee 2005), the log-likelihood, the largest relative error (goal: within 1%), the Gamma-Gamma
parameters, and predicted against actual repeat purchases in the 39 holdout weeks (1997-10-01 to
1998-06-30): in total and by the number of repeat purchases in the calibration period (0..7+).
Never fails on time.
"""

import json
import os
import sys
import tempfile
import time
import uuid
from base64 import b64encode
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = Path(os.environ.get("CDNOW_DIR", "/work/shared/data/cdnow"))
CALIBRATION_END = datetime(1997, 9, 30, 23, 59, 59, tzinfo=UTC)
HOLDOUT_END = datetime(1998, 6, 30, 23, 59, 59, tzinfo=UTC)
HOLDOUT_WEEKS = 39
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LOGLIK = -9582.4
BATCH = 500


def setup_environment():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
    os.environ["INGEST_RATE_LIMIT"] = "10000000"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if not os.environ.get("DATABASE_URL"):
        os.environ["WAYLINE_VAR_DIR"] = tempfile.mkdtemp(prefix="wayline-bench-")
    import django

    django.setup()
    from benchlib import fresh_database

    fresh_database()


def read_transactions():
    """[(line number, customer, day, CDs, dollars)] from transactions.txt."""
    rows = []
    for n, line in enumerate((DATA / "transactions.txt").read_text().splitlines(), start=1):
        _, customer, day, cds, dollars = line.split()
        rows.append((n, int(customer), date(int(day[:4]), int(day[4:6]), int(day[6:])), int(cds), dollars))
    return rows


def at_noon(day):
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def post(client, key, body):
    auth = "Basic " + b64encode(f"{key}:".encode()).decode()
    answer = client.generic("POST", "/v1/batch", json.dumps(body).encode(), "application/json", HTTP_AUTHORIZATION=auth)
    if answer.status_code != 200:
        sys.exit(f"/v1/batch answered {answer.status_code}: {answer.content[:300]!r}")


def order_call(n, customer, day, cds, dollars):
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": f"cdnow-{customer}",
        "messageId": f"cdnow-line-{n}",
        "timestamp": at_noon(day).isoformat(),
        "properties": {"order_id": f"cdnow-{n}", "total": float(dollars), "quantity": cds, "currency": "USD"},
    }


def main():
    setup_environment()
    from django.db import connection
    from django.test import Client

    from accounts import actions
    from journeys.customers import events
    from journeys.customers.ingest_api import writer
    from journeys.models import Contact, Order
    from journeys.predictions import clv, fit

    print(f"Wayline customer-value bench on {connection.vendor}, CDNOW sample from {DATA}")
    workspace = actions.create_workspace(f"CDNOW {uuid.uuid4().hex[:6]}")
    _, key = actions.create_write_key(workspace, None, "bench")
    client = Client()
    rows = read_transactions()

    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        post(client, key, {"batch": [order_call(*row) for row in rows[start : start + BATCH]]})
    sent = time.perf_counter() - started
    started = time.perf_counter()
    events.process_now(workspace.pk)
    processed = time.perf_counter() - started
    stored = dict(Order.objects.filter(workspace=workspace).values_list("order_id", "placed_at"))
    wrong = sum(1 for n, _, day, _, _ in rows if stored.get(f"cdnow-{n}") != at_noon(day))
    print(
        f"sent {len(rows)} orders in {sent:.1f} s, processed in {processed:.1f} s; stored {len(stored)}, "
        f"{len(rows) - wrong} with placed_at = their historical timestamp, {wrong} without"
    )

    calibration_end = CALIBRATION_END
    started = time.perf_counter()
    result = fit.fit_workspace(workspace.pk, calibration_end=calibration_end)
    took = time.perf_counter() - started
    if result.status != "done":
        sys.exit(f"fit {result.status}: {result.message}")
    params, quality = result.params, result.quality
    print(f"fit: {took:.1f} s, {quality['customers']} customers, {quality['repeaters']} with repeat purchases")
    for name in ("r", "alpha", "a", "b"):
        print(f"{name} = {params[name]:.4f} (published {PUBLISHED[name]})")
    print(f"log-likelihood = {quality['log_likelihood']:.1f} (published {PUBLISHED_LOGLIK})")
    errors = {name: abs(params[name] - PUBLISHED[name]) / PUBLISHED[name] for name in PUBLISHED}
    print(f"max relative error vs published: {max(errors.values()) * 100:.1f}% (goal within 1%)")
    print(
        f"Gamma-Gamma: p = {params['p']:.2f}, q = {params['q']:.2f}, v = {params['v']:.2f} "
        "(the lifetimes docs on the same data: 6.25, 3.74, 15.45)"
    )

    # The same summary the fit read, checked against the paper's (summary.csv).
    summary, _ = fit.read_summary(workspace.pk, calibration_end)
    user_of = dict(Contact.objects.filter(workspace=workspace).values_list("id", "user_id"))
    published = {}
    with open(DATA / "summary.csv") as handle:
        next(handle)
        for line in handle:
            customer, x, t_x, T = line.strip().split(",")
            published[f"cdnow-{customer}"] = (int(x), float(t_x), float(T))
    same = sum(
        1
        for i, contact_id in enumerate(summary.ids)
        if (expected := published.get(user_of[contact_id]))
        and expected[0] == summary.x[i]
        and abs(expected[1] - summary.t_x[i]) < 0.006
        and abs(expected[2] - summary.T[i]) < 0.006
    )
    print(f"summary from the stored orders vs summary.csv: {same}/{len(published)} customers identical")

    # Holdout: 1997-10-01 .. 1998-06-30, repeat purchases counted per distinct day as in calibration.
    holdout_days = defaultdict(set)
    for contact_id, placed_at in Order.objects.filter(
        workspace=workspace, status="completed", placed_at__gt=calibration_end, placed_at__lte=HOLDOUT_END
    ).values_list("contact_id", "placed_at"):
        holdout_days[contact_id].add(placed_at.date())
    bg = (params["r"], params["alpha"], params["a"], params["b"])
    predicted = clv.expected_purchases(HOLDOUT_WEEKS, summary.x, summary.t_x, summary.T, bg)
    actual = [len(holdout_days.get(contact_id, ())) for contact_id in summary.ids]
    print(
        f"holdout repeat purchases, {HOLDOUT_WEEKS} weeks: predicted {predicted.sum():.0f}, actual {sum(actual)} "
        f"({(predicted.sum() - sum(actual)) / sum(actual) * 100:+.1f}%)"
    )
    print("calibration repeat purchases | customers | actual per customer | predicted per customer")
    for group in range(8):
        members = [i for i, x in enumerate(summary.x) if (x == group if group < 7 else x >= 7)]
        label = f"{group}" if group < 7 else "7+"
        mean_actual = sum(actual[i] for i in members) / len(members)
        mean_predicted = sum(predicted[i] for i in members) / len(members)
        print(f"{label:>28} | {len(members):>9} | {mean_actual:>19.2f} | {mean_predicted:>22.2f}")
    writer.close_connection()


if __name__ == "__main__":
    main()
