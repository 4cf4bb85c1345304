"""State changes of templates, blocks, settings and the outbox.

The outbox follows design.md: one row per (enrollment, node, visit), found again by its
idempotency key; a worker claims a row with a conditional UPDATE (it won if it changed one row),
renders, applies the policies under the contact's row lock, marks the hand-off, calls the
transport and records the outcome. A worker that dies before the hand-off leaves a row the sweeper
puts back in the queue; one that dies after it leaves an in-doubt row, never resent blindly.
"""

import logging
import uuid
from datetime import timedelta
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, F, Max, Q, Value
from django.db.models.functions import Coalesce

from accounts.access import scoped
from accounts.actions import record_audit
from accounts.errors import DomainError
from journeys import clock, customers, kicks
from journeys.engine import rules
from journeys.models import Contact

from . import policies, rendering, transports
from .models import (
    Category,
    ContentBlock,
    Message,
    MessageEvent,
    SendingSettings,
    Template,
    TemplateVersion,
)
from .personalize import build_context
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
    return rendering.render_email(rendering.prepare(_compiled(version)), data, tracker)


def _message_context(message, now):
    """The render data of a message: its contact now, its journey context, its own links, and the
    coupon it was given (test sends show a sample code and use none up)."""
    return build_context(
        message.workspace,
        message.template_version,
        contact=message.contact,
        journey_context=message.context,
        token=message.token,
        journey_key=f"journey:{message.journey_id}" if message.journey_id else "",
        assign_offer=not message.is_test,
        sample=_sample(message),
        now=now,
    )


def render_message(message, now):
    """Personalize the message now (live prices and stock) and store what would be sent."""
    version = message.template_version
    workspace = message.workspace
    rendered = render_for(version, _message_context(message, now), _tracker(message))
    sending = sending_settings(workspace)
    from_email = formataddr(
        (version.from_name or sending.from_name or "", sending.from_email or _address(settings.DEFAULT_FROM_EMAIL))
    )
    headers = {
        "Message-ID": make_msgid(domain=sending.sender_domain or "wayline.local"),
        "X-Wayline-Message": str(message.pk),
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


def enqueue_message(
    workspace,
    version,
    *,
    idempotency_key,
    contact=None,
    to_email=None,
    journey_context=None,
    enrollment_id=None,
    journey_id=None,
    node_id="",
    visit=0,
    is_test=False,
    over_cap=policies.OVER_CAP_DEFER,
    max_deferral=policies.DEFAULT_MAX_DEFERRAL,
    now=None,
):
    """Create the outbox row for this key (or return the existing one), render it, kick delivery
    after commit. A render error marks it failed with the reason: nothing broken is ever sent.
    `over_cap` and `max_deferral`: what the frequency cap does with it (delivery.policies)."""
    now = now or clock.now()
    existing = Message.objects.filter(workspace=workspace, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    template = version.template
    message = Message(
        workspace=workspace,
        idempotency_key=idempotency_key,
        contact=contact,
        to_email=to_email or (contact.email if contact else ""),
        template_version=version,
        category=template.category,
        topic=template.topic or "marketing",
        is_test=is_test,
        enrollment_id=enrollment_id,
        journey_id=journey_id,
        node_id=node_id,
        visit=visit,
        context=journey_context or {},
        over_cap=over_cap,
        max_deferral=max_deferral,
        created_at=now,
        updated_at=now,
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:  # the same step ran twice at once: the other one's row stands
        return Message.objects.get(workspace=workspace, idempotency_key=idempotency_key)
    if not message.to_email:
        return _finish(message, Message.Status.FAILED, "The contact has no email address.", now)
    if not is_test and customers.is_suppressed(workspace, message.to_email):
        return _finish(message, Message.Status.SUPPRESSED, "The address is suppressed.", now)
    try:
        render_message(message, now)
    except (rendering.RenderError, rendering.TemplateError) as error:
        return _finish(message, Message.Status.FAILED, f"The template could not be rendered: {error}", now)
    message.save()
    kick(message)
    return message


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


def journey_of(enrollment):
    """The `journey` root's own fields (as the engine's Subject has them)."""
    return {"id": enrollment.journey_id, "name": enrollment.journey.name, "version": enrollment.version.number}


def send_email_step(*, enrollment, node_id, visit, config, now):
    """The journeys "email.send" hook: one outbox message per (enrollment, node, visit)."""
    workspace = enrollment.workspace
    version_id = config.get("template_version_id") or (enrollment.version.template_versions or {}).get(node_id)
    if version_id is None and config.get("template"):
        version_id = resolve_template(workspace, config["template"])
    version = scoped(TemplateVersion, workspace).select_related("template").filter(pk=version_id).first()
    if version is None:
        return {"message_id": None, "status": "failed", "reason": f"Unknown template “{config.get('template')}”."}
    over_cap, max_deferral = policies.journey_sending(enrollment.version.definition)
    message = enqueue_message(
        workspace,
        version,
        idempotency_key=f"enrollment:{enrollment.pk}:{node_id}:{visit}",
        contact=enrollment.contact,
        journey_context={**enrollment.context, "journey": journey_of(enrollment)},
        enrollment_id=enrollment.pk,
        journey_id=enrollment.journey_id,
        node_id=node_id,
        visit=visit,
        over_cap=over_cap,
        max_deferral=max_deferral,
        now=now,
    )
    return {"message_id": message.pk, "status": message.status, "reason": message.reason}


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


def claim_due(now, limit):
    """Take a batch of due messages: the rows are locked (PostgreSQL: FOR UPDATE SKIP LOCKED, so
    concurrent sweepers take disjoint batches; SQLite: the write transaction is exclusive) and
    marked as sending in the same transaction. Returns their ids."""
    with transaction.atomic():
        due = _due(now).order_by("next_attempt_at", "id")
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
    return _deliver(message_id, now)


def _deliver(message_id, now):
    """Render if needed, apply the policies, hand off, record the outcome (a claimed message)."""
    message = Message.objects.select_related("workspace", "contact", "template_version__template").get(pk=message_id)
    sending = sending_settings(message.workspace)
    if message.rendered_at is None or now - message.rendered_at > RERENDER_AFTER:
        # Deferred or retried messages go out with the prices and stock of the moment they are sent.
        try:
            render_message(message, now)
        except (rendering.RenderError, rendering.TemplateError) as error:
            return _finish(message, Message.Status.FAILED, f"The template could not be rendered: {error}", now).status
        message.save()

    with transaction.atomic():
        # The contact's row lock serializes the cap's count-then-send of two workers.
        contact = (
            Contact.objects.select_for_update().filter(pk=message.contact_id).first() if message.contact_id else None
        )
        decision = policies.check(message, contact, sending, now)
        if decision.action == policies.SUPPRESS:
            return _finish(message, Message.Status.SUPPRESSED, decision.reason, now).status
        if decision.action == policies.DEFER:
            Message.objects.filter(pk=message.pk).update(
                status=Message.Status.DEFERRED,
                reason=decision.reason,
                next_attempt_at=decision.until,
                lease_until=None,
                attempts=F("attempts") - 1,
                updated_at=now,
            )
            return Message.Status.DEFERRED
        handed = Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
            handed_off_at=now, updated_at=now
        )
    if not handed:
        return None

    email = transports.build_email(
        subject=message.subject,
        html=message.html,
        text=message.text,
        from_email=message.from_email,
        to=message.to_email,
        headers=message.headers,
        reply_to=[sending.reply_to] if sending.reply_to else None,
    )
    # For django-anymail providers: their webhooks (bounces, complaints) find the message again.
    email.metadata = {"wayline_token": message.token, "wayline_message": str(message.pk)}
    try:
        provider_id = transports.send(email, sending)
    except transports.DeliveryError as error:
        return _delivery_failed(message, error, now)
    Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
        status=Message.Status.SENT,
        sent_at=clock.now(),
        provider_message_id=provider_id[:255],
        lease_until=None,
        reason="",
        updated_at=clock.now(),
    )
    return Message.Status.SENT


def _delivery_failed(message, error, now):
    attempts = Message.objects.filter(pk=message.pk).values_list("attempts", flat=True).first() or 1
    if error.permanent or attempts >= MAX_ATTEMPTS:
        if error.permanent and not message.is_test:
            customers.suppress(message.workspace_id, message.to_email, reason="bounced")
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED, reason=error.message[:2000], lease_until=None, updated_at=now
        )
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
    for message_id in ids:
        _deliver(message_id, now)
    return ids


def resolve_in_doubt(message, actor, resolution):
    """An admin's answer for an in-doubt message: "sent" (the provider has it) or "resend"."""
    if message.status != Message.Status.IN_DOUBT:
        raise DomainError("Only an in-doubt message can be resolved.", code="not_in_doubt")
    now = clock.now()
    if resolution == "sent":
        message.status, message.sent_at, message.reason = Message.Status.SENT, message.handed_off_at, ""
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


def record_open(message, now=None):
    """Count a load of the open pixel. The first sets `opened_at`; further loads count at most once
    a minute (mail clients fetch the images again each time the email is shown, some several times
    in a row). One conditional UPDATE decides, so two loads at once count once."""
    now = now or clock.now()
    if message.is_test:
        return
    counted = (
        Message.objects.filter(pk=message.pk)
        .filter(Q(last_opened_at__isnull=True) | Q(last_opened_at__lte=now - OPEN_INTERVAL))
        .update(
            open_count=F("open_count") + 1,
            opened_at=Coalesce(F("opened_at"), Value(now, output_field=DateTimeField())),
            last_opened_at=now,
            updated_at=now,
        )
    )
    if counted:
        MessageEvent.objects.create(workspace=message.workspace, message=message, kind=MessageEvent.Kind.OPEN, at=now)


def record_click(message, url, now=None):
    now = now or clock.now()
    if message.is_test:
        return
    Message.objects.filter(pk=message.pk).update(click_count=F("click_count") + 1, updated_at=now)
    Message.objects.filter(pk=message.pk, clicked_at__isnull=True).update(clicked_at=now)
    MessageEvent.objects.create(
        workspace=message.workspace, message=message, kind=MessageEvent.Kind.CLICK, url=url[:2000], at=now
    )


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
        if message.unsubscribed_at is None:
            Message.objects.filter(pk=message.pk).update(unsubscribed_at=now)
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
