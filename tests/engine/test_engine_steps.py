"""The pure engine: what each node type does, driven with an injected clock."""

from datetime import UTC, datetime, timedelta

import pytest

from journeys.engine import (
    Exit,
    Goto,
    Position,
    Send,
    Wait,
    choose_variant,
    compile_flow,
    drive,
    event_data,
    event_ends_wait,
    next_step,
    start_position,
)

from .pure import RecordingEffects, flow, subject

NOW = datetime(2025, 6, 16, 10, 0, tzinfo=UTC)  # a Monday


def run(definition, subj, now=NOW, position=None, visits=None, effects=None):
    effects = effects or RecordingEffects()
    visits = {} if visits is None else visits
    outcome = drive(definition, position or start_position(now), subj, visits, now, effects)
    return outcome, effects, visits


def test_an_email_node_sends_and_goes_on_to_the_end():
    definition = flow(("mail", "email", {"template": "welcome"}), edges=[("trigger", "mail")])
    outcome, effects, visits = run(definition, subject())
    assert effects.sent == [("mail", 1, {"template": "welcome"})]
    assert outcome.status == "completed" and outcome.exit_reason == "end_of_path"
    assert visits == {"mail": 1}
    assert [(r.node, r.outcome, r.entered, r.left) for r in outcome.records] == [("mail", "sent", True, True)]


def test_a_duration_delay_waits_then_goes_on():
    definition = flow(
        ("d", "delay", {"duration": "PT2H"}),
        ("mail", "email", {"template": "t"}),
        edges=[("trigger", "d"), ("d", "mail")],
    )
    outcome, effects, visits = run(definition, subject())
    assert outcome.status == "waiting" and outcome.wake_at == NOW + timedelta(hours=2)
    assert effects.sent == []
    later, effects, _ = run(
        definition, subject(), now=NOW + timedelta(hours=2), position=outcome.position, visits=visits
    )
    assert later.status == "completed" and len(effects.sent) == 1
    assert [(r.node, r.outcome, r.entered, r.left) for r in later.records] == [
        ("d", "done", False, True),
        ("mail", "sent", True, True),
    ]


def test_a_woken_delay_that_is_not_due_waits_again_without_logging_twice():
    definition = flow(("d", "delay", {"duration": "PT2H"}), edges=[("trigger", "d")])
    outcome, _, visits = run(definition, subject())
    again, _, _ = run(definition, subject(), now=NOW + timedelta(minutes=5), position=outcome.position, visits=visits)
    assert again.status == "waiting" and again.wake_at == NOW + timedelta(hours=2) and again.records == []


@pytest.mark.parametrize(
    "tz,entered,weekdays,expected",
    [
        # 09:00 in Berlin (UTC+2 in summer) on a Monday entered at 10:00 UTC -> Tuesday 07:00 UTC
        ("Europe/Berlin", datetime(2025, 6, 16, 10, 0, tzinfo=UTC), None, datetime(2025, 6, 17, 7, 0, tzinfo=UTC)),
        # entered before 09:00 local on Monday -> the same day
        ("Europe/Berlin", datetime(2025, 6, 16, 5, 0, tzinfo=UTC), None, datetime(2025, 6, 16, 7, 0, tzinfo=UTC)),
        # weekdays only Saturday -> next Saturday 21 June
        ("Europe/Berlin", datetime(2025, 6, 16, 5, 0, tzinfo=UTC), ["sat"], datetime(2025, 6, 21, 7, 0, tzinfo=UTC)),
        # New York (UTC-4): Monday 10:00 UTC is 06:00 local -> 09:00 local = 13:00 UTC
        ("America/New_York", datetime(2025, 6, 16, 10, 0, tzinfo=UTC), None, datetime(2025, 6, 16, 13, 0, tzinfo=UTC)),
        # no timezone: UTC
        ("", datetime(2025, 6, 16, 10, 0, tzinfo=UTC), ["mon", "wed"], datetime(2025, 6, 18, 9, 0, tzinfo=UTC)),
        # winter time in Berlin (UTC+1)
        ("Europe/Berlin", datetime(2025, 1, 6, 10, 0, tzinfo=UTC), None, datetime(2025, 1, 7, 8, 0, tzinfo=UTC)),
    ],
)
def test_a_delay_until_a_local_time_of_day_on_allowed_weekdays(tz, entered, weekdays, expected):
    config = {"mode": "time_of_day", "time": "09:00"} | ({"weekdays": weekdays} if weekdays else {})
    definition = flow(("d", "delay", config), edges=[("trigger", "d")])
    outcome, _, _ = run(definition, subject(contact={"timezone": tz}), now=entered)
    assert outcome.wake_at == expected


def test_a_delay_until_a_contact_date_with_an_offset():
    config = {"mode": "date_attribute", "attribute": "contact.traits.renewal", "offset": "-P7D", "time": "10:00"}
    definition = flow(("d", "delay", config), ("m", "email", {"template": "t"}), edges=[("trigger", "d"), ("d", "m")])
    contact = {"timezone": "Europe/Berlin", "traits": {"renewal": "2025-07-31"}}
    outcome, _, _ = run(definition, subject(contact=contact))
    assert outcome.wake_at == datetime(2025, 7, 24, 8, 0, tzinfo=UTC)


def test_a_delay_until_a_date_already_past_or_missing_goes_on_at_once_and_says_why():
    config = {"mode": "date_attribute", "attribute": "contact.traits.renewal"}
    definition = flow(("d", "delay", config), ("m", "email", {"template": "t"}), edges=[("trigger", "d"), ("d", "m")])
    past, effects, _ = run(definition, subject(contact={"traits": {"renewal": "2020-01-01"}}))
    assert past.status == "completed" and len(effects.sent) == 1
    missing, effects, _ = run(definition, subject(contact={"traits": {}}))
    assert missing.status == "completed" and len(effects.sent) == 1
    assert "missing" in missing.records[0].detail["warning"]


def test_a_yearly_date_waits_for_the_next_birthday():
    config = {"mode": "date_attribute", "attribute": "contact.traits.birthday", "yearly": True, "time": "09:00"}
    definition = flow(("d", "delay", config), edges=[("trigger", "d")])
    outcome, _, _ = run(definition, subject(contact={"traits": {"birthday": "1990-03-02"}}))
    assert outcome.wake_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


WAIT = flow(
    ("w", "wait_for_event", {"event": "Order Completed", "timeout": "PT1H", "match": {"property": "cart_id"}}),
    ("thanks", "email", {"template": "thanks"}),
    ("remind", "email", {"template": "cart-reminder"}),
    edges=[("trigger", "w"), ("w", "event", "thanks"), ("w", "timeout", "remind")],
)
CART = event_data("Checkout Started", {"cart_id": "c1"})


def test_a_wait_for_event_waits_for_the_event_or_the_timeout():
    outcome, _, visits = run(WAIT, subject(trigger=CART))
    assert outcome.status == "waiting" and outcome.awaited_event == "Order Completed"
    assert outcome.wake_at == NOW + timedelta(hours=1)
    timed_out, effects, _ = run(
        WAIT, subject(trigger=CART), now=NOW + timedelta(hours=1), position=outcome.position, visits=dict(visits)
    )
    assert [s[2]["template"] for s in effects.sent] == ["cart-reminder"]
    assert timed_out.records[0].outcome == "timeout"


def test_the_awaited_event_ends_the_wait_through_the_event_port():
    outcome, _, visits = run(WAIT, subject(trigger=CART))
    received = {"w": {**event_data("Order Completed", {"cart_id": "c1"}), "visit": 1}}
    woken, effects, _ = run(
        WAIT,
        subject(trigger=CART, context={"events": received}),
        now=NOW + timedelta(minutes=5),
        position=outcome.position,
        visits=visits,
    )
    assert [s[2]["template"] for s in effects.sent] == ["thanks"]
    assert woken.records[0].outcome == "event"


@pytest.mark.parametrize(
    "properties,matches,reason",
    [
        ({"cart_id": "c1"}, True, ""),
        ({"cart_id": "c2"}, False, "is not the trigger's"),
        ({}, False, "has no “cart_id”"),
    ],
)
def test_a_wait_matches_the_same_cart_as_the_trigger(properties, matches, reason):
    config = WAIT["nodes"][0]["config"]
    ok, why = event_ends_wait(config, event_data("Order Completed", properties), subject(trigger=CART, now=NOW))
    assert ok is matches and reason in why


def test_a_wait_with_conditions_ignores_events_that_do_not_meet_them():
    config = {"event": "Order Completed", "where": {"field": "total", "op": "gte", "value": 50}}
    subj = subject(now=NOW)
    assert event_ends_wait(config, event_data("Order Completed", {"total": 80}), subj) == (True, "")
    assert event_ends_wait(config, event_data("Order Completed", {"total": 10}), subj)[0] is False
    assert event_ends_wait(config, event_data("Order Started", {"total": 80}), subj)[0] is False


def test_a_wait_whose_trigger_lacks_the_match_property_warns_and_only_the_timeout_can_end_it():
    outcome, _, _ = run(WAIT, subject(trigger=event_data("Checkout Started", {})))
    assert "no “cart_id”" in outcome.records[0].detail["warning"]


def test_a_branch_goes_yes_or_no_on_contact_fields_event_properties_and_history():
    condition = {
        "all": [
            {"field": "contact.country", "op": "eq", "value": "DE"},
            {"field": "event.properties.total", "op": "gt", "value": 50},
            {"performed": "Order Completed", "within": "P30D"},
        ]
    }
    definition = flow(
        ("b", "branch", {"condition": condition}),
        ("yes", "email", {"template": "vip"}),
        ("no", "exit", {}),
        edges=[("trigger", "b"), ("b", "yes", "yes"), ("b", "no", "no")],
    )
    history = lambda name, within, where: 1 if name == "Order Completed" and within == timedelta(days=30) else 0  # noqa: E731
    trig = event_data("Checkout Started", {"total": 80})
    outcome, effects, _ = run(definition, subject({"country": "DE"}, trigger=trig, history=history))
    assert effects.sent and outcome.records[0].outcome == "yes"
    outcome, effects, _ = run(definition, subject({"country": "FR"}, trigger=trig, history=history))
    assert not effects.sent and outcome.records[0].outcome == "no" and outcome.exit_reason == "exit_node"


def test_a_split_takes_the_first_matching_path_or_else():
    paths = [
        {"id": "de", "condition": {"field": "contact.country", "op": "eq", "value": "DE"}},
        {"id": "eu", "condition": {"field": "contact.country", "op": "in", "value": ["DE", "FR"]}},
    ]
    definition = flow(
        ("s", "split", {"paths": paths}),
        ("a", "exit", {}),
        ("b", "exit", {}),
        ("c", "exit", {}),
        edges=[("trigger", "s"), ("s", "de", "a"), ("s", "eu", "b"), ("s", "else", "c")],
    )
    for country, node in (("DE", "a"), ("FR", "b"), ("US", "c")):
        outcome, _, _ = run(definition, subject({"country": country}))
        assert outcome.position.node == node


def test_an_experiment_is_weighted_and_sticky_per_contact():
    config = {"variants": [{"id": "a", "weight": 80}, {"id": "b", "weight": 20}]}
    compiled = compile_flow(flow(("x", "experiment", config), edges=[("trigger", "x")]))
    picks = [choose_variant(compiled, "x", config, subject({"id": i})) for i in range(2000)]
    assert 0.75 < picks.count("a") / len(picks) < 0.85
    assert all(choose_variant(compiled, "x", config, subject({"id": i})) == picks[i] for i in range(50))
    # an existing assignment wins, even if the weights would now say otherwise
    assert choose_variant(compiled, "x", config, subject({"id": 1}, assignments={"x": "b"})) == "b"


def test_an_experiment_records_the_assignment():
    config = {"variants": [{"id": "a", "weight": 1}, {"id": "b", "weight": 0}]}
    definition = flow(("x", "experiment", config), ("e", "exit", {}), edges=[("trigger", "x"), ("x", "a", "e")])
    _, effects, _ = run(definition, subject())
    assert effects.assigned == [("x", "a")]


def test_update_contact_renders_liquid_values():
    spec = {
        "traits.last_cart": "{{ event.properties.cart_id }}",
        "traits.tier": "gold",
        "city": "{{ contact.city | upcase }}",
    }
    definition = flow(
        ("u", "update_contact", {"set": spec}),
        ("b", "branch", {"condition": {"field": "contact.traits.tier", "op": "eq", "value": "gold"}}),
        ("yes", "exit", {}),
        ("no", "exit", {}),
        edges=[("trigger", "u"), ("u", "b"), ("b", "yes", "yes"), ("b", "no", "no")],
    )
    outcome, effects, _ = run(definition, subject({"city": "berlin"}, trigger=CART))
    assert effects.updates == [("u", {"traits.last_cart": "c1", "traits.tier": "gold", "city": "BERLIN"})]
    assert outcome.position.node == "yes"  # the branch saw the updated contact


def test_a_webhook_result_is_kept_for_later_nodes():
    definition = flow(
        ("h", "webhook", {"url": "https://api.example.com/score/{{ contact.id }}", "method": "GET"}),
        ("b", "branch", {"condition": {"field": "journey.webhook.h.body.score", "op": "gt", "value": 5}}),
        ("hi", "exit", {}),
        ("lo", "exit", {}),
        ("f", "exit", {}),
        edges=[("trigger", "h"), ("h", "success", "b"), ("h", "failure", "f"), ("b", "yes", "hi"), ("b", "no", "lo")],
    )
    effects = RecordingEffects([{"ok": True, "status": 200, "body": {"score": 9}}])
    outcome, effects, _ = run(definition, subject(), effects=effects)
    assert effects.webhooks[0].url == "https://api.example.com/score/7"
    assert outcome.position.node == "hi"
    failing = RecordingEffects([{"ok": False, "status": 503, "body": ""}])
    outcome, _, _ = run(definition, subject(), effects=failing)
    assert outcome.position.node == "f"


def test_a_webhook_retry_waits_until_the_next_attempt():
    definition = flow(("h", "webhook", {"url": "https://api.example.com/x"}), edges=[("trigger", "h")])
    retry_at = NOW + timedelta(seconds=2)
    outcome, _, _ = run(definition, subject(), effects=RecordingEffects([retry_at]))
    assert outcome.status == "waiting" and outcome.wake_at == retry_at


def test_an_exit_node_ends_the_journey():
    definition = flow(("e", "exit", {}), ("m", "email", {"template": "t"}), edges=[("trigger", "e")])
    outcome, effects, _ = run(definition, subject())
    assert outcome.status == "completed" and outcome.exit_reason == "exit_node" and not effects.sent


def test_next_step_returns_small_values():
    definition = flow(
        ("d", "delay", {"duration": "PT1H"}), ("m", "email", {"template": "t"}), edges=[("trigger", "d"), ("d", "m")]
    )
    assert next_step(definition, start_position(NOW), subject(), NOW) == Goto("trigger", "next", "d")
    assert next_step(definition, Position("d", NOW), subject(), NOW) == Wait("d", NOW + timedelta(hours=1))
    assert isinstance(next_step(definition, Position("m", NOW), subject(), NOW), Send)
    assert next_step(definition, Position("gone", NOW), subject(), NOW) == Exit("gone", "unknown_node")


def test_a_loop_through_a_delay_counts_visits():
    definition = flow(
        ("m", "email", {"template": "t"}),
        ("d", "delay", {"duration": "P1D"}),
        edges=[("trigger", "m"), ("m", "d"), ("d", "m")],
    )
    visits, effects, now = {}, RecordingEffects(), NOW
    outcome = drive(definition, start_position(now), subject(), visits, now, effects)
    for _ in range(2):
        now = outcome.wake_at
        outcome = drive(definition, outcome.position, subject(), visits, now, effects)
    assert [(node, visit) for node, visit, _ in effects.sent] == [("m", 1), ("m", 2), ("m", 3)]
