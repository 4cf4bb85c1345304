"""Fitting a workspace's customer-value models and storing what they predict per contact.

`fit_workspace(workspace_id)` is what the nightly job and the "fit now" button run: it reads the
completed orders of the workspace's contacts (merged-away contacts left out: their orders moved to
the contact they were merged into), refuses when there is too little to learn from, else fits
BG/NBD and Gamma-Gamma (journeys/predictions/clv.py) and upserts one ContactPrediction per contact
with orders. Dynamic segments whose rule reads `predicted.*` are then re-evaluated for the
contacts whose prediction was written, and the ready segments' thresholds brought up to date.

How much is enough (`MIN_*`): the BG/NBD literature and practice fit on a cohort of at least a
few hundred customers; below about a hundred, or with fewer than a couple of dozen repeat buyers,
the dropout parameters (a, b) and the Gamma-Gamma parameters cannot be told apart from noise; and
the calibration period should cover several purchase cycles, at least a quarter (90 days).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal

import numpy as np
from django.db import transaction

from accounts.models import Workspace

from .. import clock, kicks
from ..customers import segments
from ..models import ContactPrediction, Order, PredictionFit
from . import clv, ready, runs

log = logging.getLogger(__name__)

MIN_CUSTOMERS = 100  # contacts with a completed order
MIN_REPEATERS = 20  # of them, contacts who ordered again on a later day
MIN_HISTORY_DAYS = 90  # from the first order to the calibration end
CHUNK = 1000  # predictions written per query
# A fit of a large workspace outlasts the cluster's 60 s task timeout; the broker may also hand
# it to a second worker after Q_CLUSTER["retry"], which then finds it running and returns.
TASK_TIMEOUT = 30 * 60

PREDICTED_FIELDS = [
    "orders_next_90d",
    "probability_active",
    "clv_365d",
    "churn_risk",
    "next_order_date",
    "inputs",
    "clv_fitted_at",
    "updated_at",
]


def fit_workspace(workspace_id, calibration_end=None, now=None) -> PredictionFit:
    """Fit the customer-value models on the workspace's orders up to `calibration_end` (default:
    now) and store the predictions. Returns the PredictionFit row: done, refused (too little data,
    `message` says how much is needed and how much there is) or failed. While another fit of the
    workspace is running, returns that one instead of starting a second."""
    now = now or clock.now()
    fit = runs.run(workspace_id, PredictionFit.Kind.CLV, now, _fit, calibration_end=calibration_end or now)
    try:
        # The ready segments' thresholds follow the workspace's customers and, once there are
        # predictions, its predicted churn risk and value (journeys/predictions/ready.py).
        ready.ensure_ready_segments(Workspace.objects.get(pk=workspace_id), clock.now())
    except Exception:
        log.exception("keeping the ready segments of workspace %s failed", workspace_id)
    return fit


def _fit(fit, now):
    summary, currency = read_summary(fit.workspace_id, fit.calibration_end)
    history_days = round(float(summary.T.max()) * 7) if len(summary) else 0  # T is in weeks of days
    counts = {"customers": len(summary), "repeaters": summary.repeaters, "history_days": history_days}
    refusal = too_little(**counts)
    if refusal:
        runs.finish(fit, PredictionFit.Status.REFUSED, message=refusal, quality=counts)
        return
    r, alpha, a, b, loglik = clv.fit_bgnbd(summary.x, summary.t_x, summary.T)
    p, q, v, gg_loglik = clv.fit_gamma_gamma(summary.x, summary.mean_value)
    params = {"r": r, "alpha": alpha, "a": a, "b": b, "p": p, "q": q, "v": v}
    if not all(np.isfinite(list(params.values()))):
        runs.finish(fit, PredictionFit.Status.FAILED, message="The fit found no finite parameters.", params=params)
        return
    predictions = clv.predict(summary, (r, alpha, a, b), (p, q, v))
    written = store_predictions(fit, summary, predictions, currency, now)
    repeat = summary.x > 0
    quality = {
        **counts,
        "log_likelihood": loglik,
        "gamma_gamma_log_likelihood": gg_loglik,
        # Gamma-Gamma assumes a customer's order value does not depend on how often they buy:
        # near 0 is what it needs.
        "frequency_value_correlation": _correlation(summary.x[repeat], summary.mean_value[repeat]),
        "predictions": written,
    }
    runs.finish(fit, PredictionFit.Status.DONE, params=params, quality=quality)


def too_little(customers, repeaters, history_days) -> str:
    """Why there is too little data to fit, in plain words with the numbers needed and had; ""
    when there is enough."""
    if customers >= MIN_CUSTOMERS and repeaters >= MIN_REPEATERS and history_days >= MIN_HISTORY_DAYS:
        return ""
    return (
        "Not enough order history to predict customer value yet. It needs at least "
        f"{MIN_CUSTOMERS} contacts with orders (there are {customers}), at least {MIN_REPEATERS} of "
        f"them who ordered again on a later day (there are {repeaters}), and at least "
        f"{MIN_HISTORY_DAYS} days since the first order (there are {history_days}). "
        "No predictions were made; the nightly fit tries again."
    )


def read_summary(workspace_id, calibration_end):
    """The workspace's customers' summary (clv.summarize) from their completed orders up to
    `calibration_end`, and each contact's currency (that of their latest order)."""
    times, values, currencies = defaultdict(list), defaultdict(list), {}
    orders = (
        Order.objects.filter(
            workspace_id=workspace_id,
            status="completed",
            placed_at__lte=calibration_end,
            contact__merged_into__isnull=True,
        )
        .order_by("contact_id", "placed_at")
        .values_list("contact_id", "placed_at", "net", "currency")
    )
    for contact_id, placed_at, net, currency in orders.iterator(chunk_size=5000):
        times[contact_id].append(placed_at)
        values[contact_id].append(float(net))
        currencies[contact_id] = currency
    return clv.summarize(times, calibration_end, values), currencies


def store_predictions(fit, summary, predictions, currencies, now) -> int:
    """Upsert one ContactPrediction per summarized contact (CHUNK a query), keeping what other
    fits wrote on the same rows (send-time engagement); the customer-value fields of contacts
    that no longer have orders are cleared. Then the dynamic segments that read `predicted.*`
    are re-evaluated for all of them."""
    rows = [
        ContactPrediction(
            workspace_id=fit.workspace_id,
            contact_id=contact_id,
            orders_next_90d=prediction.orders_next_90d,
            probability_active=prediction.probability_active,
            clv_365d=_money(prediction.clv_365d),
            churn_risk=prediction.churn_risk,
            next_order_date=prediction.next_order_date,
            inputs={
                "orders": int(summary.x[i]) + 1,
                "repeat_orders": int(summary.x[i]),
                "weeks_first_to_last": round(float(summary.t_x[i]), 2),
                "weeks_since_first": round(float(summary.T[i]), 2),
                "average_order_value": str(_money(summary.average_value[i])),
                "last_order_on": summary.last_day[i].isoformat(),
                "currency": currencies.get(contact_id) or "USD",
                "as_of": summary.end_day.isoformat(),
            },
            clv_fitted_at=now,
            updated_at=now,
        )
        for i, (contact_id, prediction) in enumerate(zip(summary.ids, predictions, strict=True))
    ]
    for start in range(0, len(rows), CHUNK):
        with transaction.atomic():
            ContactPrediction.objects.bulk_create(
                rows[start : start + CHUNK],
                update_conflicts=True,
                unique_fields=["contact"],
                update_fields=PREDICTED_FIELDS,
            )
    stale = ContactPrediction.objects.filter(workspace_id=fit.workspace_id, clv_fitted_at__isnull=False).exclude(
        clv_fitted_at=now
    )
    gone = list(stale.values_list("contact_id", flat=True))
    stale.update(
        orders_next_90d=None,
        probability_active=None,
        clv_365d=None,
        churn_risk="",
        next_order_date=None,
        inputs={},
        clv_fitted_at=None,
        updated_at=now,
    )
    segments.refresh_predicted(fit.workspace_id, [*summary.ids, *gone], clock.now())
    return len(rows)


def fit_every_workspace():
    """The nightly job: one fit task per workspace that has a completed order."""
    workspace_ids = Order.objects.filter(status="completed").values_list("workspace_id", flat=True).distinct()
    for workspace_id in sorted(set(workspace_ids)):
        enqueue_fit(workspace_id)


def enqueue_fit(workspace_id):
    """Fit the workspace in a worker (the nightly job, the API's "fit now")."""
    kicks.enqueue("journeys.predictions.tasks.task_fit", workspace_id, timeout=TASK_TIMEOUT)


def latest_fits(workspace_id) -> list[PredictionFit]:
    """The latest fit of each kind for the workspace."""
    fits = []
    for kind in PredictionFit.Kind.values:
        found = PredictionFit.objects.filter(workspace_id=workspace_id, kind=kind).order_by("-started_at", "-id")
        if (latest := found.first()) is not None:
            fits.append(latest)
    return fits


def _money(value):
    if value is None or not np.isfinite(value):
        return None
    return Decimal(str(round(float(value), 2))).quantize(Decimal("0.01"))


def _correlation(a, b):
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])
