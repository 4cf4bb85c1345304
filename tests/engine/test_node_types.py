"""The one list of node types: ports, the default port of an edge, and the catalog the canvas reads."""

from journeys.engine.nodes import NODE_TYPES, catalog, default_port, ports_of


def test_it_lists_every_node_type_of_the_design():
    assert list(NODE_TYPES) == [
        "email",
        "delay",
        "wait_for_event",
        "branch",
        "split",
        "experiment",
        "update_contact",
        "webhook",
        "exit",
    ]


def test_it_gives_each_node_its_ports():
    assert ports_of({"type": "email"}) == ["next"]
    assert ports_of({"type": "wait_for_event"}) == ["event", "timeout"]
    assert ports_of({"type": "branch"}) == ["yes", "no"]
    assert ports_of({"type": "webhook"}) == ["success", "failure"]
    assert ports_of({"type": "exit"}) == []
    assert ports_of({"type": "split", "config": {"paths": [{"id": "de"}, {"id": "fr"}]}}) == ["de", "fr", "else"]
    assert ports_of({"type": "experiment", "config": {"variants": [{"id": "a"}, {"id": "b"}]}}) == ["a", "b"]
    assert ports_of({"type": "teleport"}) == []


def test_an_edge_without_port_means_the_only_port():
    assert default_port("trigger") == "next"
    assert default_port("delay") == "next"
    assert default_port("branch") is None
    assert default_port("split") is None


def test_the_catalog_is_plain_json():
    data = catalog()
    assert [item["type"] for item in data["node_types"]] == list(NODE_TYPES)
    assert data["trigger_types"] == [
        "event",
        "inactivity",
        "date_attribute",
        "api",
        "segment",
        "price_drop",
        "back_in_stock",
    ]
