import uuid

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0003_response_run_id_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="SealedResponse",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("box", models.BinaryField()),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="sealed_responses",
                        to="surveys.surveyrun",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
    ]
