"""The worker's batch step: claim due enrollments and advance them.

It follows design.md's one rule: the enrollment rows are the queue. A batch is claimed with a
conditional UPDATE (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL) that sets a claim token and
pushes `wake_at` to the end of a lease; then one transaction re-reads the rows still carrying that
token (locked on PostgreSQL), runs the pure engine for each, performs the side effects through
idempotent hooks (one message per enrollment, node and visit), writes the step log and the new
positions in bulk, and clears the claim. A worker killed anywhere leaves either nothing (its
transaction rolls back) or its complete result; what it claimed becomes due again when the lease
ends.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from django.db import connection, transaction

from . import clock, conf, engine, experiments, hooks, kicks
from .facts import subject_for
from .lifecycle import OPEN, finish, flow_for, progress, step_row, write_enrollments, write_steps
from .models import Contact, Enrollment, ExperimentAssignment, Journey, JourneyVersion, WebhookCall
from .predictions import sendtime

log = logging.getLogger(__name__)


def claim_due(limit=None, now=None, token=None):
    """Claim up to `limit` due enrollments for this worker. Returns (token, ids)."""
    now = now or clock.now()
    limit = limit or conf.batch_size()
    token = token or uuid.uuid4().hex
    lease_end = now + conf.lease()
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
        transaction.on_commit(kicks.advance)
    return steps


def _attempt_webhooks(calls, token, deadline):
    """Make the pending webhook calls of a batch, several at a time (they wait on the network)."""
    from . import webhooks

    def one(call_id, enrollment_id):
        if deadline is not None and time.monotonic() > deadline:
            return
        # Renew this enrollment's lease first: a long series of calls must not let it expire
        # (another worker would then make the same call). Lost it: leave the call alone.
        renewed = Enrollment.objects.filter(pk=enrollment_id, claim=token).update(wake_at=clock.now() + conf.lease())
        if renewed:
            webhooks.attempt(call_id)

    threads = conf.webhook_concurrency()
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
    def __init__(self, batched_emails=False):
        self.steps = 0
        self.webhooks = []
        self.webhook_enrollments = []
        # The batch's email steps, sent together after the engine ran (None: each at once).
        self.emails = [] if batched_emails and hooks.has_hook("email.send_batch") else None
        self.experiments = {}  # journey id -> {experiment node: {"winner", "weights"}}


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
        if self.result.emails is not None:
            # Sent with the rest of the batch once the engine ran for every enrollment; the step
            # log row gets the message's id and status then (_send_emails).
            self.result.emails.append(
                {
                    "enrollment": self.enrollment,
                    "node_id": position.node,
                    "visit": position.visit,
                    "config": config,
                    "context": dict(subject.context),
                    "now": self.now,
                }
            )
            return {"status": "queued"}
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


def _advance_batch(ids, token, isolate):
    result = _BatchResult(batched_emails=not isolate)
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
        # Winners and bandit weights, refreshed every few seconds, read once per batch.
        result.experiments = experiments.states_for(enrollments, flows, now)
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
        if result.emails:
            _send_emails(result.emails, logs)
        write_steps(logs)
        write_enrollments(changed)
        progress({e.journey_id for e in changed})
        if any(e.status == Enrollment.Status.ACTIVE and e.claim == "" for e in changed):
            transaction.on_commit(kicks.advance)
    return result


def _send_emails(requests, logs):
    """The batch's email steps, together (delivery's "email.send_batch": outbox rows made in bulk);
    each one's step log row gets its message's id, status and reason."""
    results = hooks.hook("email.send_batch")(requests)
    rows = {(row.enrollment_id, row.node, row.visit): row for row in logs if row.outcome == "sent"}
    for request, outcome in zip(requests, results, strict=True):
        row = rows.get((request["enrollment"].pk, request["node_id"], request["visit"]))
        if row is not None:
            row.detail.update({k: outcome[k] for k in ("message_id", "status", "reason") if outcome.get(k) is not None})


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
        logs.append(
            step_row(
                enrollment, enrollment.current_node, "exited", now, left=True, detail={"reason": "journey_archived"}
            )
        )
        finish(enrollment, Enrollment.Status.EXITED, "journey_archived", now)
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
        workspace=enrollment.workspace,
    )
    subject.experiments = result.experiments.get(enrollment.journey_id, {})
    subject.best_send_time = sendtime.chooser(enrollment.contact)  # read only by a "best time" email node
    visits = dict(enrollment.visits or {})
    position = engine.Position(
        enrollment.current_node, enrollment.node_entered_at, int(visits.get(enrollment.current_node, 1) or 1)
    )
    effects = WorkerEffects(enrollment, enrollment.version, now, result)
    outcome = engine.drive(flow, position, subject, visits, now, effects, fresh=fresh)
    result.steps += outcome.steps
    for record in outcome.records:
        logs.append(
            step_row(
                enrollment,
                record.node,
                record.outcome,
                record.at,
                visit=record.visit,
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
            enrollment.wake_at = now + conf.lease()
            result.webhooks.append(effects.pending_webhook)
            result.webhook_enrollments.append(enrollment.pk)
    elif outcome.status == "active":  # the run hit MAX_STEPS_PER_RUN: go on in a moment
        enrollment.status = Enrollment.Status.ACTIVE
        enrollment.wake_at = now
        enrollment.context = {**enrollment.context, "_fresh": True}
    elif outcome.status == "failed":
        finish(enrollment, Enrollment.Status.FAILED, outcome.exit_reason or "error", now)
    else:
        finish(enrollment, Enrollment.Status.COMPLETED, outcome.exit_reason, now)


def _fail(enrollment, now, error, logs):
    enrollment.refresh_from_db()
    detail = {"reason": "error", "error": f"{type(error).__name__}: {error}"[:1000]}
    logs.append(step_row(enrollment, enrollment.current_node, "failed", now, left=True, detail=detail))
    finish(enrollment, Enrollment.Status.FAILED, "error", now)


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
