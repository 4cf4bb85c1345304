"""Experiments that decide, the database side: the results of an experiment node, the worker's
refresh of its state (winner rule, bandit weights), and the decision's audit entry. The
statistics are pure, in journeys/engine/experiments.py.

Data: a contact counts for the variant it was assigned (ExperimentAssignment, sticky); it
succeeded when, after its assignment, an enrollment of it in this journey converted
(`Conversion`, metric "conversion") or a message of this journey to it was clicked (metric
"click", read through delivery's "experiment.clicks" hook: journeys does not import delivery).
Both come from one grouped query per experiment node.

The worker calls `states_for()` once per batch. A state is recomputed at most every
REFRESH_EVERY (by the injectable clock), so the hot path reads one row per experiment and
never computes statistics per contact; the refresh itself is one grouped query and, for the
bandit or at a look, one P(best) integration.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Max
from django.utils.dateparse import parse_datetime

from accounts.actions import record_audit

from . import clock, hooks
from .engine import experiments as stats
from .models import Conversion, ExperimentAssignment, ExperimentState

REFRESH_EVERY = timedelta(seconds=5)
AUDIT_ACTION = "experiment.decided"


# -- data ----------------------------------------------------------------------------------------


def _latest_successes(metric, journey_id):
    """A queryset of (contact_id, latest_at): each contact's latest success in the journey (its
    latest conversion, or its latest click on one of the journey's messages). None: nothing to
    count (no click tracking installed)."""
    if metric == "click":
        if not hooks.has_hook("experiment.clicks"):
            return None
        return hooks.hook("experiment.clicks")(journey_id)
    return Conversion.objects.filter(journey_id=journey_id).values("contact_id").annotate(latest_at=Max("at"))


def arms_of(journey_id, node, variants, metric):
    """(the variants' arms in the node's order, the node's first assignment), from one grouped
    query: the node's assignments left-joined to each contact's latest success; a contact
    succeeded if that came at or after its assignment. (A join, not EXISTS per assignment row:
    its cost is one pass over each table, whatever the planner knows about them.)"""
    ops = connection.ops
    table = ops.quote_name(ExperimentAssignment._meta.db_table)
    latest = _latest_successes(metric, journey_id)
    if latest is None:
        joined, success, params = "", "0", []
    else:
        inner, params = latest.query.sql_with_params()
        joined = f"LEFT JOIN ({inner}) s ON s.{ops.quote_name('contact_id')} = a.{ops.quote_name('contact_id')}"
        success = f"CASE WHEN s.{ops.quote_name('latest_at')} >= a.{ops.quote_name('assigned_at')} THEN 1 ELSE 0 END"
    sql = (
        f"SELECT a.{ops.quote_name('variant')}, COUNT(*), SUM({success}), MIN(a.{ops.quote_name('assigned_at')}) "
        f"FROM {table} a {joined} WHERE a.{ops.quote_name('journey_id')} = %s AND a.{ops.quote_name('node')} = %s "
        f"GROUP BY a.{ops.quote_name('variant')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, journey_id, node])
        found = {variant: (int(n), int(ok or 0), _as_datetime(first)) for variant, n, ok, first in cursor.fetchall()}
    arms = [stats.Arm(v, found.get(v, (0, 0, None))[0], found.get(v, (0, 0, None))[1]) for v in variants]
    firsts = [first for _n, _ok, first in found.values() if first is not None]
    return arms, min(firsts) if firsts else None


def _as_datetime(value):
    """A raw query's datetime (SQLite answers text)."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = parse_datetime(str(value))
    return parsed.replace(tzinfo=UTC) if parsed is not None and parsed.tzinfo is None else parsed


def _definition_of(journey):
    if journey.live_version_id:
        return journey.live_version.definition
    return journey.draft if isinstance(journey.draft, dict) else {}


def experiment_nodes(definition):
    return [
        node
        for node in definition.get("nodes") or []
        if isinstance(node, dict) and node.get("type") == "experiment" and isinstance(node.get("id"), str)
    ]


# -- the worker's refresh ------------------------------------------------------------------------


def states_for(enrollments, flows, now=None):
    """{journey id: {node: {"winner", "weights"}}} for the batch's journeys whose experiment nodes
    decide by results: what `choose_variant` reads from `Subject.experiments`. One query for the
    states; stale ones (older than REFRESH_EVERY) are recomputed."""
    now = now or clock.now()
    journeys, versions = {}, {}
    for enrollment in enrollments:
        journeys[enrollment.journey_id] = enrollment.journey
        versions[enrollment.journey_id] = max(versions.get(enrollment.journey_id, 0), enrollment.version_id)
    wanted = {}  # (journey id, node) -> (journey, settings)
    for journey_id, journey in journeys.items():
        flow = flows.get(journey.live_version_id) or flows[versions[journey_id]]
        for node_id, node in flow.nodes.items():
            if node.get("type") != "experiment":
                continue
            settings = stats.settings_of(node.get("config") or {})
            if settings.adaptive and len(settings.variants) >= 2:
                wanted[(journey_id, node_id)] = (journey, settings)
    if not wanted:
        return {}
    found = ExperimentState.objects.filter(journey_id__in={k[0] for k in wanted}, node__in={k[1] for k in wanted})
    states = {(state.journey_id, state.node): state for state in found}
    missing = [key for key in wanted if key not in states]
    if missing:
        ExperimentState.objects.bulk_create(
            [
                ExperimentState(workspace_id=wanted[key][0].workspace_id, journey_id=key[0], node=key[1])
                for key in missing
            ],
            ignore_conflicts=True,
        )
        for state in ExperimentState.objects.filter(journey_id__in={k[0] for k in missing}):
            states.setdefault((state.journey_id, state.node), state)
    answer = {}
    for key, (journey, settings) in wanted.items():
        state = states[key]
        if _is_stale(state, settings, now):
            state = refresh(journey, key[1], settings, state, now)
        answer.setdefault(key[0], {})[key[1]] = assignment_of(state, settings)
    return answer


def _is_stale(state, settings, now):
    if state.winner:
        return False  # decided: nothing changes any more
    if state.decided_at is not None and settings.mode != "bandit":
        return False  # the deadline kept the split: no more looks
    return state.computed_at is None or now - state.computed_at >= REFRESH_EVERY


def assignment_of(state, settings):
    """What new contacts get: the winner, else the bandit's weights, else (None) the config's."""
    if state.winner in settings.variants:
        return {"winner": state.winner, "weights": None}
    if settings.mode == "bandit" and state.weights:
        return {"winner": None, "weights": dict(state.weights)}
    return {"winner": None, "weights": None}


def refresh(journey, node, settings, state, now):
    """Recompute one experiment's state: its counts, the winner rule's look (or deadline), the
    bandit's weights. Returns the state as it is now (another worker's, if that one won)."""
    # Two workers may both find the state stale: the conditional UPDATE (after SKIP LOCKED on
    # PostgreSQL, so the loser does not wait for the winner's batch to commit) lets one of them
    # recompute, decide and write the audit entry; the other goes on with the state it read.
    claim = ExperimentState.objects.filter(pk=state.pk, computed_at=state.computed_at, winner="")
    if connection.vendor == "postgresql":
        if not list(claim.select_for_update(skip_locked=True).values_list("pk", flat=True)):
            return state
    if not claim.update(computed_at=now):
        state.refresh_from_db()
        return state
    state.computed_at = now
    metric = settings.rule.metric if settings.rule else settings.metric
    arms, first = arms_of(journey.pk, node, settings.variants, metric)
    state.started_at = state.started_at or first
    p_best = None
    if settings.mode == "bandit":
        p_best = stats.prob_best(arms)
        state.weights = dict(zip(settings.variants, stats.bandit_weights(p_best, settings.floor), strict=True))
    fields = ["computed_at", "started_at", "weights", "looks"]
    if settings.rule is not None and state.decided_at is None:
        verdict = stats.decide(
            arms, settings.rule, looks=state.looks, started_at=state.started_at, now=now, p_best=p_best
        )
        state.looks = verdict.looks
        if verdict.concluded:
            state.winner = verdict.winner or ""
            state.decided_at = now
            state.reason = verdict.reason
            state.detail = verdict.detail
            fields += ["winner", "decided_at", "reason", "detail"]
            _audit(journey, node, state)
    state.save(update_fields=fields)
    return state


def _audit(journey, node, state):
    record_audit(
        journey.workspace,
        None,
        AUDIT_ACTION,
        journey.name,
        journey=journey.pk,
        node=node,
        winner=state.winner or None,
        reason=state.reason,
        decided_at=state.decided_at.isoformat(),
        p_best=state.detail.get("p_best"),
        contacts=state.detail.get("contacts"),
    )


# -- the API's answer ----------------------------------------------------------------------------


def results(journey):
    """Per experiment node of the live definition (the draft's before the first publish): its
    metric and mode, per variant contacts, successes, rate with its 95% interval, P(best) and the
    share of new contacts it gets now, and the decision (or None)."""
    definition = _definition_of(journey)
    nodes = experiment_nodes(definition)
    saved = {s.node: s for s in ExperimentState.objects.filter(journey=journey, node__in=[n["id"] for n in nodes])}
    answer = []
    for node in nodes:
        settings = stats.settings_of(node.get("config") or {})
        metric = settings.rule.metric if settings.rule else settings.metric
        arms, first = arms_of(journey.pk, node["id"], settings.variants, metric)
        summary = stats.summarize(arms)
        state = saved.get(node["id"])
        weights = dict(zip(settings.variants, settings.weights, strict=True))
        if state is not None:
            current = assignment_of(state, settings)
            if current["winner"]:
                weights = {v: 1.0 if v == current["winner"] else 0.0 for v in settings.variants}
            elif current["weights"]:
                weights = {v: float(current["weights"].get(v, 0.0)) for v in settings.variants}
        decision = None
        if state is not None and state.decided_at is not None:
            decision = {"winner": state.winner or None, "decided_at": state.decided_at, "reason": state.reason}
        answer.append(
            {
                "node": node["id"],
                "metric": metric,
                "mode": settings.mode,
                "started_at": first,
                "variants": [
                    {
                        "id": row.id,
                        "contacts": row.contacts,
                        "conversions": row.successes,
                        "rate": row.rate,
                        "interval": [row.interval[0], row.interval[1]],
                        "p_best": row.p_best,
                        "weight": round(weights.get(row.id, 0.0) * 100, 2),
                    }
                    for row in summary
                ],
                "decision": decision,
                "next_look": _next_look(settings, state, arms) if decision is None else None,
            }
        )
    return answer


def _next_look(settings, state, arms):
    """When the winner rule looks next: contacts per variant and the P(best) it will need."""
    rule = settings.rule
    if rule is None:
        return None
    smallest = min((arm.contacts for arm in arms), default=0)
    done = state.looks if state is not None else -1
    look = max(done + 1, stats.look_index(smallest, rule.min_sample) + 1)
    started = state.started_at if state is not None else None
    return {
        "contacts": rule.min_sample << look,
        "confidence": stats.look_confidence(rule.confidence, look, len(arms)),
        "deadline": started + rule.deadline if rule.deadline is not None and started is not None else None,
    }
