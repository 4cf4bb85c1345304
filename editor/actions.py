"""QA state changes: personas, QA settings, approvals of journey drafts and the publish check;
the variant gallery, path simulation and test sends, which read the engine and delivery."""

from django.db import transaction

from accounts.actions import record_audit
from accounts.errors import DomainError
from journeys import clock
from journeys.models import Journey

from . import simulation
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
    persona.updated_at = clock.now()
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
            qa_settings.updated_at = clock.now()
            qa_settings.save()
            record_audit(workspace, actor, "qa_settings.changed", "QA settings", **changes)
    return qa_settings


# -- approvals -------------------------------------------------------------------------------------


def pinned_templates(journey):
    """node id -> the template version id each email node would send if published now."""
    from journeys.drafts import pin_templates

    return {str(node): version for node, version in pin_templates(journey.draft, journey.workspace).items()}


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
        now = clock.now()
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
            withdrawn_at=clock.now(), withdrawn_reason=reason[:200]
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
        raise DomainError(f"Publishing needs a QA approval. {problem}", code="approval_required", status_code=409)


def mark_published(version):
    """A version was published from an approved revision: the approval let it through."""
    if version.source_revision is None:
        return
    QAApproval.objects.filter(
        journey_id=version.journey_id, revision=version.source_revision, withdrawn_at__isnull=True
    ).update(published_version=version.number)


# -- simulation, gallery, test sends ---------------------------------------------------------------

PATH_KEYS = ("node", "type", "outcome", "port", "at")


def _email_nodes(definition):
    return [n for n in (definition or {}).get("nodes") or [] if isinstance(n, dict) and n.get("type") == "email"]


def variant_gallery(journey, persona_ids=None):
    """Personas × email nodes of the journey draft. Each cell: the email the persona would get at
    that node (rendered as sending renders the version the node would pin), the simulated path
    that led there and the time it would arrive. A node the persona's path does not reach is
    still rendered, marked as not reached."""
    from accounts.access import scoped
    from delivery.models import TemplateVersion
    from delivery.personalize import build_context

    from . import variants
    from .models import Persona

    workspace = journey.workspace
    now = clock.now()
    nodes = _email_nodes(journey.draft)
    pinned = pinned_templates(journey)
    versions = {
        v.pk: v
        for v in scoped(TemplateVersion, workspace)
        .select_related("template", "template__coupon_pool")
        .filter(pk__in=[v for v in pinned.values() if v])
    }
    personas = scoped(Persona, workspace)
    if persona_ids:
        personas = personas.filter(pk__in=persona_ids)
    personas = list(personas)
    cells = []
    for persona in personas:
        contact, facts, history, label = simulation.simulation_profile(workspace, persona.pk, None, now)
        result = simulation.run_simulation(journey, facts, history, (), now)
        sent = {}
        for message in result["messages"]:
            sent.setdefault(message["node"], message)
        trigger = simulation.trigger_event(journey.draft, history)
        for node in nodes:
            message = sent.get(node["id"])
            arrives = message["at"] if message else None
            path = result["path"]
            if message:
                index = next(
                    (i for i, step in enumerate(path) if step["node"] == node["id"] and step["at"] == message["at"]),
                    len(path) - 1,
                )
                path = path[: index + 1]
            cell = {
                "persona": persona.pk,
                "node": node["id"],
                "reached": message is not None,
                "arrives_at": arrives,
                "path": [{key: step[key] for key in PATH_KEYS} for step in path],
                "status": result["status"],
                "reason": result.get("reason", ""),
            }
            version = versions.get(pinned.get(node["id"]))
            if version is None:
                cell.update(ok=False, error="The template of this node has no saved version.")
                cells.append(cell)
                continue
            at = rules_datetime(arrives) or now
            context = build_context(workspace, version, contact=contact, journey_context={"trigger": trigger}, now=at)
            subject = variants.PreviewSubject(key=f"persona:{persona.pk}", kind="persona", label=label, data=context)
            variant = variants.render_variant(variants.compilation_of_version(version), subject)
            cell.update(
                ok=variant["ok"],
                template={"id": version.template_id, "name": version.template.name, "version": version.number},
                **{k: variant[k] for k in ("subject", "preheader", "html", "text", "blocks", "warnings")},
            )
            cells.append(cell)
    return {
        "journey": {"id": journey.pk, "name": journey.name, "draft_revision": journey.draft_revision},
        "generated_at": now.isoformat(),
        "nodes": [
            {"id": n["id"], "template": (n.get("config") or {}).get("template"), "version": pinned.get(n["id"])}
            for n in nodes
        ],
        "personas": [{"id": p.pk, "name": p.name, "country": p.country, "city": p.city} for p in personas],
        "cells": cells,
    }


def rules_datetime(value):
    from journeys.engine.rules import parse_datetime

    return parse_datetime(value) if value else None


def _json_safe(value):
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def test_addresses(workspace, actor, to):
    """ "me" is the member's own address; any other must be on the workspace's seed list or be
    an active member's address."""
    from accounts.models import Membership

    seeds = {address.lower() for address in WorkspaceQASettings.of(workspace).seed_list}
    addresses, refused = [], []
    for raw in to:
        address = actor.email if raw.strip().lower() == "me" else raw.strip()
        lowered = address.lower()
        is_member = Membership.objects.filter(workspace=workspace, is_active=True, user__email__iexact=address).exists()
        if lowered not in seeds and not is_member:
            refused.append(address)
        elif address not in addresses:
            addresses.append(address)
    if refused:
        raise DomainError(
            f"Test emails go to your own address or the workspace's seed list; {', '.join(refused)} is on neither.",
            code="not_a_test_address",
            fields={"to": [f"{a} is not on the seed list." for a in refused]},
        )
    return addresses


def send_test_variant(
    workspace, actor, *, to, template=None, journey=None, node=None, persona=None, contact=None, profile=None
):
    """Send one variant (a template, or a journey's email node, for a persona or a contact) as a
    test: delivery marks it ("[Test]", outside caps and metrics) and sends it through the outbox."""
    import uuid

    from accounts.access import scoped
    from delivery.actions import enqueue_message
    from delivery.models import Template, TemplateVersion
    from delivery.personalize import build_context

    addresses = test_addresses(workspace, actor, to)
    journey_context, label = {}, ""
    if template is not None:
        found = scoped(Template, workspace).select_related("latest_version").filter(pk=template).first()
        if found is None:
            raise DomainError("There is no such template.", code="not_found", status_code=404)
        version = found.latest_version
        if version is None:
            raise DomainError("Save the template before sending a test.", code="not_saved")
    else:
        found_journey = scoped(Journey, workspace).filter(pk=journey).first()
        if found_journey is None:
            raise DomainError("There is no such journey.", code="not_found", status_code=404)
        version_id = pinned_templates(found_journey).get(node)
        version = scoped(TemplateVersion, workspace).filter(pk=version_id).first() if version_id else None
        if version is None:
            raise DomainError(f"Node “{node}” sends no saved template.", code="not_found", status_code=404)
    version = TemplateVersion.objects.select_related("template", "template__coupon_pool").get(pk=version.pk)
    subject_contact, _, history, label = simulation.simulation_profile(workspace, persona, contact, profile=profile)
    if journey is not None:
        trigger = simulation.trigger_event(found_journey.draft, history)
        if trigger:
            journey_context["trigger"] = trigger
    if contact is None:  # a persona or a made-up profile: never a saved contact
        sample = build_context(workspace, version, contact=subject_contact, journey_context=journey_context)
        sample = {k: v for k, v in sample.items() if not k.startswith("_") and k not in ("products", "now")}
        journey_context = {**journey_context, "sample": _json_safe(sample)}
        subject_contact = None
    sent = []
    for address in addresses:
        message = enqueue_message(
            workspace,
            version,
            idempotency_key=f"test:{uuid.uuid4().hex}",
            contact=subject_contact,
            to_email=address,
            journey_context=journey_context,
            is_test=True,
        )
        sent.append({"to": address, "message_id": message.pk, "status": message.status, "reason": message.reason})
    record_audit(
        workspace,
        actor,
        "qa.test_send",
        version.template.slug,
        version=version.number,
        to=addresses,
        subject=label,
        persona=persona,
        contact=contact,
        journey=journey,
        node=node,
    )
    return {"sent": sent, "template": version.template.slug, "version": version.number, "subject": label}
