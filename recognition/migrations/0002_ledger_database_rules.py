"""Ledger rules enforced by PostgreSQL itself, so raw SQL cannot break the books either.

- Ledger entries are append-only: a trigger refuses UPDATE and DELETE.
- Every transaction is balanced: a DEFERRABLE INITIALLY DEFERRED constraint trigger checks, at
  commit, that the entries of each transaction touched sum to zero.
- Amounts are non-zero and employee balances non-negative: CheckConstraints (0001).

Other databases (SQLite for the demo) rely on the ledger service and the CheckConstraints.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION recognition_ledgerentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER recognition_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON recognition_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION recognition_ledgerentry_append_only();

CREATE OR REPLACE FUNCTION recognition_ledgertransaction_balanced() RETURNS trigger AS $$
DECLARE
    total bigint;
BEGIN
    SELECT COALESCE(SUM(amount), 0) INTO total
        FROM recognition_ledgerentry WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % is unbalanced: its entries sum to %',
            NEW.transaction_id, total
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER recognition_ledgertransaction_balanced
    AFTER INSERT ON recognition_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION recognition_ledgertransaction_balanced();
"""

REVERSE = """
DROP TRIGGER IF EXISTS recognition_ledgertransaction_balanced ON recognition_ledgerentry;
DROP FUNCTION IF EXISTS recognition_ledgertransaction_balanced();
DROP TRIGGER IF EXISTS recognition_ledgerentry_append_only ON recognition_ledgerentry;
DROP FUNCTION IF EXISTS recognition_ledgerentry_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FORWARD)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(REVERSE)


class Migration(migrations.Migration):
    dependencies = [("recognition", "0001_ledger_recognition_rewards_exceptions")]

    operations = [migrations.RunPython(forward, reverse)]
