"""A contact's predictions on its profile, in plain words (issue 14): what the customer-value fit
stored, as the marketer reads it, on a desktop and on a phone."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from journeys import clock
from journeys.models import Contact, ContactPrediction

# The page is the same on either database and its server side is tested on both (tests/api, the
# apps' own tests): in the browser once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]


def test_the_profile_shows_the_prediction_and_its_explanation(page_for, marketer, workspace):
    contact = Contact.objects.create(workspace=workspace, user_id="ann", email="ann@example.com", orders_count=3)
    last = clock.now().date() - timedelta(days=14)
    ContactPrediction.objects.create(
        workspace=workspace,
        contact=contact,
        orders_next_90d=1.24,
        probability_active=0.82,
        clv_365d=Decimal("54.00"),
        churn_risk="low",
        next_order_date=date(2027, 1, 15),
        inputs={"orders": 3, "weeks_first_to_last": 20, "last_order_on": last.isoformat(), "currency": "USD"},
        clv_fitted_at=clock.now(),
    )
    for viewport in (None, {"width": 390, "height": 844}):
        page = page_for(marketer, viewport=viewport) if viewport else page_for(marketer)
        page.goto(f"/contacts/{contact.pk}")
        card = page.get_by_role("region", name="Predicted")
        expect(card).to_contain_text("Churn risk: low")
        expect(page.get_by_test_id("prediction-explanation")).to_have_text(
            "3 orders in 20 weeks, the last 2 weeks ago: likely to order about 1.2 times in the next 90 days "
            "(82% likely still active). Expected to spend $54.00 in the next year."
        )
        expect(card).to_contain_text("Jan 15, 2027")
        assert page.console_errors == []


def test_the_predictions_page_says_why_a_model_refused_and_who_may_fit(page_for, marketer, qa, workspace):
    from journeys.predictions import fit

    refused = fit.fit_workspace(workspace.pk)  # no orders at all
    assert refused.status == "refused"
    page = page_for(marketer)
    page.goto("/settings/predictions")
    expect(page.get_by_test_id("fit-message-clv")).to_have_text(refused.message)
    expect(page.get_by_role("button", name="Fit customer value now")).to_be_visible()
    assert page.console_errors == []
    page = page_for(qa)
    page.goto("/settings/predictions")
    expect(page.get_by_test_id("fit-message-clv")).to_be_visible()
    expect(page.get_by_role("button", name="Fit customer value now")).to_have_count(0)
