"""The demo's predictions (issue 14): its two years of orders fit the customer-value models, and a
branch on predicted.churn_risk routes the demo's contacts by their own prediction, through the
engine."""

from journeys import lifecycle
from journeys.customers import demo as customers_demo
from journeys.models import ContactPrediction, Enrollment, PredictionFit
from journeys.predictions import demo as predictions_demo
from tests.engine.conftest import definition, publish, run_worker

BY_RISK = definition(
    ("risk", "branch", {"condition": {"field": "predicted.churn_risk", "op": "eq", "value": "high"}}),
    ("win_back", "email", {"template": "win-back"}),
    ("thanks", "email", {"template": "welcome"}),
    edges=[("trigger", "risk"), ("risk", "yes", "win_back"), ("risk", "no", "thanks")],
    trigger={"type": "api"},
)


def test_a_branch_on_churn_risk_routes_the_demo_s_contacts(workspace, fake_email):
    customers_demo.seed(workspace)
    assert predictions_demo.seed(workspace)["customer_value"] == "done"
    fitted = PredictionFit.objects.get(workspace=workspace, kind="clv")
    assert fitted.quality["customers"] >= 100
    risks = dict(ContactPrediction.objects.filter(workspace=workspace).values_list("contact_id", "churn_risk"))
    assert {"high", "low"} <= set(risks.values())

    journey = publish(workspace, BY_RISK, name="By churn risk")
    for prediction in ContactPrediction.objects.filter(workspace=workspace).select_related("contact"):
        lifecycle.enroll_contact(journey, prediction.contact, trigger={"name": "api", "properties": {}})
    run_worker()
    routed = {}
    for enrollment in Enrollment.objects.filter(journey=journey):
        [sent] = fake_email.sent_to(enrollment)
        routed[enrollment.contact_id] = sent[0]
    assert len(routed) == len(risks)
    for contact_id, node in routed.items():
        assert node == ("win_back" if risks[contact_id] == "high" else "thanks"), contact_id
