"""Fill the monthly rollups from the daily ones already stored (ingests keep them from now on)."""

from django.db import migrations
from django.db.models import Sum
from django.db.models.functions import TruncMonth

COUNTERS = ("count", "sum", "sum_sq", "promoters", "passives", "detractors")
BATCH = 5000


def months_from_days(apps, schema_editor):
    DailyRollup = apps.get_model("outcomes", "DailyRollup")
    MonthlyRollup = apps.get_model("outcomes", "MonthlyRollup")
    database = schema_editor.connection.alias
    months = (
        DailyRollup.objects.using(database)
        .annotate(month=TruncMonth("day"))
        .values("team_id", "metric_id", "month")
        .annotate(**{f"total_{name}": Sum(name) for name in COUNTERS})
        .order_by()
    )
    batch = []
    for row in months.iterator(chunk_size=BATCH):
        batch.append(
            MonthlyRollup(
                team_id=row["team_id"],
                metric_id=row["metric_id"],
                month=row["month"],
                **{name: row[f"total_{name}"] for name in COUNTERS},
            )
        )
        if len(batch) == BATCH:
            MonthlyRollup.objects.using(database).bulk_create(batch)
            batch = []
    MonthlyRollup.objects.using(database).bulk_create(batch)
    if schema_editor.connection.vendor == "postgresql":
        # The planner's statistics of the table just filled (else it expects a few rows,
        # and the dashboard's trend sorts a hundred thousand of them on disk).
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("ANALYZE outcomes_monthlyrollup")


def forget_months(apps, schema_editor):
    apps.get_model("outcomes", "MonthlyRollup").objects.using(
        schema_editor.connection.alias
    ).all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("outcomes", "0006_monthly_rollups"),
    ]

    operations = [
        migrations.RunPython(months_from_days, forget_months),
    ]
