"""django-q2 entry points for predictions. Thin: the work is journeys/predictions/fit.py's (and
sendtime.py's, similar.py's)."""

from datetime import datetime, time, timedelta

from . import fit

NIGHTLY_AT = time(3, 0)  # UTC: the nightly customer-value fit


def task_fit(workspace_id):
    """Fit one workspace's customer-value models now (the nightly job's and the button's)."""
    fit.fit_workspace(workspace_id)


def fit_all():
    """Scheduled nightly: a fit task for every workspace with orders."""
    fit.fit_every_workspace()


# name -> (dotted path, UTC time of day): the nightly fits, one after the other.
NIGHTLY = {
    "journeys: nightly customer value fit": ("journeys.predictions.tasks.fit_all", NIGHTLY_AT),
    "journeys: nightly send-time fit": ("journeys.predictions.sendtime.fit_all", time(3, 30)),
    "journeys: nightly recommendations fit": ("journeys.predictions.similar.fit_all", time(4, 0)),
}


def ensure_schedule(**kwargs):
    """post_migrate: the nightly fits (NIGHTLY), each daily at its time."""
    from django.utils import timezone
    from django_q.models import Schedule

    today = timezone.now()
    for name, (func, at) in NIGHTLY.items():
        first = datetime.combine(today.date(), at, tzinfo=today.tzinfo)
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.DAILY, "repeats": -1},
            create_defaults={
                "func": func,
                "schedule_type": Schedule.DAILY,
                "repeats": -1,
                "next_run": first if first > today else first + timedelta(days=1),
            },
        )
