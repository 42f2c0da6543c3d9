from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0005_store_responses_as_at_close"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="response",
            name="submitted_on",
        ),
    ]
