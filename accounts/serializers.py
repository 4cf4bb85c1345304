"""The shapes of the accounts API's answers and bodies that are not a model's (the OpenAPI schema
documents them; accounts/api.py builds them)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

DB_INT_MAX = 2**63 - 1  # the largest integer SQLite's INTEGER and PostgreSQL's bigint hold
NUMBER_MAX = 2**31 - 1  # a PositiveIntegerField's on PostgreSQL: revisions, version numbers


class IdField(serializers.IntegerField):
    """An object's id, or a version or revision number, in a request: a whole number from 1 that a
    database integer holds (a larger one failed in the query, with a 500, instead of here)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", DB_INT_MAX)
        super().__init__(**kwargs)


@extend_schema_field({"type": "object", "additionalProperties": True})
class JSONObjectField(serializers.JSONField):
    """A JSONField holding an object: the same field, but the schema says "an object" where a bare
    JSONField says "any value" (and the front end's generated type is `unknown`)."""


@extend_schema_field({"type": "object", "additionalProperties": {"type": "integer"}})
class CountsField(serializers.JSONField):
    """A JSONField holding {name: count}."""


class SessionUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    name = serializers.CharField()


class SessionWorkspaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class WorkspaceChoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()


class SessionSerializer(serializers.Serializer):
    """Who is logged in, where, with which role (`session_payload`). Logged out: only
    `authenticated` (false), and `user` and `workspace` null."""

    authenticated = serializers.BooleanField()
    user = SessionUserSerializer(allow_null=True, required=False)
    workspace = SessionWorkspaceSerializer(allow_null=True, required=False)
    role = serializers.CharField(required=False)
    capabilities = serializers.ListField(child=serializers.CharField(), required=False)
    workspaces = WorkspaceChoiceSerializer(many=True, required=False)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class SwitchWorkspaceSerializer(serializers.Serializer):
    workspace = IdField()


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.CharField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField()
    token = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False)


class InvitationPreviewSerializer(serializers.Serializer):
    """What the invitee sees before accepting."""

    email = serializers.CharField()
    workspace = serializers.CharField()
    role = serializers.CharField()
    existing_account = serializers.BooleanField()


class AcceptInvitationSerializer(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, required=False, help_text="a new or the existing one")
    name = serializers.CharField(required=False, allow_blank=True)
