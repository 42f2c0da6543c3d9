"""API tokens moved from DRF's `authtoken` (keys stored in plain text, never expiring) to
`people.ApiToken` (digests, expiring). The old table's keys would still be secrets in plain
text, so it goes; API clients ask `POST /api/v1/auth/token/` for a new token."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("people", "0004_api_token")]

    operations = [
        migrations.RunSQL(
            "DROP TABLE IF EXISTS authtoken_token",
            reverse_sql=migrations.RunSQL.noop,
            elidable=False,
        )
    ]
