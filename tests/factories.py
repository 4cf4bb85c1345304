"""Factories every test can use: workspaces and members of each role, an outsider, write keys and
a Segment client posting to /v1/ as an integrator's server would."""

import base64
import gzip
import itertools
import json

from django.contrib.auth import get_user_model
from django.test import Client

from accounts import actions
from accounts.models import Membership, Role

PASSWORD = "correct-horse-battery-9"
_seq = itertools.count(1)


def make_workspace(name=None):
    return actions.create_workspace(name or f"Workspace {next(_seq)}")


def make_user(email=None, password=PASSWORD, name=""):
    email = email or f"user{next(_seq)}@example.com"
    user = get_user_model().objects.create_user(username=email, email=email, password=password, first_name=name)
    return user


def make_member(workspace, role=Role.MARKETER, email=None, password=PASSWORD):
    user = make_user(email=email, password=password)
    Membership.objects.create(workspace=workspace, user=user, role=role)
    return user


def make_write_key(workspace, name="Test key"):
    key, raw = actions.create_write_key(workspace, None, name)
    return raw


def basic(key):
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


class Tracker:
    """Posts Segment calls to /v1/ as an integrator's server would."""

    def __init__(self, key):
        self.key = key
        self.client = Client()

    def post(self, endpoint, body=None, key=..., raw=None, compress=False, **headers):
        key = self.key if key is ... else key
        data = raw if raw is not None else json.dumps(body or {}).encode()
        extra = {}
        if key is not None:
            extra["HTTP_AUTHORIZATION"] = basic(key)
        if compress:
            data = gzip.compress(data)
            extra["HTTP_CONTENT_ENCODING"] = "gzip"
        for name, value in headers.items():
            extra[f"HTTP_{name.upper()}"] = value
        return self.client.generic("POST", f"/v1/{endpoint}", data, content_type="application/json", **extra)


def stored_event(contact, name, properties=None, at=None):
    """A track event of the contact as ingestion stores and applies it (the engine is not told)."""
    import uuid

    from django.utils import timezone

    from journeys.models import Event

    return Event.objects.create(
        workspace_id=contact.workspace_id,
        contact=contact,
        message_id=uuid.uuid4().hex,
        type="track",
        name=name,
        user_id=contact.user_id,
        properties=properties or {},
        timestamp=at or timezone.now(),
        processed_at=timezone.now(),
    )
