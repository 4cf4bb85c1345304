"""The QA workspace's REST API: personas, QA settings, gallery, simulation, test sends."""

import pytest

from accounts.models import AuditEntry
from delivery.models import Message
from editor.models import Persona

pytestmark = pytest.mark.django_db


def nodes_of(path):
    """The nodes a path passes through, in order (a node may have several steps: arrive, leave)."""
    nodes = []
    for step in path:
        if not nodes or nodes[-1] != step["node"]:
            nodes.append(step["node"])
    return nodes


def test_marketers_manage_personas_and_qa_uses_them(workspace, marketer, qa, api):
    body = {
        "name": "Jonas in Berlin",
        "traits": {"first_name": "Jonas"},
        "country": "de",
        "city": "Berlin",
        "timezone": "Europe/Berlin",
        "locale": "de-DE",
        "cart_items": [{"sku": "SKU-1", "quantity": 2, "price": "14.99"}],
        "recent_events": [{"name": "Product Viewed", "properties": {"sku": "SKU-1"}, "ago": "PT3H"}],
    }
    created = api(marketer).post("/api/personas", body, format="json")
    assert created.status_code == 201, created.content
    persona = created.json()
    assert persona["country"] == "DE" and persona["locale"] == "de_DE"
    assert persona["cart_items"] == [{"sku": "SKU-1", "quantity": 2, "price": 14.99}]

    assert api(qa).get("/api/personas").json()[0]["name"] == "Jonas in Berlin"
    refused = api(qa).post("/api/personas", {**body, "name": "Other"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert api(qa).delete(f"/api/personas/{persona['id']}").status_code == 403

    changed = api(marketer).patch(f"/api/personas/{persona['id']}", {"city": "Hamburg"}, format="json")
    assert changed.json()["city"] == "Hamburg"
    assert api(marketer).delete(f"/api/personas/{persona['id']}").status_code == 204
    assert not Persona.objects.exists()


def test_it_explains_what_is_wrong_with_a_persona(workspace, marketer, api):
    Persona.objects.create(workspace=workspace, name="Taken")
    response = api(marketer).post(
        "/api/personas",
        {
            "name": "taken",
            "timezone": "Mars/Olympus",
            "country": "Germany",
            "recent_events": [{"name": "X", "ago": "soon"}],
        },
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"name", "timezone", "country", "recent_events"}
    assert "Another persona has this name." in fields["name"]


def test_personas_of_another_workspace_are_not_found(workspace, other_workspace, outsider, api):
    persona = Persona.objects.create(workspace=workspace, name="Mine")
    assert api(outsider).get(f"/api/personas/{persona.id}").status_code == 404
    assert api(outsider).get("/api/personas").json() == []


def test_only_an_admin_changes_the_qa_settings(workspace, admin, marketer, qa, api):
    assert api(qa).get("/api/qa/settings").json()["publish_requires_approval"] is False
    assert (
        api(marketer).patch("/api/qa/settings", {"publish_requires_approval": True}, format="json").status_code == 403
    )
    changed = api(admin).patch(
        "/api/qa/settings", {"publish_requires_approval": True, "seed_list": ["inbox@seed.test"]}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["seed_list"] == ["inbox@seed.test"]
    assert AuditEntry.objects.filter(workspace=workspace, action="qa_settings.changed").exists()


def test_the_gallery_shows_every_persona_at_every_email_node(workspace, qa, api, personas, cart_journey):
    german, price_drop, empty = personas
    response = api(qa).get(f"/api/qa/journeys/{cart_journey.id}/gallery")
    assert response.status_code == 200, response.content
    gallery = response.json()
    assert [n["id"] for n in gallery["nodes"]] == ["mail1", "mail2", "mail3"]
    assert len(gallery["cells"]) == 9
    cell = {(c["persona"], c["node"]): c for c in gallery["cells"]}

    # Everyone gets the first reminder one hour after checking out (the wait times out).
    first = cell[(german.id, "mail1")]
    assert first["reached"] and first["ok"]
    assert nodes_of(first["path"]) == ["wait1", "mail1"]
    assert "Kostenloser Versand" in first["html"] and first["subject"] == "Your cart, Jonas"
    # The branch: a cart of at least 35 at today's prices (39.99; 49.99 when added) gets the
    # big-cart email a day later, smaller carts (2 x 14.99, empty) the reminder. The branch sees
    # the cart the email shows (one context everywhere).
    assert cell[(price_drop.id, "mail2")]["reached"] is True
    assert cell[(price_drop.id, "mail3")]["reached"] is False
    assert cell[(german.id, "mail3")]["reached"] is True and cell[(german.id, "mail2")]["reached"] is False
    assert cell[(empty.id, "mail3")]["subject"] == "Your cart, friend"
    reached = cell[(german.id, "mail3")]
    assert nodes_of(reached["path"]) == ["wait1", "mail1", "delay1", "branch1", "mail3"]
    assert reached["arrives_at"] > first["arrives_at"]
    # A cell off the persona's path is still rendered, for review.
    assert "Hello again" in cell[(german.id, "mail2")]["html"]


def test_a_path_simulation_takes_hypothetical_events(workspace, qa, api, personas, cart_journey):
    german = personas[0]
    url = f"/api/qa/journeys/{cart_journey.id}/simulate"
    plain = api(qa).post(url, {"persona": german.id}, format="json").json()
    assert [m["node"] for m in plain["messages"]] == ["mail1", "mail3"]

    bought = (
        api(qa)
        .post(url, {"persona": german.id, "events": [{"name": "Order Completed", "after": "PT30M"}]}, format="json")
        .json()
    )
    assert bought["status"] == "exited" and bought["exit_reason"] == "goal"
    assert bought["messages"] == []
    assert bought["path"][-1]["outcome"] == "goal"

    invalid = api(qa).post(url, {"persona": german.id, "events": [{"name": "X", "after": "later"}]}, format="json")
    assert invalid.status_code == 400 and "events" in invalid.json()["fields"]


def test_a_test_send_goes_to_me_or_the_seed_list_marked_as_a_test(workspace, qa, api, personas, cart_journey):
    german = personas[0]
    sent = api(qa).post(
        "/api/qa/test-send",
        {"journey": cart_journey.id, "node": "mail1", "persona": german.id, "to": ["me"]},
        format="json",
    )
    assert sent.status_code == 201, sent.content
    message = Message.objects.get(pk=sent.json()["sent"][0]["message_id"])
    assert message.is_test and message.to_email == "qa@acme.test"
    assert message.subject == "[Test] Your cart, Jonas"
    assert "Kostenloser Versand" in message.html
    assert AuditEntry.objects.filter(workspace=workspace, action="qa.test_send").exists()

    refused = api(qa).post(
        "/api/qa/test-send",
        {"journey": cart_journey.id, "node": "mail1", "persona": german.id, "to": ["x@nowhere.test"]},
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["code"] == "not_a_test_address"


def test_another_workspace_cannot_test_send_or_simulate_our_objects(workspace, api, personas, cart_journey, outsider):
    german = personas[0]
    sent = api(outsider).post(
        "/api/qa/test-send", {"journey": cart_journey.id, "node": "mail1", "profile": {}, "to": ["me"]}, format="json"
    )
    assert sent.status_code == 404
    simulated = api(outsider).post(
        f"/api/qa/journeys/{cart_journey.id}/simulate", {"persona": german.id}, format="json"
    )
    assert simulated.status_code == 404
    assert not Message.objects.exists()


def test_a_made_up_profile_is_simulated_without_saving_it(workspace, qa, api, cart_journey, catalog):
    result = (
        api(qa)
        .post(
            f"/api/qa/journeys/{cart_journey.id}/simulate",
            {"profile": {"country": "DE", "cart_items": [{"sku": "SKU-1001", "quantity": 2, "price": 49.99}]}},
            format="json",
        )
        .json()
    )
    assert [m["node"] for m in result["messages"]] == ["mail1", "mail2"]  # 2 x 49.99: a big cart
    assert not Persona.objects.exists()
