"""Helpers for the pure engine tests: a recording Effects and a tiny definition builder."""

from datetime import datetime

from journeys.engine import Subject


class RecordingEffects:
    def __init__(self, webhook_results=None):
        self.sent, self.updates, self.webhooks, self.assigned = [], [], [], []
        self.webhook_results = list(webhook_results or [])

    def send_email(self, position, step, subject):
        self.sent.append((position.node, position.visit, dict(step.config)))
        return {"message_id": len(self.sent), "status": "queued"}

    def update_contact(self, position, step, subject):
        self.updates.append((position.node, dict(step.changes)))

    def call_webhook(self, position, step, subject):
        self.webhooks.append(step)
        result = self.webhook_results.pop(0) if self.webhook_results else {"ok": True, "status": 200, "body": {}}
        return result

    def assign_variant(self, position, variant, subject):
        self.assigned.append((position.node, variant))


def flow(*nodes, edges, trigger=None, **extra):
    return {
        "trigger": trigger or {"type": "event", "event": "Signed Up"},
        "nodes": [{"id": i, "type": t, "config": c} for i, t, c in nodes],
        "edges": [
            {"from": e[0], "to": e[-1]} if len(e) == 2 else {"from": e[0], "port": e[1], "to": e[2]} for e in edges
        ],
        **extra,
    }


def subject(contact=None, trigger=None, now: datetime | None = None, facts=None, **kw):
    """A Subject over plain facts: {"contact": {"id": 7, ...}} plus any other roots (cart, ...)."""
    context = kw.pop("context", {})
    if trigger is not None:
        context["trigger"] = trigger
    facts = {"contact": {"id": 7, **(contact or {})}, **(facts or {})}
    return Subject(facts, context=context, journey={"id": 1}, now=now, **kw)
