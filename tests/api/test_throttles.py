"""Login, password reset and invitation accept are throttled per account (or link) and per client
address, on counters every web process shares; X-Forwarded-For counts only as far as
TRUSTED_PROXIES says proxies wrote it."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from rest_framework.test import APIClient

from accounts import actions
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def login(client, email, password="wrong-password", **headers):
    return client.post("/api/auth/login", {"email": email, "password": password}, format="json", **headers)


def limit_of(scope):
    return django_settings.AUTH_THROTTLES[scope][0]


def assert_throttled(response):
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled" and body["fields"] == {} and body["error"]
    assert 1 <= int(response["Retry-After"]) <= 3600


def test_it_throttles_logins_per_address_whatever_x_forwarded_for_says(db):
    client = APIClient()
    limit = limit_of("login_address")
    answers = [
        login(client, f"guess{n}@example.com", HTTP_X_FORWARDED_FOR=f"10.0.{n}.1").status_code for n in range(limit)
    ]
    assert answers == [400] * limit
    assert_throttled(login(client, "one-more@example.com", HTTP_X_FORWARDED_FOR="10.9.9.9"))
    # Another client address is not held back by this one's attempts.
    assert login(client, "else@example.com", REMOTE_ADDR="203.0.113.50").status_code == 400


def test_it_throttles_failed_logins_per_account_from_any_address(admin, settings):
    settings.AUTH_THROTTLES = {**settings.AUTH_THROTTLES, "login_account": (3, 900)}
    client = APIClient()
    # Successful logins are not failures: they do not use up the account's attempts.
    for n in range(4):
        assert login(client, admin.email, PASSWORD, REMOTE_ADDR=f"198.51.100.{n}").status_code == 200
    for n in range(3):
        assert login(client, admin.email, REMOTE_ADDR=f"203.0.113.{n}").status_code == 400
    # The email as typed: case and spaces do not make another account.
    assert_throttled(login(client, f"  {admin.email.upper()} ", REMOTE_ADDR="203.0.113.99"))
    assert_throttled(login(client, admin.email, PASSWORD, REMOTE_ADDR="192.0.2.1"))
    assert login(client, "someone-else@example.com", REMOTE_ADDR="192.0.2.1").status_code == 400


def test_with_one_trusted_proxy_the_right_most_forwarded_address_counts(db, settings):
    settings.TRUSTED_PROXIES = 1
    client = APIClient()  # REMOTE_ADDR is the proxy's address, the same for every client
    limit = limit_of("login_address")
    for n in range(limit):
        # What the client wrote itself (left) changes every time; what the proxy appended does not.
        forwarded = f"10.0.{n}.1, 198.51.100.7"
        assert login(client, f"guess{n}@example.com", HTTP_X_FORWARDED_FOR=forwarded).status_code == 400
    assert_throttled(login(client, "more@example.com", HTTP_X_FORWARDED_FOR="10.1.1.1, 198.51.100.7"))
    assert login(client, "other@example.com", HTTP_X_FORWARDED_FOR="198.51.100.7, 198.51.100.8").status_code == 400


def test_concurrent_failed_logins_cannot_all_pass_the_account_limit(transactional_db, admin, settings):
    settings.AUTH_THROTTLES = {**settings.AUTH_THROTTLES, "login_account": (3, 900)}
    attempts = 8
    barrier = threading.Barrier(attempts)
    answers = []

    def attempt(n):
        try:
            client = APIClient()
            barrier.wait()
            answers.append(login(client, admin.email, REMOTE_ADDR=f"203.0.113.{n}").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [400] * 3 + [429] * (attempts - 3)


# A second web process: Django's test client in its own interpreter, on the test database.
OTHER_PROCESS = """
import json, django
django.setup()
from django.test import Client
client = Client(REMOTE_ADDR="198.51.100.20")
codes = [
    client.post("/api/auth/login", {"email": f"other{n}@example.com", "password": "wrong"},
                content_type="application/json").status_code
    for n in range(int(__import__("os").environ["ATTEMPTS"]))
]
print(json.dumps(codes))
"""


def test_the_counts_are_shared_by_every_web_process(transactional_db):
    limit = limit_of("login_address")
    here = limit // 2
    client = APIClient()
    for n in range(here):
        assert login(client, f"here{n}@example.com", REMOTE_ADDR="198.51.100.20").status_code == 400
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.engine.worker_settings",
        "WAYLINE_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "WAYLINE_VAR_DIR": str(django_settings.VAR_DIR),
        "PYTHONPATH": str(ROOT),
        "ATTEMPTS": str(limit - here),
    }
    other = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout.strip().splitlines()[-1]) == [400] * (limit - here)
    assert_throttled(login(client, "last@example.com", REMOTE_ADDR="198.51.100.20"))


def test_password_reset_is_throttled_per_email_and_per_address(admin):
    api = APIClient()
    per_email = limit_of("password_reset_email")
    for n in range(per_email):
        response = api.post(
            "/api/auth/password-reset", {"email": admin.email}, format="json", REMOTE_ADDR=f"192.0.2.{n}"
        )
        assert response.status_code == 200
    assert_throttled(
        api.post("/api/auth/password-reset", {"email": admin.email.upper()}, format="json", REMOTE_ADDR="192.0.2.99")
    )
    assert len(mail.outbox) == per_email  # no more reset emails to that inbox

    per_address = limit_of("password_reset_address")
    for n in range(per_address):
        body = {"email": f"nobody{n}@example.com"}
        response = api.post("/api/auth/password-reset", body, format="json", HTTP_X_FORWARDED_FOR=f"10.0.{n}.1")
        assert response.status_code == 200
    assert_throttled(
        api.post("/api/auth/password-reset", {"email": "x@example.com"}, format="json", HTTP_X_FORWARDED_FOR="10.7.7.7")
    )


@pytest.fixture
def invitation_token(workspace, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _, raw = actions.invite_member(workspace, admin, "new@acme.test", "qa")
    return raw


def test_invitation_accept_is_throttled_per_link_and_per_address(invitation_token, db):
    api = APIClient()
    url = f"/api/public/invitations/{invitation_token}/accept"
    per_link = limit_of("invitation_token")
    for n in range(per_link):
        response = api.post(url, {"password": "123"}, format="json", REMOTE_ADDR=f"192.0.2.{n}")
        assert response.status_code == 400 and "password" in response.json()["fields"]
    assert_throttled(api.post(url, {"password": "a-long-enough-pass"}, format="json", REMOTE_ADDR="192.0.2.200"))

    per_address = limit_of("invitation_address")
    for n in range(per_address):
        response = api.post(
            f"/api/public/invitations/guess{n}/accept",
            {"password": "x"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.{n}.0.1",
        )
        assert response.status_code == 404
    assert_throttled(api.post("/api/public/invitations/guess/accept", {"password": "x"}, format="json"))
