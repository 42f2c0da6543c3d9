import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Max


def backfill(apps, schema_editor):
    """When each person was last recognised, from the receipts already written (reversed
    recognitions left out)."""
    LastRecognition = apps.get_model("recognition", "LastRecognition")
    RecognitionReceiver = apps.get_model("recognition", "RecognitionReceiver")
    latest = (
        RecognitionReceiver.objects.filter(recognition__reversed_at__isnull=True)
        .values("employee_id")
        .annotate(at=Max("recognition__created_at"))
        .order_by()
    )
    LastRecognition.objects.bulk_create(
        (
            LastRecognition(employee_id=row["employee_id"], recognised_at=row["at"])
            for row in latest
        ),
        batch_size=5000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0001_initial"),
        ("recognition", "0002_ledger_database_rules"),
    ]

    operations = [
        migrations.CreateModel(
            name="LastRecognition",
            fields=[
                (
                    "employee",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="last_recognition",
                        serialize=False,
                        to="people.employee",
                    ),
                ),
                ("recognised_at", models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
