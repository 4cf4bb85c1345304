"""The journeys REST API. Views parse, call one action, shape the answer.

Roles: every member reads; marketers and admins edit, publish, pause, resume, archive, import and
enroll; QA (and the editing roles) validate and simulate.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.access import WorkspaceScopedMixin, get_scoped_or_404, scoped
from accounts.errors import DomainError

from . import actions, stats
from .engine import library, nodes, simulator
from .engine.definition import validate_definition
from .facts import contact_data
from .models import Contact, Event, Journey, JourneyVersion

EXPORT_FORMAT = "wayline.journey/1"


def user_ref(user):
    if user is None:
        return None
    return {"id": user.pk, "email": user.email, "name": user.get_full_name()}


def summary(journey, figures=None):
    figures = figures or {}
    live = journey.live_version
    return {
        "id": journey.pk,
        "name": journey.name,
        "description": journey.description,
        "status": journey.status,
        "trigger_type": (journey.draft.get("trigger") or {}).get("type", "") if not live else journey.trigger_type,
        "trigger_event": (journey.draft.get("trigger") or {}).get("event", "") if not live else journey.trigger_event,
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
        "problems": [p.as_dict() for p in validate_definition(journey.draft, journey.workspace)],
    }


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
    updated_by = serializers.DictField(allow_null=True)
    created_at = serializers.DateTimeField()
    live_version = serializers.IntegerField(allow_null=True)
    has_unpublished_changes = serializers.BooleanField()
    library_key = serializers.CharField()


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
    revision = serializers.IntegerField()
    name = serializers.CharField(max_length=200, required=False)


class PublishSerializer(serializers.Serializer):
    revision = serializers.IntegerField(required=False)
    dry_run = serializers.BooleanField(required=False, default=False)
    move = serializers.DictField(child=serializers.CharField(allow_null=True), required=False)
    node_map = serializers.DictField(child=serializers.CharField(allow_null=True), required=False)


class EnrollSerializer(serializers.Serializer):
    contact = serializers.IntegerField(required=False)
    user_id = serializers.CharField(required=False)
    email = serializers.EmailField(required=False)
    payload = serializers.DictField(required=False, default=dict)
    idempotency_key = serializers.CharField(max_length=100, required=False)

    def validate(self, data):
        if not any(key in data for key in ("contact", "user_id", "email")):
            raise serializers.ValidationError({"contact": ["Name the contact: contact (id), user_id or email."]})
        return data


class JourneySimulateSerializer(serializers.Serializer):
    source = serializers.CharField(required=False, default="draft")  # draft, live or a version number
    definition = serializers.JSONField(required=False)
    contact = serializers.IntegerField(required=False)
    profile = serializers.DictField(required=False)
    trigger = serializers.DictField(required=False)
    events = serializers.ListField(child=serializers.DictField(), required=False, default=list, max_length=200)
    history = serializers.ListField(child=serializers.DictField(), required=False, default=list, max_length=1000)
    start = serializers.DateTimeField(required=False)
    webhook_results = serializers.DictField(required=False, default=dict)

    def validate(self, data):
        if "contact" not in data and "profile" not in data:
            raise serializers.ValidationError({"contact": ["Choose a contact or describe a profile."]})
        return data


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
        "library": "read",
        "node_types": "read",
        "validate": "qa",
        "simulate": "qa",
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
        return queryset

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        figures = stats.list_figures(page)
        return self.get_paginated_response([summary(j, figures.get(j.pk)) for j in page])

    @extend_schema(request=CreateSerializer, responses=OpenApiTypes.OBJECT)
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
        journey = actions.create_journey(
            request.workspace, request.user, name, definition, data.get("description", ""), library_key=key
        )
        return Response(detail(journey), status=201)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def retrieve(self, request, pk=None):
        return Response(detail(self.get_object()))

    @extend_schema(request=RenameSerializer, responses=OpenApiTypes.OBJECT)
    def partial_update(self, request, pk=None):
        journey = self.get_object()
        body = RenameSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = {k: v for k, v in body.validated_data.items()}
        if "name" in changes and not changes["name"].strip():
            raise DomainError("Give the journey a name.", fields={"name": ["This field is required."]})
        if changes:
            Journey.objects.filter(pk=journey.pk).update(
                updated_by=request.user, updated_at=timezone.now(), **{k: v.strip() for k, v in changes.items()}
            )
        return Response(detail(journey))

    @extend_schema(request=DraftSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["put", "post"])
    def draft(self, request, pk=None):
        """Save the draft with the revision it was based on; 409 when someone saved meanwhile."""
        journey = self.get_object()
        body = DraftSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        journey = actions.save_draft(
            journey, request.user, revision=data["revision"], definition=data["definition"], name=data.get("name")
        )
        return Response(detail(journey))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        journey = self.get_object()
        definition = request.data.get("definition") if isinstance(request.data, dict) else None
        problems = validate_definition(journey.draft if definition is None else definition, journey.workspace)
        return Response({"valid": not problems, "problems": [p.as_dict() for p in problems]})

    @extend_schema(request=PublishSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Publish the draft. `dry_run` answers how many contacts in flight sit on each node and
        what the node map (`move` / `node_map`: old node id -> new id, null to exit) does to them."""
        journey = self.get_object()
        body = PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        node_map = {**(data.get("move") or {}), **(data.get("node_map") or {})}
        version, plan = actions.publish_journey(
            journey, request.user, revision=data.get("revision"), node_map=node_map, dry_run=data["dry_run"]
        )
        if data["dry_run"]:
            return Response(dry_run_payload(journey, plan))
        payload = detail(journey)
        payload["published_version"] = version.number
        payload["migration"] = plan
        return Response(payload)

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return Response(detail(actions.pause_journey(self.get_object(), request.user)))

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return Response(detail(actions.resume_journey(self.get_object(), request.user)))

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return Response(detail(actions.archive_journey(self.get_object(), request.user)))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
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

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="journeys_version_retrieve")
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

    @extend_schema(responses=OpenApiTypes.OBJECT)
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

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
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
        journey = actions.create_journey(
            request.workspace,
            request.user,
            str(document.get("name") or "Imported journey")[:200],
            document["definition"],
            str(document.get("description") or ""),
        )
        return Response(detail(journey), status=201)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def counts(self, request, pk=None):
        journey = self.get_object()
        number = request.query_params.get("version")
        version = int(number) if number and number.isdigit() else None
        return Response({"journey": journey.pk, "version": version, "nodes": stats.node_counts(journey, version)})

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get"])
    def library(self, request):
        return Response(library.catalog())

    @extend_schema(responses=OpenApiTypes.OBJECT)
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
        trigger = {"name": "api", "properties": data["payload"], "timestamp": timezone.now().isoformat()}
        key = data.get("idempotency_key")
        enrollment, reason = actions.enroll_contact(
            journey, contact, trigger=trigger, entry_key_hint=f"api:{key}" if key else None
        )
        status = 201 if enrollment else 200
        return Response(
            {"enrolled": enrollment is not None, "reason": reason, "enrollment": enrollment.pk if enrollment else None},
            status=status,
        )

    @extend_schema(request=JourneySimulateSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def simulate(self, request, pk=None):
        """The path, times and emails for a contact or a made-up profile and a timeline of events."""
        journey = self.get_object()
        body = JourneySimulateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        return Response(simulate_journey(journey, request.workspace, data))


def dry_run_payload(journey, plan):
    """The publish dialog's figures: per node of the versions in flight, how many contacts, and
    where moving them would put them (the same node id in the draft by default)."""
    draft_nodes = {n.get("id"): n.get("type") for n in (journey.draft.get("nodes") or []) if isinstance(n, dict)}
    rows = []
    for row in plan["nodes"]:
        target = row["to"] if row["action"] != "keep" else (row["node"] if row["node"] in draft_nodes else None)
        rows.append({**row, "type": draft_nodes.get(row["node"]), "target": target})
    return {"in_flight": sum(row["count"] for row in rows), "nodes": rows, "totals": plan["totals"]}


def simulate_journey(journey, workspace, data):
    source = str(data.get("source") or "draft")
    template_versions = {}
    if "definition" in data:
        definition = data["definition"]
    elif source == "draft":
        definition = journey.draft
    else:
        versions = JourneyVersion.objects.filter(journey=journey)
        version = (
            journey.live_version
            if source == "live"
            else versions.filter(number=int(source)).first()
            if source.isdigit()
            else None
        )
        if version is None:
            raise DomainError("There is no such version to simulate.", fields={"source": ["Unknown version."]})
        definition, template_versions = version.definition, version.template_versions
    if not isinstance(definition, dict):
        raise DomainError("A definition is a JSON object.", fields={"definition": ["Not an object."]})
    start = data.get("start") or timezone.now()
    history = list(data.get("history") or [])
    if "contact" in data:
        contact = get_scoped_or_404(Contact, workspace, pk=data["contact"])
        profile = contact_data(contact)
        history += [
            {"name": name, "properties": properties, "timestamp": timestamp.isoformat()}
            for name, properties, timestamp in Event.objects.filter(
                workspace=workspace, contact=contact, type="track", timestamp__lte=start
            )
            .order_by("-timestamp")
            .values_list("name", "properties", "timestamp")[:1000]
        ]
    else:
        profile = {"id": "profile", **data["profile"]}
    try:
        return simulator.simulate(
            definition,
            profile,
            start=start,
            trigger=data.get("trigger"),
            events=data.get("events"),
            history=history,
            webhook_results=data.get("webhook_results"),
            template_versions=template_versions,
            journey={"id": journey.pk, "name": journey.name},
        )
    except ValueError as error:
        raise DomainError(str(error), fields={"events": [str(error)]}) from None
