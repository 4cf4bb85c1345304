"""The journeys REST API as the canvas uses it."""

import json

import pytest

from journeys.engine.nodes import NODE_TYPES
from journeys.models import Enrollment, Journey

from .conftest import definition, make_contact, run_worker, track

GOOD = definition(
    ("wait", "wait_for_event", {"event": "Order Completed", "timeout": "PT1H"}),
    ("mail", "email", {"template": "cart-reminder"}),
    edges=[("trigger", "wait"), ("wait", "timeout", "mail")],
    trigger={"type": "event", "event": "Checkout Started"},
)


def create(client, body=None):
    response = client.post("/api/journeys", body or {"name": "Cart", "definition": GOOD}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_it_creates_reads_and_lists_journeys(workspace, marketer, api, fake_email):
    client = api(marketer)
    created = create(client)
    assert created["status"] == "draft" and created["draft_revision"] == 1 and created["problems"] == []
    read = client.get(f"/api/journeys/{created['id']}").json()
    assert read["draft"]["nodes"][0]["id"] == "wait"
    listed = client.get("/api/journeys").json()["results"]
    assert [(j["name"], j["trigger_event"], j["updated_by"]["email"]) for j in listed] == [
        ("Cart", "Checkout Started", "marketer@acme.test")
    ]


def test_saving_a_stale_revision_gets_409(workspace, marketer, api, fake_email):
    client = api(marketer)
    journey = create(client)
    url = f"/api/journeys/{journey['id']}/draft"
    first = client.put(url, {"definition": GOOD, "revision": 1}, format="json")
    assert first.status_code == 200 and first.json()["draft_revision"] == 2
    stale = client.put(url, {"definition": GOOD, "revision": 1}, format="json")
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_revision"


def test_validate_names_the_node_and_field(workspace, marketer, qa, api, fake_email):
    journey = create(api(marketer))
    broken = json.loads(json.dumps(GOOD))
    broken["nodes"][1]["config"]["template"] = "does-not-exist"
    response = api(qa).post(f"/api/journeys/{journey['id']}/validate", {"definition": broken}, format="json")
    assert response.status_code == 200
    assert response.json()["valid"] is False
    problem = response.json()["problems"][0]
    assert (problem["code"], problem["node"], problem["field"]) == ("unknown_template", "mail", "config.template")


def test_publishing_an_invalid_draft_is_refused_with_fields(workspace, marketer, api, fake_email):
    client = api(marketer)
    journey = create(client, {"name": "Empty"})
    response = client.post(f"/api/journeys/{journey['id']}/publish", {"revision": 1}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_definition"
    assert "trigger.event" in response.json()["fields"]


def test_publish_pause_resume_archive_and_versions(workspace, marketer, api, fake_email):
    client = api(marketer)
    journey = create(client)
    url = f"/api/journeys/{journey['id']}"
    published = client.post(f"{url}/publish", {"revision": 1}, format="json").json()
    assert published["status"] == "live" and published["live_version"] == 1
    assert published["has_unpublished_changes"] is False
    assert client.post(f"{url}/pause").json()["status"] == "paused"
    assert client.post(f"{url}/pause").status_code == 409
    assert client.post(f"{url}/resume").json()["status"] == "live"
    versions = client.get(f"{url}/versions").json()
    assert [(v["number"], v["live"]) for v in versions] == [(1, True)]
    version = client.get(f"{url}/versions/1").json()
    assert version["definition"]["nodes"] == GOOD["nodes"]
    assert version["template_versions"] == {"mail": 101}
    assert client.get(f"{url}/versions/9").status_code == 404
    assert client.post(f"{url}/archive").json()["status"] == "archived"
    assert client.put(f"{url}/draft", {"definition": GOOD, "revision": 1}, format="json").status_code == 409


def test_publish_dry_run_counts_contacts_in_flight_per_node(workspace, marketer, api, fake_email):
    client = api(marketer)
    journey = create(client)
    url = f"/api/journeys/{journey['id']}"
    client.post(f"{url}/publish", {"revision": 1}, format="json")
    for _ in range(3):
        track(make_contact(workspace), "Checkout Started")
    run_worker()
    dry = client.post(f"{url}/publish", {"revision": 1, "dry_run": True, "move": {"wait": "wait"}}, format="json")
    assert dry.status_code == 200, dry.content
    assert dry.json()["in_flight"] == 3
    assert dry.json()["nodes"] == [
        {
            "version": 1,
            "node": "wait",
            "count": 3,
            "action": "move",
            "to": "wait",
            "type": "wait_for_event",
            "target": "wait",
        }
    ]
    assert Journey.objects.get(pk=journey["id"]).versions.count() == 1


def test_export_and_import_round_trip(workspace, marketer, api, fake_email):
    client = api(marketer)
    journey = create(client)
    exported = client.get(f"/api/journeys/{journey['id']}/export")
    assert exported["Content-Disposition"].startswith("attachment")
    document = json.loads(exported.content)
    imported = client.post("/api/journeys/import", document, format="json")
    assert imported.status_code == 201
    assert imported.json()["draft"] == GOOD and imported.json()["status"] == "draft"
    bad = client.post("/api/journeys/import", {"name": "x"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_import"


def test_node_types_and_library(workspace, qa, marketer, api, fake_email):
    types = api(qa).get("/api/journeys/node-types").json()
    assert [t["type"] for t in types["node_types"]] == list(NODE_TYPES)
    library = api(qa).get("/api/journeys/library").json()
    assert {item["key"] for item in library} >= {"cart-abandonment", "welcome-series"}
    created = create(api(marketer), {"library_key": "cart-abandonment"})
    assert created["name"] == "Cart abandonment" and created["problems"] == []
    assert set(created["draft"]["layout"]) == {n["id"] for n in created["draft"]["nodes"]}


def test_counts_per_node(workspace, marketer, api, fake_email):
    client = api(marketer)
    journey = create(client)
    client.post(f"/api/journeys/{journey['id']}/publish", {"revision": 1}, format="json")
    track(make_contact(workspace), "Checkout Started")
    run_worker()
    counts = client.get(f"/api/journeys/{journey['id']}/counts").json()["nodes"]
    assert counts["wait"] == {"entered": 1, "waiting": 1, "left": 0}


def test_the_api_trigger_enrolls_with_a_payload(workspace, marketer, api, fake_email):
    client = api(marketer)
    api_journey = definition(
        ("mail", "email", {"template": "welcome"}), edges=[("trigger", "mail")], trigger={"type": "api"}
    )
    journey = create(client, {"name": "API", "definition": api_journey})
    url = f"/api/journeys/{journey['id']}"
    client.post(f"{url}/publish", {"revision": 1}, format="json")
    contact = make_contact(workspace)
    body = {"user_id": contact.user_id, "payload": {"coupon": "X1"}, "idempotency_key": "k1"}
    first = client.post(f"{url}/enroll", body, format="json")
    assert first.status_code == 201 and first.json()["enrolled"] is True
    again = client.post(f"{url}/enroll", {**body, "idempotency_key": "k2"}, format="json")
    assert again.json() == {"enrolled": False, "reason": "already_in_journey", "enrollment": None}
    enrollment = Enrollment.objects.get(journey_id=journey["id"])
    assert enrollment.context["trigger"]["properties"] == {"coupon": "X1"}
    unknown = client.post(f"{url}/enroll", {"email": "nobody@example.com"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_contact"


def test_enroll_refuses_a_journey_started_by_events(workspace, marketer, api, fake_email):
    client = api(marketer)
    journey = create(client)
    client.post(f"/api/journeys/{journey['id']}/publish", {"revision": 1}, format="json")
    contact = make_contact(workspace)
    response = client.post(f"/api/journeys/{journey['id']}/enroll", {"contact": contact.pk}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "not_api_trigger"


def test_simulate_returns_the_path_times_and_messages(workspace, qa, marketer, api, fake_email):
    journey = create(api(marketer))
    body = {
        "profile": {"email": "p@example.com", "country": "DE"},
        "start": "2025-06-16T10:00:00Z",
        "events": [{"after": "PT0S", "name": "Checkout Started", "properties": {"cart_id": "c1"}}],
    }
    response = api(qa).post(f"/api/qa/journeys/{journey['id']}/simulate", body, format="json")
    assert response.status_code == 200, response.content
    result = response.json()
    assert [(step["node"], step["outcome"], step["at"]) for step in result["path"]] == [
        ("wait", "waiting", "2025-06-16T10:00:00+00:00"),
        ("wait", "timeout", "2025-06-16T11:00:00+00:00"),
        ("mail", "sent", "2025-06-16T11:00:00+00:00"),
    ]
    assert result["messages"][0]["template"] == "cart-reminder" and result["status"] == "completed"


def test_simulate_for_a_real_contact(workspace, qa, marketer, api, fake_email):
    journey = create(api(marketer))
    contact = make_contact(workspace, country="FR")
    body = {
        "contact": contact.pk,
        "start": "2025-06-16T10:00:00Z",
        "events": [{"after": "PT10M", "name": "Order Completed"}],
    }
    result = api(qa).post(f"/api/qa/journeys/{journey['id']}/simulate", body, format="json").json()
    assert [(s["node"], s["outcome"]) for s in result["path"]] == [("wait", "waiting"), ("wait", "event")]
    assert result["messages"] == [] and result["status"] == "completed"


@pytest.mark.parametrize("policy", ["after_exit", "once", "cooldown"])
def test_an_idempotency_key_enrolls_and_sends_once_under_every_policy(workspace, marketer, api, fake_email, policy):
    client = api(marketer)
    entry = {"re_entry": policy, **({"cooldown": "PT1S"} if policy == "cooldown" else {})}
    api_journey = definition(
        ("mail", "email", {"template": "welcome"}), edges=[("trigger", "mail")], trigger={"type": "api"}, entry=entry
    )
    journey = create(client, {"name": "API", "definition": api_journey})
    url = f"/api/journeys/{journey['id']}"
    client.post(f"{url}/publish", {"revision": 1}, format="json")
    contact = make_contact(workspace)
    body = {"contact": contact.pk, "payload": {}, "idempotency_key": "order-1001"}
    first = client.post(f"{url}/enroll", body, format="json").json()
    run_worker()  # the email goes out and the enrollment completes
    assert Enrollment.objects.get(pk=first["enrollment"]).status == Enrollment.Status.COMPLETED

    again = client.post(f"{url}/enroll", body, format="json")
    run_worker()
    assert again.status_code == 200
    assert again.json() == {"enrolled": False, "reason": "duplicate_trigger", "enrollment": first["enrollment"]}
    assert Enrollment.objects.filter(journey_id=journey["id"]).count() == 1
    assert len(fake_email.calls) == 1


def test_the_enrollments_say_where_each_contact_is_and_the_path_it_took(workspace, marketer, api, fake_email):
    client = api(marketer)
    journey = create(client)
    url = f"/api/journeys/{journey['id']}/enrollments"
    client.post(f"/api/journeys/{journey['id']}/publish", {"revision": 1}, format="json")
    ada, bob = make_contact(workspace, email="ada@shop.test"), make_contact(workspace, email="bob@shop.test")
    for contact in (ada, bob):
        track(contact, "Checkout Started")
    run_worker()

    answer = client.get(url)
    assert answer.status_code == 200, answer.content
    rows = answer.json()["results"]
    assert answer.json()["count"] == 2
    assert {(r["contact"]["email"], r["node"], r["status"], r["version"]) for r in rows} == {
        ("ada@shop.test", "wait", "waiting", 1),
        ("bob@shop.test", "wait", "waiting", 1),
    }
    assert all(r["wake_at"] for r in rows)
    assert [step["node"] for step in rows[0]["path"]] == ["wait"]  # the nodes it entered, in order

    assert [r["contact"]["email"] for r in client.get(url, {"q": "ADA@"}).json()["results"]] == ["ada@shop.test"]
    assert client.get(url, {"node": "wait", "status": "waiting"}).json()["count"] == 2
    assert client.get(url, {"node": "mail"}).json()["count"] == 0
    assert client.get(url, {"status": "completed"}).json()["count"] == 0
    track(ada, "Order Completed")  # Ada orders: her path ends on "wait", and she is no longer there
    run_worker()
    assert client.get(url, {"node": "wait"}).json()["count"] == 2
    still = client.get(url, {"node": "wait", "status": "open"}).json()["results"]
    assert [r["contact"]["email"] for r in still] == ["bob@shop.test"]
    assert [r["status"] for r in client.get(url, {"q": "ada"}).json()["results"]] == ["completed"]


def test_the_enrollments_refuse_an_unknown_node_or_status_by_name(workspace, marketer, api, fake_email):
    client = api(marketer)
    url = f"/api/journeys/{create(client)['id']}/enrollments"
    unknown = client.get(url, {"node": "nowhere"})
    assert unknown.status_code == 400 and "nowhere" in unknown.json()["fields"]["node"][0]
    assert "status" in client.get(url, {"status": "lost"}).json()["fields"]
    assert "q" in client.get(url, {"q": "a\x00b"}).json()["fields"]


def test_another_workspace_cannot_list_the_enrollments(workspace, marketer, outsider, api, fake_email):
    journey = create(api(marketer))
    assert api(outsider).get(f"/api/journeys/{journey['id']}/enrollments").status_code == 404
