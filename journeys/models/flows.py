"""Journeys, their immutable versions, enrollments (the engine's queue), and what the engine records.

The domain tables are the queue (design.md, "The one rule of the engine"): an enrollment due now or
later has `wake_at`; a worker claims it by setting `claim` and pushing `wake_at` to the end of its
lease, so what a dead worker leaves becomes due again by itself when the lease runs out.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import WorkspaceScoped

from .customers import Contact, Event

__all__ = [
    "Journey",
    "JourneyVersion",
    "Enrollment",
    "StepLog",
    "Conversion",
    "ExperimentAssignment",
    "ReportTally",
    "ReportTotal",
    "WebhookCall",
    "EngineLease",
    "ExperimentState",
]


class Journey(WorkspaceScoped):
    class Status(models.TextChoices):
        DRAFT = "draft"
        LIVE = "live"
        PAUSED = "paused"
        ARCHIVED = "archived"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # The draft being edited; saved with optimistic concurrency (a stale revision is refused).
    draft = models.JSONField(default=dict, blank=True)
    draft_revision = models.PositiveIntegerField(default=1)
    live_version = models.ForeignKey(
        "JourneyVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Copied from the live version at publish time so that matching an event to journeys is one
    # indexed query.
    trigger_type = models.CharField(max_length=32, blank=True, default="")
    trigger_event = models.CharField(max_length=255, blank=True, default="")
    # Set by a QA approval (issue "approvals"): the draft revision that was approved.
    approved_revision = models.PositiveIntegerField(null=True, blank=True)
    library_key = models.CharField(max_length=64, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "status", "trigger_event"], name="journey_trigger_idx")]

    def __str__(self):
        return self.name


class JourneyVersion(WorkspaceScoped):
    """A published definition. Never changed after it is created."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    # node id -> the immutable template version id the email node sends (pinned at publish).
    template_versions = models.JSONField(default=dict, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(default=timezone.now)
    source_revision = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["journey", "number"], name="journey_version_number_unique")]
        ordering = ["journey", "number"]

    def __str__(self):
        return f"{self.journey_id} v{self.number}"


class Enrollment(WorkspaceScoped):
    """One contact's trip through one journey version."""

    class Status(models.TextChoices):
        ACTIVE = "active"  # due now: a worker moves it on
        WAITING = "waiting"  # in a delay or waiting for an event (or a webhook retry)
        COMPLETED = "completed"  # reached an exit node or the end of a path
        EXITED = "exited"  # left early: goal event, archived journey, removed at publish
        FAILED = "failed"  # a step could not run (recorded in the step log)

    OPEN = (Status.ACTIVE, Status.WAITING)

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="enrollments")
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="enrollments")
    version = models.ForeignKey(JourneyVersion, on_delete=models.PROTECT, related_name="enrollments")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    current_node = models.CharField(max_length=64, default="trigger")
    node_entered_at = models.DateTimeField(default=timezone.now)
    visits = models.JSONField(default=dict, blank=True)  # node id -> times entered
    # When a worker should look at it next (NULL: only an event can wake it, or it is finished).
    wake_at = models.DateTimeField(null=True, blank=True)
    paused_wake_at = models.DateTimeField(null=True, blank=True)  # wake_at kept while the journey is paused
    awaited_event = models.CharField(max_length=255, blank=True, default="")
    context = models.JSONField(default=dict, blank=True)  # trigger event, received events, webhook results
    # The lease: a worker's claim token; `wake_at` holds the lease's end while it is claimed.
    claim = models.CharField(max_length=32, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The re-entry policy's guard, unique per (journey, contact) while set: "once" (kept for ever)
    # or "open" (after_exit: released when the enrollment finishes). journeys/lifecycle.py.
    entry_key = models.CharField(max_length=128, null=True, blank=True)
    # What started it ("event:<id>", "api:<idempotency key>", ...): unique per (journey, contact),
    # never released, so one trigger enters once under every policy.
    trigger_key = models.CharField(max_length=160, null=True, blank=True)
    entered_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "contact", "entry_key"],
                condition=models.Q(entry_key__isnull=False),
                name="enrollment_entry_key_unique",
            ),
            models.UniqueConstraint(
                fields=["journey", "contact", "trigger_key"],
                condition=models.Q(trigger_key__isnull=False),
                name="enrollment_trigger_key_unique",
            ),
        ]
        indexes = [
            # The claim query: WHERE wake_at <= now ORDER BY wake_at. Finished and event-only
            # enrollments are not in it, so its cost does not grow with the number waiting.
            models.Index(fields=["wake_at"], condition=models.Q(wake_at__isnull=False), name="enrollment_due_idx"),
            models.Index(fields=["contact", "status"], name="enrollment_contact_idx"),
            models.Index(fields=["journey", "status", "current_node"], name="enrollment_node_idx"),
            models.Index(fields=["journey", "entered_at"], name="enrollment_entered_idx"),
        ]

    @property
    def is_open(self):
        return self.status in self.OPEN


class StepLog(WorkspaceScoped):
    """Append-only: each node an enrollment entered, its outcome and time. Also records why an
    event did not start a journey (enrollment is then empty)."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+")
    enrollment = models.ForeignKey(Enrollment, null=True, blank=True, on_delete=models.CASCADE, related_name="steps")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    version_number = models.PositiveIntegerField(null=True, blank=True)
    node = models.CharField(max_length=64)
    visit = models.PositiveIntegerField(default=1)
    entered = models.BooleanField(default=False)  # this row is the contact's arrival at the node
    left = models.BooleanField(default=False)  # this row is the contact's departure from the node
    outcome = models.CharField(max_length=32)  # sent, waiting, yes, no, timeout, event, exited, skipped ...
    port = models.CharField(max_length=64, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["journey", "node"], name="steplog_node_idx"),
            models.Index(fields=["enrollment", "id"], name="steplog_enrollment_idx"),
        ]
        ordering = ["id"]


class Conversion(WorkspaceScoped):
    """A goal (exit_on) event reached by an enrollment, with its revenue."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="conversions")
    version = models.ForeignKey(JourneyVersion, on_delete=models.CASCADE, related_name="+")
    enrollment = models.OneToOneField(Enrollment, on_delete=models.CASCADE, related_name="conversion")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    goal = models.CharField(max_length=255)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)
    # The attribution (journeys/report.py): the journey's email it is credited to, if any, and
    # what made it count ("click", "open" or "send" within the journey's window).
    node = models.CharField(max_length=64, blank=True, default="")
    message_id = models.BigIntegerField(null=True, blank=True)
    touch = models.CharField(max_length=8, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["journey", "at"], name="conversion_journey_idx")]


class _ReportCount(WorkspaceScoped):
    """A count (and an amount of money) of one metric of a journey, per version, UTC day and node
    (journeys/report.py): what the report reads instead of the step log and the outbox."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+")
    version_number = models.PositiveIntegerField(default=0)
    day = models.DateField()
    node = models.CharField(max_length=64, blank=True, default="")
    metric = models.CharField(max_length=32)
    key = models.CharField(max_length=500, blank=True, default="")  # a port, a link, a currency
    n = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))

    class Meta:
        abstract = True


class ReportTally(_ReportCount):
    """Appended by the workers in the transaction that did the counted thing (no row is updated,
    so concurrent workers never wait on each other); folded into ReportTotal now and then."""

    class Meta:
        indexes = [models.Index(fields=["journey", "day"], name="report_tally_idx")]


class ReportTotal(_ReportCount):
    """One row per counted key: the folded tallies."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "version_number", "day", "node", "metric", "key"], name="report_total_key"
            )
        ]


class ExperimentAssignment(WorkspaceScoped):
    """The variant a contact got at an experiment node: sticky across re-entries and versions."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+")
    node = models.CharField(max_length=64)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    variant = models.CharField(max_length=64)
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "node", "contact"], name="experiment_assignment_unique")
        ]


class WebhookCall(WorkspaceScoped):
    """One webhook node visit: its attempts and the response kept for later nodes."""

    class State(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="webhook_calls")
    node = models.CharField(max_length=64)
    visit = models.PositiveIntegerField()
    idempotency_key = models.CharField(max_length=100, unique=True)
    method = models.CharField(max_length=8)
    url = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(default=dict, blank=True)  # {"status", "ok", "headers", "body"}
    error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)


class EngineLease(models.Model):
    """Named leases for the engine's singletons: the timer loop, the periodic trigger sweep."""

    name = models.CharField(max_length=64, unique=True)
    owner = models.CharField(max_length=64, blank=True, default="")
    until = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)


class ExperimentState(WorkspaceScoped):
    """What results decided at one experiment node with a winner rule or a bandit
    (journeys/experiments.py): the winner (sticky assignments still win over it), the bandit's
    current weights, the last fixed look evaluated, and when it was computed. Refreshed by the
    workers every few seconds, never per contact."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+")
    node = models.CharField(max_length=64)
    weights = models.JSONField(default=dict, blank=True)  # variant -> share of new contacts (bandit)
    looks = models.IntegerField(default=-1)  # the last fixed look evaluated (-1: none yet)
    started_at = models.DateTimeField(null=True, blank=True)  # the node's first assignment
    computed_at = models.DateTimeField(null=True, blank=True)
    # The decision: a winner, or the deadline's "keep the split" (decided_at set, winner empty).
    winner = models.CharField(max_length=64, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)  # the figures the decision was made on

    class Meta:
        constraints = [models.UniqueConstraint(fields=["journey", "node"], name="experiment_state_unique")]
