"""Send-time optimization (issue 14) on a simulated population: how often does each way of
choosing the send hour land in the hour a contact actually reads its email?

    .venv/bin/python bench/sendtime.py
    BENCH_CONTACTS=5000 (default)  BENCH_SEED=14  BENCH_WITHIN_HOURS=24  BENCH_PRIOR_STRENGTH=8

Pure: no database; it runs the same functions the worker does (journeys/predictions/sendtime.py:
`count_hours`, `posterior`, `best_time`, `hour_of_week`) on generated data.

The population: each contact lives in one of a few timezones and has a hidden habit: a reading
hour (local) on its active days (weekdays only for most, every day for some; weekend readers of
the every-day kind read a couple of hours later on Saturday and Sunday). Reading hours follow the
shape a real list shows: morning commute, lunch, and a broad evening peak. Its history: 0 to ~40
past opens and clicks over the last 26 weeks, each on an active day at the habit hour with a
little noise (±1 h), or (one in four) at a random hour from the population's pattern.
The workspace pattern is fitted the way `fit_workspace` does (every contact's counts in its own
zone, summed, smoothed).

Then each contact gets one new send, requested at a random moment of the following week; the send
hour is chosen (a) at its best time within BENCH_WITHIN_HOURS (our model), (b) at the next 10:00
local (a fixed hour, the usual default), (c) at a random time within the window. A send "lands"
when its hour of the week is within ±1 h of one of the contact's habit hours.

Prints, each on its own line: the share of sends that land for each strategy with the ratio of
ours to the fixed hour, overall and by how many past events the contact had (0, 1-3, 4-10, 10+).
Never fails.
"""

import os
import random
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from journeys.predictions import sendtime  # noqa: E402

CONTACTS = int(os.environ.get("BENCH_CONTACTS", 5000))
SEED = int(os.environ.get("BENCH_SEED", 14))
WITHIN = timedelta(hours=int(os.environ.get("BENCH_WITHIN_HOURS", 24)))
STRENGTH = float(os.environ.get("BENCH_PRIOR_STRENGTH", sendtime.PRIOR_STRENGTH))
HISTORY_WEEKS = 26
FIT_AT = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # a Monday: history before it, new sends in the week after
ZONES = {
    "America/New_York": 0.3,
    "America/Los_Angeles": 0.15,
    "Europe/London": 0.15,
    "Europe/Berlin": 0.2,
    "Asia/Tokyo": 0.1,
    "Australia/Sydney": 0.05,
    "": 0.05,  # no timezone: UTC
}
# The hour of the day people read (local): commute, lunch, evening.
READING_HOURS = {
    7: 6,
    8: 9,
    9: 6,
    10: 4,
    11: 3,
    12: 8,
    13: 6,
    14: 2,
    15: 2,
    16: 2,
    17: 3,
    18: 6,
    19: 10,
    20: 12,
    21: 9,
    22: 4,
}
NOISE_SHARE = 0.25  # of a contact's events, at a random hour of the population's pattern
BUCKETS = (("0", 0, 0), ("1-3", 1, 3), ("4-10", 4, 10), ("10+", 11, 10**9))


def pick(rng, weights):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def make_contact(rng):
    zone = pick(rng, ZONES)
    hour = pick(rng, READING_HOURS)
    every_day = rng.random() < 0.3
    days = range(7) if every_day else range(5)
    habit = {}  # weekday -> hour
    for day in days:
        habit[day] = (hour + 2) % 24 if every_day and day >= 5 else hour
    events = rng.choice([0] * 4 + [1, 2, 3] * 2 + [4, 5, 6, 8, 10] * 2 + [12, 16, 20, 30, 40] * 2)
    return {"zone": zone, "habit": habit, "events": events}


def history(rng, contact, index):
    """(contact, message, at) engagements in UTC, as delivery stores them."""
    tz = sendtime.zone(contact["zone"])
    start = (FIT_AT - timedelta(weeks=HISTORY_WEEKS)).astimezone(tz)
    out = []
    for n in range(contact["events"]):
        week = rng.randrange(HISTORY_WEEKS)
        if rng.random() < NOISE_SHARE:
            day, hour = rng.randrange(7), pick(rng, READING_HOURS)
        else:
            day = rng.choice(list(contact["habit"]))
            hour = contact["habit"][day] + round(rng.gauss(0, 0.6))
        local = (start + timedelta(weeks=week)).replace(hour=0, minute=0, second=0, microsecond=0)
        local = local - timedelta(days=local.weekday()) + timedelta(days=day)
        at = datetime.combine(local.date(), datetime.min.time(), tzinfo=tz) + timedelta(
            hours=hour, minutes=rng.randrange(60)
        )
        out.append((index, f"{index}:{n}", at.astimezone(UTC)))
    return out


def lands(at, contact):
    """Is the send within ±1 h of one of the contact's habit hours (hour of the week, local)?"""
    hour = sendtime.hour_of_week(at, contact["zone"])
    targets = {day * 24 + h for day, h in contact["habit"].items()}
    return any(min((hour - t) % 168, (t - hour) % 168) <= 1 for t in targets)


def fixed_hour(now, tz, hour=10):
    local = now.astimezone(tz)
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target < local:
        target = (local + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return target.astimezone(UTC)


def bucket_of(events):
    return next(name for name, low, high in BUCKETS if low <= events <= high)


def main():
    rng = random.Random(SEED)
    contacts = [make_contact(rng) for _ in range(CONTACTS)]
    engagements = [row for index, contact in enumerate(contacts) for row in history(rng, contact, index)]
    zones = {index: contact["zone"] for index, contact in enumerate(contacts)}
    counts = sendtime.count_hours(engagements, zones)
    total = [sendtime.SMOOTHING] * sendtime.HOURS
    for vector in counts.values():
        for hour, value in enumerate(vector):
            total[hour] += value
    workspace = sendtime.distribution(total)

    hits = defaultdict(lambda: defaultdict(int))  # bucket -> strategy -> landed sends
    sends = defaultdict(int)
    for index, contact in enumerate(contacts):
        tz = ZoneInfo(contact["zone"] or "UTC")
        now = FIT_AT + timedelta(seconds=rng.randrange(7 * 86400))
        chosen = {
            "best": sendtime.best_time(now, WITHIN, sendtime.posterior(counts.get(index), workspace, STRENGTH), tz),
            "fixed": fixed_hour(now, tz),
            "random": now + timedelta(seconds=rng.randrange(int(WITHIN.total_seconds()))),
        }
        for name in (bucket_of(contact["events"]), "all"):
            sends[name] += 1
            for strategy, at in chosen.items():
                hits[name][strategy] += lands(at, contact)

    hours = int(WITHIN.total_seconds() // 3600)
    print(
        f"Send time on {CONTACTS:,} simulated contacts ({len(engagements):,} past opens and clicks, "
        f"{len(ZONES)} timezones, prior strength k={STRENGTH:g}); one send each, within {hours} h"
    )
    for name in ("all", *(b[0] for b in BUCKETS)):
        n = sends[name]
        if not n:
            continue
        best, fixed, rand = (100 * hits[name][s] / n for s in ("best", "fixed", "random"))
        ratio = f"{best / fixed:.1f}x" if fixed else "n/a"
        label = "all contacts" if name == "all" else f"{name} past events"
        print(
            f"  {label} ({n:,}): best time: {best:.1f}% of sends in the preferred hour "
            f"(fixed 10:00: {fixed:.1f}%, {ratio}; random: {rand:.1f}%)"
        )


if __name__ == "__main__":
    main()
