from journeys.models import Contact


def _seed(tracker, process):
    tracker.post(
        "identify", {"userId": "u-ana", "traits": {"email": "ana@example.com", "plan": "vip", "first_name": "Ana"}}
    )
    tracker.post(
        "identify",
        {"userId": "u-ben", "anonymousId": "dev-ben", "traits": {"email": "ben@example.org", "plan": "free"}},
    )
    tracker.post("track", {"userId": "u-ben", "event": "Product Added", "properties": {"product_id": "p", "price": 4}})
    process()


def test_it_lists_and_searches_contacts(tracker, workspace, qa, api, process):
    _seed(tracker, process)
    client = api(qa)
    assert client.get("/api/contacts").json()["count"] == 2
    assert [c["user_id"] for c in client.get("/api/contacts?search=ana@").json()["results"]] == ["u-ana"]
    assert [c["user_id"] for c in client.get("/api/contacts?search=dev-ben").json()["results"]] == ["u-ben"]
    assert [c["user_id"] for c in client.get("/api/contacts?search=plan:vip").json()["results"]] == ["u-ana"]
    assert [c["user_id"] for c in client.get("/api/contacts?search=u-be").json()["results"]] == ["u-ben"]
    ana = client.get("/api/contacts?search=ana").json()["results"][0]
    assert ana["name"] == "Ana"


def test_the_profile_has_traits_cart_identities_and_timeline(tracker, workspace, qa, api, process):
    _seed(tracker, process)
    ben = Contact.objects.get(user_id="u-ben")
    detail = api(qa).get(f"/api/contacts/{ben.id}").json()
    assert detail["traits"]["plan"] == "free"
    assert detail["cart"]["total"] == 4.0
    assert {"kind": "anonymous_id", "value": "dev-ben"} in detail["identities"]
    timeline = api(qa).get(f"/api/contacts/{ben.id}/timeline").json()
    assert [e["name"] for e in timeline["results"]] == ["Product Added", ""]


def test_a_marketer_edits_a_contact_and_the_edit_outranks_older_events(tracker, workspace, marketer, api, process):
    _seed(tracker, process)
    ana = Contact.objects.get(user_id="u-ana")
    response = api(marketer).patch(
        f"/api/contacts/{ana.id}",
        {"traits": {"plan": "free"}, "country": "Germany", "timezone": "Europe/Berlin"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["traits"]["plan"], response.json()["country"]) == ("free", "DE")
    tracker.post("identify", {"userId": "u-ana", "traits": {"plan": "vip"}, "timestamp": "2020-01-01T00:00:00Z"})
    process()
    ana.refresh_from_db()
    assert ana.traits["plan"] == "free"


def test_invalid_edits_name_the_field(tracker, workspace, marketer, api, process):
    _seed(tracker, process)
    ana = Contact.objects.get(user_id="u-ana")
    response = api(marketer).patch(f"/api/contacts/{ana.id}", {"timezone": "Mars/Base"}, format="json")
    assert response.status_code == 400
    assert "timezone" in response.json()["fields"]


def test_export_holds_everything_about_the_contact(tracker, workspace, admin, api, process):
    _seed(tracker, process)
    ben = Contact.objects.get(user_id="u-ben")
    response = api(admin).get(f"/api/contacts/{ben.id}/export")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = response.json()
    assert data["contact"]["email"] == "ben@example.org"
    assert len(data["events"]) == 2
    assert {"kind": "user_id", "value": "u-ben"} in data["identities"]


def test_trait_suggestions(tracker, workspace, qa, api, process):
    _seed(tracker, process)
    keys = {row["key"]: row["type"] for row in api(qa).get("/api/contacts/traits").json()["results"]}
    assert keys["plan"] == "string" and "email" in keys


def test_a_contacts_totals_name_their_currency_in_the_list_and_the_profile(tracker, workspace, qa, api, process):
    """The latest order's currency, else the cart's, else none: the same in the list and the profile."""
    tracker.post("identify", {"userId": "u-new", "traits": {"email": "new@example.com"}})
    cart_line = {"product_id": "p", "price": 4, "currency": "gbp"}
    tracker.post("track", {"userId": "u-cart", "event": "Product Added", "properties": cart_line})
    for order_id, currency, day in (("o-1", "USD", "2026-01-02"), ("o-2", "EUR", "2026-02-03")):
        tracker.post(
            "track",
            {
                "userId": "u-buyer",
                "event": "Order Completed",
                "timestamp": f"{day}T10:00:00Z",
                "properties": {"order_id": order_id, "revenue": 30, "currency": currency},
            },
        )
    process()
    client = api(qa)
    listed = {c["user_id"]: c["currency"] for c in client.get("/api/contacts").json()["results"]}
    assert listed == {"u-new": None, "u-cart": "GBP", "u-buyer": "EUR"}
    for user_id, currency in listed.items():
        contact = Contact.objects.get(user_id=user_id)
        assert client.get(f"/api/contacts/{contact.id}").json()["currency"] == currency
