"""Path simulation: the one place the product simulates a journey (the canvas's simulation drawer,
the QA gallery, `POST /api/qa/journeys/{id}/simulate`). A subject (a persona, a real contact or a
made-up profile) runs through a definition (the draft, the live version or a numbered one) with
the engine's own simulator, hypothetical future events ("Order Completed after PT30M") and, for
webhook nodes, the answers to assume. The subject's context is the one every rule and template
sees (journeys/customers/context.py), so a simulated branch decides as the worker would.
"""

from accounts.access import scoped
from accounts.errors import DomainError
from journeys import clock, drafts
from journeys.customers import context as contact_context
from journeys.engine.simulator import simulate
from journeys.models import Contact, Event, JourneyVersion

HISTORY_LIMIT = 500
MAX_EVENTS = 100


def contact_history(contact, limit=HISTORY_LIMIT):
    """A real contact's recent events as the simulator and rules take them."""
    rows = (
        Event.objects.filter(workspace_id=contact.workspace_id, contact=contact)
        .exclude(name="")
        .order_by("-timestamp")
        .values("name", "properties", "timestamp")[:limit]
    )
    return [{"name": r["name"], "properties": r["properties"], "timestamp": r["timestamp"].isoformat()} for r in rows]


def simulation_profile(workspace, persona_id=None, contact_id=None, now=None, profile=None):
    """(contact instance, its context, history, label) for a persona, a real contact or a made-up
    profile given inline (an unsaved persona)."""
    from .models import Persona
    from .subjects import _label, persona_contact

    now = now or clock.now()
    if profile is not None:
        persona = Persona(workspace=workspace, name="Made-up profile", **profile)
        contact = persona_contact(persona, now)
        contact.user_id = "profile"
        return contact, contact_context.build(contact, now=now), list(contact.event_history), persona.name
    if persona_id is not None:
        persona = scoped(Persona, workspace).filter(pk=persona_id).first()
        if persona is None:
            raise DomainError("There is no such persona.", code="not_found", status_code=404)
        contact = persona_contact(persona, now)
        return contact, contact_context.build(contact, now=now), list(contact.event_history), persona.name
    contact = scoped(Contact, workspace).filter(pk=contact_id).first()
    if contact is None:
        raise DomainError("There is no such contact.", code="not_found", status_code=404)
    return contact, contact_context.build(contact, now=now), contact_history(contact), _label(contact)


def default_trigger(definition, history, timeline):
    """The event that starts the simulated trip: a trigger event of the hypothetical timeline
    (the simulator picks it), else the subject's latest event of that name, else a bare one."""
    trigger = (definition or {}).get("trigger") or {}
    if trigger.get("type") != "event":
        return None
    name = trigger.get("event") or ""
    if any((event.get("event") or event.get("name")) == name for event in timeline):
        return None
    for event in sorted(history, key=lambda e: e.get("timestamp") or "", reverse=True):
        if event.get("name") == name:
            return {"event": name, "properties": dict(event.get("properties") or {})}
    return {"event": name, "properties": {}}


def trigger_event(definition, history):
    """The trigger event a simulated trip starts with, as render contexts take it."""
    trigger = default_trigger(definition, history, [])
    if trigger is None:
        return {}
    return {"name": trigger["event"], "event": trigger["event"], "properties": trigger["properties"]}


def definition_of(journey, source="draft"):
    """(definition, pinned template versions) of the draft, the live version or version N."""
    source = str(source or "draft")
    if source == "draft":
        return journey.draft or {}, drafts.pin_templates(journey.draft or {}, journey.workspace)
    if source == "live":
        version = journey.live_version
    elif source.isdigit():
        version = JourneyVersion.objects.filter(journey=journey, number=int(source)).first()
    else:
        version = None
    if version is None:
        raise DomainError(
            "There is no such version to simulate.", code="unknown_version", fields={"source": ["Unknown version."]}
        )
    return version.definition, version.template_versions


def run_simulation(journey, facts, history, events=(), now=None, *, source="draft", webhook_results=None):
    """Run `facts` (a contact's context) through the journey; `events` are hypothetical future
    events, each {"name", "after" (a duration from now), "properties"}."""
    now = now or clock.now()
    definition, pinned = definition_of(journey, source)
    timeline = [
        {"at": event["after"], "event": event["name"], "properties": event.get("properties") or {}} for event in events
    ]
    try:
        return simulate(
            definition,
            facts,
            start=now,
            trigger=default_trigger(definition, history, timeline),
            events=timeline,
            history=history,
            webhook_results=webhook_results or {},
            template_versions=pinned,
            journey={"id": journey.pk, "name": journey.name, "version": None if source == "draft" else source},
        )
    except ValueError as error:
        raise DomainError(str(error), code="invalid_timeline", fields={"events": [str(error)]}) from None


def simulate_path(
    journey, persona=None, contact=None, events=(), profile=None, source="draft", webhook_results=None, start=None
):
    """The path a persona, a contact or a made-up profile would take through the journey, from
    `start` (default: now)."""
    now = start or clock.now()
    _, facts, history, label = simulation_profile(journey.workspace, persona, contact, now, profile)
    result = run_simulation(journey, facts, history, events, now, source=source, webhook_results=webhook_results)
    subject = {"persona": persona, "contact": contact, "label": label}
    return {"subject": subject, "source": str(source), "events": list(events), **result}
