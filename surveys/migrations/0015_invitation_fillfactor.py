from django.db import migrations

# PostgreSQL only (SQLite has no fill factor). See the Invitation model's docstring.
FILL = "ALTER TABLE surveys_invitation SET (fillfactor = 50)"
RESET = "ALTER TABLE surveys_invitation RESET (fillfactor)"


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("surveys", "0014_invitation_run_without_own_index")]

    operations = [migrations.RunPython(_on_postgresql(FILL), _on_postgresql(RESET))]
