"""Factories every test can use: workspaces and members of each role, and an outsider."""

import itertools

from django.contrib.auth import get_user_model

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
