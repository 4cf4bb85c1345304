"""A workspace's send rate, honoured by every worker on every machine: at most N emails a second
and at most M in any window of W minutes (Settings → Sending; 0 = unlimited, the default).

    granted, retry_at = rate.take(workspace, n, now)

grants up to n sends at once, never sleeps, and when it grants fewer than n says when more may go:
the caller sends what was granted and defers the rest to `retry_at`, so a workspace at its limit
holds up no other. A grant is spent: sends that then fail are not given back.

Both limits are sliding windows counted in one row per workspace (SendRate). Grants are kept in
BUCKETS buckets per window, each counted until a whole window has passed since the bucket's end,
so any W-long interval holds at most M grants (the price: up to 1/BUCKETS of the rate). The row
changes only by a conditional UPDATE on its version, which fails for the loser of a race.
"""

from datetime import UTC, datetime, timedelta

from django.db.models import F

from .models import SendingSettings, SendRate

BUCKETS = 100  # per window: the per-second limit counts in 10 ms steps, an hour's in 36 s steps
MAX_TRIES = 20  # conditional UPDATEs lost in a row before giving up for now
BUSY_RETRY = timedelta(milliseconds=50)  # how soon to try again after losing MAX_TRIES races


def limits_of(sending):
    """[(limit, window in ms)] of the sending settings: the per-second and the window limit that
    are set (an empty list: unlimited)."""
    if sending is None:
        return []
    limits = []
    if sending.send_rate_per_second:
        limits.append((sending.send_rate_per_second, 1000))
    if sending.send_window_limit and sending.send_window_minutes:
        limits.append((sending.send_window_limit, sending.send_window_minutes * 60_000))
    return limits


def take(workspace, n, now, sending=None):
    """Up to n sends for the workspace now: (granted, retry_at). retry_at is None when all n were
    granted, otherwise the earliest moment more may go (take again then). `sending` saves a query
    when the caller has the workspace's SendingSettings."""
    if n <= 0:
        return 0, None
    if sending is None:
        sending = SendingSettings.objects.filter(workspace=workspace).first()
    limits = limits_of(sending)
    if not limits:
        return n, None
    workspace_id = getattr(workspace, "pk", workspace)
    SendRate.objects.bulk_create([SendRate(workspace_id=workspace_id)], ignore_conflicts=True)  # ON CONFLICT
    at_ms = _ms(now)
    for _ in range(MAX_TRIES):
        row = SendRate.objects.filter(workspace_id=workspace_id).values("version", "used").get()
        granted, used, retry_ms = grant(limits, row["used"], n, at_ms)
        if not granted:
            return 0, _datetime(retry_ms)
        # Two workers read the same counts: only the first UPDATE matches the version it read; the
        # other reads again and grants from what is left, so together they never exceed a limit.
        won = SendRate.objects.filter(workspace_id=workspace_id, version=row["version"]).update(
            version=F("version") + 1, used=used, updated_at=now
        )
        if won:
            return granted, None if granted == n else _datetime(retry_ms)
    return 0, now + BUSY_RETRY


def grant(limits, used, n, at_ms):
    """The pure step of take: how many of n may go at `at_ms` (ms since the epoch) under
    `limits` [(limit, window ms)] given the buckets in `used`; returns (granted, new used,
    retry_ms: when more may go if the grant fell short, else None)."""
    buckets = {}
    for limit, window in limits:
        step = max(1, window // BUCKETS)
        # A bucket [b*step, (b+1)*step) counts until `window` after its end: it may hold a grant
        # made at its very end.
        alive = sorted([b, c] for b, c in used.get(str(window), []) if (b + 1) * step + window > at_ms)
        buckets[window] = (limit, step, alive)
    granted = min([n] + [max(0, limit - sum(c for _, c in alive)) for limit, _, alive in buckets.values()])
    new_used, retry_ms = {}, None
    for window, (limit, step, alive) in buckets.items():
        if granted:
            current = at_ms // step
            if alive and alive[-1][0] == current:
                alive[-1][1] += granted
            else:
                alive.append([current, granted])
        new_used[str(window)] = alive
        if granted < n and sum(c for _, c in alive) >= limit:
            frees_at = (alive[0][0] + 1) * step + window  # the oldest bucket stops counting
            retry_ms = frees_at if retry_ms is None else max(retry_ms, frees_at)
    return granted, new_used, retry_ms


def _ms(moment):
    return int(moment.timestamp() * 1000)


def _datetime(ms):
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
