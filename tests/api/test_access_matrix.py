"""Endpoint by endpoint: who is refused (403) where their role ends, and that a member of one
workspace never finds an object of another (404).

Each row: (method, url template, body, roles refused). `{id}` is filled by the row's `make`
function with an object of the requesting member's workspace (for the 403 cases) or of the
other workspace (for the 404 cases).
"""

import pytest

from accounts import actions
from accounts.models import Membership, Role
from tests.factories import make_member


def _member(workspace):
    return Membership.objects.filter(workspace=workspace).order_by("id").first().id


def _invitation(workspace):
    invitation, _ = actions.invite_member(workspace, None, f"invitee-{workspace.id}@example.com", Role.QA)
    return invitation.id


def _write_key(workspace):
    key, _ = actions.create_write_key(workspace, None, "k")
    return key.id


# (method, url, body, roles that get 403, maker of {id} or None)
ENDPOINTS = [
    ("get", "/api/members", None, {"marketer", "qa"}, None),
    ("get", "/api/members/{id}", None, {"marketer", "qa"}, _member),
    ("patch", "/api/members/{id}", {"role": "qa"}, {"marketer", "qa"}, _member),
    ("post", "/api/members/{id}/deactivate", None, {"marketer", "qa"}, _member),
    ("post", "/api/members/{id}/reactivate", None, {"marketer", "qa"}, _member),
    ("get", "/api/invitations", None, {"marketer", "qa"}, None),
    ("post", "/api/invitations", {"email": "x@example.com", "role": "qa"}, {"marketer", "qa"}, None),
    ("post", "/api/invitations/{id}/revoke", None, {"marketer", "qa"}, _invitation),
    ("get", "/api/write-keys", None, {"marketer", "qa"}, None),
    ("post", "/api/write-keys", {"name": "k"}, {"marketer", "qa"}, None),
    ("post", "/api/write-keys/{id}/revoke", None, {"marketer", "qa"}, _write_key),
    ("get", "/api/audit", None, {"marketer", "qa"}, None),
    ("get", "/api/tokens", None, set(), None),
    ("post", "/api/tokens", {"name": "t"}, set(), None),
]

# Other apps register their rows here (keep one list per app, appended below).
ENDPOINTS += []

# -- journeys (engine) --
_MATRIX_DEFINITION = {
    "trigger": {"type": "api"},
    "nodes": [{"id": "d", "type": "delay", "config": {"duration": "P1D"}}],
    "edges": [{"from": "trigger", "to": "d"}],
}


def _journey(workspace, publish=False, pause=False):
    from journeys import drafts, publishing
    from journeys.models import Contact

    journey = drafts.create_journey(workspace, None, "Matrix", definition=_MATRIX_DEFINITION)
    Contact.objects.get_or_create(workspace=workspace, user_id="matrix-user")
    if publish:
        publishing.publish_journey(journey, None)
    if pause:
        publishing.pause_journey(journey, None)
    return journey.id


def _live_journey(workspace):
    return _journey(workspace, publish=True)


def _paused_journey(workspace):
    return _journey(workspace, publish=True, pause=True)


ENDPOINTS += [
    ("get", "/api/journeys", None, set(), None),
    ("post", "/api/journeys", {"name": "J"}, {"qa"}, None),
    ("get", "/api/journeys/library", None, set(), None),
    ("get", "/api/journeys/node-types", None, set(), None),
    ("post", "/api/journeys/import", {"name": "I", "definition": _MATRIX_DEFINITION}, {"qa"}, None),
    ("get", "/api/journeys/{id}", None, set(), _journey),
    ("patch", "/api/journeys/{id}", {"name": "Renamed"}, {"qa"}, _journey),
    ("put", "/api/journeys/{id}/draft", {"definition": _MATRIX_DEFINITION, "revision": 1}, {"qa"}, _journey),
    ("post", "/api/journeys/{id}/validate", {}, set(), _journey),
    ("post", "/api/journeys/{id}/publish", {"dry_run": True}, {"qa"}, _journey),
    ("post", "/api/journeys/{id}/publish", {}, {"qa"}, _journey),
    ("post", "/api/journeys/{id}/pause", None, {"qa"}, _live_journey),
    ("post", "/api/journeys/{id}/resume", None, {"qa"}, _paused_journey),
    ("post", "/api/journeys/{id}/archive", None, {"qa"}, _journey),
    ("get", "/api/journeys/{id}/versions", None, set(), _live_journey),
    ("get", "/api/journeys/{id}/versions/1", None, set(), _live_journey),
    ("get", "/api/journeys/{id}/export", None, set(), _journey),
    ("get", "/api/journeys/{id}/counts", None, set(), _live_journey),
    ("get", "/api/journeys/{id}/enrollments", None, set(), _live_journey),
    ("get", "/api/journeys/{id}/report", None, set(), _live_journey),
    ("get", "/api/journeys/{id}/entry-estimate", None, set(), _journey),
    ("get", "/api/journeys/{id}/experiments", None, set(), _live_journey),
    ("get", "/api/journeys/{id}/report?download=csv", None, set(), _live_journey),
    ("post", "/api/journeys/{id}/enroll", {"user_id": "matrix-user"}, {"qa"}, _live_journey),
]


# -- QA workspace (editor: personas, settings, approvals, gallery, simulation) --


def _persona(workspace):
    from editor.models import Persona

    return Persona.objects.create(workspace=workspace, name=f"Matrix persona {Persona.objects.count()}").id


ENDPOINTS += [
    ("get", "/api/personas", None, set(), None),
    ("post", "/api/personas", {"name": "New persona", "country": "DE"}, {"qa"}, None),
    ("get", "/api/personas/{id}", None, set(), _persona),
    ("patch", "/api/personas/{id}", {"city": "Berlin"}, {"qa"}, _persona),
    ("delete", "/api/personas/{id}", None, {"qa"}, _persona),
    ("get", "/api/qa/settings", None, set(), None),
    ("patch", "/api/qa/settings", {"seed_list": ["seed@example.com"]}, {"marketer", "qa"}, None),
    ("get", "/api/qa/journeys/{id}/approval", None, set(), _journey),
    ("post", "/api/qa/journeys/{id}/approval", {"revision": 1}, {"marketer"}, _journey),
    ("post", "/api/qa/journeys/{id}/approval/withdraw", None, {"marketer"}, _journey),
    ("get", "/api/qa/journeys/{id}/gallery", None, set(), _journey),
    ("post", "/api/qa/journeys/{id}/simulate", {"profile": {"country": "DE"}}, set(), _journey),
]


# -- journeys (customer data: contacts, catalog, imports, events) --
def _contact(workspace):
    from journeys.models import Contact

    return Contact.objects.create(workspace=workspace, email=f"c{workspace.id}@example.com", traits={"plan": "pro"}).id


def _product(workspace):
    from journeys.models import Product

    return Product.objects.create(workspace=workspace, sku=f"SKU-{workspace.id}", name="Tent", price=10).id


def _import_job(workspace):
    from journeys.models import ImportJob

    return ImportJob.objects.create(workspace=workspace, kind="products", status="done").id


_PRODUCT = {"sku": "NEW-1", "name": "Stove", "price": "55.00"}
ENDPOINTS += [
    ("get", "/api/contacts", None, set(), None),
    ("get", "/api/contacts/traits", None, set(), None),
    ("get", "/api/contacts/{id}", None, set(), _contact),
    ("patch", "/api/contacts/{id}", {"traits": {"plan": "free"}}, {"qa"}, _contact),
    ("get", "/api/contacts/{id}/timeline", None, set(), _contact),
    ("get", "/api/contacts/{id}/journeys", None, set(), _contact),
    ("get", "/api/contacts/{id}/export", None, set(), _contact),
    ("post", "/api/contacts/{id}/erase", None, {"marketer", "qa"}, _contact),
    ("get", "/api/products", None, set(), None),
    ("post", "/api/products", _PRODUCT, {"qa"}, None),
    ("get", "/api/products/categories", None, set(), None),
    ("post", "/api/products/bulk", {"products": [_PRODUCT]}, {"qa"}, None),
    ("get", "/api/products/{id}", None, set(), _product),
    ("patch", "/api/products/{id}", {"stock": 4}, {"qa"}, _product),
    ("delete", "/api/products/{id}", None, {"qa"}, _product),
    ("get", "/api/imports", None, set(), None),
    ("post", "/api/imports", {"kind": "products", "content": "sku,name,price\nA,B,1\n"}, {"qa"}, None),
    ("get", "/api/imports/{id}", None, set(), _import_job),
    ("get", "/api/events/recent", None, set(), None),
    ("get", "/api/events/names", None, set(), None),
    ("get", "/api/events/properties?event=Order%20Completed", None, set(), None),
]


# -- journeys (customer data: saved segments) --
_SEGMENT_RULE = {"field": "contact.traits.plan", "op": "eq", "value": "pro"}


def _segment(workspace, kind="dynamic"):
    from journeys.models import Segment

    rule = _SEGMENT_RULE if kind == "dynamic" else {}
    return Segment.objects.create(workspace=workspace, name=f"Segment {kind}", kind=kind, rule=rule).id


def _static_segment(workspace):
    return _segment(workspace, "static")


def _static_member(workspace):
    """`{id}/members/<contact id>`: a static list holding a contact (the row's url is /api/segments/{id})."""
    from journeys import clock
    from journeys.customers import segments
    from journeys.models import Contact, Segment

    segment = Segment.objects.get(pk=_static_segment(workspace))
    contact = Contact.objects.create(workspace=workspace, email=f"m{workspace.id}@example.com")
    segments.add_members(segment, [contact], clock.now())
    return f"{segment.id}/members/{contact.id}"


def _static_with_contact(workspace):
    from journeys.models import Contact

    Contact.objects.get_or_create(workspace=workspace, email=f"add{workspace.id}@example.com")
    return _static_segment(workspace)


ENDPOINTS += [
    ("get", "/api/segments", None, set(), None),
    ("post", "/api/segments", {"name": "New", "rule": _SEGMENT_RULE}, {"qa"}, None),
    ("post", "/api/segments/preview", {"rule": _SEGMENT_RULE}, set(), None),
    ("get", "/api/segments/{id}", None, set(), _segment),
    ("patch", "/api/segments/{id}", {"description": "d"}, {"qa"}, _segment),
    ("delete", "/api/segments/{id}", None, {"qa"}, _segment),
    ("get", "/api/segments/{id}/members", None, set(), _segment),
    ("get", "/api/segments/{id}/history", None, set(), _segment),
    ("get", "/api/segments/{id}/export", None, set(), _segment),
    ("post", "/api/segments/{id}/members", {"emails": ["add@example.com"]}, {"qa"}, _static_with_contact),
    ("delete", "/api/segments/{id}", None, {"qa"}, _static_member),  # DELETE .../members/<contact id>
]


def _broadcast(workspace):
    from journeys.models import Broadcast, Segment

    segment = Segment.objects.get(pk=_static_segment(workspace))
    return Broadcast.objects.create(workspace=workspace, name="Sale", segment=segment, template="t").id


ENDPOINTS += [
    ("get", "/api/broadcasts", None, set(), None),
    ("get", "/api/broadcasts/{id}", None, set(), _broadcast),
    ("delete", "/api/broadcasts/{id}", None, {"qa"}, _broadcast),
    ("get", "/api/predictions", None, set(), None),
    ("post", "/api/predictions/fit", None, {"qa"}, None),
]

# -- delivery (templates, blocks, coupons, outbox, sandbox mailbox, sending settings) --
_MJML = (
    "<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{ contact.first_name }}</mj-text>"
    "</mj-column></mj-section></mj-body></mjml>"
)


def _template(workspace):
    from delivery import actions as delivery_actions

    template, _ = delivery_actions.save_template(
        workspace, None, slug=f"t-{workspace.id}", name="T", subject="Hello", mjml=_MJML
    )
    return template.id


def _block(workspace):
    from delivery.models import ContentBlock

    return ContentBlock.objects.create(workspace=workspace, name=f"b{workspace.id}", source="Hi").id


def _coupon_pool(workspace):
    from delivery.models import CouponPool

    return CouponPool.objects.create(workspace=workspace, slug=f"p{workspace.id}", name="P").id


def _message(workspace):
    from delivery import actions as delivery_actions
    from delivery.models import Template

    template = Template.objects.get(pk=_template(workspace))
    message = delivery_actions.enqueue_message(
        workspace, template.latest_version, idempotency_key=f"m{workspace.id}", to_email="a@example.com"
    )
    return message.id


def _in_doubt_message(workspace):
    from delivery.models import Message

    message_id = _message(workspace)
    Message.objects.filter(pk=message_id).update(status="in_doubt")
    return message_id


def _sandbox_email(workspace):
    from delivery.models import SandboxEmail

    return SandboxEmail.objects.create(
        workspace=workspace, from_email="a@x.test", to=["b@x.test"], subject="s", raw=""
    ).id


ENDPOINTS += [
    ("get", "/api/templates", None, set(), None),
    ("post", "/api/templates", {"slug": "new", "name": "N", "subject": "S", "mjml": _MJML}, {"qa"}, None),
    ("get", "/api/templates/{id}", None, set(), _template),
    ("patch", "/api/templates/{id}", {"subject": "Changed"}, {"qa"}, _template),
    ("delete", "/api/templates/{id}", None, {"qa"}, _template),
    ("get", "/api/templates/{id}/versions", None, set(), _template),
    ("post", "/api/templates/validate", {"mjml": _MJML, "subject": "S"}, set(), None),
    ("post", "/api/templates/{id}/preview", {"context": {"contact": {"first_name": "A"}}}, set(), _template),
    ("post", "/api/templates/{id}/test-send", {"to": "admin@acme.test"}, set(), _template),
    ("get", "/api/blocks", None, set(), None),
    ("post", "/api/blocks", {"name": "hdr", "source": "Hi"}, {"qa"}, None),
    ("get", "/api/blocks/{id}", None, set(), _block),
    ("patch", "/api/blocks/{id}", {"source": "Hello"}, {"qa"}, _block),
    ("delete", "/api/blocks/{id}", None, {"qa"}, _block),
    ("get", "/api/coupon-pools", None, set(), None),
    ("post", "/api/coupon-pools", {"slug": "s", "name": "S", "codes": ["A"]}, {"qa"}, None),
    ("post", "/api/coupon-pools/{id}/codes", {"codes": ["B"]}, {"qa"}, _coupon_pool),
    ("get", "/api/outbox", None, set(), None),
    ("get", "/api/outbox/{id}", None, set(), _message),
    ("post", "/api/outbox/{id}/resolve", {"resolution": "sent"}, {"marketer", "qa"}, _in_doubt_message),
    ("get", "/api/sandbox", None, set(), None),
    ("get", "/api/sandbox/{id}", None, set(), _sandbox_email),
    ("get", "/api/sending-settings", None, {"marketer", "qa"}, None),
    ("patch", "/api/sending-settings", {"frequency_cap": 4}, {"marketer", "qa"}, None),
    ("post", "/api/sending-settings/dkim-key", {"selector": "s1"}, {"marketer", "qa"}, None),
    ("get", "/api/sending-settings/domain-check", None, {"marketer", "qa"}, None),  # admins: live DNS
]

# -- delivery: starter templates and the template picker's thumbnails (issue 15) --
ENDPOINTS += [
    ("get", "/api/templates/starters", None, set(), None),
    ("post", "/api/templates/from-starter", {"key": "welcome"}, {"qa"}, None),
    ("get", "/api/templates/thumbnails?search=t", None, set(), None),
]


def _roles_cases():
    for method, url, body, refused, make in ENDPOINTS:
        for role in ("marketer", "qa"):
            yield pytest.param(method, url, body, role, role in refused, make, id=f"{role}-{method}-{url}")


@pytest.mark.parametrize("method,url,body,role,refused,make", list(_roles_cases()))
def test_it_refuses_a_role_where_it_ends(workspace, admin, api, method, url, body, role, refused, make):
    member = make_member(workspace, role)
    target = url.format(id=make(workspace)) if make else url
    response = getattr(api(member), method)(target, body, format="json")
    if refused:
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission_denied"
    else:
        assert response.status_code < 400, response.content


@pytest.mark.parametrize(
    "method,url,body,make",
    [pytest.param(m, u, b, mk, id=f"{m}-{u}") for m, u, b, _r, mk in ENDPOINTS if mk is not None],
)
def test_it_hides_other_workspaces_objects(workspace, admin, other_workspace, outsider, api, method, url, body, make):
    """`outsider` is an admin of another workspace: every object of `workspace` is 404 for them."""
    response = getattr(api(outsider), method)(url.format(id=make(workspace)), body, format="json")
    assert response.status_code == 404, response.content


@pytest.mark.parametrize("method,url,body", [(m, u.format(id=1), b) for m, u, b, _r, _mk in ENDPOINTS])
def test_it_refuses_anonymous_requests(db, client, method, url, body):
    response = getattr(client, method)(url, body, content_type="application/json")
    assert response.status_code == 401
