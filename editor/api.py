"""QA workspace API: personas, QA settings, the variant gallery, path simulation, test sends and
approvals of journey drafts. Views stay thin: load through the workspace, validate, call an action.

Roles: everyone in the workspace reads personas and uses them (preview, gallery, simulation,
test sends need "qa"); marketers and admins manage personas ("edit"); approving needs "approve"
(admin, QA); the QA settings are an admin's ("manage").
"""

import json
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import WorkspaceScopedMixin, get_scoped_or_404
from accounts.schema import error_responses
from accounts.serializers import NUMBER_MAX, IdField, JSONObjectField
from journeys.engine import rules
from journeys.models import Journey

from . import actions, simulation
from .models import Persona, QAApproval, WorkspaceQASettings

MAX_ITEMS = 50
MAX_JSON = 20_000


def _json_size(value):
    return len(json.dumps(value, default=str))


class CartItemSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=100)
    quantity = serializers.IntegerField(min_value=1, max_value=999, default=1)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True, coerce_to_string=False
    )
    name = serializers.CharField(max_length=500, required=False, allow_blank=True)


class RecentEventSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    properties = serializers.DictField(required=False, default=dict)
    ago = serializers.CharField(max_length=32, default="PT1H")

    def validate_ago(self, value):
        try:
            rules.parse_duration(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None
        return value


class PersonaSerializer(serializers.ModelSerializer):
    traits = JSONObjectField(required=False)
    cart_items = CartItemSerializer(many=True, required=False)
    recent_events = RecentEventSerializer(many=True, required=False)

    class Meta:
        model = Persona
        fields = [
            "id",
            "name",
            "description",
            "email",
            "traits",
            "country",
            "city",
            "timezone",
            "locale",
            "cart_items",
            "recent_events",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_name(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError("A persona needs a name.")
        workspace = self.context["request"].workspace
        taken = Persona.objects.filter(workspace=workspace, name__iexact=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("Another persona has this name.")
        return value

    def validate_traits(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Traits are an object of names and values.")
        if _json_size(value) > MAX_JSON:
            raise serializers.ValidationError("Too many traits.")
        return value

    def validate_country(self, value):
        value = (value or "").strip().upper()
        if value and (len(value) != 2 or not value.isalpha()):
            raise serializers.ValidationError("A two-letter country code, such as DE or GB.")
        return value

    def validate_timezone(self, value):
        value = (value or "").strip()
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise serializers.ValidationError(f"“{value}” is not a time zone (e.g. Europe/Berlin).") from None
        return value

    def validate_locale(self, value):
        value = (value or "").strip().replace("-", "_")
        if value and not all(part.isalnum() for part in value.split("_")):
            raise serializers.ValidationError("A locale such as de_DE or en_GB.")
        return value

    def validate_cart_items(self, value):
        if len(value) > MAX_ITEMS:
            raise serializers.ValidationError(f"At most {MAX_ITEMS} cart items.")
        return value

    def validate_recent_events(self, value):
        if len(value) > MAX_ITEMS or _json_size(value) > MAX_JSON:
            raise serializers.ValidationError(f"At most {MAX_ITEMS} recent events.")
        return value

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        for item in values.get("cart_items", []):
            if item.get("price") is not None:
                item["price"] = float(item["price"])
        return values

    def create(self, validated):
        return actions.save_persona(None, self.context["request"].workspace, self.context["request"].user, validated)

    def update(self, instance, validated):
        return actions.save_persona(instance, instance.workspace, self.context["request"].user, validated)


class ProfileSerializer(PersonaSerializer):
    """A made-up profile given inline (a persona that is not saved)."""

    class Meta(PersonaSerializer.Meta):
        fields = ["email", "traits", "country", "city", "timezone", "locale", "cart_items", "recent_events"]


class PersonaViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet):
    """Personas: made-up profiles (traits, location, cart, recent events) to preview and simulate."""

    queryset = Persona.objects.all()
    serializer_class = PersonaSerializer
    read_capability = "qa"
    write_capability = "edit"
    pagination_class = None

    def perform_destroy(self, instance):
        actions.delete_persona(instance, self.request.user)


class QASettingsSerializer(serializers.ModelSerializer):
    seed_list = serializers.ListField(child=serializers.EmailField(), max_length=50, required=False)

    class Meta:
        model = WorkspaceQASettings
        fields = ["publish_requires_approval", "seed_list", "updated_at"]
        read_only_fields = ["updated_at"]


class QASettingsView(APIView):
    """The workspace's QA settings: publishing needs a QA approval; the test-send seed list."""

    read_capability = "read"
    write_capability = "manage"

    @extend_schema(responses=QASettingsSerializer)
    def get(self, request):
        return Response(QASettingsSerializer(WorkspaceQASettings.of(request.workspace)).data)

    @extend_schema(request=QASettingsSerializer, responses=QASettingsSerializer)
    def patch(self, request):
        body = QASettingsSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        qa_settings = actions.update_qa_settings(request.workspace, request.user, **body.validated_data)
        return Response(QASettingsSerializer(qa_settings).data)

    put = patch


# -- journeys: approval, gallery, simulation -------------------------------------------------------


def approval_payload(approval):
    if approval is None:
        return None
    return {
        "id": approval.id,
        "revision": approval.revision,
        "approved_by": approval.approved_by.email if approval.approved_by else None,
        "approved_at": approval.approved_at,
        "note": approval.note,
        "withdrawn_at": approval.withdrawn_at,
        "withdrawn_reason": approval.withdrawn_reason,
    }


class ApprovalRecordSerializer(serializers.Serializer):
    """`approval_payload`: one QA approval of a draft revision."""

    id = serializers.IntegerField()
    revision = serializers.IntegerField()
    approved_by = serializers.CharField(allow_null=True)
    approved_at = serializers.DateTimeField()
    note = serializers.CharField(allow_blank=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    withdrawn_reason = serializers.CharField(allow_blank=True)


class ApprovalStatusSerializer(serializers.Serializer):
    """`approval_status`: whether the journey's current draft may be published."""

    journey = serializers.IntegerField()
    draft_revision = serializers.IntegerField()
    required = serializers.BooleanField()
    approved = serializers.BooleanField()
    problem = serializers.CharField(allow_null=True, help_text="why the draft may not be published yet")
    approval = ApprovalRecordSerializer(allow_null=True)
    latest = ApprovalRecordSerializer(allow_null=True)
    history = ApprovalRecordSerializer(many=True)


class ApprovalSerializer(serializers.Serializer):
    revision = IdField(max_value=NUMBER_MAX)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class JourneyApprovalView(APIView):
    """GET: whether the journey's current draft may be published (approval status).
    POST: approve the draft revision named in the body (admin, QA)."""

    read_capability = "qa"
    write_capability = "approve"

    @extend_schema(responses=ApprovalStatusSerializer)
    def get(self, request, journey_id):
        journey = get_scoped_or_404(Journey, request.workspace, pk=journey_id)
        return Response(approval_status(journey))

    @extend_schema(request=ApprovalSerializer, responses={201: ApprovalStatusSerializer, **error_responses(409)})
    def post(self, request, journey_id):
        journey = get_scoped_or_404(Journey, request.workspace, pk=journey_id)
        body = ApprovalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        actions.approve_journey(journey, request.user, body.validated_data["revision"], body.validated_data["note"])
        return Response(approval_status(journey), status=201)


class JourneyApprovalWithdrawView(APIView):
    write_capability = "approve"

    @extend_schema(request=None, responses=ApprovalStatusSerializer)
    def post(self, request, journey_id):
        journey = get_scoped_or_404(Journey, request.workspace, pk=journey_id)
        actions.withdraw_approval(journey, request.user, reason="withdrawn by a reviewer")
        return Response(approval_status(journey))


def approval_status(journey):
    journey.refresh_from_db()
    qa_settings = WorkspaceQASettings.of(journey.workspace)
    current, problem = actions.valid_approval(journey)
    latest = QAApproval.objects.filter(journey=journey).select_related("approved_by").first()
    return {
        "journey": journey.id,
        "draft_revision": journey.draft_revision,
        "required": qa_settings.publish_requires_approval,
        "approved": current is not None,
        "problem": problem,
        "approval": approval_payload(current),
        "latest": approval_payload(latest),
        "history": [
            approval_payload(a) for a in QAApproval.objects.filter(journey=journey).select_related("approved_by")[:20]
        ],
    }


class GalleryJourneySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    draft_revision = serializers.IntegerField()


class GalleryNodeSerializer(serializers.Serializer):
    id = serializers.CharField()
    template = serializers.CharField(allow_null=True)
    version = serializers.IntegerField(allow_null=True, help_text="the template version the node would pin")


class GalleryPersonaSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    country = serializers.CharField(allow_blank=True)
    city = serializers.CharField(allow_blank=True)


class GallerySerializer(serializers.Serializer):
    """Personas × email nodes: each cell the rendered email (or why not), the path and arrival."""

    journey = GalleryJourneySerializer()
    generated_at = serializers.DateTimeField()
    nodes = GalleryNodeSerializer(many=True)
    personas = GalleryPersonaSerializer(many=True)
    cells = serializers.ListField(child=serializers.DictField())


class GalleryView(APIView):
    """Personas × email nodes of a journey draft: each cell the rendered email, the simulated path
    that led there and when it would arrive."""

    read_capability = "qa"

    @extend_schema(
        parameters=[OpenApiParameter("personas", str, description="persona ids, comma-separated; all by default")],
        responses=GallerySerializer,
    )
    def get(self, request, journey_id):
        journey = get_scoped_or_404(Journey, request.workspace, pk=journey_id)
        persona_ids = [
            int(x) for x in request.query_params.get("personas", "").split(",") if x.strip().isdigit() and len(x) < 19
        ]
        return Response(actions.variant_gallery(journey, persona_ids or None))


class SimulateEventSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    after = serializers.CharField(max_length=32)
    properties = serializers.DictField(required=False, default=dict)

    def validate_after(self, value):
        try:
            rules.parse_duration(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None
        return value


def _one_subject(data):
    if sum(name in data for name in ("persona", "contact", "profile")) != 1:
        raise serializers.ValidationError("Choose a persona, a contact or give a profile.")


class WebhookResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField(required=False)
    status = serializers.IntegerField(required=False, min_value=100, max_value=599)
    body = serializers.JSONField(required=False)


class SimulateSerializer(serializers.Serializer):
    persona = IdField(required=False)
    contact = IdField(required=False)
    profile = ProfileSerializer(required=False)
    events = SimulateEventSerializer(many=True, required=False, default=list)
    source = serializers.RegexField(
        r"^(draft|live|[0-9]{1,9})$",
        required=False,
        default="draft",
        help_text="What to simulate: the draft (default), the live version, or a version number.",
        error_messages={"invalid": "Use draft, live or a version number."},
    )
    start = serializers.DateTimeField(required=False, help_text="When the simulated trip starts (default: now).")
    webhook_results = serializers.DictField(
        child=WebhookResultSerializer(),
        required=False,
        default=dict,
        help_text="What each webhook node's call answers, by node id (default: success with an empty body).",
    )

    def validate_events(self, value):
        if len(value) > simulation.MAX_EVENTS:
            raise serializers.ValidationError(f"At most {simulation.MAX_EVENTS} hypothetical events.")
        return value

    def validate(self, data):
        _one_subject(data)
        return data


class SimulateView(APIView):
    """The one simulation API: the path a persona, a contact or a made-up profile would take through
    the journey's draft (or its live or a numbered version), with hypothetical future events
    ("Order Completed after PT30M") and assumed webhook answers, from the engine's simulator."""

    write_capability = "qa"

    @extend_schema(request=SimulateSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request, journey_id):
        journey = get_scoped_or_404(Journey, request.workspace, pk=journey_id)
        body = SimulateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        return Response(simulation.simulate_path(journey, **body.validated_data))


class TestSendSerializer(serializers.Serializer):
    template = IdField(required=False)
    journey = IdField(required=False)
    node = serializers.CharField(max_length=64, required=False)
    persona = IdField(required=False)
    contact = IdField(required=False)
    profile = ProfileSerializer(required=False)
    to = serializers.ListField(child=serializers.CharField(max_length=254), min_length=1, max_length=50)

    def validate(self, data):
        if ("template" in data) == ("journey" in data):
            raise serializers.ValidationError("Choose a template, or a journey and its email node.")
        if "journey" in data and not data.get("node"):
            raise serializers.ValidationError({"node": ["Choose the email node."]})
        _one_subject(data)
        return data


class TestSentSerializer(serializers.Serializer):
    to = serializers.CharField()
    message_id = serializers.IntegerField()
    status = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)


class TestSendResultSerializer(serializers.Serializer):
    sent = TestSentSerializer(many=True)
    template = serializers.CharField()
    version = serializers.IntegerField()
    subject = serializers.CharField(allow_blank=True)


class TestSendView(APIView):
    """Send one variant as a test to the member's own address ("me") or seed-list addresses."""

    write_capability = "qa"

    @extend_schema(request=TestSendSerializer, responses={201: TestSendResultSerializer, **error_responses(404)})
    def post(self, request):
        body = TestSendSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        result = actions.send_test_variant(request.workspace, request.user, **body.validated_data)
        return Response(result, status=201)
