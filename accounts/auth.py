from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken, hash_secret


class EmailBackend(ModelBackend):
    """Log in with an email address (case-insensitive) and password."""

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = (email or username or "").strip()
        if not email or not password:
            return None
        user = get_user_model().objects.filter(email__iexact=email).order_by("id").first()
        if user and user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer wl_...`: a personal API token, acting as its member in its workspace."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0] not in ("Bearer", "Token"):
            return None
        token = (
            ApiToken.objects.select_related("membership__user", "membership__workspace")
            .filter(token_hash=hash_secret(parts[1]), revoked_at__isnull=True)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("This API token is not valid or has been revoked.")
        membership = token.membership
        if not membership.is_active or not membership.user.is_active:
            raise exceptions.AuthenticationFailed("The member owning this API token has been deactivated.")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        request._wayline_membership = membership
        return membership.user, token

    def authenticate_header(self, request):
        return self.keyword
