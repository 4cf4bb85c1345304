from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone as dj_timezone

from accounts.models import WorkspaceScoped

__all__ = [
    "Contact",
    "ContactIdentity",
    "Event",
    "EventName",
    "ImportJob",
    "IngestState",
    "Order",
    "PriceChange",
    "Product",
    "Segment",
    "SegmentCheck",
    "SegmentMembership",
    "Suppression",
]


class Contact(WorkspaceScoped):
    """A customer. Known by user_id and/or anonymous ids (see ContactIdentity), merged by identify and alias."""

    user_id = models.CharField(max_length=255, null=True, blank=True)
    email = models.EmailField(max_length=254, blank=True, default="")
    traits = models.JSONField(default=dict, blank=True)
    timezone = models.CharField(max_length=64, blank=True, default="")
    locale = models.CharField(max_length=35, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    city = models.CharField(max_length=120, blank=True, default="")
    consent = models.JSONField(default=dict, blank=True)  # topic -> True/False
    # Commerce state derived on ingest from the event history (rebuildable).
    cart = models.JSONField(default=dict, blank=True)  # {"items": [...], "total": ..., "currency": ...}
    recently_viewed = models.JSONField(default=list, blank=True)
    lifetime_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    orders_count = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # When each trait / profile field was last set, by event timestamp: newer wins, whatever the
    # order events are processed in. {"traits.plan": "2024-05-01T10:00:00+00:00", "email": ...}
    field_timestamps = models.JSONField(default=dict, blank=True)
    # The full commerce fold state (journeys.commerce.State as JSON) and the (timestamp, event id)
    # of the last event folded into it: a later event is folded on, an earlier one forces a rebuild.
    commerce = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user_id"],
                condition=models.Q(user_id__isnull=False),
                name="contact_user_id_unique",
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "email"]),
            models.Index(fields=["workspace", "-last_activity_at"], name="contact_activity_idx"),
            # The contact known only by an email that an identify adopts (identity._adopt_email_contact
            # matches the address ignoring case): without it, each identify with an email scanned
            # the workspace's contacts.
            models.Index(
                models.F("workspace"),
                Upper("email"),
                condition=models.Q(user_id__isnull=True, merged_into__isnull=True),
                name="contact_email_only_ci_idx",
            ),
        ]

    def __str__(self):
        return self.email or self.user_id or f"contact {self.pk}"


class ContactIdentity(WorkspaceScoped):
    class Kind(models.TextChoices):
        USER_ID = "user_id"
        ANONYMOUS_ID = "anonymous_id"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=255)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "kind", "value"], name="identity_unique")]


class Event(WorkspaceScoped):
    """One Segment call, stored first (deduplicated by message_id), processed after commit."""

    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    message_id = models.CharField(max_length=100)
    type = models.CharField(max_length=16)  # identify, track, page, screen, group, alias
    name = models.CharField(max_length=255, blank=True, default="")  # the track event name
    user_id = models.CharField(max_length=255, null=True, blank=True)
    anonymous_id = models.CharField(max_length=255, null=True, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    traits = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    payload = models.JSONField(default=dict, blank=True)  # the call as received, for replay
    timestamp = models.DateTimeField(db_index=True)  # corrected for client clock skew
    original_timestamp = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=dj_timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # failed processing attempts
    error = models.TextField(blank=True, default="")  # the last processing error, if any

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "message_id"], name="event_message_id_unique")]
        indexes = [
            models.Index(fields=["workspace", "contact", "timestamp"]),
            models.Index(fields=["workspace", "name", "timestamp"]),
            # The processing queue: unprocessed events of a workspace in arrival order.
            models.Index(
                fields=["workspace", "id"], condition=models.Q(processed_at__isnull=True), name="event_unprocessed_idx"
            ),
        ]


class Product(WorkspaceScoped):
    sku = models.CharField(max_length=100)
    name = models.CharField(max_length=500)
    url = models.URLField(max_length=2000, blank=True, default="")
    image_url = models.URLField(max_length=2000, blank=True, default="")
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    stock = models.IntegerField(null=True, blank=True)
    category = models.CharField(max_length=200, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "sku"], name="product_sku_unique")]


class PriceChange(WorkspaceScoped):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_history")
    old_price = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    new_price = models.DecimalField(max_digits=12, decimal_places=2)
    changed_at = models.DateTimeField(default=dj_timezone.now)


class Order(WorkspaceScoped):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="orders")
    order_id = models.CharField(max_length=255)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    products = models.JSONField(default=list, blank=True)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    placed_at = models.DateTimeField()
    status = models.CharField(max_length=16, default="completed")  # completed, refunded, cancelled
    net = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))  # revenue less refunds

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "order_id"], name="order_id_unique")]


class IngestState(WorkspaceScoped):
    """One row per workspace: coalesces processing kicks and leases the drain to one worker.

    `kick_pending` is set (False -> True) by the request that stored events, after their commit; a
    request that finds it already True enqueues nothing, because a queued kick will see its events.
    A worker clears it before it drains, so events committed later set it again and kick again.
    """

    kick_pending = models.BooleanField(default=False)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="ingest_state_one_per_workspace")]


class EventName(WorkspaceScoped):
    """An event name (or page/screen/identify) seen in the workspace, with its property keys:
    suggestions for the canvas's trigger and condition editors."""

    type = models.CharField(max_length=16)
    name = models.CharField(max_length=255, blank=True, default="")
    count = models.PositiveBigIntegerField(default=0)
    first_seen_at = models.DateTimeField(default=dj_timezone.now)
    last_seen_at = models.DateTimeField(default=dj_timezone.now)
    # {"total": {"type": "number", "example": 42.5}, ...}; capped in size by journeys.ingest.
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "type", "name"], name="event_name_unique")]


class Suppression(WorkspaceScoped):
    """An address that must never be mailed again, kept only as a hash (see journeys.customers)."""

    email_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=32)  # erased, unsubscribed, bounced, complained, manual
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "email_hash"], name="suppression_unique")]


class ImportJob(WorkspaceScoped):
    """A CSV import of contacts or products, run by a worker; the browser polls its progress."""

    class Kind(models.TextChoices):
        CONTACTS = "contacts"
        PRODUCTS = "products"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=16, blank=True, default="")  # checking, saving
    filename = models.CharField(max_length=255, blank=True, default="")
    content = models.TextField(blank=True, default="")  # the uploaded CSV (cleared when done)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    row_errors = models.JSONField(default=list, blank=True)  # [{"row": 3, "field": "price", "error": "..."}]
    error = models.TextField(blank=True, default="")  # the fatal error, when status is failed
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=dj_timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class Segment(WorkspaceScoped):
    """A saved audience: a rule in the one rule language (journeys.engine.rules) kept as membership
    rows incrementally (journeys.customers.segments), or a static list whose members are added and
    removed by hand."""

    class Kind(models.TextChoices):
        DYNAMIC = "dynamic"
        STATIC = "static"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DYNAMIC)
    rule = models.JSONField(default=dict, blank=True)  # empty for a static list
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(default=dj_timezone.now)
    # Bumped by every save: a worker's cache of the workspace's dynamic segments is current while
    # the workspace's highest version is the one it read (journeys.customers.segments).
    version = models.PositiveIntegerField(default=1)
    # The evaluation of every contact after a rule is set (a worker, journeys.customers.segments.rebuild):
    # {"state": "running" | "done" | "failed", "done": contacts evaluated, "total": contacts}.
    rebuild = models.JSONField(default=dict, blank=True)
    # A ready segment the workspace gets without writing rules (journeys/predictions/ready.py):
    # "rfm_champions", "churn_risk_high", ...; its rule is kept by Wayline. Empty: a marketer's own.
    ready_key = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="segment_name_unique")]

    def __str__(self):
        return self.name


class SegmentMembership(WorkspaceScoped):
    """One stay of a contact in a segment: entering opens a row, leaving sets `left_at`, entering
    again opens another. At most one open row per (segment, contact)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="segment_memberships")
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Also the index of "the members of a segment now" (and its member count).
            models.UniqueConstraint(
                fields=["segment", "contact"],
                condition=models.Q(left_at__isnull=True),
                name="segment_membership_one_open",
            )
        ]
        indexes = [
            # A contact's segments.
            models.Index(fields=["contact", "segment"], name="segment_contact_idx"),
            # History per day: entries and exits of a segment in a period.
            models.Index(fields=["segment", "entered_at"], name="segment_entered_idx"),
        ]


class SegmentCheck(WorkspaceScoped):
    """When a contact's answer to a timed segment rule can next change by time alone (an event
    leaving a "within" window, a date passing): the sweep evaluates only the rows that are due,
    so its cost follows what changes, not how many contacts there are. One row per (segment,
    contact), written whenever the contact is evaluated for the segment; none when nothing timed
    can change the answer."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="checks")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="segment_checks")
    due_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "contact"], name="segment_check_unique")]
        indexes = [models.Index(fields=["due_at"], name="segment_check_due_idx")]
