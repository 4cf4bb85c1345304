"""Broadcasts (issue 13): a template sent, or a journey entered, once for every member of a
segment. Entering is the engine's own (journeys/broadcasts.py): the row keeps the choice, the
schedule and the progress."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import WorkspaceScoped

from .customers import Segment
from .flows import Journey

__all__ = ["Broadcast"]


class Broadcast(WorkspaceScoped):
    class Kind(models.TextChoices):
        TEMPLATE = "template"  # sends a template through a journey of its own
        JOURNEY = "journey"  # enters every member into a live journey

    class Schedule(models.TextChoices):
        NOW = "now"
        AT = "at"  # at `send_at`
        LOCAL_TIME = "local_time"  # starts now; each contact's email waits until `local_time` in their timezone
        # starts now; each contact's email waits for its best time within 24 hours (send-time optimization)
        BEST_TIME = "best_time"

    class Status(models.TextChoices):
        DRAFT = "draft"
        SCHEDULED = "scheduled"
        RUNNING = "running"
        SENT = "sent"
        CANCELLED = "cancelled"
        FAILED = "failed"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEMPLATE)
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    template = models.CharField(max_length=80, blank=True, default="")  # a template's slug (kind "template")
    # The journey every member enters: the chosen live journey, or (kind "template") the
    # broadcast's own, made and published when it starts and not listed among the journeys.
    journey = models.ForeignKey(Journey, null=True, blank=True, on_delete=models.SET_NULL, related_name="broadcasts")
    schedule = models.CharField(max_length=16, choices=Schedule.choices, default=Schedule.NOW)
    send_at = models.DateTimeField(null=True, blank=True)
    local_time = models.CharField(max_length=5, blank=True, default="")  # "HH:MM"
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # The progress: members of the segment when it started (`started_at`), entered, skipped (with
    # the reasons), and the last contact id whose page is done (pages go by contact id).
    started_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    entered = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    skipped_reasons = models.JSONField(default=dict, blank=True)
    after_contact = models.BigIntegerField(default=0)
    progressed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["status", "send_at"], name="broadcast_due_idx")]

    def __str__(self):
        return self.name
