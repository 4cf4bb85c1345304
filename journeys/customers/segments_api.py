"""REST API for saved segments (/api/segments): dynamic rules and static lists, their members, daily
history and CSV export, and a preview of a rule while it is being edited.

Reads need `read` (every role), changes `edit` (admins and marketers); a preview changes nothing
and needs `read`. Everything is scoped to the member's workspace: another workspace's segment is
not found (404). Membership itself is journeys/customers/segments.py's.
"""

import csv
import io
from datetime import UTC, datetime, time, timedelta

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Lower, TruncDate
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.access import WorkspaceScopedMixin, scoped
from accounts.actions import record_audit
from accounts.errors import DomainError
from accounts.schema import error_responses
from accounts.serializers import JSONObjectField

from .. import clock
from ..models import Contact, Segment, SegmentMembership
from . import identity, segments
from .api import display_name

MAX_HISTORY_DAYS = 366
MAX_ADD = 1000  # contacts or emails per call


def _domain(error: segments.SegmentError):
    return DomainError(error.message, code=error.code, fields=error.fields, status_code=error.status_code)


class RebuildSerializer(serializers.Serializer):
    """Every key is left out ({}) before the first evaluation."""

    state = serializers.ChoiceField(choices=["queued", "running", "done", "failed"], required=False)
    done = serializers.IntegerField(required=False)
    total = serializers.IntegerField(required=False, allow_null=True)


@extend_schema_field(RebuildSerializer)
class RebuildField(serializers.JSONField):
    """A JSONField holding a segment's rebuild progress."""


class SegmentSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    kind = serializers.ChoiceField(choices=Segment.Kind.choices, required=False, default=Segment.Kind.DYNAMIC)
    rule = JSONObjectField(required=False, help_text="a condition in the rule language; {} for a static list")
    member_count = serializers.IntegerField(read_only=True, help_text="contacts in the segment now")
    rebuild = RebuildField(
        read_only=True, help_text='the evaluation of every contact after the rule was set: {"state", "done", "total"}'
    )
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True, default=None)
    updated_by = serializers.EmailField(source="updated_by.email", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "rule",
            "member_count",
            "rebuild",
            "ready_key",
            "created_by",
            "updated_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "ready_key", "created_at", "updated_at"]
        validators = []  # the name's uniqueness is the action's business (a 400 naming the field)


class SegmentUpdateSerializer(SegmentSerializer):
    name = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=Segment.Kind.choices, required=False)


class PreviewRequestSerializer(serializers.Serializer):
    rule = serializers.JSONField(help_text="a condition in the rule language")


class SegmentContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    user_id = serializers.CharField(allow_null=True)
    name = serializers.CharField()


class PreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="matching contacts among those evaluated")
    sample = SegmentContactSerializer(many=True)
    evaluated = serializers.IntegerField(help_text="contacts evaluated")
    total = serializers.IntegerField(help_text="contacts in the workspace")
    capped = serializers.BooleanField(help_text="true when only the first `evaluated` contacts were looked at")


class SegmentMemberSerializer(SegmentContactSerializer):
    entered_at = serializers.DateTimeField()


class AddMembersSerializer(serializers.Serializer):
    contacts = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=MAX_ADD)
    emails = serializers.ListField(child=serializers.CharField(max_length=254), required=False, max_length=MAX_ADD)

    def validate(self, data):
        if not data.get("contacts") and not data.get("emails"):
            raise serializers.ValidationError({"contacts": ["Give contact ids or emails."]})
        return data


class AddedSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text="contacts that entered the list")
    not_found = serializers.ListField(child=serializers.CharField(), help_text="ids or emails of no contact")


class HistoryQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=MAX_HISTORY_DAYS, default=30)


class HistoryDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    members = serializers.IntegerField(help_text="members at the end of the day (UTC)")
    entered = serializers.IntegerField()
    left = serializers.IntegerField()


def _contact_row(contact) -> dict:
    return {"id": contact.pk, "email": contact.email, "user_id": contact.user_id, "name": display_name(contact)}


def _safe_cell(value):
    """A cell a spreadsheet would run as a formula (=, +, -, @) is written as text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class SegmentViewSet(
    WorkspaceScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Segment.objects.select_related("created_by", "updated_by")
    serializer_class = SegmentSerializer
    capabilities = {"preview": "read"}

    def get_queryset(self):
        # A count per segment over the partial index of open rows (no join and group by of the
        # members with the segment row).
        open_rows = (
            SegmentMembership.objects.filter(segment=OuterRef("pk"), left_at__isnull=True)
            .order_by()
            .values("segment")
            .annotate(count=Count("*"))
            .values("count")
        )
        queryset = super().get_queryset().annotate(member_count=Coalesce(Subquery(open_rows), 0))
        if self.action == "list":
            term = self.request.query_params.get("search") or self.request.query_params.get("q")
            if term:
                queryset = queryset.filter(name__icontains=term)
        return queryset.order_by("name", "id")

    def _segment(self):
        return self.get_object()

    def _answer(self, segment, code=status.HTTP_200_OK):
        return Response(SegmentSerializer(self.get_queryset().get(pk=segment.pk)).data, status=code)

    @extend_schema(parameters=[OpenApiParameter("search", str, description="names containing this")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=SegmentSerializer, responses={201: SegmentSerializer})
    def create(self, request):
        body = SegmentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            segment = segments.create_segment(request.workspace, request.user, body.validated_data, clock.now())
        except segments.SegmentError as error:
            raise _domain(error) from None
        record_audit(request.workspace, request.user, "segment.created", segment.name)
        return self._answer(segment, status.HTTP_201_CREATED)

    @extend_schema(request=SegmentUpdateSerializer, responses=SegmentSerializer)
    def partial_update(self, request, pk=None):
        segment = self._segment()
        body = SegmentUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        try:
            segment = segments.update_segment(segment, request.user, body.validated_data, clock.now())
        except segments.SegmentError as error:
            raise _domain(error) from None
        record_audit(request.workspace, request.user, "segment.updated", segment.name)
        return self._answer(segment)

    def perform_destroy(self, instance):
        try:
            segments.delete_segment(instance)
        except segments.SegmentError as error:
            raise _domain(error) from None
        record_audit(instance.workspace, self.request.user, "segment.deleted", instance.name)

    @extend_schema(request=PreviewRequestSerializer, responses=PreviewSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """How many contacts match a rule now, with a sample of 10, without saving (the live count
        while a rule is edited). At most segments.PREVIEW_MAX_CONTACTS contacts are evaluated:
        `capped` says when the count covers only part of the workspace."""
        body = PreviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule = body.validated_data["rule"] or {}
        errors = segments.validate_rule(rule)
        if errors:
            first = next(iter(errors.items()))
            raise DomainError(f"{first[0]}: {first[1][0]}", fields=errors)
        result = segments.preview(request.workspace, rule, clock.now())
        return Response({**result, "sample": [_contact_row(c) for c in result["sample"]]})

    @extend_schema(
        methods=["get"],
        parameters=[OpenApiParameter("q", str, description="email or user id containing this")],
        responses=SegmentMemberSerializer(many=True),
    )
    @extend_schema(
        methods=["post"], request=AddMembersSerializer, responses={200: AddedSerializer, **error_responses(409)}
    )
    @action(detail=True, methods=["get", "post"])
    def members(self, request, pk=None):
        """GET: the members now, latest entry first (limit/offset pages). POST: add contacts (by id
        or email) to a static list."""
        segment = self._segment()
        if request.method == "POST":
            return self._add(request, segment)
        rows = (
            scoped(SegmentMembership, request.workspace)
            .filter(segment=segment, left_at__isnull=True)
            .select_related("contact")
            .order_by("-entered_at", "-id")
        )
        term = (request.query_params.get("q") or "").strip()
        if term:
            rows = rows.filter(Q(contact__email__icontains=term) | Q(contact__user_id__icontains=term))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(
            [{**_contact_row(row.contact), "entered_at": row.entered_at} for row in page]
        )

    def _add(self, request, segment):
        body = AddMembersSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if segment.kind != Segment.Kind.STATIC:
            raise _domain_static()
        found, not_found = [], []
        ids = body.validated_data.get("contacts") or []
        if ids:
            known = scoped(Contact, request.workspace).filter(merged_into=None).in_bulk(ids)
            found += list(known.values())
            not_found += [str(i) for i in ids if i not in known]
        emails = body.validated_data.get("emails") or []
        if emails:
            wanted = {email: identity.email_address(email) for email in emails}
            by_email = {}
            addresses = {address for address in wanted.values() if address}
            contacts = scoped(Contact, request.workspace).filter(merged_into=None)
            for contact in contacts.filter(email__in=addresses):
                by_email.setdefault(contact.email, contact)
            # A pasted address in other letter case than the stored one is the same person to a
            # marketer: those not found as written are looked up again ignoring case.
            others = {address.lower() for address in addresses if address not in by_email}
            if others:
                for contact in contacts.annotate(lowered=Lower("email")).filter(lowered__in=others).order_by("pk"):
                    by_email.setdefault(contact.email.lower(), contact)
            for email, address in wanted.items():
                contact = by_email.get(address) or (by_email.get(address.lower()) if address else None)
                if contact is None:
                    not_found.append(email)
                else:
                    found.append(contact)
        unique = list({contact.pk: contact for contact in found}.values())
        added = segments.add_members(segment, unique, clock.now())
        return Response({"added": added, "not_found": not_found})

    @extend_schema(request=None, responses={204: None, **error_responses(409)})
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<contact_id>[0-9]{1,18})")
    def remove_member(self, request, pk=None, contact_id=None):
        """Take a contact out of a static list."""
        segment = self._segment()
        if segment.kind != Segment.Kind.STATIC:
            raise _domain_static()
        contact = scoped(Contact, request.workspace).filter(pk=int(contact_id)).first()
        if contact is None or not segments.remove_member(segment, contact, clock.now()):
            raise DomainError("This contact is not in the list.", code="not_found", status_code=404)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[HistoryQuerySerializer], responses=HistoryDaySerializer(many=True))
    @action(detail=True, pagination_class=None)
    def history(self, request, pk=None):
        """Per day (UTC), oldest first: members at the end of the day, entries and exits."""
        segment = self._segment()
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        days = query.validated_data["days"]
        today = clock.now().astimezone(UTC).date()
        first = today - timedelta(days=days - 1)
        start = datetime.combine(first, time.min, tzinfo=UTC)
        rows = SegmentMembership.objects.filter(segment=segment)
        members = rows.filter(Q(left_at__isnull=True) | Q(left_at__gte=start), entered_at__lt=start).count()

        def per_day(column):
            counted = (
                rows.filter(**{f"{column}__gte": start})
                .annotate(day=TruncDate(column, tzinfo=UTC))
                .values("day")
                .annotate(n=Count("id"))
            )
            return {row["day"]: row["n"] for row in counted}

        entered, left = per_day("entered_at"), per_day("left_at")
        answer = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            members += entered.get(day, 0) - left.get(day, 0)
            answer.append({"day": day, "members": members, "entered": entered.get(day, 0), "left": left.get(day, 0)})
        return Response(HistoryDaySerializer(answer, many=True).data)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True)
    def export(self, request, pk=None):
        """The members now as CSV: email, user_id, name, entered_at."""
        segment = self._segment()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["email", "user_id", "name", "entered_at"])
        rows = SegmentMembership.objects.filter(segment=segment, left_at__isnull=True).select_related("contact")
        after = 0
        while True:  # in pages by id: short queries, no cursor held open
            page = list(rows.filter(pk__gt=after).order_by("pk")[:1000])
            if not page:
                break
            for row in page:
                contact = row.contact
                cells = [contact.email, contact.user_id, display_name(contact), row.entered_at.isoformat()]
                writer.writerow([_safe_cell(cell) for cell in cells])
            after = page[-1].pk
        record_audit(request.workspace, request.user, "segment.exported", segment.name)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}.csv"'
        return response


def _domain_static():
    return DomainError(
        "This segment is dynamic: its rule decides who is in it. Add or remove members of static lists only.",
        code="segment_dynamic",
        status_code=409,
    )
