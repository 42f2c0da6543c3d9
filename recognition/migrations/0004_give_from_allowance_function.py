"""A give from the giving allowance as one statement on PostgreSQL (`recognition_give`).

`recognition_give_from_allowance` does in one round trip what the ledger's Python path does in
a dozen: lock the giver's allowance and the receivers' wallets (pk order, ledger rule 1), check
the per-receiver monthly cap and the allowance under that lock, then post the balanced
transaction, update the balances and write the recognition, its receivers, values and the
last-recognised stamps. Called outside a transaction it is its own transaction, so nothing of
it can commit without the rest; the CheckConstraint on balances and the balanced-transaction
trigger (0002) still stand behind it.

It refuses by returning an outcome, before writing anything:
- `stale`: an account is missing or the allowance was not granted for this month yet; the
  caller takes the Python path, which creates the accounts and resets the allowance.
- `cap`: `detail` is [receiver id, points already given to them this month].
- `short`: `detail` is [allowance balance].
On `given`, `detail` holds the receiver links' ids in the order of `p_receivers`.

Other databases (SQLite for the demo) take the Python path for every give.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION recognition_give_from_allowance(
    p_giver bigint,
    p_giver_team bigint,
    p_user integer,
    p_receivers bigint[],
    p_receiver_teams bigint[],
    p_values bigint[],
    p_points bigint,
    p_cap bigint,
    p_period date,
    p_since timestamptz,
    p_now timestamptz,
    p_message text,
    p_visibility text,
    p_memo text
) RETURNS TABLE (outcome text, recognition bigint, posted bigint, detail bigint[])
LANGUAGE plpgsql AS $$
DECLARE
    wanted integer := 1 + cardinality(p_receivers);
    locked integer;
    allowance_id bigint;
    allowance_balance bigint;
    allowance_period date;
    capped_receiver bigint;
    capped_already bigint;
    total bigint := p_points * cardinality(p_receivers);
    new_transaction bigint;
    new_recognition bigint;
    links bigint[];
BEGIN
    -- Ledger rule 1: every employee account this give touches, locked in pk order first.
    PERFORM 1 FROM recognition_account a
        WHERE (a.kind = 'allowance' AND a.employee_id = p_giver)
           OR (a.kind = 'wallet' AND a.employee_id = ANY (p_receivers))
        ORDER BY a.id
        FOR UPDATE;
    GET DIAGNOSTICS locked = ROW_COUNT;
    SELECT a.id, a.balance, a.period INTO allowance_id, allowance_balance, allowance_period
        FROM recognition_account a WHERE a.kind = 'allowance' AND a.employee_id = p_giver;
    IF locked <> wanted OR allowance_period IS NULL OR allowance_period < p_period THEN
        RETURN QUERY SELECT 'stale'::text, NULL::bigint, NULL::bigint, NULL::bigint[];
        RETURN;
    END IF;

    -- The cap, read under the giver's lock: the first receiver (in the order given) it stops.
    SELECT rr.employee_id, SUM(r.points_per_receiver)
        INTO capped_receiver, capped_already
        FROM recognition_recognitionreceiver rr
        JOIN recognition_recognition r ON r.id = rr.recognition_id
        WHERE rr.employee_id = ANY (p_receivers)
          AND r.giver_id = p_giver
          AND r.kind = 'peer'
          AND r.created_at >= p_since
          AND r.reversed_at IS NULL
        GROUP BY rr.employee_id
        HAVING SUM(r.points_per_receiver) + p_points > p_cap
        ORDER BY array_position(p_receivers, rr.employee_id)
        LIMIT 1;
    IF capped_receiver IS NOT NULL THEN
        RETURN QUERY SELECT 'cap'::text, NULL::bigint, NULL::bigint,
            ARRAY[capped_receiver, capped_already];
        RETURN;
    END IF;
    IF allowance_balance < total THEN
        RETURN QUERY SELECT 'short'::text, NULL::bigint, NULL::bigint, ARRAY[allowance_balance];
        RETURN;
    END IF;

    INSERT INTO recognition_ledgertransaction (kind, memo, created_by_id, reverses_id, created_at)
        VALUES ('give', left(p_memo, 255), p_user, NULL, p_now)
        RETURNING id INTO new_transaction;
    -- All legs in one statement: the deferred balance trigger sees them together.
    INSERT INTO recognition_ledgerentry (transaction_id, account_id, amount)
        SELECT new_transaction, allowance_id, -total
        UNION ALL
        SELECT new_transaction, a.id, p_points
            FROM unnest(p_receivers) WITH ORDINALITY AS g (employee_id, position)
            JOIN recognition_account a ON a.kind = 'wallet' AND a.employee_id = g.employee_id;
    UPDATE recognition_account a
        SET balance = a.balance + CASE WHEN a.id = allowance_id THEN -total ELSE p_points END
        WHERE a.id = allowance_id
           OR (a.kind = 'wallet' AND a.employee_id = ANY (p_receivers));

    INSERT INTO recognition_recognition (
        kind, giver_id, giver_team_id, message, visibility, points_per_receiver,
        transaction_id, created_at, reversed_at, reversed_by_id, reversal_reason,
        notified_at, announced_at
    ) VALUES (
        'peer', p_giver, p_giver_team, p_message, p_visibility, p_points,
        new_transaction, p_now, NULL, NULL, '', NULL, NULL
    ) RETURNING id INTO new_recognition;
    WITH inserted AS (
        INSERT INTO recognition_recognitionreceiver (recognition_id, employee_id, team_id)
            SELECT new_recognition, g.employee_id, g.team_id
            FROM unnest(p_receivers, p_receiver_teams) WITH ORDINALITY AS g (employee_id, team_id, position)
            ORDER BY g.position
            RETURNING id, employee_id
    )
    SELECT array_agg(i.id ORDER BY array_position(p_receivers, i.employee_id)) INTO links
        FROM inserted i;
    INSERT INTO recognition_recognition_values (recognition_id, companyvalue_id)
        SELECT new_recognition, v FROM unnest(p_values) AS v;
    INSERT INTO recognition_lastrecognition (employee_id, recognised_at)
        SELECT e, p_now FROM unnest(p_receivers) AS e
        ON CONFLICT (employee_id) DO UPDATE SET recognised_at = EXCLUDED.recognised_at;

    RETURN QUERY SELECT 'given'::text, new_recognition, new_transaction, links;
END;
$$;
"""

REVERSE = """
DROP FUNCTION IF EXISTS recognition_give_from_allowance(
    bigint, bigint, integer, bigint[], bigint[], bigint[], bigint, bigint, date, timestamptz,
    timestamptz, text, text, text
);
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
    dependencies = [("recognition", "0003_last_recognition")]

    operations = [migrations.RunPython(forward, reverse)]
