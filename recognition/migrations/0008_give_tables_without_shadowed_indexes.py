"""The tables every give writes lose six indexes that other indexes already serve.

A recognition's giver and giver's team are served by (giver, created_at) and (giver_team,
created_at); a receiver row's recognition, employee and team by the unique (recognition,
employee) and the (employee, recognition) and (team, recognition) indexes; a ledger entry's
transaction by the unique (transaction, account). Each began with the same column and was
written by every give, reversal and redemption, and read by no query the others cannot serve.

Only the indexes go: altering the fields the usual way would drop and re-add the foreign keys,
which re-checks every stored row (millions) under a lock. The foreign keys stay as they are.
"""

import django.db.models.deletion
from django.db import migrations, models

# (index name as Django named it in 0001, table, column)
INDEXES = [
    ("recognition_recognition_giver_id_263ad442", "recognition_recognition", "giver_id"),
    (
        "recognition_recognition_giver_team_id_b5eb3d7d",
        "recognition_recognition",
        "giver_team_id",
    ),
    (
        "recognition_recognitionreceiver_recognition_id_1f8025cd",
        "recognition_recognitionreceiver",
        "recognition_id",
    ),
    (
        "recognition_recognitionreceiver_employee_id_6a481bf5",
        "recognition_recognitionreceiver",
        "employee_id",
    ),
    (
        "recognition_recognitionreceiver_team_id_08298c4c",
        "recognition_recognitionreceiver",
        "team_id",
    ),
    (
        "recognition_ledgerentry_transaction_id_4d8aa4bb",
        "recognition_ledgerentry",
        "transaction_id",
    ),
]


def drop_indexes(apps, schema_editor):
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_indexes(apps, schema_editor):
    for name, table, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX {schema_editor.quote_name(name)} ON {table} ({column})"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0005_drop_plaintext_authtoken_table"),
        ("recognition", "0007_recognition_to_notify_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="transaction",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="entries",
                        to="recognition.ledgertransaction",
                    ),
                ),
                migrations.AlterField(
                    model_name="recognition",
                    name="giver",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="recognitions_given",
                        to="people.employee",
                    ),
                ),
                migrations.AlterField(
                    model_name="recognition",
                    name="giver_team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="people.team",
                    ),
                ),
                migrations.AlterField(
                    model_name="recognitionreceiver",
                    name="employee",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="recognition_receipts",
                        to="people.employee",
                    ),
                ),
                migrations.AlterField(
                    model_name="recognitionreceiver",
                    name="recognition",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="receiver_links",
                        to="recognition.recognition",
                    ),
                ),
                migrations.AlterField(
                    model_name="recognitionreceiver",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="people.team",
                    ),
                ),
            ],
        ),
    ]
