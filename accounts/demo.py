"""The demo workspace's members and write key. Idempotent: a second run changes nothing."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model

from . import actions
from .models import Membership, Role, Workspace, WriteKey, hash_secret

DEMO_SLUG = "demo-shop"
DEMO_MEMBERS = [
    ("admin@demo.wayline.test", "Alex Admin", Role.ADMIN),
    ("marketer@demo.wayline.test", "Morgan Marketer", Role.MARKETER),
    ("qa@demo.wayline.test", "Quinn QA", Role.QA),
]


def _secrets_file():
    return settings.VAR_DIR / "demo_logins.txt"


def _load_secrets():
    path = _secrets_file()
    if not path.exists():
        return {}
    return dict(line.split("\t", 1) for line in path.read_text().splitlines() if "\t" in line)


def _save_secrets(values):
    path = _secrets_file()
    path.write_text("".join(f"{key}\t{value}\n" for key, value in values.items()))
    path.chmod(0o600)


def seed():
    """Returns (workspace, logins [(email, password, role)], write_key)."""
    stored = _load_secrets()
    workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
    if workspace is None:
        workspace = actions.create_workspace("Demo Shop", slug=DEMO_SLUG)
    User = get_user_model()
    logins = []
    for email, name, role in DEMO_MEMBERS:
        user = User.objects.filter(email__iexact=email).first()
        password = stored.get(email)
        if user is None or password is None or not user.check_password(password):
            # Passwords are made on this machine and kept in var/, never in the repository.
            password = f"demo-{secrets.token_urlsafe(9)}"
            if user is None:
                first, _, last = name.partition(" ")
                user = User(username=email, email=email, first_name=first, last_name=last)
            user.set_password(password)
            user.is_active = True
            user.save()
            stored[email] = password
        Membership.objects.get_or_create(workspace=workspace, user=user, defaults={"role": role})
        logins.append((email, password, role))
    raw_key = stored.get("write_key")
    if (
        raw_key is None
        or not WriteKey.objects.filter(
            workspace=workspace, key_hash=hash_secret(raw_key), revoked_at__isnull=True
        ).exists()
    ):
        _, raw_key = actions.create_write_key(workspace, None, "Demo shop")
        stored["write_key"] = raw_key
    _save_secrets(stored)
    return workspace, logins, raw_key
