"""Experiments that decide: a simulated population driven through the real engine (contacts sign
up, the worker assigns and sends, some of them order: a conversion), with the injectable clock
stepped past the experiments' refresh between waves. The winner rule picks the better variant,
A/A runs rarely declare a winner, the bandit moves traffic to the better variant; contacts keep
their variant after a decision; the decision is audited and served by the API. The statistics
themselves are tested in test_experiment_statistics.py."""

import itertools
import random
from datetime import timedelta

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import AuditEntry
from journeys import clock, experiments
from journeys.engine import experiments as stats
from journeys.engine.definition import validate_definition
from journeys.models import Contact, Conversion, Enrollment, ExperimentAssignment, ExperimentState

from .conftest import at, definition, enrollment_of, publish, run_worker, track

VARIANTS = [{"id": "a", "weight": 50}, {"id": "b", "weight": 50}]
_seq = itertools.count(1)
_starts = itertools.count(0)

# A simulated population: its statistics do not depend on the database, and the SQL it reads runs
# on both in the shorter tests below; run in the SQLite half of .ci/run only.
POPULATION = pytest.mark.sqlite_half


@pytest.fixture
def t0():
    """Each test's own start on the frozen clock."""
    return at("2026-03-02T09:00:00+00:00") + timedelta(days=30 * next(_starts))


def journey_with(**experiment):
    """Signed Up → the experiment → one email per variant → a week's delay; an Order Completed
    (the exit_on goal) converts the contact."""
    return definition(
        ("ab", "experiment", {"variants": VARIANTS, **experiment}),
        ("mail_a", "email", {"template": "welcome"}),
        ("mail_b", "email", {"template": "cart-reminder"}),
        ("hold", "delay", {"duration": "P7D"}),
        edges=[("trigger", "ab"), ("ab", "a", "mail_a"), ("ab", "b", "mail_b"), ("mail_a", "hold"), ("mail_b", "hold")],
        exit_on=[{"event": "Order Completed", "as_conversion": True}],
    )


def new_contacts(workspace, count):
    rows = []
    for _ in range(count):
        n = next(_seq)
        rows.append(Contact(workspace=workspace, email=f"person{n}@example.com", user_id=f"person-{n}"))
    return Contact.objects.bulk_create(rows)


class Population:
    """Contacts arriving in waves through the real engine. Each wave signs up (the trigger event),
    the worker runs (assignment, email, the delay), then each contact orders with its variant's
    conversion rate (the goal event: a Conversion). Then the clock moves past the refresh."""

    def __init__(self, workspace, journey, rates, seed):
        self.workspace, self.journey, self.rates = workspace, journey, rates
        self.rng = random.Random(seed)
        self.assigned = []  # each contact's variant, in order of arrival

    def wave(self, size):
        contacts = new_contacts(self.workspace, size)
        for contact in contacts:
            track(contact, "Signed Up")
        run_worker()
        got = dict(
            ExperimentAssignment.objects.filter(journey=self.journey, contact__in=contacts).values_list(
                "contact_id", "variant"
            )
        )
        variants = [got[contact.pk] for contact in contacts]
        for contact, variant in zip(contacts, variants, strict=True):
            if self.rng.random() < self.rates[variant]:
                track(contact, "Order Completed", {"revenue": 40})
        self.assigned += variants
        clock.advance(experiments.REFRESH_EVERY + timedelta(seconds=1))
        return contacts, variants

    def state(self):
        return ExperimentState.objects.filter(journey=self.journey, node="ab").first()


@POPULATION
def test_the_winner_rule_picks_b_converting_at_12_percent_over_a_at_8(workspace, fake_email, t0):
    with clock.frozen(t0):
        journey = publish(workspace, journey_with(decide={"metric": "conversion", "min_sample": 800}))
        people = Population(workspace, journey, {"a": 0.08, "b": 0.12}, seed=12)
        while not (people.state() and people.state().winner) and len(people.assigned) < 8000:
            people.wave(200)
        state = people.state()
        assert state.winner == "b", (state.reason, state.detail, len(people.assigned))
        assert state.decided_at is not None and "b beats the others" in state.reason
        assert min(state.detail["contacts"].values()) >= 800
        # From now on every new contact goes down b's path.
        contacts, variants = people.wave(100)
        assert set(variants) == {"b"}
        assert {fake_email.sent_to(enrollment_of(journey, c))[0][0] for c in contacts} == {"mail_b"}


@POPULATION
def test_over_100_a_a_runs_at_most_5_declare_a_winner(workspace, fake_email, t0):
    """100 A/A experiments (both variants convert at 10%, min_sample 100, up to 1,600 contacts:
    looks at 100, 200, 400 and, rarely, 800 per variant) decided by the function the worker calls,
    `experiments.refresh`, on the database path: assignments and conversions in their tables, read
    by the same grouped query, with the clock stepped past the refresh between chunks of 100.
    Driving 160,000 contacts through the full engine would take several minutes on SQLite, so the
    rows the engine writes for them (ExperimentAssignment, Conversion) are written directly; the
    two tests around this one drive the full engine.

    Beside it, the naive rule (a winner as soon as P(best) ≥ 95% at any refresh) on the same data
    declares many: the fixed looks are what keep the false positives down."""
    config = {"variants": VARIANTS, "decide": {"min_sample": 100}}
    journey = publish(workspace, journey_with(decide={"min_sample": 100}))
    settings = stats.settings_of(config)
    contacts = new_contacts(workspace, 1600)
    enrollments = Enrollment.objects.bulk_create(
        [
            Enrollment(workspace=workspace, contact=c, journey=journey, version=journey.live_version, status="waiting")
            for c in contacts
        ]
    )
    rng = random.Random(2026)
    declared, naive, looks, rates = [], 0, [], []
    for run in range(100):
        peeked = False
        ExperimentAssignment.objects.filter(journey=journey).delete()
        Conversion.objects.filter(journey=journey).delete()
        ExperimentState.objects.filter(journey=journey).delete()
        state = ExperimentState.objects.create(workspace=workspace, journey=journey, node="ab")
        with clock.frozen(t0 + timedelta(days=run)):
            for start in range(0, len(contacts), 100):
                now = clock.now()
                chunk = list(zip(contacts[start : start + 100], enrollments[start : start + 100], strict=True))
                ExperimentAssignment.objects.bulk_create(
                    [
                        ExperimentAssignment(
                            workspace=workspace,
                            journey=journey,
                            node="ab",
                            contact=c,
                            variant=rng.choice("ab"),
                            assigned_at=now,
                        )
                        for c, _ in chunk
                    ]
                )
                Conversion.objects.bulk_create(
                    [
                        Conversion(
                            workspace=workspace,
                            journey=journey,
                            version=journey.live_version,
                            enrollment=e,
                            contact=c,
                            goal="Order Completed",
                            at=now,
                        )
                        for c, e in chunk
                        if rng.random() < 0.10
                    ]
                )
                clock.advance(experiments.REFRESH_EVERY)
                state = experiments.refresh(journey, "ab", settings, state, clock.now())
                arms, _ = experiments.arms_of(journey.pk, "ab", ("a", "b"), "conversion")
                peeked = peeked or max(stats.prob_best(arms)) >= 0.95
                if state.decided_at is not None:
                    break
        if state.winner:
            declared.append((run, state.winner, state.reason))
        naive += peeked
        if run == 0 and connection.vendor == "postgresql":
            # PostgreSQL plans by table statistics, which autovacuum never gathers on a test's
            # uncommitted rows: without them it nests loops over the join (slow, not wrong).
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {ExperimentAssignment._meta.db_table}, {Conversion._meta.db_table}")
        looks.append(state.looks)
        rates.append(sum(arm.successes for arm in arms) / sum(arm.contacts for arm in arms))
    assert len(declared) <= 5, declared
    assert naive > 15, naive  # peeking at every refresh: a "winner" in a fifth of the A/A tests or more
    assert min(looks) >= 2 and 0.09 < sum(rates) / len(rates) < 0.11  # every run looked thrice, at 10%


@POPULATION
def test_the_bandit_sends_most_of_the_last_half_of_2000_contacts_to_b(workspace, fake_email, t0):
    with clock.frozen(t0):
        journey = publish(workspace, journey_with(mode="bandit", floor=0.1))
        people = Population(workspace, journey, {"a": 0.08, "b": 0.12}, seed=7)
        for _ in range(20):
            people.wave(100)
        last_half = people.assigned[1000:]
        assert len(people.assigned) == 2000
        assert last_half.count("b") > 0.7 * len(last_half), last_half.count("b")
        assert last_half.count("a") > 0.05 * len(last_half)  # the floor keeps a alive
        state = people.state()
        assert state.weights["b"] > 0.75 and state.weights["a"] >= 0.1 and not state.winner


def decided_journey(workspace):
    """A journey whose winner rule has decided for b: 60 contacts, b converts every time, a never."""
    journey = publish(workspace, journey_with(decide={"min_sample": 20}))
    people = Population(workspace, journey, {"a": 0.0, "b": 1.0}, seed=1)
    first, variants = people.wave(60)
    assert {"a", "b"} == set(variants) and min(variants.count("a"), variants.count("b")) >= 20
    later, after = people.wave(20)  # its first batch refreshes the state: the winner is b
    assert set(after) == {"b"}
    return journey, people, first, variants


def test_contacts_assigned_before_the_decision_keep_their_variant(workspace, fake_email, t0):
    with clock.frozen(t0):
        journey, people, first, variants = decided_journey(workspace)
        losers = [c for c, v in zip(first, variants, strict=True) if v == "a"]
        clock.advance(timedelta(days=8))
        run_worker()  # their week is over: they leave the journey
        assert all(enrollment_of(journey, c).status == Enrollment.Status.COMPLETED for c in losers)
        for contact in losers:
            track(contact, "Signed Up")  # they come back after the decision
        run_worker()
        for contact in losers:
            again = enrollment_of(journey, contact)
            assert again.steps.filter(node="mail_a", outcome="sent").exists(), "kept its variant a"
        assert set(ExperimentAssignment.objects.filter(contact__in=losers).values_list("variant", flat=True)) == {"a"}


def test_the_decision_is_written_once_in_the_audit_log(workspace, fake_email, t0):
    with clock.frozen(t0):
        journey, people, *_ = decided_journey(workspace)
        people.wave(10)  # more batches after the decision: no second entry
        entry = AuditEntry.objects.get(workspace=workspace, action="experiment.decided")
        assert entry.actor is None and entry.target == journey.name
        assert entry.details["journey"] == journey.pk and entry.details["node"] == "ab"
        assert entry.details["winner"] == "b" and "b beats the others" in entry.details["reason"]
        assert entry.details["p_best"]["b"] > 0.99


@pytest.mark.parametrize("fallback, winner", [("take_best", "b"), ("keep_split", None)])
def test_with_no_winner_by_the_deadline_the_fallback_applies(workspace, fake_email, fallback, winner, t0):
    with clock.frozen(t0):
        rule = {"min_sample": 1000, "deadline": "PT1H", "fallback": fallback}
        journey = publish(workspace, journey_with(decide=rule))
        people = Population(workspace, journey, {"a": 0.0, "b": 0.5}, seed=3)
        people.wave(40)
        assert people.state().decided_at is None
        clock.advance(timedelta(hours=1))
        _, variants = people.wave(40)  # its first batch finds the deadline passed
        state = people.state()
        assert state.decided_at is not None and (state.winner or None) == winner, (state.reason, state.detail)
        assert "deadline reached" in state.reason
        _, later = people.wave(40)
        assert set(later) == ({"b"} if winner else {"a", "b"})
        assert AuditEntry.objects.get(action="experiment.decided").details["winner"] == winner


def test_the_click_metric_counts_clicks_on_the_journeys_emails_after_assignment(workspace, settings, t0):
    """Real delivery: the worker's emails are outbox rows; a click is recorded by delivery."""
    from delivery.actions import record_click
    from delivery.models import Message
    from tests.delivery.conftest import make_template, simple_mjml

    settings.SITE_URL = "https://wayline.example"
    for slug in ("welcome", "cart-reminder"):
        make_template(workspace, slug=slug, mjml=simple_mjml('Hi <a href="https://shop.example/">shop</a>'))
    with clock.frozen(t0):
        journey = publish(workspace, journey_with(metric="click"))
        contacts = new_contacts(workspace, 30)
        for contact in contacts:
            track(contact, "Signed Up")
        run_worker()
        clock.advance(timedelta(minutes=5))
        variant = dict(ExperimentAssignment.objects.filter(journey=journey).values_list("contact_id", "variant"))
        messages = Message.objects.filter(journey_id=journey.pk)
        assert messages.count() == 30
        clickers = {"a": 0, "b": 0}
        for message in messages:
            if variant[message.contact_id] == "b" or clickers["a"] == 0:
                record_click(message, "https://shop.example/")
                clickers[variant[message.contact_id]] += 1
        [row] = experiments.results(journey)
    assert row["metric"] == "click" and row["mode"] == "split" and row["decision"] is None
    by_id = {v["id"]: v for v in row["variants"]}
    assert {k: by_id[k]["conversions"] for k in "ab"} == clickers
    assert by_id["b"]["conversions"] == by_id["b"]["contacts"] and by_id["a"]["conversions"] == 1


def test_the_api_serves_each_variants_results_and_the_decision(workspace, qa, outsider, api, fake_email, t0):
    with clock.frozen(t0):
        journey, people, first, variants = decided_journey(workspace)
    answer = api(qa).get(f"/api/journeys/{journey.pk}/experiments")
    assert answer.status_code == 200
    [row] = answer.json()
    assert (row["node"], row["metric"], row["mode"]) == ("ab", "conversion", "split")
    by_id = {v["id"]: v for v in row["variants"]}
    counts = {v: people.assigned.count(v) for v in "ab"}
    assert {k: by_id[k]["contacts"] for k in "ab"} == counts
    assert by_id["a"]["conversions"] == 0 and by_id["b"]["conversions"] == counts["b"]
    assert by_id["b"]["rate"] == 1.0 and by_id["a"]["rate"] == 0.0
    lo, hi = by_id["a"]["interval"]
    assert 0.0 <= lo < hi < 0.2
    assert by_id["b"]["p_best"] > 0.99 and by_id["a"]["p_best"] + by_id["b"]["p_best"] == pytest.approx(1.0)
    assert (by_id["a"]["weight"], by_id["b"]["weight"]) == (0.0, 100.0)
    assert row["decision"]["winner"] == "b" and row["decision"]["decided_at"].startswith(t0.date().isoformat())
    assert row["next_look"] is None
    # Another workspace's journey does not exist for its members; nobody logged out reads it.
    assert api(outsider).get(f"/api/journeys/{journey.pk}/experiments").status_code == 404
    assert APIClient().get(f"/api/journeys/{journey.pk}/experiments").status_code in (401, 403)


def test_an_undecided_experiment_says_when_it_looks_next(workspace, marketer, api, fake_email, t0):
    with clock.frozen(t0):
        journey = publish(workspace, journey_with(decide={"min_sample": 50, "confidence": 0.9}))
        Population(workspace, journey, {"a": 0.1, "b": 0.1}, seed=5).wave(20)
    [row] = api(marketer).get(f"/api/journeys/{journey.pk}/experiments").json()
    assert row["decision"] is None and row["next_look"]["contacts"] == 50
    assert row["next_look"]["confidence"] == pytest.approx(1 - 0.1 / 8)
    assert sum(v["contacts"] for v in row["variants"]) == 20
    assert sum(v["weight"] for v in row["variants"]) == pytest.approx(100.0)


def problems_of(**experiment):
    return [(p.node, p.field, p.code) for p in validate_definition(journey_with(**experiment)) if p.node == "ab"]


@pytest.mark.parametrize(
    "experiment, field, code",
    [
        ({"decide": {"confidence": 1.0}}, "config.decide.confidence", "bad_confidence"),
        ({"decide": {"confidence": 100}}, "config.decide.confidence", "bad_confidence"),
        ({"decide": {"confidence": 0.5}}, "config.decide.confidence", "bad_confidence"),
        ({"decide": {"confidence": 120}}, "config.decide.confidence", "bad_confidence"),
        ({"decide": {"min_sample": 0}}, "config.decide.min_sample", "bad_min_sample"),
        ({"decide": {"min_sample": 2.5}}, "config.decide.min_sample", "bad_min_sample"),
        ({"decide": {"metric": "revenue"}}, "config.decide.metric", "unknown_metric"),
        ({"decide": {"fallback": "coin"}}, "config.decide.fallback", "unknown_fallback"),
        ({"decide": {"deadline": "soon"}}, "config.decide.deadline", "bad_duration"),
        ({"decide": {"when": 1}}, "config.decide.when", "unknown_setting"),
        ({"mode": "bandit", "floor": 0.6}, "config.floor", "bad_floor"),
        ({"mode": "bandit", "floor": -0.1}, "config.floor", "bad_floor"),
        ({"mode": "bandit", "floor": "10%"}, "config.floor", "bad_floor"),
        ({"mode": "greedy"}, "config.mode", "unknown_mode"),
        ({"metric": "opens"}, "config.metric", "unknown_metric"),
    ],
)
def test_a_bad_winner_rule_or_bandit_is_refused_naming_the_node_and_field(experiment, field, code):
    assert problems_of(**experiment) == [("ab", field, code)]


def test_a_sound_winner_rule_and_bandit_pass_validation():
    rule = {"metric": "click", "min_sample": 200, "confidence": 0.99, "deadline": "P14D", "fallback": "take_best"}
    assert problems_of(decide=rule) == []
    assert problems_of(mode="bandit", floor=0.5) == []  # exactly 1/k: an even split
    assert problems_of(mode="bandit", floor=0.1, decide={"confidence": 95}) == []
