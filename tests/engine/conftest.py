"""Fixtures of the engine tests: contacts, events as ingestion delivers them, publishing, a worker
run in-process, and (unit tests only) a recording email executor and template resolver."""

import itertools
import uuid
from datetime import datetime

import pytest
from django.utils import timezone

from journeys import clock, drafts, hooks, publishing, triggers, worker
from journeys.models import Contact, Enrollment, Event

_seq = itertools.count(1)

TEMPLATES = {
    "cart-reminder": 101,
    "welcome": 102,
    "browse-abandonment": 103,
    "win-back": 104,
    "cross-sell": 105,
    "price-drop": 106,
    "back-in-stock": 107,
}


@pytest.fixture(autouse=True)
def no_kicks(settings):
    """Unit tests run the worker themselves; end-to-end tests turn kicks back on."""
    settings.JOURNEYS_KICKS = "off"


class FakeEmail:
    """Records what the engine asked to send; one message per (enrollment, node, visit) like delivery."""

    def __init__(self):
        self.calls, self.messages = [], {}

    def __call__(self, *, enrollment, node_id, visit, config, now):
        self.calls.append({"enrollment": enrollment.pk, "node": node_id, "visit": visit, "config": dict(config)})
        key = (enrollment.pk, node_id, visit)
        message_id = self.messages.setdefault(key, len(self.messages) + 1)
        return {"message_id": message_id, "status": "queued", "reason": ""}

    def batch(self, requests):
        """The "email.send_batch" seam: the batch's sends, each recorded as above."""
        return [
            self(enrollment=r["enrollment"], node_id=r["node_id"], visit=r["visit"], config=r["config"], now=r["now"])
            for r in requests
        ]

    def sent_to(self, enrollment):
        return [(node, visit) for (e, node, visit) in self.messages if e == enrollment.pk]


@pytest.fixture
def fake_email(monkeypatch):
    fake = FakeEmail()
    registered = dict(hooks._hooks)
    registered["email.send"] = fake
    registered["email.send_batch"] = fake.batch
    registered["template.resolve"] = lambda workspace, ref: TEMPLATES.get(str(ref))
    monkeypatch.setattr(hooks, "_hooks", registered)
    return fake


def make_contact(workspace, **fields):
    n = next(_seq)
    fields.setdefault("email", f"contact{n}@example.com")
    fields.setdefault("user_id", f"user-{n}")
    return Contact.objects.create(workspace=workspace, **fields)


def track(contact, name, properties=None, at=None, message_id=None):
    """An event stored and applied the way ingestion does, then handed to the engine."""
    event = Event.objects.create(
        workspace_id=contact.workspace_id,
        contact=contact,
        message_id=message_id or uuid.uuid4().hex,
        type="track",
        name=name,
        user_id=contact.user_id,
        properties=properties or {},
        timestamp=at or clock.now(),
        processed_at=timezone.now(),
    )
    triggers.on_event(event)
    return event


def publish(workspace, definition, actor=None, name="Journey"):
    journey = drafts.create_journey(workspace, actor, name, definition=definition)
    version, _ = publishing.publish_journey(journey, actor)
    journey.refresh_from_db()
    return journey


def run_worker(limit=None, rounds=100):
    """Advance everything due now, as a worker would. Returns the number claimed."""
    total = 0
    for _ in range(rounds):
        claimed = worker.advance_due(limit)
        total += claimed
        if not claimed:
            break
    return total


def enrollment_of(journey, contact):
    return Enrollment.objects.filter(journey=journey, contact=contact).order_by("-id").first()


def steps(enrollment):
    return list(enrollment.steps.order_by("id").values_list("node", "outcome"))


def definition(*nodes, edges, trigger=None, **extra):
    return {
        "trigger": trigger or {"type": "event", "event": "Signed Up"},
        "entry": extra.pop("entry", {"re_entry": "after_exit"}),
        "exit_on": extra.pop("exit_on", []),
        "nodes": [{"id": i, "type": t, "config": c} for i, t, c in nodes],
        "edges": [
            {"from": e[0], "to": e[-1]} if len(e) == 2 else {"from": e[0], "port": e[1], "to": e[2]} for e in edges
        ],
        **extra,
    }


def at(text):
    return datetime.fromisoformat(text)
