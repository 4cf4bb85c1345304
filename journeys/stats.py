"""Read-side figures of journeys: per-node counts for the canvas, list figures."""

from datetime import timedelta

from django.db.models import Count, Q

from . import clock, report
from .models import Conversion, Enrollment, JourneyVersion, StepLog


def node_counts(journey, version_number=None) -> dict:
    """{node id: {"entered", "waiting", "left"}} over all versions (or one), the trigger's being the
    journey's entries, with "sent", "opened" and "clicked" on email nodes and "conversions" and
    "revenue" on the nodes conversions are credited to: from the report's counts
    (journeys/report.py), not the step log or the outbox."""
    types = _node_types(journey)
    counts: dict[str, dict] = {}

    def slot(node):
        if node not in counts:
            email = {"sent": 0, "opened": 0, "clicked": 0} if types.get(node) == "email" else {}
            counts[node] = {"entered": 0, "waiting": 0, "left": 0, **email}
        return counts[node]

    for node, kind in types.items():
        if kind == "email":
            slot(node)
    money: dict[str, dict] = {}
    entries = 0
    for _version, _day, node, metric, key, n, amount in report.counts(journey, None, None, version_number):
        if metric == report.ENTRY:
            entries += n
        elif metric == report.ENTERED:
            slot(node)["entered"] += n
        elif metric == report.LEFT:
            slot(node)["left"] += n
        elif metric in (report.SENT, report.OPENED, report.CLICKED) and types.get(node) == "email":
            slot(node)[metric] += n
        elif metric == report.CONVERSION and node:
            slot(node)["conversions"] = slot(node).get("conversions", 0) + n
            amounts = money.setdefault(node, {})
            amounts[key] = amounts.get(key, 0) + amount
    for node, amounts in money.items():
        slot(node)["revenue"] = report.money(amounts)
    for node, n in report.waiting_now(journey, version_number).items():
        slot(node)["waiting"] = n
    counts.pop("trigger", None)
    if entries:  # the trigger: every contact who entered the journey, through it and on at once
        counts["trigger"] = {"entered": entries, "waiting": 0, "left": entries}
    return counts


def _node_types(journey) -> dict:
    """{node id: type} of every node the journey has had (its draft's and each version's)."""
    types = {}
    versions = JourneyVersion.objects.filter(journey=journey).values_list("definition", flat=True)
    for definition in [journey.draft or {}, *versions]:
        for node in (definition or {}).get("nodes") or ():
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                types.setdefault(node["id"], node.get("type"))
    return types


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
    return {"trigger", *_node_types(journey)}


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
