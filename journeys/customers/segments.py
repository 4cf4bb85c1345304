"""Saved segments: membership kept incrementally (design.md, "Audiences").

A dynamic segment is a rule in the one rule language, evaluated with the same facts as journeys'
rules (`context.facts_of`); a static segment is a list whose members are added and removed by hand.
Membership lives in SegmentMembership rows: entering opens a row, leaving sets its `left_at`,
entering again opens another; the partial unique constraint keeps one open row per
(segment, contact).

- `refresh_contact(contact, now, changed)`: after an event was applied to a contact (inside the
  event's transaction, journeys/customers/events.py), re-evaluate the workspace's dynamic segments
  that the change can affect and fire the "segment.changed" hook with what changed.
- `rebuild(segment, now)`: evaluate every contact of the workspace, in pages by id (a new or
  edited rule): in the request for a small workspace, else in a worker with its progress on the
  segment (`rebuild_later`).
- `sweep(now)`: rules that change with time alone (performed within, before/after a date), run by
  the engine loop every few minutes (journeys/loop.py). Each evaluation of a timed rule keeps, in
  a SegmentCheck row, when that contact's answer can next change (rules.next_change); the sweep
  evaluates only the rows that are due, so its cost is what is due, not the number of contacts.
- `preview(workspace, rule, now)`: the count and a sample of a rule, without saving.
- `refresh_predicted(workspace_id, contact_ids, now)`: after a customer-value fit, the segments
  that read `predicted.*`, for the contacts it predicted.

A worker keeps the workspace's dynamic segments for JOURNEYS_SEGMENT_CACHE_SECONDS (a second), so
an event costs no query for them; a save in another process is seen within that time, and the
rebuild that follows a save evaluates again the contacts changed meanwhile.

Opening and closing rows are conditional writes, so that two writers (an event's refresh and a
rebuild or a sweep of the same contact) never open two rows nor close one twice: the loser of an
insert finds the constraint taken, the loser of an update finds no open row, and neither reports a
change.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from .. import clock, hooks, kicks
from ..engine import rules
from ..models import Broadcast, Contact, Journey, Segment, SegmentCheck, SegmentMembership
from . import context

log = logging.getLogger(__name__)

ENTERED, LEFT = "entered", "left"
PAGE = 500  # contacts evaluated per page by rebuild, sweep and preview
PREVIEW_MAX_CONTACTS = 5000  # a preview evaluates no more contacts than this (the count says so)
PREVIEW_SAMPLE = 10
INLINE_REBUILD = 2000  # a workspace of up to this many contacts rebuilds a segment in the request
SWEEP_BUDGET = 50_000  # due checks one sweep evaluates at most (the next sweep goes on)

# The roots a segment's field conditions may read (a segment has no trigger event nor journey).
FIELD_ROOTS = ("contact", "cart", "orders", "viewed", "predicted")
MAX_FIELD_PARTS = 8  # contact.traits.address.city has 4
MAX_RULE_DEPTH = 10  # nested all/any/not
MAX_RULE_CONDITIONS = 200


class SegmentError(Exception):
    """A refused segment change: `fields` names the parts ({"rule.all[0].field": [message]})."""

    def __init__(self, message, code="invalid", fields=None, status_code=400):
        super().__init__(message)
        self.message, self.code, self.fields, self.status_code = message, code, fields or {}, status_code


# -- rules -----------------------------------------------------------------------------------------


def validate_rule(rule, path="rule") -> dict:
    """{path: [message]} for a segment's rule: the rule language's own checks (rules.validate) plus
    a segment's limits: nesting depth, number of conditions, the roots and depth of field paths."""
    errors: dict[str, list[str]] = {}
    if rule is None or rule == {}:
        return {}
    # Depth and size first, without recursion: a rule nested a thousand deep must not reach the
    # recursive validator.
    stack, conditions = [(rule, path, 1)], 0
    while stack:
        current, where, depth = stack.pop()
        conditions += 1
        if conditions > MAX_RULE_CONDITIONS:
            return {path: [f"A segment's rule has at most {MAX_RULE_CONDITIONS} conditions."]}
        if depth > MAX_RULE_DEPTH:
            return {where: [f"Conditions nest at most {MAX_RULE_DEPTH} deep."]}
        if not isinstance(current, dict):
            continue
        for key in ("all", "any"):
            if isinstance(current.get(key), list):
                stack.extend((sub, f"{where}.{key}[{i}]", depth + 1) for i, sub in enumerate(current[key]))
        if isinstance(current.get("not"), dict):
            stack.append((current["not"], f"{where}.not", depth + 1))
        if isinstance(current.get("where"), dict):
            stack.append((current["where"], f"{where}.where", depth + 1))
        name = current.get("field")
        if "performed" not in current and isinstance(name, str) and ".where" not in where:
            parts = name.split(".")
            if parts[0] not in FIELD_ROOTS:
                roots = ", ".join(f"{root}." for root in FIELD_ROOTS)
                errors.setdefault(f"{where}.field", []).append(f"Unknown field “{name}”: a segment reads {roots}")
            elif len(parts) > MAX_FIELD_PARTS:
                errors.setdefault(f"{where}.field", []).append(
                    f"The path is too deep: at most {MAX_FIELD_PARTS} parts."
                )
    for where, message in rules.validate(rule, path):
        errors.setdefault(where, []).append(message)
    return errors


@lru_cache(maxsize=1024)
def _reads(key: str) -> rules.Reads:
    return rules.reads(json.loads(key))


def reads_of(rule) -> rules.Reads:
    """What a rule reads, computed once per distinct rule."""
    return _reads(json.dumps(rule or {}, sort_keys=True, default=str))


@dataclass(frozen=True)
class Change:
    """What applying an event changed of a contact: the dotted fields (contact.traits,
    contact.email, cart, orders, ...), and the event name it performed (a track)."""

    fields: frozenset = frozenset()
    event: str | None = None

    def affects(self, found: rules.Reads) -> bool:
        if self.event is not None and self.event in found.events:
            return True
        return any(found.reads_field(name) for name in self.fields)


def contact_change(before: dict, contact, event_name=None, commerce=False) -> Change:
    """The Change between `before` (context.contact_fields of the contact before the event) and
    the contact now. `commerce`: the cart, orders or recently viewed may have changed."""
    after = context.contact_fields(contact)
    fields = {f"contact.{key}" for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    if commerce:
        fields |= {"cart", "orders", "viewed"}
    return Change(frozenset(fields), event_name)


# -- membership ------------------------------------------------------------------------------------


def _enter(segment, contact_id, now) -> bool:
    if not _still_there(segment):
        return False
    try:
        with transaction.atomic():
            SegmentMembership.objects.create(
                workspace_id=segment.workspace_id, segment=segment, contact_id=contact_id, entered_at=now
            )
    except IntegrityError:
        return False  # another writer opened it first (the partial unique constraint)
    return True


def _still_there(segment) -> bool:
    """Whether the segment still exists, holding it until the caller's transaction ends so that a
    deletion waits for the membership row (a worker's cached segment may have been deleted since;
    the row's foreign key is checked only at commit). SQLite serialises writers already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {Segment._meta.db_table} WHERE id = %s FOR KEY SHARE", [segment.pk])
            return cursor.fetchone() is not None
    return Segment.objects.filter(pk=segment.pk).exists()


def _leave(segment, contact_id, now) -> bool:
    # Conditional: of two writers closing the same row, one updates it, the other finds none open.
    return bool(
        SegmentMembership.objects.filter(segment=segment, contact_id=contact_id, left_at__isnull=True).update(
            left_at=now
        )
    )


def _open_ids(segment, contact_ids) -> set:
    return set(
        SegmentMembership.objects.filter(
            segment=segment, contact_id__in=list(contact_ids), left_at__isnull=True
        ).values_list("contact_id", flat=True)
    )


def _evaluate_page(segment, contacts, now) -> list[tuple[int, str]]:
    """Bring the membership of these contacts in a dynamic segment up to date: [(contact id, change)]."""
    inside = _open_ids(segment, (c.pk for c in contacts))
    timed = reads_of(segment.rule).timed
    changes, due = [], {}
    for contact in contacts:
        facts = context.facts_of(contact, now=now)
        match = contact.merged_into_id is None and rules.evaluate(segment.rule, facts)
        if match and contact.pk not in inside and _enter(segment, contact.pk, now):
            changes.append((contact.pk, ENTERED))
        elif not match and contact.pk in inside and _leave(segment, contact.pk, now):
            changes.append((contact.pk, LEFT))
        if timed:
            due[contact.pk] = _next_check(segment, contact, facts, now)
    _write_checks(segment, due)
    return changes


def _next_check(segment, contact, facts, now):
    if contact.merged_into_id is not None:
        return None
    return rules.next_change(segment.rule, facts, now, context.oldest_counted_of(contact, now))


def _write_checks(segment, due):
    """Keep when each contact's answer can next change by time alone ({contact id: time or None})."""
    if not due:
        return
    later = [
        SegmentCheck(workspace_id=segment.workspace_id, segment_id=segment.pk, contact_id=contact_id, due_at=at)
        for contact_id, at in due.items()
        if at is not None
    ]
    never = [contact_id for contact_id, at in due.items() if at is None]
    if never:
        SegmentCheck.objects.filter(segment_id=segment.pk, contact_id__in=never).delete()
    if later:
        SegmentCheck.objects.bulk_create(
            later, update_conflicts=True, unique_fields=["segment", "contact"], update_fields=["due_at"]
        )


# A worker's copy of each workspace's dynamic segments, read again after CACHE_SECONDS (or at once
# after a save in this process): an event then costs no query for them. A segment saved in another
# process is seen within CACHE_SECONDS; `rebuild` evaluates again the contacts changed meanwhile.
_CACHE: dict[int, tuple[float, list]] = {}


def cache_seconds() -> float:
    return float(settings.JOURNEYS_SEGMENT_CACHE_SECONDS)


def forget(workspace_id):
    """Drop this process's copy of the workspace's segments (a segment was saved or deleted)."""
    _CACHE.pop(workspace_id, None)


def dynamic_segments(workspace_id):
    hit = _CACHE.get(workspace_id)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    found = list(Segment.objects.filter(workspace_id=workspace_id, kind=Segment.Kind.DYNAMIC).order_by("id"))
    if cache_seconds() > 0:
        _CACHE[workspace_id] = (time.monotonic() + cache_seconds(), found)
    return found


def refresh_contact(contact, now, changed: Change | None = None) -> list[tuple[Segment, str]]:
    """Re-evaluate the workspace's dynamic segments for `contact` after a change to it, opening and
    closing membership rows at `now`. Only the segments whose rule reads something that changed
    (`changed`; None: anything may have). Returns [(segment, "entered" | "left")] and fires the
    "segment.changed" hook (contact, changes) with them, in the caller's transaction."""
    segments = [s for s in dynamic_segments(contact.workspace_id) if s.rule]
    if changed is not None:
        segments = [s for s in segments if changed.affects(reads_of(s.rule))]
    if not segments:
        return []
    inside = set(
        SegmentMembership.objects.filter(contact_id=contact.pk, segment__in=segments, left_at__isnull=True).values_list(
            "segment_id", flat=True
        )
    )
    facts = context.facts_of(contact, now=now)  # one context for all: its roots load once
    changes = []
    for segment in segments:
        match = contact.merged_into_id is None and rules.evaluate(segment.rule, facts)
        if match and segment.pk not in inside and _enter(segment, contact.pk, now):
            changes.append((segment, ENTERED))
        elif not match and segment.pk in inside and _leave(segment, contact.pk, now):
            changes.append((segment, LEFT))
        if reads_of(segment.rule).timed and _still_there(segment):
            _write_checks(segment, {contact.pk: _next_check(segment, contact, facts, now)})
    if changes and hooks.has_hook("segment.changed"):
        hooks.hook("segment.changed")(contact, changes)
    return changes


def refresh_predicted(workspace_id, contact_ids, now) -> int:
    """After a fit wrote these contacts' predictions (journeys/predictions/fit.py): re-evaluate
    the dynamic segments whose rule reads `predicted.*` for them, a page at a time, each page in
    its own transaction. Nothing to do (no query for contacts) when no segment reads it.
    Returns how many memberships changed."""
    changed = Change(frozenset({"predicted"}))
    if not any(s.rule and changed.affects(reads_of(s.rule)) for s in dynamic_segments(workspace_id)):
        return 0
    ids, count = sorted(set(contact_ids)), 0
    for start in range(0, len(ids), PAGE):
        page = Contact.objects.filter(workspace_id=workspace_id, pk__in=ids[start : start + PAGE])
        with transaction.atomic():
            for contact in page.select_related("prediction").order_by("pk"):
                count += len(refresh_contact(contact, now, changed))
    return count


def _fire(segment, changes):
    """The hook for a page of a rebuild or sweep: one call per contact that changed."""
    if not changes or not hooks.has_hook("segment.changed"):
        return
    contacts = Contact.objects.in_bulk([contact_id for contact_id, _ in changes])
    for contact_id, change in changes:
        if contact_id in contacts:
            hooks.hook("segment.changed")(contacts[contact_id], [(segment, change)])


def _pages(queryset, size=PAGE):
    """Contacts in pages by id: each page is one short query, never one cursor held open."""
    after = 0
    while True:
        page = list(queryset.filter(pk__gt=after).order_by("pk")[:size])
        if not page:
            return
        yield page
        after = page[-1].pk


def rebuild(segment, now, catch_up=True) -> dict:
    """Evaluate every contact of the workspace for a dynamic segment (created, or its rule
    changed), a page at a time, each page in its own transaction, keeping the progress on the
    segment (`rebuild`: {"state", "done", "total"}). Then, once every worker has seen the saved
    rule (CACHE_SECONDS), the contacts changed since it was saved are evaluated again: an event a
    worker processed with the rule it had cached is brought up to date. Returns {"entered", "left"}."""
    counts = {ENTERED: 0, LEFT: 0}
    if segment.kind != Segment.Kind.DYNAMIC:
        return {"entered": 0, "left": 0}
    saved_at = segment.updated_at
    contacts = Contact.objects.filter(workspace_id=segment.workspace_id)
    total, done = contacts.count(), 0
    _progress(segment, "running", 0, total)
    try:
        for page in _pages(contacts):
            with transaction.atomic():
                changes = _evaluate_page(segment, page, now)
                _fire(segment, changes)
            for _, change in changes:
                counts[change] += 1
            done += len(page)
            _progress(segment, "running", done, total)
        if catch_up and cache_seconds() > 0:
            _wait_for_caches(max(0.0, (saved_at - clock.now()).total_seconds() + 2 * cache_seconds()))
            changed = contacts.filter(updated_at__gte=saved_at - timedelta(seconds=2 * cache_seconds()))
            for page in _pages(changed):
                with transaction.atomic():
                    changes = _evaluate_page(segment, page, clock.now())
                    _fire(segment, changes)
                for _, change in changes:
                    counts[change] += 1
    except Exception:
        _progress(segment, "failed", done, total)
        raise
    _progress(segment, "done", total, total)
    return {"entered": counts[ENTERED], "left": counts[LEFT]}


def _wait_for_caches(seconds):
    time.sleep(seconds)


def _progress(segment, state, done, total):
    segment.rebuild = {"state": state, "done": done, "total": total}
    Segment.objects.filter(pk=segment.pk).update(rebuild=segment.rebuild)


def rebuild_later(segment):
    """Evaluate every contact for a new or changed rule. A workspace of up to INLINE_REBUILD
    contacts is evaluated at once (the answer shows its members); a larger one by a worker, after
    the caller's transaction commits, while the segment page shows its progress. A worker also
    follows an inline rebuild, to bring up to date contacts changed meanwhile by workers that had
    the segment cached (rebuild's second pass)."""
    if Contact.objects.filter(workspace_id=segment.workspace_id).count() <= INLINE_REBUILD:
        rebuild(segment, clock.now(), catch_up=False)
    else:
        _progress(segment, "queued", 0, None)
    if not kicks.sync_queue():
        task = ("journeys.customers.tasks.rebuild_segment", segment.pk, segment.version)
        transaction.on_commit(lambda: kicks.enqueue(*task))


def rebuild_task(segment_id, version):
    """The worker's rebuild of a segment, unless the segment was deleted or saved again since (a
    later version has its own rebuild)."""
    segment = Segment.objects.filter(pk=segment_id, version=version).first()
    if segment is not None:
        rebuild(segment, clock.now())


def sweep(now, since=None, budget=SWEEP_BUDGET) -> int:
    """Re-evaluate the (segment, contact) pairs whose answer may have changed by time alone since
    they were last evaluated: the SegmentCheck rows due by now, oldest first, at most `budget`.
    A sweep's cost is what is due, whatever the number of contacts. Returns how many memberships
    changed. (`since` is the previous sweep's time, which the checks make unnecessary.)"""
    changed = evaluated = 0
    segments_by_id = {}
    while evaluated < budget:
        due = list(
            SegmentCheck.objects.filter(due_at__lte=now)
            .order_by("due_at")
            .values_list("segment_id", "contact_id")[: min(PAGE, budget - evaluated)]
        )
        if not due:
            break
        by_segment = {}
        for segment_id, contact_id in due:
            by_segment.setdefault(segment_id, []).append(contact_id)
        for segment_id, contact_ids in by_segment.items():
            if segment_id not in segments_by_id:
                segments_by_id[segment_id] = Segment.objects.filter(pk=segment_id).first()
            segment = segments_by_id[segment_id]
            try:
                with transaction.atomic():
                    # Evaluated now: the rows are rewritten with the next time, or removed.
                    SegmentCheck.objects.filter(segment_id=segment_id, contact_id__in=contact_ids).delete()
                    if segment is None or segment.kind != Segment.Kind.DYNAMIC or not segment.rule:
                        continue
                    contacts = list(Contact.objects.filter(pk__in=contact_ids).order_by("pk"))
                    changes = _evaluate_page(segment, contacts, now)
                    _fire(segment, changes)
                changed += len(changes)
            except Exception:  # one broken segment must not stop the others
                log.exception("sweeping segment %s failed", segment_id)
        evaluated += len(due)
    return changed


# -- actions ---------------------------------------------------------------------------------------


def _check(workspace, name, kind, rule, segment=None):
    fields = {}
    if kind == Segment.Kind.STATIC and rule:
        fields["rule"] = ["A static list has no rule: leave it empty."]
    elif kind == Segment.Kind.DYNAMIC:
        fields.update(validate_rule(rule) if rule else {"rule": ["A dynamic segment needs a rule."]})
    same_name = Segment.objects.filter(workspace=workspace, name=name)
    if segment is not None:
        same_name = same_name.exclude(pk=segment.pk)
    if same_name.exists():
        fields["name"] = [f"A segment named “{name}” exists already."]
    if fields:
        first = next(iter(fields.items()))
        raise SegmentError(f"{first[0]}: {first[1][0]}", fields=fields)


def create_segment(workspace, actor, data, now, ready_key="") -> Segment:
    """A new segment; a dynamic one is filled with the contacts that match it now. `ready_key`:
    a ready segment Wayline keeps (journeys/predictions/ready.py)."""
    kind, rule = data.get("kind") or Segment.Kind.DYNAMIC, data.get("rule") or {}
    _check(workspace, data["name"], kind, rule)
    try:
        with transaction.atomic():
            segment = Segment.objects.create(
                workspace=workspace,
                name=data["name"],
                description=data.get("description") or "",
                kind=kind,
                rule=rule,
                created_by=actor,
                updated_by=actor,
                created_at=now,
                updated_at=now,
                ready_key=ready_key,
            )
    except IntegrityError:  # the same name, created meanwhile by another request
        raise SegmentError("A segment with this name exists already.", fields={"name": ["Already used."]}) from None
    forget(workspace.pk)
    rebuild_later(segment)
    return segment


READY_KEPT = "Wayline keeps this ready segment's rule up to date: create a segment of your own to change it."


def update_segment(segment, actor, data, now, ready=False) -> Segment:
    """Rename, describe or change the rule; a changed rule re-evaluates every contact. The rule of
    a ready segment changes only from journeys/predictions/ready.py (`ready`)."""
    if segment.ready_key and not ready and "rule" in data and data["rule"] != segment.rule:
        raise SegmentError(READY_KEPT, code="ready_segment", fields={"rule": [READY_KEPT]})
    if "kind" in data and data["kind"] != segment.kind:
        raise SegmentError(
            "The kind of a segment cannot change: create a new one.", fields={"kind": ["Fixed once created."]}
        )
    name = data.get("name", segment.name)
    rule = data.get("rule", segment.rule) or {}
    _check(segment.workspace, name, segment.kind, rule, segment)
    rule_changed = rule != segment.rule
    segment.name, segment.rule = name, rule
    segment.description = data.get("description", segment.description) or ""
    segment.updated_by, segment.updated_at = actor, now
    try:
        with transaction.atomic():
            segment.save()
            Segment.objects.filter(pk=segment.pk).update(version=F("version") + 1)
    except IntegrityError:
        raise SegmentError("A segment with this name exists already.", fields={"name": ["Already used."]}) from None
    segment.refresh_from_db(fields=["version"])
    forget(segment.workspace_id)
    if rule_changed:
        rebuild_later(segment)
    return segment


def delete_segment(segment):
    """Delete a segment with its memberships and checks. Refused (409) while a journey not archived
    starts from it or a broadcast to it is scheduled or running, and for a ready segment."""
    if segment.ready_key:
        raise SegmentError(
            "Wayline keeps this ready segment; it cannot be deleted.", code="ready_segment", status_code=409
        )
    journeys = Journey.objects.filter(
        workspace_id=segment.workspace_id, trigger_type="segment", trigger_event=f"segment:{segment.pk}"
    ).exclude(status=Journey.Status.ARCHIVED)
    names = [f"“{name}”" for name in journeys.values_list("name", flat=True)[:3]]
    if names:
        raise SegmentError(
            f"The journey {', '.join(names)} starts from this segment: change its trigger or archive it first.",
            code="segment_in_use",
            status_code=409,
        )
    sending = Broadcast.objects.filter(
        segment=segment, status__in=[Broadcast.Status.SCHEDULED, Broadcast.Status.RUNNING]
    )
    if sending.exists():
        raise SegmentError(
            "A broadcast to this segment is scheduled or sending: cancel it first.",
            code="segment_in_use",
            status_code=409,
        )
    segment.delete()
    forget(segment.workspace_id)


def contacts_merged(loser, survivor, now):
    """`loser` was merged into `survivor` (identity.merge, in its transaction): the loser leaves
    every segment; the survivor takes its place in static lists (dynamic ones re-evaluate the
    survivor when the merge's event is applied: events.apply_event refreshes it in full)."""
    open_rows = SegmentMembership.objects.filter(contact_id=loser.pk, left_at__isnull=True).select_related("segment")
    for row in open_rows:
        if row.segment.kind == Segment.Kind.STATIC:
            _enter(row.segment, survivor.pk, now)
        _leave(row.segment, loser.pk, now)


# -- static lists ----------------------------------------------------------------------------------


def add_members(segment, contacts, now) -> int:
    """Add contacts to a static segment; those already in it stay as they are. Returns how many entered."""
    _static_only(segment)
    added = 0
    with transaction.atomic():
        for contact in contacts:
            if _enter(segment, contact.pk, now):
                added += 1
                if hooks.has_hook("segment.changed"):
                    hooks.hook("segment.changed")(contact, [(segment, ENTERED)])
    return added


def remove_member(segment, contact, now) -> bool:
    """Take a contact out of a static segment. False when it was not in it."""
    _static_only(segment)
    with transaction.atomic():
        left = _leave(segment, contact.pk, now)
        if left and hooks.has_hook("segment.changed"):
            hooks.hook("segment.changed")(contact, [(segment, LEFT)])
    return left


def _static_only(segment):
    if segment.kind != Segment.Kind.STATIC:
        raise SegmentError(
            "This segment is dynamic: its rule decides who is in it. Add or remove members of static lists only.",
            code="segment_dynamic",
            status_code=409,
        )


# -- preview ---------------------------------------------------------------------------------------


def preview(workspace, rule, now, limit=PREVIEW_MAX_CONTACTS) -> dict:
    """How many contacts of the workspace match `rule` now, and a sample, without saving. At most
    `limit` contacts are evaluated (in pages by id); `capped` says when the count is only over the
    first `evaluated` contacts of `total`."""
    contacts = Contact.objects.filter(workspace=workspace, merged_into=None)
    total = contacts.count()
    count, evaluated, sample = 0, 0, []
    for page in _pages(contacts):
        for contact in page[: max(0, limit - evaluated)]:
            evaluated += 1
            if rules.evaluate(rule, context.facts_of(contact, now=now)):
                count += 1
                if len(sample) < PREVIEW_SAMPLE:
                    sample.append(contact)
        if evaluated >= limit:
            break
    return {"count": count, "sample": sample, "evaluated": evaluated, "total": total, "capped": evaluated < total}
