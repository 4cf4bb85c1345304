"""Journeys' state changes: drafts and publishing, entering contacts, and the worker's batch step.

The worker (advance_due) follows design.md's one rule: the enrollment rows are the queue. A batch
is claimed with a conditional UPDATE (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL) that sets a
claim token and pushes `wake_at` to the end of a lease; then one transaction re-reads the rows
still carrying that token (locked on PostgreSQL), runs the pure engine for each, performs the side
effects through idempotent hooks (one message per enrollment, node and visit), writes the step log
and the new positions in bulk, and clears the claim. A worker killed anywhere leaves either
nothing (its transaction rolls back) or its complete result; what it claimed becomes due again
when the lease ends.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F

from accounts.actions import record_audit
from accounts.errors import DomainError

from . import clock, engine, hooks
from .engine import rules
from .engine.definition import as_fields, resolve_templates, validate_definition
from .engine.nodes import TRIGGER_NODE
from .facts import contact_data, subject_for
from .models import (
    Contact,
    Conversion,
    Enrollment,
    ExperimentAssignment,
    Journey,
    JourneyVersion,
    StepLog,
    WebhookCall,
)

log = logging.getLogger(__name__)
OPEN = list(Enrollment.OPEN)


def setting(name, default):
    """An engine setting: Django settings first, then the environment (for worker processes)."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    if value is None:
        return default
    return type(default)(value) if not isinstance(default, (list, tuple)) else value


def lease_seconds():
    return setting("JOURNEYS_LEASE_SECONDS", 30.0)


def batch_size():
    return setting("JOURNEYS_BATCH_SIZE", 500)


# -- drafts ------------------------------------------------------------------------------------


def empty_definition():
    return {
        "trigger": {"type": "event", "event": "", "where": {"all": []}},
        "entry": {"re_entry": "after_exit", "audience": {"all": []}},
        "exit_on": [],
        "nodes": [],
        "edges": [],
        "layout": {},
    }


def create_journey(workspace, actor, name, definition=None, description="", library_key=""):
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the journey a name.", code="invalid", fields={"name": ["This field is required."]})
    if definition is not None and not isinstance(definition, dict):
        raise DomainError("A definition is a JSON object.", code="invalid", fields={"definition": ["Not an object."]})
    with transaction.atomic():
        journey = Journey.objects.create(
            workspace=workspace,
            name=name[:200],
            description=description or "",
            draft=definition if definition is not None else empty_definition(),
            created_by=_user(actor),
            updated_by=_user(actor),
            library_key=library_key,
        )
        record_audit(workspace, actor, "journey.created", journey.name, journey=journey.pk)
    return journey


def save_draft(journey, actor, *, revision, definition=None, name=None, description=None):
    """Save the draft if `revision` is still the current one; a stale revision gets 409 (someone
    else saved in between)."""
    changes = {"updated_by": _user(actor), "updated_at": clock.now()}
    if definition is not None:
        if not isinstance(definition, dict):
            raise DomainError("A definition is a JSON object.", fields={"definition": ["Not an object."]})
        changes["draft"] = definition
    if name is not None:
        if not name.strip():
            raise DomainError("Give the journey a name.", fields={"name": ["This field is required."]})
        changes["name"] = name.strip()[:200]
    if description is not None:
        changes["description"] = description
    if journey.status == Journey.Status.ARCHIVED:
        raise DomainError("An archived journey cannot be edited.", code="archived", status_code=409)
    try:
        revision = int(revision)
    except (TypeError, ValueError):
        raise DomainError(
            "Send the revision you edited.", code="invalid", fields={"revision": ["A number is required."]}
        ) from None
    # The conditional UPDATE is the check: of two saves of the same revision, one wins.
    updated = Journey.objects.filter(pk=journey.pk, draft_revision=revision).update(
        draft_revision=revision + 1, **changes
    )
    if not updated:
        current = Journey.objects.filter(pk=journey.pk).values_list("draft_revision", flat=True).first()
        raise DomainError(
            "Someone saved this journey after you opened it. Reload to see their changes.",
            code="stale_revision",
            fields={"revision": [f"The current revision is {current}."]},
            status_code=409,
        )
    journey.refresh_from_db()
    if hooks.has_hook("draft.saved"):  # the editor: withdraw stale QA approvals, tell other editors
        hooks.hook("draft.saved")(journey, actor)
    return journey


def validate_journey(journey, definition=None):
    return validate_definition(journey.draft if definition is None else definition, journey.workspace)


# -- publishing and migration ------------------------------------------------------------------


def _open_on_other_versions(journey, new_version=None):
    qs = Enrollment.objects.filter(journey=journey, status__in=OPEN)
    if new_version is not None:
        qs = qs.exclude(version=new_version)
    return qs


def migration_plan(journey, definition, node_map=None):
    """How many open enrollments sit on each node of older versions, and what a publish with this
    node map would do with them: move (to the mapped node), exit (mapped to null) or keep."""
    node_map = node_map or {}
    new_nodes = {n.get("id") for n in definition.get("nodes") or [] if isinstance(n, dict)}
    rows = (
        _open_on_other_versions(journey)
        .values("version__number", "current_node")
        .annotate(count=Count("id"))
        .order_by("version__number", "current_node")
    )
    nodes, totals = [], {"move": 0, "keep": 0, "exit": 0}
    problems = {}
    for row in rows:
        node = row["current_node"]
        if node in node_map:
            target = node_map[node]
            action = "exit" if target is None else "move"
            if target is not None and target not in new_nodes and target != TRIGGER_NODE:
                problems[f"node_map.{node}"] = [f"“{target}” is not a node of the new version."]
        else:
            target, action = None, "keep"
        totals[action] += row["count"]
        nodes.append(
            {"version": row["version__number"], "node": node, "count": row["count"], "action": action, "to": target}
        )
    for node, target in node_map.items():
        if target is not None and target not in new_nodes and f"node_map.{node}" not in problems:
            problems[f"node_map.{node}"] = [f"“{target}” is not a node of the new version."]
    return {"nodes": nodes, "totals": totals}, problems


def publish_journey(journey, actor, *, revision=None, node_map=None, dry_run=False):
    """Publish the draft as a new immutable version. Enrollments in flight stay on their version
    unless `node_map` ({old node id: new node id, or None to exit them}) moves them.

    With dry_run, nothing changes: the answer says what would happen.
    """
    node_map = node_map or {}
    if not isinstance(node_map, dict):
        raise DomainError("node_map maps old node ids to new ones.", fields={"node_map": ["Not an object."]})
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(pk=journey.pk)
        if journey.status == Journey.Status.ARCHIVED:
            raise DomainError("An archived journey cannot be published.", code="archived", status_code=409)
        if revision is not None and int(revision) != journey.draft_revision:
            raise DomainError(
                "The draft changed since you looked at it. Reload and publish again.",
                code="stale_revision",
                fields={"revision": [f"The current revision is {journey.draft_revision}."]},
                status_code=409,
            )
        definition = copy.deepcopy(journey.draft)
        problems = validate_definition(definition, journey.workspace)
        if problems:
            raise DomainError(
                f"The journey has {len(problems)} problem{'s' if len(problems) != 1 else ''}: {problems[0].message}",
                code="invalid_definition",
                fields=as_fields(problems),
            )
        plan, map_problems = migration_plan(journey, definition, node_map)
        if map_problems:
            raise DomainError("The node map names nodes the new version does not have.", fields=map_problems)
        if hooks.has_hook("publish.check"):  # the QA approval (editor): raises DomainError to refuse
            hooks.hook("publish.check")(journey, actor=actor, revision=journey.draft_revision)
        if dry_run:
            return None, plan

        now = clock.now()
        last = JourneyVersion.objects.filter(journey=journey).order_by("-number").values_list("number", flat=True)
        version = JourneyVersion.objects.create(
            workspace=journey.workspace,
            journey=journey,
            number=(last.first() or 0) + 1,
            definition=definition,
            template_versions=resolve_templates(definition, journey.workspace),
            published_by=_user(actor),
            published_at=now,
            source_revision=journey.draft_revision,
        )
        trigger = definition.get("trigger") or {}
        was_paused = journey.status == Journey.Status.PAUSED
        journey.live_version = version
        journey.status = Journey.Status.PAUSED if was_paused else Journey.Status.LIVE
        journey.trigger_type = trigger.get("type", "")
        journey.trigger_event = trigger.get("event", "") if trigger.get("type") == "event" else ""
        journey.updated_by = _user(actor) or journey.updated_by
        journey.updated_at = now
        journey.save()
        moved = _migrate(journey, version, node_map, now, paused=was_paused)
        record_audit(
            journey.workspace,
            actor,
            "journey.published",
            journey.name,
            journey=journey.pk,
            version=version.number,
            moved=moved["move"],
            exited=moved["exit"],
        )
        transaction.on_commit(kick)
    return version, plan


def _migrate(journey, version, node_map, now, paused):
    done = {"move": 0, "exit": 0}
    for old, new in node_map.items():
        candidates = _open_on_other_versions(journey, version).filter(current_node=old)
        ids = list(candidates.values_list("id", flat=True))
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            if new is None:
                done["exit"] += _finish_many(chunk, Enrollment.Status.EXITED, "removed_at_publish", now)
                continue
            wake = {"paused_wake_at": now, "wake_at": None} if paused else {"wake_at": now, "paused_wake_at": None}
            count = Enrollment.objects.filter(id__in=chunk, status__in=OPEN).update(
                version=version, current_node=new, claim="", awaited_event="", status=Enrollment.Status.ACTIVE, **wake
            )
            done["move"] += count
            StepLog.objects.bulk_create(
                StepLog(
                    workspace_id=journey.workspace_id,
                    journey=journey,
                    enrollment_id=enrollment_id,
                    contact_id=contact_id,
                    version_number=version.number,
                    node=new,
                    entered=True,
                    outcome="moved",
                    detail={"from": old},
                    at=now,
                )
                for enrollment_id, contact_id in Enrollment.objects.filter(id__in=chunk, version=version).values_list(
                    "id", "contact_id"
                )
            )
    return done


def _finish_many(ids, status, reason, now):
    rows = list(
        Enrollment.objects.filter(id__in=ids, status__in=OPEN).values_list(
            "id", "workspace_id", "journey_id", "contact_id", "current_node", "version__number"
        )
    )
    count = Enrollment.objects.filter(id__in=[r[0] for r in rows], status__in=OPEN).update(
        status=status,
        exit_reason=reason,
        finished_at=now,
        wake_at=None,
        paused_wake_at=None,
        claim="",
        awaited_event="",
        entry_key=None,
    )
    StepLog.objects.bulk_create(
        StepLog(
            workspace_id=ws,
            journey_id=journey_id,
            enrollment_id=enrollment_id,
            contact_id=contact_id,
            version_number=number,
            node=node,
            left=True,
            outcome="exited",
            detail={"reason": reason},
            at=now,
        )
        for enrollment_id, ws, journey_id, contact_id, node, number in rows
    )
    _progress({row[2] for row in rows})
    # "once" keeps its key: a finished enrollment still blocks re-entry.
    return count


# -- pause, resume, archive --------------------------------------------------------------------


def pause_journey(journey, actor):
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(pk=journey.pk)
        if journey.status != Journey.Status.LIVE:
            raise DomainError("Only a live journey can be paused.", code="not_live", status_code=409)
        journey.status = Journey.Status.PAUSED
        journey.updated_by, journey.updated_at = _user(actor) or journey.updated_by, clock.now()
        journey.save(update_fields=["status", "updated_by", "updated_at"])
        # Hold every timer; a worker that holds some of them right now sees the paused journey in
        # its own transaction and holds them itself.
        held = Enrollment.objects.filter(journey=journey, status__in=OPEN, wake_at__isnull=False, claim="").update(
            paused_wake_at=F("wake_at"), wake_at=None
        )
        record_audit(journey.workspace, actor, "journey.paused", journey.name, journey=journey.pk, held=held)
    return journey


def resume_journey(journey, actor):
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(pk=journey.pk)
        if journey.status != Journey.Status.PAUSED:
            raise DomainError("Only a paused journey can be resumed.", code="not_paused", status_code=409)
        journey.status = Journey.Status.LIVE
        journey.updated_by, journey.updated_at = _user(actor) or journey.updated_by, clock.now()
        journey.save(update_fields=["status", "updated_by", "updated_at"])
        released = Enrollment.objects.filter(journey=journey, paused_wake_at__isnull=False).update(
            wake_at=F("paused_wake_at"), paused_wake_at=None
        )
        record_audit(journey.workspace, actor, "journey.resumed", journey.name, journey=journey.pk, released=released)
        transaction.on_commit(kick)
    return journey


def archive_journey(journey, actor):
    """Archive: no new entries, and every contact still in the journey leaves it."""
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(pk=journey.pk)
        if journey.status == Journey.Status.ARCHIVED:
            return journey
        journey.status = Journey.Status.ARCHIVED
        journey.updated_by, journey.updated_at = _user(actor) or journey.updated_by, clock.now()
        journey.save(update_fields=["status", "updated_by", "updated_at"])
        ids = list(Enrollment.objects.filter(journey=journey, status__in=OPEN).values_list("id", flat=True))
        exited = 0
        for start in range(0, len(ids), 1000):
            exited += _finish_many(ids[start : start + 1000], Enrollment.Status.EXITED, "journey_archived", clock.now())
        record_audit(journey.workspace, actor, "journey.archived", journey.name, journey=journey.pk, exited=exited)
    return journey


# -- entering a journey ------------------------------------------------------------------------


def record_skip(journey, contact, reason, now, **detail):
    """An event (or API call) that did not start the journey, and why."""
    StepLog.objects.create(
        workspace_id=journey.workspace_id,
        journey=journey,
        contact=contact,
        version_number=journey.live_version.number if journey.live_version_id else None,
        node=TRIGGER_NODE,
        outcome="skipped",
        detail={"reason": reason, **detail},
        at=now,
    )


def enroll_contact(journey, contact, *, trigger=None, entry_key_hint=None, now=None, record=True):
    """Start `contact` on the journey's live version, if the journey is live, the contact is in
    the entry audience and the re-entry policy allows it. Returns (enrollment or None, reason).

    `trigger`: the event (engine.event_data shape) or API payload that started it; kept in the
    enrollment's context. `entry_key_hint`: what makes this entry unique for the "cooldown"
    policy (the event's id), so the same event processed twice enters once.
    """
    now = now or clock.now()
    if journey.status != Journey.Status.LIVE or journey.live_version_id is None:
        reason = f"journey_{journey.status}"
        if record:
            record_skip(journey, contact, reason, now, trigger=(trigger or {}).get("message_id"))
        return None, reason
    if contact.merged_into_id:
        contact = Contact.objects.get(pk=contact.merged_into_id)
    version = journey.live_version
    flow = flow_for(version)
    entry = flow.entry
    audience = entry.get("audience")
    context = {"trigger": trigger} if trigger else {}
    if audience:
        subject = subject_for(contact, context=context, journey=journey, version=version, now=now)
        if not rules.evaluate(audience, subject):
            if record:
                record_skip(journey, contact, "not_in_audience", now)
            return None, "not_in_audience"

    policy = entry.get("re_entry", "after_exit")
    if policy == "once":
        key = "once"
    elif policy == "cooldown":
        cooldown = rules.parse_duration(entry.get("cooldown") or "PT0S")
        recent = Enrollment.objects.filter(journey=journey, contact=contact, entered_at__gt=now - cooldown).exists()
        if recent:
            if record:
                record_skip(journey, contact, "cooldown", now)
            return None, "cooldown"
        key = f"entry:{entry_key_hint}" if entry_key_hint else None
    else:
        key = "open"
    try:
        with transaction.atomic():
            enrollment = Enrollment.objects.create(
                workspace_id=journey.workspace_id,
                contact=contact,
                journey=journey,
                version=version,
                status=Enrollment.Status.ACTIVE,
                current_node=TRIGGER_NODE,
                node_entered_at=now,
                wake_at=now,
                context=context,
                entry_key=key,
                entered_at=now,
            )
    except IntegrityError:
        reason = "already_entered_once" if policy == "once" else "already_in_journey"
        if key and key.startswith("entry:"):
            reason = "duplicate_trigger"
        if record:
            record_skip(journey, contact, reason, now)
        return None, reason
    transaction.on_commit(kick)
    return enrollment, "entered"


# -- goals -------------------------------------------------------------------------------------


def reach_goal(enrollment, goal, event, now):
    """The enrollment met an exit_on goal: it leaves the journey; a conversion is recorded with
    the event's revenue (unless the goal says as_conversion: false)."""
    event_dict = event if isinstance(event, dict) else None
    event_name = event_dict["name"] if event_dict else event.name
    finished = Enrollment.objects.filter(pk=enrollment.pk, status__in=OPEN).update(
        status=Enrollment.Status.EXITED,
        exit_reason="goal",
        finished_at=now,
        wake_at=None,
        paused_wake_at=None,
        claim="",
        awaited_event="",
        entry_key=None if enrollment.entry_key != "once" else "once",
    )
    if not finished:
        return None
    detail = {"goal": event_name}
    conversion = None
    if goal.get("as_conversion", True):
        data = event_dict or engine.event_data(event.name, event.properties)
        revenue, currency = engine.goal_revenue(goal, data)
        conversion, _ = Conversion.objects.get_or_create(
            enrollment=enrollment,
            defaults={
                "workspace_id": enrollment.workspace_id,
                "journey_id": enrollment.journey_id,
                "version_id": enrollment.version_id,
                "contact_id": enrollment.contact_id,
                "event": None if event_dict else event,
                "goal": event_name,
                "revenue": Decimal(revenue) if revenue is not None else Decimal("0"),
                "currency": currency,
                "at": now,
            },
        )
        detail["revenue"] = revenue
    StepLog.objects.create(
        workspace_id=enrollment.workspace_id,
        journey_id=enrollment.journey_id,
        enrollment=enrollment,
        contact_id=enrollment.contact_id,
        version_number=enrollment.version.number,
        node=enrollment.current_node,
        visit=int((enrollment.visits or {}).get(enrollment.current_node, 1) or 1),
        left=True,
        outcome="goal",
        detail=detail,
        at=now,
    )
    _progress({enrollment.journey_id})
    return conversion


# -- the worker --------------------------------------------------------------------------------

_FLOWS: OrderedDict[tuple, engine.Flow] = OrderedDict()


def flow_for(version) -> engine.Flow:
    """The compiled flow of a version. Versions never change; the key includes the publish time
    so that a reused id (a deleted journey's, or a test's rolled-back one) is not mistaken."""
    key = (version.pk, version.published_at)
    flow = _FLOWS.get(key)
    if flow is None:
        flow = engine.compile_flow(version.definition)
        _FLOWS[key] = flow
        if len(_FLOWS) > 512:
            _FLOWS.popitem(last=False)
    return flow


def claim_due(limit=None, now=None, token=None):
    """Claim up to `limit` due enrollments for this worker. Returns (token, ids)."""
    now = now or clock.now()
    limit = limit or batch_size()
    token = token or uuid.uuid4().hex
    lease_end = now + timedelta(seconds=lease_seconds())
    with transaction.atomic():
        due = Enrollment.objects.filter(wake_at__lte=now).order_by("wake_at").values_list("id", flat=True)
        if connection.vendor == "postgresql":
            # Rows another worker is claiming right now are skipped, not waited for.
            due = due.select_for_update(skip_locked=True)
        ids = list(due[:limit])
        if not ids:
            return token, []
        # Conditional: only rows still due are taken (the SQLite path relies on this and on its
        # single writer; PostgreSQL holds the row locks taken above).
        Enrollment.objects.filter(id__in=ids, wake_at__lte=now).update(claim=token, claimed_at=now, wake_at=lease_end)
    return token, ids


STATS = {"steps": 0, "claimed": 0}  # this process's totals (bench and logs)


def advance_due(limit=None, now=None, deadline=None):
    """Claim one batch of due enrollments and advance them. Returns how many were claimed.
    `deadline` (time.monotonic()): start no webhook call after it (the queue's timeout)."""
    token, ids = claim_due(limit, now)
    if not ids:
        return 0
    STATS["claimed"] += len(ids)
    STATS["steps"] += advance_claimed(ids, token, deadline)
    return len(ids)


def advance_claimed(ids, token, deadline=None):
    """Advance enrollments this worker claimed with `token`. Returns the number of steps run."""
    steps = 0
    pending_ids = list(ids)
    rounds = 0
    while pending_ids and rounds < 5:
        rounds += 1
        try:
            result = _advance_batch(pending_ids, token, isolate=False)
        except Exception:
            log.exception("a batch of %d enrollments failed; running them one by one", len(pending_ids))
            result = _advance_batch(pending_ids, token, isolate=True)
        steps += result.steps
        pending_ids = result.webhook_enrollments
        if not result.webhooks:
            break
        if deadline is not None and time.monotonic() > deadline:
            break
        # Webhook calls run outside any transaction; their enrollments stay claimed meanwhile.
        _attempt_webhooks(list(zip(result.webhooks, result.webhook_enrollments, strict=True)), token, deadline)
    if pending_ids:
        # Out of rounds or time: hand them back at once rather than at the end of the lease.
        Enrollment.objects.filter(id__in=pending_ids, claim=token).update(claim="", wake_at=clock.now())
        transaction.on_commit(kick)
    return steps


def _attempt_webhooks(calls, token, deadline):
    """Make the pending webhook calls of a batch, several at a time (they wait on the network)."""
    from . import webhooks

    def one(call_id, enrollment_id):
        if deadline is not None and time.monotonic() > deadline:
            return
        # Renew this enrollment's lease first: a long series of calls must not let it expire
        # (another worker would then make the same call). Lost it: leave the call alone.
        renewed = Enrollment.objects.filter(pk=enrollment_id, claim=token).update(
            wake_at=clock.now() + timedelta(seconds=lease_seconds())
        )
        if renewed:
            webhooks.attempt(call_id)

    threads = int(setting("JOURNEYS_WEBHOOK_CONCURRENCY", 8))
    if len(calls) == 1 or threads <= 1 or connection.in_atomic_block:
        # inside a transaction (tests), other threads would not see its rows: one by one
        for call_id, enrollment_id in calls:
            one(call_id, enrollment_id)
        return

    def in_thread(item):
        try:
            one(*item)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=min(threads, len(calls))) as pool:
        list(pool.map(in_thread, calls))


class _BatchResult:
    def __init__(self):
        self.steps = 0
        self.webhooks = []
        self.webhook_enrollments = []


class WorkerEffects:
    """The engine's side effects for real enrollments, inside the batch transaction."""

    def __init__(self, enrollment, version, now, result):
        self.enrollment, self.version, self.now, self.result = enrollment, version, now, result
        self.pending_webhook = None

    def send_email(self, position, step, subject):
        config = dict(step.config)
        pinned = (self.version.template_versions or {}).get(position.node)
        if pinned:
            config["template_version_id"] = pinned
        if not hooks.has_hook("email.send"):
            return {"status": "failed", "reason": "no email sender is installed"}
        self.enrollment.context = subject.context
        return hooks.hook("email.send")(
            enrollment=self.enrollment, node_id=position.node, visit=position.visit, config=config, now=self.now
        )

    def update_contact(self, position, step, subject):
        # Lock the contact: ingestion may be updating the same profile (PostgreSQL).
        contact = Contact.objects.select_for_update().get(pk=self.enrollment.contact_id)
        fields = set()
        for path, value in step.changes.items():
            if path.startswith("traits."):
                contact.traits = {**(contact.traits or {}), path.removeprefix("traits."): value}
                fields.add("traits")
            elif path in engine.CONTACT_COLUMNS:
                setattr(contact, path, "" if value is None else str(value))
                fields.add(path)
        if fields:
            contact.updated_at = self.now
            contact.save(update_fields=[*fields, "updated_at"])

    def call_webhook(self, position, step, subject):
        key = f"wl-{self.enrollment.pk}-{position.node}-{position.visit}"
        call, _ = WebhookCall.objects.get_or_create(
            idempotency_key=key,
            defaults={
                "workspace_id": self.enrollment.workspace_id,
                "enrollment": self.enrollment,
                "node": position.node,
                "visit": position.visit,
                "method": step.method,
                "url": step.url,
                "response": {"request": {"headers": dict(step.headers), "body": step.body, "timeout": step.timeout}},
            },
        )
        if call.state != WebhookCall.State.PENDING:
            return {
                "ok": call.state == WebhookCall.State.SUCCEEDED,
                "status": call.status_code,
                "body": (call.response or {}).get("body"),
                "headers": (call.response or {}).get("headers", {}),
                "error": call.error,
                "attempts": call.attempts,
            }
        if call.next_attempt_at and call.next_attempt_at > self.now:
            return call.next_attempt_at
        if call.attempts >= step.max_attempts:
            call.state = WebhookCall.State.FAILED
            call.save(update_fields=["state"])
            return {"ok": False, "status": call.status_code, "body": None, "error": call.error}
        # Needs an attempt now: the worker makes it after this transaction.
        WebhookCall.objects.filter(pk=call.pk).update(response={**call.response, "max_attempts": step.max_attempts})
        self.pending_webhook = call.pk
        return self.now

    def assign_variant(self, position, variant, subject):
        ExperimentAssignment.objects.bulk_create(
            [
                ExperimentAssignment(
                    workspace_id=self.enrollment.workspace_id,
                    journey_id=self.enrollment.journey_id,
                    node=position.node,
                    contact_id=self.enrollment.contact_id,
                    variant=variant,
                    assigned_at=self.now,
                )
            ],
            ignore_conflicts=True,
        )


_UPDATE_FIELDS = (
    "status",
    "current_node",
    "node_entered_at",
    "visits",
    "wake_at",
    "paused_wake_at",
    "awaited_event",
    "context",
    "claim",
    "claimed_at",
    "entry_key",
    "finished_at",
    "exit_reason",
)


def _advance_batch(ids, token, isolate):
    result = _BatchResult()
    now = clock.now()
    with transaction.atomic():
        rows = (
            Enrollment.objects.filter(id__in=ids, claim=token)
            .select_related("contact")
            .defer(*(f"contact__{name}" for name in _CONTACT_INTERNALS))
        )
        if connection.vendor == "postgresql":
            rows = rows.select_for_update(of=("self",))
        enrollments = list(rows.order_by("id"))
        if not enrollments:
            return result
        _attach_shared(enrollments)
        flows = {e.version_id: flow_for(e.version) for e in enrollments}
        assignments = _assignments_for(enrollments, flows)
        logs, changed = [], []
        for enrollment in enrollments:
            if isolate:
                try:
                    with transaction.atomic():
                        _advance_one(enrollment, token, flows, assignments, now, logs, result)
                except Exception as error:
                    log.exception("enrollment %s failed", enrollment.pk)
                    _fail(enrollment, now, error, logs)
            else:
                _advance_one(enrollment, token, flows, assignments, now, logs, result)
            changed.append(enrollment)
        _insert_logs(logs)
        _write_enrollments(changed)
        _progress({e.journey_id for e in changed})
        if any(e.status == Enrollment.Status.ACTIVE and e.claim == "" for e in changed):
            transaction.on_commit(kick)
    return result


def _assignments_for(enrollments, flows):
    wanted = [e for e in enrollments if any(n.get("type") == "experiment" for n in flows[e.version_id].nodes.values())]
    if not wanted:
        return {}
    found = {}
    for journey_id, contact_id, node, variant in ExperimentAssignment.objects.filter(
        journey_id__in={e.journey_id for e in wanted}, contact_id__in={e.contact_id for e in wanted}
    ).values_list("journey_id", "contact_id", "node", "variant"):
        found.setdefault((journey_id, contact_id), {})[node] = variant
    return found


def _advance_one(enrollment, token, flows, assignments, now, logs, result):
    journey = enrollment.journey
    if enrollment.status not in OPEN:  # finished meanwhile (a goal): just drop the claim
        enrollment.claim, enrollment.wake_at = "", None
        return
    if journey.status == Journey.Status.PAUSED:
        # Held until resumed (it was due: due at once then).
        enrollment.paused_wake_at, enrollment.wake_at, enrollment.claim = now, None, ""
        return
    if journey.status == Journey.Status.ARCHIVED:
        _finish(enrollment, Enrollment.Status.EXITED, "journey_archived", now)
        logs.append(_log(enrollment, enrollment.current_node, 1, "exited", now, left=True))
        return
    flow = flows[enrollment.version_id]
    context = dict(enrollment.context or {})
    fresh = bool(context.pop("_fresh", False))
    subject = subject_for(
        enrollment.contact,
        context=context,
        journey=journey,
        version=enrollment.version,
        now=now,
        assignments=assignments.get((enrollment.journey_id, enrollment.contact_id), {}),
    )
    visits = dict(enrollment.visits or {})
    position = engine.Position(
        enrollment.current_node, enrollment.node_entered_at, int(visits.get(enrollment.current_node, 1) or 1)
    )
    effects = WorkerEffects(enrollment, enrollment.version, now, result)
    outcome = engine.drive(flow, position, subject, visits, now, effects, fresh=fresh)
    result.steps += outcome.steps
    for record in outcome.records:
        logs.append(
            _log(
                enrollment,
                record.node,
                record.visit,
                record.outcome,
                record.at,
                entered=record.entered,
                left=record.left,
                port=record.port,
                detail=record.detail,
            )
        )
    enrollment.visits = visits
    enrollment.current_node = outcome.position.node
    enrollment.node_entered_at = outcome.position.entered_at
    if subject.contact is not None:
        assignments.setdefault((enrollment.journey_id, enrollment.contact_id), {}).update(subject.assignments)
    enrollment.context = subject.context
    enrollment.awaited_event = outcome.awaited_event
    enrollment.claim = ""
    enrollment.claimed_at = None
    if outcome.fresh:
        enrollment.context = {**enrollment.context, "_fresh": True}
    if outcome.status == "waiting":
        enrollment.status = Enrollment.Status.WAITING
        enrollment.wake_at = outcome.wake_at
        if effects.pending_webhook:
            # Keep the claim: this worker makes the call right after the transaction.
            enrollment.claim = token
            enrollment.wake_at = now + timedelta(seconds=lease_seconds())
            result.webhooks.append(effects.pending_webhook)
            result.webhook_enrollments.append(enrollment.pk)
    elif outcome.status == "active":  # the run hit MAX_STEPS_PER_RUN: go on in a moment
        enrollment.status = Enrollment.Status.ACTIVE
        enrollment.wake_at = now
        enrollment.context = {**enrollment.context, "_fresh": True}
    elif outcome.status == "failed":
        _finish(enrollment, Enrollment.Status.FAILED, outcome.exit_reason or "error", now)
    else:
        _finish(enrollment, Enrollment.Status.COMPLETED, outcome.exit_reason, now)


def _progress(journey_ids):
    """Contacts moved in these journeys: tell whoever listens (the canvas's live counts, through
    the "journey.progress" hook; it notifies after the commit, coalesced)."""
    if journey_ids and hooks.has_hook("journey.progress"):
        hooks.hook("journey.progress")(journey_ids)


def _finish(enrollment, status, reason, now):
    enrollment.status = status
    enrollment.exit_reason = reason or ""
    enrollment.finished_at = now
    enrollment.wake_at = None
    enrollment.paused_wake_at = None
    enrollment.awaited_event = ""
    enrollment.claim = ""
    enrollment.claimed_at = None
    if enrollment.entry_key != "once" and not (enrollment.entry_key or "").startswith("entry:"):
        enrollment.entry_key = None


def _fail(enrollment, now, error, logs):
    enrollment.refresh_from_db()
    _finish(enrollment, Enrollment.Status.FAILED, "error", now)
    logs.append(
        _log(
            enrollment,
            enrollment.current_node,
            int((enrollment.visits or {}).get(enrollment.current_node, 1) or 1),
            "failed",
            now,
            left=True,
            detail={"error": f"{type(error).__name__}: {error}"[:1000]},
        )
    )


@dataclass(slots=True)
class _LogRow:
    """A step log row on its way into the batch's INSERT (a model instance costs far more)."""

    workspace_id: int
    journey_id: int
    enrollment_id: int
    contact_id: int
    version_number: int
    node: str
    visit: int
    entered: bool
    left: bool
    outcome: str
    port: str
    detail: dict
    at: object


def _log(enrollment, node, visit, outcome, at, *, entered=False, left=False, port="", detail=None):
    return _LogRow(
        enrollment.workspace_id,
        enrollment.journey_id,
        enrollment.pk,
        enrollment.contact_id,
        enrollment.version.number,
        node,
        visit,
        entered,
        left,
        outcome,
        port,
        dict(detail or {}),
        at,
    )


_JSON_UPDATE_FIELDS = {"visits", "context"}
_LOG_COLUMNS = (
    "workspace_id",
    "journey_id",
    "enrollment_id",
    "contact_id",
    "version_number",
    "node",
    "visit",
    "entered",
    "left",
    "outcome",
    "port",
    "detail",
    "at",
)


def _json_param(vendor):
    return "%s::jsonb" if vendor == "postgresql" else "%s"


def _write_enrollments(enrollments):
    """One UPDATE statement run for every row (executemany): positions, timers, context. Values
    are adapted here rather than through the ORM's per-field machinery (the hot path)."""
    if not enrollments:
        return
    ops, vendor = connection.ops, connection.vendor
    meta = Enrollment._meta
    columns = [meta.get_field(name).column for name in _UPDATE_FIELDS]
    assignments = ", ".join(
        f"{ops.quote_name(column)} = {_json_param(vendor) if name in _JSON_UPDATE_FIELDS else '%s'}"
        for name, column in zip(_UPDATE_FIELDS, columns, strict=True)
    )
    sql = f"UPDATE {ops.quote_name(meta.db_table)} SET {assignments} WHERE id = %s"
    dumps, when = json.dumps, ops.adapt_datetimefield_value
    params = [
        (
            e.status,
            e.current_node,
            when(e.node_entered_at),
            dumps(e.visits),
            when(e.wake_at),
            when(e.paused_wake_at),
            e.awaited_event,
            dumps(e.context, cls=DjangoJSONEncoder),
            e.claim,
            when(e.claimed_at),
            e.entry_key,
            when(e.finished_at),
            e.exit_reason,
            e.pk,
        )
        for e in enrollments
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _insert_logs(logs):
    """Append the batch's step log rows with one INSERT run for every row (executemany)."""
    if not logs:
        return
    ops, vendor = connection.ops, connection.vendor
    placeholders = ", ".join(_json_param(vendor) if column == "detail" else "%s" for column in _LOG_COLUMNS)
    sql = (
        f"INSERT INTO {ops.quote_name(StepLog._meta.db_table)} "
        f"({', '.join(ops.quote_name(c) for c in _LOG_COLUMNS)}) VALUES ({placeholders})"
    )
    dumps, when = json.dumps, ops.adapt_datetimefield_value
    params = [
        (
            row.workspace_id,
            row.journey_id,
            row.enrollment_id,
            row.contact_id,
            row.version_number,
            row.node,
            row.visit,
            row.entered,
            row.left,
            row.outcome,
            row.port,
            dumps(row.detail, cls=DjangoJSONEncoder),
            when(row.at),
        )
        for row in logs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


_CONTACT_INTERNALS = ("commerce", "field_timestamps")
_VERSIONS: OrderedDict[int, JourneyVersion] = OrderedDict()


def _attach_shared(enrollments):
    """Give the batch's enrollments their journey, version and workspace objects, loaded once
    (a few distinct ones for many enrollments; the versions' definitions are kept per process)."""
    from accounts.models import Workspace

    journeys = Journey.objects.only("id", "workspace_id", "name", "status", "live_version_id").in_bulk(
        {e.journey_id for e in enrollments}
    )
    workspaces = Workspace.objects.in_bulk({e.workspace_id for e in enrollments})
    wanted = dict(
        JourneyVersion.objects.filter(pk__in={e.version_id for e in enrollments}).values_list("pk", "published_at")
    )
    missing = [pk for pk, at in wanted.items() if pk not in _VERSIONS or _VERSIONS[pk].published_at != at]
    for version in JourneyVersion.objects.filter(pk__in=missing):
        _VERSIONS[version.pk] = version
        if len(_VERSIONS) > 512:
            _VERSIONS.popitem(last=False)
    for enrollment in enrollments:
        enrollment.journey = journeys[enrollment.journey_id]
        enrollment.version = _VERSIONS[enrollment.version_id]
        enrollment.workspace = workspaces[enrollment.workspace_id]


# -- kicks -------------------------------------------------------------------------------------


def kick():
    """Tell a worker to look now. Called in on_commit, after the rows it points at exist."""
    from . import tasks

    tasks.enqueue_advance()


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def contact_snapshot(contact):
    return contact_data(contact)


__all__ = [
    "advance_due",
    "archive_journey",
    "claim_due",
    "create_journey",
    "enroll_contact",
    "migration_plan",
    "pause_journey",
    "publish_journey",
    "reach_goal",
    "resume_journey",
    "save_draft",
]
