"""Every validation error of a journey definition names the node and the field."""

import copy

import pytest

from journeys.engine.definition import as_fields, validate_definition
from journeys.webhooks import is_forbidden

KNOWN_TEMPLATES = {"cart-reminder": 11, "welcome": 12}


def resolve(ref):
    return KNOWN_TEMPLATES.get(ref)


GOOD = {
    "trigger": {"type": "event", "event": "Checkout Started", "where": {"all": []}},
    "entry": {"re_entry": "after_exit", "audience": {"all": []}},
    "exit_on": [{"event": "Order Completed", "as_conversion": True}],
    "nodes": [
        {"id": "wait1", "type": "wait_for_event", "config": {"event": "Order Completed", "timeout": "PT1H"}},
        {"id": "mail1", "type": "email", "config": {"template": "cart-reminder"}},
    ],
    "edges": [{"from": "trigger", "to": "wait1"}, {"from": "wait1", "port": "timeout", "to": "mail1"}],
    "layout": {"wait1": {"x": 0, "y": 120}},
}


def problems(definition):
    return validate_definition(definition, resolve_template=resolve, address_forbidden=is_forbidden)


def test_the_design_example_is_valid():
    assert problems(GOOD) == []


def with_change(change):
    definition = copy.deepcopy(GOOD)
    change(definition)
    return definition


def node(definition, node_id):
    return next(n for n in definition["nodes"] if n["id"] == node_id)


def add(definition, node_id, kind, config, *edges):
    definition["nodes"].append({"id": node_id, "type": kind, "config": config})
    for edge in edges:
        definition["edges"].append(edge)


CASES = [
    # (name, change, code, node, path)
    (
        "no template",
        lambda d: node(d, "mail1")["config"].pop("template"),
        "missing_template",
        "mail1",
        "nodes.mail1.config.template",
    ),
    (
        "unknown template",
        lambda d: node(d, "mail1")["config"].update(template="nope"),
        "unknown_template",
        "mail1",
        "nodes.mail1.config.template",
    ),
    (
        "bad category",
        lambda d: node(d, "mail1")["config"].update(category="spam"),
        "unknown_category",
        "mail1",
        "nodes.mail1.config.category",
    ),
    (
        "malformed timeout",
        lambda d: node(d, "wait1")["config"].update(timeout="1 hour"),
        "bad_duration",
        "wait1",
        "nodes.wait1.config.timeout",
    ),
    (
        "zero timeout",
        lambda d: node(d, "wait1")["config"].update(timeout="PT0S"),
        "bad_duration",
        "wait1",
        "nodes.wait1.config.timeout",
    ),
    (
        "wait without event",
        lambda d: node(d, "wait1")["config"].pop("event"),
        "missing_event",
        "wait1",
        "nodes.wait1.config.event",
    ),
    (
        "wait with unknown operator",
        lambda d: node(d, "wait1")["config"].update(where={"field": "total", "op": "bigger", "value": 1}),
        "unknown_operator",
        "wait1",
        "nodes.wait1.config.where.op",
    ),
    (
        "wait with bad match",
        lambda d: node(d, "wait1")["config"].update(match={"property": ""}),
        "bad_match",
        "wait1",
        "nodes.wait1.config.match",
    ),
    (
        "timeout port without timeout",
        lambda d: node(d, "wait1")["config"].pop("timeout"),
        "port_without_timeout",
        "wait1",
        "nodes.wait1.config.timeout",
    ),
    (
        "unknown node type",
        lambda d: node(d, "mail1").update(type="sms"),
        "unknown_node_type",
        "mail1",
        "nodes.mail1.type",
    ),
    (
        "duplicate node id",
        lambda d: d["nodes"].append({"id": "mail1", "type": "exit"}),
        "duplicate_node_id",
        "mail1",
        "nodes.mail1.id",
    ),
    (
        "bad node id",
        lambda d: d["nodes"].append({"id": "has space", "type": "exit"}),
        "bad_node_id",
        None,
        "nodes[2].id",
    ),
    (
        "node called trigger",
        lambda d: d["nodes"].append({"id": "trigger", "type": "exit"}),
        "bad_node_id",
        None,
        "nodes[2].id",
    ),
    ("config not an object", lambda d: node(d, "mail1").update(config=[1]), "invalid", "mail1", "nodes.mail1.config"),
    ("unreachable node", lambda d: add(d, "lost", "exit", {}), "unreachable", "lost", "nodes.lost"),
    (
        "port connected twice",
        lambda d: add(
            d, "mail2", "email", {"template": "welcome"}, {"from": "wait1", "port": "timeout", "to": "mail2"}
        ),
        "port_connected_twice",
        "wait1",
        "edges[2].port",
    ),
    (
        "branch port left unconnected",
        lambda d: add(
            d,
            "b",
            "branch",
            {"condition": {"field": "contact.country", "op": "eq", "value": "DE"}},
            {"from": "mail1", "to": "b"},
            {"from": "b", "port": "yes", "to": "wait1"},
        ),
        "port_unconnected",
        "b",
        "nodes.b.ports.no",
    ),
    ("trigger not connected", lambda d: d["edges"].pop(0), "port_unconnected", "trigger", "edges"),
    (
        "dangling edge",
        lambda d: d["edges"].append({"from": "mail1", "to": None}),
        "port_unconnected",
        "mail1",
        "edges[2].to",
    ),
    (
        "edge from unknown node",
        lambda d: d["edges"].append({"from": "ghost", "to": "mail1"}),
        "edge_unknown_node",
        None,
        "edges[2].from",
    ),
    (
        "edge to unknown node",
        lambda d: d["edges"].append({"from": "mail1", "to": "ghost"}),
        "edge_unknown_node",
        "mail1",
        "edges[2].to",
    ),
    (
        "edge back to trigger",
        lambda d: d["edges"].append({"from": "mail1", "to": "trigger"}),
        "edge_unknown_node",
        "mail1",
        "edges[2].to",
    ),
    (
        "unknown port",
        lambda d: d["edges"].append({"from": "mail1", "port": "maybe", "to": "wait1"}),
        "edge_unknown_port",
        "mail1",
        "edges[2].port",
    ),
    (
        "port missing on a multi-port node",
        lambda d: d["edges"].__setitem__(1, {"from": "wait1", "to": "mail1"}),
        "missing_port",
        "wait1",
        "edges[1].port",
    ),
    (
        "cycle without wait",
        lambda d: add(
            d,
            "b",
            "branch",
            {"condition": {"field": "contact.country", "op": "eq", "value": "DE"}},
            {"from": "mail1", "to": "b"},
            {"from": "b", "port": "yes", "to": "mail1"},
            {"from": "b", "port": "no", "to": "wait1"},
        ),
        "cycle_without_wait",
        "b",
        "nodes.b",
    ),
    (
        "branch without condition",
        lambda d: add(d, "b", "branch", {}, {"from": "mail1", "to": "b"}),
        "missing_condition",
        "b",
        "nodes.b.config.condition",
    ),
    (
        "branch with unknown operator",
        lambda d: add(
            d,
            "b",
            "branch",
            {"condition": {"all": [{"field": "contact.country", "op": "like", "value": "D"}]}},
            {"from": "mail1", "to": "b"},
        ),
        "unknown_operator",
        "b",
        "nodes.b.config.condition.all[0].op",
    ),
    (
        "split without paths",
        lambda d: add(d, "s", "split", {"paths": []}, {"from": "mail1", "to": "s"}),
        "missing_paths",
        "s",
        "nodes.s.config.paths",
    ),
    (
        "split path called else",
        lambda d: add(
            d,
            "s",
            "split",
            {"paths": [{"id": "else", "condition": {"field": "contact.x", "op": "exists"}}]},
            {"from": "mail1", "to": "s"},
        ),
        "bad_port_id",
        "s",
        "nodes.s.config.paths[0].id",
    ),
    (
        "split duplicate path ids",
        lambda d: add(
            d,
            "s",
            "split",
            {"paths": [{"id": "p", "condition": {"field": "contact.x", "op": "exists"}}] * 2},
            {"from": "mail1", "to": "s"},
        ),
        "duplicate_port_id",
        "s",
        "nodes.s.config.paths[1].id",
    ),
    (
        "split path without condition",
        lambda d: add(d, "s", "split", {"paths": [{"id": "p"}]}, {"from": "mail1", "to": "s"}),
        "missing_condition",
        "s",
        "nodes.s.config.paths[0].condition",
    ),
    (
        "experiment with one variant",
        lambda d: add(d, "x", "experiment", {"variants": [{"id": "a", "weight": 1}]}, {"from": "mail1", "to": "x"}),
        "experiment_variants",
        "x",
        "nodes.x.config.variants",
    ),
    (
        "experiment negative weight",
        lambda d: add(
            d,
            "x",
            "experiment",
            {"variants": [{"id": "a", "weight": -1}, {"id": "b", "weight": 1}]},
            {"from": "mail1", "to": "x"},
        ),
        "experiment_weights",
        "x",
        "nodes.x.config.variants[0].weight",
    ),
    (
        "experiment weight not a number",
        lambda d: add(
            d,
            "x",
            "experiment",
            {"variants": [{"id": "a", "weight": "half"}, {"id": "b", "weight": 1}]},
            {"from": "mail1", "to": "x"},
        ),
        "experiment_weights",
        "x",
        "nodes.x.config.variants[0].weight",
    ),
    (
        "experiment all weights zero",
        lambda d: add(
            d,
            "x",
            "experiment",
            {"variants": [{"id": "a", "weight": 0}, {"id": "b", "weight": 0}]},
            {"from": "mail1", "to": "x"},
        ),
        "experiment_weights",
        "x",
        "nodes.x.config.variants",
    ),
    (
        "experiment weights not adding up to 100",
        lambda d: add(
            d,
            "x",
            "experiment",
            {"variants": [{"id": "a", "weight": 60}, {"id": "b", "weight": 30}]},
            {"from": "mail1", "to": "x"},
        ),
        "experiment_weights",
        "x",
        "nodes.x.config.variants",
    ),
    (
        "webhook timeout over the node's limit",
        lambda d: add(
            d, "h", "webhook", {"url": "https://api.example.com/x", "timeout": "PT30S"}, {"from": "mail1", "to": "h"}
        ),
        "timeout_too_long",
        "h",
        "nodes.h.config.timeout",
    ),
    (
        "experiment duplicate variant",
        lambda d: add(
            d,
            "x",
            "experiment",
            {"variants": [{"id": "a", "weight": 1}, {"id": "a", "weight": 1}]},
            {"from": "mail1", "to": "x"},
        ),
        "duplicate_port_id",
        "x",
        "nodes.x.config.variants[1].id",
    ),
    (
        "delay without duration",
        lambda d: add(d, "d", "delay", {}, {"from": "mail1", "to": "d"}),
        "bad_duration",
        "d",
        "nodes.d.config.duration",
    ),
    (
        "delay malformed duration",
        lambda d: add(d, "d", "delay", {"duration": "3 days"}, {"from": "mail1", "to": "d"}),
        "bad_duration",
        "d",
        "nodes.d.config.duration",
    ),
    (
        "delay unknown mode",
        lambda d: add(d, "d", "delay", {"mode": "forever"}, {"from": "mail1", "to": "d"}),
        "unknown_delay_mode",
        "d",
        "nodes.d.config.mode",
    ),
    (
        "delay bad time",
        lambda d: add(d, "d", "delay", {"mode": "time_of_day", "time": "9am"}, {"from": "mail1", "to": "d"}),
        "bad_time",
        "d",
        "nodes.d.config.time",
    ),
    (
        "delay bad weekdays",
        lambda d: add(
            d,
            "d",
            "delay",
            {"mode": "time_of_day", "time": "09:00", "weekdays": ["funday"]},
            {"from": "mail1", "to": "d"},
        ),
        "bad_weekdays",
        "d",
        "nodes.d.config.weekdays",
    ),
    (
        "delay date without attribute",
        lambda d: add(d, "d", "delay", {"mode": "date_attribute"}, {"from": "mail1", "to": "d"}),
        "missing_attribute",
        "d",
        "nodes.d.config.attribute",
    ),
    (
        "delay date malformed offset",
        lambda d: add(
            d,
            "d",
            "delay",
            {"mode": "date_attribute", "attribute": "contact.traits.r", "offset": "a week"},
            {"from": "mail1", "to": "d"},
        ),
        "bad_duration",
        "d",
        "nodes.d.config.offset",
    ),
    (
        "update without changes",
        lambda d: add(d, "u", "update_contact", {"set": {}}, {"from": "mail1", "to": "u"}),
        "missing_changes",
        "u",
        "nodes.u.config.set",
    ),
    (
        "update unknown attribute",
        lambda d: add(d, "u", "update_contact", {"set": {"password": "x"}}, {"from": "mail1", "to": "u"}),
        "unknown_attribute",
        "u",
        "nodes.u.config.set.password",
    ),
    (
        "update bad liquid",
        lambda d: add(d, "u", "update_contact", {"set": {"traits.a": "{{ oops"}}, {"from": "mail1", "to": "u"}),
        "bad_liquid",
        "u",
        "nodes.u.config.set.traits.a",
    ),
    (
        "webhook without url",
        lambda d: add(d, "h", "webhook", {}, {"from": "mail1", "to": "h"}),
        "missing_url",
        "h",
        "nodes.h.config.url",
    ),
    (
        "webhook ftp url",
        lambda d: add(d, "h", "webhook", {"url": "ftp://example.com/x"}, {"from": "mail1", "to": "h"}),
        "bad_url",
        "h",
        "nodes.h.config.url",
    ),
    (
        "webhook liquid host",
        lambda d: add(d, "h", "webhook", {"url": "https://{{ contact.host }}/x"}, {"from": "mail1", "to": "h"}),
        "bad_url",
        "h",
        "nodes.h.config.url",
    ),
    (
        "webhook to metadata ip",
        lambda d: add(d, "h", "webhook", {"url": "http://169.254.169.254/latest"}, {"from": "mail1", "to": "h"}),
        "private_url",
        "h",
        "nodes.h.config.url",
    ),
    (
        "webhook to localhost",
        lambda d: add(d, "h", "webhook", {"url": "http://localhost:8000/"}, {"from": "mail1", "to": "h"}),
        "private_url",
        "h",
        "nodes.h.config.url",
    ),
    (
        "webhook bad method",
        lambda d: add(
            d, "h", "webhook", {"url": "https://example.com", "method": "BREW"}, {"from": "mail1", "to": "h"}
        ),
        "bad_method",
        "h",
        "nodes.h.config.method",
    ),
    (
        "webhook bad headers",
        lambda d: add(
            d, "h", "webhook", {"url": "https://example.com", "headers": {"a": {"b": 1}}}, {"from": "mail1", "to": "h"}
        ),
        "bad_headers",
        "h",
        "nodes.h.config.headers",
    ),
    (
        "webhook bad retries",
        lambda d: add(d, "h", "webhook", {"url": "https://example.com", "retries": 50}, {"from": "mail1", "to": "h"}),
        "bad_retries",
        "h",
        "nodes.h.config.retries",
    ),
    (
        "webhook bad timeout",
        lambda d: add(
            d, "h", "webhook", {"url": "https://example.com", "timeout": "10s"}, {"from": "mail1", "to": "h"}
        ),
        "bad_duration",
        "h",
        "nodes.h.config.timeout",
    ),
    (
        "webhook header name with a space",
        lambda d: add(
            d, "h", "webhook", {"url": "https://example.com", "headers": {"X Name": "a"}}, {"from": "mail1", "to": "h"}
        ),
        "bad_header_name",
        "h",
        "nodes.h.config.headers",
    ),
    (
        "webhook header name with a line break",
        lambda d: add(
            d,
            "h",
            "webhook",
            {"url": "https://example.com", "headers": {"X-A\r\nX-Injected": "1"}},
            {"from": "mail1", "to": "h"},
        ),
        "bad_header_name",
        "h",
        "nodes.h.config.headers",
    ),
    (
        "sending unknown over_cap",
        lambda d: d.update(sending={"over_cap": "drop"}),
        "unknown_over_cap",
        "trigger",
        "sending.over_cap",
    ),
    (
        "sending bad max_deferral",
        lambda d: d.update(sending={"max_deferral": "3 days"}),
        "bad_duration",
        "trigger",
        "sending.max_deferral",
    ),
    (
        "sending zero max_deferral",
        lambda d: d.update(sending={"over_cap": "defer", "max_deferral": "PT0S"}),
        "bad_duration",
        "trigger",
        "sending.max_deferral",
    ),
    ("sending not an object", lambda d: d.update(sending="skip"), "invalid", "trigger", "sending"),
    (
        "sending unknown key",
        lambda d: d.update(sending={"overcap": "skip"}),
        "unknown_setting",
        "trigger",
        "sending.overcap",
    ),
    ("no trigger", lambda d: d.pop("trigger"), "missing_trigger", "trigger", "trigger"),
    (
        "unknown trigger type",
        lambda d: d["trigger"].update(type="webhook"),
        "unknown_trigger",
        "trigger",
        "trigger.type",
    ),
    ("event trigger without event", lambda d: d["trigger"].pop("event"), "missing_event", "trigger", "trigger.event"),
    (
        "trigger with unknown operator",
        lambda d: d["trigger"].update(where={"field": "properties.total", "op": "approx", "value": 1}),
        "unknown_operator",
        "trigger",
        "trigger.where.op",
    ),
    (
        "inactivity without duration",
        lambda d: d.__setitem__("trigger", {"type": "inactivity"}),
        "bad_duration",
        "trigger",
        "trigger.duration",
    ),
    (
        "inactivity malformed duration",
        lambda d: d.__setitem__("trigger", {"type": "inactivity", "duration": "30d"}),
        "bad_duration",
        "trigger",
        "trigger.duration",
    ),
    (
        "date trigger without attribute",
        lambda d: d.__setitem__("trigger", {"type": "date_attribute"}),
        "missing_attribute",
        "trigger",
        "trigger.attribute",
    ),
    (
        "date trigger bad offset",
        lambda d: d.__setitem__(
            "trigger", {"type": "date_attribute", "attribute": "contact.traits.b", "offset": "-7d"}
        ),
        "bad_duration",
        "trigger",
        "trigger.offset",
    ),
    (
        "date trigger bad time",
        lambda d: d.__setitem__("trigger", {"type": "date_attribute", "attribute": "contact.traits.b", "time": "noon"}),
        "bad_time",
        "trigger",
        "trigger.time",
    ),
    (
        "unknown re-entry",
        lambda d: d["entry"].update(re_entry="twice"),
        "unknown_re_entry",
        "trigger",
        "entry.re_entry",
    ),
    (
        "cooldown without duration",
        lambda d: d["entry"].update(re_entry="cooldown"),
        "bad_duration",
        "trigger",
        "entry.cooldown",
    ),
    (
        "cooldown malformed",
        lambda d: d["entry"].update(re_entry="cooldown", cooldown="weekly"),
        "bad_duration",
        "trigger",
        "entry.cooldown",
    ),
    (
        "audience unknown operator",
        lambda d: d["entry"].update(audience={"field": "contact.country", "op": "is"}),
        "unknown_operator",
        "trigger",
        "entry.audience.op",
    ),
    (
        "goal without event",
        lambda d: d["exit_on"].append({"as_conversion": True}),
        "missing_event",
        None,
        "exit_on[1].event",
    ),
    (
        "goal unknown operator",
        lambda d: d["exit_on"][0].update(where={"field": "total", "op": "over", "value": 1}),
        "unknown_operator",
        None,
        "exit_on[0].where.op",
    ),
    ("nodes not a list", lambda d: d.update(nodes={}), "invalid", None, "nodes"),
]


@pytest.mark.parametrize("name,change,code,node_id,path", CASES, ids=[c[0] for c in CASES])
def test_it_reports_each_problem_on_its_node_and_field(name, change, code, node_id, path):
    found = problems(with_change(change))
    assert any(p.code == code and p.node == node_id and p.path == path for p in found), [p.as_dict() for p in found]


def test_a_definition_that_is_not_an_object_is_refused():
    assert problems([1, 2])[0].code == "invalid"


def test_problems_become_api_fields():
    found = problems(with_change(lambda d: node(d, "mail1")["config"].pop("template")))
    assert as_fields(found) == {"nodes.mail1.config.template": ["Choose the email template to send."]}


def test_the_sending_choice_is_valid_with_either_value_and_a_duration():
    for sending in ({"over_cap": "skip"}, {"over_cap": "defer", "max_deferral": "PT12H"}, {}):
        assert problems(with_change(lambda d, sending=sending: d.update(sending=sending))) == []


def test_webhook_headers_with_token_names_are_valid():
    headers = {"Authorization": "Bearer {{ contact.traits.token }}", "X-Shop_ID.v2": "7"}
    config = {"url": "https://example.com", "headers": headers}
    definition = with_change(lambda d: add(d, "h", "webhook", config, {"from": "mail1", "to": "h"}))
    assert problems(definition) == []


def test_wait_and_webhook_may_leave_a_port_open_to_end_there():
    definition = with_change(
        lambda d: add(d, "h", "webhook", {"url": "https://example.com/x"}, {"from": "mail1", "to": "h"})
    )
    definition["edges"].append({"from": "h", "port": "success", "to": "e"})
    definition["nodes"].append({"id": "e", "type": "exit"})
    assert problems(definition) == []


def test_a_loop_through_a_delay_is_allowed():
    definition = with_change(
        lambda d: add(d, "d", "delay", {"duration": "P1D"}, {"from": "mail1", "to": "d"}, {"from": "d", "to": "mail1"})
    )
    assert problems(definition) == []


def test_templates_are_pinned_only_for_well_formed_email_nodes():
    from journeys.engine.definition import resolve_templates

    draft = {
        "nodes": [
            {"id": "a", "type": "email", "config": "not an object"},
            {"id": "b", "type": "email", "config": {"template": "welcome"}},
            "not a node",
        ]
    }
    assert resolve_templates(draft, lambda ref: 7) == {"b": 7}
    assert resolve_templates({"nodes": "nope"}, lambda ref: 7) == {}
