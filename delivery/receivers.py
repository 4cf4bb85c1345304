"""Signal receivers: provider tracking events (django-anymail) and contact erasure (journeys)."""

from django.db.models import Q

from . import actions
from .models import Message, SandboxEmail


def on_esp_tracking(sender, event, esp_name, **kwargs):
    actions.handle_esp_event(event)


def on_contact_erased(sender, workspace, contact_id, emails, **kwargs):
    """Erasure: the contact's outbox rows (rendered bodies, tracking) and sandbox copies go too."""
    addresses = [e for e in emails or [] if e]
    Message.objects.filter(Q(contact_id=contact_id) | Q(to_email__in=addresses), workspace=workspace).delete()
    for address in addresses:
        SandboxEmail.objects.filter(workspace=workspace, raw__icontains=address).delete()
