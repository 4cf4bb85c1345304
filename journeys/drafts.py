"""Drafts: creating a journey and saving its draft with optimistic concurrency, and checking a
definition with what only the app knows (which templates are published, which networks webhooks
may reach) on top of the pure validator (engine/definition.py)."""

from __future__ import annotations

from django.db import transaction

from accounts.actions import record_audit
from accounts.errors import DomainError

from . import clock, hooks
from .engine import definition as validator
from .models import Journey, Segment


def actor_user(actor):
    """The user behind an action, or None (the system, a token without a user)."""
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _template_resolver(workspace):
    if not hooks.has_hook("template.resolve"):
        return None
    resolve = hooks.hook("template.resolve")
    return lambda ref: resolve(workspace, ref)


def check_definition(definition, workspace) -> list[validator.Problem]:
    """Every problem of a definition for this workspace; an empty list means it can be published."""
    from .webhooks import is_forbidden

    return validator.validate_definition(
        definition,
        resolve_template=_template_resolver(workspace),
        address_forbidden=is_forbidden,
        segment_exists=lambda pk: Segment.objects.filter(workspace=workspace, pk=pk).exists(),
    )


def pin_templates(definition, workspace) -> dict[str, int]:
    """node id -> the template version each email node sends (what a publish stores)."""
    resolve = _template_resolver(workspace)
    return validator.resolve_templates(definition, resolve) if resolve else {}


def empty_definition():
    return {
        "trigger": {"type": "event", "event": "", "where": {"all": []}},
        "entry": {"re_entry": "after_exit", "audience": {"all": []}},
        "exit_on": [],
        "nodes": [],
        "edges": [],
        "layout": {},
    }


def create_journey(workspace, actor, name, definition=None, description="", library_key=""):
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the journey a name.", code="invalid", fields={"name": ["This field is required."]})
    if definition is not None and not isinstance(definition, dict):
        raise DomainError("A definition is a JSON object.", code="invalid", fields={"definition": ["Not an object."]})
    with transaction.atomic():
        journey = Journey.objects.create(
            workspace=workspace,
            name=name[:200],
            description=description or "",
            draft=definition if definition is not None else empty_definition(),
            created_by=actor_user(actor),
            updated_by=actor_user(actor),
            library_key=library_key,
        )
        record_audit(workspace, actor, "journey.created", journey.name, journey=journey.pk)
    return journey


def save_draft(journey, actor, *, revision, definition=None, name=None, description=None):
    """Save the draft if `revision` is still the current one; a stale revision gets 409 (someone
    else saved in between)."""
    changes = {"updated_by": actor_user(actor), "updated_at": clock.now()}
    if definition is not None:
        if not isinstance(definition, dict):
            raise DomainError("A definition is a JSON object.", fields={"definition": ["Not an object."]})
        changes["draft"] = definition
    if name is not None:
        if not name.strip():
            raise DomainError("Give the journey a name.", fields={"name": ["This field is required."]})
        changes["name"] = name.strip()[:200]
    if description is not None:
        changes["description"] = description
    if journey.status == Journey.Status.ARCHIVED:
        raise DomainError("An archived journey cannot be edited.", code="archived", status_code=409)
    try:
        revision = int(revision)
    except (TypeError, ValueError):
        raise DomainError(
            "Send the revision you edited.", code="invalid", fields={"revision": ["A number is required."]}
        ) from None
    # The conditional UPDATE is the check: of two saves of the same revision, one wins.
    updated = Journey.objects.filter(pk=journey.pk, draft_revision=revision).update(
        draft_revision=revision + 1, **changes
    )
    if not updated:
        current = Journey.objects.filter(pk=journey.pk).values_list("draft_revision", flat=True).first()
        raise DomainError(
            "Someone saved this journey after you opened it. Reload to see their changes.",
            code="stale_revision",
            fields={"revision": [f"The current revision is {current}."]},
            status_code=409,
        )
    journey.refresh_from_db()
    if hooks.has_hook("draft.saved"):  # the editor: withdraw stale QA approvals, tell other editors
        hooks.hook("draft.saved")(journey, actor)
    return journey
