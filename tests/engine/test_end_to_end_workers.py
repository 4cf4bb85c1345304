"""End to end with real worker processes: Segment calls over HTTP, `manage.py qcluster` workers on
the test database, the real delivery executor, and a real SMTP server (aiosmtpd).

A track call starts the journey; each contact waits; a later event ends one wait, the timeout ends
the others; the branch sends each the right email, with the right content; the goal event exits
the contact from the delay it waits in, with its revenue.
"""

import base64
import json
import uuid

import pytest
from django.test import Client

from delivery import actions as delivery_actions
from delivery import tasks as delivery_tasks
from journeys import drafts, publishing, tasks
from journeys.models import Conversion, Enrollment
from tests.factories import make_write_key

from .cluster import Cluster, SMTPServer, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

REMINDER = """<mjml><mj-body><mj-section><mj-column><mj-text>
Hi {{ contact.traits.first_name }}, your cart {{ event.properties.cart_id }}
worth {{ event.properties.total }} is waiting.
</mj-text></mj-column></mj-section></mj-body></mjml>"""
SMALL = """<mjml><mj-body><mj-section><mj-column><mj-text>
Hi {{ contact.traits.first_name }}, still thinking about it?
</mj-text></mj-column></mj-section></mj-body></mjml>"""

JOURNEY = {
    "trigger": {
        "type": "event",
        "event": "Checkout Started",
        "where": {"field": "event.properties.cart_id", "op": "exists"},
    },
    "entry": {"re_entry": "after_exit"},
    "exit_on": [{"event": "Order Completed", "as_conversion": True}],
    "nodes": [
        {
            "id": "wait",
            "type": "wait_for_event",
            "config": {"event": "Payment Info Entered", "timeout": "PT2S", "match": {"property": "cart_id"}},
        },
        {"id": "paying", "type": "exit", "config": {}},
        {
            "id": "big",
            "type": "branch",
            "config": {"condition": {"field": "event.properties.total", "op": "gte", "value": 100}},
        },
        {"id": "reminder", "type": "email", "config": {"template": "cart-reminder"}},
        {"id": "nudge", "type": "email", "config": {"template": "cart-nudge"}},
        {"id": "later", "type": "delay", "config": {"duration": "PT1H"}},
    ],
    "edges": [
        {"from": "trigger", "to": "wait"},
        {"from": "wait", "port": "event", "to": "paying"},
        {"from": "wait", "port": "timeout", "to": "big"},
        {"from": "big", "port": "yes", "to": "reminder"},
        {"from": "big", "port": "no", "to": "nudge"},
        {"from": "reminder", "to": "later"},
    ],
}


class Segment:
    def __init__(self, key):
        self.client = Client()
        self.auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()

    def __call__(self, endpoint, body):
        body = {"messageId": uuid.uuid4().hex, **body}
        response = self.client.generic(
            "POST", f"/v1/{endpoint}", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=self.auth
        )
        assert response.status_code == 200, response.content


@pytest.fixture
def smtp():
    server = SMTPServer()
    yield server
    server.stop()


@pytest.fixture
def cluster(smtp, settings):
    settings.JOURNEYS_KICKS = "on"
    delivery_tasks.ensure_schedule()
    tasks.ensure_schedule()
    started = Cluster(smtp.port, workers=2).start()
    yield started
    started.stop()


def test_a_journey_runs_end_to_end_on_real_workers(workspace, smtp, cluster):
    for slug, mjml, subject in (
        ("cart-reminder", REMINDER, "{{ contact.traits.first_name }}, your cart is waiting"),
        ("cart-nudge", SMALL, "Still thinking, {{ contact.traits.first_name }}?"),
    ):
        delivery_actions.save_template(workspace, None, slug=slug, name=slug, mjml=mjml, subject=subject)
    journey = drafts.create_journey(workspace, None, "Cart", definition=JOURNEY)
    publishing.publish_journey(journey, None)
    track = Segment(make_write_key(workspace))

    people = {"ann": ("ann@example.com", 150), "bob": ("bob@example.com", 20), "cy": ("cy@example.com", 80)}
    for user_id, (address, _total) in people.items():
        track("identify", {"userId": user_id, "traits": {"email": address, "first_name": user_id.title()}})
    for user_id, (_address, total) in people.items():
        track(
            "track",
            {"userId": user_id, "event": "Checkout Started", "properties": {"cart_id": f"c-{user_id}", "total": total}},
        )

    def enrollment(user_id):
        return Enrollment.objects.filter(journey=journey, contact__user_id=user_id).first()

    # cy pays for the same cart while she waits: her wait ends through the event port
    wait_for(lambda: enrollment("cy") and enrollment("cy").status == "waiting", message="cy waiting")
    track("track", {"userId": "cy", "event": "Payment Info Entered", "properties": {"cart_id": "c-cy"}})

    wait_for(
        lambda: len(smtp.mailbox.to("ann@example.com")) and len(smtp.mailbox.to("bob@example.com")),
        timeout=90,
        message="the two emails",
    )
    wait_for(lambda: enrollment("cy") and enrollment("cy").status == "completed", message="cy's journey")

    ann_mail = smtp.mailbox.to("ann@example.com")[0]["email"]
    assert ann_mail["Subject"] == "Ann, your cart is waiting"
    text = ann_mail.get_body(("plain",)).get_content()
    assert "Hi Ann, your cart c-ann worth 150 is waiting." in " ".join(text.split())
    bob_mail = smtp.mailbox.to("bob@example.com")[0]["email"]
    assert bob_mail["Subject"] == "Still thinking, Bob?"
    assert smtp.mailbox.to("cy@example.com") == []
    assert list(enrollment("cy").steps.values_list("node", "outcome")) == [
        ("wait", "waiting"),
        ("wait", "event"),
        ("paying", "exited"),
    ]

    # ann waits in the delay; her order is the goal: she leaves the journey with the revenue
    wait_for(lambda: enrollment("ann").current_node == "later", message="ann in the delay")
    track("track", {"userId": "ann", "event": "Order Completed", "properties": {"cart_id": "c-ann", "revenue": 150}})
    wait_for(lambda: enrollment("ann").status == "exited", message="ann's goal")
    conversion = Conversion.objects.get(enrollment=enrollment("ann"))
    assert (conversion.goal, str(conversion.revenue)) == ("Order Completed", "150.00")

    assert enrollment("bob").status == "completed"
    assert smtp.mailbox.count() == 2  # nothing else, nothing twice
