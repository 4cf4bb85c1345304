from django.core import mail

from accounts.models import Invitation


def test_it_invites_and_accepts(admin, api, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(admin).post("/api/invitations", {"email": "new@acme.test", "role": "qa"}, format="json")
    assert response.status_code == 201, response.json()
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/invite/" in line)
    token = link.rsplit("/", 1)[1]
    response = client.post(
        f"/api/public/invitations/{token}/accept", {"password": "a-long-enough-pass"}, content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["role"] == "qa"
    assert Invitation.objects.get().status == "accepted"
