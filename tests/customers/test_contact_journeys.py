"""A contact's profile lists the journeys it is in or was in: where it is now, and what it earned."""

import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journeys import drafts, lifecycle, publishing, triggers, worker
from journeys.models import Contact, Event


def live_journey(workspace, name, nodes, edges, **settings):
    definition = {"trigger": {"type": "api"}, "nodes": nodes, "edges": edges, **settings}
    journey = drafts.create_journey(workspace, None, name, definition=definition)
    publishing.publish_journey(journey, None)
    journey.refresh_from_db()
    return journey


def welcome(workspace):
    """A journey whose contacts wait a day on its only step."""
    delay = {"id": "wait1", "type": "delay", "config": {"mode": "duration", "duration": "P1D"}}
    return live_journey(workspace, "Welcome", [delay], [{"from": "trigger", "to": "wait1"}])


def enter(journey, contact):
    enrollment, reason = lifecycle.enroll_contact(journey, contact, trigger={"name": "api", "properties": {}})
    assert reason == "entered"
    while worker.advance_due():
        pass
    return enrollment


def track(contact, name, properties):
    """An event stored and applied as ingestion leaves it, handed to the engine."""
    event = Event.objects.create(
        workspace_id=contact.workspace_id,
        contact=contact,
        message_id=uuid.uuid4().hex,
        type="track",
        name=name,
        user_id=contact.user_id,
        properties=properties,
        timestamp=timezone.now(),
        processed_at=timezone.now(),
    )
    triggers.on_event(event)


def test_it_lists_each_journey_with_where_the_contact_is_and_its_conversion(workspace, marketer, api, settings):
    settings.JOURNEYS_KICKS = "off"
    ada = Contact.objects.create(workspace=workspace, email="ada@shop.test", user_id="ada")
    waiting = enter(welcome(workspace), ada)
    delay = {"id": "wait1", "type": "delay", "config": {"mode": "duration", "duration": "P2D"}}
    goal = [{"event": "Order Completed", "as_conversion": True}]
    cart = live_journey(workspace, "Cart", [delay], [{"from": "trigger", "to": "wait1"}], exit_on=goal)
    converted = enter(cart, ada)
    track(ada, "Order Completed", {"revenue": 59.9, "currency": "eur"})

    answer = api(marketer).get(f"/api/contacts/{ada.pk}/journeys")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["count"] == 2
    rows = {row["id"]: row for row in body["results"]}
    assert [row["id"] for row in body["results"]] == [converted.pk, waiting.pk]  # the newest entry first
    now_waiting = rows[waiting.pk]
    assert now_waiting["journey"] == {"id": waiting.journey_id, "name": "Welcome"}
    assert (now_waiting["version"], now_waiting["status"]) == (1, "waiting")
    assert now_waiting["node"] == {"id": "wait1", "type": "delay", "label": "Delay"}
    assert now_waiting["wake_at"] and now_waiting["finished_at"] is None and now_waiting["conversion"] is None
    done = rows[converted.pk]
    assert (done["status"], done["exit_reason"], done["journey"]["name"]) == ("exited", "goal", "Cart")
    assert done["finished_at"] and done["entered_at"]
    assert {key: done["conversion"][key] for key in ("goal", "revenue", "currency")} == {
        "goal": "Order Completed",
        "revenue": 59.9,
        "currency": "EUR",
    }


def test_a_contact_in_no_journey_has_none_and_the_list_comes_in_pages(workspace, qa, api, settings):
    settings.JOURNEYS_KICKS = "off"
    bob = Contact.objects.create(workspace=workspace, email="bob@shop.test", user_id="bob")
    assert api(qa).get(f"/api/contacts/{bob.pk}/journeys").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    delay = {"id": "wait1", "type": "delay", "config": {"mode": "duration", "duration": "P1D"}}
    for name in ("Welcome", "Win back"):
        journey = live_journey(workspace, name, [delay], [{"from": "trigger", "to": "wait1"}])
        lifecycle.enroll_contact(journey, bob, trigger={"name": "api", "properties": {}})  # no worker ran yet
    page = api(qa).get(f"/api/contacts/{bob.pk}/journeys", {"limit": 1}).json()
    assert (page["count"], len(page["results"]), page["next"] is not None) == (2, 1, True)
    assert page["results"][0]["node"] == {"id": "trigger", "type": "trigger", "label": "Start"}
    assert page["results"][0]["journey"]["name"] == "Win back"

    client = api(qa)

    def queries(limit):
        with CaptureQueriesContext(connection) as done:
            assert len(client.get(f"/api/contacts/{bob.pk}/journeys", {"limit": limit}).json()["results"]) == limit
        return len(done)

    assert queries(2) == queries(1)  # a page costs the same whatever its rows and versions


def test_another_workspace_cannot_see_a_contacts_journeys(workspace, outsider, api, settings):
    settings.JOURNEYS_KICKS = "off"
    ada = Contact.objects.create(workspace=workspace, email="ada@shop.test", user_id="ada")
    enter(welcome(workspace), ada)
    assert api(outsider).get(f"/api/contacts/{ada.pk}/journeys").status_code == 404
