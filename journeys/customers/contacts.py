"""Contacts as members see them: edit a profile, export everything held (a data subject access
request), erase (with hashed suppression so the addresses are never mailed again)."""

from django.db import transaction
from django.db.models import Q

from accounts.actions import record_audit

from .. import clock
from ..models import Contact, ContactIdentity, Event, Order
from . import contact_erased, identity, normalize_email, segments, suppress
from .context import contact_fields
from .events import iso

EDITABLE_FIELDS = ("email", "timezone", "locale", "country", "city")


def update_contact(contact, actor, changes):
    """A member edits a profile: the values count as stated now (newer wins over older events)."""
    at = iso(clock.now())
    updates = {}
    for key in EDITABLE_FIELDS:
        if key in changes:
            updates[key] = changes[key] or ""
    for trait, value in (changes.get("traits") or {}).items():
        updates[f"traits.{trait}"] = value
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        before = contact_fields(contact)
        identity.apply_profile(contact, updates, at)
        for trait in changes.get("remove_traits") or []:
            contact.traits.pop(trait, None)
            contact.field_timestamps[f"traits.{trait}"] = at
        if "consent" in changes:
            contact.consent = {**contact.consent, **changes["consent"]}
        contact.updated_at = clock.now()
        contact.save()
        segments.refresh_contact(contact, clock.now(), segments.contact_change(before, contact))
        record_audit(contact.workspace, actor, "contact.updated", f"contact {contact.pk}", fields=sorted(changes))
    return contact


def _merged_family(contact):
    """The contact and every contact merged into it (directly or not)."""
    family, frontier = [contact], [contact.pk]
    while frontier:
        children = list(Contact.objects.filter(merged_into_id__in=frontier))
        family += children
        frontier = [child.pk for child in children]
    return family


def export_contact(contact):
    """Everything held about a contact, as one JSON document (a data subject access request)."""
    family = _merged_family(contact)
    ids = [c.pk for c in family]
    return {
        "contact": contact_profile(contact),
        "identities": list(ContactIdentity.objects.filter(contact_id__in=ids).order_by("id").values("kind", "value")),
        "events": [
            {
                "message_id": e.message_id,
                "type": e.type,
                "name": e.name,
                "user_id": e.user_id,
                "anonymous_id": e.anonymous_id,
                "properties": e.properties,
                "traits": e.traits,
                "context": e.context,
                "timestamp": e.timestamp.isoformat(),
                "received_at": e.received_at.isoformat(),
            }
            for e in Event.objects.filter(contact_id__in=ids).order_by("timestamp", "id")
        ],
        "orders": [
            {
                "order_id": o.order_id,
                "revenue": float(o.revenue),
                "net": float(o.net),
                "currency": o.currency,
                "status": o.status,
                "products": o.products,
                "placed_at": o.placed_at.isoformat(),
            }
            for o in Order.objects.filter(contact_id__in=ids).order_by("placed_at")
        ],
        "exported_at": clock.now().isoformat(),
    }


def contact_profile(contact):
    return {
        "id": contact.pk,
        "user_id": contact.user_id,
        "email": contact.email,
        "traits": contact.traits,
        "timezone": contact.timezone,
        "locale": contact.locale,
        "country": contact.country,
        "city": contact.city,
        "consent": contact.consent,
        "cart": contact.cart,
        "recently_viewed": contact.recently_viewed,
        "lifetime_value": float(contact.lifetime_value),
        "orders_count": contact.orders_count,
        "last_activity_at": contact.last_activity_at.isoformat() if contact.last_activity_at else None,
        "created_at": contact.created_at.isoformat(),
    }


def erase_contact(contact, actor):
    """Delete the profile, its events and orders, and (through `contact_erased`) the personal data
    other apps hold; keep only hashed suppression entries so the addresses are never mailed again.

    All in one transaction: a receiver that fails leaves everything as it was.
    """
    with transaction.atomic():
        family = _merged_family(Contact.objects.select_for_update().get(pk=contact.pk))
        ids = [c.pk for c in family]
        identities = list(ContactIdentity.objects.filter(contact_id__in=ids).values_list("kind", "value"))
        user_ids = sorted({value for kind, value in identities if kind == ContactIdentity.Kind.USER_ID})
        anonymous_ids = sorted({value for kind, value in identities if kind == ContactIdentity.Kind.ANONYMOUS_ID})
        emails = set()
        for member in family:
            emails |= {normalize_email(member.email), normalize_email(str(member.traits.get("email") or ""))}
        for traits in Event.objects.filter(contact_id__in=ids, type="identify").values_list("traits", flat=True):
            if isinstance(traits, dict) and isinstance(traits.get("email"), str):
                emails.add(normalize_email(traits["email"]))
        emails.discard("")
        for email in emails:
            suppress(contact.workspace_id, email, reason="erased")
        contact_erased.send(
            sender=Contact,
            workspace=contact.workspace,
            contact_id=contact.pk,
            emails=sorted(emails),
            user_ids=user_ids,
            anonymous_ids=anonymous_ids,
        )
        # Events not yet linked to the contact (still unprocessed) carry its ids too.
        Event.objects.filter(
            Q(contact_id__in=ids) | Q(user_id__in=user_ids) | Q(anonymous_id__in=anonymous_ids),
            workspace_id=contact.workspace_id,
        ).delete()
        Order.objects.filter(contact_id__in=ids).delete()
        Contact.objects.filter(pk__in=ids).update(merged_into=None)
        Contact.objects.filter(pk__in=ids).delete()
        record_audit(contact.workspace, actor, "contact.erased", f"contact {contact.pk}", suppressed=len(emails))
    return {"contact_id": contact.pk, "suppressed": len(emails)}
