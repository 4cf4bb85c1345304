"""What the send-time model (journeys/predictions/sendtime.py) reads of delivery, through hooks
(journeys never imports delivery): human opens and clicks of real emails, the workspaces that have
any, and a workspace's quiet hours."""

from .models import MessageEvent, SendingSettings


def human_engagements(workspace_id, since, until):
    """(contact id, merged into id or None, message id, at) of each open and click of a real (not
    test) email in [since, until), machine opens (Apple Mail Privacy Protection, scanners) left out."""
    rows = (
        MessageEvent.objects.filter(
            workspace_id=workspace_id,
            kind__in=("open", "click"),
            at__gte=since,
            at__lt=until,
            message__is_test=False,
            message__contact__isnull=False,
        )
        .exclude(detail__has_key="machine")
        .values_list("message__contact_id", "message__contact__merged_into_id", "message_id", "at")
    )
    return rows.iterator(chunk_size=5000)


def engaged_workspaces(since):
    """Ids of the workspaces with an open or a click since `since`."""
    rows = MessageEvent.objects.filter(kind__in=("open", "click"), at__gte=since)
    return sorted(set(rows.values_list("workspace_id", flat=True).distinct()))


def quiet_hours(workspace_id):
    """(start, end) of the workspace's quiet hours, (None, None) when it has none."""
    row = SendingSettings.objects.filter(workspace_id=workspace_id).values_list("quiet_hours_start", "quiet_hours_end")
    return tuple(row.first() or (None, None))
