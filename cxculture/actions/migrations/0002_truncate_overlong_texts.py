"""Cut texts longer than the limits that the next migration enforces, so it can apply.

Before the limits, a description of megabytes could be stored (and was sent to every viewer).
An overlong text keeps its beginning and ends with an ellipsis. The reverse does nothing: the
cut text is not recoverable, and the longer limit-free schema holds the short text as well.
"""

from django.db import migrations
from django.db.models.functions import Length

ELLIPSIS = "…"
LIMITS = {
    "Action": {"title": 200, "description": 4000, "drop_reason": 1000, "source_label": 300},
    "ActionUpdate": {"text": 4000},
}


def cut_overlong_texts(apps, schema_editor):
    for model_name, limits in LIMITS.items():
        model = apps.get_model("actions", model_name)
        for field, limit in limits.items():
            overlong = model.objects.annotate(size=Length(field)).filter(size__gt=limit)
            for row in overlong.only("pk", field).iterator(chunk_size=100):
                text = getattr(row, field)[: limit - len(ELLIPSIS)] + ELLIPSIS
                model.objects.filter(pk=row.pk).update(**{field: text})


class Migration(migrations.Migration):
    dependencies = [("actions", "0001_actions_prompts_and_timeline")]

    operations = [migrations.RunPython(cut_overlong_texts, migrations.RunPython.noop)]
