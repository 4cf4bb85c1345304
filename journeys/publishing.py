"""Publishing a draft as an immutable version (and moving contacts in flight), pausing, resuming
and archiving a journey."""

from __future__ import annotations

import copy

from django.db import transaction
from django.db.models import Count, F

from accounts.actions import record_audit
from accounts.errors import DomainError

from . import clock, hooks, kicks
from .drafts import actor_user, check_definition, pin_templates
from .engine.definition import as_fields
from .engine.nodes import TRIGGER_NODE
from .lifecycle import OPEN, StepRow, finish_open, write_steps
from .models import Enrollment, Journey, JourneyVersion

MIGRATION_CHUNK = 1000


def _open_on_other_versions(journey, new_version=None):
    qs = Enrollment.objects.filter(journey=journey, status__in=OPEN)
    if new_version is not None:
        qs = qs.exclude(version=new_version)
    return qs


def migration_plan(journey, definition, node_map=None):
    """How many open enrollments sit on each node of older versions, and what a publish with this
    node map would do with them: move (to the mapped node), exit (mapped to null) or keep."""
    node_map = node_map or {}
    new_nodes = {n.get("id") for n in definition.get("nodes") or [] if isinstance(n, dict)}
    rows = (
        _open_on_other_versions(journey)
        .values("version__number", "current_node")
        .annotate(count=Count("id"))
        .order_by("version__number", "current_node")
    )
    nodes, totals = [], {"move": 0, "keep": 0, "exit": 0}
    problems = {}
    for row in rows:
        node = row["current_node"]
        if node in node_map:
            target = node_map[node]
            action = "exit" if target is None else "move"
            if target is not None and target not in new_nodes and target != TRIGGER_NODE:
                problems[f"node_map.{node}"] = [f"“{target}” is not a node of the new version."]
        else:
            target, action = None, "keep"
        totals[action] += row["count"]
        nodes.append(
            {"version": row["version__number"], "node": node, "count": row["count"], "action": action, "to": target}
        )
    for node, target in node_map.items():
        if target is not None and target not in new_nodes and f"node_map.{node}" not in problems:
            problems[f"node_map.{node}"] = [f"“{target}” is not a node of the new version."]
    return {"nodes": nodes, "totals": totals}, problems


def trigger_key(trigger) -> str:
    """What the journey row keeps to find the live journeys a happening starts (indexed): the
    event's name, or "segment:<id>" for a segment trigger."""
    if trigger.get("type") == "event":
        return trigger.get("event", "")
    if trigger.get("type") == "segment":
        return f"segment:{int(trigger['segment'])}"
    return ""


def publish_journey(journey, actor, *, revision=None, node_map=None, dry_run=False):
    """Publish the draft as a new immutable version. Enrollments in flight stay on their version
    unless `node_map` ({old node id: new node id, or None to exit them}) moves them.

    With dry_run, nothing changes: the answer says what would happen.
    """
    node_map = node_map or {}
    if not isinstance(node_map, dict):
        raise DomainError("node_map maps old node ids to new ones.", fields={"node_map": ["Not an object."]})
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(pk=journey.pk)
        if journey.status == Journey.Status.ARCHIVED:
            raise DomainError("An archived journey cannot be published.", code="archived", status_code=409)
        if revision is not None and int(revision) != journey.draft_revision:
            raise DomainError(
                "The draft changed since you looked at it. Reload and publish again.",
                code="stale_revision",
                fields={"revision": [f"The current revision is {journey.draft_revision}."]},
                status_code=409,
            )
        definition = copy.deepcopy(journey.draft)
        problems = check_definition(definition, journey.workspace)
        if problems:
            raise DomainError(
                f"The journey has {len(problems)} problem{'s' if len(problems) != 1 else ''}: {problems[0].message}",
                code="invalid_definition",
                fields=as_fields(problems),
            )
        plan, map_problems = migration_plan(journey, definition, node_map)
        if map_problems:
            raise DomainError("The node map names nodes the new version does not have.", fields=map_problems)
        if hooks.has_hook("publish.check"):  # the QA approval (editor): raises DomainError to refuse
            hooks.hook("publish.check")(journey, actor=actor, revision=journey.draft_revision)
        if dry_run:
            return None, plan

        now = clock.now()
        last = JourneyVersion.objects.filter(journey=journey).order_by("-number").values_list("number", flat=True)
        version = JourneyVersion.objects.create(
            workspace=journey.workspace,
            journey=journey,
            number=(last.first() or 0) + 1,
            definition=definition,
            template_versions=pin_templates(definition, journey.workspace),
            published_by=actor_user(actor),
            published_at=now,
            source_revision=journey.draft_revision,
        )
        trigger = definition.get("trigger") or {}
        was_paused = journey.status == Journey.Status.PAUSED
        journey.live_version = version
        journey.status = Journey.Status.PAUSED if was_paused else Journey.Status.LIVE
        journey.trigger_type = trigger.get("type", "")
        journey.trigger_event = trigger_key(trigger)
        journey.updated_by = actor_user(actor) or journey.updated_by
        journey.updated_at = now
        journey.save()
        moved = _migrate(journey, version, node_map, now, paused=was_paused)
        record_audit(
            journey.workspace,
            actor,
            "journey.published",
            journey.name,
            journey=journey.pk,
            version=version.number,
            moved=moved["move"],
            exited=moved["exit"],
        )
        transaction.on_commit(kicks.advance)
    return version, plan


def _migrate(journey, version, node_map, now, paused):
    """Move (or, mapped to None, remove) the open enrollments of older versions, node by node."""
    done = {"move": 0, "exit": 0}
    for old, new in node_map.items():
        candidates = _open_on_other_versions(journey, version).filter(current_node=old)
        ids = list(candidates.values_list("id", flat=True))
        for start in range(0, len(ids), MIGRATION_CHUNK):
            chunk = ids[start : start + MIGRATION_CHUNK]
            if new is None:
                done["exit"] += len(finish_open(chunk, Enrollment.Status.EXITED, "removed_at_publish", now))
                continue
            wake = {"paused_wake_at": now, "wake_at": None} if paused else {"wake_at": now, "paused_wake_at": None}
            done["move"] += Enrollment.objects.filter(id__in=chunk, status__in=OPEN).update(
                version=version, current_node=new, claim="", awaited_event="", status=Enrollment.Status.ACTIVE, **wake
            )
            moved = Enrollment.objects.filter(id__in=chunk, version=version).values_list("id", "contact_id")
            write_steps(
                [
                    StepRow(
                        journey.workspace_id,
                        journey.pk,
                        enrollment_id,
                        contact_id,
                        version.number,
                        new,
                        1,
                        True,
                        False,
                        "moved",
                        "",
                        {"from": old},
                        now,
                    )
                    for enrollment_id, contact_id in moved
                ]
            )
    return done


def pause_journey(journey, actor):
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(pk=journey.pk)
        if journey.status != Journey.Status.LIVE:
            raise DomainError("Only a live journey can be paused.", code="not_live", status_code=409)
        journey.status = Journey.Status.PAUSED
        journey.updated_by, journey.updated_at = actor_user(actor) or journey.updated_by, clock.now()
        journey.save(update_fields=["status", "updated_by", "updated_at"])
        # Hold every timer; a worker that holds some of them right now sees the paused journey in
        # its own transaction and holds them itself.
        held = Enrollment.objects.filter(journey=journey, status__in=OPEN, wake_at__isnull=False, claim="").update(
            paused_wake_at=F("wake_at"), wake_at=None
        )
        record_audit(journey.workspace, actor, "journey.paused", journey.name, journey=journey.pk, held=held)
    return journey


def resume_journey(journey, actor):
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(pk=journey.pk)
        if journey.status != Journey.Status.PAUSED:
            raise DomainError("Only a paused journey can be resumed.", code="not_paused", status_code=409)
        journey.status = Journey.Status.LIVE
        journey.updated_by, journey.updated_at = actor_user(actor) or journey.updated_by, clock.now()
        journey.save(update_fields=["status", "updated_by", "updated_at"])
        released = Enrollment.objects.filter(journey=journey, paused_wake_at__isnull=False).update(
            wake_at=F("paused_wake_at"), paused_wake_at=None
        )
        record_audit(journey.workspace, actor, "journey.resumed", journey.name, journey=journey.pk, released=released)
        transaction.on_commit(kicks.advance)
    return journey


def archive_journey(journey, actor):
    """Archive: no new entries, and every contact still in the journey leaves it."""
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(pk=journey.pk)
        if journey.status == Journey.Status.ARCHIVED:
            return journey
        journey.status = Journey.Status.ARCHIVED
        journey.updated_by, journey.updated_at = actor_user(actor) or journey.updated_by, clock.now()
        journey.save(update_fields=["status", "updated_by", "updated_at"])
        ids = list(Enrollment.objects.filter(journey=journey, status__in=OPEN).values_list("id", flat=True))
        exited, now = 0, clock.now()
        for start in range(0, len(ids), MIGRATION_CHUNK):
            chunk = ids[start : start + MIGRATION_CHUNK]
            exited += len(finish_open(chunk, Enrollment.Status.EXITED, "journey_archived", now))
        record_audit(journey.workspace, actor, "journey.archived", journey.name, journey=journey.pk, exited=exited)
    return journey
