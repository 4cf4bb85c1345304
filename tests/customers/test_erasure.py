"""Erasing a contact leaves no personal data behind, only a hashed suppression entry."""

from django.apps import apps
from django.db import models

from accounts.models import AuditEntry
from journeys.customers import contact_erased, email_hash, is_suppressed
from journeys.models import Contact, Suppression

EMAIL = "erase.me@example.com"


def _personal_data_left(needles):
    """Every text and JSON column of every journeys and accounts-audit row, searched for the needles."""
    found = []
    for model in [*apps.get_app_config("journeys").get_models(), AuditEntry]:
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField)
        ]
        for row in model.objects.values(*fields):
            text = repr(row).lower()
            found += [(model.__name__, needle) for needle in needles if needle.lower() in text]
    return found


def test_erasing_removes_profile_events_and_orders_and_suppresses_the_address(tracker, workspace, admin, api, process):
    tracker.post("track", {"anonymousId": "device-9", "event": "Product Viewed", "properties": {"product_id": "p"}})
    tracker.post(
        "identify",
        {
            "userId": "user-9",
            "anonymousId": "device-9",
            "traits": {"email": EMAIL, "name": "Erin Erase", "phone": "+4912345"},
        },
    )
    tracker.post(
        "track", {"userId": "user-9", "event": "Order Completed", "properties": {"order_id": "ord-9", "total": 10}}
    )
    process()
    contact = Contact.objects.get(user_id="user-9")
    tracker.post("track", {"userId": "user-9", "event": "Late, not yet processed"})
    received = []
    contact_erased.connect(lambda sender, **kwargs: received.append(kwargs), weak=False, dispatch_uid="t")
    try:
        response = api(admin).post(f"/api/contacts/{contact.id}/erase")
    finally:
        contact_erased.disconnect(dispatch_uid="t")
    assert response.status_code == 200, response.content
    assert _personal_data_left([EMAIL, "user-9", "device-9", "Erin Erase", "+4912345", "ord-9"]) == []
    assert is_suppressed(workspace, EMAIL)
    assert is_suppressed(workspace, "  Erase.Me@Example.COM ")
    assert Suppression.objects.get().email_hash == email_hash(workspace, EMAIL)
    assert received[0]["emails"] == [EMAIL]
    assert received[0]["user_ids"] == ["user-9"]
    assert received[0]["contact_id"] == contact.id


def test_a_suppression_is_per_workspace(workspace, other_workspace):
    from journeys.customers import suppress

    suppress(workspace, EMAIL, "erased")
    assert is_suppressed(workspace, EMAIL)
    assert not is_suppressed(other_workspace, EMAIL)


def test_a_failing_receiver_leaves_everything_as_it_was(tracker, workspace, admin, api, process):
    tracker.post("identify", {"userId": "u1", "traits": {"email": EMAIL}})
    process()
    contact = Contact.objects.get()

    def refuse(sender, **kwargs):
        raise RuntimeError("outbox unavailable")

    contact_erased.connect(refuse, weak=False, dispatch_uid="refuse")
    try:
        try:
            api(admin).post(f"/api/contacts/{contact.id}/erase")
        except RuntimeError:
            pass
    finally:
        contact_erased.disconnect(dispatch_uid="refuse")
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert not Suppression.objects.exists()


def test_only_admins_may_erase(tracker, workspace, marketer, api, process):
    tracker.post("identify", {"userId": "u1"})
    process()
    contact = Contact.objects.get()
    assert api(marketer).post(f"/api/contacts/{contact.id}/erase").status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()
