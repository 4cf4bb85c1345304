"""Send-time optimization (issue 14): each contact's best hour of the week to get an email.

What is learned: per contact, how many times it opened or clicked an email in each hour of the
week (0 = Monday 00:00 .. 167 = Sunday 23:00) in its own timezone (Contact.timezone; workspaces
keep no zone, so UTC without one), machine opens left out (delivery records Apple Mail Privacy
Protection's proxy and scanners as opens with `detail["machine"]`, counted apart). Per workspace:
the same counts summed over its contacts, as a distribution (`PredictionFit` kind "send_time",
params {"hours": [168 floats]}).

The choice: a Dirichlet-multinomial posterior per contact, the workspace's distribution as the
prior with the weight of PRIOR_STRENGTH events: posterior(h) = (n_h + k·w_h) / (n + k). A contact
with no history gets the workspace's pattern; with 8 events it is half its own; with 50, mostly
its own. The best time within the next N hours is the start of the hour with the highest
posterior (the current hour means "now"), skipping the workspace's quiet hours (delivery's
policies; the frequency cap and quiet hours still apply when the email is sent).

Pure: `hour_of_week`, `posterior`, `best_time`, `outside_quiet_hours`. With the database:
`fit_workspace` (reads delivery's MessageEvent rows), `task_fit`, `fit_all` (the jobs), and
`chooser(contact)`, the worker's `Subject.best_send_time` (journeys/engine/step.py: an email node
with `"send_time": {"mode": "best", "within": "PT24H"}` waits until the time it returns).

journeys does not import delivery (tests/test_architecture.py): its two tables read here, the
open/click events and the quiet hours, are looked up by name through the app registry.
"""

from __future__ import annotations

import logging
import time as _time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .. import clock, hooks
from ..engine.step import zone
from . import runs

log = logging.getLogger(__name__)

HOURS = 168
PRIOR_STRENGTH = 8.0  # k: the workspace's pattern weighs as much as this many of the contact's events
LOOKBACK = timedelta(days=180)  # opens and clicks older than this are not counted
MIN_EVENTS = 50  # a workspace with fewer human opens and clicks is refused (no pattern to learn)
SMOOTHING = 0.5  # added to every hour of the workspace's counts: no hour is impossible
CHUNK = 1000  # predictions written per query
CACHE_SECONDS = 300.0  # how long a worker keeps a workspace's distribution and quiet hours


# -- pure --------------------------------------------------------------------------------------


def hour_of_week(dt: datetime, tz: ZoneInfo | str | None) -> int:
    """0 (Monday 00:00-00:59) .. 167 (Sunday 23:00-23:59), the wall clock of `dt` in `tz`."""
    local = dt.astimezone(tz if isinstance(tz, ZoneInfo) else zone(tz))
    return local.weekday() * 24 + local.hour


def as_vector(counts: Mapping | Sequence | None) -> list[float]:
    """168 counts from {"hour_of_week": count} (keys as strings or ints) or a sequence."""
    vector = [0.0] * HOURS
    if not counts:
        return vector
    items = counts.items() if isinstance(counts, Mapping) else enumerate(counts)
    for hour, count in items:
        try:
            index, value = int(hour), float(count)
        except (TypeError, ValueError):
            continue
        if 0 <= index < HOURS and value > 0:
            vector[index] += value
    return vector


def distribution(counts: Mapping | Sequence | None) -> list[float]:
    """Counts normalized to sum to 1 (uniform when there are none)."""
    vector = as_vector(counts)
    total = sum(vector)
    if total <= 0:
        return [1.0 / HOURS] * HOURS
    return [value / total for value in vector]


def posterior(
    counts: Mapping | Sequence | None, workspace_dist: Sequence[float] | None, strength: float = PRIOR_STRENGTH
) -> list[float]:
    """The contact's hour-of-week distribution: its counts shrunk toward the workspace's
    distribution, which weighs as much as `strength` events (Dirichlet prior k·w)."""
    own = as_vector(counts)
    prior = distribution(workspace_dist)
    n = sum(own)
    k = max(float(strength), 0.0)
    if n + k <= 0:
        return prior
    return [(own[h] + k * prior[h]) / (n + k) for h in range(HOURS)]


def best_time(
    now: datetime,
    within: timedelta,
    posterior: Sequence[float],
    tz: ZoneInfo | str | None,
    allowed: Callable[[datetime], bool] | None = None,
) -> datetime | None:
    """The start of the hour (in `tz`) with the highest posterior among those starting before
    `now + within`; the hour `now` is in counts as `now`. Hours `allowed` refuses are skipped;
    None when it refuses them all. Ties go to the earliest."""
    tz = tz if isinstance(tz, ZoneInfo) else zone(tz)
    local = now.astimezone(tz)
    # Local hour boundaries, stepped in UTC: across a DST change the wall clock skips or repeats
    # an hour and each step is still one real hour.
    start = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    end = now + max(within, timedelta(0))
    best, best_score = None, -1.0
    step = 0
    while True:
        candidate = start + timedelta(hours=step)
        if step and candidate >= end:
            break
        at = now if step == 0 else candidate
        step += 1
        if allowed is not None and not allowed(at):
            continue
        score = posterior[hour_of_week(at, tz)]
        if score > best_score:
            best, best_score = at, score
    return best.astimezone(now.tzinfo or UTC) if best is not None else None


def outside_quiet_hours(start: time | None, end: time | None, tz: ZoneInfo | str | None) -> Callable[[datetime], bool]:
    """allowed(dt): is `dt` outside quiet hours [start, end) in `tz`? (They may wrap midnight,
    like delivery.policies.quiet_hours_end.)"""
    tz = tz if isinstance(tz, ZoneInfo) else zone(tz)

    def allowed(dt: datetime) -> bool:
        if start is None or end is None or start == end:
            return True
        clock_time = dt.astimezone(tz).time().replace(tzinfo=None)
        inside = start <= clock_time < end if start < end else (clock_time >= start or clock_time < end)
        return not inside

    return allowed


def count_hours(events: Iterable[tuple[int, int, datetime]], zones: Mapping[int, str]) -> dict[int, list[float]]:
    """contact id -> 168 counts, from (contact id, message id, at) engagements: one per message
    per hour of the week (an open and a click of the same email in the same hour are one)."""
    seen = set()
    counts: dict[int, list[float]] = defaultdict(lambda: [0.0] * HOURS)
    for contact_id, message_id, at in events:
        hour = hour_of_week(at, zones.get(contact_id))
        if (message_id, hour) in seen:
            continue
        seen.add((message_id, hour))
        counts[contact_id][hour] += 1
    return dict(counts)


# -- fitting -----------------------------------------------------------------------------------


def _delivery(name, default):
    """A delivery seam (delivery/engagement.py, registered in delivery/apps.py): journeys never
    imports delivery. Without delivery installed, `default`."""
    return hooks.hook(name) if hooks.has_hook(name) else default


def read_engagements(workspace_id, since, until) -> tuple[list[tuple[int, int, datetime]], dict[int, str]]:
    """The workspace's human opens and clicks of real (not test) emails in [since, until):
    ([(contact id, message id, at)], {contact id: timezone}). A merged-away contact's engagements
    count for the contact it was merged into."""
    from ..models import Contact

    rows = _delivery("send_time.engagements", lambda *args: ())(workspace_id, since, until)
    events = [(merged or contact, message, at) for contact, merged, message, at in rows]
    ids = {contact for contact, _, _ in events}
    zones = {}
    for chunk in _chunks(sorted(ids), CHUNK):
        zones.update(Contact.objects.filter(pk__in=chunk).values_list("pk", "timezone"))
    return events, zones


def fit_workspace(workspace_id, now=None):
    """Count the workspace's opens and clicks by hour of the week (the last LOOKBACK), store each
    contact's counts on its ContactPrediction and the workspace's distribution as a PredictionFit.
    Refused below MIN_EVENTS. Returns the PredictionFit (or the one already running)."""
    from ..models import PredictionFit

    now = now or clock.now()
    fit = runs.run(workspace_id, PredictionFit.Kind.SEND_TIME, now, _fit, calibration_end=now)
    _CACHE.pop(workspace_id, None)
    return fit


def _fit(fit, now):
    from ..models import PredictionFit

    events, zones = read_engagements(fit.workspace_id, now - LOOKBACK, now)
    if len(events) < MIN_EVENTS:
        runs.finish(
            fit,
            PredictionFit.Status.REFUSED,
            message=(
                f"Too little to learn send times from: {len(events)} opens and clicks in the last "
                f"{LOOKBACK.days} days (machine opens left out); at least {MIN_EVENTS} are needed."
            ),
        )
        return
    counts = count_hours(events, zones)
    total = [SMOOTHING] * HOURS
    for vector in counts.values():
        for hour, value in enumerate(vector):
            total[hour] += value
    hours = distribution(total)
    written = store_counts(fit.workspace_id, counts, now)
    runs.finish(
        fit,
        PredictionFit.Status.DONE,
        params={"hours": hours, "prior_strength": PRIOR_STRENGTH},
        quality={"events": len(events), "contacts": written, "lookback_days": LOOKBACK.days},
    )


def store_counts(workspace_id, counts: Mapping[int, Sequence[float]], now) -> int:
    """Upsert each contact's {"hour_of_week": count}; contacts with none left in the lookback get {}."""
    from django.db import transaction

    from ..models import ContactPrediction

    with transaction.atomic():
        for chunk in _chunks(sorted(counts), CHUNK):
            ContactPrediction.objects.bulk_create(
                [
                    ContactPrediction(
                        workspace_id=workspace_id,
                        contact_id=contact_id,
                        engagement_hours={str(h): int(c) for h, c in enumerate(counts[contact_id]) if c},
                        send_time_fitted_at=now,
                        updated_at=now,
                    )
                    for contact_id in chunk
                ],
                update_conflicts=True,
                unique_fields=["contact"],
                update_fields=["engagement_hours", "send_time_fitted_at", "updated_at"],
            )
        # Those this fit did not write: no engagement left in the window.
        ContactPrediction.objects.filter(workspace_id=workspace_id).exclude(send_time_fitted_at=now).exclude(
            engagement_hours={}
        ).update(engagement_hours={}, send_time_fitted_at=now, updated_at=now)
    return len(counts)


def task_fit(workspace_id):
    """Fit one workspace's send times now (the nightly job's and a button's)."""
    fit_workspace(workspace_id)


def fit_all(now=None):
    """Nightly: fit every workspace with an open or a click in the lookback."""
    now = now or clock.now()
    workspaces = _delivery("send_time.workspaces", lambda since: [])(now - LOOKBACK)
    for workspace_id in sorted(set(workspaces)):
        fit_workspace(workspace_id, now=now)


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- choosing, in the worker ---------------------------------------------------------------------

_CACHE: dict[int, tuple[float, list[float] | None, tuple]] = {}


def workspace_pattern(workspace_id) -> tuple[list[float] | None, tuple[time | None, time | None]]:
    """(the latest done fit's distribution or None, (quiet hours start, end)), kept CACHE_SECONDS
    per process: a batch of a broadcast asks it for every contact."""
    from ..models import PredictionFit

    cached = _CACHE.get(workspace_id)
    if cached and _time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1], cached[2]
    fit = (
        PredictionFit.objects.filter(
            workspace_id=workspace_id, kind=PredictionFit.Kind.SEND_TIME, status=PredictionFit.Status.DONE
        )
        .order_by("-started_at", "-id")
        .only("params")
        .first()
    )
    hours = (fit.params or {}).get("hours") if fit else None
    hours = hours if isinstance(hours, list) and len(hours) == HOURS else None
    quiet = _delivery("sending.quiet_hours", lambda workspace_id: (None, None))(workspace_id)
    _CACHE[workspace_id] = (_time.monotonic(), hours, quiet)
    return hours, quiet


def best_time_for(contact, now, within) -> datetime | None:
    """The contact's best time within `within` of `now`, outside the workspace's quiet hours in
    the contact's timezone; None (send now) while the workspace has no send-time fit."""
    from ..models import ContactPrediction

    hours, (quiet_start, quiet_end) = workspace_pattern(contact.workspace_id)
    if hours is None:
        return None
    counts = (
        ContactPrediction.objects.filter(contact_id=contact.pk).values_list("engagement_hours", flat=True).first()
    ) or {}
    tz = zone(contact.timezone)
    return best_time(now, within, posterior(counts, hours), tz, allowed=outside_quiet_hours(quiet_start, quiet_end, tz))


def chooser(contact) -> Callable[[datetime, timedelta], datetime | None]:
    """The engine's `Subject.best_send_time` for a real contact."""
    return lambda now, within: best_time_for(contact, now, within)
