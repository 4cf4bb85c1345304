import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MARKETER = "marketer", "Marketer"
    QA = "qa", "QA"


# What each role may do. Every permission check in the API and in consumers asks for one of these.
CAPABILITIES = {
    "read": {Role.ADMIN, Role.MARKETER, Role.QA},  # see everything in the workspace
    "edit": {Role.ADMIN, Role.MARKETER},  # journeys, templates, contacts, catalog
    "qa": {Role.ADMIN, Role.MARKETER, Role.QA},  # preview, simulate, test-send
    "approve": {Role.ADMIN, Role.QA},  # approve a draft for publishing
    "manage": {Role.ADMIN},  # members, keys, sending settings, audit log
}


def capabilities_of(role):
    return sorted(name for name, roles in CAPABILITIES.items() if role in roles)


def hash_secret(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


class Workspace(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.name


class WorkspaceScopedQuerySet(models.QuerySet):
    def for_workspace(self, workspace):
        return self.filter(workspace=workspace)


class WorkspaceScoped(models.Model):
    """Base for every model that holds workspace data. Query it through `scoped()` in accounts.access."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    joined_at = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]

    def can(self, capability):
        return self.is_active and self.role in CAPABILITIES[capability]


class Invitation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REVOKED = "revoked"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=models.Q(status="pending"),
                name="one_pending_invitation_per_email",
            )
        ]

    @property
    def is_expired(self):
        return timezone.now() >= self.expires_at


class WriteKey(models.Model):
    """A workspace's key for the Segment-compatible ingestion API. Shown once, stored hashed."""

    PREFIX = "wk_"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=16)  # the first characters, to recognise a key in the list
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    @classmethod
    def generate(cls):
        raw = cls.PREFIX + secrets.token_urlsafe(24)
        return raw, hash_secret(raw), raw[:10]


class ApiToken(models.Model):
    """A member's personal API token. It acts as that member in that workspace; shown once, stored hashed."""

    PREFIX = "wl_"

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    @classmethod
    def generate(cls):
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        return raw, hash_secret(raw), raw[:10]


class AuditEntry(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=254, blank=True)
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]


class AttemptCounter(models.Model):
    """Attempts at a throttled action (a login, a password reset, an invitation accept) by one
    identity, in a window that starts at the first attempt. Counted by `accounts.throttles` with
    one atomic upsert; a table, not the cache, so every web process shares the counts."""

    key = models.CharField(max_length=64, unique=True)  # sha256 of the scope and the identity
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)  # the end of the window
