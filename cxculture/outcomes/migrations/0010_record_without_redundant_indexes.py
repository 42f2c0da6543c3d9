"""Outcome records lose four indexes that other indexes already serve.

The team's and the agent's own foreign-key indexes are served by (team, metric, occurred_at) and
(agent, occurred_at), which begin with them; the source's two (equality and LIKE) by the unique
(source, external_id). Each was written for every imported record and read by no query.

Only the indexes go: altering the fields the usual way would drop and re-add the foreign keys,
which re-checks every stored record (millions) under a lock. The foreign keys stay as they are.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "outcomes_outcomerecord"
# (index name, column, PostgreSQL operator class) as Django named them in 0001.
INDEXES = [
    ("outcomes_outcomerecord_team_id_333e4b1b", "team_id", ""),
    ("outcomes_outcomerecord_agent_id_a1c46525", "agent_id", ""),
    ("outcomes_outcomerecord_source_07d92a23", "source", ""),
    ("outcomes_outcomerecord_source_07d92a23_like", "source", "varchar_pattern_ops"),
]


def drop_indexes(apps, schema_editor):
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_indexes(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for name, column, opclass in INDEXES:
        if opclass and not postgresql:
            continue  # only PostgreSQL has the LIKE index
        schema_editor.execute(
            f"CREATE INDEX {schema_editor.quote_name(name)} ON {TABLE} "
            f"({column}{' ' + opclass if opclass else ''})"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("outcomes", "0009_monthly_rollup_without_own_indexes"),
        ("people", "0005_drop_plaintext_authtoken_table"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="outcomerecord",
                    name="agent",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="people.employee",
                    ),
                ),
                migrations.AlterField(
                    model_name="outcomerecord",
                    name="source",
                    field=models.SlugField(db_index=False, max_length=50),
                ),
                migrations.AlterField(
                    model_name="outcomerecord",
                    name="team",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="people.team",
                    ),
                ),
            ],
        ),
    ]
