from decimal import Decimal

from django.db import models
from django.utils import timezone as dj_timezone

from accounts.models import WorkspaceScoped

__all__ = ["Contact", "ContactIdentity", "Event", "Product", "PriceChange", "Order"]


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
        indexes = [models.Index(fields=["workspace", "email"])]

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

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "message_id"], name="event_message_id_unique")]
        indexes = [
            models.Index(fields=["workspace", "contact", "timestamp"]),
            models.Index(fields=["workspace", "name", "timestamp"]),
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

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "order_id"], name="order_id_unique")]
