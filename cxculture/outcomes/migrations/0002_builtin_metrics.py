"""The built-in metric catalog (DESIGN.md, "Customer outcomes"). Data only; reversible.

This list is a copy of services.BUILTIN_METRICS as it was when written: a migration must not
import app code, which may change later. tests/outcomes/test_metrics.py checks they agree.
"""

from django.db import migrations

BUILTIN_METRICS = (
    ("csat", "Customer satisfaction (CSAT)", "scale", 1, 5, "", True),
    ("nps", "Net Promoter Score", "scale", 0, 10, "", True),
    ("fcr", "First-contact resolution", "binary", 0, 1, "", True),
    ("complaint", "Complaint", "binary", 0, 1, "", False),
    ("churn", "Churn", "binary", 0, 1, "", False),
    ("qa", "Quality assurance score", "number", 0, 100, "points", True),
    ("handle_time", "Handle time", "number", 0, 86400, "seconds", False),
)


def create_builtin_metrics(apps, schema_editor):
    Metric = apps.get_model("outcomes", "Metric")
    for code, name, kind, low, high, unit, higher in BUILTIN_METRICS:
        Metric.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "min_value": low,
                "max_value": high,
                "unit": unit,
                "higher_is_better": higher,
                "is_builtin": True,
            },
        )


def delete_builtin_metrics(apps, schema_editor):
    Metric = apps.get_model("outcomes", "Metric")
    Metric.objects.filter(code__in=[metric[0] for metric in BUILTIN_METRICS]).delete()


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0001_initial")]

    operations = [migrations.RunPython(create_builtin_metrics, delete_builtin_metrics)]
