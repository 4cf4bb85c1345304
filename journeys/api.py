"""The journeys REST API. Views parse, call one action, shape the answer.

Roles: every member reads; marketers and admins edit, publish, pause, resume, archive, import and
enroll; QA (and the editing roles) validate. Simulation is the QA workspace's (editor/simulation.py).
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.access import WorkspaceScopedMixin, scoped
from accounts.errors import DomainError
from accounts.schema import error_responses
from accounts.serializers import NUMBER_MAX, IdField

from . import clock, drafts, experiments, lifecycle, publishing, report, stats
from .engine import library, nodes
from .models import Broadcast, Contact, Enrollment, Event, Journey, JourneyVersion

EXPORT_FORMAT = "wayline.journey/1"


def user_ref(user):
    if user is None:
        return None
    return {"id": user.pk, "email": user.email, "name": user.get_full_name()}


def _draft_trigger(journey, key):
    """The draft trigger's `type` or `event`; "" when the draft (saved with its problems) has none."""
    trigger = journey.draft.get("trigger") if isinstance(journey.draft, dict) else None
    value = trigger.get(key) if isinstance(trigger, dict) else None
    return value if isinstance(value, str) else ""


def _event_of(journey):
    return journey.trigger_event if journey.trigger_type == "event" else ""  # ("segment:<id>" is internal)


def summary(journey, figures=None):
    figures = figures or {}
    live = journey.live_version
    return {
        "id": journey.pk,
        "name": journey.name,
        "description": journey.description,
        "status": journey.status,
        "trigger_type": _draft_trigger(journey, "type") if not live else journey.trigger_type,
        "trigger_event": _draft_trigger(journey, "event") if not live else _event_of(journey),
        "in_journey": figures.get("in_journey", 0),
        "entered_7d": figures.get("entered_7d", 0),
        "converted_7d": figures.get("converted_7d", 0),
        "updated_at": journey.updated_at,
        "updated_by": user_ref(journey.updated_by),
        "created_at": journey.created_at,
        "live_version": live.number if live else None,
        "has_unpublished_changes": live is None or live.source_revision != journey.draft_revision,
        "library_key": journey.library_key,
    }


def detail(journey):
    journey = Journey.objects.select_related("live_version", "updated_by").get(pk=journey.pk)
    figures = stats.list_figures([journey]).get(journey.pk)
    return {
        **summary(journey, figures),
        "draft": journey.draft,
        "draft_revision": journey.draft_revision,
        "live_definition": journey.live_version.definition if journey.live_version else None,
        "problems": [p.as_dict() for p in drafts.check_definition(journey.draft, journey.workspace)],
    }


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    name = serializers.CharField()


class JourneySummarySerializer(serializers.Serializer):
    """What the journeys list shows (the API documentation's shape of `summary()`)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=Journey.Status.choices)
    trigger_type = serializers.CharField()
    trigger_event = serializers.CharField()
    in_journey = serializers.IntegerField()
    entered_7d = serializers.IntegerField()
    converted_7d = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    updated_by = UserRefSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    live_version = serializers.IntegerField(allow_null=True)
    has_unpublished_changes = serializers.BooleanField()
    library_key = serializers.CharField()


# -- The shapes of the other answers (documentation: the views build them as dicts) --


class ProblemSerializer(serializers.Serializer):
    """One problem of a definition, naming the node and the field."""

    code = serializers.CharField()
    message = serializers.CharField()
    path = serializers.CharField(help_text="nodes.wait1.config.timeout, trigger.event, edges[2].port")
    node = serializers.CharField(allow_null=True, help_text="the node the canvas highlights")
    field = serializers.CharField(help_text="the field inside the node: config.timeout")


class JourneyDetailSerializer(JourneySummarySerializer):
    """`detail()`: the summary with the draft, the live definition and the draft's problems."""

    draft = serializers.JSONField(help_text="the journey definition being edited")
    draft_revision = serializers.IntegerField()
    live_definition = serializers.JSONField(allow_null=True)
    problems = ProblemSerializer(many=True)


class MigrationRowSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    node = serializers.CharField()
    count = serializers.IntegerField()
    action = serializers.ChoiceField(choices=["move", "keep", "exit"])
    to = serializers.CharField(allow_null=True)


class MigrationTotalsSerializer(serializers.Serializer):
    move = serializers.IntegerField()
    keep = serializers.IntegerField()
    exit = serializers.IntegerField()


class MigrationPlanSerializer(serializers.Serializer):
    nodes = MigrationRowSerializer(many=True)
    totals = MigrationTotalsSerializer()


class PublishedSerializer(JourneyDetailSerializer):
    published_version = serializers.IntegerField()
    migration = MigrationPlanSerializer()


class DryRunRowSerializer(MigrationRowSerializer):
    type = serializers.CharField(allow_null=True, help_text="the node's type in the draft")
    target = serializers.CharField(allow_null=True, help_text="where the contacts would go")


class DryRunSerializer(serializers.Serializer):
    in_flight = serializers.IntegerField()
    nodes = DryRunRowSerializer(many=True)
    totals = MigrationTotalsSerializer()


# The published journey; with `dry_run`, the figures of what publishing would do.
PublishAnswer = PolymorphicProxySerializer(
    component_name="PublishAnswer",
    serializers=[PublishedSerializer, DryRunSerializer],
    resource_type_field_name=None,
)


class VersionRowSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    published_by = UserRefSerializer(allow_null=True)
    live = serializers.BooleanField()
    source_revision = serializers.IntegerField(allow_null=True)


class VersionDetailSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    published_by = UserRefSerializer(allow_null=True)
    live = serializers.BooleanField()
    definition = serializers.JSONField()
    template_versions = serializers.DictField(child=serializers.IntegerField(), help_text="email node id -> version")


class ExportSerializer(serializers.Serializer):
    format = serializers.CharField(help_text=EXPORT_FORMAT)
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    definition = serializers.JSONField()


class ImportSerializer(ExportSerializer):
    format = serializers.CharField(required=False, help_text=EXPORT_FORMAT)
    name = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    definition = serializers.DictField()


class ValidateSerializer(serializers.Serializer):
    definition = serializers.JSONField(required=False, help_text="a definition to check; the draft by default")


class ValidationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    problems = ProblemSerializer(many=True)


class MoneySerializer(serializers.Serializer):
    """An amount in one currency ("" when the event named none), as the server writes it: "240.00"."""

    currency = serializers.CharField()
    amount = serializers.CharField()


class NodeCountsSerializer(serializers.Serializer):
    """stats.node_counts: the email counts on email nodes, conversions on the nodes they are credited to."""

    entered = serializers.IntegerField()
    waiting = serializers.IntegerField()
    left = serializers.IntegerField()
    sent = serializers.IntegerField(required=False)
    opened = serializers.IntegerField(required=False)
    clicked = serializers.IntegerField(required=False)
    conversions = serializers.IntegerField(required=False)
    revenue = MoneySerializer(many=True, required=False)


class CountsSerializer(serializers.Serializer):
    journey = serializers.IntegerField()
    version = serializers.IntegerField(allow_null=True)
    nodes = serializers.DictField(child=NodeCountsSerializer(), help_text="per node id")


class EnrollmentsQuerySerializer(serializers.Serializer):
    node = serializers.CharField(required=False, max_length=64, help_text="contacts on this node now")
    status = serializers.ChoiceField(
        required=False,
        choices=[*Enrollment.Status.choices, ("open", "Open (active or waiting)")],
        help_text="one status, or open: still in the journey",
    )
    q = serializers.CharField(required=False, max_length=200, help_text="the contact's email or id contains this")


class ReportQuerySerializer(serializers.Serializer):
    # "from" is a Python keyword: the field is declared below under its query name.
    to = serializers.DateField(required=False, help_text="the last day (UTC), today by default")
    version = serializers.IntegerField(required=False, min_value=1, max_value=NUMBER_MAX, help_text="one version")
    download = serializers.ChoiceField(required=False, choices=["csv"], help_text="csv: the report as a CSV file")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False, help_text="the first day (UTC), 30 days back by default")
        return fields


class ReportLinkSerializer(serializers.Serializer):
    url = serializers.CharField()
    clicks = serializers.IntegerField()


class ReportEmailSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    bounced = serializers.IntegerField()
    failed = serializers.IntegerField()
    suppressed = serializers.IntegerField()
    opened_unique = serializers.IntegerField()
    opened_total = serializers.IntegerField()
    machine_opens = serializers.IntegerField()
    clicked_unique = serializers.IntegerField()
    clicks_total = serializers.IntegerField()
    unsubscribed = serializers.IntegerField()
    complained = serializers.IntegerField()
    open_rate = serializers.FloatField(allow_null=True)
    click_rate = serializers.FloatField(allow_null=True)
    links = ReportLinkSerializer(many=True)


class ReportNodeSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    label = serializers.CharField()
    entered = serializers.IntegerField()
    left = serializers.DictField(child=serializers.IntegerField())
    waiting = serializers.IntegerField()
    exited_by_goal = serializers.IntegerField()
    conversions = serializers.IntegerField()
    revenue = MoneySerializer(many=True)
    email = ReportEmailSerializer(required=False)


class ReportFiguresSerializer(serializers.Serializer):
    entries = serializers.IntegerField()
    conversions = serializers.IntegerField()
    conversion_rate = serializers.FloatField(allow_null=True)
    revenue = MoneySerializer(many=True)


class ReportDaySerializer(ReportFiguresSerializer):
    day = serializers.DateField()
    conversion_rate = None


class ReportVersionSerializer(ReportFiguresSerializer):
    version = serializers.IntegerField()


class ReportJourneySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ReportRangeSerializer(serializers.Serializer):
    # "from" is a keyword: the fields are added by name (as in ReportQuerySerializer).
    def get_fields(self):
        return {"from": serializers.DateField(), "to": serializers.DateField()}


class ReportVersionRefSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    published_at = serializers.DateTimeField()


class ReportAttributionSerializer(serializers.Serializer):
    event = serializers.CharField(allow_null=True, help_text="the conversion event; null: none set")
    source = serializers.ChoiceField(
        choices=["conversion", "exit_on"], allow_null=True, help_text="the journey's conversion settings or its goal"
    )
    windows = serializers.DictField(child=serializers.CharField(), allow_null=True, help_text="ISO 8601 durations")
    rule = serializers.CharField(help_text="the rule in words")


class FunnelStepSerializer(serializers.Serializer):
    node = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    type = serializers.CharField(allow_blank=True)
    count = serializers.IntegerField()


class ReportSerializer(serializers.Serializer):
    journey = ReportJourneySerializer()
    range = ReportRangeSerializer()
    version = serializers.IntegerField(allow_null=True)
    versions = ReportVersionRefSerializer(many=True)
    attribution = ReportAttributionSerializer()
    totals = ReportFiguresSerializer()
    daily = ReportDaySerializer(many=True)
    by_version = ReportVersionSerializer(many=True)
    nodes = ReportNodeSerializer(many=True)
    funnel = FunnelStepSerializer(many=True)


class EnrollmentContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.CharField()
    email = serializers.CharField()


class PathStepSerializer(serializers.Serializer):
    node = serializers.CharField()
    outcome = serializers.CharField()
    port = serializers.CharField()
    at = serializers.DateTimeField()


class EnrollmentRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    contact = EnrollmentContactSerializer()
    status = serializers.ChoiceField(choices=Enrollment.Status.choices)
    node = serializers.CharField(source="current_node")
    version = serializers.IntegerField(source="version.number")
    entered_at = serializers.DateTimeField()
    wake_at = serializers.DateTimeField(allow_null=True)
    path = PathStepSerializer(many=True, help_text=f"the last {stats.PATH_STEPS} steps, oldest first")


class LibraryItemSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    trigger = serializers.CharField()


class NodeTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    label = serializers.CharField()
    ports = serializers.ListField(child=serializers.CharField())
    dynamic_ports = serializers.CharField(allow_null=True, help_text="paths or variants: one port per item")
    config = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()


class NodeTypesSerializer(serializers.Serializer):
    """The node and trigger types, for the canvas (journeys.engine.nodes.catalog)."""

    node_types = NodeTypeSerializer(many=True)
    trigger_types = serializers.ListField(child=serializers.CharField())
    re_entry_policies = serializers.ListField(child=serializers.CharField())
    email_categories = serializers.ListField(child=serializers.CharField())
    weekdays = serializers.ListField(child=serializers.CharField())
    webhook_methods = serializers.ListField(child=serializers.CharField())
    over_cap_choices = serializers.ListField(child=serializers.CharField())
    default_max_deferral = serializers.CharField()


class CreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    library_key = serializers.CharField(required=False, allow_blank=True)
    definition = serializers.JSONField(required=False)


class RenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


class DraftSerializer(serializers.Serializer):
    definition = serializers.JSONField()
    revision = IdField(max_value=NUMBER_MAX - 1)  # saving stores it plus one
    name = serializers.CharField(max_length=200, required=False)


class PublishSerializer(serializers.Serializer):
    revision = IdField(required=False, max_value=NUMBER_MAX)
    dry_run = serializers.BooleanField(required=False, default=False)
    move = serializers.DictField(child=serializers.CharField(allow_null=True), required=False)
    node_map = serializers.DictField(child=serializers.CharField(allow_null=True), required=False)


class EnrollSerializer(serializers.Serializer):
    contact = IdField(required=False)
    user_id = serializers.CharField(required=False)
    email = serializers.EmailField(required=False)
    payload = serializers.DictField(required=False, default=dict)
    idempotency_key = serializers.CharField(max_length=100, required=False)

    def validate(self, data):
        if not any(key in data for key in ("contact", "user_id", "email")):
            raise serializers.ValidationError({"contact": ["Name the contact: contact (id), user_id or email."]})
        return data


class EnrollAnswerSerializer(serializers.Serializer):
    enrolled = serializers.BooleanField(help_text="true (201) when the contact entered; false (200) when not")
    reason = serializers.CharField(help_text="entered, or why not (already in the journey, a repeated key, …)")
    enrollment = serializers.IntegerField(allow_null=True)


class ExperimentVariantSerializer(serializers.Serializer):
    id = serializers.CharField()
    contacts = serializers.IntegerField(help_text="contacts assigned this variant")
    conversions = serializers.IntegerField(help_text="of them, converted (or clicked: the node's metric) after it")
    rate = serializers.FloatField()
    interval = serializers.ListField(child=serializers.FloatField(), help_text="95% credible interval [lo, hi]")
    p_best = serializers.FloatField(help_text="probability that this variant beats the others")
    weight = serializers.FloatField(help_text="% of new contacts it gets now")


class ExperimentDecisionSerializer(serializers.Serializer):
    winner = serializers.CharField(allow_null=True, help_text="null: the deadline kept the split")
    decided_at = serializers.DateTimeField()
    reason = serializers.CharField()


class ExperimentNextLookSerializer(serializers.Serializer):
    contacts = serializers.IntegerField(help_text="per variant")
    confidence = serializers.FloatField(help_text="the P(best) a variant will need then")
    deadline = serializers.DateTimeField(allow_null=True)


class ExperimentResultSerializer(serializers.Serializer):
    node = serializers.CharField()
    metric = serializers.ChoiceField(choices=["conversion", "click"])
    mode = serializers.ChoiceField(choices=["split", "bandit"])
    started_at = serializers.DateTimeField(allow_null=True, help_text="the node's first assignment")
    variants = ExperimentVariantSerializer(many=True)
    decision = ExperimentDecisionSerializer(allow_null=True)
    next_look = ExperimentNextLookSerializer(allow_null=True, help_text="the winner rule's next look, if any")


class EntryEstimateSerializer(serializers.Serializer):
    per_day = serializers.FloatField(allow_null=True, help_text="contacts a day, null when it cannot be told")
    contacts_7d = serializers.IntegerField(allow_null=True, help_text="distinct contacts with the event in 7 days")
    event = serializers.CharField(allow_blank=True)
    basis = serializers.CharField(help_text="how the figure was made, or why there is none")


ESTIMATE_DAYS = 7


# The enroll action's answers are documented here, not on the action (being reworked elsewhere).
@extend_schema_view(
    enroll=extend_schema(responses={201: EnrollAnswerSerializer, 200: EnrollAnswerSerializer, **error_responses(409)})
)
class JourneyViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Journey.objects.select_related("live_version", "updated_by").order_by("-updated_at", "-id")
    serializer_class = JourneySummarySerializer  # documentation: the views shape their answers
    lookup_value_regex = r"\d+"
    capabilities = {
        "list": "read",
        "retrieve": "read",
        "versions": "read",
        "version": "read",
        "export": "read",
        "counts": "read",
        "enrollments": "read",
        "report": "read",
        "library": "read",
        "node_types": "read",
        "experiments": "read",
        "entry_estimate": "read",
        "validate": "qa",
        "create": "edit",
        "partial_update": "edit",
        "update": "edit",
        "draft": "edit",
        "publish": "edit",
        "pause": "edit",
        "resume": "edit",
        "archive": "edit",
        "import_journey": "edit",
        "enroll": "edit",
    }

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            status = self.request.query_params.get("status")
            if status:
                queryset = queryset.filter(status__in=status.split(","))
            else:
                queryset = queryset.exclude(status=Journey.Status.ARCHIVED)
            search = self.request.query_params.get("q")
            if search:
                queryset = queryset.filter(name__icontains=search)
            queryset = queryset.exclude(broadcasts__kind=Broadcast.Kind.TEMPLATE)  # a broadcast's own
        return queryset

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        figures = stats.list_figures(page)
        return self.get_paginated_response([summary(j, figures.get(j.pk)) for j in page])

    @extend_schema(request=CreateSerializer, responses={201: JourneyDetailSerializer})
    def create(self, request):
        body = CreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        definition = data.get("definition")
        name = data.get("name") or ""
        key = data.get("library_key") or ""
        if key:
            definition = library.definition_of(key)
            if definition is None:
                raise DomainError(
                    f"There is no ready-made journey “{key}”.", fields={"library_key": ["Unknown ready-made journey."]}
                )
            name = name or library.BY_KEY[key]["name"]
        journey = drafts.create_journey(
            request.workspace, request.user, name, definition, data.get("description", ""), library_key=key
        )
        return Response(detail(journey), status=201)

    @extend_schema(responses=JourneyDetailSerializer)
    def retrieve(self, request, pk=None):
        return Response(detail(self.get_object()))

    @extend_schema(request=RenameSerializer, responses=JourneyDetailSerializer)
    def partial_update(self, request, pk=None):
        journey = self.get_object()
        body = RenameSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = {k: v for k, v in body.validated_data.items()}
        if "name" in changes and not changes["name"].strip():
            raise DomainError("Give the journey a name.", fields={"name": ["This field is required."]})
        if changes:
            Journey.objects.filter(pk=journey.pk).update(
                updated_by=request.user, updated_at=clock.now(), **{k: v.strip() for k, v in changes.items()}
            )
        return Response(detail(journey))

    @extend_schema(request=DraftSerializer, responses={200: JourneyDetailSerializer, **error_responses(409)})
    @action(detail=True, methods=["put", "post"])
    def draft(self, request, pk=None):
        """Save the draft with the revision it was based on; 409 when someone saved meanwhile."""
        journey = self.get_object()
        body = DraftSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        journey = drafts.save_draft(
            journey, request.user, revision=data["revision"], definition=data["definition"], name=data.get("name")
        )
        return Response(detail(journey))

    @extend_schema(request=ValidateSerializer, responses=ValidationSerializer)
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        journey = self.get_object()
        definition = request.data.get("definition") if isinstance(request.data, dict) else None
        problems = drafts.check_definition(journey.draft if definition is None else definition, journey.workspace)
        return Response({"valid": not problems, "problems": [p.as_dict() for p in problems]})

    @extend_schema(request=PublishSerializer, responses={200: PublishAnswer, **error_responses(409)})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Publish the draft. `dry_run` answers how many contacts in flight sit on each node and
        what the node map (`move` / `node_map`: old node id -> new id, null to exit) does to them."""
        journey = self.get_object()
        body = PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        node_map = {**(data.get("move") or {}), **(data.get("node_map") or {})}
        version, plan = publishing.publish_journey(
            journey, request.user, revision=data.get("revision"), node_map=node_map, dry_run=data["dry_run"]
        )
        if data["dry_run"]:
            return Response(dry_run_payload(journey, plan))
        payload = detail(journey)
        payload["published_version"] = version.number
        payload["migration"] = plan
        return Response(payload)

    @extend_schema(request=None, responses={200: JourneyDetailSerializer, **error_responses(409)})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return Response(detail(publishing.pause_journey(self.get_object(), request.user)))

    @extend_schema(request=None, responses={200: JourneyDetailSerializer, **error_responses(409)})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return Response(detail(publishing.resume_journey(self.get_object(), request.user)))

    @extend_schema(request=None, responses={200: JourneyDetailSerializer, **error_responses(409)})
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return Response(detail(publishing.archive_journey(self.get_object(), request.user)))

    @extend_schema(responses=VersionRowSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None):
        journey = self.get_object()
        rows = JourneyVersion.objects.filter(journey=journey).select_related("published_by").order_by("-number")
        return Response(
            [
                {
                    "number": v.number,
                    "published_at": v.published_at,
                    "published_by": user_ref(v.published_by),
                    "live": v.pk == journey.live_version_id,
                    "source_revision": v.source_revision,
                }
                for v in rows
            ]
        )

    @extend_schema(responses=VersionDetailSerializer, operation_id="journeys_version_retrieve")
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>\d+)")
    def version(self, request, pk=None, number=None):
        journey = self.get_object()
        version = JourneyVersion.objects.filter(journey=journey, number=number).select_related("published_by").first()
        if version is None:
            raise DomainError("There is no such version.", code="not_found", status_code=404)
        return Response(
            {
                "number": version.number,
                "published_at": version.published_at,
                "published_by": user_ref(version.published_by),
                "live": version.pk == journey.live_version_id,
                "definition": version.definition,
                "template_versions": version.template_versions,
            }
        )

    @extend_schema(responses=ExportSerializer)
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        journey = self.get_object()
        document = {
            "format": EXPORT_FORMAT,
            "name": journey.name,
            "description": journey.description,
            "definition": journey.draft,
        }
        response = HttpResponse(json.dumps(document, indent=2), content_type="application/json")
        slug = "".join(c if c.isalnum() else "-" for c in journey.name.lower()).strip("-") or "journey"
        response["Content-Disposition"] = f'attachment; filename="{slug}.journey.json"'
        return response

    @extend_schema(request=ImportSerializer, responses={201: JourneyDetailSerializer})
    @action(detail=False, methods=["post"], url_path="import")
    def import_journey(self, request):
        """Import an exported journey as a new draft."""
        document = request.data
        if not isinstance(document, dict) or not isinstance(document.get("definition"), dict):
            raise DomainError(
                "This is not a Wayline journey export.", code="invalid_import", fields={"definition": ["Missing."]}
            )
        if document.get("format") not in (None, EXPORT_FORMAT):
            raise DomainError(
                f"Unknown export format “{document.get('format')}”.", code="invalid_import", fields={"format": ["?"]}
            )
        journey = drafts.create_journey(
            request.workspace,
            request.user,
            str(document.get("name") or "Imported journey")[:200],
            document["definition"],
            str(document.get("description") or ""),
        )
        return Response(detail(journey), status=201)

    @extend_schema(
        parameters=[OpenApiParameter("version", int, description="one version's counts; all by default")],
        responses=CountsSerializer,
    )
    @action(detail=True, methods=["get"])
    def counts(self, request, pk=None):
        journey = self.get_object()
        number = request.query_params.get("version")
        version = int(number) if number and number.isdigit() and len(number) < 10 else None
        return Response({"journey": journey.pk, "version": version, "nodes": stats.node_counts(journey, version)})

    @extend_schema(parameters=[EnrollmentsQuerySerializer], responses=EnrollmentRowSerializer(many=True))
    @action(detail=True, methods=["get"])
    def enrollments(self, request, pk=None):
        """Where each contact is: the journey's enrollments with their node, status, wake time,
        version and path, newest first (limit/offset pages)."""
        journey = self.get_object()
        query = EnrollmentsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        if wanted.get("node") and wanted["node"] not in stats.node_ids(journey):
            raise serializers.ValidationError({"node": [f"This journey has no node “{wanted['node']}”."]})
        rows = stats.enrollments_in(journey, wanted.get("node"), wanted.get("status"), wanted.get("q"))
        page = self.paginate_queryset(rows)
        paths = stats.paths_of(page)
        for enrollment in page:
            enrollment.path = paths[enrollment.pk]
        return self.get_paginated_response(EnrollmentRowSerializer(page, many=True).data)

    @extend_schema(
        parameters=[ReportQuerySerializer],
        responses={(200, "application/json"): ReportSerializer, (200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        """What the journey earned over a range of days (and one version): per node, per email, per
        day and per version, with its conversions and revenue and the attribution rule used."""
        journey = self.get_object()
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        try:
            start, end = report.date_range(
                request.query_params.get("from") and wanted["from"].isoformat(),
                wanted.get("to") and wanted["to"].isoformat(),
            )
        except report.ReportError as error:
            raise serializers.ValidationError({error.field: [error.message]}) from None
        version = wanted.get("version")
        if version is not None and not JourneyVersion.objects.filter(journey=journey, number=version).exists():
            raise serializers.ValidationError({"version": [f"This journey has no version {version}."]})
        figures = report.journey_report(journey, start, end, version)
        if wanted.get("download") == "csv":
            response = HttpResponse(report.as_csv(figures), content_type="text/csv; charset=utf-8")
            name = f"journey-{journey.pk}-report-{start.isoformat()}-{end.isoformat()}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return Response(figures)

    @extend_schema(responses=LibraryItemSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)
    def library(self, request):
        return Response(library.catalog())

    @extend_schema(responses=NodeTypesSerializer)
    @action(detail=False, methods=["get"], url_path="node-types")
    def node_types(self, request):
        return Response(nodes.catalog())

    @extend_schema(request=EnrollSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def enroll(self, request, pk=None):
        """The api trigger: enroll one contact with a payload (the trigger's properties)."""
        journey = self.get_object()
        body = EnrollSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if journey.trigger_type != "api":
            raise DomainError(
                "This journey is not started by the API; its trigger is "
                f"“{journey.trigger_type or (journey.draft.get('trigger') or {}).get('type')}”.",
                code="not_api_trigger",
                status_code=409,
            )
        contacts = scoped(Contact, request.workspace).filter(merged_into__isnull=True)
        if "contact" in data:
            contact = contacts.filter(pk=data["contact"]).first()
        elif "user_id" in data:
            contact = contacts.filter(user_id=data["user_id"]).first()
        else:
            contact = contacts.filter(email__iexact=data["email"]).order_by("id").first()
        if contact is None:
            raise DomainError("There is no such contact.", code="unknown_contact", fields={"contact": ["Not found."]})
        trigger = {"name": "api", "properties": data["payload"], "timestamp": clock.now().isoformat()}
        key = data.get("idempotency_key")
        enrollment, reason = lifecycle.enroll_contact(
            journey, contact, trigger=trigger, trigger_key=f"api:{key}" if key else None
        )
        # A repeated idempotency key answers the enrollment the first call made, and enters nobody.
        entered = reason == "entered"
        return Response(
            {"enrolled": entered, "reason": reason, "enrollment": enrollment.pk if enrollment else None},
            status=201 if entered else 200,
        )

    @extend_schema(responses=EntryEstimateSerializer)
    @action(detail=True, methods=["get"], url_path="entry-estimate")
    def entry_estimate(self, request, pk=None):
        """About how many contacts a day the draft's trigger would let in: for an event trigger,
        the distinct contacts who sent that event over the last 7 days, divided by 7. Before the
        trigger's conditions, the audience and the re-entry rule, so an upper bound."""
        journey = self.get_object()
        kind, event = _draft_trigger(journey, "type"), _draft_trigger(journey, "event")
        answer = {"per_day": None, "contacts_7d": None, "event": event}
        if kind != "event":
            why = f"a “{kind}” trigger" if kind else "no trigger yet"
            return Response(
                {**answer, "basis": f"Only an event trigger can be estimated from past events; this is {why}."}
            )
        if not event:
            return Response({**answer, "basis": "The trigger names no event yet."})
        since = clock.now() - timedelta(days=ESTIMATE_DAYS)
        contacts = (
            scoped(Event, request.workspace)
            .filter(type="track", name=event, timestamp__gte=since, contact__isnull=False)
            .values("contact")
            .distinct()
            .count()
        )
        return Response(
            {
                **answer,
                "per_day": round(contacts / ESTIMATE_DAYS, 1),
                "contacts_7d": contacts,
                "basis": f"{contacts} contact{'' if contacts == 1 else 's'} sent “{event}” in the last "
                f"{ESTIMATE_DAYS} days, before the trigger's conditions, the audience and the re-entry rule.",
            }
        )

    @extend_schema(responses=ExperimentResultSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def experiments(self, request, pk=None):
        """Per experiment node (of the live version): per variant contacts, conversions, rate with
        its 95% interval, P(best) and current share; the winner rule's decision and next look."""
        return Response(ExperimentResultSerializer(experiments.results(self.get_object()), many=True).data)


def dry_run_payload(journey, plan):
    """The publish dialog's figures: per node of the versions in flight, how many contacts, and
    where moving them would put them (the same node id in the draft by default)."""
    draft_nodes = {n.get("id"): n.get("type") for n in (journey.draft.get("nodes") or []) if isinstance(n, dict)}
    rows = []
    for row in plan["nodes"]:
        target = row["to"] if row["action"] != "keep" else (row["node"] if row["node"] in draft_nodes else None)
        rows.append({**row, "type": draft_nodes.get(row["node"]), "target": target})
    return {"in_flight": sum(row["count"] for row in rows), "nodes": rows, "totals": plan["totals"]}
