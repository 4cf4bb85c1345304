from journeys.models import Contact, Event


def test_it_stores_a_track_call(tracker, workspace):
    response = tracker.post("track", {"userId": "u1", "event": "Signed Up", "properties": {"plan": "pro"}})
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    event = Event.objects.get(workspace=workspace)
    assert (event.type, event.name, event.user_id, event.properties) == ("track", "Signed Up", "u1", {"plan": "pro"})
    assert event.message_id.startswith("wl-")
    assert event.processed_at is None


def test_it_accepts_every_call_type(tracker, workspace):
    calls = {
        "identify": {"userId": "u1", "traits": {"email": "a@example.com"}},
        "track": {"userId": "u1", "event": "Clicked"},
        "page": {"anonymousId": "a1", "name": "Home"},
        "screen": {"anonymousId": "a1", "name": "Settings"},
        "group": {"userId": "u1", "groupId": "g1", "traits": {"name": "Acme"}},
        "alias": {"previousId": "a1", "userId": "u1"},
    }
    for endpoint, body in calls.items():
        assert tracker.post(endpoint, body).status_code == 200, endpoint
    assert sorted(Event.objects.values_list("type", flat=True)) == sorted(calls)
    assert Event.objects.get(type="page").name == "Home"
    assert Event.objects.get(type="alias").payload["previousId"] == "a1"


def test_it_accepts_the_short_paths_analytics_js_uses(tracker, workspace):
    assert tracker.post("t", {"userId": "u1", "event": "Viewed"}).status_code == 200
    assert tracker.post("i/", {"userId": "u1"}).status_code == 200
    assert Event.objects.count() == 2


def test_it_accepts_gzip_bodies(tracker):
    response = tracker.post("track", {"userId": "u1", "event": "Zipped"}, compress=True)
    assert response.status_code == 200, response.content
    assert Event.objects.get().name == "Zipped"


def test_processing_makes_the_contact(tracker, workspace, process):
    tracker.post("identify", {"userId": "u1", "traits": {"email": "Jane@Example.COM", "plan": "pro"}})
    tracker.post("track", {"userId": "u1", "event": "Signed Up"})
    assert process() == 2
    contact = Contact.objects.get(workspace=workspace, user_id="u1")
    assert contact.email == "Jane@example.com"
    assert contact.traits["plan"] == "pro"
    assert contact.events.count() == 2


def test_browsers_may_post_from_any_origin(tracker):
    preflight = tracker.client.options(
        "/v1/track", HTTP_ORIGIN="https://shop.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    response = tracker.post("track", {"userId": "u1", "event": "E"}, origin="https://shop.example")
    assert response["Access-Control-Allow-Origin"] == "*"


def test_analytics_js_plain_text_bodies_are_json(tracker, write_key):
    import json

    body = json.dumps({"userId": "u1", "event": "Viewed", "writeKey": write_key}).encode()
    response = tracker.client.generic("POST", "/v1/t", body, content_type="text/plain")
    assert response.status_code == 200


def test_the_server_answers_preflights_and_calls_with_cors_headers(live_app, write_key):
    import http.client
    import json
    from base64 import b64encode

    conn = http.client.HTTPConnection(live_app.host, live_app.port, timeout=10)
    conn.request(
        "OPTIONS", "/v1/batch", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    )
    preflight = conn.getresponse()
    preflight.read()
    assert (preflight.status, preflight.getheader("Access-Control-Allow-Origin")) == (204, "*")
    body = json.dumps({"batch": [{"type": "track", "userId": "u1", "event": "E"}]})
    auth = "Basic " + b64encode(f"{write_key}:".encode()).decode()
    conn.request(
        "POST",
        "/v1/batch",
        body,
        {"Content-Type": "text/plain", "Authorization": auth, "Origin": "https://shop.example"},
    )
    response = conn.getresponse()
    assert (response.status, json.loads(response.read())) == (200, {"success": True})
    assert response.getheader("Access-Control-Allow-Origin") == "*"
