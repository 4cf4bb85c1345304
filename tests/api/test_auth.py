from django.core import mail
from rest_framework.test import APIClient

from tests.factories import PASSWORD


def test_login_needs_the_csrf_token(admin):
    client = APIClient(enforce_csrf_checks=True)
    body = {"email": admin.email, "password": PASSWORD}
    client.get("/api/auth/session")
    # Log in first; CSRF is enforced by DRF's session auth on authenticated unsafe requests.
    assert client.post("/api/auth/login", body, format="json").status_code == 200
    refused = client.post("/api/write-keys", {"name": "x"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]
    token = client.cookies["csrftoken"].value
    accepted = client.post("/api/write-keys", {"name": "x"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


def test_a_wrong_password_is_refused_clearly(admin, client):
    response = client.post(
        "/api/auth/login", {"email": admin.email, "password": "nope"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Wrong email or password.", "code": "invalid_credentials", "fields": {}}


def test_the_session_says_role_and_capabilities(qa, api):
    session = api(qa).get("/api/auth/session").json()
    assert session["role"] == "qa"
    assert "edit" not in session["capabilities"] and "approve" in session["capabilities"]


def test_password_reset_by_email(admin, client):
    client.post("/api/auth/password-reset", {"email": admin.email.upper()}, content_type="application/json")
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/reset/" in line)
    uid, token = link.rstrip("/").split("/")[-2:]
    body = {"uid": uid, "token": token, "password": "a-brand-new-pass-1"}
    assert client.post("/api/auth/password-reset/confirm", body, content_type="application/json").status_code == 200
    reused = client.post("/api/auth/password-reset/confirm", body, content_type="application/json")
    assert reused.json()["code"] == "invalid_reset_link"
    login = {"email": admin.email, "password": "a-brand-new-pass-1"}
    assert client.post("/api/auth/login", login, content_type="application/json").status_code == 200


def test_password_reset_does_not_reveal_whether_an_account_exists(db, client):
    response = client.post("/api/auth/password-reset", {"email": "nobody@example.com"}, content_type="application/json")
    assert response.status_code == 200
    assert mail.outbox == []


def test_openapi_schema_and_docs_are_served(db, client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
