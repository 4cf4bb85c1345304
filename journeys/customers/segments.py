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
  edited rule).
- `sweep(now, since)`: rules that change with time alone (performed within, before/after a date),
  run by the engine loop every few minutes (journeys/loop.py).
- `preview(workspace, rule, now)`: the count and a sample of a rule, without saving.

Opening and closing rows are conditional writes, so that two writers (an event's refresh and a
rebuild or a sweep of the same contact) never open two rows nor close one twice: the loser of an
insert finds the constraint taken, the loser of an update finds no open row, and neither reports a
change.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.db import IntegrityError, transaction
from django.db.models import Q

from .. import hooks
from ..engine import rules
from ..models import Contact, Segment, SegmentMembership
from . import context

log = logging.getLogger(__name__)

ENTERED, LEFT = "entered", "left"
PAGE = 500  # contacts evaluated per page by rebuild, sweep and preview
PREVIEW_MAX_CONTACTS = 5000  # a preview evaluates no more contacts than this (the count says so)
PREVIEW_SAMPLE = 10
SWEEP_LOOKBACK = timedelta(hours=1)  # a sweep that does not know when the last one ran looks this far back

# The roots a segment's field conditions may read (a segment has no trigger event nor journey).
FIELD_ROOTS = ("contact", "cart", "orders", "viewed")
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
    try:
        with transaction.atomic():
            SegmentMembership.objects.create(
                workspace_id=segment.workspace_id, segment=segment, contact_id=contact_id, entered_at=now
            )
    except IntegrityError:
        return False  # another writer opened it first (the partial unique constraint)
    return True


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
    changes = []
    for contact in contacts:
        match = contact.merged_into_id is None and rules.evaluate(segment.rule, context.facts_of(contact, now=now))
        if match and contact.pk not in inside and _enter(segment, contact.pk, now):
            changes.append((contact.pk, ENTERED))
        elif not match and contact.pk in inside and _leave(segment, contact.pk, now):
            changes.append((contact.pk, LEFT))
    return changes


def dynamic_segments(workspace_id):
    return list(Segment.objects.filter(workspace_id=workspace_id, kind=Segment.Kind.DYNAMIC).order_by("id"))


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
    if changes and hooks.has_hook("segment.changed"):
        hooks.hook("segment.changed")(contact, changes)
    return changes


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


def rebuild(segment, now) -> dict:
    """Evaluate every contact of the workspace for a dynamic segment (created, or its rule
    changed), a page at a time, each page in its own transaction. Returns {"entered", "left"}.

    Runs in the request for now; a fuller version would run it in a worker through kicks and show
    its progress, as imports do."""
    counts = {ENTERED: 0, LEFT: 0}
    if segment.kind != Segment.Kind.DYNAMIC:
        return {"entered": 0, "left": 0}
    contacts = Contact.objects.filter(workspace_id=segment.workspace_id)
    for page in _pages(contacts):
        with transaction.atomic():
            changes = _evaluate_page(segment, page, now)
            _fire(segment, changes)
        for _, change in changes:
            counts[change] += 1
    return {"entered": counts[ENTERED], "left": counts[LEFT]}


def sweep(now, since=None) -> int:
    """Re-evaluate, for dynamic segments whose rule can change with time alone, the contacts whose
    time may have come since the last sweep (`since`; unknown: SWEEP_LOOKBACK ago). Returns how
    many memberships changed.

    - `performed ... within W` rules: a contact's answer changes when one of its events leaves the
      window, at (event time + W). Such an event is at most the contact's last activity, so the
      contacts to look at are the members (who may leave) and those whose last activity is after
      `since - W` (whose events crossed the window since the last sweep).
    - `before` / `after` a relative date on a field (a trait date, the last order's date): the
      crossing time depends on the field's value, which no index holds here: the whole segment is
      re-evaluated (rebuild).

    A fuller version would keep per contact and segment the next time its answer can change
    (`next_check_at`, computed from the rule and the contact's facts at each evaluation) in an
    indexed column, and sweep only the rows that are due, so a sweep costs what changes."""
    since = since or now - SWEEP_LOOKBACK
    changed = 0
    for segment in Segment.objects.filter(kind=Segment.Kind.DYNAMIC).order_by("id"):
        found = reads_of(segment.rule)
        if not segment.rule or not found.timed:
            continue
        try:
            if found.dates:
                result = rebuild(segment, now)
                changed += result["entered"] + result["left"]
                continue
            window = max(found.windows)
            members = SegmentMembership.objects.filter(segment=segment, left_at__isnull=True).values("contact_id")
            candidates = Contact.objects.filter(workspace_id=segment.workspace_id).filter(
                Q(last_activity_at__gt=since - window) | Q(pk__in=members)
            )
            for page in _pages(candidates):
                with transaction.atomic():
                    changes = _evaluate_page(segment, page, now)
                    _fire(segment, changes)
                changed += len(changes)
        except Exception:  # one broken segment must not stop the others
            log.exception("sweeping segment %s failed", segment.pk)
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


def create_segment(workspace, actor, data, now) -> Segment:
    """A new segment; a dynamic one is filled with the contacts that match it now."""
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
            )
    except IntegrityError:  # the same name, created meanwhile by another request
        raise SegmentError("A segment with this name exists already.", fields={"name": ["Already used."]}) from None
    rebuild(segment, now)
    return segment


def update_segment(segment, actor, data, now) -> Segment:
    """Rename, describe or change the rule; a changed rule re-evaluates every contact."""
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
    except IntegrityError:
        raise SegmentError("A segment with this name exists already.", fields={"name": ["Already used."]}) from None
    if rule_changed:
        rebuild(segment, now)
    return segment


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
