"""Who an event is about: contact resolution, merging, and the profile fields an event sets.

Resolution (`contact_for`) finds or creates the contact of a (userId, anonymousId) pair and links
the ids; an identify or alias that joins two contacts merges the anonymous one into the known one.
Profile recognition (`profile_updates`) is pure: which traits, email, timezone, locale, country
and city an event states. `apply_profile` applies them newer-wins by event time, whatever the
order the events are processed in.

Everything here runs inside the caller's transaction (journeys.customer_actions).
"""

import functools
import re
import zoneinfo

from django.db import IntegrityError, transaction
from django.db.models import Q

from .. import clock
from ..models import Contact, ContactIdentity, Event, Order
from . import segments

USER_ID = ContactIdentity.Kind.USER_ID
ANONYMOUS_ID = ContactIdentity.Kind.ANONYMOUS_ID
PROFILE_FIELDS = ("email", "timezone", "locale", "country", "city")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


# -- Profile fields an event states (pure) -------------------------------------------------------


@functools.cache
def _country_codes():
    """English country names (and a few common aliases) -> ISO 3166 alpha-2, from babel's CLDR data."""
    from babel import Locale

    names = {}
    for code, name in Locale("en").territories.items():
        if len(code) == 2 and code.isalpha():
            names[name.lower()] = code
    names.update(
        {
            "usa": "US",
            "united states of america": "US",
            "u.s.": "US",
            "uk": "GB",
            "great britain": "GB",
            "england": "GB",
            "deutschland": "DE",
            "españa": "ES",
            "österreich": "AT",
            "schweiz": "CH",
            "nederland": "NL",
            "brasil": "BR",
            "italia": "IT",
        }
    )
    return names


def country_code(value):
    """'DE', 'de', 'Germany' -> 'DE'; None when unrecognised."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if len(text) == 2 and text.isalpha():
        code = text.upper()
        return code if code in set(_country_codes().values()) else None
    return _country_codes().get(text.lower())


def timezone_name(value):
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    try:
        zoneinfo.ZoneInfo(value.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return value.strip()


def locale_tag(value):
    """'en_us' -> 'en-US', 'de' -> 'de'; None when it does not look like a locale."""
    if not isinstance(value, str) or not LOCALE_RE.match(value.strip()) or len(value) > 35:
        return None
    parts = value.strip().replace("_", "-").split("-")
    tag = [parts[0].lower()]
    for part in parts[1:]:
        tag.append(part.upper() if len(part) == 2 else part.title() if len(part) == 4 else part)
    return "-".join(tag)


def email_address(value):
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) > 254 or not EMAIL_RE.match(text):
        return None
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def _first(*candidates):
    for value in candidates:
        if value is not None:
            return value
    return None


def profile_updates(event_type, traits, context):
    """{"traits.<key>": value, "email": ..., "timezone": ..., ...} that one event states.

    Traits come from an identify's traits (or any call's context.traits); explicit traits win over
    what the device context says (context.timezone, context.locale, context.location).
    """
    traits = traits if event_type == "identify" else {}
    if not traits and isinstance(context.get("traits"), dict):
        traits = context["traits"]
    updates = {f"traits.{key}": value for key, value in traits.items() if isinstance(key, str) and key}
    address = traits.get("address") if isinstance(traits.get("address"), dict) else {}
    location = context.get("location") if isinstance(context.get("location"), dict) else {}

    email = email_address(traits.get("email"))
    if email:
        updates["email"] = email
    tz = _first(timezone_name(traits.get("timezone")), timezone_name(context.get("timezone")))
    if tz:
        updates["timezone"] = tz
    locale = _first(locale_tag(traits.get("locale")), locale_tag(context.get("locale")))
    if locale:
        updates["locale"] = locale
    country = _first(
        country_code(address.get("country")), country_code(traits.get("country")), country_code(location.get("country"))
    )
    if country:
        updates["country"] = country
    city = _first(address.get("city"), traits.get("city"), location.get("city"))
    if isinstance(city, str) and city.strip():
        updates["city"] = city.strip()[:120]
    return updates


def apply_profile(contact, updates, at):
    """Set each stated field unless the contact holds a value stated at a later time. In place;
    returns whether anything changed. `at` is an ISO 8601 UTC string (same format everywhere)."""
    changed = False
    stamps = contact.field_timestamps
    for key, value in updates.items():
        stamp = stamps.get(key)
        if stamp is not None and stamp > at:
            continue
        stamps[key] = at
        if key.startswith("traits."):
            trait = key[len("traits.") :]
            if contact.traits.get(trait, _MISSING) != value:
                contact.traits[trait] = value
                changed = True
        elif getattr(contact, key) != value:
            setattr(contact, key, value)
            changed = True
    return changed or bool(updates)


_MISSING = object()


# -- Resolution and merging (ORM, inside the caller's transaction) -------------------------------


def _identities(workspace_id, pairs):
    condition = Q()
    for kind, value in pairs:
        if value:
            condition |= Q(kind=kind, value=value)
    if not condition:
        return {}
    query = ContactIdentity.objects.filter(condition, workspace_id=workspace_id).select_related("contact")
    return {(identity.kind, identity.value): identity.contact for identity in query}


def _link(contact, kind, value):
    """Give `contact` the id; a no-op when it already has it (unique per workspace)."""
    with transaction.atomic():
        ContactIdentity.objects.get_or_create(
            workspace_id=contact.workspace_id, kind=kind, value=value, defaults={"contact": contact}
        )


def _create(workspace_id, user_id=None, anonymous_id=None, at=None):
    contact = Contact.objects.create(workspace_id=workspace_id, user_id=user_id, **({"created_at": at} if at else {}))
    if user_id:
        ContactIdentity.objects.create(workspace_id=workspace_id, contact=contact, kind=USER_ID, value=user_id)
    if anonymous_id:
        ContactIdentity.objects.create(
            workspace_id=workspace_id, contact=contact, kind=ANONYMOUS_ID, value=anonymous_id
        )
    return contact


def _adopt_email_contact(workspace_id, email):
    """A contact known only by email (imported from CSV, created in the app) that an identify with
    that email and a new userId takes over instead of creating a twin."""
    if not email:
        return None
    return (
        Contact.objects.filter(workspace_id=workspace_id, email__iexact=email, user_id__isnull=True, merged_into=None)
        .order_by("id")
        .first()
    )


def contact_for(workspace_id, user_id=None, anonymous_id=None, email=None, previous_id=None):
    """The contact an event is about, creating and linking as needed. Race-safe: two workers
    creating the same contact at once meet the unique constraints, and the loser retries."""
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _resolve(workspace_id, user_id, anonymous_id, email, previous_id)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _resolve(workspace_id, user_id, anonymous_id, email, previous_id):
    if previous_id:
        return _alias(workspace_id, previous_id, user_id)
    found = _identities(workspace_id, [(USER_ID, user_id), (ANONYMOUS_ID, anonymous_id)])
    by_user = found.get((USER_ID, user_id)) if user_id else None
    by_anonymous = found.get((ANONYMOUS_ID, anonymous_id)) if anonymous_id else None
    by_user, by_anonymous = _live(by_user), _live(by_anonymous)

    if user_id is None:
        return by_anonymous or _create(workspace_id, anonymous_id=anonymous_id)

    if by_user is None:
        if by_anonymous is not None and by_anonymous.user_id is None:
            # The anonymous visitor identifies: the same contact, now known.
            by_anonymous.user_id = user_id
            by_anonymous.save(update_fields=["user_id"])
            _link(by_anonymous, USER_ID, user_id)
            return by_anonymous
        adopted = _adopt_email_contact(workspace_id, email)
        if adopted is not None:
            adopted.user_id = user_id
            adopted.save(update_fields=["user_id"])
            _link(adopted, USER_ID, user_id)
            if anonymous_id and by_anonymous is None:
                _link(adopted, ANONYMOUS_ID, anonymous_id)
            return adopted
        # A device id already belonging to another known user (a shared device) stays theirs.
        return _create(workspace_id, user_id=user_id, anonymous_id=anonymous_id if by_anonymous is None else None)

    if anonymous_id:
        if by_anonymous is None:
            _link(by_user, ANONYMOUS_ID, anonymous_id)
        elif by_anonymous.pk != by_user.pk and by_anonymous.user_id is None:
            return merge(by_anonymous, by_user)
    return by_user


def _alias(workspace_id, previous_id, user_id):
    """alias(previousId, userId): the two ids are one person; previousId's contact joins userId's."""
    found = _identities(workspace_id, [(USER_ID, previous_id), (ANONYMOUS_ID, previous_id), (USER_ID, user_id)])
    previous = _live(found.get((USER_ID, previous_id)) or found.get((ANONYMOUS_ID, previous_id)))
    current = _live(found.get((USER_ID, user_id)))
    if previous is None and current is None:
        return _create(workspace_id, user_id=user_id, anonymous_id=previous_id)
    if current is None:
        previous.user_id = user_id
        previous.save(update_fields=["user_id"])
        _link(previous, USER_ID, user_id)
        return previous
    if previous is None:
        _link(current, ANONYMOUS_ID, previous_id)
        return current
    if previous.pk != current.pk:
        return merge(previous, current)
    return current


def _live(contact):
    """Follow merges to the surviving contact."""
    seen = 0
    while contact is not None and contact.merged_into_id is not None and seen < 10:
        contact = Contact.objects.get(pk=contact.merged_into_id)
        seen += 1
    return contact


def merge(loser, survivor):
    """Move everything of `loser` onto `survivor`; fields newer-wins by the time they were stated.

    Locks both rows in id order so two workers merging the same pair cannot deadlock or interleave.
    Returns the survivor. The caller rebuilds the survivor's commerce state (histories interleave).
    """
    locked = {
        c.pk: c for c in Contact.objects.select_for_update().filter(pk__in=[loser.pk, survivor.pk]).order_by("pk")
    }
    loser, survivor = locked[loser.pk], locked[survivor.pk]
    if loser.merged_into_id is not None:
        return survivor
    ContactIdentity.objects.filter(contact=loser).update(contact=survivor)
    Event.objects.filter(contact=loser).update(contact=survivor)
    Order.objects.filter(contact=loser).update(contact=survivor)
    Contact.objects.filter(merged_into=loser).update(merged_into=survivor)
    segments.contacts_merged(loser, survivor, clock.now())

    for key, stamp in loser.field_timestamps.items():
        theirs = survivor.field_timestamps.get(key)
        if theirs is not None and theirs >= stamp:
            continue
        survivor.field_timestamps[key] = stamp
        if key.startswith("traits."):
            trait = key[len("traits.") :]
            if trait in loser.traits:
                survivor.traits[trait] = loser.traits[trait]
        else:
            setattr(survivor, key, getattr(loser, key))
    for trait, value in loser.traits.items():
        survivor.traits.setdefault(trait, value)
    for key in PROFILE_FIELDS:
        if not getattr(survivor, key) and getattr(loser, key):
            setattr(survivor, key, getattr(loser, key))
    survivor.consent = {**loser.consent, **survivor.consent}
    if loser.last_activity_at and (
        survivor.last_activity_at is None or loser.last_activity_at > survivor.last_activity_at
    ):
        survivor.last_activity_at = loser.last_activity_at
    survivor.created_at = min(survivor.created_at, loser.created_at)

    old_user_id = loser.user_id
    loser.user_id = None
    loser.merged_into = survivor
    loser.commerce, loser.cart, loser.recently_viewed = {}, {}, []
    loser.save(update_fields=["user_id", "merged_into", "commerce", "cart", "recently_viewed"])
    if survivor.user_id is None and old_user_id:
        survivor.user_id = old_user_id
    # The two histories interleave: the next processing step derives commerce state again.
    survivor.commerce = {**survivor.commerce, "_needs_rebuild": True}
    survivor.save()

    from .. import hooks

    if hooks.has_hook("contact.merged"):
        hooks.hook("contact.merged")(loser=loser, survivor=survivor)
    return survivor
