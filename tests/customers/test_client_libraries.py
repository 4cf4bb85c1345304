"""The real client libraries, pointed at a running server, deliver calls that reach the contact."""

import pytest
import requests
from rudderstack.analytics import Client as RudderClient
from segment.analytics import Client as SegmentClient
from segment.analytics.request import APIError

from journeys.customers import events
from journeys.models import Contact
from tests.factories import PASSWORD, make_write_key


def _contact_page(live_app, user, user_id):
    """The contact's profile and timeline, as the browser app fetches them from the live server."""
    session = requests.Session()
    session.get(f"{live_app.url}/api/auth/session")
    login = session.post(
        f"{live_app.url}/api/auth/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": live_app.url},
    )
    assert login.status_code == 200, login.text
    contact = Contact.objects.get(user_id=user_id)
    detail = session.get(f"{live_app.url}/api/contacts/{contact.id}").json()
    timeline = session.get(f"{live_app.url}/api/contacts/{contact.id}/timeline").json()["results"]
    return detail, timeline


@pytest.mark.parametrize(
    "make_client",
    [
        pytest.param(lambda key, url, sync: SegmentClient(key, host=url, sync_mode=sync, max_retries=1), id="segment"),
        pytest.param(lambda key, url, sync: RudderClient(key, host=url, sync_mode=sync, max_retries=1), id="rudder"),
    ],
)
@pytest.mark.parametrize("sync_mode", [True, False], ids=["one-call-per-request", "batched"])
def test_calls_from_the_library_appear_on_the_contact(live_app, workspace, admin, make_client, sync_mode):
    errors = []
    client = make_client(make_write_key(workspace), live_app.url, sync_mode)
    client.on_error = lambda error, batch: errors.append(error)
    client.identify(
        "lib-user-1", {"email": "lib.user@example.com", "plan": "pro"}, context={"timezone": "Europe/Berlin"}
    )
    client.track("lib-user-1", "Product Added", {"product_id": "p1", "name": "Tent", "price": 199.0, "quantity": 2})
    client.track("lib-user-1", "Order Completed", {"order_id": "o-1", "total": 398.0, "currency": "EUR"})
    client.page("lib-user-1", category="Docs", name="Pricing")
    client.flush()
    if not sync_mode:
        client.join()
    assert not errors

    events.process_now(workspace.id)
    detail, timeline = _contact_page(live_app, admin, "lib-user-1")
    assert detail["email"] == "lib.user@example.com"
    assert detail["traits"]["plan"] == "pro"
    assert detail["timezone"] == "Europe/Berlin"
    assert detail["lifetime_value"] == 398.0
    assert [order["order_id"] for order in detail["orders"]] == ["o-1"]
    assert sorted(event["type"] + ":" + event["name"] for event in timeline) == [
        "identify:",
        "page:Pricing",
        "track:Order Completed",
        "track:Product Added",
    ]


def test_a_library_sees_401_for_a_bad_key(live_app, workspace):
    client = SegmentClient("wk_wrong", host=live_app.url, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as raised:
        client.track("u1", "E")
    assert raised.value.status == 401
    assert raised.value.code == "invalid_write_key"
    assert "write key" in raised.value.message
