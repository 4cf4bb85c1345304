"""REST API: templates (with immutable versions), content blocks, coupon pools, previews and test
sends, the outbox with the sandbox mailbox, sending settings (admins only)."""

from django.db import IntegrityError, models, transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import WorkspaceScopedMixin, get_scoped_or_404, scoped
from accounts.actions import record_audit
from accounts.errors import DomainError
from accounts.serializers import NUMBER_MAX, IdField, JSONObjectField
from journeys.models import Contact, Journey

from . import actions, domains, rendering, starters, transports
from .models import (
    DEFAULT_TOPICS,
    Category,
    ContentBlock,
    Coupon,
    CouponPool,
    Message,
    SandboxEmail,
    SendingSettings,
    Template,
    TemplateVersion,
)


def _invalid(error):
    """TemplateInvalid -> 400 with the usual shape plus the problems' lines and columns."""
    return Response(
        {"error": error.message, "code": error.code, "fields": error.fields, "problems": error.problems},
        status=status.HTTP_400_BAD_REQUEST,
    )


# -- templates -------------------------------------------------------------------------------------


class WarningsField(serializers.JSONField):
    """A JSONField holding a version's warnings (its schema, TemplateProblem[], is set below)."""


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class StringListField(serializers.JSONField):
    """A JSONField holding a list of strings."""


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
class HeadersField(serializers.JSONField):
    """A JSONField holding an email's headers: {name: value}."""


class VersionSerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None, allow_null=True)
    blocks = JSONObjectField(required=False, help_text='a snapshot of the blocks used: {name: {"source", "condition"}}')
    roots = StringListField(required=False, help_text="the context names the template uses")
    warnings = WarningsField(required=False, help_text="problems that did not stop the save")

    class Meta:
        model = TemplateVersion
        fields = [
            "id",
            "number",
            "subject",
            "preheader",
            "from_name",
            "mjml",
            "blocks",
            "roots",
            "warnings",
            "content_hash",
            "created_by",
            "created_at",
        ]


class TemplateSerializer(serializers.ModelSerializer):
    subject = serializers.CharField(write_only=True, required=False)
    preheader = serializers.CharField(write_only=True, required=False, allow_blank=True)
    from_name = serializers.CharField(write_only=True, required=False, allow_blank=True)
    mjml = serializers.CharField(write_only=True, required=False, trim_whitespace=False)
    coupon_pool = serializers.SlugRelatedField(
        slug_field="slug", queryset=CouponPool.objects.none(), required=False, allow_null=True
    )
    latest_version = VersionSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Template
        fields = [
            "id",
            "slug",
            "name",
            "category",
            "topic",
            "coupon_pool",
            "latest_version",
            "created_at",
            "updated_at",
            "subject",
            "preheader",
            "from_name",
            "mjml",
        ]
        read_only_fields = ["id", "latest_version", "created_at", "updated_at"]

    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        if workspace is not None:
            self.fields["coupon_pool"].queryset = scoped(CouponPool, workspace)

    def validate_category(self, value):
        if value not in Category.values:
            raise serializers.ValidationError("Choose marketing or transactional.")
        return value


class TemplateListSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="latest_version.number", read_only=True, default=None, allow_null=True)
    subject = serializers.CharField(source="latest_version.subject", read_only=True, default="")

    class Meta:
        model = Template
        fields = ["id", "slug", "name", "category", "topic", "version", "subject", "updated_at"]


class SourceSerializer(serializers.Serializer):
    mjml = serializers.CharField(trim_whitespace=False)
    subject = serializers.CharField(required=False, allow_blank=True, default="")
    preheader = serializers.CharField(required=False, allow_blank=True, default="")


class PreviewSerializer(serializers.Serializer):
    version = IdField(required=False, max_value=NUMBER_MAX, help_text="a version number; the latest by default")
    contact = IdField(required=False, help_text="render for this contact")
    context = serializers.DictField(required=False, help_text="or for this context (merged over the contact's)")
    mjml = serializers.CharField(required=False, trim_whitespace=False, help_text="unsaved source to preview")
    subject = serializers.CharField(required=False, allow_blank=True)
    preheader = serializers.CharField(required=False, allow_blank=True)


class TemplateTestSendSerializer(serializers.Serializer):
    to = serializers.EmailField()
    version = IdField(required=False, max_value=NUMBER_MAX)
    contact = IdField(required=False)


class TemplateProblemSerializer(serializers.Serializer):
    """One thing wrong with a template, where it is (1-based line and column) and in which part."""

    message = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    column = serializers.IntegerField(allow_null=True)
    part = serializers.CharField(help_text="mjml, subject, preheader, block:<name>")
    kind = serializers.CharField(help_text="syntax, undefined, mjml, limit")


extend_schema_field(TemplateProblemSerializer(many=True))(WarningsField)


class TemplateValidationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    problems = TemplateProblemSerializer(many=True)


class RenderedSerializer(serializers.Serializer):
    subject = serializers.CharField(allow_blank=True)
    html = serializers.CharField(allow_blank=True)
    text = serializers.CharField(allow_blank=True)


def _rendered(rendered):
    return {"subject": rendered.subject, "html": rendered.html, "text": rendered.text}


class StarterSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    subject = serializers.CharField()
    category = serializers.CharField()
    html = serializers.CharField(allow_blank=True, help_text="rendered with sample data (the thumbnail)")


class FromStarterSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=80)
    slug = serializers.SlugField(max_length=80, required=False, allow_blank=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ThumbnailSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    html = serializers.CharField(allow_blank=True, help_text="the latest version rendered with sample data")


# Messages and the sandbox's emails (a test send answers a message).


class SandboxEmailSerializer(serializers.ModelSerializer):
    to = StringListField(required=False)

    class Meta:
        model = SandboxEmail
        fields = ["id", "from_email", "to", "subject", "created_at"]


class SandboxEmailDetailSerializer(serializers.ModelSerializer):
    to = StringListField(required=False)
    headers = HeadersField(required=False)

    class Meta:
        model = SandboxEmail
        fields = ["id", "from_email", "to", "subject", "text", "html", "headers", "created_at"]


class JourneyRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MessageSerializer(serializers.ModelSerializer):
    template = serializers.CharField(source="template_version.template.slug", read_only=True)
    template_version = serializers.IntegerField(source="template_version.number", read_only=True)
    journey = serializers.SerializerMethodField(help_text="the journey that sent it (its step: node_id)")

    @extend_schema_field(JourneyRefSerializer(allow_null=True))
    def get_journey(self, message):
        if not message.journey_id:
            return None
        names = self.context.get("journey_names")
        if names is None:  # one message: its journey's name looked up alone
            names = journey_names(message.workspace_id, [message.journey_id])
        name = names.get(message.journey_id)
        return {"id": message.journey_id, "name": name} if name is not None else None

    class Meta:
        model = Message
        fields = [
            "id",
            "status",
            "reason",
            "to_email",
            "subject",
            "category",
            "topic",
            "is_test",
            "template",
            "template_version",
            "contact",
            "enrollment_id",
            "journey_id",
            "journey",
            "node_id",
            "visit",
            "attempts",
            "next_attempt_at",
            "sent_at",
            "opened_at",
            "open_count",
            "clicked_at",
            "click_count",
            "unsubscribed_at",
            "created_at",
        ]


class MessageDetailSerializer(MessageSerializer):
    headers = HeadersField(required=False)
    links = StringListField(required=False, help_text="the URLs its tracked links may go to")
    sandbox = serializers.SerializerMethodField()

    class Meta(MessageSerializer.Meta):
        fields = MessageSerializer.Meta.fields + ["from_email", "html", "text", "headers", "links", "sandbox"]

    @extend_schema_field(SandboxEmailDetailSerializer(allow_null=True))
    def get_sandbox(self, message):
        """What the sandbox mailbox received for this message (None with a real transport)."""
        mail = (
            SandboxEmail.objects.filter(
                workspace=message.workspace, raw__contains=f"X-Wayline-Message: {message.pk}\n"
            ).first()
            if message.status in (Message.Status.SENT, Message.Status.IN_DOUBT)
            else None
        )
        return SandboxEmailDetailSerializer(mail).data if mail else None


class TemplateViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet):
    queryset = Template.objects.select_related("latest_version__created_by", "coupon_pool")
    http_method_names = ["get", "post", "patch", "delete"]
    capabilities = {
        "validate": "qa",
        "preview": "qa",
        "preview_source": "qa",
        "test_send": "qa",
        "starters": "read",
        "thumbnails": "read",
        "from_starter": "edit",
    }

    def get_serializer_class(self):
        return TemplateListSerializer if self.action == "list" else TemplateSerializer

    def get_serializer(self, *args, **kwargs):
        if self.get_serializer_class() is TemplateSerializer:
            kwargs["workspace"] = getattr(self.request, "workspace", None)  # None: schema generation
        return super().get_serializer(*args, **kwargs)

    def create(self, request):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            template, _ = actions.save_template(request.workspace, request.user, **body.validated_data)
        except actions.TemplateInvalid as error:
            return _invalid(error)
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        template = self.get_object()
        body = self.get_serializer(template, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        try:
            template, _ = actions.save_template(request.workspace, request.user, template, **body.validated_data)
        except actions.TemplateInvalid as error:
            return _invalid(error)
        return Response(TemplateSerializer(template).data)

    def destroy(self, request, pk=None):
        template = self.get_object()
        if Message.objects.filter(template_version__template=template).exists():
            raise DomainError("This template has sent messages; it cannot be deleted.", code="in_use")
        record_audit(request.workspace, request.user, "template.delete", template.slug)
        with transaction.atomic():
            Template.objects.filter(pk=template.pk).update(latest_version=None)
            template.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=VersionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None):
        template = self.get_object()
        return Response(VersionSerializer(template.versions.select_related("created_by"), many=True).data)

    def _version(self, template, number):
        if number is None:
            if template.latest_version is None:
                raise DomainError("The template has no version yet.", code="no_version")
            return template.latest_version
        return get_object_or_404(template.versions, number=number)

    def _contact(self, contact_id):
        return get_scoped_or_404(Contact, self.request.workspace, pk=contact_id) if contact_id else None

    @extend_schema(request=SourceSerializer, responses=TemplateValidationSerializer)
    @action(detail=False, methods=["post"])
    def validate(self, request):
        """Problems of a source (Liquid syntax errors, undefined variables, MJML structure), each
        with line and column; nothing is saved."""
        body = SourceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        problems, _ = rendering.validate_template(
            data["mjml"], data["subject"], data["preheader"], actions.workspace_blocks(request.workspace)
        )
        if not any(p.kind != "undefined" for p in problems):
            try:
                actions.compile_source(request.workspace, data["mjml"], data["subject"], data["preheader"])
            except actions.TemplateInvalid as error:
                return Response({"valid": False, "problems": error.problems})
        return Response(
            {"valid": not any(p.kind != "undefined" for p in problems), "problems": [p.as_dict() for p in problems]}
        )

    @extend_schema(request=PreviewSerializer, responses=RenderedSerializer)
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        """Render a version (or unsaved source) for a contact or a given context."""
        template = self.get_object()
        body = PreviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        contact = self._contact(data.get("contact"))
        try:
            if data.get("mjml"):
                _, rendered = actions.preview_source(
                    request.workspace,
                    data["mjml"],
                    data.get("subject") or (template.latest_version.subject if template.latest_version else ""),
                    data.get("preheader", ""),
                    contact=contact,
                    sample=data.get("context"),
                )
            else:
                version = self._version(template, data.get("version"))
                rendered = actions.preview(request.workspace, version, contact=contact, sample=data.get("context"))
        except actions.TemplateInvalid as error:
            return _invalid(error)
        except rendering.RenderError as error:
            raise DomainError(f"The template could not be rendered: {error}", code="render_failed") from None
        return Response(_rendered(rendered))

    @extend_schema(responses=StarterSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)
    def starters(self, request):
        """The gallery of starter templates, each rendered with sample data for its thumbnail."""
        answer = []
        for starter in starters.STARTERS.values():
            try:
                html = starters.preview_starter(request.workspace, starter).html
            except (rendering.TemplateError, rendering.RenderError):  # a workspace block that breaks it
                html = ""
            answer.append(
                {
                    "key": starter.key,
                    "name": starter.name,
                    "description": starter.description,
                    "subject": starter.subject,
                    "category": starter.category,
                    "html": html,
                }
            )
        return Response(answer)

    @extend_schema(request=FromStarterSerializer, responses={201: TemplateSerializer})
    @action(detail=False, methods=["post"], url_path="from-starter")
    def from_starter(self, request):
        """A new template copied from a starter (its slug by default), ready to edit."""
        body = FromStarterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            template = starters.create_from_starter(
                request.workspace, request.user, data["key"], slug=data.get("slug"), name=data.get("name")
            )
        except actions.TemplateInvalid as error:
            return _invalid(error)
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("search", str, description="part of the name or slug")],
        responses=ThumbnailSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def thumbnails(self, request):
        """The templates' latest versions rendered with sample data (the template picker's
        thumbnails), by name; a page of 50 unless `limit` says otherwise."""
        templates = self.get_queryset().filter(latest_version__isnull=False).order_by("name", "id")
        search = _text(request.query_params, "search", 200)
        if search:
            templates = templates.filter(models.Q(name__icontains=search) | models.Q(slug__icontains=search))
        page = self.paginate_queryset(templates)
        rows = [
            {"slug": t.slug, "name": t.name, "html": starters.thumbnail_html(request.workspace, t.latest_version)}
            for t in page
        ]
        return self.get_paginated_response(rows)

    @extend_schema(request=TemplateTestSendSerializer, responses={201: MessageSerializer})
    @action(detail=True, methods=["post"], url_path="test-send")
    def test_send(self, request, pk=None):
        """Send to a member's address, marked as a test (outside caps and metrics)."""
        template = self.get_object()
        body = TemplateTestSendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        version = self._version(template, data.get("version"))
        message = actions.test_send(
            request.workspace, request.user, version, data["to"], contact=self._contact(data.get("contact"))
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


# -- content blocks and coupon pools ---------------------------------------------------------------


class BlockSerializer(serializers.ModelSerializer):
    condition = serializers.JSONField(required=False, allow_null=True)

    class Meta:
        model = ContentBlock
        fields = ["id", "name", "description", "source", "condition", "updated_at"]
        read_only_fields = ["id", "updated_at"]
        extra_kwargs = {"source": {"trim_whitespace": False}}


class BlockViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet):
    queryset = ContentBlock.objects.all()
    serializer_class = BlockSerializer
    http_method_names = ["get", "post", "patch", "delete"]

    def create(self, request):
        body = BlockSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            block = actions.save_block(request.workspace, request.user, **body.validated_data)
        except actions.TemplateInvalid as error:
            return _invalid(error)
        return Response(BlockSerializer(block).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        block = self.get_object()
        body = BlockSerializer(block, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        try:
            block = actions.save_block(request.workspace, request.user, block, **body.validated_data)
        except actions.TemplateInvalid as error:
            return _invalid(error)
        return Response(BlockSerializer(block).data)


class CouponPoolSerializer(serializers.ModelSerializer):
    codes = serializers.ListField(child=serializers.CharField(max_length=100), write_only=True, required=False)
    available = serializers.SerializerMethodField()
    assigned = serializers.SerializerMethodField()

    class Meta:
        model = CouponPool
        fields = ["id", "slug", "name", "percent_off", "description", "valid_days", "codes", "available", "assigned"]
        read_only_fields = ["id", "available", "assigned"]

    def get_available(self, pool) -> int:
        return pool.coupons.filter(assigned_at__isnull=True).count()

    def get_assigned(self, pool) -> int:
        return pool.coupons.filter(assigned_at__isnull=False).count()


class CouponCodesSerializer(serializers.Serializer):
    codes = serializers.ListField(child=serializers.CharField(max_length=100, allow_blank=True), max_length=10_000)


class CodesAddedSerializer(CouponPoolSerializer):
    added = serializers.IntegerField(read_only=True, help_text="codes that were not in the pool yet")

    class Meta(CouponPoolSerializer.Meta):
        fields = [*CouponPoolSerializer.Meta.fields, "added"]


class CouponPoolViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    queryset = CouponPool.objects.order_by("slug")
    serializer_class = CouponPoolSerializer

    def perform_create(self, serializer):
        codes = serializer.validated_data.pop("codes", [])
        try:
            with transaction.atomic():
                pool = serializer.save(workspace=self.request.workspace)
                _add_codes(pool, codes)
        except IntegrityError:
            raise DomainError("That slug is in use already.", fields={"slug": ["Already in use."]}) from None
        record_audit(self.request.workspace, self.request.user, "coupon_pool.create", pool.slug, codes=len(codes))

    @extend_schema(request=CouponCodesSerializer, responses=CodesAddedSerializer)
    @action(detail=True, methods=["post"])
    def codes(self, request, pk=None):
        pool = self.get_object()
        body = CouponCodesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        codes = [code.strip() for code in body.validated_data["codes"] if code.strip()]
        added = _add_codes(pool, codes)
        return Response({"added": added, **CouponPoolSerializer(pool).data})


def _add_codes(pool, codes):
    existing = set(pool.coupons.filter(code__in=codes).values_list("code", flat=True))
    fresh = [Coupon(workspace=pool.workspace, pool=pool, code=c) for c in dict.fromkeys(codes) if c not in existing]
    Coupon.objects.bulk_create(fresh)
    return len(fresh)


# -- the outbox and the sandbox mailbox ------------------------------------------------------------


class ResolveSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=["sent", "resend"])


def journey_names(workspace_id, ids):
    """{journey id: name} of these journeys of the workspace, in one query."""
    return dict(Journey.objects.filter(workspace_id=workspace_id, id__in=set(ids)).values_list("id", "name"))


def _number(params, name, what):
    value = params.get(name, "")
    if not value.isdecimal() or len(value) > 18:
        raise DomainError(f"{name} is {what} id.", fields={name: [f"{what.capitalize()} id (a number)."]})
    return int(value)


def _text(params, name, longest):
    value = params.get(name, "")
    if len(value) > longest or "\x00" in value:
        raise DomainError(f"{name} is too long or not text.", fields={name: [f"At most {longest} characters of text."]})
    return value


class OutboxViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Message.objects.select_related("template_version__template")
    capabilities = {"resolve": "manage"}

    def get_serializer_class(self):
        return MessageDetailSerializer if self.action == "retrieve" else MessageSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        params = self.request.query_params
        if params.get("status"):
            queryset = queryset.filter(status=params["status"])
        if params.get("contact"):
            queryset = queryset.filter(contact_id=_number(params, "contact", "a contact"))
        if params.get("journey"):
            queryset = queryset.filter(journey_id=_number(params, "journey", "a journey"))
        if params.get("template"):
            queryset = queryset.filter(template_version__template__slug=_text(params, "template", 100))
        if params.get("q"):
            queryset = queryset.filter(to_email__icontains=_text(params, "q", 254))
        if params.get("test") in ("true", "false"):
            queryset = queryset.filter(is_test=params["test"] == "true")
        return queryset

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="queued, sending, sent, failed, suppressed, …"),
            OpenApiParameter("contact", int, description="a contact's messages"),
            OpenApiParameter("test", bool, description="test sends only (true) or none (false)"),
            OpenApiParameter("journey", int, description="the messages a journey sent"),
            OpenApiParameter("template", str, description="the messages of a template (its slug)"),
            OpenApiParameter("q", str, description="the recipient's address contains this"),
        ]
    )
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        names = journey_names(request.workspace.pk, [m.journey_id for m in page if m.journey_id])
        return self.get_paginated_response(MessageSerializer(page, many=True, context={"journey_names": names}).data)

    @extend_schema(request=ResolveSerializer, responses=MessageSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """An in-doubt message: {"resolution": "sent"} or {"resolution": "resend"}."""
        message = actions.resolve_in_doubt(self.get_object(), request.user, request.data.get("resolution"))
        return Response(MessageSerializer(message).data)


class SandboxViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The sandbox mailbox: every email the embedded transport 'sent' for this workspace."""

    queryset = SandboxEmail.objects.all()

    def get_serializer_class(self):
        return SandboxEmailDetailSerializer if self.action == "retrieve" else SandboxEmailSerializer


# -- sending settings (admins only) ----------------------------------------------------------------


class TopicSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


LOCAL_TIME = r"^[0-2][0-9]:[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$"
MAX_SEND_RATE = 100_000  # emails per second: more is a typo, not a plan
MAX_SEND_WINDOW_MINUTES = 7 * 24 * 60  # a week


@extend_schema_field({"type": "string", "pattern": LOCAL_TIME, "example": "21:00"})
class LocalTimeField(serializers.TimeField):
    """A time of day without a zone (quiet hours are in each contact's own): 21:00 or 21:00:00.
    OpenAPI's `format: time` would demand an offset."""


class SendingSettingsSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.TimeField: LocalTimeField,
    }
    topics = TopicSerializer(many=True, required=False)
    dkim_private_key = serializers.CharField(write_only=True, required=False, allow_blank=True, trim_whitespace=False)
    smtp_password = serializers.CharField(write_only=True, required=False, allow_blank=True)
    has_dkim_key = serializers.SerializerMethodField()
    dkim_record = serializers.SerializerMethodField()
    sender_domain = serializers.CharField(read_only=True)
    send_rate_per_second = serializers.IntegerField(
        min_value=0,
        max_value=MAX_SEND_RATE,
        allow_null=True,
        required=False,
        help_text="Send at most this many emails per second, all workers together; 0 or null: no limit.",
        error_messages={
            "min_value": "Use 0 for no limit.",
            "max_value": f"At most {MAX_SEND_RATE:,} a second.",
        },
    )
    send_window_limit = serializers.IntegerField(
        min_value=0,
        max_value=NUMBER_MAX,
        allow_null=True,
        required=False,
        help_text="And at most this many in any send_window_minutes; 0 or null: no limit.",
        error_messages={"min_value": "Use 0 for no limit.", "max_value": "That is more than can be counted."},
    )
    send_window_minutes = serializers.IntegerField(
        min_value=1,
        max_value=MAX_SEND_WINDOW_MINUTES,
        required=False,
        help_text="The length of the sliding window of send_window_limit, in minutes.",
        error_messages={
            "min_value": "At least one minute.",
            "max_value": f"At most {MAX_SEND_WINDOW_MINUTES:,} minutes (a week).",
        },
    )
    smtp_connections = serializers.IntegerField(
        min_value=1,
        max_value=transports.MAX_SMTP_CONNECTIONS,
        required=False,
        help_text="SMTP connections each worker uses at once for a batch.",
        error_messages={
            "min_value": "At least one connection.",
            "max_value": f"At most {transports.MAX_SMTP_CONNECTIONS} connections.",
        },
    )

    class Meta:
        model = SendingSettings
        fields = [
            "from_name",
            "from_email",
            "reply_to",
            "postal_address",
            "unsubscribe_mailto",
            "transport",
            "smtp_host",
            "smtp_port",
            "smtp_username",
            "smtp_password",
            "smtp_use_tls",
            "smtp_use_ssl",
            "dkim_selector",
            "dkim_private_key",
            "has_dkim_key",
            "dkim_record",
            "frequency_cap",
            "frequency_window_hours",
            "quiet_hours_start",
            "quiet_hours_end",
            "topics",
            "send_rate_per_second",
            "send_window_limit",
            "send_window_minutes",
            "smtp_connections",
            "sender_domain",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]

    def to_representation(self, sending):
        data = super().to_representation(sending)
        data["topics"] = data.get("topics") or [dict(topic) for topic in DEFAULT_TOPICS]
        return data

    def get_has_dkim_key(self, sending) -> bool:
        return bool(sending.dkim_private_key)

    def get_dkim_record(self, sending) -> str:
        if not sending.dkim_private_key:
            return ""
        try:
            return domains.dkim_record(sending.dkim_private_key)
        except ValueError:
            return ""

    def validate_dkim_private_key(self, value):
        if value:
            try:
                domains.public_key_of(value)
            except (ValueError, TypeError):
                raise serializers.ValidationError("This is not a PEM private key.") from None
        return value

    def validate_frequency_window_hours(self, value):
        if value < 1:
            raise serializers.ValidationError("At least one hour.")
        return value

    def validate_send_rate_per_second(self, value):
        return value or 0

    def validate_send_window_limit(self, value):
        return value or 0

    def validate(self, data):
        start = data.get("quiet_hours_start", getattr(self.instance, "quiet_hours_start", None))
        end = data.get("quiet_hours_end", getattr(self.instance, "quiet_hours_end", None))
        if (start is None) != (end is None):
            raise serializers.ValidationError({"quiet_hours_end": ["Give both ends of the quiet hours, or neither."]})
        return data


class SendingSettingsView(APIView):
    serializer_class = SendingSettingsSerializer
    read_capability = "manage"
    write_capability = "manage"

    def get(self, request):
        return Response(SendingSettingsSerializer(actions.sending_settings(request.workspace)).data)

    @extend_schema(request=SendingSettingsSerializer)
    def patch(self, request):
        sending = actions.sending_settings(request.workspace)
        body = SendingSettingsSerializer(sending, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        if "topics" in changes:
            changes["topics"] = [dict(t) for t in changes["topics"]]
        sending = actions.update_sending_settings(request.workspace, request.user, changes)
        return Response(SendingSettingsSerializer(sending).data)


class DkimKeySerializer(serializers.Serializer):
    selector = serializers.CharField(required=False, allow_blank=True, default="wayline")


class DkimKeyView(APIView):
    serializer_class = SendingSettingsSerializer
    read_capability = "manage"
    write_capability = "manage"

    @extend_schema(request=DkimKeySerializer, responses={201: SendingSettingsSerializer})
    def post(self, request):
        """Generate a new DKIM key (2048-bit RSA); the response shows the DNS record to publish."""
        selector = str(request.data.get("selector") or "wayline").strip()
        sending = actions.update_sending_settings(
            request.workspace,
            request.user,
            {"dkim_private_key": domains.generate_dkim_key(), "dkim_selector": selector},
        )
        return Response(SendingSettingsSerializer(sending).data, status=status.HTTP_201_CREATED)


class RecordCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "missing", "weak", "error"])
    name = serializers.CharField(allow_blank=True, help_text="the DNS name looked up")
    record = serializers.CharField(allow_blank=True, help_text="the record found")
    detail = serializers.CharField()
    publish = serializers.CharField(allow_blank=True, help_text="what to publish, when it is not ok")


class DomainCheckSerializer(serializers.Serializer):
    domain = serializers.CharField(allow_blank=True)
    spf = RecordCheckSerializer()
    dkim = RecordCheckSerializer()
    dmarc = RecordCheckSerializer()
    needs = serializers.ListField(child=serializers.CharField(), help_text="SPF, DKIM, DMARC: what is not ok")


class DomainCheckView(APIView):
    read_capability = "manage"

    @extend_schema(responses=DomainCheckSerializer)
    def get(self, request):
        """Which of SPF, DKIM and DMARC the sending domain still needs (live DNS lookups)."""
        sending = actions.sending_settings(request.workspace)
        return Response(
            domains.check_domain(
                sending.sender_domain,
                sending.dkim_selector,
                sending.dkim_private_key,
                resolver=domains.default_resolver(),
            )
        )
