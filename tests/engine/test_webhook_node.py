"""The webhook node: SSRF-safe calls, no redirects, timeouts, retries with backoff, the response
kept for later nodes, an idempotency key per enrollment, node and visit."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from journeys import clock, webhooks
from journeys.models import Enrollment, StepLog, WebhookCall

from .conftest import definition, enrollment_of, make_contact, publish, run_worker, track


class Receiver:
    """A real HTTP server on 127.0.0.1 answering from a script of (status, body, headers, delay)."""

    def __init__(self, script):
        self.script, self.requests = list(script), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, payload, headers, delay = receiver.script.pop(0) if receiver.script else (200, {}, {}, 0)
                if delay:
                    threading.Event().wait(delay)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:  # the client gave up (the timeout test)
                    pass

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.JOURNEYS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the operator's explicit allowance
    made = []

    def make(*script):
        made.append(Receiver(script))
        return made[-1]

    yield make
    for server in made:
        server.close()


def hook_flow(url, **config):
    return definition(
        ("hook", "webhook", {"url": url, "method": "POST", "body": '{"email": "{{ contact.email }}"}', **config}),
        ("score", "branch", {"condition": {"field": "journey.webhook.hook.body.score", "op": "gte", "value": 5}}),
        ("high", "email", {"template": "welcome"}),
        ("low", "exit", {}),
        ("failed", "exit", {}),
        edges=[
            ("trigger", "hook"),
            ("hook", "success", "score"),
            ("hook", "failure", "failed"),
            ("score", "yes", "high"),
            ("score", "no", "low"),
        ],
    )


def test_it_calls_the_webhook_and_later_nodes_use_the_response(workspace, fake_email, receiver):
    server = receiver((200, {"score": 9}, {}, 0))
    journey = publish(workspace, hook_flow(server.url + "/score"), name="hook")
    contact = make_contact(workspace, email="ana@example.com")
    track(contact, "Signed Up")
    run_worker()
    enrollment = enrollment_of(journey, contact)
    assert enrollment.status == Enrollment.Status.COMPLETED and enrollment.current_node == "high"
    request = server.requests[0]
    assert json.loads(request["body"]) == {"email": "ana@example.com"}
    assert request["headers"]["Idempotency-Key"] == f"wl-{enrollment.pk}-hook-1"
    assert enrollment.context["webhook"]["hook"]["body"] == {"score": 9}
    call = WebhookCall.objects.get(enrollment=enrollment)
    assert (call.state, call.status_code, call.attempts) == ("succeeded", 200, 1)
    step = StepLog.objects.get(enrollment=enrollment, node="hook")
    assert (step.outcome, step.entered, step.left, step.detail) == ("success", True, True, {"status": 200})


def test_server_errors_are_retried_with_backoff(workspace, fake_email, receiver):
    server = receiver((503, {}, {}, 0), (503, {}, {}, 0), (200, {"score": 1}, {}, 0))
    journey = publish(workspace, hook_flow(server.url, retries=2), name="retry")
    contact = make_contact(workspace)
    start = clock.now()
    with clock.frozen(start):
        track(contact, "Signed Up", at=start)
        run_worker()
    enrollment = enrollment_of(journey, contact)
    assert enrollment.status == Enrollment.Status.WAITING and enrollment.wake_at == start + timedelta(seconds=2)
    with clock.frozen(start + timedelta(seconds=2)):
        run_worker()
    with clock.frozen(start + timedelta(seconds=6)):
        run_worker()
    enrollment.refresh_from_db()
    assert enrollment.current_node == "low" and len(server.requests) == 3
    assert {r["headers"]["Idempotency-Key"] for r in server.requests} == {f"wl-{enrollment.pk}-hook-1"}
    assert WebhookCall.objects.get().attempts == 3


def test_after_the_last_retry_it_takes_the_failure_port(workspace, fake_email, receiver):
    server = receiver((500, {}, {}, 0), (500, {}, {}, 0))
    journey = publish(workspace, hook_flow(server.url, retries=1), name="fail")
    contact = make_contact(workspace)
    start = clock.now()
    with clock.frozen(start):
        track(contact, "Signed Up", at=start)
        run_worker()
    with clock.frozen(start + timedelta(seconds=3)):
        run_worker()
    enrollment = enrollment_of(journey, contact)
    assert enrollment.current_node == "failed"
    assert WebhookCall.objects.get().error == "HTTP 500"


def test_redirects_are_not_followed(workspace, fake_email, receiver):
    server = receiver((302, {}, {"Location": "http://169.254.169.254/latest/meta-data"}, 0))
    journey = publish(workspace, hook_flow(server.url), name="redirect")
    contact = make_contact(workspace)
    track(contact, "Signed Up")
    run_worker()
    assert enrollment_of(journey, contact).current_node == "failed"
    assert len(server.requests) == 1 and WebhookCall.objects.get().status_code == 302


def test_a_slow_server_times_out(workspace, fake_email, receiver):
    server = receiver((200, {}, {}, 2), (200, {}, {}, 2))
    journey = publish(workspace, hook_flow(server.url, timeout="PT0.5S", retries=0), name="slow")
    contact = make_contact(workspace)
    track(contact, "Signed Up")
    run_worker()
    assert enrollment_of(journey, contact).current_node == "failed"
    assert "ReadTimeoutError" in WebhookCall.objects.get().error


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8000/admin",
        "http://127.0.0.1:8000/",
        "http://[::1]/",
        "http://10.0.0.5/",
        "http://vm/",  # a name that resolves to a loopback address
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_private_loopback_and_link_local_destinations_are_refused_and_recorded(workspace, fake_email, url):
    flow = hook_flow("https://example.com/")
    flow["nodes"][0]["config"]["url"] = url  # bypass the validator, as an old version might
    from journeys import lifecycle
    from journeys.models import JourneyVersion

    journey = publish(workspace, hook_flow("https://example.com/"), name="ssrf")
    JourneyVersion.objects.filter(pk=journey.live_version_id).update(definition=flow)
    lifecycle._FLOWS.clear()
    contact = make_contact(workspace)
    track(contact, "Signed Up")
    run_worker()
    enrollment = enrollment_of(journey, contact)
    assert enrollment.current_node == "failed" and enrollment.status == Enrollment.Status.COMPLETED
    call = WebhookCall.objects.get(enrollment=enrollment)
    assert call.state == "failed" and call.error.startswith("refused:") and call.attempts == 1
    step = StepLog.objects.get(enrollment=enrollment, node="hook")
    assert step.outcome == "failure"


@pytest.mark.parametrize(
    "address,forbidden",
    [
        ("169.254.169.254", True),
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("::ffff:10.0.0.1", True),
        ("93.184.216.34", False),
        ("2606:2800:220:1:248:1893:25c8:1946", False),
    ],
)
def test_which_addresses_are_forbidden(address, forbidden):
    assert (webhooks.is_forbidden(address) is not None) is forbidden


def test_credentials_and_other_schemes_are_refused():
    for url in ("ftp://example.com/", "http://user:pw@example.com/", "file:///etc/passwd"):
        with pytest.raises(webhooks.Refused):
            webhooks.resolve(url)


def test_a_header_with_a_line_break_fails_the_call_and_is_never_sent(workspace, fake_email, receiver):
    server = receiver((200, {"score": 9}, {}, 0))
    flow = hook_flow(server.url, retries=2, headers={"X-Name": "{{ contact.traits.name }}"})
    journey = publish(workspace, flow, name="header injection")
    contact = make_contact(workspace, traits={"name": "Ana\r\nX-Injected: 1"})
    track(contact, "Signed Up")
    run_worker()
    enrollment = enrollment_of(journey, contact)
    assert enrollment.status == Enrollment.Status.COMPLETED and enrollment.current_node == "failed"
    call = WebhookCall.objects.get(enrollment=enrollment)
    assert (call.state, call.attempts) == ("failed", 1)  # permanent: the same header would fail again
    assert call.error == 'header "X-Name" contains a line break'
    assert enrollment.context["webhook"]["hook"]["error"] == call.error
    assert StepLog.objects.get(enrollment=enrollment, node="hook").outcome == "failure"
    assert server.requests == []  # nothing reached the server, so no injected header either


def test_an_unexpected_error_in_the_call_is_a_failed_attempt(workspace, fake_email, receiver, monkeypatch):
    server = receiver()

    def broken(*args, **kwargs):
        raise RuntimeError("the connection broke in an unexpected way")

    monkeypatch.setattr(webhooks.urllib3.HTTPConnectionPool, "urlopen", broken)
    journey = publish(workspace, hook_flow(server.url, retries=1), name="unexpected")
    contact = make_contact(workspace)
    start = clock.now()
    with clock.frozen(start):
        track(contact, "Signed Up", at=start)
        run_worker()
    call = WebhookCall.objects.get()
    assert (call.state, call.attempts) == ("pending", 1)
    assert call.next_attempt_at == start + timedelta(seconds=2)  # engine.webhook_backoff(1)
    with clock.frozen(start + timedelta(seconds=2)):
        run_worker()
    enrollment = enrollment_of(journey, contact)
    assert enrollment.status == Enrollment.Status.COMPLETED and enrollment.current_node == "failed"
    call.refresh_from_db()
    assert (call.state, call.attempts) == ("failed", 2)
    assert call.error == "RuntimeError: the connection broke in an unexpected way"
    assert enrollment.context["webhook"]["hook"]["error"] == call.error
    assert server.requests == []
