"""QA's own data: personas (made-up profiles to preview and simulate with), approvals of journey
draft revisions, and the workspace's QA settings (approval before publishing, the seed list)."""

from django.conf import settings
from django.db import models
from django.utils import timezone as dj_timezone

from accounts.models import Workspace, WorkspaceScoped


class Persona(WorkspaceScoped):
    """A made-up contact: what a real contact would have, kept small and edited by hand.

    `cart_items`: [{"sku", "quantity", "price"}] — `price` is the price when it was added (the live
    price comes from the catalog at render time, so a price drop shows). `recent_events`:
    [{"name", "properties", "ago": "PT2H"}] — times are relative, so a persona never grows stale.
    """

    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    traits = models.JSONField(default=dict, blank=True)
    country = models.CharField(max_length=2, blank=True, default="")
    city = models.CharField(max_length=120, blank=True, default="")
    timezone = models.CharField(max_length=64, blank=True, default="")
    locale = models.CharField(max_length=35, blank=True, default="")
    cart_items = models.JSONField(default=list, blank=True)
    recent_events = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="persona_name_unique")]

    def __str__(self):
        return self.name


class WorkspaceQASettings(models.Model):
    """One row per workspace (created on first read)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="qa_settings")
    # Publishing a journey is refused unless its current draft revision has a valid QA approval.
    publish_requires_approval = models.BooleanField(default=False)
    # Addresses test sends may go to besides the member's own (inboxes of mail clients, QA team).
    seed_list = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=dj_timezone.now)

    @classmethod
    def of(cls, workspace):
        return cls.objects.get_or_create(workspace=workspace)[0]


class QAApproval(WorkspaceScoped):
    """A QA member's approval of one draft revision of a journey.

    It is valid while the journey's draft is still at `revision` and the templates its email
    nodes resolve to are still the ones recorded in `templates` (node id -> template version id):
    any later edit of the draft or of a template it sends withdraws it.
    """

    journey = models.ForeignKey("journeys.Journey", on_delete=models.CASCADE, related_name="qa_approvals")
    revision = models.PositiveIntegerField()
    templates = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=500, blank=True, default="")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(default=dj_timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.CharField(max_length=200, blank=True, default="")
    published_version = models.PositiveIntegerField(null=True, blank=True)  # the version it let through

    class Meta:
        ordering = ["-approved_at", "-id"]
        indexes = [models.Index(fields=["journey", "-approved_at"], name="qa_approval_journey_idx")]
