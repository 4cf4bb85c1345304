"""State changes of workspaces, members, invitations and keys. Each one writes the audit log."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from .errors import DomainError
from .models import ApiToken, AuditEntry, Invitation, Membership, Role, Workspace, WriteKey, hash_secret


def record_audit(workspace, actor, action, target="", **details):
    return AuditEntry.objects.create(
        workspace=workspace,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_email=getattr(actor, "email", "") or "",
        action=action,
        target=str(target)[:254],
        details=details,
    )


def create_workspace(name, owner=None, slug=None):
    base = slugify(slug or name)[:60] or "workspace"
    candidate, n = base, 1
    while Workspace.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    workspace = Workspace.objects.create(name=name, slug=candidate)
    if owner is not None:
        Membership.objects.create(workspace=workspace, user=owner, role=Role.ADMIN)
    return workspace


def _check_role(role):
    if role not in Role.values:
        raise DomainError(
            f"“{role}” is not a role. Choose one of: {', '.join(Role.values)}.",
            code="unknown_role",
            fields={"role": [f"Unknown role “{role}”."]},
        )


def _set_password(user, password):
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise DomainError(error.messages[0], code="weak_password", fields={"password": error.messages}) from None
    user.set_password(password)


def invite_member(workspace, actor, email, role):
    """Create an invitation and email its link. Returns (invitation, raw_token)."""
    _check_role(role)
    email = get_user_model().objects.normalize_email(email.strip()).lower()
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise DomainError(
            f"{email} is already a member of this workspace.",
            code="already_member",
            fields={"email": ["Already a member."]},
        )
    raw = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                workspace=workspace,
                email=email,
                role=role,
                token_hash=hash_secret(raw),
                invited_by=actor,
                expires_at=timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS),
            )
            record_audit(workspace, actor, "invitation.created", email, role=role)
    except IntegrityError:
        raise DomainError(
            f"{email} has already been invited. Revoke that invitation first to send a new one.",
            code="duplicate_invitation",
            fields={"email": ["Already invited."]},
        ) from None
    link = f"{settings.SITE_URL}/invite/{raw}"
    inviter = actor.get_full_name() or actor.email if actor else "A teammate"
    transaction.on_commit(
        lambda: send_mail(
            subject=f"You are invited to {workspace.name} on Wayline",
            message=(
                f"{inviter} invited you to join {workspace.name} on Wayline as {Role(role).label}.\n\n"
                f"Accept the invitation and choose your password:\n{link}\n\n"
                f"The link works once and expires in {settings.INVITATION_TTL_DAYS} days."
            ),
            from_email=None,
            recipient_list=[email],
        )
    )
    return invitation, raw


def find_invitation(raw_token):
    """The pending invitation for a link, or a DomainError saying why the link no longer works."""
    invitation = Invitation.objects.select_related("workspace").filter(token_hash=hash_secret(raw_token)).first()
    if invitation is None:
        raise DomainError("This invitation link is not valid.", code="invalid_invitation", status_code=404)
    if invitation.status == Invitation.Status.ACCEPTED:
        raise DomainError(
            "This invitation has already been used. Log in instead.", code="invitation_used", status_code=410
        )
    if invitation.status == Invitation.Status.REVOKED:
        raise DomainError("This invitation has been revoked.", code="invitation_revoked", status_code=410)
    if invitation.is_expired:
        raise DomainError(
            "This invitation has expired. Ask your admin for a new one.", code="invitation_expired", status_code=410
        )
    return invitation


def accept_invitation(raw_token, password, name=""):
    """The invitee sets a password (or proves it, for an existing account) and joins with the role."""
    User = get_user_model()
    with transaction.atomic():
        invitation = find_invitation(raw_token)
        # Lock the row: two clicks on the same link must not create two memberships.
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.status != Invitation.Status.PENDING:
            raise DomainError("This invitation has already been used.", code="invitation_used", status_code=410)
        user = User.objects.filter(email__iexact=invitation.email).first()
        if user is None:
            user = User(username=invitation.email, email=invitation.email, first_name=name.strip()[:150])
            _set_password(user, password)
            user.save()
        elif not user.check_password(password):
            raise DomainError(
                "You already have a Wayline account: enter its password to join.",
                code="wrong_password",
                fields={"password": ["Wrong password for the existing account."]},
            )
        membership, created = Membership.objects.get_or_create(
            workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
        )
        if not created:
            membership.role, membership.is_active, membership.deactivated_at = invitation.role, True, None
            membership.save()
        invitation.status = Invitation.Status.ACCEPTED
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["status", "accepted_at"])
        record_audit(invitation.workspace, user, "invitation.accepted", user.email, role=invitation.role)
    return membership


def revoke_invitation(invitation, actor):
    if invitation.status != Invitation.Status.PENDING:
        raise DomainError("Only a pending invitation can be revoked.", code="not_pending")
    invitation.status = Invitation.Status.REVOKED
    invitation.save(update_fields=["status"])
    record_audit(invitation.workspace, actor, "invitation.revoked", invitation.email)


def _other_active_admins(membership):
    return (
        Membership.objects.filter(workspace=membership.workspace, role=Role.ADMIN, is_active=True)
        .exclude(pk=membership.pk)
        .exists()
    )


def change_role(membership, actor, role):
    _check_role(role)
    if membership.role == role:
        return membership
    with transaction.atomic():
        # Lock the workspace's admins: two admins demoting each other at once must leave one.
        list(Membership.objects.select_for_update().filter(workspace=membership.workspace, role=Role.ADMIN))
        if membership.role == Role.ADMIN and not _other_active_admins(membership):
            raise DomainError(
                "A workspace needs at least one admin.", code="last_admin", fields={"role": ["Last admin."]}
            )
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        record_audit(membership.workspace, actor, "member.role_changed", membership.user.email, old=old, new=role)
    return membership


def deactivate_member(membership, actor):
    with transaction.atomic():
        list(Membership.objects.select_for_update().filter(workspace=membership.workspace, role=Role.ADMIN))
        if membership.role == Role.ADMIN and not _other_active_admins(membership):
            raise DomainError("A workspace needs at least one active admin.", code="last_admin")
        membership.is_active = False
        membership.deactivated_at = timezone.now()
        membership.save(update_fields=["is_active", "deactivated_at"])
        ApiToken.objects.filter(membership=membership, revoked_at__isnull=True).update(revoked_at=timezone.now())
        record_audit(membership.workspace, actor, "member.deactivated", membership.user.email)
    # Sessions: the member's next request finds no active membership and is refused.
    return membership


def reactivate_member(membership, actor):
    membership.is_active = True
    membership.deactivated_at = None
    membership.save(update_fields=["is_active", "deactivated_at"])
    record_audit(membership.workspace, actor, "member.reactivated", membership.user.email)
    return membership


def create_write_key(workspace, actor, name):
    raw, key_hash, hint = WriteKey.generate()
    key = WriteKey.objects.create(workspace=workspace, name=name, key_hash=key_hash, hint=hint, created_by=actor)
    record_audit(workspace, actor, "write_key.created", name, hint=hint)
    return key, raw


def revoke_write_key(key, actor):
    if key.revoked_at is not None:
        raise DomainError("This write key is already revoked.", code="already_revoked")
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    record_audit(key.workspace, actor, "write_key.revoked", key.name, hint=key.hint)


def create_api_token(membership, name):
    raw, token_hash, hint = ApiToken.generate()
    token = ApiToken.objects.create(membership=membership, name=name, token_hash=token_hash, hint=hint)
    record_audit(membership.workspace, membership.user, "api_token.created", name, hint=hint)
    return token, raw


def revoke_api_token(token, actor):
    if token.revoked_at is not None:
        raise DomainError("This token is already revoked.", code="already_revoked")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_audit(token.membership.workspace, actor, "api_token.revoked", token.name, hint=token.hint)


def workspace_for_write_key(raw_key):
    """The workspace a write key belongs to, or None for an unknown or revoked key."""
    key = WriteKey.objects.select_related("workspace").filter(key_hash=hash_secret(raw_key or "")).first()
    if key is None or key.revoked_at is not None:
        return None
    return key.workspace
