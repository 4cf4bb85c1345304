"""Predicted customer value (issue 14): BG/NBD and Gamma-Gamma fitted on a workspace's orders
reproduce the published CDNOW estimates; a fit stores each contact's prediction, explains it on the
profile, refuses thin data with how much is needed, feeds branch rules and segments, and never
reads another workspace's orders."""

import csv
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from rest_framework.test import APIClient

from journeys import clock
from journeys.customers import segments
from journeys.models import Contact, ContactPrediction, Order, PredictionFit, Segment, SegmentMembership
from journeys.predictions import clv, fit
from tests.engine.conftest import definition, enrollment_of, publish, run_worker, steps, track

# A copy of ../shared/data/cdnow (the CDNOW sample as the MIT-licensed `lifetimes` package ships it),
# kept with the tests so that they always run.
DATA = Path(__file__).resolve().parent / "cdnow"
CALIBRATION_END = datetime(1997, 9, 30, 23, 59, 59, tzinfo=UTC)
FIT_AT = datetime(1997, 10, 1, 6, 0, tzinfo=UTC)
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee 2005
PUBLISHED_LOGLIK = -9582.4
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}  # the same data, repeat customers


def cdnow_purchases():
    """{customer id: [(day, dollars)]} from the CDNOW sample (its second column is the id the
    summary uses)."""
    purchases = defaultdict(list)
    for line in (DATA / "transactions.txt").read_text().splitlines():
        _, customer, day, _, dollars = line.split()
        purchases[int(customer)].append((date(int(day[:4]), int(day[4:6]), int(day[6:])), float(dollars)))
    return purchases


def published_summary():
    with open(DATA / "summary.csv") as handle:
        return {int(row["ID"]): row for row in csv.DictReader(handle)}


def shop(workspace, purchases, prefix="cd"):
    """Contacts and completed orders (at noon UTC of each purchase day) made directly, with the
    order count and lifetime value ingestion would keep."""
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                workspace=workspace,
                user_id=f"{prefix}-{customer}",
                orders_count=len(rows),
                lifetime_value=Decimal(str(round(sum(dollars for _, dollars in rows), 2))),
            )
            for customer, rows in purchases.items()
        ]
    )
    by_user = {c.user_id: c for c in Contact.objects.filter(workspace=workspace, pk__in=[c.pk for c in contacts])}
    orders = [
        Order(
            workspace=workspace,
            contact=by_user[f"{prefix}-{customer}"],
            order_id=f"{prefix}-{customer}-{n}",
            revenue=Decimal(str(dollars)),
            net=Decimal(str(dollars)),
            placed_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
        )
        for customer, rows in purchases.items()
        for n, (day, dollars) in enumerate(rows)
    ]
    Order.objects.bulk_create(orders)
    return by_user


def first_customers(count):
    purchases = cdnow_purchases()
    return {customer: purchases[customer] for customer in sorted(purchases)[:count]}


# -- the pure models ------------------------------------------------------------------------------


def test_it_reproduces_the_published_bgnbd_estimates_on_the_cdnow_summary():
    rows = published_summary().values()
    x, t_x, T = (np.array([float(row[key]) for row in rows]) for key in ("frequency", "recency", "T"))
    r, alpha, a, b, loglik = clv.fit_bgnbd(x, t_x, T)
    for name, value in {"r": r, "alpha": alpha, "a": a, "b": b}.items():
        assert value == pytest.approx(PUBLISHED[name], rel=0.01), name
    assert loglik == pytest.approx(PUBLISHED_LOGLIK, abs=0.5)


def test_summarize_reproduces_the_cdnow_summary_from_the_transactions():
    purchases = cdnow_purchases()
    times = {customer: [day for day, _ in rows] for customer, rows in purchases.items()}
    summary = clv.summarize(times, CALIBRATION_END)
    published = published_summary()
    assert sorted(summary.ids) == sorted(published)
    for i, customer in enumerate(summary.ids):
        row = published[customer]
        assert summary.x[i] == int(row["frequency"]), customer
        assert summary.t_x[i] == pytest.approx(float(row["recency"]), abs=0.005), customer
        assert summary.T[i] == pytest.approx(float(row["T"]), abs=0.005), customer


def test_gamma_gamma_reproduces_the_published_order_value_estimates():
    purchases = cdnow_purchases()
    times = {c: [day for day, _ in rows] for c, rows in purchases.items()}
    values = {c: [dollars for _, dollars in rows] for c, rows in purchases.items()}
    summary = clv.summarize(times, CALIBRATION_END, values)
    p, q, v, _ = clv.fit_gamma_gamma(summary.x, summary.mean_value)
    assert (p, q, v) == pytest.approx(
        (PUBLISHED_GAMMA_GAMMA["p"], PUBLISHED_GAMMA_GAMMA["q"], PUBLISHED_GAMMA_GAMMA["v"]), rel=0.01
    )


def test_predictions_follow_the_paper_s_shape():
    params = (0.243, 4.414, 0.793, 2.426)
    x, t_x, T = np.array([0, 2, 2, 20]), np.array([0, 30, 2, 38]), np.array([39, 39, 39, 39])
    alive = clv.probability_alive(x, t_x, T, params)
    assert alive[0] == 1  # no repeat purchase: cannot have dropped out after one
    assert alive[1] > alive[2]  # same purchases, the last one more recent
    expected = clv.expected_purchases(39, x, t_x, T, params)
    assert np.all(np.isfinite(expected)) and expected[3] > expected[1] > expected[2] > 0
    # Many purchases: the hypergeometric term overflows; the guard keeps a finite answer.
    assert np.isfinite(clv.expected_purchases(52, [400], [38.9], [39], params)).all()
    assert clv.churn_risk([0.1, 0.5, 0.9]) == ["high", "medium", "low"]
    assert clv.next_order_day(date(2025, 1, 1), date(2025, 1, 10), 2, 0.2) is None
    assert clv.next_order_day(date(2025, 1, 1), date(2025, 1, 10), 2, 0.8) == date(2025, 1, 15)
    assert clv.next_order_day(date(2025, 1, 1), date(2025, 3, 1), 2, 0.8) == date(2025, 3, 15)


# -- fitting a workspace -----------------------------------------------------------------------------


def test_it_stores_a_prediction_per_contact_with_orders_and_explains_it(workspace, api, qa):
    contacts = shop(workspace, first_customers(300))
    no_orders = Contact.objects.create(workspace=workspace, user_id="browser-only")

    found = fit.fit_workspace(workspace.pk, calibration_end=CALIBRATION_END, now=FIT_AT)

    assert found.status == PredictionFit.Status.DONE, found.message
    assert set(found.params) == {"r", "alpha", "a", "b", "p", "q", "v"}
    assert found.quality["customers"] == 300 and found.quality["log_likelihood"] < 0
    stored = ContactPrediction.objects.filter(workspace=workspace)
    assert stored.count() == 300 and not stored.filter(contact=no_orders).exists()
    assert set(stored.values_list("churn_risk", flat=True)) <= {"low", "medium", "high"}
    for row in stored:
        assert row.clv_365d >= 0 and 0 <= row.probability_active <= 1
        assert (row.next_order_date is None) == (row.churn_risk == "high")

    # Customer 1 of the sample: 3 purchase days (Jan 1, Jan 18, Aug 2), 2 repeat purchases.
    one = ContactPrediction.objects.get(contact=contacts["cd-1"])
    assert one.inputs["orders"] == 3 and one.inputs["repeat_orders"] == 2
    with clock.frozen(FIT_AT):
        answer = api(qa).get(f"/api/contacts/{contacts['cd-1'].pk}").json()["prediction"]
    assert answer["churn_risk"] == one.churn_risk
    assert answer["orders_next_90d"] == pytest.approx(one.orders_next_90d)
    assert answer["explanation"].startswith("3 orders in 30 weeks, the last 9 weeks ago: likely to order about")
    assert f"({round(one.probability_active * 100)}% likely still active)" in answer["explanation"]
    assert f"Expected to spend ${one.clv_365d:,.2f} in the next year." in answer["explanation"]
    assert api(qa).get(f"/api/contacts/{no_orders.pk}").json()["prediction"] == {}


def test_too_little_data_is_refused_with_how_much_is_needed(workspace):
    ten = {n: [(date(2025, 1, 1), 20.0), (date(2025, 2, 1), 30.0)] for n in range(10)}
    shop(workspace, ten)

    found = fit.fit_workspace(workspace.pk, now=datetime(2025, 3, 1, tzinfo=UTC))

    assert found.status == PredictionFit.Status.REFUSED
    assert "at least 100 contacts with orders (there are 10)" in found.message
    assert "at least 20 of them who ordered again on a later day (there are 10)" in found.message
    assert "at least 90 days since the first order (there are 59)" in found.message
    assert found.params == {} and not ContactPrediction.objects.filter(workspace=workspace).exists()


def test_another_workspace_s_orders_are_never_used(workspace, other_workspace):
    shop(workspace, first_customers(150))
    theirs = shop(other_workspace, first_customers(400), prefix="other")

    found = fit.fit_workspace(workspace.pk, calibration_end=CALIBRATION_END, now=FIT_AT)

    assert found.status == PredictionFit.Status.DONE
    assert found.quality["customers"] == 150
    assert ContactPrediction.objects.filter(workspace=workspace).count() == 150
    assert not ContactPrediction.objects.filter(contact__in=theirs.values()).exists()
    assert not PredictionFit.objects.filter(workspace=other_workspace).exists()


# -- rules and segments read the stored prediction --------------------------------------------------


def predicted(contact, churn_risk):
    return ContactPrediction.objects.create(
        workspace_id=contact.workspace_id,
        contact=contact,
        orders_next_90d=0.4,
        probability_active={"high": 0.1, "low": 0.9}[churn_risk],
        clv_365d=Decimal("12.50"),
        churn_risk=churn_risk,
        clv_fitted_at=clock.now(),
    )


def test_a_branch_on_predicted_churn_risk_routes_by_the_stored_prediction(workspace, settings):
    settings.JOURNEYS_KICKS = "off"
    flow = definition(
        ("risk", "branch", {"condition": {"field": "predicted.churn_risk", "op": "eq", "value": "high"}}),
        ("win_back", "exit", {}),
        ("fine", "exit", {}),
        edges=[("trigger", "risk"), ("risk", "yes", "win_back"), ("risk", "no", "fine")],
    )
    journey = publish(workspace, flow)
    leaving = Contact.objects.create(workspace=workspace, user_id="leaving", email="leaving@example.com")
    staying = Contact.objects.create(workspace=workspace, user_id="staying", email="staying@example.com")
    never = Contact.objects.create(workspace=workspace, user_id="never", email="never@example.com")
    predicted(leaving, "high")
    predicted(staying, "low")

    for contact in (leaving, staying, never):
        track(contact, "Signed Up")
    run_worker()

    def reached(contact):
        return {node for node, _ in steps(enrollment_of(journey, contact))}

    assert "win_back" in reached(leaving) and "fine" not in reached(leaving)
    assert "fine" in reached(staying) and "win_back" not in reached(staying)
    assert "fine" in reached(never)  # no prediction: `predicted` is {}, the condition is false


def test_a_segment_on_predicted_churn_risk_gets_its_members_after_a_fit(workspace):
    contacts = shop(workspace, first_customers(300))
    rule = {"field": "predicted.churn_risk", "op": "eq", "value": "high"}
    segment = segments.create_segment(workspace, None, {"name": "Slipping away", "rule": rule}, clock.now())
    assert not SegmentMembership.objects.filter(segment=segment).exists()  # nothing predicted yet

    fit.fit_workspace(workspace.pk, calibration_end=CALIBRATION_END, now=FIT_AT)

    high = set(
        ContactPrediction.objects.filter(workspace=workspace, churn_risk="high").values_list("contact_id", flat=True)
    )
    members = set(
        SegmentMembership.objects.filter(segment=segment, left_at__isnull=True).values_list("contact_id", flat=True)
    )
    assert high and members == high
    assert members <= {c.pk for c in contacts.values()}
    assert Segment.objects.get(pk=segment.pk).rule == rule


def test_a_segment_rule_may_read_predicted_and_the_context_has_it(workspace):
    assert segments.validate_rule({"field": "predicted.churn_risk", "op": "eq", "value": "high"}) == {}
    from journeys.customers import context

    contact = Contact.objects.create(workspace=workspace, user_id="c1")
    assert context.build(contact)["predicted"] == {}
    row = predicted(contact, "high")
    fresh = Contact.objects.get(pk=contact.pk)
    built = context.build(fresh)["predicted"]
    assert built["churn_risk"] == "high" and built["clv_365d"] == Decimal("12.50")
    assert built["fitted_at"] == row.clv_fitted_at.isoformat() and built["next_order_date"] is None


# -- the API -----------------------------------------------------------------------------------------


def test_a_viewer_reads_the_latest_fit_and_cannot_start_one(workspace, api, qa, marketer, outsider, run_queued):
    fit.fit_workspace(workspace.pk)  # no orders: refused
    listed = api(qa).get("/api/predictions")
    assert listed.status_code == 200
    assert [(row["kind"], row["status"]) for row in listed.json()] == [("clv", "refused")]
    assert "at least 100 contacts with orders" in listed.json()[0]["message"]
    assert api(qa).post("/api/predictions/fit").status_code == 403
    assert api(outsider).get("/api/predictions").json() == []
    assert APIClient().get("/api/predictions").status_code == 401

    started = api(marketer).post("/api/predictions/fit")
    assert started.status_code == 202 and started.json()["queued"] is True
    run_queued()
    assert PredictionFit.objects.filter(workspace=workspace).count() == 2


def test_the_nightly_job_fits_every_workspace_with_orders(workspace, other_workspace, run_queued):
    from django_q.models import Schedule

    from journeys.predictions import tasks

    tasks.ensure_schedule()
    tasks.ensure_schedule()  # after every migrate: still one schedule
    nightly = Schedule.objects.get(func="journeys.predictions.tasks.fit_all")
    assert nightly.schedule_type == Schedule.DAILY and nightly.repeats == -1
    shop(workspace, {1: [(date(2025, 1, 1), 20.0)]})

    tasks.fit_all()
    run_queued()

    assert PredictionFit.objects.filter(workspace=workspace).count() == 1
    assert not PredictionFit.objects.filter(workspace=other_workspace).exists()  # no orders: not fitted
