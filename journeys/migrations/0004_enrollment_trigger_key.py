"""What started an enrollment gets a guard of its own (`trigger_key`, never released), apart from
the re-entry policy's `entry_key`: the same trigger enters once under every policy."""

from django.db import migrations, models
from django.db.models.functions import Substr


def move_trigger_keys(apps, schema_editor):
    Enrollment = apps.get_model("journeys", "Enrollment")
    # Cooldown journeys kept their trigger as entry_key "entry:<trigger>".
    Enrollment.objects.filter(entry_key__startswith="entry:").update(
        trigger_key=Substr("entry_key", len("entry:") + 1), entry_key=None
    )


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0003_flows"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrollment",
            name="trigger_key",
            field=models.CharField(blank=True, max_length=160, null=True),
        ),
        migrations.RunPython(move_trigger_keys, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="enrollment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("trigger_key__isnull", False)),
                fields=("journey", "contact", "trigger_key"),
                name="enrollment_trigger_key_unique",
            ),
        ),
    ]
