"""Read-side figures of journeys: per-node counts for the canvas, list figures."""

from datetime import timedelta

from django.db.models import Count, Q

from . import clock
from .models import Conversion, Enrollment, StepLog


def node_counts(journey, version_number=None) -> dict:
    """{node id: {"entered", "waiting", "left", "sent"}} over all versions (or one)."""
    logs = StepLog.objects.filter(journey=journey, enrollment__isnull=False)
    open_enrollments = Enrollment.objects.filter(journey=journey, status__in=Enrollment.OPEN)
    if version_number is not None:
        logs = logs.filter(version_number=version_number)
        open_enrollments = open_enrollments.filter(version__number=version_number)
    counts: dict[str, dict] = {}

    def slot(node):
        return counts.setdefault(node, {"entered": 0, "waiting": 0, "left": 0, "sent": 0})

    for row in logs.values("node").annotate(
        entered=Count("id", filter=Q(entered=True)),
        left=Count("id", filter=Q(left=True)),
        sent=Count("id", filter=Q(outcome="sent")),
    ):
        entry = slot(row["node"])
        entry.update(entered=row["entered"], left=row["left"], sent=row["sent"])
    for row in open_enrollments.values("current_node").annotate(n=Count("id")):
        slot(row["current_node"])["waiting"] = row["n"]
    counts.pop("trigger", None)
    return counts


def list_figures(journeys) -> dict:
    """{journey id: {"in_journey", "entered_7d", "converted_7d"}} for a page of journeys."""
    ids = [j.pk for j in journeys]
    since = clock.now() - timedelta(days=7)
    figures = {pk: {"in_journey": 0, "entered_7d": 0, "converted_7d": 0} for pk in ids}
    for row in (
        Enrollment.objects.filter(journey_id__in=ids)
        .values("journey_id")
        .annotate(
            open=Count("id", filter=Q(status__in=Enrollment.OPEN)),
            recent=Count("id", filter=Q(entered_at__gte=since)),
        )
    ):
        figures[row["journey_id"]].update(in_journey=row["open"], entered_7d=row["recent"])
    for row in (
        Conversion.objects.filter(journey_id__in=ids, at__gte=since).values("journey_id").annotate(n=Count("id"))
    ):
        figures[row["journey_id"]]["converted_7d"] = row["n"]
    return figures
