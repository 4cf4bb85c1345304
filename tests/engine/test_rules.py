"""The rule language: what each operator means, event history, and what validation reports."""

from datetime import UTC, datetime, timedelta

import pytest

from journeys.engine.rules import DictFacts, evaluate, parse_duration, validate

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def facts(**data):
    events = data.pop("events", ())
    return DictFacts(data, events=events, now=NOW)


CONTACT = {
    "contact": {
        "country": "DE",
        "email": "ana@example.com",
        "traits": {"plan": "pro", "age": "42", "vip": True, "tags": ["beta", "early"], "renewal": "2025-07-01"},
        "empty": "",
    },
    "event": {"properties": {"total": 19.9, "cart_id": "c1"}},
    "cart": {"total": "120.50", "items": [{"sku": "A"}, {"sku": "B"}]},
}


@pytest.mark.parametrize(
    "field,op,value,expected",
    [
        ("contact.country", "eq", "DE", True),
        ("contact.country", "neq", "DE", False),
        ("contact.missing", "neq", "DE", True),
        ("contact.missing", "eq", None, True),
        ("contact.traits.age", "eq", 42, True),
        ("contact.traits.age", "gt", 40, True),
        ("contact.traits.age", "lte", "41", False),
        ("contact.traits.vip", "eq", "true", True),
        ("contact.traits.vip", "eq", False, False),
        ("cart.total", "gte", 120.5, True),
        ("cart.total", "lt", 100, False),
        ("contact.missing", "gt", 0, False),
        ("contact.missing", "lt", 0, False),
        ("contact.country", "in", ["DE", "AT"], True),
        ("contact.country", "not_in", ["DE", "AT"], False),
        ("contact.missing", "not_in", ["DE"], True),
        ("contact.email", "contains", "@example", True),
        ("contact.email", "not_contains", "@example", False),
        ("contact.traits.tags", "contains", "beta", True),
        ("contact.traits.tags", "contains", "late", False),
        ("contact.email", "starts_with", "ana", True),
        ("contact.email", "starts_with", "bob", False),
        ("contact.country", "exists", None, True),
        ("contact.empty", "exists", None, False),
        ("contact.missing", "not_exists", None, True),
        ("contact.traits.renewal", "after", "2025-06-30", True),
        ("contact.traits.renewal", "before", "now", False),
        ("contact.traits.renewal", "before", "P30D", True),
        ("contact.traits.renewal", "after", "P30D", False),
        ("contact.traits.renewal", "after", "-P1D", True),
        ("contact.missing", "before", "now", False),
        ("event.properties.total", "gt", 10, True),
        ("cart.items.1.sku", "eq", "B", True),
        ("cart.items.size", "eq", 2, True),
    ],
)
def test_it_compares_a_field_with_each_operator(field, op, value, expected):
    rule = {"field": field, "op": op} | ({} if op in ("exists", "not_exists") else {"value": value})
    assert validate(rule) == []
    assert evaluate(rule, facts(**CONTACT)) is expected


def test_it_combines_rules_with_all_any_not():
    de = {"field": "contact.country", "op": "eq", "value": "DE"}
    fr = {"field": "contact.country", "op": "eq", "value": "FR"}
    f = facts(**CONTACT)
    assert evaluate({"all": [de, {"not": fr}]}, f)
    assert not evaluate({"all": [de, fr]}, f)
    assert evaluate({"any": [fr, de]}, f)
    assert not evaluate({"any": []}, f)
    assert evaluate({"all": []}, f)
    assert evaluate({}, f) and evaluate(None, f)


def test_it_counts_event_history_within_a_window_and_with_conditions():
    events = [
        {"name": "Order Completed", "timestamp": NOW - timedelta(days=3), "properties": {"total": 80}},
        {"name": "Order Completed", "timestamp": (NOW - timedelta(days=10)).isoformat(), "properties": {"total": 20}},
        {"name": "Order Completed", "timestamp": NOW - timedelta(days=60), "properties": {"total": 500}},
        {"name": "Product Viewed", "timestamp": NOW - timedelta(days=1), "properties": {}},
    ]
    f = facts(events=events, **CONTACT)
    assert evaluate({"performed": "Order Completed", "within": "P30D", "count": {"gte": 1}}, f)
    assert evaluate({"performed": "Order Completed", "within": "P30D", "count": {"eq": 2}}, f)
    assert evaluate({"performed": "Order Completed", "count": {"eq": 3}}, f)
    assert evaluate({"performed": "Order Completed", "within": "P7D", "count": {"eq": 1}}, f)
    assert evaluate(
        {"performed": "Order Completed", "within": "P30D", "where": {"field": "total", "op": "gte", "value": 50}}, f
    )
    assert not evaluate(
        {
            "performed": "Order Completed",
            "within": "P30D",
            "where": {"field": "properties.total", "op": "gt", "value": 100},
        },
        f,
    )
    assert evaluate(
        {"performed": "Order Completed", "where": {"field": "event.properties.total", "op": "gt", "value": 100}}, f
    )
    assert not evaluate({"performed": "Cart Viewed"}, f)
    assert evaluate({"performed": "Cart Viewed", "count": {"eq": 0}}, f)
    assert evaluate({"performed": "Order Completed", "count": {"gte": 2, "lte": 3}}, f)


@pytest.mark.parametrize(
    "rule,path,needle",
    [
        ({"field": "contact.country", "op": "resembles", "value": "DE"}, "op", "Unknown operator"),
        ({"field": "", "op": "eq", "value": 1}, "field", "dotted path"),
        ({"field": "contact..x", "op": "eq", "value": 1}, "field", "dotted path"),
        ({"field": "contact.country", "op": "in", "value": "DE"}, "value", "list"),
        ({"field": "contact.country", "op": "eq"}, "value", "needs a value"),
        ({"field": "contact.country", "op": "exists", "value": 3}, "value", "no value"),
        ({"field": "contact.country", "op": "before", "value": "someday"}, "value", "date"),
        ({"field": "contact.country", "op": "gt", "value": [1]}, "value", "number"),
        ({"field": "contact.country", "op": "eq", "value": {"a": 1}}, "value", "object"),
        ({"field": "contact.country", "op": "eq", "value": 1, "extra": 2}, "rule", "Unknown keys"),
        ({"all": {"field": "x"}}, "all", "list"),
        ({"all": [{}]}, "all[0]", "Empty"),
        ({"not": {}}, "not", "needs a condition"),
        ({"all": [], "any": []}, "rule", "exactly one"),
        ({"nothing": 1}, "rule", "needs one of"),
        ("DE", "rule", "must be an object"),
        ({"performed": ""}, "performed", "Name the event"),
        ({"performed": "X", "within": "30 days"}, "within", "ISO 8601"),
        ({"performed": "X", "within": "-P3D"}, "within", "positive"),
        ({"performed": "X", "count": {"about": 3}}, "count.about", "Unknown count operator"),
        ({"performed": "X", "count": {"gte": "many"}}, "count.gte", "number of times"),
        ({"performed": "X", "count": 3}, "count", "object"),
        ({"performed": "X", "where": {"field": "total", "op": "huge"}}, "where.op", "Unknown operator"),
    ],
)
def test_it_names_the_field_of_each_validation_error(rule, path, needle):
    errors = validate(rule)
    assert errors, rule
    assert any(p == path and needle in message for p, message in errors), errors


def test_it_prefixes_error_paths():
    rule = {"any": [{"field": "contact.country", "op": "eq", "value": "DE"}, {"field": "x", "op": "nope"}]}
    assert validate(rule, "nodes.b1.config.condition") == [
        ("nodes.b1.config.condition.any[1].op", validate({"field": "x", "op": "nope"})[0][1])
    ]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("PT1H", timedelta(hours=1)),
        ("P3D", timedelta(days=3)),
        ("P1DT12H30M", timedelta(days=1, hours=12, minutes=30)),
        ("P2W", timedelta(days=14)),
        ("PT0.5S", timedelta(seconds=0.5)),
        ("-P30D", timedelta(days=-30)),
        ("pt15m", timedelta(minutes=15)),
    ],
)
def test_it_parses_iso_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P", "PT", "1H", "P1H", "PT1D", "P1.5D", "", "soon", None, 5])
def test_it_refuses_malformed_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_malformed_rules_evaluate_false_rather_than_raise():
    f = facts(**CONTACT)
    assert not evaluate({"field": "contact.country", "op": "nope", "value": 1}, f)
    assert not evaluate({"performed": "X", "within": "garbage"}, f)
    assert not evaluate("junk", f)
