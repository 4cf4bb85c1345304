"""django-q2 entry points for predictions. Thin: the work is journeys/predictions/fit.py's."""

from datetime import datetime, time, timedelta

from . import fit

NIGHTLY_AT = time(3, 0)  # UTC: the nightly customer-value fit


def task_fit(workspace_id):
    """Fit one workspace's customer-value models now (the nightly job's and the button's)."""
    fit.fit_workspace(workspace_id)


def fit_all():
    """Scheduled nightly: a fit task for every workspace with orders."""
    fit.fit_every_workspace()


def ensure_schedule(**kwargs):
    """post_migrate: the nightly customer-value fit of every workspace with orders, at 03:00 UTC."""
    from django.utils import timezone
    from django_q.models import Schedule

    today = timezone.now()
    first = datetime.combine(today.date(), NIGHTLY_AT, tzinfo=today.tzinfo)
    Schedule.objects.update_or_create(
        name="journeys: nightly customer value fit",
        defaults={
            "func": "journeys.predictions.tasks.fit_all",
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
        },
        create_defaults={
            "func": "journeys.predictions.tasks.fit_all",
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
            "next_run": first if first > today else first + timedelta(days=1),
        },
    )
