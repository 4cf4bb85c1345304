def test_event_names_and_properties_seen_in_the_workspace(tracker, workspace, qa, api, process):
    tracker.post(
        "track", {"userId": "u1", "event": "Order Completed", "properties": {"total": 10, "address": {"city": "Oslo"}}}
    )
    tracker.post("track", {"userId": "u1", "event": "Order Completed", "properties": {"coupon": "X"}})
    tracker.post("track", {"userId": "u1", "event": "Signed Up"})
    process()
    names = api(qa).get("/api/events/names").json()["results"]
    assert [(n["name"], n["count"]) for n in names] == [("Order Completed", 2), ("Signed Up", 1)]
    properties = api(qa).get("/api/events/properties", {"event": "Order Completed"}).json()["results"]
    assert {p["key"]: p["type"] for p in properties} == {
        "total": "number",
        "address.city": "string",
        "coupon": "string",
    }
    assert next(p for p in properties if p["key"] == "total")["example"] == 10
    assert next(p for p in properties if p["key"] == "coupon")["example"] is None  # strings may be personal


def test_recent_events_for_the_data_sources_page(tracker, workspace, qa, api):
    tracker.post("track", {"userId": "u1", "event": "First"})
    tracker.post("track", {"userId": "u1", "event": "Second"})
    data = api(qa).get("/api/events/recent").json()
    assert [e["name"] for e in data["results"]] == ["Second", "First"]
    assert data["pending"] == 2
    newest = data["results"][0]["id"]
    tracker.post("track", {"userId": "u1", "event": "Third"})
    assert [e["name"] for e in api(qa).get(f"/api/events/recent?after={newest}").json()["results"]] == ["Third"]


def test_other_workspaces_events_are_not_shown(tracker, workspace, outsider, api, process):
    tracker.post("track", {"userId": "u1", "event": "Secret"})
    process()
    assert api(outsider).get("/api/events/recent").json()["results"] == []
    assert api(outsider).get("/api/events/names").json()["results"] == []
