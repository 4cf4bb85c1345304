"""REST API for broadcasts (/api/broadcasts): list, create and change drafts, start (or schedule),
cancel; the progress on every answer. Reads need `read` (every role), the rest `edit` (admins and
marketers). Everything is the member's workspace's: another workspace's broadcast, segment or journey
is not found. The actions are journeys/broadcasts.py's; a broadcast's report is its journey's
(GET /api/journeys/{journey}/report)."""

from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.access import WorkspaceScopedMixin
from accounts.actions import record_audit
from accounts.errors import DomainError
from accounts.schema import error_responses
from accounts.serializers import CountsField, IdField

from . import broadcasts, clock
from .models import Broadcast


class BroadcastInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Broadcast.Kind.choices, default=Broadcast.Kind.TEMPLATE)
    segment = IdField(help_text="the segment whose members receive it")
    template = serializers.CharField(
        max_length=80, required=False, allow_blank=True, help_text="kind template: the template's slug"
    )
    journey = IdField(required=False, allow_null=True, help_text="kind journey: the live journey to enter")
    schedule = serializers.ChoiceField(
        choices=Broadcast.Schedule.choices,
        default=Broadcast.Schedule.NOW,
        help_text="now, at send_at, at local_time in each contact's zone, or best_time: each contact's best"
        " hour within 24 hours (template broadcasts)",
    )
    send_at = serializers.DateTimeField(required=False, allow_null=True, help_text="schedule at: when")
    local_time = serializers.CharField(
        max_length=5, required=False, allow_blank=True, help_text="schedule local_time: HH:MM in each contact's zone"
    )


class BroadcastUpdateSerializer(BroadcastInputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=Broadcast.Kind.choices, required=False)
    segment = IdField(required=False)
    schedule = serializers.ChoiceField(choices=Broadcast.Schedule.choices, required=False)


class BroadcastSerializer(serializers.ModelSerializer):
    segment_name = serializers.CharField(source="segment.name", read_only=True, allow_null=True, default=None)
    member_count = serializers.IntegerField(read_only=True, help_text="members of the segment now")
    journey_name = serializers.CharField(source="journey.name", read_only=True, allow_null=True, default=None)
    progress = serializers.SerializerMethodField(help_text="entered and skipped, in % of total")
    can_cancel = serializers.SerializerMethodField()
    skipped_reasons = CountsField(read_only=True, help_text="{reason: contacts skipped for it}")

    class Meta:
        model = Broadcast
        fields = [
            "id",
            "name",
            "kind",
            "segment",
            "segment_name",
            "member_count",
            "template",
            "journey",
            "journey_name",
            "schedule",
            "send_at",
            "local_time",
            "status",
            "total",
            "entered",
            "skipped",
            "skipped_reasons",
            "progress",
            "can_cancel",
            "started_at",
            "finished_at",
            "error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_progress(self, broadcast) -> float:
        if broadcast.status == Broadcast.Status.SENT:
            return 100.0
        done = broadcast.entered + broadcast.skipped
        return round(100.0 * done / broadcast.total, 1) if broadcast.total else 0.0

    def get_can_cancel(self, broadcast) -> bool:
        return broadcasts.cancellable(broadcast)


class BroadcastViewSet(
    WorkspaceScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Broadcast.objects.select_related("segment", "journey").order_by("-created_at", "-id")
    serializer_class = BroadcastSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        open_rows = Count("segment__memberships", filter=Q(segment__memberships__left_at__isnull=True))
        return super().get_queryset().annotate(member_count=open_rows)

    def _answer(self, broadcast, code=status.HTTP_200_OK):
        return Response(BroadcastSerializer(self.get_queryset().get(pk=broadcast.pk)).data, status=code)

    @extend_schema(request=BroadcastInputSerializer, responses={201: BroadcastSerializer})
    def create(self, request):
        body = BroadcastInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        broadcast = broadcasts.create_broadcast(request.workspace, request.user, body.validated_data)
        return self._answer(broadcast, status.HTTP_201_CREATED)

    @extend_schema(request=BroadcastUpdateSerializer, responses={200: BroadcastSerializer, **error_responses(409)})
    def partial_update(self, request, pk=None):
        broadcast = self.get_object()
        body = BroadcastUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        broadcast = broadcasts.update_broadcast(broadcast, request.user, body.validated_data)
        return self._answer(broadcast)

    @extend_schema(responses={204: None, **error_responses(409)})
    def destroy(self, request, pk=None):
        """Delete a draft."""
        broadcast = self.get_object()
        if broadcast.status != Broadcast.Status.DRAFT:
            raise DomainError("Only a draft broadcast can be deleted.", code="not_draft", status_code=409)
        record_audit(request.workspace, request.user, "broadcast.deleted", broadcast.name, broadcast=broadcast.pk)
        broadcast.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: BroadcastSerializer, **error_responses(409)})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Start a draft now (or, scheduled at a time, schedule it). Refused before anything is
        entered: an empty segment, no template, a journey not live, a time passed."""
        broadcast = broadcasts.start_broadcast(self.get_object(), request.user, clock.now())
        return self._answer(broadcast)

    @extend_schema(request=None, responses={200: BroadcastSerializer, **error_responses(409)})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a scheduled or running broadcast: nobody more enters; what was sent stays sent."""
        broadcast = broadcasts.cancel_broadcast(self.get_object(), request.user, clock.now())
        return self._answer(broadcast)
