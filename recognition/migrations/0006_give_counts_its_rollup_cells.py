"""The give from the allowance counts itself in the daily rollups in the same statement.

`recognition_give_from_allowance` (0004) takes the give's rollup cells as arrays, one per
column, and adds them after the give's rows, in the order given, only when the give succeeds.
The cells are still defined once, in Python (`recognition.rollups._recognition_cells`); the
function only adds what it is handed. A give then needs one statement on PostgreSQL, which
outside a transaction is its own transaction: no BEGIN, no separate upsert, no COMMIT round
trip. Everything else is 0004's function unchanged.
"""

from importlib import import_module

from django.db import migrations

BEFORE = import_module("recognition.migrations.0004_give_from_allowance_function")

DROP_BEFORE = BEFORE.REVERSE

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
    p_memo text,
    p_day_nodes text[],
    p_day_days date[],
    p_day_recognitions integer[],
    p_day_cross_team integer[],
    p_value_nodes text[],
    p_value_ids bigint[],
    p_value_days date[],
    p_value_recognitions integer[],
    p_giver_ids bigint[],
    p_giver_days date[],
    p_giver_recognitions integer[]
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

    -- The give's cells in the daily rollups, after its rows (the lock order of
    -- recognition.rollups), each table's rows in the order given: sorted by key, the order in
    -- which every writer locks cells.
    INSERT INTO recognition_recognitionday (node_path, day, recognitions, cross_team)
        SELECT c.node_path, c.day, c.recognitions, c.cross_team
        FROM unnest(p_day_nodes, p_day_days, p_day_recognitions, p_day_cross_team)
            WITH ORDINALITY AS c (node_path, day, recognitions, cross_team, position)
        ORDER BY c.position
        ON CONFLICT (node_path, day) DO UPDATE SET
            recognitions = recognition_recognitionday.recognitions + EXCLUDED.recognitions,
            cross_team = recognition_recognitionday.cross_team + EXCLUDED.cross_team;
    INSERT INTO recognition_recognitionvalueday (node_path, value_id, day, recognitions)
        SELECT c.node_path, c.value_id, c.day, c.recognitions
        FROM unnest(p_value_nodes, p_value_ids, p_value_days, p_value_recognitions)
            WITH ORDINALITY AS c (node_path, value_id, day, recognitions, position)
        ORDER BY c.position
        ON CONFLICT (node_path, value_id, day) DO UPDATE SET
            recognitions = recognition_recognitionvalueday.recognitions + EXCLUDED.recognitions;
    INSERT INTO recognition_recognitiongiverday (giver_id, day, recognitions)
        SELECT c.giver_id, c.day, c.recognitions
        FROM unnest(p_giver_ids, p_giver_days, p_giver_recognitions)
            WITH ORDINALITY AS c (giver_id, day, recognitions, position)
        ORDER BY c.position
        ON CONFLICT (giver_id, day) DO UPDATE SET
            recognitions = recognition_recognitiongiverday.recognitions + EXCLUDED.recognitions;

    RETURN QUERY SELECT 'given'::text, new_recognition, new_transaction, links;
END;
$$;
"""

REVERSE = """
DROP FUNCTION IF EXISTS recognition_give_from_allowance(
    bigint, bigint, integer, bigint[], bigint[], bigint[], bigint, bigint, date, timestamptz,
    timestamptz, text, text, text, text[], date[], integer[], integer[], text[], bigint[],
    date[], integer[], bigint[], date[], integer[]
);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP_BEFORE)
            cursor.execute(FORWARD)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(REVERSE)
            cursor.execute(BEFORE.FORWARD)


class Migration(migrations.Migration):
    dependencies = [("recognition", "0005_daily_rollups")]

    operations = [migrations.RunPython(forward, reverse)]
