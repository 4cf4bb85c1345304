"""The simulator: deterministic path, times and messages from the engine's own node code."""

from datetime import UTC, datetime

from journeys.engine import library
from journeys.engine.simulator import simulate

START = datetime(2025, 6, 16, 10, 0, tzinfo=UTC)  # Monday
CART = library.definition_of("cart-abandonment")
PROFILE = {"contact": {"id": 42, "email": "p@example.com"}, "cart": {"items": [{"sku": "A"}], "total": 30}}


def path(result):
    return [(step["node"], step["outcome"], step["at"][11:16]) for step in result["path"]]


def test_the_timeout_path_with_times_and_messages():
    result = simulate(
        CART,
        PROFILE,
        start=START,
        events=[{"at": "PT0S", "event": "Checkout Started", "properties": {"cart_id": "c1"}}],
    )
    assert path(result) == [
        ("wait_order", "waiting", "10:00"),
        ("wait_order", "timeout", "11:00"),
        ("cart_full", "yes", "11:00"),
        ("reminder", "sent", "11:00"),
        ("next_day", "waiting", "11:00"),
        ("next_day", "done", "11:00"),
        ("still_full", "yes", "11:00"),
        ("last_call", "sent", "11:00"),
    ]
    assert [(m["node"], m["template"], m["at"]) for m in result["messages"]] == [
        ("reminder", "cart-reminder", "2025-06-16T11:00:00+00:00"),
        ("last_call", "cart-reminder", "2025-06-17T11:00:00+00:00"),
    ]
    assert result["status"] == "completed"


def test_a_future_goal_event_exits_with_a_conversion():
    result = simulate(
        CART,
        PROFILE,
        start=START,
        events=[
            {"at": "PT0S", "event": "Checkout Started", "properties": {"cart_id": "c1"}},
            {"at": "PT3H", "event": "Order Completed", "properties": {"cart_id": "c1", "revenue": 30}},
        ],
    )
    assert result["status"] == "exited" and result["exit_reason"] == "goal"
    assert result["conversion"] == {
        "goal": "Order Completed",
        "revenue": "30",
        "currency": "",
        "at": "2025-06-16T13:00:00+00:00",
    }
    assert len(result["messages"]) == 1


def test_it_is_deterministic():
    events = [{"at": "PT0S", "event": "Checkout Started", "properties": {"cart_id": "c1"}}]
    assert simulate(CART, PROFILE, start=START, events=events) == simulate(CART, PROFILE, start=START, events=events)


def test_no_trigger_event_in_the_timeline_means_no_entry():
    result = simulate(CART, PROFILE, start=START, events=[])
    assert result["entered"] is False and "Checkout Started" in result["reason"]


def test_the_entry_audience_applies():
    result = simulate(CART, {"contact": {"id": 1}}, start=START, trigger={"event": "Checkout Started"})
    assert result["entered"] is False and result["reason"] == "the contact is not in the entry audience"


def test_a_wait_without_timeout_and_no_event_stays_waiting():
    flow = {
        "trigger": {"type": "api"},
        "nodes": [{"id": "w", "type": "wait_for_event", "config": {"event": "Clicked"}}],
        "edges": [{"from": "trigger", "to": "w"}],
    }
    result = simulate(flow, {"contact": {"id": 1}}, start=START)
    assert result["status"] == "waiting" and result["waiting_at"] == "w"


def test_history_feeds_performed_conditions_and_time_of_day_delays():
    flow = library.definition_of("welcome-series")
    ordered = simulate(
        flow,
        {"contact": {"id": 3, "email": "a@b.c", "timezone": "Europe/Berlin"}},
        start=START,
        trigger={"event": "Signed Up"},
        events=[{"at": "P1D", "event": "Order Completed", "properties": {}}],
    )
    assert [(m["node"], m["at"]) for m in ordered["messages"]] == [
        ("welcome", "2025-06-16T10:00:00+00:00"),
        ("suggest", "2025-06-19T08:00:00+00:00"),  # Thursday 10:00 in Berlin
    ]
    never = simulate(flow, {"contact": {"id": 3, "email": "a@b.c"}}, start=START, trigger={"event": "Signed Up"})
    assert [m["node"] for m in never["messages"]] == ["welcome"] and never["updates"][0]["changes"] == {
        "traits.welcome_series": "done"
    }


def test_webhook_results_can_be_supplied():
    flow = {
        "trigger": {"type": "api"},
        "nodes": [
            {"id": "h", "type": "webhook", "config": {"url": "https://api.example.com/x"}},
            {"id": "m", "type": "email", "config": {"template": "welcome"}},
        ],
        "edges": [{"from": "trigger", "to": "h"}, {"from": "h", "port": "failure", "to": "m"}],
    }
    failed = simulate(flow, {"contact": {"id": 1}}, start=START, webhook_results={"h": {"ok": False, "status": 500}})
    assert [m["node"] for m in failed["messages"]] == ["m"]
    ok = simulate(flow, {"contact": {"id": 1}}, start=START)
    assert ok["messages"] == [] and ok["webhooks"][0]["url"] == "https://api.example.com/x"
