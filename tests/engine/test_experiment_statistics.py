"""The experiments' statistics, pure (journeys/engine/experiments.py): the posteriors' P(best)
and intervals against seeded Monte Carlo, the fixed looks of the winner rule, the deadline's
fallbacks, the bandit's floor, and choose_variant's order (sticky, winner, weights)."""

import random
from datetime import datetime, timedelta

import pytest

from journeys.engine import experiments as ex
from journeys.engine.step import choose_variant, compile_flow

from .pure import flow, subject

T0 = datetime.fromisoformat("2026-03-02T09:00:00+00:00")


def monte_carlo_best(arms, draws, seed):
    rng = random.Random(seed)
    wins = [0] * len(arms)
    for _ in range(draws):
        values = [rng.betavariate(arm.a, arm.b) for arm in arms]
        wins[values.index(max(values))] += 1
    return [w / draws for w in wins]


def test_p_best_agrees_with_monte_carlo_to_half_a_percent():
    arms = [ex.Arm("a", 300, 30), ex.Arm("b", 320, 40), ex.Arm("c", 50, 7)]
    exact = ex.prob_best(arms)
    sampled = monte_carlo_best(arms, 200_000, seed=7)
    assert sum(exact) == pytest.approx(1.0)
    assert all(abs(e - s) < 0.005 for e, s in zip(exact, sampled, strict=True)), (exact, sampled)


def test_p_best_of_equal_variants_is_even_and_of_a_clear_winner_near_one():
    assert ex.prob_best([ex.Arm("a", 10, 3), ex.Arm("b", 10, 3)]) == pytest.approx([0.5, 0.5], abs=1e-6)
    low, high = ex.prob_best([ex.Arm("a", 1000, 80), ex.Arm("b", 1000, 120)])
    assert high > 0.998 and low == pytest.approx(1 - high)
    # No data at all is the flat prior: each of three variants is best a third of the time.
    assert ex.prob_best([ex.Arm(v, 0, 0) for v in "abc"]) == pytest.approx([1 / 3] * 3, abs=1e-3)


def test_very_different_sample_sizes_are_integrated_on_a_fine_enough_grid():
    arms = [ex.Arm("small", 20, 2), ex.Arm("huge", 200_000, 20_000)]
    exact = ex.prob_best(arms)
    sampled = monte_carlo_best(arms, 100_000, seed=3)
    assert abs(exact[0] - sampled[0]) < 0.005, (exact, sampled)


def test_the_interval_is_the_shortest_holding_95_percent_of_the_posterior():
    assert ex.interval(ex.Arm("a", 0, 0)) == pytest.approx((0.0, 0.95), abs=2e-3)  # flat: any 95% is shortest
    arm = ex.Arm("a", 1000, 80)
    lo, hi = ex.interval(arm)
    rng = random.Random(11)
    draws = sorted(rng.betavariate(arm.a, arm.b) for _ in range(100_000))
    inside = sum(lo <= d <= hi for d in draws) / len(draws)
    assert inside == pytest.approx(0.95, abs=0.003)
    assert hi - lo <= draws[97_500] - draws[2_500] + 1e-4  # no longer than the equal-tailed one
    assert lo < arm.rate < hi
    # None converted: the interval starts at 0 and holds the observed rate (an equal-tailed one would not).
    lo, hi = ex.interval(ex.Arm("a", 36, 0))
    assert lo == 0.0 and hi == pytest.approx(1 - 0.05 ** (1 / 37), abs=1e-3)
    # All converted: it ends at 1.
    lo, hi = ex.interval(ex.Arm("a", 50, 50))
    assert 0.9 < lo < hi == pytest.approx(1.0)


def test_looks_come_at_min_sample_times_powers_of_two():
    assert [ex.look_index(n, 100) for n in (0, 99, 100, 199, 200, 399, 400, 800)] == [-1, -1, 0, 0, 1, 1, 2, 3]
    # Stricter at every look, and with more variants.
    needed = [ex.look_confidence(0.95, look, 2) for look in range(4)]
    assert needed == sorted(needed) and needed[0] == pytest.approx(1 - 0.05 / 8)
    assert ex.look_confidence(0.95, 0, 3) > needed[0]


RULE = ex.Rule(min_sample=100, confidence=0.95)


def test_a_clear_winner_is_declared_at_a_look_and_each_look_is_evaluated_once():
    clear = [ex.Arm("a", 100, 5), ex.Arm("b", 100, 30)]
    verdict = ex.decide(clear, RULE)
    assert (verdict.winner, verdict.concluded, verdict.looks) == ("b", True, 0)
    assert "look 1" in verdict.reason and verdict.detail["p_best"]["b"] > 0.999
    # Undecided at look 0 (too close): the same look is not evaluated again ...
    close = [ex.Arm("a", 150, 10), ex.Arm("b", 150, 16)]
    first = ex.decide(close, RULE)
    assert (first.winner, first.concluded, first.looks) == (None, False, 0)
    assert ex.decide([ex.Arm("a", 150, 5), ex.Arm("b", 150, 40)], RULE, looks=first.looks).winner is None
    # ... the next one comes at twice the sample.
    later = ex.decide([ex.Arm("a", 200, 8), ex.Arm("b", 200, 50)], RULE, looks=first.looks)
    assert (later.winner, later.looks) == ("b", 1)


def test_no_look_before_every_variant_has_the_minimum_sample():
    verdict = ex.decide([ex.Arm("a", 99, 0), ex.Arm("b", 500, 400)], RULE)
    assert (verdict.winner, verdict.looks) == (None, -1)


def test_the_deadline_applies_the_fallback():
    arms = [ex.Arm("a", 40, 4), ex.Arm("b", 40, 6)]
    rule = ex.Rule(min_sample=1000, deadline=timedelta(days=7), fallback="take_best")
    assert not ex.decide(arms, rule, started_at=T0, now=T0 + timedelta(days=6)).concluded
    taken = ex.decide(arms, rule, started_at=T0, now=T0 + timedelta(days=7))
    assert (taken.winner, taken.concluded) == ("b", True) and "deadline" in taken.reason
    kept = ex.decide(
        arms, ex.Rule(min_sample=1000, deadline=timedelta(days=7)), started_at=T0, now=T0 + timedelta(days=8)
    )
    assert (kept.winner, kept.concluded, kept.reason) == (
        None,
        True,
        "deadline reached without a winner: kept the split",
    )


def test_bandit_weights_follow_p_best_above_the_floor():
    weights = ex.bandit_weights([0.999, 0.001], floor=0.1)
    assert weights == pytest.approx([0.1 + 0.8 * 0.999, 0.1 + 0.8 * 0.001])
    assert sum(weights) == pytest.approx(1.0) and min(weights) >= 0.1
    assert ex.bandit_weights([0.2, 0.3, 0.5], floor=0.5) == pytest.approx([1 / 3] * 3)  # the floor is capped at 1/k


def test_settings_read_the_rule_and_the_bandit():
    settings = ex.settings_of(
        {
            "variants": [{"id": "a", "weight": 30}, {"id": "b", "weight": 70}],
            "mode": "bandit",
            "floor": 0.05,
            "decide": {"metric": "click", "min_sample": 50, "confidence": 99, "deadline": "P14D"},
        }
    )
    assert settings.variants == ("a", "b") and settings.weights == pytest.approx((0.3, 0.7))
    assert (settings.mode, settings.floor, settings.adaptive) == ("bandit", 0.05, True)
    assert settings.rule == ex.Rule("click", 50, 0.99, timedelta(days=14), "keep_split")
    assert not ex.settings_of({"variants": [{"id": "a", "weight": 50}, {"id": "b", "weight": 50}]}).adaptive


AB = flow(
    ("ab", "experiment", {"variants": [{"id": "a", "weight": 50}, {"id": "b", "weight": 50}]}),
    edges=[],
)


def pick(contact_id, **kw):
    compiled = compile_flow(AB)
    return choose_variant(compiled, "ab", compiled.nodes["ab"]["config"], subject({"id": contact_id}, **kw))


def test_choose_variant_keeps_the_sticky_one_then_the_winner_then_the_weights():
    plain = [pick(n) for n in range(200)]
    assert plain == [pick(n) for n in range(200)]  # deterministic
    assert 70 < plain.count("b") < 130
    winner = {"ab": {"winner": "b", "weights": None}}
    assert {pick(n, experiments=winner) for n in range(200)} == {"b"}
    assert pick(1, experiments=winner, assignments={"ab": "a"}) == "a"  # sticky wins over the winner
    skewed = {"ab": {"winner": None, "weights": {"a": 0.1, "b": 0.9}}}
    assert sum(pick(n, experiments=skewed) == "b" for n in range(1000)) > 850
    assert pick(1, experiments=skewed, assignments={"ab": "a"}) == "a"  # and over the bandit's weights
    # Moving b's share from 50% to 90% moves contacts only from a to b, never the other way.
    moved = [pick(n, experiments=skewed) for n in range(200)]
    assert all(now == "b" for before, now in zip(plain, moved, strict=True) if before == "b")
