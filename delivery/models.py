from django.db import models
from django.utils import timezone


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
