from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEntry, Invitation, Membership


@pytest.fixture
def invite(admin, api, django_capture_on_commit_callbacks):
    def send(email="new@acme.test", role="qa"):
        with django_capture_on_commit_callbacks(execute=True):
            return api(admin).post("/api/invitations", {"email": email, "role": role}, format="json")

    return send


def token_from_last_email():
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/invite/" in line)
    return link.rsplit("/", 1)[1]


def test_it_emails_a_link_that_joins_with_the_chosen_role(invite, client, workspace):
    response = invite("New@Acme.test", "qa")
    assert response.status_code == 201
    assert mail.outbox[-1].to == ["new@acme.test"]
    token = token_from_last_email()

    preview = client.get(f"/api/public/invitations/{token}").json()
    assert preview["workspace"] == "Acme Shop" and preview["role"] == "qa"
    response = client.post(
        f"/api/public/invitations/{token}/accept",
        {"password": "a-long-enough-pass", "name": "Nia"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["role"] == "qa"
    assert Membership.objects.get(user__email="new@acme.test", workspace=workspace).role == "qa"
    assert client.get("/api/auth/session").json()["user"]["email"] == "new@acme.test"
    assert AuditEntry.objects.filter(action="invitation.accepted").exists()


def test_it_refuses_a_duplicate_invitation(invite):
    assert invite("dup@acme.test").status_code == 201
    response = invite("DUP@acme.test")
    assert response.status_code == 400
    assert response.json()["code"] == "duplicate_invitation"
    assert Invitation.objects.filter(email="dup@acme.test").count() == 1


def test_it_refuses_inviting_an_existing_member(invite, marketer):
    response = invite(marketer.email)
    assert response.status_code == 400
    assert response.json()["code"] == "already_member"


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "", "x@@example.com"])
def test_it_refuses_an_invalid_address(invite, email):
    response = invite(email)
    assert response.status_code == 400
    assert "email" in response.json()["fields"]
    assert not Invitation.objects.exists()


def test_it_refuses_a_role_that_does_not_exist(invite):
    response = invite("x@acme.test", "owner")
    assert response.status_code == 400
    assert "owner" in response.json()["fields"]["role"][0]
    assert not Invitation.objects.exists()


def test_a_used_link_cannot_be_used_again(invite, client):
    invite()
    token = token_from_last_email()
    body = {"password": "a-long-enough-pass"}
    assert (
        client.post(f"/api/public/invitations/{token}/accept", body, content_type="application/json").status_code == 201
    )
    again = client.post(f"/api/public/invitations/{token}/accept", body, content_type="application/json")
    assert again.status_code == 410
    assert again.json()["code"] == "invitation_used"
    assert Membership.objects.filter(user__email="new@acme.test").count() == 1


def test_an_expired_link_is_refused_and_changes_nothing(invite, client):
    invite()
    token = token_from_last_email()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.post(
        f"/api/public/invitations/{token}/accept", {"password": "a-long-enough-pass"}, content_type="application/json"
    )
    assert response.status_code == 410
    assert response.json()["code"] == "invitation_expired"
    assert Invitation.objects.get().status == "pending"
    assert not Membership.objects.filter(user__email="new@acme.test").exists()


def test_a_revoked_invitation_no_longer_works(invite, admin, api, client):
    invite()
    token = token_from_last_email()
    invitation = Invitation.objects.get()
    assert api(admin).post(f"/api/invitations/{invitation.id}/revoke").status_code == 200
    response = client.get(f"/api/public/invitations/{token}")
    assert response.status_code == 410
    assert response.json()["code"] == "invitation_revoked"


def test_a_weak_password_is_refused_with_the_reason(invite, client):
    invite()
    token = token_from_last_email()
    response = client.post(
        f"/api/public/invitations/{token}/accept", {"password": "123"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "password" in response.json()["fields"]
    assert Invitation.objects.get().status == "pending"


def test_an_unknown_link_is_not_found(client, db):
    response = client.get("/api/public/invitations/nonsense")
    assert response.status_code == 404
    assert response.json()["code"] == "invalid_invitation"
