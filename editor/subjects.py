"""Preview subjects and their render contexts, built by delivery's context builder (the one sending
uses): real contacts, personas (made-up contacts that are never saved), and a random sample of
contacts matching a rule of the shared rule language."""

from datetime import timedelta

from django.db.models import Q

from accounts.access import scoped
from delivery.personalize import build_context
from journeys import clock
from journeys.customers import commerce
from journeys.engine import rules
from journeys.facts import subject_for
from journeys.models import Contact, Product

from . import sources
from .models import Persona
from .variants import PreviewSubject

MAX_SUBJECTS = 50
MAX_SAMPLE = 20
SAMPLE_SCAN = 2000
SEARCH_LIMIT = 20


# -- personas as contacts --------------------------------------------------------------------------


def persona_events(persona, now, currencies=None):
    """The persona's history as events: its recent events, and one "Product Added" per cart item
    (at the price it had when added, so a lower catalog price shows as a price drop; in the
    catalog's currency, as a shop's event would say)."""
    currencies = currencies or {}
    events = []
    for index, event in enumerate(persona.recent_events or []):
        try:
            ago = rules.parse_duration(event.get("ago") or "PT1H")
        except ValueError:
            ago = timedelta(hours=1)
        events.append(
            {
                "id": index + 1,
                "name": event.get("name", ""),
                "properties": dict(event.get("properties") or {}),
                "timestamp": (now - abs(ago)).isoformat(),
            }
        )
    added_at = (now - timedelta(hours=2)).isoformat()
    for index, item in enumerate(persona.cart_items or []):
        properties = {"sku": item.get("sku"), "quantity": item.get("quantity", 1)}
        for key in ("price", "name"):
            if item.get(key) not in (None, ""):
                properties[key] = item[key]
        if currencies.get(item.get("sku")):
            properties["currency"] = currencies[item.get("sku")]
        events.append({"id": 10_000 + index, "name": "Product Added", "properties": properties, "timestamp": added_at})
    return events


def persona_contact(persona, now=None):
    """An unsaved Contact with the persona's profile and the commerce state its events fold to
    (journeys.commerce, as ingestion folds a real contact's events)."""
    now = now or clock.now()
    skus = [item.get("sku") for item in persona.cart_items or [] if item.get("sku")]
    currencies = {}
    if skus and persona.workspace_id:
        found = scoped(Product, persona.workspace_id).filter(sku__in=skus).values_list("sku", "currency")
        currencies = dict(found)
    events = persona_events(persona, now, currencies)
    state = commerce.summary(commerce.fold([e for e in events if commerce.is_commerce(e["name"])]))
    traits = dict(persona.traits or {})
    contact = Contact(
        workspace=persona.workspace,
        user_id=f"persona-{persona.pk}",
        email=persona.email or "",
        traits=traits,
        country=persona.country,
        city=persona.city,
        timezone=persona.timezone,
        locale=persona.locale,
        cart=state["cart"],
        recently_viewed=state["recently_viewed"],
        lifetime_value=traits.get("lifetime_value", state["lifetime_value"]),
        orders_count=traits.get("orders_count", state["orders_count"]),
        last_activity_at=now,
        created_at=now,
    )
    contact.event_history = events
    return contact


def _facts(contact, kind):
    return {
        "country": contact.country,
        "city": contact.city,
        "locale": contact.locale,
        "timezone": contact.timezone,
        "cart_items": len((contact.cart or {}).get("items") or []),
        "email": contact.email,
    }


def _label(contact):
    traits = contact.traits or {}
    name = " ".join(str(traits.get(k) or "") for k in ("first_name", "last_name")).strip() or traits.get("name")
    return name or contact.email or contact.user_id or f"Contact {contact.pk}"


# -- resolving the browser's choice ----------------------------------------------------------------


def resolve(workspace, specs, target=None, now=None):
    """[{"contact": id} | {"persona": id} | {"sample": rule, "size": n} | {"blank": true}] ->
    PreviewSubjects with their render contexts (blank: no contact at all, how the defaults read).
    Unknown ids (or ids of another workspace) are left out."""
    now = now or clock.now()
    if len(specs) > MAX_SUBJECTS:
        raise ValueError(f"At most {MAX_SUBJECTS} preview subjects.")
    template = sources.template_of(workspace, target)
    version = sources.preview_version(template, sources.content_blocks(workspace))
    chosen, seen = [], set()
    contact_ids = [int(s["contact"]) for s in specs if isinstance(s, dict) and str(s.get("contact", "")).isdigit()]
    persona_ids = [int(s["persona"]) for s in specs if isinstance(s, dict) and str(s.get("persona", "")).isdigit()]
    contacts = {c.pk: c for c in scoped(Contact, workspace).filter(pk__in=contact_ids)}
    personas = {p.pk: p for p in scoped(Persona, workspace).filter(pk__in=persona_ids)}
    for spec in specs:
        if not isinstance(spec, dict):
            raise ValueError('Each subject is an object: {"contact": id}, {"persona": id} or {"sample": rule}.')
        if "persona" in spec:
            persona = personas.get(_int(spec["persona"]))
            if persona is not None and f"persona:{persona.pk}" not in seen:
                seen.add(f"persona:{persona.pk}")
                chosen.append(("persona", persona_contact(persona, now), persona.name, {"persona": persona.pk}))
        elif "contact" in spec:
            contact = contacts.get(_int(spec["contact"]))
            if contact is not None and f"contact:{contact.pk}" not in seen:
                seen.add(f"contact:{contact.pk}")
                kind = "sample" if spec.get("sampled") else "contact"
                chosen.append((kind, contact, _label(contact), {"contact": contact.pk, "sampled": kind == "sample"}))
        elif spec.get("blank"):
            if "blank" not in seen:
                seen.add("blank")
                chosen.append(("blank", None, "No contact (defaults)", {"blank": True}))
        elif "sample" in spec:
            for contact in sample(workspace, spec["sample"], spec.get("size", 5), now, exclude=seen):
                seen.add(f"contact:{contact.pk}")
                chosen.append(("sample", contact, _label(contact), {"contact": contact.pk, "sampled": True}))
        else:
            raise ValueError("Each subject names a contact, a persona or a sample.")
    if len(chosen) > MAX_SUBJECTS:
        chosen = chosen[:MAX_SUBJECTS]
    return [_subject(workspace, version, kind, contact, label, spec, now) for kind, contact, label, spec in chosen]


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _subject(workspace, version, kind, contact, label, spec, now):
    data = build_context(workspace, version, contact=contact, journey_context={}, token="preview", now=now)
    if kind == "blank":  # nobody in particular: how the template's defaults read
        subject = PreviewSubject(key="blank", kind=kind, label=str(label), data=data, facts={})
        subject.spec = spec
        return subject
    key = f"persona:{spec['persona']}" if "persona" in spec else f"contact:{spec['contact']}"
    subject = PreviewSubject(key=key, kind=kind, label=str(label), data=data, facts=_facts(contact, kind))
    subject.spec = spec
    return subject


def sample(workspace, rule, size, now, exclude=()):
    """Up to `size` random contacts matching `rule` (looking at no more than SAMPLE_SCAN)."""
    problems = rules.validate(rule)
    if problems:
        field, message = problems[0]
        raise ValueError(f"The sample's condition is not valid: {field or 'rule'}: {message}")
    size = max(1, min(int(size) if str(size).isdigit() else 5, MAX_SAMPLE))
    found = []
    candidates = scoped(Contact, workspace).filter(merged_into__isnull=True).order_by("?")[:SAMPLE_SCAN]
    for contact in candidates:
        if f"contact:{contact.pk}" in exclude:
            continue
        if rules.evaluate(rule, subject_for(contact, now=now)):
            found.append(contact)
            if len(found) == size:
                break
    return found


def search_contacts(workspace, query):
    query = query.strip()
    contacts = scoped(Contact, workspace).filter(merged_into__isnull=True)
    if query:
        condition = Q(email__icontains=query) | Q(user_id__icontains=query) | Q(city__icontains=query)
        condition |= Q(traits__first_name__icontains=query) | Q(traits__last_name__icontains=query)
        contacts = contacts.filter(condition)
    contacts = contacts.order_by("-last_activity_at", "-id")[:SEARCH_LIMIT]
    return [
        {
            "id": c.pk,
            "label": _label(c),
            "email": c.email,
            "country": c.country,
            "city": c.city,
            "cart_items": len((c.cart or {}).get("items") or []),
        }
        for c in contacts
    ]
