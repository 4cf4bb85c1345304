"""REST API for customer data: contacts, events, the catalog, CSV imports.

Every queryset goes through the member's workspace (WorkspaceScopedMixin / scoped); reads need
the `read` capability, changes `edit` (admins and marketers), erasing a contact `manage` (admins).
"""

from django.db.models import OuterRef, Q, Subquery
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import WorkspaceScopedMixin, scoped
from accounts.actions import record_audit
from accounts.errors import DomainError
from accounts.serializers import IdField, JSONObjectField

from ..engine import nodes
from ..models import (
    Contact,
    ContactIdentity,
    Enrollment,
    Event,
    EventName,
    ImportJob,
    JourneyVersion,
    Order,
    PriceChange,
    Product,
)
from . import catalog, commerce, contacts, identity, imports

# -- Contacts --------------------------------------------------------------------------------------


# -- Schema-only shapes: what the JSON columns and computed fields hold, for /api/schema/ ----------


@extend_schema_field({"type": "object", "additionalProperties": {"type": "boolean"}})
class ConsentField(serializers.JSONField):
    """{topic: given}."""


class CartLineSerializer(serializers.Serializer):
    """A product line of a cart, an order or the recently viewed (commerce.product_line)."""

    product_id = serializers.CharField(required=False)
    sku = serializers.CharField(required=False)
    name = serializers.CharField(required=False)
    price = serializers.FloatField(required=False)
    currency = serializers.CharField(required=False)
    category = serializers.CharField(required=False)
    brand = serializers.CharField(required=False)
    variant = serializers.CharField(required=False)
    url = serializers.CharField(required=False)
    image_url = serializers.CharField(required=False)
    quantity = serializers.IntegerField(required=False, help_text="in a cart or an order")
    viewed_at = serializers.DateTimeField(required=False, help_text="in the recently viewed")


@extend_schema_field(CartLineSerializer(many=True))
class CartLinesField(serializers.JSONField):
    """A JSONField holding a list of product lines."""


class CartSerializer(serializers.Serializer):
    items = CartLineSerializer(many=True)
    total = serializers.FloatField()
    quantity = serializers.IntegerField()
    currency = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class PredictionSerializer(serializers.Serializer):
    """The `predicted` root of a contact (context.predicted_of) and `explanation`; every key is
    left out ({}) before a customer-value fit has predicted the contact."""

    orders_next_90d = serializers.FloatField(required=False)
    probability_active = serializers.FloatField(required=False)
    clv_365d = serializers.FloatField(required=False)
    churn_risk = serializers.ChoiceField(choices=["low", "medium", "high"], required=False)
    next_order_date = serializers.DateField(required=False, allow_null=True)
    fitted_at = serializers.DateTimeField(required=False)
    explanation = serializers.CharField(required=False, help_text="the same in plain words")


class IdentitySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["user_id", "anonymous_id"])
    value = serializers.CharField()


class ContactListSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    lifetime_value = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)
    cart_quantity = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField(
        help_text="the currency the contact's totals are in: their latest order's, else their cart's; "
        "null before either"
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "user_id",
            "email",
            "name",
            "country",
            "city",
            "timezone",
            "locale",
            "lifetime_value",
            "currency",
            "orders_count",
            "cart_quantity",
            "last_activity_at",
            "created_at",
        ]

    def get_name(self, contact) -> str:
        return display_name(contact)

    def get_cart_quantity(self, contact) -> int:
        return (contact.cart or {}).get("quantity", 0)

    def get_currency(self, contact) -> str | None:
        if hasattr(contact, "latest_order_currency"):  # list and retrieve annotate it (with_totals_currency)
            latest = contact.latest_order_currency
        else:
            latest = contact.orders.order_by("-placed_at").values_list("currency", flat=True).first()
        in_cart = (contact.cart or {}).get("currency")
        return latest or (in_cart if in_cart != commerce.MIXED else None) or None


def with_totals_currency(queryset):
    """Contacts with the currency of their latest order, for ContactListSerializer.currency in one query."""
    latest = Order.objects.filter(contact=OuterRef("pk")).order_by("-placed_at").values("currency")[:1]
    return queryset.annotate(latest_order_currency=Subquery(latest))


def display_name(contact):
    traits = contact.traits or {}
    full = " ".join(str(traits[k]) for k in ("first_name", "last_name") if traits.get(k))
    for candidate in (traits.get("name"), full, traits.get("firstName")):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return ""


class OrderSerializer(serializers.Serializer):
    order_id = serializers.CharField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)
    net = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)
    currency = serializers.CharField()
    status = serializers.CharField()
    products = CartLinesField()
    placed_at = serializers.DateTimeField()


EMPTY_CART = {"items": [], "total": 0.0, "quantity": 0, "currency": None, "updated_at": None}


class ContactSerializer(ContactListSerializer):
    traits = JSONObjectField(required=False)
    consent = ConsentField(required=False)
    recently_viewed = CartLinesField(required=False)
    cart = serializers.SerializerMethodField()
    identities = serializers.SerializerMethodField()
    orders = serializers.SerializerMethodField()
    suppressed = serializers.SerializerMethodField()
    prediction = serializers.SerializerMethodField(
        help_text="what the customer-value models predict (the `predicted` root of the contact context) "
        "and `explanation`, the same in plain words; {} before any fit has predicted this contact"
    )

    class Meta(ContactListSerializer.Meta):
        fields = ContactListSerializer.Meta.fields + [
            "traits",
            "consent",
            "cart",
            "recently_viewed",
            "identities",
            "orders",
            "merged_into",
            "suppressed",
            "prediction",
            "updated_at",
        ]

    @extend_schema_field(CartSerializer)
    def get_cart(self, contact) -> dict:
        return {**EMPTY_CART, **(contact.cart or {})}

    @extend_schema_field(IdentitySerializer(many=True))
    def get_identities(self, contact) -> list[dict]:
        return list(contact.identities.order_by("kind", "id").values("kind", "value"))

    @extend_schema_field(OrderSerializer(many=True))
    def get_orders(self, contact) -> list[dict]:
        return OrderSerializer(contact.orders.order_by("-placed_at")[:100], many=True).data

    @extend_schema_field(PredictionSerializer)
    def get_prediction(self, contact) -> dict:
        from .. import clock
        from ..predictions import clv
        from .context import predicted_of

        predicted = predicted_of(contact)
        if not predicted:
            return {}
        row = contact.prediction
        explanation = clv.explain(
            row.inputs or {},
            row.orders_next_90d,
            row.probability_active,
            row.clv_365d,
            clock.now().date(),
            locale=contact.locale or "en_US",
        )
        return {**predicted, "clv_365d": float(row.clv_365d or 0), "explanation": explanation}

    def get_suppressed(self, contact) -> bool:
        from . import is_suppressed

        return is_suppressed(contact.workspace_id, contact.email) if contact.email else False


class ContactUpdateSerializer(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True)
    timezone = serializers.CharField(required=False, allow_blank=True)
    locale = serializers.CharField(required=False, allow_blank=True)
    country = serializers.CharField(required=False, allow_blank=True)
    city = serializers.CharField(required=False, allow_blank=True, max_length=120)
    traits = serializers.DictField(required=False)
    remove_traits = serializers.ListField(child=serializers.CharField(), required=False)
    consent = serializers.DictField(child=serializers.BooleanField(), required=False)

    def validate_email(self, value):
        if value and identity.email_address(value) is None:
            raise serializers.ValidationError("Enter a valid email address.")
        return identity.email_address(value) if value else ""

    def validate_timezone(self, value):
        if value and identity.timezone_name(value) is None:
            raise serializers.ValidationError("Use an IANA time zone such as Europe/Berlin.")
        return value

    def validate_locale(self, value):
        if value and identity.locale_tag(value) is None:
            raise serializers.ValidationError("Use a language tag such as de-DE.")
        return identity.locale_tag(value) if value else ""

    def validate_country(self, value):
        if value and identity.country_code(value) is None:
            raise serializers.ValidationError("Use a country name or ISO code such as DE.")
        return identity.country_code(value) if value else ""


class EventSerializer(serializers.ModelSerializer):
    properties = JSONObjectField(required=False)
    traits = JSONObjectField(required=False)
    context = JSONObjectField(required=False)

    class Meta:
        model = Event
        fields = [
            "id",
            "type",
            "name",
            "message_id",
            "user_id",
            "anonymous_id",
            "contact",
            "properties",
            "traits",
            "context",
            "timestamp",
            "original_timestamp",
            "sent_at",
            "received_at",
            "processed_at",
            "error",
        ]


class ContactExportSerializer(serializers.Serializer):
    """Everything held about a contact (a data subject access request)."""

    contact = serializers.DictField(help_text="the profile: ids, email, traits, consent, cart, …")
    identities = IdentitySerializer(many=True)
    events = serializers.ListField(child=serializers.DictField())
    orders = serializers.ListField(child=serializers.DictField())
    exported_at = serializers.DateTimeField()


class ErasedSerializer(serializers.Serializer):
    contact_id = serializers.IntegerField()
    suppressed = serializers.IntegerField(help_text="email addresses added to the suppression list")


class PropertyShapeSerializer(serializers.Serializer):
    """A trait or property key seen on calls: its JSON type, and a numeric or boolean example."""

    key = serializers.CharField(help_text="a dotted path: address.city")
    type = serializers.ChoiceField(choices=["null", "boolean", "number", "string", "array", "object"])
    example = serializers.JSONField(allow_null=True, help_text="numbers and booleans only; null otherwise")


class PropertyShapesSerializer(serializers.Serializer):
    results = PropertyShapeSerializer(many=True)


class EnrollmentJourneySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class EnrollmentNodeSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField(help_text="the node's type in its version; trigger before the first step")
    label = serializers.CharField(help_text="the node type's name: Send email, Delay, …")


class EnrollmentConversionSerializer(serializers.Serializer):
    goal = serializers.CharField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)
    currency = serializers.CharField()
    at = serializers.DateTimeField()


class ContactEnrollmentSerializer(serializers.Serializer):
    """One journey the contact is in or was in (one trip: a re-entry is another row)."""

    id = serializers.IntegerField()
    journey = EnrollmentJourneySerializer()
    version = serializers.IntegerField(source="version.number")
    status = serializers.ChoiceField(choices=Enrollment.Status.choices)
    node = serializers.SerializerMethodField(help_text="where it is now, or where it finished")
    node_entered_at = serializers.DateTimeField()
    wake_at = serializers.DateTimeField(allow_null=True)
    entered_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    exit_reason = serializers.CharField(help_text="goal, exit_node, end_of_path, journey_archived, error, …")
    conversion = serializers.SerializerMethodField()

    @extend_schema_field(EnrollmentNodeSerializer)
    def get_node(self, enrollment):
        types = self.context["node_types"].get(enrollment.version_id, {})
        kind = types.get(enrollment.current_node, "")
        spec = nodes.NODE_TYPES.get(kind)
        label = "Start" if kind == nodes.TRIGGER_NODE else spec.label if spec else ""
        return {"id": enrollment.current_node, "type": kind, "label": label}

    @extend_schema_field(EnrollmentConversionSerializer(allow_null=True))
    def get_conversion(self, enrollment):
        conversion = getattr(enrollment, "conversion", None)
        return EnrollmentConversionSerializer(conversion).data if conversion else None


def node_types_of(version_ids) -> dict:
    """{version id: {node id: type}} of these versions, the trigger included, in one query."""
    found = {}
    for pk, definition in JourneyVersion.objects.filter(pk__in=set(version_ids)).values_list("id", "definition"):
        types = {nodes.TRIGGER_NODE: nodes.TRIGGER_NODE}
        for node in (definition or {}).get("nodes") or ():
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                types[node["id"]] = str(node.get("type") or "")
        found[pk] = types
    return found


# What a row of a contact's journeys leaves out: the big JSON (a version's definition is read once
# per version, by node_types_of).
JOURNEY_ROW_DEFERRED = ("context", "visits", "version__definition", "version__template_versions", "journey__draft")


class ContactViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    capabilities = {
        "erase": "manage",
        "partial_update": "edit",
        "export": "read",
        "timeline": "read",
        "journeys": "read",
    }

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            return with_totals_currency(queryset)
        if self.action == "list":
            queryset = queryset.filter(merged_into=None)
            term = self.request.query_params.get("search") or self.request.query_params.get("q")
            if term:
                queryset = _search(queryset, self.request.workspace, term)
            return with_totals_currency(queryset).order_by("-last_activity_at", "-id")
        return queryset

    def get_serializer_class(self):
        return ContactListSerializer if self.action == "list" else ContactSerializer

    @extend_schema(
        parameters=[OpenApiParameter("search", str, description="Email, id, or key:value for a trait")],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ContactUpdateSerializer, responses=ContactSerializer)
    def partial_update(self, request, pk=None):
        contact = self.get_object()
        body = ContactUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        contact = contacts.update_contact(contact, request.user, body.validated_data)
        return Response(ContactSerializer(contact).data)

    @extend_schema(
        parameters=[OpenApiParameter("type", str, description="only calls of this type: track, identify, …")],
        responses=EventSerializer(many=True),
    )
    @action(detail=True)
    def timeline(self, request, pk=None):
        contact = self.get_object()
        events = scoped(Event, request.workspace).filter(contact=contact).order_by("-timestamp", "-id")
        kind = request.query_params.get("type")
        if kind:
            events = events.filter(type=kind)
        page = self.paginate_queryset(events)
        return self.get_paginated_response(EventSerializer(page, many=True).data)

    @extend_schema(responses=ContactEnrollmentSerializer(many=True))
    @action(detail=True)
    def journeys(self, request, pk=None):
        """The journeys the contact is in or was in, newest entry first, with where it is now and
        its conversion (limit/offset pages)."""
        contact = self.get_object()
        rows = (
            scoped(Enrollment, request.workspace)
            .filter(contact=contact)
            .select_related("journey", "version", "conversion")
            .defer(*JOURNEY_ROW_DEFERRED)
            .order_by("-entered_at", "-id")
        )
        page = self.paginate_queryset(rows)
        context = {"node_types": node_types_of(e.version_id for e in page)}
        return self.get_paginated_response(ContactEnrollmentSerializer(page, many=True, context=context).data)

    @extend_schema(responses=ContactExportSerializer)
    @action(detail=True)
    def export(self, request, pk=None):
        contact = self.get_object()
        record_audit(request.workspace, request.user, "contact.exported", f"contact {contact.pk}")
        response = Response(contacts.export_contact(contact))
        response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
        return response

    @extend_schema(request=None, responses=ErasedSerializer)
    @action(detail=True, methods=["post"])
    def erase(self, request, pk=None):
        contact = self.get_object()
        return Response(contacts.erase_contact(contact, request.user))

    @extend_schema(responses=PropertyShapesSerializer)
    @action(detail=False)
    def traits(self, request):
        """Trait keys seen on identify calls: suggestions for conditions on contact.traits.*."""
        row = scoped(EventName, request.workspace).filter(type="identify", name="").first()
        keys = sorted((row.properties if row else {}).items())
        return Response({"results": [{"key": key, **shape} for key, shape in keys]})


def _search(queryset, workspace, term):
    term = term.strip()
    if ":" in term and " " not in term.split(":", 1)[0]:
        key, value = (part.strip() for part in term.split(":", 1))
        if key in ("email", "user_id", "country", "city", "timezone", "locale"):
            return queryset.filter(**{f"{key}__iexact": value})
        if key and key.replace("_", "").isalnum():
            return queryset.filter(Q(**{f"traits__{key}__iexact": value}) | Q(**{f"traits__{key}": value}))
    by_identity = scoped(ContactIdentity, workspace).filter(value=term).values("contact_id")
    return queryset.filter(
        Q(email__icontains=term) | Q(user_id__icontains=term) | Q(pk__in=by_identity) | Q(traits__icontains=term)
    )


# -- Events ----------------------------------------------------------------------------------------


class RecentEventsSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    pending = serializers.IntegerField(help_text="events received and not processed yet")


class RecentEventsQuerySerializer(serializers.Serializer):
    after = IdField(required=False, min_value=0, help_text="only events after this id")
    limit = serializers.IntegerField(required=False, min_value=1, default=50, help_text="at most 200")


class EventNameSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()
    last_seen_at = serializers.DateTimeField(allow_null=True)
    type = serializers.CharField()


class EventNamesSerializer(serializers.Serializer):
    results = EventNameSerializer(many=True)


class RecentEventsView(APIView):
    """The last events received, newest first (the Data sources page polls it). ?after=<id>."""

    @extend_schema(parameters=[RecentEventsQuerySerializer], responses=RecentEventsSerializer)
    def get(self, request):
        events = scoped(Event, request.workspace).order_by("-id")
        query = RecentEventsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if "after" in query.validated_data:
            events = events.filter(id__gt=query.validated_data["after"])
        limit = min(query.validated_data["limit"], 200)
        pending = scoped(Event, request.workspace).filter(processed_at__isnull=True).count()
        return Response({"results": EventSerializer(events[:limit], many=True).data, "pending": pending})


class EventNamesView(APIView):
    """Event names seen in the workspace (track events; ?type=page|screen for those)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("type", str, description="track (default), page or screen"),
            OpenApiParameter("search", str, description="names containing this"),
        ],
        responses=EventNamesSerializer,
    )
    def get(self, request):
        kind = request.query_params.get("type", "track")
        rows = scoped(EventName, request.workspace).filter(type=kind).exclude(name="").order_by("-count", "name")
        term = request.query_params.get("search")
        if term:
            rows = rows.filter(name__icontains=term)
        return Response(
            {
                "results": [
                    {"name": row.name, "count": row.count, "last_seen_at": row.last_seen_at, "type": row.type}
                    for row in rows[:500]
                ]
            }
        )


class EventPropertiesView(APIView):
    """Property keys (dotted paths) seen on an event, with their JSON type and a numeric example."""

    @extend_schema(
        parameters=[OpenApiParameter("event", str), OpenApiParameter("type", str, description="track (default)")],
        responses=PropertyShapesSerializer,
    )
    def get(self, request):
        name = request.query_params.get("event")
        rows = scoped(EventName, request.workspace).filter(type=request.query_params.get("type", "track"))
        if name:
            rows = rows.filter(name=name)
        merged = {}
        for row in rows[:500]:
            for key, shape in row.properties.items():
                merged.setdefault(key, shape)
        return Response({"results": [{"key": key, **shape} for key, shape in sorted(merged.items())]})


# -- Catalog ---------------------------------------------------------------------------------------


class PriceChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = PriceChange
        fields = ["old_price", "new_price", "changed_at"]


class ProductSerializer(serializers.ModelSerializer):
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, coerce_to_string=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    attributes = serializers.DictField(required=False)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "url",
            "image_url",
            "price",
            "currency",
            "stock",
            "category",
            "tags",
            "attributes",
            "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]
        validators = []  # sku uniqueness is the upsert's business

    def validate_currency(self, value):
        if len(value) != 3 or not value.isalpha():
            raise serializers.ValidationError("Use a 3-letter currency code such as EUR.")
        return value.upper()


class ProductDetailSerializer(ProductSerializer):
    price_history = serializers.SerializerMethodField()

    class Meta(ProductSerializer.Meta):
        fields = ProductSerializer.Meta.fields + ["price_history"]

    @extend_schema_field(PriceChangeSerializer(many=True))
    def get_price_history(self, product) -> list[dict]:
        return PriceChangeSerializer(product.price_history.order_by("-changed_at", "-id")[:50], many=True).data


class UpsertedSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()


class CategoriesSerializer(serializers.Serializer):
    results = serializers.ListField(child=serializers.CharField())


class BulkProductsSerializer(serializers.Serializer):
    products = ProductSerializer(many=True)

    def validate_products(self, value):
        if len(value) > 1000:
            raise serializers.ValidationError("Send at most 1,000 products per call.")
        return value


class ProductViewSet(
    WorkspaceScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Product.objects.all()
    serializer_class = ProductSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            return with_totals_currency(queryset)
        if self.action == "list":
            term = self.request.query_params.get("search") or self.request.query_params.get("q")
            if term:
                queryset = queryset.filter(
                    Q(name__icontains=term) | Q(sku__icontains=term) | Q(category__icontains=term)
                )
            category = self.request.query_params.get("category")
            if category:
                queryset = queryset.filter(category=category)
        return queryset.order_by("name", "id")

    def get_serializer_class(self):
        return ProductDetailSerializer if self.action == "retrieve" else ProductSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="name, sku or category containing this"),
            OpenApiParameter("category", str),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={201: ProductDetailSerializer})
    def create(self, request):
        body = ProductSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if scoped(Product, request.workspace).filter(sku=body.validated_data["sku"]).exists():
            raise DomainError(
                f"A product with sku “{body.validated_data['sku']}” exists already.",
                code="duplicate_sku",
                fields={"sku": ["Already used."]},
            )
        catalog.upsert_products(request.workspace, [body.validated_data], actor=request.user)
        product = scoped(Product, request.workspace).get(sku=body.validated_data["sku"])
        return Response(ProductDetailSerializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProductSerializer, responses=ProductDetailSerializer)
    def partial_update(self, request, pk=None):
        product = self.get_object()
        body = ProductSerializer(product, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        if changes.get("sku", product.sku) != product.sku:
            raise DomainError("The sku of a product cannot change.", code="sku_immutable", fields={"sku": ["Fixed."]})
        changes.pop("sku", None)
        product = catalog.update_product(product, request.user, changes)
        return Response(ProductDetailSerializer(product).data)

    def perform_destroy(self, instance):
        record_audit(instance.workspace, self.request.user, "product.deleted", instance.sku)
        instance.delete()

    @extend_schema(request=BulkProductsSerializer, responses=UpsertedSerializer)
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        """Create or update up to 1,000 products by sku (price changes go to the price history)."""
        body = BulkProductsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = catalog.upsert_products(request.workspace, body.validated_data["products"], request.user)
        return Response(result)

    @extend_schema(responses=CategoriesSerializer)
    @action(detail=False)
    def categories(self, request):
        values = scoped(Product, request.workspace).exclude(category="").values_list("category", flat=True).distinct()
        return Response({"results": sorted(set(values))})


# -- Imports ---------------------------------------------------------------------------------------


class ImportListSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    field = serializers.CharField()
    error = serializers.CharField()


@extend_schema_field(RowErrorSerializer(many=True))
class RowErrorsField(serializers.JSONField):
    """A JSONField holding the rows an import skipped, with why."""


class ImportJobSerializer(serializers.ModelSerializer):
    row_errors = RowErrorsField(required=False)
    progress = serializers.SerializerMethodField()
    mapping = serializers.SerializerMethodField(help_text="the column mapping chosen; null: columns read by name")
    list = serializers.SerializerMethodField(help_text="the static list that receives the imported contacts")
    list_added = serializers.SerializerMethodField(help_text="contacts that entered the list (once done)")

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "status",
            "phase",
            "filename",
            "rows_total",
            "rows_done",
            "progress",
            "created_count",
            "updated_count",
            "row_errors",
            "error",
            "mapping",
            "list",
            "list_added",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def _plan(self, job):
        if not hasattr(job, "_plan"):
            job._plan = imports.job_plan(job)
        return job._plan

    def get_progress(self, job) -> int:
        if job.status == ImportJob.Status.DONE:
            return 100
        if not job.rows_total:
            return 0
        # Checking rows is the first 90 %; saving them all in one transaction the last 10 %.
        return min(99, int(90 * job.rows_done / job.rows_total) + (9 if job.phase == "saving" else 0))

    @extend_schema_field(serializers.DictField(child=serializers.CharField(), allow_null=True))
    def get_mapping(self, job):
        return self._plan(job).get("mapping")

    @extend_schema_field(ImportListSerializer(allow_null=True))
    def get_list(self, job):
        return self._plan(job).get("list")

    def get_list_added(self, job) -> int | None:
        return self._plan(job).get("added")


class ImportUploadSerializer(serializers.Serializer):
    """A CSV file (multipart), or its text as `content` with a `filename` (JSON). For contacts, an
    optional column `mapping` (JSON: {column: target}, see the preview) and a static list to fill:
    `list` (an existing one's id) or `new_list` (the name of a list to create)."""

    kind = serializers.ChoiceField(choices=ImportJob.Kind.choices)
    file = serializers.FileField(required=False)
    content = serializers.CharField(required=False, trim_whitespace=False)
    filename = serializers.CharField(required=False, max_length=255)
    mapping = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="{column: target}; a target is email, user_id, first_name, last_name, phone, timezone, locale,"
        " country, city, traits.<name>, consent.<topic> or skip. Without it, columns are read by their names.",
    )
    list = serializers.IntegerField(required=False, allow_null=True, help_text="a static list of the workspace")
    new_list = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="a new list's name")

    def validate(self, data):
        if not data.get("file") and not data.get("content"):
            raise serializers.ValidationError({"file": ["Choose a CSV file."]})
        return data


class ImportPreviewRequestSerializer(serializers.Serializer):
    """A CSV file (multipart), or its text as `content` (JSON)."""

    file = serializers.FileField(required=False)
    content = serializers.CharField(required=False, trim_whitespace=False)

    def validate(self, data):
        if not data.get("file") and not data.get("content"):
            raise serializers.ValidationError({"file": ["Choose a CSV file."]})
        return data


class ImportPreviewSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField(allow_blank=True), help_text="the header, in order")
    suggested = serializers.DictField(child=serializers.CharField(), help_text="{column: target}")
    rows = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(allow_blank=True)),
        help_text=f"the first {imports.PREVIEW_ROWS} rows, one cell per column (cut to {imports.PREVIEW_CELL_CHARS})",
    )
    fields = serializers.ListField(child=serializers.CharField(), help_text="the contact fields a column can go to")


def _uploaded_text(data):
    """(text, filename) of an upload: the file's bytes as UTF-8, or the `content` sent as JSON."""
    upload = data.get("file")
    if upload is None:
        return data["content"], data.get("filename") or "import.csv"
    if upload.size > imports.MAX_IMPORT_BYTES:
        raise DomainError(
            "The file is larger than 20 MB; split it.", code="file_too_large", fields={"file": ["Too large."]}
        )
    try:
        return upload.read().decode("utf-8-sig"), upload.name
    except UnicodeDecodeError:
        raise DomainError(
            "The file is not UTF-8 text. Save it as CSV UTF-8 and try again.",
            code="not_utf8",
            fields={"file": ["Not UTF-8."]},
        ) from None


class ImportJobViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Imports need `edit` to start (and to preview a file), `read` to follow."""

    queryset = ImportJob.objects.order_by("-created_at", "-id")
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer, "application/json": ImportUploadSerializer},
        responses={201: ImportJobSerializer},
    )
    def create(self, request):
        body = ImportUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        content, name = _uploaded_text(body.validated_data)
        job = imports.start_import(
            request.workspace,
            request.user,
            body.validated_data["kind"],
            name,
            content,
            mapping=body.validated_data.get("mapping"),
            list_id=body.validated_data.get("list"),
            new_list=body.validated_data.get("new_list") or "",
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={
            "multipart/form-data": ImportPreviewRequestSerializer,
            "application/json": ImportPreviewRequestSerializer,
        },
        responses=ImportPreviewSerializer,
    )
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """The columns and first rows of a contact CSV with a suggested mapping, before importing it.
        Saves nothing; reads no more than the header and the first rows."""
        body = ImportPreviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        content, _name = _uploaded_text(body.validated_data)
        return Response(imports.preview_contacts(content))
