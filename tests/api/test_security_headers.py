"""Deployment safety: a Content-Security-Policy on the app's pages, and HTTPS settings (secure
cookies, HSTS, the redirect, the proxy's TLS header) that the environment turns on."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parents[2]


def policy_of(response):
    return dict(directive.partition(" ")[::2] for directive in response["Content-Security-Policy"].split("; "))


def test_the_app_page_allows_only_its_own_scripts(db, client):
    response = client.get("/journeys")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    policy = policy_of(response)
    assert policy["script-src"] == "'self'" and policy["object-src"] == "'none'"
    assert policy["connect-src"] == "'self' ws://testserver wss://testserver"  # the API and the websockets
    assert policy["img-src"] == "* data: blob:"  # email previews (srcdoc frames inherit this) show remote images
    assert policy["frame-ancestors"] == "'self'" and policy["base-uri"] == "'self'"
    # and the built app needs nothing more: every script is a same-origin file, none inline
    scripts = re.findall(r"<script\b([^>]*)>", response.content.decode())
    assert scripts and all(re.search(r'\bsrc="/static/', attributes) for attributes in scripts)
    # A request for a host we do not serve is refused, policy or not.
    assert client.get("/journeys", HTTP_HOST="evil.example").status_code == 400


def test_the_api_docs_run_no_inline_script(db, client):
    response = client.get("/api/docs/")
    assert response.status_code == 200 and policy_of(response)["script-src"] == "'self'"
    assert all("src=" in attributes for attributes in re.findall(r"<script\b([^>]*)>", response.content.decode()))
    assert client.get("/api/docs/?script").status_code == 200


# The settings are read from the environment once, at start-up: a fresh interpreter per case.
REQUESTS = """
import json, django
django.setup()
from django.test import Client
answers = {}
for name, path, headers in [
    ("plain", "/login", {}),
    ("behind_tls_proxy", "/login", {"HTTP_X_FORWARDED_PROTO": "https"}),
    ("health_check", "/healthz", {}),
]:
    response = Client().get(path, **headers)
    cookie = response.cookies.get("csrftoken")
    answers[name] = {
        "status": response.status_code,
        "location": response.get("Location"),
        "hsts": response.get("Strict-Transport-Security"),
        "secure_cookie": bool(cookie and cookie["secure"]),
    }
from django.conf import settings
answers["session_cookie_secure"] = settings.SESSION_COOKIE_SECURE
print(json.dumps(answers))
"""


HTTPS_ENV = {
    "SESSION_COOKIE_SECURE": "True",
    "CSRF_COOKIE_SECURE": "True",
    "SECURE_SSL_REDIRECT": "True",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "True",
    "SECURE_HSTS_PRELOAD": "True",
    "TRUST_X_FORWARDED_PROTO": "True",
}


def serve(**env):
    environment = {
        **{key: value for key, value in os.environ.items() if key not in HTTPS_ENV},
        "DJANGO_SETTINGS_MODULE": "wayline.settings",
        "WAYLINE_VAR_DIR": str(django_settings.VAR_DIR),
        "PYTHONPATH": str(ROOT),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", REQUESTS], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_environment_turns_on_https_only_cookies_hsts_and_the_redirect_behind_a_tls_proxy():
    answers = serve(**HTTPS_ENV)
    assert answers["plain"]["status"] == 301 and answers["plain"]["location"] == "https://testserver/login"
    tls = answers["behind_tls_proxy"]
    assert tls["status"] == 200
    assert tls["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert tls["secure_cookie"] and answers["session_cookie_secure"]
    assert answers["health_check"]["status"] == 200  # the load balancer's plain-HTTP check is not redirected

    # The embedded default serves plain HTTP, and believes no client's X-Forwarded-Proto.
    default = serve()
    assert default["plain"]["status"] == 200 and default["plain"]["hsts"] is None
    assert not default["plain"]["secure_cookie"] and not default["session_cookie_secure"]
    assert default["behind_tls_proxy"]["hsts"] is None
