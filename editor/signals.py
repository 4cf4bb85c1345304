"""What editor does when journeys and templates are saved elsewhere (the REST API, the engine):
withdraw approvals an edit made stale, and notify the editors watching the object.

The notification only says "look now"; each websocket reads the saved state from the database."""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from . import actions

log = logging.getLogger("wayline.editor")


class _Notice:
    """One "saved" notification, sent after the commit; one per object and transaction."""

    def __init__(self, layer, kind, object_id, by):
        self.layer, self.key = layer, (kind, object_id)
        self.message = {"type": "object.saved", "kind": kind, "id": object_id, "by": by or {}}

    def __call__(self):
        from .preview import group_name

        _send(self.layer, group_name(*self.key), self.message)


def notify_saved(kind, object_id, by=None):
    layer = get_channel_layer()
    if layer is None:
        return
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        # A save that touches the object twice (a template and its new version) notifies once,
        # naming whoever the second save knows of. Rolled back: Django drops the callback.
        for entry in connection.run_on_commit:
            notice = entry[1]
            if isinstance(notice, _Notice) and notice.key == (kind, object_id):
                if by and not notice.message["by"]:
                    notice.message["by"] = by
                return
    transaction.on_commit(_Notice(layer, kind, object_id, by))


def _send(layer, group, message):
    """A notification is best effort: a save never fails because the channel layer is down."""
    try:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            async_to_sync(layer.group_send)(group, message)
        else:  # called from async code (a consumer, a test): don't block its loop
            loop.create_task(layer.group_send(group, message))
    except Exception:
        log.warning("could not notify %s of a save", group, exc_info=True)


def _who(user):
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    return {"user_id": user.pk, "email": user.email, "name": user.get_full_name() or user.email}


def journey_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    if not created:
        actions.withdraw_outdated_approvals(instance, getattr(instance, "updated_by", None))
    notify_saved("journey", instance.pk, _who(getattr(instance, "updated_by", None)))


def draft_saved(journey, actor=None):
    """The engine's "draft.saved" hook (journeys.actions.save_draft saves with a queryset update)."""
    actions.withdraw_outdated_approvals(journey, actor)
    notify_saved("journey", journey.pk, _who(actor))


def template_saved(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw or (update_fields and set(update_fields) <= {"latest_version", "updated_at"}):
        return  # a new version: template_version_saved has told the watchers
    notify_saved("template", instance.pk, _who(getattr(instance, "updated_by", None)))


def template_version_saved(sender, instance, created, raw=False, **kwargs):
    """Saving a template adds a version: that is the template's saved change."""
    if created and not raw:
        notify_saved("template", instance.template_id, _who(getattr(instance, "created_by", None)))


def version_published(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        actions.mark_published(instance)
