"""Approval before publishing: a QA member approves one draft revision; any later edit withdraws
it; without a valid approval the server refuses to publish; the audit log keeps the story."""

import pytest

from accounts.models import AuditEntry
from delivery.actions import save_template
from editor.models import QAApproval, WorkspaceQASettings

from .conftest import SIMPLE_MJML

pytestmark = pytest.mark.django_db


@pytest.fixture
def required(workspace):
    WorkspaceQASettings.objects.create(workspace=workspace, publish_requires_approval=True)


def publish(api, user, journey, **body):
    return api(user).post(f"/api/journeys/{journey.id}/publish", body, format="json")


def approve(api, user, journey, revision):
    return api(user).post(f"/api/qa/journeys/{journey.id}/approval", {"revision": revision}, format="json")


def test_publishing_is_free_when_the_workspace_does_not_require_approval(workspace, marketer, api, cart_journey):
    assert publish(api, marketer, cart_journey).status_code == 200


def test_it_refuses_to_publish_a_draft_qa_has_not_approved(workspace, marketer, api, cart_journey, required):
    refused = publish(api, marketer, cart_journey)
    assert refused.status_code == 409
    assert refused.json()["code"] == "approval_required"
    assert "has not been approved" in refused.json()["error"]
    assert not cart_journey.versions.exists()


def test_qa_approves_a_revision_and_the_marketer_publishes_it(workspace, marketer, qa, api, cart_journey, required):
    status = api(qa).get(f"/api/qa/journeys/{cart_journey.id}/approval").json()
    assert status["required"] is True and status["approved"] is False

    approved = approve(api, qa, cart_journey, cart_journey.draft_revision)
    assert approved.status_code == 201, approved.content
    assert approved.json()["approved"] is True
    assert approved.json()["approval"]["approved_by"] == "qa@acme.test"

    published = publish(api, marketer, cart_journey)
    assert published.status_code == 200, published.content
    approval = QAApproval.objects.get(journey=cart_journey)
    assert approval.published_version == published.json()["published_version"]
    actions = list(AuditEntry.objects.filter(workspace=workspace).values_list("action", flat=True))
    assert "journey.approved" in actions and "journey.published" in actions


def test_an_edit_after_the_approval_withdraws_it(workspace, marketer, qa, api, cart_journey, required):
    approve(api, qa, cart_journey, cart_journey.draft_revision)
    definition = {**cart_journey.draft, "nodes": cart_journey.draft["nodes"]}
    definition["nodes"][0]["config"]["timeout"] = "PT2H"
    saved = api(marketer).put(
        f"/api/journeys/{cart_journey.id}/draft",
        {"revision": cart_journey.draft_revision, "definition": definition},
        format="json",
    )
    assert saved.status_code == 200, saved.content

    refused = publish(api, marketer, cart_journey)
    assert refused.status_code == 409 and refused.json()["code"] == "approval_required"
    assert "edited after QA approved revision" in refused.json()["error"]
    withdrawn = QAApproval.objects.get(journey=cart_journey)
    assert withdrawn.withdrawn_at is not None and "edited" in withdrawn.withdrawn_reason
    assert AuditEntry.objects.filter(workspace=workspace, action="journey.approval_withdrawn").exists()

    # Approving the revision QA saw before the edit is refused too: it is no longer the draft.
    stale = approve(api, qa, cart_journey, cart_journey.draft_revision)
    assert stale.status_code == 409 and stale.json()["code"] == "stale_revision"


def test_a_template_saved_after_the_approval_withdraws_it(workspace, marketer, qa, api, cart_journey, required):
    approve(api, qa, cart_journey, cart_journey.draft_revision)
    save_template(workspace, marketer, template=_template("big-cart"), mjml=SIMPLE_MJML.replace("Hi", "Howdy"))
    refused = publish(api, marketer, cart_journey)
    assert refused.status_code == 409
    assert "node mail2 changed after QA approved" in refused.json()["error"]


def test_only_admins_and_qa_approve(workspace, marketer, admin, api, cart_journey):
    refused = approve(api, marketer, cart_journey, cart_journey.draft_revision)
    assert refused.status_code == 403
    assert approve(api, admin, cart_journey, cart_journey.draft_revision).status_code == 201


def test_a_reviewer_withdraws_an_approval(workspace, qa, marketer, api, cart_journey, required):
    approve(api, qa, cart_journey, cart_journey.draft_revision)
    withdrawn = api(qa).post(f"/api/qa/journeys/{cart_journey.id}/approval/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["approved"] is False
    assert publish(api, marketer, cart_journey).status_code == 409


def _template(slug):
    from delivery.models import Template

    return Template.objects.select_related("latest_version").get(slug=slug)
