"""State changes of templates, blocks, settings and the outbox.

The outbox follows design.md: one row per (enrollment, node, visit), found again by its
idempotency key; a worker claims a row with a conditional UPDATE (it won if it changed one row),
renders, applies the policies under the contact's row lock, marks the hand-off, calls the
transport and records the outcome. A worker that dies before the hand-off leaves a row the sweeper
puts back in the queue; one that dies after it leaves an in-doubt row, never resent blindly.
"""

import json as jsonlib
import logging
import secrets
import time
import uuid
from datetime import UTC, timedelta
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q

from accounts.access import scoped
from accounts.actions import record_audit
from accounts.errors import DomainError
from journeys import clock, customers, kicks, report
from journeys.engine import rules
from journeys.models import Contact

from . import policies, rate, rendering, transports
from .models import (
    Category,
    ContentBlock,
    Message,
    MessageEvent,
    SendingSettings,
    Template,
    TemplateVersion,
)
from .personalize import Batch, build_context
from .tracking import LinkTracker, click_key

log = logging.getLogger(__name__)


def lease():
    """How long a worker's claim on a message holds (DELIVERY_LEASE_SECONDS, 2 minutes by default)."""
    return timedelta(seconds=getattr(settings, "DELIVERY_LEASE_SECONDS", 120))


RERENDER_AFTER = timedelta(minutes=10)  # a message waiting longer is rendered again before it goes
MAX_ATTEMPTS = 6
BACKOFF_SECONDS = (30, 120, 600, 1800, 3600)


class TemplateInvalid(DomainError):
    """A template that cannot be compiled; `problems` carry line and column."""

    def __init__(self, problems):
        self.problems = [p.as_dict() for p in problems]
        fields = {}
        for problem in problems:
            where = f"line {problem.line}, column {problem.column}: " if problem.line else ""
            key = "mjml" if problem.part.startswith("block:") else problem.part
            prefix = f"{problem.part}: " if problem.part.startswith("block:") else ""
            fields.setdefault(key, []).append(prefix + where + problem.message)
        first = problems[0]
        super().__init__(f"The template has an error: {first}", code="template_invalid", fields=fields)


# -- sending settings ------------------------------------------------------------------------------


def sending_settings(workspace):
    sending, _ = SendingSettings.objects.get_or_create(workspace=workspace)
    return sending


def update_sending_settings(workspace, actor, changes):
    sending = sending_settings(workspace)
    for key, value in changes.items():
        setattr(sending, key, value)
    sending.updated_at = clock.now()
    sending.save()
    shown = sorted(k for k in changes if k not in ("smtp_password", "dkim_private_key"))
    secrets_changed = sorted(k for k in changes if k in ("smtp_password", "dkim_private_key"))
    record_audit(workspace, actor, "sending.update", "sending settings", fields=shown, secrets=secrets_changed)
    return sending


# -- templates and blocks --------------------------------------------------------------------------


def workspace_blocks(workspace):
    return {
        block.name: rendering.Block(block.name, block.source, block.condition)
        for block in scoped(ContentBlock, workspace)
    }


def compile_source(workspace, mjml, subject, preheader=""):
    """Compile against the workspace's content blocks; raises TemplateInvalid."""
    blocks = workspace_blocks(workspace)
    try:
        return rendering.compile_template(mjml, subject, preheader, blocks), blocks
    except rendering.TemplateError as error:
        raise TemplateInvalid(error.problems) from None


def save_template(workspace, actor, template=None, **fields):
    """Create or change a template. Content changes compile once and add an immutable version."""
    content_keys = ("subject", "preheader", "from_name", "mjml")
    latest = template.latest_version if template is not None else None
    content = {key: fields.get(key, getattr(latest, key, "") if latest else "") for key in content_keys}
    if not content["mjml"] or not content["subject"]:
        raise DomainError(
            "A template needs a subject and MJML.",
            fields={k: ["This field is required."] for k in ("mjml", "subject") if not content[k]},
        )
    compiled, blocks = compile_source(workspace, content["mjml"], content["subject"], content["preheader"])
    with transaction.atomic():
        if template is None:
            template = Template(workspace=workspace)
        for key in ("slug", "name", "category", "topic", "coupon_pool"):
            if key in fields:
                setattr(template, key, fields[key])
        if not template.name:
            template.name = template.slug
        template.updated_at = clock.now()
        try:
            with transaction.atomic():
                template.save()
        except IntegrityError:
            raise DomainError(
                f"A template with the slug “{template.slug}” exists already.", fields={"slug": ["Already in use."]}
            ) from None
        snapshot = {
            name: {"source": blocks[name].source, "condition": blocks[name].condition}
            for name in compiled.blocks
            if name in blocks
        }
        unchanged = (
            latest is not None
            and latest.content_hash == compiled.content_hash
            and all(getattr(latest, k) == content[k] for k in content_keys)
            and latest.blocks == snapshot
        )
        version = latest
        if not unchanged:
            number = (TemplateVersion.objects.filter(template=template).aggregate(n=Max("number"))["n"] or 0) + 1
            version = TemplateVersion.objects.create(
                workspace=workspace,
                template=template,
                number=number,
                blocks=snapshot,
                compiled_body=compiled.body,
                roots=sorted(compiled.roots),
                warnings=[w.as_dict() for w in compiled.warnings],
                content_hash=compiled.content_hash,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
                **content,
            )
            template.latest_version = version
            template.save(update_fields=["latest_version", "updated_at"])
        record_audit(workspace, actor, "template.save", template.slug, version=version.number)
    return template, version


def save_block(workspace, actor, block=None, **fields):
    source = fields.get("source", block.source if block else "")
    name = fields.get("name", block.name if block else "")
    problems, _ = rendering.liquid_problems(source, f"block:{name}")
    errors = [p for p in problems if p.kind != "undefined"]
    if errors:
        raise TemplateInvalid(errors)
    condition = fields.get("condition", block.condition if block else None)
    if condition:
        found = rules.validate(condition, "condition")
        if found:
            raise DomainError(
                f"The condition is not valid: {found[0][1]}",
                fields={path or "condition": [message] for path, message in found},
            )
    block = block or ContentBlock(workspace=workspace)
    for key, value in fields.items():
        setattr(block, key, value)
    block.updated_at = clock.now()
    try:
        with transaction.atomic():
            block.save()
    except IntegrityError:
        raise DomainError(f"A block named “{name}” exists already.", fields={"name": ["Already in use."]}) from None
    record_audit(workspace, actor, "block.save", block.name)
    return block


def resolve_template(workspace, ref):
    """A template slug or id -> its latest immutable version id (the "template.resolve" hook)."""
    templates = scoped(Template, workspace)
    ref = str(ref)
    template = templates.filter(slug=ref).first()
    if template is None and ref.isdigit():
        template = templates.filter(pk=int(ref)).first()
    return template.latest_version_id if template is not None else None


# -- rendering a message ---------------------------------------------------------------------------


def _tracker(message, pixel=True):
    return LinkTracker(click_key(settings.SECRET_KEY), settings.SITE_URL, message.token, pixel=pixel)


def _compiled(version):
    return rendering.Compiled(subject=version.subject, body=version.compiled_body, roots=frozenset(version.roots))


def render_for(version, data, tracker=None):
    """Render a version with prepared data (cached parse); raises RenderError / TemplateError."""
    return rendering.render_email(_prepared(version), data, tracker)


def _prepared(version):
    """The version's parsed templates, looked up once per version object (a batch shares one: the
    lookup hashes the 40 KB body)."""
    prepared = getattr(version, "_wayline_prepared", None)
    if prepared is None:
        prepared = version._wayline_prepared = rendering.prepare(_compiled(version))
    return prepared


def _journey_key(message):
    return f"journey:{message.journey_id}" if message.journey_id else ""


def _message_context(message, now, batch=None):
    """The render data of a message: its contact now, its journey context, its own links, and the
    coupon it was given (test sends show a sample code and use none up)."""
    return build_context(
        message.workspace,
        message.template_version,
        contact=message.contact,
        journey_context=message.context,
        token=message.token,
        journey_key=_journey_key(message),
        assign_offer=not message.is_test,
        sample=_sample(message),
        now=now,
        batch=batch,
    )


def render_message(message, now, sending=None, batch=None):
    """Personalize the message now (live prices and stock) and set what would be sent (not saved).
    A batch passes its workspace's `sending` settings and what its renders share (`Batch`)."""
    version = message.template_version
    workspace = message.workspace
    rendered = render_for(version, _message_context(message, now, batch), _tracker(message))
    sending = sending or sending_settings(workspace)
    from_email = formataddr(
        (version.from_name or sending.from_name or "", sending.from_email or _address(settings.DEFAULT_FROM_EMAIL))
    )
    headers = {
        "Message-ID": make_msgid(domain=sending.sender_domain or "wayline.local"),
        "X-Wayline-Workspace": str(workspace.pk),
    }
    if message.category == Category.MARKETING:
        mailto = sending.unsubscribe_mailto or f"unsubscribe@{sending.sender_domain}"
        https = f"{settings.SITE_URL.rstrip('/')}/t/u/{message.token}"
        headers["List-Unsubscribe"] = f"<{https}>, <mailto:{mailto}?subject=unsubscribe%20{message.token}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if message.is_test:
        headers["X-Wayline-Test"] = "1"
    message.subject = ("[Test] " if message.is_test else "") + rendered.subject
    message.html, message.text, message.links = rendered.html, rendered.text, list(rendered.links)
    message.from_email, message.headers, message.rendered_at = from_email, headers, now
    return message


def _sample(message):
    """A test of a made-up profile (editor personas) carries its context: {"sample": {...}}."""
    sample = (message.context or {}).get("sample") if message.is_test else None
    return sample if isinstance(sample, dict) else None


def _address(value):
    return value.rsplit("<", 1)[-1].rstrip(">").strip()


# -- the outbox ------------------------------------------------------------------------------------


def enqueue_message(workspace, version, *, idempotency_key, now=None, **spec):
    """Create the outbox row for this key (or return the existing one), render it, kick delivery
    after commit (one message of `enqueue_messages`)."""
    return enqueue_messages(workspace, [{"version": version, "idempotency_key": idempotency_key, **spec}], now)[0]


def _new_message(workspace, spec, now):
    version, contact = spec["version"], spec.get("contact")
    return Message(
        workspace=workspace,
        idempotency_key=spec["idempotency_key"],
        contact=contact,
        to_email=spec.get("to_email") or (contact.email if contact else ""),
        template_version=version,
        category=version.template.category,
        topic=version.template.topic or "marketing",
        is_test=spec.get("is_test", False),
        enrollment_id=spec.get("enrollment_id"),
        journey_id=spec.get("journey_id"),
        node_id=spec.get("node_id", ""),
        visit=spec.get("visit", 0),
        context=spec.get("journey_context") or {},
        over_cap=spec.get("over_cap", policies.OVER_CAP_DEFER),
        max_deferral=spec.get("max_deferral", policies.DEFAULT_MAX_DEFERRAL),
        token=secrets.token_urlsafe(18),
        created_at=now,
        updated_at=now,
    )


def enqueue_messages(workspace, specs, now=None, send_here=False):
    """The outbox rows of a batch of sends in one workspace, in a few queries: rows already there
    (by idempotency key) are returned as they are; new ones are given their status (no address,
    suppressed) or rendered with the batch's contacts, carts and products loaded together, then
    inserted at once with what was rendered (a key another worker inserted meanwhile is left to
    it). A render error marks its message failed with the reason: nothing broken is ever sent.
    After the commit, one kick has a worker send them; with `send_here` (a worker's own batch) this
    process sends what it just rendered itself (`_send_rendered`).

    Each spec: version, idempotency_key, and optionally contact, to_email, journey_context,
    enrollment_id, journey_id, node_id, visit, is_test, over_cap, max_deferral. Returns the
    messages in the order of `specs`."""
    now = now or clock.now()
    keys = [spec["idempotency_key"] for spec in specs]
    found = {m.idempotency_key: m for m in Message.objects.filter(workspace=workspace, idempotency_key__in=keys)}
    fresh = {}
    for spec in specs:
        if spec["idempotency_key"] not in found and spec["idempotency_key"] not in fresh:
            fresh[spec["idempotency_key"]] = _new_message(workspace, spec, now)
    if not fresh:
        return [found[key] for key in keys]
    _prepare(workspace, list(fresh.values()), now)
    _insert_new(list(fresh.values()))
    stored = Message.objects.filter(workspace=workspace, idempotency_key__in=list(fresh))
    ours, theirs = [], []
    for key, pk, token in stored.values_list("idempotency_key", "pk", "token"):
        message = fresh[key]
        if token == message.token:  # inserted by this call: the row is what we built
            message.pk, message._state.adding, message._state.db = pk, False, stored.db
            ours.append(message)
        else:  # a concurrent call inserted this key first: its row stands (our render is dropped)
            theirs.append(pk)
    for row in Message.objects.filter(pk__in=theirs):
        found[row.idempotency_key] = row
    found.update({message.idempotency_key: message for message in ours})
    for status in (Message.Status.FAILED, Message.Status.SUPPRESSED):
        report.tally_messages([m for m in ours if m.status == status], now, status)
    queued = [m for m in ours if m.status == Message.Status.QUEUED]
    if queued and send_here:
        transaction.on_commit(lambda: _send_rendered(workspace, queued), robust=True)
    elif queued:
        kick_due()
    return [found[key] for key in keys]


def _insert_new(messages):
    """Insert new outbox rows with one statement run for every row; a key (or token) already there
    is left as it is. (Written into the SQL as literals, each row's ~40 KB of HTML cost about 1.2 ms
    to quote and parse on PostgreSQL; bound on the server, about 0.1 ms.)"""
    from django.db import connection

    fields = [field for field in Message._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(Message._meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT DO NOTHING"
    )
    _execute_many(
        sql, [[field.get_db_prep_save(getattr(m, field.attname), connection) for field in fields] for m in messages]
    )


def _execute_many(sql, rows):
    """One statement run for every row, in this connection's transaction. On PostgreSQL the values
    are bound on the server (psycopg's pipeline), not written into the SQL as Django's cursor does."""
    from django.db import connection

    if connection.vendor == "postgresql":
        import psycopg

        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.executemany(sql, rows)
        return
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _prepare(workspace, messages, now):
    """The status of new messages, and the rendering of those that will be sent (not saved)."""
    suppressed = customers.suppressed_among(workspace, [m.to_email for m in messages if not m.is_test])
    for message in messages:
        if not message.to_email:
            message.status, message.reason = Message.Status.FAILED, "The contact has no email address."
        elif not message.is_test and customers.normalize_email(message.to_email) in suppressed:
            message.status, message.reason = Message.Status.SUPPRESSED, "The address is suppressed."
    _render_all(workspace, [m for m in messages if m.status == Message.Status.QUEUED], now, sending_settings(workspace))


def _render_all(workspace, messages, now, sending):
    """Render messages with what they share loaded together (`_batch_for`); a render error marks its
    message failed with the reason (not saved)."""
    batch = _batch_for(workspace, messages, now)
    for message in messages:
        try:
            render_message(message, now, sending, batch)
        except (rendering.RenderError, rendering.TemplateError) as error:
            message.status = Message.Status.FAILED
            message.reason = f"The template could not be rendered: {error}"


def _batch_for(workspace, messages, now):
    """What the renders of these messages share, loaded together: their carts' products, and the
    coupons of those whose template shows an offer (assigned in bulk, once per contact and journey)."""
    batch = Batch(workspace, [m.contact for m in messages if m.contact is not None])
    batch.assign_offers(
        [
            (m.template_version.template.coupon_pool, _journey_key(m), m.contact)
            for m in messages
            if m.contact is not None
            and not m.is_test
            and "offer" in (m.template_version.roots or [])
            and m.template_version.template.coupon_pool is not None
        ],
        now,
    )
    return batch


_RENDERED_FIELDS = ("status", "reason", "subject", "html", "text", "headers", "links", "from_email", "rendered_at")


def _write_rendered(messages, now):
    """One UPDATE statement run for every message (executemany): status and what was rendered."""
    from django.db import connection

    ops = connection.ops
    json = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    columns = ", ".join(
        f"{ops.quote_name(Message._meta.get_field(name).column)} = {json if name in ('headers', 'links') else '%s'}"
        for name in (*_RENDERED_FIELDS, "updated_at")
    )
    sql = f"UPDATE {ops.quote_name(Message._meta.db_table)} SET {columns} WHERE id = %s"
    when, dumps = ops.adapt_datetimefield_value, jsonlib.dumps
    params = [
        (
            m.status,
            m.reason,
            m.subject,
            m.html,
            m.text,
            dumps(m.headers),
            dumps(list(m.links)),
            m.from_email,
            when(m.rendered_at),
            when(now),
            m.pk,
        )
        for m in messages
    ]
    _execute_many(sql, params)


def _finish(message, status, reason, now):
    message.status, message.reason, message.updated_at = status, reason, now
    message.lease_until = None
    message.save()
    return message


def kick(message):
    """After the commit, a worker sends the message (the outbox row is the queue)."""
    message_id = message.pk
    transaction.on_commit(
        lambda: kicks.enqueue("delivery.tasks.send", message_id, task_name=f"send-{message_id}", group="delivery")
    )


def kick_due():
    """After the commit, a worker sends what is due, in batches (one kick for a batch of messages)."""
    transaction.on_commit(lambda: kicks.enqueue("delivery.tasks.send_due", group="delivery"))


def journey_of(enrollment):
    """The `journey` root's own fields (as the engine's Subject has them)."""
    return {"id": enrollment.journey_id, "name": enrollment.journey.name, "version": enrollment.version.number}


def send_email_step(*, enrollment, node_id, visit, config, now):
    """The journeys "email.send" hook: one email step (a batch of one)."""
    request = {"enrollment": enrollment, "node_id": node_id, "visit": visit, "config": config, "now": now}
    return send_email_steps([request])[0]


def send_email_steps(requests):
    """The journeys "email.send_batch" hook: the email steps of one worker batch, one outbox message
    per (enrollment, node, visit), made together (`enqueue_messages`). Each request: enrollment,
    node_id, visit, config, now. Returns {"message_id", "status", "reason"} per request, in order."""
    results = [None] * len(requests)
    versions = _versions_for(requests)
    by_workspace = {}
    for index, request in enumerate(requests):
        enrollment, node_id, visit = request["enrollment"], request["node_id"], request["visit"]
        version = versions.get(index)
        if version is None:
            reason = f"Unknown template “{request['config'].get('template')}”."
            results[index] = {"message_id": None, "status": "failed", "reason": reason}
            continue
        over_cap, max_deferral = policies.journey_sending(enrollment.version.definition)
        spec = {
            "version": version,
            "idempotency_key": f"enrollment:{enrollment.pk}:{node_id}:{visit}",
            "contact": enrollment.contact,
            "journey_context": {**request.get("context", enrollment.context), "journey": journey_of(enrollment)},
            "enrollment_id": enrollment.pk,
            "journey_id": enrollment.journey_id,
            "node_id": node_id,
            "visit": visit,
            "over_cap": over_cap,
            "max_deferral": max_deferral,
        }
        by_workspace.setdefault(enrollment.workspace_id, (enrollment.workspace, []))[1].append((index, spec))
    for workspace, items in by_workspace.values():
        messages = enqueue_messages(
            workspace, [spec for _, spec in items], requests[items[0][0]]["now"], send_here=True
        )
        for (index, _), message in zip(items, messages, strict=True):
            results[index] = {"message_id": message.pk, "status": message.status, "reason": message.reason}
    return results


def _versions_for(requests):
    """request index -> the TemplateVersion its email node sends (pinned at publish), in one query."""
    wanted = {}
    for index, request in enumerate(requests):
        enrollment, config = request["enrollment"], request["config"]
        version_id = config.get("template_version_id") or (enrollment.version.template_versions or {}).get(
            request["node_id"]
        )
        if version_id is None and config.get("template"):
            version_id = resolve_template(enrollment.workspace, config["template"])
        if version_id is not None:
            wanted[index] = int(version_id)
    found = TemplateVersion.objects.select_related("template__coupon_pool").in_bulk(set(wanted.values()))
    return {
        index: found[version_id]
        for index, version_id in wanted.items()
        if version_id in found and found[version_id].workspace_id == requests[index]["enrollment"].workspace_id
    }


def _due(now):
    return Message.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        status__in=[Message.Status.QUEUED, Message.Status.DEFERRED],
    )


def _take(queryset, now):
    return queryset.update(
        status=Message.Status.SENDING, lease_until=now + lease(), attempts=F("attempts") + 1, updated_at=now
    )


def claim(message_id, now):
    """Take a due message for sending: a conditional UPDATE; True if this worker won it."""
    return bool(_take(_due(now).filter(pk=message_id), now))


def claim_due(now, limit, among=None):
    """Take a batch of due messages (of the ids `among`, when given): the rows are locked
    (PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent sweepers take disjoint batches; SQLite: the
    write transaction is exclusive) and marked as sending in the same transaction. Returns their ids."""
    with transaction.atomic():
        due = _due(now).order_by("next_attempt_at", "id")
        if among is not None:
            due = due.filter(pk__in=list(among))
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:limit])
        _take(Message.objects.filter(pk__in=ids), now)
    return ids


def send_message(message_id, now=None):
    """Send one outbox message if it is due and no other worker has it. Returns its status."""
    now = now or clock.now()
    if not claim(message_id, now):
        return None
    return deliver_batch([message_id], now).get(message_id)


BATCH = 500  # messages a worker claims at once
HANDOFF_CHUNK = 50  # messages handed to the transport together: what a crash may leave in doubt


def deliver_due(limit=BATCH, now=None):
    """Claim a batch of due messages and send them. Returns how many were claimed."""
    now = now or clock.now()
    ids = claim_due(now, limit)
    if ids:
        deliver_batch(ids, now)
    return len(ids)


SEND_HERE_SECONDS = 10  # how long a worker sends its own batch's emails before leaving the rest to others


def _send_rendered(workspace, messages):
    """After the commit of a worker's batch: send the messages it has just rendered, from memory
    (no second read of their HTML, no hand-over to another task). Those another worker took first
    are its own; what is not sent within SEND_HERE_SECONDS is put back for the delivery workers,
    so a slow SMTP server cannot hold the engine up."""
    now = clock.now()
    won = set(claim_due(now, len(messages), among=[m.pk for m in messages]))
    mine = [m for m in messages if m.pk in won]
    for message in mine:
        message.status, message.attempts = Message.Status.SENDING, message.attempts + 1
    if mine:
        _deliver_group(workspace, mine, now, deadline=time.monotonic() + SEND_HERE_SECONDS)


def _put_back(messages, now, **fields):
    """Claimed messages this worker does not send after all: back in the queue (with `fields`:
    a reason, a time), no attempt counted. Returns {message id: "queued"}."""
    Message.objects.filter(pk__in=[m.pk for m in messages], status=Message.Status.SENDING).update(
        status=Message.Status.QUEUED, lease_until=None, attempts=F("attempts") - 1, updated_at=now, **fields
    )
    return {m.pk: Message.Status.QUEUED for m in messages}


def deliver_batch(ids, now):
    """Send messages this worker claimed (status "sending"), together: messages that waited are
    rendered again with the moment's prices and stock; then, a chunk at a time, the policies are
    decided for the chunk under its contacts' row locks (so two workers cannot both count the same
    emails against a cap), the chunk is marked handed off, sent over one connection, and each
    message's outcome recorded (sent, retried with backoff, failed with the reason). A worker that
    dies after a hand-off leaves at most one chunk in doubt. Returns {message id: status}."""
    messages = list(
        Message.objects.select_related("workspace", "contact", "template_version__template__coupon_pool")
        .filter(pk__in=list(ids), status=Message.Status.SENDING)
        .order_by("workspace_id", "id")
    )
    statuses = {}
    by_workspace = {}
    for message in messages:
        by_workspace.setdefault(message.workspace_id, []).append(message)
    for group in by_workspace.values():
        statuses.update(_deliver_group(group[0].workspace, group, now))
    return statuses


def _deliver_group(workspace, messages, now, deadline=None):
    sending = sending_settings(workspace)
    statuses = {}
    stale = [m for m in messages if m.rendered_at is None or now - m.rendered_at > RERENDER_AFTER]
    if stale:
        # Deferred or retried messages go out with the prices and stock of the moment they are sent.
        _render_all(workspace, stale, now, sending)
        _write_rendered(stale, now)
        Message.objects.filter(pk__in=[m.pk for m in stale if m.status == Message.Status.FAILED]).update(
            lease_until=None
        )
    ready = []
    for message in messages:
        if message.status == Message.Status.FAILED:
            statuses[message.pk] = message.status
        else:
            ready.append(message)
    for start in range(0, len(ready), HANDOFF_CHUNK):
        if deadline is not None and time.monotonic() > deadline:
            statuses.update(_put_back(ready[start:], now))
            kick_due()  # the rest goes to the delivery workers
            break
        chunk = ready[start : start + HANDOFF_CHUNK]
        handed, decided = _hand_off(chunk, sending, now)
        statuses.update(decided)
        statuses.update(_send_handed(handed, sending, now))
    return statuses


def _within_rate(workspace, messages, sending, now):
    """The workspace's send rate (delivery/rate.py, shared by every worker): the messages it allows
    now, and the others put back until it allows more ({id: status}), no attempt counted."""
    if not messages:
        return messages, {}
    granted, retry_at = rate.take(workspace, len(messages), now, sending)
    if granted >= len(messages):
        return messages, {}
    held = _put_back(messages[granted:], now, reason="Waiting for the workspace's send rate.", next_attempt_at=retry_at)
    return messages[:granted], held


def _hand_off(messages, sending, now):
    """Decide the policies of a chunk and mark the messages that may go as handed off, in one
    transaction. Returns (the messages to send now, {message id: status} of the others)."""
    decided = {}
    with transaction.atomic():
        contact_ids = sorted({m.contact_id for m in messages if m.contact_id})
        contacts = {c.pk: c for c in Contact.objects.select_for_update().filter(pk__in=contact_ids).order_by("pk")}
        decisions = policies.check_batch(messages, contacts, sending, now)
        go = []
        for message in messages:
            decision = decisions[message.pk]
            if decision.action == policies.SUPPRESS:
                Message.objects.filter(pk=message.pk).update(
                    status=Message.Status.SUPPRESSED, reason=decision.reason, lease_until=None, updated_at=now
                )
                decided[message.pk] = Message.Status.SUPPRESSED
                report.tally_messages([message], now, report.SUPPRESSED)
            elif decision.action == policies.DEFER:
                Message.objects.filter(pk=message.pk).update(
                    status=Message.Status.DEFERRED,
                    reason=decision.reason,
                    next_attempt_at=decision.until,
                    lease_until=None,
                    attempts=F("attempts") - 1,
                    updated_at=now,
                )
                decided[message.pk] = Message.Status.DEFERRED
            else:
                go.append(message)
        still = Message.objects.filter(pk__in=[m.pk for m in go], status=Message.Status.SENDING)
        if transaction.get_connection().features.has_select_for_update:
            still = still.select_for_update()
        still = set(still.values_list("pk", flat=True))
        go = [m for m in go if m.pk in still]
        go, later = _within_rate(go[0].workspace if go else None, go, sending, now)
        decided.update(later)
        Message.objects.filter(pk__in=[m.pk for m in go]).update(handed_off_at=now, updated_at=now)
    return go, decided


def _email_of(message, sending):
    email = transports.build_email(
        subject=message.subject,
        html=message.html,
        text=message.text,
        from_email=message.from_email,
        to=message.to_email,
        headers={**message.headers, "X-Wayline-Message": str(message.pk)},
        reply_to=[sending.reply_to] if sending.reply_to else None,
    )
    # For django-anymail providers: their webhooks (bounces, complaints) find the message again.
    email.metadata = {"wayline_token": message.token, "wayline_message": str(message.pk)}
    return email


def _send_handed(messages, sending, now):
    """Hand the chunk to the transport over its kept connection and record each message's outcome
    (the rest of the chunk goes on whatever one message meets)."""
    statuses, sent = {}, []
    outcomes = transports.send_batch([_email_of(m, sending) for m in messages], sending) if messages else []
    for message, outcome in zip(messages, outcomes, strict=True):
        if outcome.status == transports.SENT:
            sent.append((message, outcome.message_id))
        else:
            statuses[message.pk] = _delivery_failed(message, outcome.error, now)
    if sent:
        with transaction.atomic():  # the status and its count together
            _record_sent(sent)
            report.tally_messages([message for message, _ in sent], now, report.SENT)
        statuses.update({message.pk: Message.Status.SENT for message, _ in sent})
    return statuses


def _record_sent(sent):
    """Mark handed-off messages sent, with the provider's message id (one statement for all)."""
    from django.db import connection

    ops, at = connection.ops, connection.ops.adapt_datetimefield_value(clock.now())
    table = ops.quote_name(Message._meta.db_table)
    sql = (
        f"UPDATE {table} SET status = %s, sent_at = %s, provider_message_id = %s, lease_until = NULL, "
        "reason = '', updated_at = %s WHERE id = %s AND status = %s"
    )
    params = [
        (Message.Status.SENT, at, provider_id[:255], at, message.pk, Message.Status.SENDING)
        for message, provider_id in sent
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _delivery_failed(message, error, now):
    if error.in_doubt:  # the server may have it: never resent blindly
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.IN_DOUBT,
            reason=f"The connection ended before the server answered: it may have been sent. {error.message}"[:2000],
            lease_until=None,
            updated_at=now,
        )
        return Message.Status.IN_DOUBT
    attempts = Message.objects.filter(pk=message.pk).values_list("attempts", flat=True).first() or 1
    if error.permanent or attempts >= MAX_ATTEMPTS:
        if error.suppress and not message.is_test:  # the recipient was refused (not the sender)
            customers.suppress(message.workspace_id, message.to_email, reason="bounced")
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED, reason=error.message[:2000], lease_until=None, updated_at=now
        )
        if error.suppress:  # refused by the recipient's server: a bounce
            detail = {"smtp": error.message[:500]}
            MessageEvent.objects.create(
                workspace_id=message.workspace_id, message=message, kind=MessageEvent.Kind.BOUNCE, detail=detail, at=now
            )
        report.tally_messages([message], now, report.BOUNCED if error.suppress else report.FAILED)
        return Message.Status.FAILED
    delay = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.QUEUED,
        reason=f"Temporary failure, retrying: {error.message}"[:2000],
        next_attempt_at=now + timedelta(seconds=delay),
        handed_off_at=None,
        lease_until=None,
        updated_at=now,
    )
    return Message.Status.QUEUED


def sweep(now=None, limit=500):
    """Re-drive what dead workers left and send what is due. Returns the ids of the messages it
    took (each sent, deferred, suppressed, failed or queued for a retry).

    - an expired lease before the hand-off: back to the queue (nothing reached the transport);
    - an expired lease after the hand-off: in doubt (it may have been sent; never resent blindly);
    - queued or deferred messages whose time has come: claimed in a batch (claim_due), then sent."""
    now = now or clock.now()
    expired = Message.objects.filter(status=Message.Status.SENDING, lease_until__lt=now)
    expired.filter(handed_off_at__isnull=True).update(
        status=Message.Status.QUEUED, lease_until=None, next_attempt_at=now, updated_at=now
    )
    expired.filter(handed_off_at__isnull=False).update(
        status=Message.Status.IN_DOUBT,
        lease_until=None,
        reason="The worker stopped after handing the email to the transport: it may have been sent. "
        "Check the provider, then resend or mark it sent.",
        updated_at=now,
    )
    ids = claim_due(now, limit)
    deliver_batch(ids, now)
    return ids


def resolve_in_doubt(message, actor, resolution):
    """An admin's answer for an in-doubt message: "sent" (the provider has it) or "resend"."""
    if message.status != Message.Status.IN_DOUBT:
        raise DomainError("Only an in-doubt message can be resolved.", code="not_in_doubt")
    now = clock.now()
    if resolution == "sent":
        message.status, message.sent_at, message.reason = Message.Status.SENT, message.handed_off_at, ""
        report.tally_messages([message], now, report.SENT)
    elif resolution == "resend":
        message.status, message.next_attempt_at, message.handed_off_at = Message.Status.QUEUED, now, None
        message.reason = "Resent after an in-doubt hand-off."
    else:
        raise DomainError("Choose “sent” or “resend”.", fields={"resolution": ["Choose sent or resend."]})
    message.updated_at = now
    message.save()
    if resolution == "resend":
        kick(message)
    record_audit(message.workspace, actor, f"message.{resolution}", f"message {message.pk}")
    return message


# -- test sends and previews -----------------------------------------------------------------------


def test_send(workspace, actor, version, to_email, contact=None):
    """Send a version to a member's address, marked as a test: outside caps and metrics."""
    from accounts.models import Membership

    member = (
        Membership.objects.filter(workspace=workspace, is_active=True, user__email__iexact=to_email)
        .select_related("user")
        .first()
    )
    if member is None:
        raise DomainError(
            "Test emails go only to members of this workspace.", fields={"to": ["Not a member's address."]}
        )
    message = enqueue_message(
        workspace,
        version,
        idempotency_key=f"test:{uuid.uuid4().hex}",
        contact=contact,
        to_email=member.user.email,
        is_test=True,
    )
    record_audit(workspace, actor, "template.test_send", version.template.slug, to=member.user.email)
    return message


def preview(workspace, version, *, contact=None, sample=None, now=None):
    """Render a version for a contact or a given context, without tracking or coupons."""
    data = build_context(workspace, version, contact=contact, sample=sample, now=now)
    return render_for(version, data)


def preview_source(workspace, mjml, subject, preheader="", *, contact=None, sample=None):
    """Render unsaved source (editor previews): compile (cached by content) then personalize."""
    compiled, blocks = compile_source(workspace, mjml, subject, preheader)
    version = TemplateVersion(
        workspace=workspace,
        subject=subject,
        compiled_body=compiled.body,
        roots=sorted(compiled.roots),
        blocks={n: {"source": blocks[n].source, "condition": blocks[n].condition} for n in compiled.blocks},
        template=Template(workspace=workspace),
    )
    return compiled, preview(workspace, version, contact=contact, sample=sample)


# -- tracking --------------------------------------------------------------------------------------


def message_by_token(token):
    return Message.objects.select_related("workspace").filter(token=token).first()


OPEN_INTERVAL = timedelta(seconds=60)


def last_touch(enrollment, windows, at):
    """The "journey.last_touch" hook (journeys/report.py's attribution): the last email of the
    enrollment's journey the contact got that it clicked within windows["click"], opened within
    windows["open"] or was sent within windows["send"] before `at`: (node id, message id, "click" |
    "open" | "send"), or None."""
    longest = max(windows.values())
    recent = Message.objects.filter(
        workspace_id=enrollment.workspace_id,
        contact_id=enrollment.contact_id,
        journey_id=enrollment.journey_id,
        is_test=False,
        status=Message.Status.SENT,
        sent_at__gte=at - longest,
        sent_at__lte=at,
    ).order_by("-sent_at", "-id")
    for node, pk, sent_at, opened_at, clicked_at in recent.values_list(
        "node_id", "pk", "sent_at", "opened_at", "clicked_at"
    )[:50]:
        if clicked_at and clicked_at <= at and at - clicked_at <= windows["click"]:
            return node, pk, "click"
        if opened_at and opened_at <= at and at - opened_at <= windows["open"]:
            return node, pk, "open"
        if at - sent_at <= windows["send"]:
            return node, pk, "send"
    return None


def message_counts(journey):
    """The "journey.message_counts" hook (journeys/report.py `recount`): the journey's email counts
    recomputed from the outbox and its events, [(version, day, node, metric, key, n, amount)]."""
    from django.db.models import Count, Exists, OuterRef, Subquery
    from django.db.models.functions import TruncDate

    from journeys.models import Enrollment

    version = Subquery(Enrollment.objects.filter(pk=OuterRef("enrollment_id")).values("version__number")[:1])
    messages = Message.objects.filter(workspace_id=journey.workspace_id, journey_id=journey.pk, is_test=False)
    rows = []

    def grouped(queryset, at, metric, key=None):
        fields = ["version", "on", "node_id", *([key] if key else [])]
        annotated = queryset.annotate(version=version, on=TruncDate(at, tzinfo=UTC)).values(*fields)
        for row in annotated.annotate(n=Count("id")):
            where = (row["version"] or 0, row["on"], row["node_id"])
            rows.append((*where, metric, row[key] if key else "", row["n"], None))

    grouped(messages.filter(status=Message.Status.SENT, sent_at__isnull=False), "sent_at", report.SENT)
    grouped(messages.filter(status=Message.Status.SUPPRESSED), "updated_at", report.SUPPRESSED)
    bounced = MessageEvent.objects.filter(message=OuterRef("pk"), kind=MessageEvent.Kind.BOUNCE)
    grouped(messages.filter(status=Message.Status.FAILED).exclude(Exists(bounced)), "updated_at", report.FAILED)
    grouped(messages.filter(opened_at__isnull=False), "opened_at", report.OPENED)
    grouped(messages.filter(clicked_at__isnull=False), "clicked_at", report.CLICKED)
    grouped(messages.filter(unsubscribed_at__isnull=False), "unsubscribed_at", report.UNSUBSCRIBED)
    events = MessageEvent.objects.filter(
        workspace_id=journey.workspace_id, message__journey_id=journey.pk, message__is_test=False
    ).annotate(node_id=F("message__node_id"), enrollment_id=F("message__enrollment_id"))
    opens = events.filter(kind=MessageEvent.Kind.OPEN)
    grouped(opens.exclude(detail__has_key="machine"), "at", report.OPENS)
    grouped(opens.filter(detail__has_key="machine"), "at", report.MACHINE_OPENS)
    grouped(events.filter(kind=MessageEvent.Kind.CLICK), "at", report.CLICKS, key="url")
    grouped(events.filter(kind=MessageEvent.Kind.BOUNCE), "at", report.BOUNCED)
    grouped(events.filter(kind=MessageEvent.Kind.COMPLAINT), "at", report.COMPLAINED)
    return rows


# Opens a person did not make, where they can be told by who asks: Apple Mail Privacy Protection's
# proxy fetches every image of every email as a bare "Mozilla/5.0"; security scanners and link
# checkers name themselves. Counted apart, never as an open.
_MACHINE_AGENTS = ("bot", "crawler", "spider", "scanner", "proofpoint", "mimecast", "barracuda", "preview")


def is_machine_open(user_agent):
    agent = (user_agent or "").strip().lower()
    return agent == "mozilla/5.0" or any(token in agent for token in _MACHINE_AGENTS)


def record_open(message, now=None, user_agent=""):
    """Count a load of the open pixel. The first sets `opened_at`; further loads count at most once
    a minute (mail clients fetch the images again each time the email is shown, some several times
    in a row). One conditional UPDATE decides, so two loads at once count once. A machine's load
    (`is_machine_open`) is recorded and counted apart, and is not an open."""
    now = now or clock.now()
    if message.is_test:
        return
    if is_machine_open(user_agent):
        MessageEvent.objects.create(
            workspace=message.workspace, message=message, kind=MessageEvent.Kind.OPEN, detail={"machine": True}, at=now
        )
        report.tally_messages([message], now, report.MACHINE_OPENS)
        return
    with transaction.atomic():
        first = Message.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=now)
        counted = (
            Message.objects.filter(pk=message.pk)
            .filter(Q(last_opened_at__isnull=True) | Q(last_opened_at__lte=now - OPEN_INTERVAL))
            .update(open_count=F("open_count") + 1, last_opened_at=now, updated_at=now)
        )
        if counted:
            kind = MessageEvent.Kind.OPEN
            MessageEvent.objects.create(workspace=message.workspace, message=message, kind=kind, at=now)
        report.tally_messages([message], now, *([report.OPENS] if counted else []), *([report.OPENED] if first else []))


def record_click(message, url, now=None):
    now = now or clock.now()
    if message.is_test:
        return
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(click_count=F("click_count") + 1, updated_at=now)
        first = Message.objects.filter(pk=message.pk, clicked_at__isnull=True).update(clicked_at=now)
        MessageEvent.objects.create(
            workspace=message.workspace, message=message, kind=MessageEvent.Kind.CLICK, url=url[:2000], at=now
        )
        report.tally_messages([message], now, (report.CLICKS, url), *([report.CLICKED] if first else []))


def unsubscribe(message, topic=None, now=None):
    """One-click unsubscribe: the contact no longer receives the message's topic (or any)."""
    now = now or clock.now()
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(pk=message.contact_id).first()
        if contact is not None:
            consent = dict(contact.consent or {})
            consent[topic or message.topic or "marketing"] = False
            contact.consent = consent
            contact.updated_at = now
            contact.save(update_fields=["consent", "updated_at"])
        if Message.objects.filter(pk=message.pk, unsubscribed_at__isnull=True).update(unsubscribed_at=now):
            report.tally_messages([message], now, report.UNSUBSCRIBED)
            MessageEvent.objects.create(
                workspace=message.workspace,
                message=message,
                kind=MessageEvent.Kind.UNSUBSCRIBE,
                detail={"topic": topic or message.topic},
                at=now,
            )
    return contact


def set_preferences(message, choices, now=None):
    """The preference center's form: {topic: subscribed?} and "all": False for everything."""
    now = now or clock.now()
    keys = set(sending_settings(message.workspace).topic_keys()) | {policies.ALL_TOPICS}
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(pk=message.contact_id).first()
        if contact is None:
            return None
        consent = dict(contact.consent or {})
        for key, value in choices.items():
            if key in keys:
                consent[key] = bool(value)
        contact.consent, contact.updated_at = consent, now
        contact.save(update_fields=["consent", "updated_at"])
    return contact


def handle_esp_event(event):
    """django-anymail's tracking signal: bounces, complaints and provider unsubscribes suppress or
    unsubscribe the address of the message they concern."""
    kind = getattr(event, "event_type", "")
    if kind not in ("bounced", "complained", "rejected", "unsubscribed"):
        return None
    message = None
    if getattr(event, "message_id", None):
        message = Message.objects.select_related("workspace").filter(provider_message_id=event.message_id).first()
    if message is None:
        metadata = getattr(event, "metadata", None) or {}
        token = metadata.get("wayline_token") if isinstance(metadata, dict) else None
        message = message_by_token(token) if token else None
    if message is None:
        log.info("anymail %s for an unknown message %s", kind, getattr(event, "message_id", ""))
        return None
    if kind == "unsubscribed":
        unsubscribe(message)
        return message
    reason = "complained" if kind == "complained" else "bounced"
    customers.suppress(message.workspace_id, getattr(event, "recipient", None) or message.to_email, reason=reason)
    report.tally_messages([message], clock.now(), report.COMPLAINED if reason == "complained" else report.BOUNCED)
    MessageEvent.objects.create(
        workspace=message.workspace,
        message=message,
        kind=MessageEvent.Kind.COMPLAINT if reason == "complained" else MessageEvent.Kind.BOUNCE,
        detail={"esp_event": kind, "description": str(getattr(event, "description", "") or "")[:500]},
    )
    return message


def view_in_browser(message, now=None):
    """The message rendered again, with today's prices and stock (tracked links, no pixel). The
    offer is the code the contact was given: assigning is idempotent per contact and journey."""
    data = _message_context(message, now or clock.now())
    return render_for(message.template_version, data, _tracker(message, pixel=False))
