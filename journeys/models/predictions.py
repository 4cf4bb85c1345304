"""Predictions (issue 14): what a workspace's models learned (`PredictionFit`), what they predict
per contact (`ContactPrediction`, the `predicted` root of the contact context), and which products
go together (`ProductSimilarity`, for recommendations). Written by the workers that fit them
(journeys/predictions/), read at render and rule time."""

from decimal import Decimal

from django.db import models
from django.utils import timezone

from accounts.models import WorkspaceScoped

from .customers import Contact

__all__ = ["ContactPrediction", "PredictionFit", "ProductSimilarity"]


class PredictionFit(WorkspaceScoped):
    """One fit of one model for a workspace: its parameters and quality, or why it refused."""

    class Kind(models.TextChoices):
        CLV = "clv"  # BG/NBD (purchases, dropout) + Gamma-Gamma (order value)
        SEND_TIME = "send_time"  # the workspace's hour-of-week pattern of opens and clicks
        SIMILARITY = "similarity"  # item-to-item co-occurrence

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        REFUSED = "refused"  # too little data: `message` says how much is needed
        FAILED = "failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    params = models.JSONField(default=dict, blank=True)  # e.g. {"r", "alpha", "a", "b", "p", "q", "v"}
    quality = models.JSONField(default=dict, blank=True)  # e.g. {"log_likelihood", "customers", ...}
    message = models.TextField(blank=True, default="")
    calibration_end = models.DateTimeField(null=True, blank=True)  # orders up to this time were used
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "kind", "-started_at"], name="prediction_fit_latest_idx")]


class ContactPrediction(WorkspaceScoped):
    """What the latest fits predict for one contact (the `predicted` root of its context)."""

    class Risk(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="prediction")
    orders_next_90d = models.FloatField(null=True, blank=True)
    probability_active = models.FloatField(null=True, blank=True)
    clv_365d = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    churn_risk = models.CharField(max_length=8, choices=Risk.choices, blank=True, default="")
    next_order_date = models.DateField(null=True, blank=True)
    # The inputs, for the profile's plain-words explanation: repeat orders, weeks between the first
    # and the last, weeks since the first, average order value.
    inputs = models.JSONField(default=dict, blank=True)
    # Opens and clicks by hour of the week (0 = Monday 00:00 in the contact's zone .. 167), machine
    # opens left out: {"hour": count}; the send-time choice shrinks it toward the workspace's.
    engagement_hours = models.JSONField(default=dict, blank=True)
    clv_fitted_at = models.DateTimeField(null=True, blank=True)
    send_time_fitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "churn_risk"], name="prediction_churn_idx")]

    @property
    def clv(self):
        return self.clv_365d if self.clv_365d is not None else Decimal("0")


class ProductSimilarity(WorkspaceScoped):
    """How strongly two products go together (co-viewed, co-carted, co-bought), from one fit."""

    class Signal(models.TextChoices):
        BEHAVIOUR = "behaviour"  # co-views, co-carts and co-purchases, weighted
        BOUGHT_TOGETHER = "bought_together"  # in the same order

    sku = models.CharField(max_length=100)
    similar_sku = models.CharField(max_length=100)
    signal = models.CharField(max_length=16, choices=Signal.choices, default=Signal.BEHAVIOUR)
    score = models.FloatField()
    fit = models.ForeignKey(PredictionFit, on_delete=models.CASCADE, related_name="similarities")

    class Meta:
        indexes = [models.Index(fields=["workspace", "signal", "sku", "-score"], name="product_similar_idx")]
