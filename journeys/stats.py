"""Read-side figures of journeys: per-node counts for the canvas, list figures."""

from datetime import timedelta

from django.db.models import Count, Q

from . import clock
from .models import Conversion, Enrollment, JourneyVersion, StepLog


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


# -- where each contact is ------------------------------------------------------------------------

PATH_STEPS = 50  # the last steps of each enrollment's path shown in a list


def node_ids(journey) -> set:
    """Every node id the journey has had: its draft's and each version's, and the trigger."""
    ids = {"trigger"}
    versions = JourneyVersion.objects.filter(journey=journey).values_list("definition", flat=True)
    definitions = [journey.draft or {}, *versions]
    for definition in definitions:
        for node in (definition or {}).get("nodes") or ():
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                ids.add(node["id"])
    return ids


def enrollments_in(journey, node=None, status=None, term=None):
    """The journey's enrollments, newest first: on `node` (where they are, or where they left), in
    `status` ("open": active or waiting), of a contact whose email or user id contains `term`."""
    rows = Enrollment.objects.filter(workspace_id=journey.workspace_id, journey=journey)
    if node:
        rows = rows.filter(current_node=node)
    if status == "open":
        rows = rows.filter(status__in=Enrollment.OPEN)
    elif status:
        rows = rows.filter(status=status)
    if term:
        rows = rows.filter(Q(contact__email__icontains=term) | Q(contact__user_id__icontains=term))
    return rows.select_related("contact", "version").order_by("-entered_at", "-id")


def paths_of(enrollments) -> dict:
    """{enrollment id: its last PATH_STEPS steps, oldest first}, in one query for a page."""
    paths: dict[int, list] = {e.pk: [] for e in enrollments}
    steps = StepLog.objects.filter(enrollment_id__in=list(paths)).order_by("id")
    for row in steps.values("enrollment_id", "node", "outcome", "port", "at"):
        path = paths[row.pop("enrollment_id")]
        path.append(row)
        if len(path) > PATH_STEPS:
            del path[0]
    return paths
