"""The journey simulator: pure and deterministic.

Given a definition (a draft or a version), the contact's context (what customers/context.py builds
for a real contact or a persona; a plain {"contact": {...}, "cart": {...}} will do), the contact's
past events and a timeline of future events, it answers the path the contact would
take, when, the emails that would be sent and the other effects, by running the engine's own
`drive()` with a clock that jumps from one timer or event to the next. Nothing is written and
nothing is sent: webhooks answer what `webhook_results` says (success with an empty body unless
told otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import engine
from . import rules

MAX_RUNS = 500
DEFAULT_HORIZON = timedelta(days=400)


@dataclass
class _History:
    """The contact's event history as the simulated clock sees it."""

    events: list = field(default_factory=list)
    now: datetime | None = None

    def count(self, name, within, where):
        facts = rules.DictFacts({}, events=[e for e in self.events if _at(e) <= self.now], now=self.now)
        return facts.count_events(name, within, where)


def _at(event) -> datetime:
    return rules.parse_datetime(event.get("timestamp")) or datetime.min.replace(tzinfo=UTC)


class _SimEffects:
    def __init__(self, webhook_results: dict, template_versions: dict):
        self.messages, self.updates, self.webhooks, self.assignments = [], [], [], []
        self.webhook_results = webhook_results
        self.template_versions = template_versions
        self.now = None

    def send_email(self, position, step, subject):
        self.messages.append(
            {
                "node": position.node,
                "visit": position.visit,
                "template": step.config.get("template"),
                "template_version_id": self.template_versions.get(position.node),
                "category": step.config.get("category", "marketing"),
                "at": self.now.isoformat(),
                "to": subject.contact.get("email"),
            }
        )
        return {"message_id": None, "status": "simulated"}

    def update_contact(self, position, step, subject):
        self.updates.append({"node": position.node, "changes": dict(step.changes), "at": self.now.isoformat()})

    def call_webhook(self, position, step, subject):
        result = self.webhook_results.get(position.node) or {"ok": True, "status": 200, "body": {}}
        self.webhooks.append(
            {
                "node": position.node,
                "method": step.method,
                "url": step.url,
                "body": step.body,
                "at": self.now.isoformat(),
                "result": result,
            }
        )
        return {"ok": bool(result.get("ok", 200 <= int(result.get("status") or 0) < 300)), **result}

    def assign_variant(self, position, variant, subject):
        self.assignments.append({"node": position.node, "variant": variant})


def _timeline(events, start) -> list[dict]:
    """Timeline entries as events sorted by time: {"at" (or "after"): an ISO time or a duration
    after the start ("PT2H"), "event" (or "name"): the event name, "properties": {...}}."""
    out = []
    for index, item in enumerate(events or []):
        when = item.get("at", item.get("after"))
        moment = None
        if isinstance(when, str) and when.strip().upper().startswith(("P", "+P")):
            moment = start + rules.parse_duration(when.strip().lstrip("+"))
        else:
            moment = rules.parse_datetime(when) if when is not None else start
        if moment is None:
            raise ValueError(f"events[{index}].at: “{when}” is neither a date-time nor a duration after the start")
        name = item.get("event") or item.get("name")
        if not name:
            raise ValueError(f"events[{index}].event: name the event")
        out.append(engine.event_data(name, item.get("properties") or {}, moment, message_id=f"sim-{index}"))
    out.sort(key=_at)
    return out


def simulate(
    definition: dict,
    facts: Mapping,
    *,
    start: datetime,
    trigger: dict | None = None,
    events: list | None = None,
    history: list | None = None,
    webhook_results: dict | None = None,
    template_versions: dict | None = None,
    journey: dict | None = None,
    assignments: dict | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
) -> dict[str, Any]:
    """Run one contact through the definition. See the module docstring."""
    flow = engine.compile_flow(definition)
    timeline = _timeline(events, start)
    past = [dict(e) for e in history or []]
    effects = _SimEffects(webhook_results or {}, template_versions or {})
    result = {
        "entered": False,
        "status": "not_entered",
        "exit_reason": "",
        "start": start.isoformat(),
        "path": [],
        "messages": effects.messages,
        "updates": effects.updates,
        "webhooks": effects.webhooks,
        "experiments": effects.assignments,
        "conversion": None,
        "end": None,
    }

    # When does the contact enter, with which trigger?
    now = start
    trig_type = flow.trigger.get("type")
    if trigger is not None:
        trig = engine.event_data(
            trigger.get("event") or trigger.get("name") or "", trigger.get("properties") or {}, start
        )
    elif trig_type == "event":
        trig = None
        for index, event in enumerate(timeline):
            accepted, _ = engine.trigger_accepts(flow, event, _at(event))
            if accepted:
                trig, now = event, _at(event)
                past += timeline[: index + 1]
                timeline = timeline[index + 1 :]
                break
        if trig is None:
            result["reason"] = f"no “{flow.trigger.get('event')}” event in the timeline starts the journey"
            return result
    else:
        trig = engine.event_data(trig_type or "api", {}, start)
    if trigger is not None and trig_type == "event":
        accepted, why = engine.trigger_accepts(flow, trig, now)
        if not accepted:
            result["reason"] = why
            return result

    clock = _History(events=past, now=now)
    subject = engine.Subject(
        facts if isinstance(facts, MutableMapping) else dict(facts),
        context={"trigger": trig},
        journey=journey or {"id": 0, "name": "simulation"},
        now=now,
        history=clock.count,
        assignments=dict(assignments or {}),
    )
    audience = flow.entry.get("audience")
    if audience and not rules.evaluate(audience, subject):
        result["reason"] = "the contact is not in the entry audience"
        return result
    result.update(entered=True, status="active", entered_at=now.isoformat())

    position = engine.start_position(now)
    visits: dict = {}
    fresh = False
    for _ in range(MAX_RUNS):
        clock.now = now
        effects.now = now
        outcome = engine.drive(flow, position, subject, visits, now, effects, fresh=fresh)
        for record in outcome.records:
            result["path"].append(
                {
                    "node": record.node,
                    "type": flow.node_type(record.node),
                    "visit": record.visit,
                    "outcome": record.outcome,
                    "port": record.port,
                    "at": record.at.isoformat(),
                    "detail": dict(record.detail),
                }
            )
        position = outcome.position
        if outcome.status in ("completed", "failed"):
            result.update(status=outcome.status, exit_reason=outcome.exit_reason, end=now.isoformat())
            return result
        if outcome.status == "active":
            fresh = True
            continue
        fresh = False
        # Waiting: the next thing that happens is an event of the timeline or the timer.
        woken = False
        while timeline and (outcome.wake_at is None or _at(timeline[0]) < outcome.wake_at):
            event = timeline.pop(0)
            now = max(now, _at(event))
            clock.now = now
            clock.events.append(event)
            goal = engine.goal_reached(flow, event, now)
            if goal is not None:
                revenue, currency = engine.goal_revenue(goal, event)
                result["path"].append(
                    {
                        "node": position.node,
                        "type": flow.node_type(position.node),
                        "visit": position.visit,
                        "outcome": "goal",
                        "port": "",
                        "at": now.isoformat(),
                        "detail": {"goal": event["name"]},
                    }
                )
                if goal.get("as_conversion", True):
                    result["conversion"] = {
                        "goal": event["name"],
                        "revenue": revenue,
                        "currency": currency,
                        "at": now.isoformat(),
                    }
                result.update(status="exited", exit_reason="goal", end=now.isoformat())
                return result
            if outcome.awaited_event and event["name"] == outcome.awaited_event:
                config = (flow.nodes.get(position.node) or {}).get("config") or {}
                matches, _ = engine.event_ends_wait(config, event, subject)
                if matches:
                    subject.context.setdefault("events", {})[position.node] = {**event, "visit": position.visit}
                    woken = True
                    break
        if woken:
            continue
        if outcome.wake_at is None:
            result.update(status="waiting", end=None, waiting_at=position.node)
            return result
        now = max(now, outcome.wake_at)
        if now - start > horizon:
            result.update(status="waiting", end=None, waiting_at=position.node, reason="beyond the horizon")
            return result
    result.update(status="active", reason="stopped after too many steps")
    return result
