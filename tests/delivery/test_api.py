"""The delivery REST API: templates with versions, validation with line and column, previews,
test sends, blocks, coupon pools, the outbox with the sandbox mailbox, sending settings."""

import pytest

from delivery import actions, domains
from delivery.models import Message, SandboxEmail

from .conftest import REFERENCE_MJML, REFERENCE_SUBJECT, cart, make_contact, make_products, simple_mjml


@pytest.fixture
def marketer_api(api, marketer):
    return api(marketer)


def create(client, **overrides):
    body = {"slug": "cart-reminder", "name": "Cart reminder", "subject": REFERENCE_SUBJECT, "mjml": REFERENCE_MJML}
    return client.post("/api/templates", {**body, **overrides}, format="json")


def test_templates_are_created_and_each_change_adds_an_immutable_version(marketer_api):
    response = create(marketer_api)
    assert response.status_code == 201, response.content
    template = response.json()
    assert template["latest_version"]["number"] == 1
    assert set(template["latest_version"]["roots"]) >= {"contact", "cart", "links"}
    changed = marketer_api.patch(f"/api/templates/{template['id']}", {"subject": "New"}, format="json").json()
    assert changed["latest_version"]["number"] == 2 and changed["latest_version"]["subject"] == "New"
    same = marketer_api.patch(f"/api/templates/{template['id']}", {"name": "Renamed"}, format="json").json()
    assert same["latest_version"]["number"] == 2 and same["name"] == "Renamed"
    versions = marketer_api.get(f"/api/templates/{template['id']}/versions").json()
    assert [v["number"] for v in versions] == [2, 1] and versions[1]["subject"] == REFERENCE_SUBJECT
    listing = marketer_api.get("/api/templates").json()
    assert listing["results"][0]["version"] == 2


def test_saving_reports_liquid_errors_with_line_and_column_and_saves_nothing(marketer_api):
    broken = "<mjml><mj-body><mj-section><mj-column>\n<mj-text>{% if cart %}x</mj-text>\n"
    broken += "</mj-column></mj-section></mj-body></mjml>"
    response = create(marketer_api, mjml=broken)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "template_invalid"
    assert body["problems"][0]["line"] == 2 and body["problems"][0]["column"] == 10
    assert "line 2, column 10" in body["fields"]["mjml"][0]
    assert marketer_api.get("/api/templates").json()["count"] == 0


def test_validate_reports_undefined_variables_with_line_and_column(marketer_api):
    response = marketer_api.post(
        "/api/templates/validate", {"mjml": simple_mjml("{{ costumer.name }}"), "subject": "Hi"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    [problem] = body["problems"]
    assert problem["kind"] == "undefined" and problem["line"] == 1 and "costumer.name" in problem["message"]


def test_preview_renders_for_a_contact_or_a_given_context_without_tracking(workspace, marketer_api):
    make_products(workspace)
    contact = make_contact(workspace, cart=cart(("SKU-1001", 1, 49.99, "Trail Running Shoe")))
    template = create(marketer_api).json()
    for_contact = marketer_api.post(f"/api/templates/{template['id']}/preview", {"contact": contact.pk}, format="json")
    assert for_contact.status_code == 200
    body = for_contact.json()
    assert body["subject"] == "Ada, your cart is waiting" and "Trail Running Shoe" in body["text"]
    assert "/t/c/" not in body["html"] and "/t/o/" not in body["html"]
    given = marketer_api.post(
        f"/api/templates/{template['id']}/preview",
        {"context": {"contact": {"first_name": "Zoe"}, "cart": {"items": []}}},
        format="json",
    ).json()
    assert given["subject"] == "Zoe, your cart is waiting"
    unsaved = marketer_api.post(
        f"/api/templates/{template['id']}/preview",
        {"mjml": simple_mjml("Draft for {{ contact.first_name }}"), "subject": "Draft"},
        format="json",
    ).json()
    assert "Draft for" in unsaved["text"]


def test_a_test_send_goes_to_a_member_marked_as_a_test_and_lands_in_the_sandbox(
    workspace, admin, marketer_api, settings
):
    settings.EMAIL_BACKEND = "delivery.backends.SandboxBackend"  # the embedded default (tests use locmem)
    template = create(marketer_api, mjml=simple_mjml("Hello {{ contact.first_name | default: 'you' }}")).json()
    refused = marketer_api.post(
        f"/api/templates/{template['id']}/test-send", {"to": "stranger@example.com"}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["fields"]["to"]
    response = marketer_api.post(f"/api/templates/{template['id']}/test-send", {"to": "admin@acme.test"}, format="json")
    assert response.status_code == 201 and response.json()["is_test"] is True
    message_id = response.json()["id"]
    actions.send_message(message_id)
    mail = SandboxEmail.objects.get()
    assert mail.to == ["admin@acme.test"] and mail.subject.startswith("[Test]")
    detail = marketer_api.get(f"/api/outbox/{message_id}").json()
    assert detail["status"] == "sent" and "Hello you" in detail["text"]
    assert detail["sandbox"]["headers"]["X-Wayline-Test"] == "1"
    assert "<html" in detail["sandbox"]["html"]
    assert marketer_api.get("/api/sandbox").json()["results"][0]["subject"].startswith("[Test]")
    assert marketer_api.get("/api/outbox?test=true").json()["count"] == 1


def test_blocks_validate_their_liquid_and_condition(marketer_api):
    ok = marketer_api.post(
        "/api/blocks",
        {"name": "footer", "source": "<mj-section><mj-column><mj-text>Bye</mj-text></mj-column></mj-section>"},
        format="json",
    )
    assert ok.status_code == 201
    bad = marketer_api.post("/api/blocks", {"name": "x", "source": "{% if %}"}, format="json")
    assert bad.status_code == 400 and bad.json()["problems"][0]["line"] == 1
    bad_rule = marketer_api.post(
        "/api/blocks",
        {"name": "y", "source": "hi", "condition": {"field": "contact.country", "op": "zz"}},
        format="json",
    )
    assert bad_rule.status_code == 400
    used = create(
        marketer_api, mjml='<mjml><mj-body>{% include "footer" %}</mj-body></mjml>', subject="With footer"
    ).json()
    assert used["latest_version"]["blocks"]["footer"]["source"].startswith("<mj-section>")


def test_coupon_pools_take_unique_codes(marketer_api):
    response = marketer_api.post(
        "/api/coupon-pools",
        {"slug": "spring", "name": "Spring", "percent_off": 15, "codes": ["A", "B", "A"]},
        format="json",
    )
    assert response.status_code == 201
    pool = marketer_api.get("/api/coupon-pools").json()["results"][0]
    assert pool["available"] == 2
    more = marketer_api.post(f"/api/coupon-pools/{pool['id']}/codes", {"codes": ["B", "C"]}, format="json").json()
    assert more["added"] == 1 and more["available"] == 3


def test_sending_settings_are_for_admins_and_never_show_secrets(api, admin, marketer):
    assert api(marketer).get("/api/sending-settings").status_code == 403
    client = api(admin)
    response = client.patch(
        "/api/sending-settings",
        {
            "from_email": "news@shop.example",
            "frequency_cap": 2,
            "quiet_hours_start": "21:00",
            "quiet_hours_end": "08:00",
            "smtp_password": "s3cret",
            "topics": [{"key": "newsletter", "name": "Newsletter"}],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["frequency_cap"] == 2 and body["quiet_hours_start"] == "21:00:00"
    assert "smtp_password" not in body and "dkim_private_key" not in body
    half = client.patch("/api/sending-settings", {"quiet_hours_start": None}, format="json")
    assert half.status_code == 400
    key = client.post("/api/sending-settings/dkim-key", {"selector": "wl"}, format="json").json()
    assert key["has_dkim_key"] is True and key["dkim_record"].startswith("v=DKIM1; k=rsa; p=")


class FakeTXT:
    def __init__(self, text):
        self.strings = [text.encode()]


class FakeResolver:
    """DNS without the network: name -> TXT records."""

    def __init__(self, records):
        self.records = records

    def resolve(self, name, kind):
        import dns.resolver

        if name not in self.records:
            raise dns.resolver.NXDOMAIN()
        return [FakeTXT(r) for r in self.records[name]]


def test_the_domain_check_says_which_of_spf_dkim_and_dmarc_are_missing(api, admin, monkeypatch):
    client = api(admin)
    client.patch("/api/sending-settings", {"from_email": "news@shop.example"}, format="json")
    settings_body = client.post("/api/sending-settings/dkim-key", {"selector": "wl"}, format="json").json()
    resolver = FakeResolver({"shop.example": ["v=spf1 include:_spf.example.net ~all", "google-site-verification=x"]})
    monkeypatch.setattr(domains, "default_resolver", lambda: resolver)
    result = client.get("/api/sending-settings/domain-check").json()
    assert result["spf"]["status"] == "ok"
    assert result["dkim"]["status"] == "missing" and result["dkim"]["publish"].startswith("TXT wl._domainkey")
    assert result["dmarc"]["status"] == "missing"
    assert result["needs"] == ["DKIM", "DMARC"]
    resolver.records["wl._domainkey.shop.example"] = [settings_body["dkim_record"]]
    resolver.records["_dmarc.shop.example"] = ["v=DMARC1; p=quarantine"]
    result = client.get("/api/sending-settings/domain-check").json()
    assert result["needs"] == [] and result["dmarc"]["detail"] == "DMARC policy: quarantine."


def test_a_dns_failure_is_reported_not_raised():
    import dns.exception

    class Broken:
        def resolve(self, name, kind):
            raise dns.exception.Timeout()

    result = domains.check_domain("shop.example", "wl", resolver=Broken())
    assert result["spf"]["status"] == "error" and "failed" in result["spf"]["detail"]


def test_an_in_doubt_message_is_resolved_by_an_admin_only(workspace, api, admin, marketer):
    contact = make_contact(workspace)
    template = create(api(marketer), mjml=simple_mjml("x"), subject="x").json()
    from delivery.models import TemplateVersion

    version = TemplateVersion.objects.get(pk=template["latest_version"]["id"])
    message = actions.enqueue_message(workspace, version, idempotency_key="k", contact=contact)
    Message.objects.filter(pk=message.pk).update(status="in_doubt")
    assert (
        api(marketer).post(f"/api/outbox/{message.pk}/resolve", {"resolution": "sent"}, format="json").status_code
        == 403
    )
    response = api(admin).post(f"/api/outbox/{message.pk}/resolve", {"resolution": "resend"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "queued"


def test_the_outbox_is_searched_by_recipient_journey_and_template_and_names_the_journey(workspace, api, marketer):
    from delivery.models import TemplateVersion
    from journeys.models import Journey

    client = api(marketer)
    promo = TemplateVersion.objects.get(
        pk=create(client, slug="promo", mjml=simple_mjml("x")).json()["latest_version"]["id"]
    )
    cart = TemplateVersion.objects.get(pk=create(client, mjml=simple_mjml("y")).json()["latest_version"]["id"])
    journey = Journey.objects.create(workspace=workspace, name="Win back", status="live")
    ada, bob = (
        make_contact(workspace, "ada@shop.test", user_id="ada"),
        make_contact(workspace, "bob@shop.test", user_id="bob"),
    )
    actions.enqueue_message(workspace, promo, idempotency_key="a", contact=ada, journey_id=journey.pk, node_id="mail1")
    actions.enqueue_message(workspace, cart, idempotency_key="b", contact=bob)

    def listed(**query):
        answer = client.get("/api/outbox", query)
        assert answer.status_code == 200, answer.content
        return [(m["to_email"], m["template"], m["journey"], m["node_id"]) for m in answer.json()["results"]]

    ada_row = ("ada@shop.test", "promo", {"id": journey.pk, "name": "Win back"}, "mail1")
    assert listed(journey=journey.pk) == [ada_row]
    assert listed(q="BOB@") == [("bob@shop.test", "cart-reminder", None, "")]
    assert listed(template="promo") == [ada_row]
    assert len(listed()) == 2
    detail = client.get(f"/api/outbox/{Message.objects.get(idempotency_key='a').pk}").json()
    assert detail["journey"] == {"id": journey.pk, "name": "Win back"}
    for query, field in (({"journey": "x"}, "journey"), ({"q": "a\x00"}, "q"), ({"template": "t" * 101}, "template")):
        answer = client.get("/api/outbox", query)
        assert answer.status_code == 400 and field in answer.json()["fields"], (query, answer.content)


def test_a_contacts_emails_are_listed_with_their_opens_clicks_and_unsubscribe(
    workspace, api, marketer, outsider, other_workspace, settings
):
    from .conftest import make_template

    settings.EMAIL_BACKEND = "delivery.backends.SandboxBackend"
    _, version = make_template(workspace, "promo", simple_mjml("Hi"), "Spring sale")
    ada, bob = make_contact(workspace, "ada@shop.test"), make_contact(workspace, "bob@shop.test")
    opened, clicked = (actions.enqueue_message(workspace, version, idempotency_key=k, contact=ada) for k in "ab")
    actions.enqueue_message(workspace, version, idempotency_key="c", contact=bob)
    for message in (opened, clicked):
        actions.send_message(message.pk)
    actions.record_open(opened)
    actions.record_click(clicked, "https://shop.example/sale")
    actions.unsubscribe(clicked)
    client = api(marketer)

    answer = client.get("/api/outbox", {"contact": ada.pk})
    assert answer.status_code == 200, answer.content
    rows = {m["id"]: m for m in answer.json()["results"]}
    assert set(rows) == {opened.pk, clicked.pk}
    assert (rows[opened.pk]["open_count"], rows[opened.pk]["opened_at"] is not None) == (1, True)
    assert (rows[clicked.pk]["click_count"], rows[clicked.pk]["clicked_at"] is not None) == (1, True)
    assert rows[clicked.pk]["unsubscribed_at"] and rows[opened.pk]["unsubscribed_at"] is None
    assert all(m["status"] == "sent" and m["sent_at"] for m in rows.values())
    assert client.get("/api/outbox", {"contact": ada.pk, "limit": 1}).json()["count"] == 2

    for bad in ("ada", "-1", "1" * 19):
        refused = client.get("/api/outbox", {"contact": bad})
        assert refused.status_code == 400 and "contact" in refused.json()["fields"], (bad, refused.content)
    stranger = make_contact(other_workspace, "eve@other.test")
    assert client.get("/api/outbox", {"contact": stranger.pk}).json()["results"] == []
    assert api(outsider).get("/api/outbox", {"contact": ada.pk}).json()["results"] == []
