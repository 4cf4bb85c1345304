import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import WorkspaceScoped
from journeys.engine import nodes, rules


class SandboxEmail(models.Model):
    """Every email sent while the sandbox mailbox is the transport: kept whole, shown in the app."""

    workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    from_email = models.CharField(max_length=254)
    to = models.JSONField(default=list)
    subject = models.CharField(max_length=998)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    headers = models.JSONField(default=dict)
    raw = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class Category(models.TextChoices):
    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"


DEFAULT_TOPICS = [
    {"key": "marketing", "name": "News and offers", "description": "Product news, offers and reminders."},
]


class SendingSettings(WorkspaceScoped):
    """How a workspace sends: sender, transport, DKIM key, frequency cap, quiet hours, topics."""

    class Transport(models.TextChoices):
        DEFAULT = "default"  # Django's EMAIL_BACKEND: the sandbox mailbox, or a django-anymail provider
        SMTP = "smtp"  # the workspace's own SMTP server (DKIM-signed when a key is set)

    from_name = models.CharField(max_length=200, blank=True, default="")
    from_email = models.EmailField(blank=True, default="")
    reply_to = models.EmailField(blank=True, default="")
    postal_address = models.CharField(max_length=300, blank=True, default="")
    unsubscribe_mailto = models.EmailField(blank=True, default="")
    transport = models.CharField(max_length=16, choices=Transport.choices, default=Transport.DEFAULT)
    smtp_host = models.CharField(max_length=255, blank=True, default="")
    smtp_port = models.PositiveIntegerField(default=587)
    smtp_username = models.CharField(max_length=255, blank=True, default="")
    smtp_password = models.CharField(max_length=255, blank=True, default="")
    smtp_use_tls = models.BooleanField(default=True)
    smtp_use_ssl = models.BooleanField(default=False)
    dkim_selector = models.CharField(max_length=63, blank=True, default="")
    dkim_private_key = models.TextField(blank=True, default="")  # PEM; never shown again once saved
    frequency_cap = models.PositiveIntegerField(default=3)  # marketing emails per contact per window; 0 = off
    frequency_window_hours = models.PositiveIntegerField(default=24)
    quiet_hours_start = models.TimeField(null=True, blank=True)  # in each contact's own timezone
    quiet_hours_end = models.TimeField(null=True, blank=True)
    topics = models.JSONField(default=list, blank=True)  # [{"key", "name", "description"}]
    # The send rate, shared by every worker (delivery.rate); 0 = unlimited.
    send_rate_per_second = models.PositiveIntegerField(default=0)
    send_window_limit = models.PositiveIntegerField(default=0)  # at most this many per window ...
    send_window_minutes = models.PositiveIntegerField(default=60)  # ... of this many minutes, sliding
    smtp_connections = models.PositiveSmallIntegerField(default=1)  # per worker, used at once for a batch
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="sending_settings_one_per_workspace")]

    @property
    def sender_domain(self):
        address = self.from_email or settings.DEFAULT_FROM_EMAIL
        return address.rsplit("@", 1)[-1].strip(" >").lower()

    def topic_keys(self):
        return [topic["key"] for topic in (self.topics or DEFAULT_TOPICS)]


class SendRate(WorkspaceScoped):
    """What a workspace sent lately, counted against its send rate by every worker (delivery.rate).
    One row per workspace, changed only by a conditional UPDATE on `version`."""

    version = models.PositiveBigIntegerField(default=0)
    used = models.JSONField(default=dict, blank=True)  # {"<window ms>": [[bucket, count], ...]}
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="send_rate_one_per_workspace")]


class ContentBlock(WorkspaceScoped):
    """A reusable piece of MJML included by name; with a condition, shown only to matching contacts."""

    name = models.SlugField(max_length=80)
    description = models.CharField(max_length=300, blank=True, default="")
    source = models.TextField()
    condition = models.JSONField(null=True, blank=True)  # a rule of journeys.rules, or null: always
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="content_block_name_unique")]
        ordering = ["name"]


class CouponPool(WorkspaceScoped):
    """Unique coupon codes; each contact gets one per journey, however often the step runs."""

    slug = models.SlugField(max_length=80)
    name = models.CharField(max_length=200)
    percent_off = models.PositiveIntegerField(null=True, blank=True)
    description = models.CharField(max_length=300, blank=True, default="")
    valid_days = models.PositiveIntegerField(default=14)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "slug"], name="coupon_pool_slug_unique")]


class Coupon(WorkspaceScoped):
    pool = models.ForeignKey(CouponPool, on_delete=models.CASCADE, related_name="coupons")
    code = models.CharField(max_length=100)
    contact = models.ForeignKey("journeys.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    journey_key = models.CharField(max_length=64, blank=True, default="")  # "journey:<id>", "" for none
    assigned_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pool", "code"], name="coupon_code_unique"),
            models.UniqueConstraint(
                fields=["pool", "contact", "journey_key"],
                condition=models.Q(contact__isnull=False),
                name="coupon_once_per_contact_and_journey",
            ),
        ]
        indexes = [models.Index(fields=["pool", "assigned_at"])]


class Template(WorkspaceScoped):
    """An email template. Its content lives in immutable versions; each successful save adds one."""

    slug = models.SlugField(max_length=80)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.MARKETING)
    topic = models.CharField(max_length=64, blank=True, default="marketing")
    coupon_pool = models.ForeignKey(CouponPool, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    latest_version = models.ForeignKey(
        "TemplateVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "slug"], name="template_slug_unique")]
        ordering = ["name", "id"]

    def __str__(self):
        return self.slug


class TemplateVersion(WorkspaceScoped):
    """One immutable version: the author's source and what compiling it once produced."""

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    subject = models.CharField(max_length=998)
    preheader = models.CharField(max_length=300, blank=True, default="")
    from_name = models.CharField(max_length=200, blank=True, default="")
    mjml = models.TextField()
    blocks = models.JSONField(default=dict, blank=True)  # snapshot: {name: {"source", "condition"}}
    compiled_body = models.TextField()  # HTML with Liquid and text markers (delivery.rendering)
    roots = models.JSONField(default=list, blank=True)  # the context names the template uses
    warnings = models.JSONField(default=list, blank=True)  # problems that did not stop the save
    content_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="template_version_number_unique")]
        ordering = ["-number"]


class Message(WorkspaceScoped):
    """The outbox: one row per email, moved by workers through its statuses."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        SUPPRESSED = "suppressed"
        DEFERRED = "deferred"
        IN_DOUBT = "in_doubt"  # a worker died after handing it to the transport: never resent blindly

    idempotency_key = models.CharField(max_length=200)  # "enrollment:<id>:<node>:<visit>", "test:<uuid>"
    contact = models.ForeignKey(
        "journeys.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    to_email = models.EmailField()
    template_version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="messages")
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.MARKETING)
    topic = models.CharField(max_length=64, blank=True, default="")
    is_test = models.BooleanField(default=False)  # test sends: outside caps and metrics
    enrollment_id = models.BigIntegerField(null=True, blank=True)
    journey_id = models.BigIntegerField(null=True, blank=True)
    node_id = models.CharField(max_length=100, blank=True, default="")
    visit = models.PositiveIntegerField(default=0)
    context = models.JSONField(default=dict, blank=True)  # trigger event etc., for re-rendering
    # Over the frequency cap: "defer" (until the cap allows it) or "skip", the journey's choice
    # (its definition's "sending"; other messages defer). Deferred past max_deferral: skipped.
    over_cap = models.CharField(
        max_length=8, choices=[(choice, choice) for choice in nodes.OVER_CAP_CHOICES], default="defer"
    )
    max_deferral = models.DurationField(default=rules.parse_duration(nodes.DEFAULT_MAX_DEFERRAL))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    reason = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    handed_off_at = models.DateTimeField(null=True, blank=True)  # just before the transport call
    token = models.CharField(max_length=32, unique=True, default="")
    from_email = models.CharField(max_length=400, blank=True, default="")
    subject = models.CharField(max_length=998, blank=True, default="")
    html = models.TextField(blank=True, default="")
    text = models.TextField(blank=True, default="")
    headers = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True)  # the URLs its tracked links may go to
    rendered_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)
    last_opened_at = models.DateTimeField(null=True, blank=True)  # the last open counted (one a minute)
    clicked_at = models.DateTimeField(null=True, blank=True)
    click_count = models.PositiveIntegerField(default=0)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "idempotency_key"], name="message_idempotency_key_unique")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="message_due_idx"),
            models.Index(fields=["workspace", "contact", "handed_off_at"], name="message_contact_handoff_idx"),
            models.Index(fields=["workspace", "-created_at"], name="message_recent_idx"),
        ]
        ordering = ["-created_at", "-id"]

    def save(self, *args, **kwargs):
        if not self.token:
            self.token = secrets.token_urlsafe(18)
        super().save(*args, **kwargs)


class MessageEvent(WorkspaceScoped):
    """What happened to a sent message: opens, clicks, unsubscribes, bounces, complaints."""

    class Kind(models.TextChoices):
        OPEN = "open"
        CLICK = "click"
        UNSUBSCRIBE = "unsubscribe"
        BOUNCE = "bounce"
        COMPLAINT = "complaint"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    url = models.URLField(max_length=2000, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
