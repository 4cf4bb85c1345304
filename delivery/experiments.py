"""What journeys' experiments read from the outbox, through the "experiment.clicks" hook
(journeys/experiments.py): journeys does not import delivery."""

from django.db.models import Max

from .models import Message


def latest_clicks(journey_id):
    """(contact_id, latest_at) per contact: its latest click on a message of the journey (the
    first click of each message counts; test sends do not)."""
    return (
        Message.objects.filter(journey_id=journey_id, is_test=False, clicked_at__isnull=False)
        .values("contact_id")
        .annotate(latest_at=Max("clicked_at"))
    )
