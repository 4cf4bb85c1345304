import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0010_broadcasts"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                models.F("workspace"),
                django.db.models.functions.text.Upper("email"),
                condition=models.Q(("merged_into__isnull", True), ("user_id__isnull", True)),
                name="contact_email_only_ci_idx",
            ),
        ),
    ]
