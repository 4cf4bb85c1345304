"""Experiments that decide: the statistics and the winner rule, pure (no Django, no I/O).

Each variant's rate (conversions or clicks per contact assigned) has the posterior
Beta(1 + successes, 1 + contacts - successes) of a uniform Beta(1, 1) prior. From it:

- `interval()`: the 95% highest-density credible interval of the rate;
- `prob_best()`: the probability that each variant's rate is the highest of all, computed by
  numerical integration, P(i best) = ∫ f_i(x) · Π_{j≠i} F_j(x) dx, on a grid that resolves every
  posterior (±12 sd around each mean, 400 points each). The error is far below the 0.5% the
  report promises (tests/engine/test_experiments.py checks it against Monte Carlo);
- `decide()`: the winner rule (below), the same function for the worker, the API and the tests;
- `bandit_weights()`: Thompson sampling's shares with a floor per variant.

The node's config (validated in definition.py `_check_experiment`):
`{"variants": [...], "mode": "split"|"bandit", "floor": 0.1, "metric": "conversion"|"click",
"decide": {"metric", "min_sample", "confidence", "deadline", "fallback"}}`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import rules
from .nodes import limit

METRICS = ("conversion", "click")
MODES = ("split", "bandit")
FALLBACKS = ("keep_split", "take_best")
DEFAULT_MIN_SAMPLE = limit("experiment", "min_sample_default")
DEFAULT_CONFIDENCE = limit("experiment", "confidence_default_percent") / 100
DEFAULT_FLOOR = limit("experiment", "floor_default_percent") / 100
GRID_POINTS = 400  # per variant
GRID_SPAN = 12.0  # standard deviations each side of a posterior's mean


# -- the node's settings -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """The winner rule of one experiment node."""

    metric: str = "conversion"
    min_sample: int = DEFAULT_MIN_SAMPLE  # contacts per variant before the first look
    confidence: float = DEFAULT_CONFIDENCE  # a fraction in (0.5, 1)
    deadline: timedelta | None = None  # after the node's first assignment
    fallback: str = "keep_split"


@dataclass(frozen=True)
class Settings:
    variants: tuple[str, ...]
    weights: tuple[float, ...]  # the configured ones, as shares adding up to 1
    mode: str = "split"
    floor: float = DEFAULT_FLOOR
    metric: str = "conversion"
    rule: Rule | None = None

    @property
    def adaptive(self) -> bool:
        """Does assignment depend on results (a winner rule or a bandit)? Only then does the
        worker keep a state for the node."""
        return self.rule is not None or self.mode == "bandit"


def as_fraction(value, default: float) -> float:
    """0.95 or 95 (a percentage) -> 0.95; the validator refuses anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return value / 100 if value > 1 else float(value)


def settings_of(config: Mapping) -> Settings:
    variants = [v for v in config.get("variants") or [] if isinstance(v, Mapping) and v.get("id")]
    raw = [max(float(v.get("weight") or 0), 0.0) if not isinstance(v.get("weight"), bool) else 0.0 for v in variants]
    total = sum(raw)
    weights = tuple(w / total for w in raw) if total > 0 else tuple(1 / len(raw) for _ in raw) if raw else ()
    decide = config.get("decide") if isinstance(config.get("decide"), Mapping) else None
    metric = str((decide or {}).get("metric") or config.get("metric") or "conversion")
    rule = None
    if decide is not None:
        deadline = None
        if decide.get("deadline"):
            try:
                deadline = rules.parse_duration(decide["deadline"])
            except ValueError:
                deadline = None
        min_sample = decide.get("min_sample", DEFAULT_MIN_SAMPLE)
        rule = Rule(
            metric=metric,
            min_sample=max(int(min_sample), 1) if isinstance(min_sample, (int, float)) else DEFAULT_MIN_SAMPLE,
            confidence=as_fraction(decide.get("confidence"), DEFAULT_CONFIDENCE),
            deadline=deadline,
            fallback=str(decide.get("fallback") or "keep_split"),
        )
    return Settings(
        variants=tuple(str(v["id"]) for v in variants),
        weights=weights,
        mode=str(config.get("mode") or "split"),
        floor=as_fraction(config.get("floor"), DEFAULT_FLOOR) if config.get("floor") is not None else DEFAULT_FLOOR,
        metric=metric,
        rule=rule,
    )


# -- posteriors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    """One variant's data: contacts assigned and how many of them succeeded (converted, clicked)."""

    id: str
    contacts: int
    successes: int

    @property
    def a(self) -> float:
        return 1.0 + self.successes

    @property
    def b(self) -> float:
        return 1.0 + max(self.contacts - self.successes, 0)

    @property
    def rate(self) -> float:
        return self.successes / self.contacts if self.contacts else 0.0


def _log_pdf_factory(a: float, b: float):
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)

    def log_pdf(x: float) -> float:
        if x <= 0.0:
            return log_norm if a == 1.0 else -math.inf
        if x >= 1.0:
            return log_norm if b == 1.0 else -math.inf
        return log_norm + (a - 1.0) * math.log(x) + (b - 1.0) * math.log1p(-x)

    return log_pdf


def _span(a: float, b: float) -> tuple[float, float]:
    mean = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
    return max(0.0, mean - GRID_SPAN * sd), min(1.0, mean + GRID_SPAN * sd)


def _points(a: float, b: float, n: int = GRID_POINTS) -> list[float]:
    lo, hi = _span(a, b)
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def _density(arm: Arm, grid: Sequence[float]) -> list[float]:
    log_pdf = _log_pdf_factory(arm.a, arm.b)
    out = []
    for x in grid:
        value = log_pdf(x)
        out.append(math.exp(value) if value > -700 else 0.0)
    return out


def _cumulative(grid: Sequence[float], values: Sequence[float]) -> list[float]:
    """The running trapezoid integral of `values`, scaled to end at 1 (a CDF on the grid)."""
    running, out = 0.0, [0.0]
    for i in range(1, len(grid)):
        running += (grid[i] - grid[i - 1]) * (values[i] + values[i - 1]) / 2
        out.append(running)
    total = out[-1] or 1.0
    return [v / total for v in out]


def _trapezoid(grid: Sequence[float], values: Sequence[float]) -> float:
    return sum((grid[i] - grid[i - 1]) * (values[i] + values[i - 1]) / 2 for i in range(1, len(grid)))


def interval(arm: Arm, level: float = 0.95) -> tuple[float, float]:
    """The highest-density credible interval of the arm's rate: the shortest interval holding
    `level` of the posterior. It always contains the observed rate (with the flat prior, the
    posterior's mode is successes / contacts), which an equal-tailed interval misses at 0 of n."""
    grid = _points(arm.a, arm.b, 2 * GRID_POINTS)
    cdf = _cumulative(grid, _density(arm, grid))
    best = (0.0, 1.0)
    steps = 200
    for i in range(steps + 1):
        low = (1.0 - level) * i / steps
        candidate = (_quantile(grid, cdf, low), _quantile(grid, cdf, low + level))
        if candidate[1] - candidate[0] < best[1] - best[0]:
            best = candidate
    return best


def _quantile(grid, cdf, q):
    i = min(max(bisect.bisect_left(cdf, q), 1), len(grid) - 1)
    step = cdf[i] - cdf[i - 1]
    share = min(max((q - cdf[i - 1]) / step, 0.0), 1.0) if step > 0 else 0.0
    return grid[i - 1] + share * (grid[i] - grid[i - 1])


def prob_best(arms: Sequence[Arm]) -> list[float]:
    """P(each arm's rate is the highest), by integration on a grid that resolves every posterior."""
    if not arms:
        return []
    if len(arms) == 1:
        return [1.0]
    grid = sorted({x for arm in arms for x in _points(arm.a, arm.b)})
    densities = [_density(arm, grid) for arm in arms]
    cdfs = [_cumulative(grid, d) for d in densities]
    totals = [_trapezoid(grid, d) or 1.0 for d in densities]
    probabilities = []
    for index, density in enumerate(densities):
        values = []
        for m in range(len(grid)):
            product = density[m] / totals[index]
            for other, cdf in enumerate(cdfs):
                if other != index:
                    product *= cdf[m]
            values.append(product)
        probabilities.append(_trapezoid(grid, values))
    total = sum(probabilities) or 1.0
    return [p / total for p in probabilities]


@dataclass(frozen=True)
class VariantResult:
    id: str
    contacts: int
    successes: int
    rate: float
    interval: tuple[float, float]
    p_best: float


def summarize(arms: Sequence[Arm]) -> list[VariantResult]:
    best = prob_best(arms)
    return [
        VariantResult(arm.id, arm.contacts, arm.successes, arm.rate, interval(arm), p)
        for arm, p in zip(arms, best, strict=True)
    ]


# -- the winner rule -----------------------------------------------------------------------------


def look_index(smallest: int, min_sample: int) -> int:
    """Which fixed look the data has reached: look j comes when the smallest variant has
    min_sample · 2^j contacts (-1: not yet min_sample)."""
    if smallest < min_sample or min_sample < 1:
        return -1
    look = 0
    while min_sample << (look + 1) <= smallest:
        look += 1
    return look


def look_confidence(confidence: float, look: int, variants: int) -> float:
    """The P(best) a variant needs at look `look` (see `decide`)."""
    return 1.0 - (1.0 - confidence) / (max(variants, 1) * 2 ** (look + 2))


@dataclass(frozen=True)
class Verdict:
    """What one look at an experiment concluded."""

    looks: int  # the last look evaluated (-1: none yet); each look is evaluated once
    winner: str | None = None
    concluded: bool = False  # a winner, or the deadline's fallback: no more looks
    reason: str = ""
    detail: dict = field(default_factory=dict)


def decide(
    arms: Sequence[Arm],
    rule: Rule,
    *,
    looks: int = -1,
    started_at: datetime | None = None,
    now: datetime | None = None,
    p_best: Sequence[float] | None = None,
) -> Verdict:
    """Apply the winner rule to the data of one experiment.

    Peeking at the results after every contact and stopping the first time a variant's P(best)
    crosses 95% declares a winner in far more than 5% of A/A tests (each look is another chance
    for noise to cross the line). So the rule looks only at fixed points and spends an error
    budget across them (a Bonferroni alpha-spending bound, valid however correlated the looks):

    - look j happens once, when the smallest variant reaches min_sample · 2^j contacts (looks
      skipped because the data jumped past them are lost, never made up later);
    - at look j a variant wins if P(best) ≥ 1 − α / (k · 2^(j+2)), with α = 1 − confidence and
      k variants (P(best) of a variant is close to a one-sided p-value when all are equal, so
      each (look, variant) pair may falsely cross its line with about that probability). Over
      all looks and variants the chance to declare a winner when all variants are the same is
      at most Σ_j α / 2^(j+2) = α / 2. Why half of α: a rule whose false-positive rate is α
      exactly would still declare more than 5 winners in 100 A/A runs about one time in three
      (binomial noise); at α / 2 (measured: about 2%, consecutive looks are correlated) it does
      so rarely, and power stays good (8% vs 12% at 1,600 contacts per variant: about 85%);
    - the deadline (after the node's first assignment) without a winner applies the fallback:
      "take_best" picks the variant with the highest P(best) (a choice, not a finding: the
      reason says so), "keep_split" ends the looks and keeps the split.

    P(best) is computed only when a look or the deadline is due (`p_best` may be passed in).
    `looks`: the last look already evaluated (kept by the caller between calls).
    """
    k = len(arms)
    if k < 2:
        return Verdict(looks)
    smallest = min(arm.contacts for arm in arms)
    look = look_index(smallest, rule.min_sample)
    deadline_due = (
        rule.deadline is not None and started_at is not None and now is not None and now >= started_at + rule.deadline
    )
    if look <= looks and not deadline_due:
        return Verdict(looks)
    best = list(p_best) if p_best is not None else prob_best(arms)
    leader = max(range(k), key=lambda i: (best[i], -i))
    detail = {
        "p_best": {arm.id: round(p, 6) for arm, p in zip(arms, best, strict=True)},
        "contacts": {arm.id: arm.contacts for arm in arms},
        "successes": {arm.id: arm.successes for arm in arms},
        "metric": rule.metric,
    }
    if look > looks:
        needed = look_confidence(rule.confidence, look, k)
        detail.update(look=look, needed=round(needed, 6))
        if best[leader] >= needed:
            return Verdict(
                look,
                arms[leader].id,
                True,
                f"{arms[leader].id} beats the others with P(best) {_share(best[leader])} ≥ {needed:.2%} "
                f"(look {look + 1}, at {smallest} contacts per variant)",
                detail,
            )
        looks = look
    if deadline_due:
        detail["deadline"] = (started_at + rule.deadline).isoformat()
        if rule.fallback == "take_best":
            return Verdict(
                looks,
                arms[leader].id,
                True,
                f"deadline reached without a winner: took the best so far, {arms[leader].id} "
                f"(P(best) {_share(best[leader])})",
                detail,
            )
        return Verdict(looks, None, True, "deadline reached without a winner: kept the split", detail)
    return Verdict(looks, detail=detail)


def _share(p: float) -> str:
    """A probability as text, never rounded up to certainty."""
    return ">99.99%" if p > 0.9999 else f"{p:.2%}"


# -- the bandit ----------------------------------------------------------------------------------


def bandit_weights(p_best: Sequence[float], floor: float) -> list[float]:
    """Thompson sampling's assignment shares: a new contact goes to each variant with the
    probability that it is the best (what drawing from every posterior and taking the highest
    does, on average), with at least `floor` each so that none starves: w_i = floor + (1 − k ·
    floor) · P(i best). Deterministic, so the engine's assignment stays a hash of the contact."""
    k = len(p_best)
    if not k:
        return []
    floor = min(max(floor, 0.0), 1.0 / k)
    free = 1.0 - k * floor
    return [floor + free * p for p in p_best]


def choose(point: float, ids: Sequence[str], weights: Sequence[float]) -> str:
    """The variant a point in [0, 1) falls on, by weight."""
    total = sum(weights)
    if not ids or total <= 0:
        return ids[0] if ids else ""
    running, scaled = 0.0, point * total
    for variant_id, weight in zip(ids, weights, strict=True):
        running += weight
        if scaled < running:
            return variant_id
    return ids[-1]
