from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, login, logout, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.utils.decorators import method_decorator
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from . import actions
from .access import SESSION_KEY, WorkspaceScopedMixin, current_membership
from .errors import DomainError
from .models import ApiToken, AuditEntry, Invitation, Membership, Role, WriteKey, capabilities_of
from .schema import error_responses
from .serializers import (
    AcceptInvitationSerializer,
    DetailSerializer,
    InvitationPreviewSerializer,
    JSONObjectField,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    SessionSerializer,
    SwitchWorkspaceSerializer,
)
from .throttles import address_identity, client_address, count_attempt, normalize_email


def session_payload(request):
    membership = current_membership(request)
    user = request.user
    if membership is None:
        return {"authenticated": bool(user and user.is_authenticated), "user": None, "workspace": None}
    workspaces = Membership.objects.select_related("workspace").filter(user=user, is_active=True).order_by("id")
    return {
        "authenticated": True,
        "user": {"id": user.id, "email": user.email, "name": user.get_full_name()},
        "workspace": {
            "id": membership.workspace.id,
            "name": membership.workspace.name,
            "slug": membership.workspace.slug,
        },
        "role": membership.role,
        "capabilities": capabilities_of(membership.role),
        "workspaces": [{"id": m.workspace.id, "name": m.workspace.name, "role": m.role} for m in workspaces],
    }


class SessionView(APIView):
    """Who is logged in, in which workspace, with which role. Also hands out the CSRF cookie."""

    permission_classes = [AllowAny]

    @extend_schema(responses=SessionSerializer)
    @method_decorator(ensure_csrf_cookie)
    def get(self, request):
        return Response(session_payload(request))


class LoginSerializer(serializers.Serializer):
    email = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False)


class LoginView(APIView):
    """Every attempt counts against the client's address; failed ones against the account too."""

    permission_classes = [AllowAny]

    @extend_schema(request=LoginSerializer, responses={200: SessionSerializer, **error_responses(429)})
    def post(self, request):
        count_attempt("login_address", address_identity(client_address(request)))
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # Counted before the password is checked, so concurrent guesses cannot all pass; taken back
        # below when the password was right.
        attempt = count_attempt("login_account", normalize_email(data.validated_data["email"]))
        user = authenticate(request, email=data.validated_data["email"], password=data.validated_data["password"])
        if user is None:
            raise DomainError("Wrong email or password.", code="invalid_credentials")
        attempt.cancel()
        if not Membership.objects.filter(user=user, is_active=True).exists():
            raise DomainError(
                "Your account is not an active member of any workspace. Ask an admin to invite you.",
                code="no_active_membership",
            )
        login(request, user)
        return Response(session_payload(request))


class LogoutView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses=SessionSerializer)
    def post(self, request):
        logout(request)
        return Response({"authenticated": False})


class SwitchWorkspaceView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=SwitchWorkspaceSerializer, responses={200: SessionSerializer, **error_responses(404)})
    def post(self, request):
        if not request.user.is_authenticated:
            return Response({"error": "Log in first.", "code": "not_authenticated", "fields": {}}, status=401)
        body = SwitchWorkspaceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = Membership.objects.filter(
            user=request.user, workspace_id=body.validated_data["workspace"], is_active=True
        ).first()
        if membership is None:
            raise DomainError("You are not a member of that workspace.", code="not_member", status_code=404)
        request.session[SESSION_KEY] = membership.workspace_id
        request._wayline_membership = membership
        return Response(session_payload(request))


class PasswordResetView(APIView):
    """Always answers the same, whether or not the address has an account."""

    permission_classes = [AllowAny]

    @extend_schema(request=PasswordResetSerializer, responses={200: DetailSerializer, **error_responses(429)})
    def post(self, request):
        count_attempt("password_reset_address", address_identity(client_address(request)))
        email = str(request.data.get("email", "")).strip()
        if not email:
            raise DomainError("Enter your email address.", fields={"email": ["This field is required."]})
        count_attempt("password_reset_email", normalize_email(email))
        for user in get_user_model().objects.filter(email__iexact=email, is_active=True):
            uid = urlsafe_base64_encode(force_bytes(user.pk))
            token = default_token_generator.make_token(user)
            send_mail(
                "Reset your Wayline password",
                f"Someone asked to reset the password of {user.email} on Wayline.\n\n"
                f"Choose a new password here:\n{settings.SITE_URL}/reset/{uid}/{token}\n\n"
                "If it was not you, ignore this email.",
                None,
                [user.email],
            )
        return Response({"detail": "If that address has an account, a reset link is on its way."})


class PasswordResetConfirmView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=PasswordResetConfirmSerializer, responses=DetailSerializer)
    def post(self, request):
        try:
            uid = force_str(urlsafe_base64_decode(str(request.data.get("uid", ""))))
            user = get_user_model().objects.get(pk=uid)
        except (ValueError, TypeError, OverflowError, get_user_model().DoesNotExist):
            user = None
        if user is None or not default_token_generator.check_token(user, str(request.data.get("token", ""))):
            raise DomainError("This reset link is invalid or has already been used.", code="invalid_reset_link")
        password = str(request.data.get("password", ""))
        try:
            password_validation.validate_password(password, user)
        except ValidationError as error:
            raise DomainError(error.messages[0], code="weak_password", fields={"password": error.messages}) from None
        user.set_password(password)
        user.save(update_fields=["password"])
        return Response({"detail": "Your password has been changed. You can log in now."})


# -- Invitations, as the invitee sees them (public, by token) --


class InvitationPublicView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: InvitationPreviewSerializer, **error_responses(410)})
    def get(self, request, token):
        invitation = actions.find_invitation(token)
        return Response(
            {
                "email": invitation.email,
                "workspace": invitation.workspace.name,
                "role": invitation.role,
                "existing_account": get_user_model().objects.filter(email__iexact=invitation.email).exists(),
            }
        )


class AcceptInvitationView(APIView):
    """Throttled per address and per link: for an existing account, accepting checks its password."""

    permission_classes = [AllowAny]

    @extend_schema(request=AcceptInvitationSerializer, responses={201: SessionSerializer, **error_responses(410, 429)})
    def post(self, request, token):
        count_attempt("invitation_address", address_identity(client_address(request)))
        count_attempt("invitation_token", token)
        membership = actions.accept_invitation(
            token, str(request.data.get("password", "")), str(request.data.get("name", ""))
        )
        user = membership.user
        user.backend = settings.AUTHENTICATION_BACKENDS[0]
        login(request, user)
        request.session[SESSION_KEY] = membership.workspace_id
        request._wayline_membership = membership
        return Response(session_payload(request), status=status.HTTP_201_CREATED)


# -- Administration (admins only) --


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.get_full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "is_active", "joined_at", "deactivated_at"]
        read_only_fields = ["id", "email", "name", "is_active", "joined_at", "deactivated_at"]


class RoleSerializer(serializers.Serializer):
    role = serializers.CharField()


class MemberViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Membership.objects.select_related("user").order_by("id")
    serializer_class = MemberSerializer
    read_capability = "manage"
    write_capability = "manage"

    @extend_schema(request=RoleSerializer)
    def partial_update(self, request, pk=None):
        membership = self.get_object()
        body = RoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        actions.change_role(membership, request.user, body.validated_data["role"])
        return Response(MemberSerializer(membership).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        membership = actions.deactivate_member(self.get_object(), request.user)
        return Response(MemberSerializer(membership).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        membership = actions.reactivate_member(self.get_object(), request.user)
        return Response(MemberSerializer(membership).data)


@extend_schema_field({"type": "string", "enum": list(Role.values)})
class RoleNameField(serializers.CharField):
    """A role's name, checked by the serializer (with a message naming the roles)."""


class InvitationSerializer(serializers.ModelSerializer):
    role = RoleNameField()
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, default=None, allow_null=True)
    is_expired = serializers.BooleanField(read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "invited_by", "created_at", "expires_at", "is_expired"]
        read_only_fields = ["id", "status", "invited_by", "created_at", "expires_at", "is_expired"]

    def validate_role(self, value):
        if value not in Role.values:
            raise serializers.ValidationError(f"“{value}” is not a role. Choose one of: {', '.join(Role.values)}.")
        return value


class InvitationViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    queryset = Invitation.objects.select_related("invited_by").order_by("-created_at")
    serializer_class = InvitationSerializer
    read_capability = "manage"
    write_capability = "manage"

    def get_queryset(self):
        queryset = super().get_queryset()
        status_filter = self.request.query_params.get("status")
        return queryset.filter(status=status_filter) if status_filter else queryset

    def create(self, request):
        body = InvitationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invitation, _ = actions.invite_member(
            request.workspace, request.user, body.validated_data["email"], body.validated_data["role"]
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        invitation = self.get_object()
        actions.revoke_invitation(invitation, request.user)
        return Response(InvitationSerializer(invitation).data)


class WriteKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = WriteKey
        fields = ["id", "name", "hint", "created_at", "revoked_at"]
        read_only_fields = ["id", "hint", "created_at", "revoked_at"]


class NewWriteKeySerializer(WriteKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The write key itself: shown this once only.")

    class Meta(WriteKeySerializer.Meta):
        fields = [*WriteKeySerializer.Meta.fields, "key"]


class WriteKeyViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    queryset = WriteKey.objects.order_by("-created_at")
    serializer_class = WriteKeySerializer
    read_capability = "manage"
    write_capability = "manage"

    @extend_schema(responses={201: NewWriteKeySerializer})
    def create(self, request):
        body = WriteKeySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key, raw = actions.create_write_key(request.workspace, request.user, body.validated_data["name"])
        return Response({**WriteKeySerializer(key).data, "key": raw}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        key = self.get_object()
        actions.revoke_write_key(key, request.user)
        return Response(WriteKeySerializer(key).data)


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "hint", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "hint", "created_at", "last_used_at", "revoked_at"]


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The token itself: shown this once only.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class ApiTokenViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The requesting member's own personal tokens. Any role may hold tokens; they act with its role."""

    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # for the schema; get_queryset gives the member's own
    write_capability = "read"

    def get_queryset(self):
        return ApiToken.objects.filter(membership=self.request.membership).order_by("-created_at")

    @extend_schema(responses={201: NewApiTokenSerializer})
    def create(self, request):
        body = ApiTokenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, raw = actions.create_api_token(request.membership, body.validated_data["name"])
        return Response({**ApiTokenSerializer(token).data, "token": raw}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = self.get_object()
        actions.revoke_api_token(token, request.user)
        return Response(ApiTokenSerializer(token).data)


class AuditEntrySerializer(serializers.ModelSerializer):
    details = JSONObjectField(required=False)

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor_email", "action", "target", "details"]


class AuditViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    read_capability = "manage"

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.request.query_params.get("action"):
            queryset = queryset.filter(action__startswith=self.request.query_params["action"])
        return queryset
