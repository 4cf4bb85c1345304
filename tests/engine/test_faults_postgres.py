"""Fault tests on PostgreSQL with real `manage.py qcluster` processes (PostgreSQL only: they need
SELECT … FOR UPDATE SKIP LOCKED and concurrent writers; SQLite serialises every write, which the
rest of the suite covers). They run when DATABASE_URL points at PostgreSQL and are skipped on the
embedded SQLite run (a vendor-conditional test: the CI runs the suite on both).

Each puts 1,000 enrollments due at once and checks, after the fault, that every enrollment
finished and every email reached the SMTP server exactly once.
"""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connections

from delivery import actions as delivery_actions
from delivery import tasks as delivery_tasks
from delivery.models import Message
from journeys import drafts, lifecycle, publishing, tasks, worker
from journeys.models import Contact, Enrollment, StepLog, WebhookCall

from .cluster import Cluster, SMTPServer, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

N = 1000
MJML = (
    "<mjml><mj-body><mj-section><mj-column><mj-text>Hello {{ contact.email }}</mj-text>"
    "</mj-column></mj-section></mj-body></mjml>"
)


def flow(*extra_nodes, first="split", extra_edges=()):
    """branch on contact.traits.n -> one of two email nodes (the same template)."""
    return {
        "trigger": {"type": "api"},
        "entry": {"re_entry": "once"},
        "nodes": [
            {
                "id": "split",
                "type": "branch",
                "config": {"condition": {"field": "contact.traits.n", "op": "gte", "value": N // 2}},
            },
            {"id": "mail_a", "type": "email", "config": {"template": "fault-mail"}},
            {"id": "mail_b", "type": "email", "config": {"template": "fault-mail"}},
            *extra_nodes,
        ],
        "edges": [
            {"from": "trigger", "to": first},
            *extra_edges,
            {"from": "split", "port": "yes", "to": "mail_a"},
            {"from": "split", "port": "no", "to": "mail_b"},
        ],
    }


def due_at_once(workspace, definition):
    """1,000 contacts entered at once (kicks off: nothing runs until the workers start)."""
    delivery_actions.save_template(workspace, None, slug="fault-mail", name="Fault", mjml=MJML, subject="Hi")
    journey = drafts.create_journey(workspace, None, "Fault", definition=definition)
    publishing.publish_journey(journey, None)
    journey.refresh_from_db()
    Contact.objects.bulk_create(
        Contact(workspace=workspace, user_id=f"u{i}", email=f"c{i}@example.com", traits={"n": i}) for i in range(N)
    )
    for contact in Contact.objects.filter(workspace=workspace):
        lifecycle.enroll_contact(journey, contact, trigger={"name": "api", "properties": {}})
    assert Enrollment.objects.filter(journey=journey, status="active").count() == N
    return journey


def resolve_in_doubt_like_an_admin(smtp):
    """An in-doubt message (the worker died between handing it to SMTP and recording it): the
    admin checks the provider (here the mailbox) and marks it sent or resends it."""
    for message in Message.objects.filter(status=Message.Status.IN_DOUBT):
        arrived = bool(smtp.mailbox.to(message.to_email))
        delivery_actions.resolve_in_doubt(message, None, "sent" if arrived else "resend")


def assert_exactly_once(journey, smtp, timeout=400):
    def finished():
        resolve_in_doubt_like_an_admin(smtp)
        done = Enrollment.objects.filter(journey=journey, status="completed").count()
        sent = Message.objects.filter(status=Message.Status.SENT).count()
        return done == N and sent == N and smtp.mailbox.count() >= N

    wait_for(finished, timeout=timeout, interval=1, message="every enrollment and every email")
    time.sleep(2)  # anything sent twice would arrive now
    received = {}
    for message in smtp.mailbox.messages:
        for address in message["to"]:
            received[address] = received.get(address, 0) + 1
    assert len(received) == N and set(received.values()) == {1}, {a: n for a, n in received.items() if n != 1}
    assert Message.objects.count() == N
    assert StepLog.objects.filter(journey=journey, outcome="sent").count() == N
    assert not Enrollment.objects.filter(journey=journey).exclude(status="completed").exists()


@pytest.fixture
def smtp():
    server = SMTPServer()
    yield server
    server.stop()


@pytest.fixture
def clusters(smtp, settings):
    settings.JOURNEYS_KICKS = "off"  # this process only sets up; the clusters do the work
    delivery_tasks.ensure_schedule()
    tasks.ensure_schedule()
    started = []

    def start(**env):
        env = {"JOURNEYS_LEASE_SECONDS": 3, "JOURNEYS_BATCH_SIZE": 100, "TEST_Q_RETRY": 20, "TEST_Q_TIMEOUT": 15, **env}
        started.append(Cluster(smtp.port, **env).start())
        return started[-1]

    yield start
    for cluster in started:
        cluster.stop()
    connections.close_all()


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(workspace, smtp, clusters):
    journey = due_at_once(workspace, flow())
    first = clusters(workers=2)
    # Mid-batch: some emails exist and a batch is claimed (its transaction is open) right now.
    wait_for(
        lambda: Message.objects.exists() and Enrollment.objects.filter(journey=journey).exclude(claim="").exists(),
        timeout=60,
        interval=0.005,
        message="a batch in flight",
    )
    first.kill()  # SIGKILL the whole cluster
    in_flight = Enrollment.objects.filter(journey=journey).exclude(claim="").count()
    done = Enrollment.objects.filter(journey=journey, status="completed").count()
    assert in_flight > 0 and done < N, "no batch was in flight at the kill; the test proves nothing"
    print(f"killed with {done} done and {in_flight} claimed by the dead workers")  # noqa: T201
    clusters(workers=2)
    assert_exactly_once(journey, smtp)


def test_two_workers_claiming_the_same_batches(workspace, smtp, clusters):
    journey = due_at_once(workspace, flow())
    clusters(workers=2)
    clusters(workers=2)
    assert_exactly_once(journey, smtp)
    # both clusters did work (claims went to both, never to the same rows)
    assert StepLog.objects.filter(journey=journey, outcome="sent").values("enrollment").distinct().count() == N


class SlowHook:
    """A webhook receiver that takes its time and counts calls per idempotency key."""

    def __init__(self, delay):
        self.calls, self.lock = {}, threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with hook.lock:
                    key = self.headers["Idempotency-Key"]
                    hook.calls[key] = hook.calls.get(key, 0) + 1
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_task_that_outlives_the_queues_retry_runs_twice_harmlessly(workspace, smtp, clusters, settings):
    """retry (2 s) shorter than the tasks (each batch makes 100 slow webhook calls, 5 s): django-q2
    hands the same task to a second worker while the first still runs."""
    hook = SlowHook(delay=0.05)
    settings.JOURNEYS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    definition = flow(
        {"id": "hook", "type": "webhook", "config": {"url": hook.url, "method": "POST", "body": "{}"}},
        first="hook",
        extra_edges=[
            {"from": "hook", "port": "success", "to": "split"},
            {"from": "hook", "port": "failure", "to": "split"},
        ],
    )
    try:
        journey = due_at_once(workspace, definition)
        clusters(
            workers=3,
            TEST_Q_RETRY=2,
            TEST_Q_TIMEOUT=30,
            JOURNEYS_LEASE_SECONDS=30,
            JOURNEYS_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
        )
        assert_exactly_once(journey, smtp)
        twice = [k for k, n in hook.calls.items() if n > 1]
        print(
            "TWICE",
            len(twice),
            list(
                WebhookCall.objects.filter(idempotency_key__in=twice[:5]).values(
                    "idempotency_key", "attempts", "error", "state"
                )
            ),
        )  # noqa
        assert len(hook.calls) == N and set(hook.calls.values()) == {1}
        assert WebhookCall.objects.filter(state="succeeded").count() == N
    finally:
        hook.close()


def test_concurrent_claims_never_overlap(workspace, settings):
    """Eight threads claiming at the same moment on PostgreSQL get disjoint batches."""
    settings.JOURNEYS_KICKS = "off"
    journey = drafts.create_journey(
        workspace,
        None,
        "C",
        definition={
            "trigger": {"type": "api"},
            "nodes": [{"id": "e", "type": "exit"}],
            "edges": [{"from": "trigger", "to": "e"}],
        },
    )
    publishing.publish_journey(journey, None)
    journey.refresh_from_db()
    Contact.objects.bulk_create(Contact(workspace=workspace, user_id=f"u{i}") for i in range(400))
    for contact in Contact.objects.filter(workspace=workspace):
        lifecycle.enroll_contact(journey, contact)
    barrier, claimed = threading.Barrier(8), []

    def claim():
        barrier.wait()
        claimed.append(worker.claim_due(limit=60)[1])
        connections.close_all()

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [i for batch in claimed for i in batch]
    assert len(ids) == len(set(ids)) == 400
