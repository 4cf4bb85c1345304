"""The report's counts for what journeys did before counting began (journeys/report.py): rebuilt
from the step log, enrollments, conversions and the outbox, journey by journey. Uses the app's
code (report.rebuild), not historical models: on a new database there is no journey to count."""

from django.db import migrations


def backfill(apps, schema_editor):
    from journeys import report
    from journeys.models import Journey

    for journey in Journey.objects.only("id", "workspace_id").iterator():
        report.rebuild(journey)


class Migration(migrations.Migration):
    dependencies = [("journeys", "0006_experiment_state"), ("delivery", "0007_message_lz4")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
