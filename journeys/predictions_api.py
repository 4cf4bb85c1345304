"""REST API for predictions (/api/predictions): the latest fit of each kind (its status, parameters,
quality and, when it refused, why), and POST /api/predictions/fit to fit the customer-value models
now. Reading needs `read` (every role), fitting `edit` (admins and marketers). Everything is the
member's workspace's. A contact's own prediction is on the contact (GET /api/contacts/{id},
`prediction`). The fitting is journeys/predictions/fit.py's."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.actions import record_audit

from .models import PredictionFit
from .predictions import fit


class PredictionFitSerializer(serializers.ModelSerializer):
    params = serializers.JSONField(read_only=True, help_text='clv: {"r", "alpha", "a", "b", "p", "q", "v"}')
    quality = serializers.JSONField(
        read_only=True, help_text='e.g. {"log_likelihood", "customers", "repeaters", "history_days", ...}'
    )
    message = serializers.CharField(read_only=True, help_text="when refused or failed: why, in plain words")

    class Meta:
        model = PredictionFit
        fields = [
            "id",
            "kind",
            "status",
            "params",
            "quality",
            "message",
            "calibration_end",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class FitQueuedSerializer(serializers.Serializer):
    queued = serializers.BooleanField()
    fits = PredictionFitSerializer(many=True, help_text="the latest fit of each kind, as GET gives them")


class PredictionViewSet(viewsets.ViewSet):
    capabilities = {"list": "read", "fit": "edit"}

    @extend_schema(responses={200: PredictionFitSerializer(many=True)})
    def list(self, request):
        return Response(PredictionFitSerializer(fit.latest_fits(request.workspace.pk), many=True).data)

    @extend_schema(request=None, responses={202: FitQueuedSerializer})
    @action(detail=False, methods=["post"])
    def fit(self, request):
        """Fit the customer-value models now, in a worker; GET shows the fit's progress."""
        workspace = request.workspace
        fit.enqueue_fit(workspace.pk)
        record_audit(workspace, request.user, "predictions.fit", target=f"workspace:{workspace.pk}")
        fits = PredictionFitSerializer(fit.latest_fits(workspace.pk), many=True).data
        return Response({"queued": True, "fits": fits}, status=status.HTTP_202_ACCEPTED)
