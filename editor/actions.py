"""QA state changes: personas, QA settings, approvals of journey drafts and the publish check;
the variant gallery, path simulation and test sends, which read the engine and delivery."""

from django.db import transaction
from django.utils import timezone

from accounts.actions import record_audit
from accounts.errors import DomainError
from journeys import executors
from journeys.models import Journey

from .models import QAApproval, WorkspaceQASettings

# -- personas and settings -------------------------------------------------------------------------

PERSONA_FIELDS = (
    "name",
    "description",
    "email",
    "traits",
    "country",
    "city",
    "timezone",
    "locale",
    "cart_items",
    "recent_events",
)


def save_persona(persona, workspace, actor, values):
    from .models import Persona

    if persona is None:
        persona = Persona(workspace=workspace, created_by=actor if actor and actor.is_authenticated else None)
    for name in PERSONA_FIELDS:
        if name in values:
            setattr(persona, name, values[name])
    persona.updated_at = timezone.now()
    persona.save()
    return persona


def delete_persona(persona, actor):
    persona.delete()


def update_qa_settings(workspace, actor, **values):
    with transaction.atomic():
        qa_settings = WorkspaceQASettings.objects.select_for_update().get(pk=WorkspaceQASettings.of(workspace).pk)
        changes = {}
        for name, value in values.items():
            if getattr(qa_settings, name) != value:
                changes[name] = value
                setattr(qa_settings, name, value)
        if changes:
            qa_settings.updated_at = timezone.now()
            qa_settings.save()
            record_audit(workspace, actor, "qa_settings.changed", "QA settings", **changes)
    return qa_settings


# -- approvals -------------------------------------------------------------------------------------


def pinned_templates(journey):
    """node id -> the template version id each email node would send if published now."""
    from journeys.definition import resolve_templates

    if not executors.has_hook("template.resolve"):
        return {}
    return {str(node): version for node, version in (resolve_templates(journey.draft, journey.workspace) or {}).items()}


def approve_journey(journey, actor, revision, note=""):
    """A reviewer approves one draft revision. Any later edit of the draft, or of a template it
    sends, withdraws it (see `valid_approval`)."""
    with transaction.atomic():
        # Lock the journey: an edit saved at the same moment must not slip in under the approval.
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        if locked.draft_revision != revision:
            raise DomainError(
                f"The draft changed since you reviewed it: revision {locked.draft_revision} is current, "
                f"you reviewed {revision}. Review the current draft and approve again.",
                code="stale_revision",
                status_code=409,
            )
        now = timezone.now()
        QAApproval.objects.filter(journey=locked, withdrawn_at__isnull=True).update(
            withdrawn_at=now, withdrawn_reason="superseded by a newer approval"
        )
        approval = QAApproval.objects.create(
            workspace=locked.workspace,
            journey=locked,
            revision=revision,
            templates=pinned_templates(locked),
            note=note,
            approved_by=actor,
            approved_at=now,
        )
        # A queryset update: this is not an edit of the draft (no signal, no new revision).
        Journey.objects.filter(pk=locked.pk).update(approved_revision=revision)
        record_audit(
            locked.workspace, actor, "journey.approved", locked.name, journey=locked.id, revision=revision, note=note
        )
    return approval


def withdraw_approval(journey, actor, reason):
    """Withdraw every standing approval of the journey (a reviewer's choice or an edit)."""
    with transaction.atomic():
        standing = list(QAApproval.objects.select_for_update().filter(journey=journey, withdrawn_at__isnull=True))
        if not standing:
            return 0
        QAApproval.objects.filter(pk__in=[a.pk for a in standing]).update(
            withdrawn_at=timezone.now(), withdrawn_reason=reason[:200]
        )
        Journey.objects.filter(pk=journey.pk).update(approved_revision=None)
        record_audit(
            journey.workspace,
            actor,
            "journey.approval_withdrawn",
            journey.name,
            journey=journey.id,
            revisions=[a.revision for a in standing],
            reason=reason,
        )
    return len(standing)


def withdraw_outdated_approvals(journey, actor=None):
    """After an edit: approvals of an older revision no longer hold."""
    outdated = QAApproval.objects.filter(journey=journey, withdrawn_at__isnull=True).exclude(
        revision=journey.draft_revision
    )
    if outdated.exists():
        withdraw_approval(journey, actor, reason=f"the draft was edited (revision {journey.draft_revision})")


def valid_approval(journey):
    """(approval, None) when the current draft revision has a standing approval whose templates are
    still the ones approved; (None, why not) otherwise."""
    approval = (
        QAApproval.objects.filter(journey=journey, withdrawn_at__isnull=True, revision=journey.draft_revision)
        .select_related("approved_by")
        .first()
    )
    if approval is None:
        last = QAApproval.objects.filter(journey=journey).first()
        if last is not None and last.revision != journey.draft_revision:
            return None, (
                f"The draft was edited after QA approved revision {last.revision}: "
                f"revision {journey.draft_revision} needs a new approval."
            )
        if last is not None and last.withdrawn_at is not None:
            return None, f"The approval was withdrawn ({last.withdrawn_reason}): approve the draft again."
        return None, f"Revision {journey.draft_revision} of this draft has not been approved by QA."
    current = pinned_templates(journey)
    changed = sorted(
        node for node in set(current) | set(approval.templates) if current.get(node) != approval.templates.get(node)
    )
    if changed:
        return None, (
            f"The email of node{'s' if len(changed) > 1 else ''} {', '.join(changed)} changed after QA approved "
            "the draft: approve it again."
        )
    return approval, None


def check_publish(journey, actor=None, **kwargs):
    """The engine's "publish.check" hook: refuse publishing without a valid QA approval when the
    workspace requires one."""
    if not WorkspaceQASettings.of(journey.workspace).publish_requires_approval:
        return
    journey.refresh_from_db(fields=["draft", "draft_revision"])
    approval, problem = valid_approval(journey)
    if approval is None:
        record_audit(
            journey.workspace,
            actor,
            "journey.publish_refused",
            journey.name,
            journey=journey.id,
            revision=journey.draft_revision,
            reason=problem,
        )
        raise DomainError(f"Publishing needs a QA approval. {problem}", code="approval_required", status_code=409)


def mark_published(version):
    """A version was published from an approved revision: the approval let it through."""
    if version.source_revision is None:
        return
    QAApproval.objects.filter(
        journey_id=version.journey_id, revision=version.source_revision, withdrawn_at__isnull=True
    ).update(published_version=version.number)
