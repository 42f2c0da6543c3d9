"""Writing validated records, in the caller's transaction.

Records are first staged in a session temp table (`outcome_record_staging`: COPY on
PostgreSQL, a multi-row INSERT elsewhere), then moved to the records table in one statement:
the database skips a (source, external_id) it already holds, or that an earlier row of the same
batch took (rows go in by source, external id and row, so the first row of a file wins and
concurrent writers lock in the same order).

When records count in the rollups depends on who writes them:
- a JSON batch (`staged_records_write`) adds the records it inserted, and only those, to their
  daily and monthly cells in the same statement (`rollups`): they count at once;
- an import's batches (`staged_records_count_write`) only insert: the import adds all its
  records to the rollups in the transaction that finishes it (`rollups.import_rollups_add`), so
  a file counts in the dashboards whole, never half of it, and its cells are written once
  instead of once per batch. An import's batches may first try the statement without the skip
  (`expect_new`), which costs an index search per row, and fall back to it when a key turns out
  to be taken.
"""

from collections.abc import Iterable, Sequence
from itertools import batched

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ..models import OutcomeRecord
from .rollups import DAY, MONTH, cells_add_sql, rollup_lock
from .validation import NewRecord

STAGING = "outcome_record_staging"
UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE
STAGED_COLUMNS = (
    "row_no",
    "source",
    "external_id",
    "metric_id",
    "value",
    "occurred_at",
    "team_id",
    "agent_id",
    "customer_ref",
    "interaction_ref",
)
_STAGING_DDL = (
    "row_no integer, source varchar(50), external_id varchar(200), metric_id bigint, "
    "value double precision, occurred_at {timestamp}, team_id bigint, agent_id bigint, "
    "customer_ref varchar(100), interaction_ref varchar(100)"
)
_RECORD_COLUMNS = (
    "metric_id",
    "value",
    "occurred_at",
    "team_id",
    "agent_id",
    "customer_ref",
    "interaction_ref",
    "source",
    "external_id",
    "import_job_id",
    "created_at",
)


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def temp_table(name: str, ddl: str) -> None:
    """Create the session temp table `name` if needed, and empty it.

    On PostgreSQL its rows go at every commit as well (ON COMMIT DELETE ROWS), so a batch never
    sees another's; it is emptied here too because tests run everything in one transaction.
    """
    with connection.cursor() as cursor:
        if on_postgresql():
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({ddl}) ON COMMIT DELETE ROWS")
            cursor.execute(f"TRUNCATE {name}")
        else:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({ddl})")
            cursor.execute(f"DELETE FROM {name}")  # noqa: S608 - our own table name


def staging_prepare() -> None:
    """An empty `outcome_record_staging` for this batch."""
    timestamp = "timestamptz" if on_postgresql() else "text"
    temp_table(STAGING, _STAGING_DDL.format(timestamp=timestamp))


def records_stage(records: Iterable[tuple[int, str, NewRecord]]) -> int:
    """Add (row, source, record) to the staging table; return how many were staged."""
    staged = 0
    names = ", ".join(STAGED_COLUMNS)
    with connection.cursor() as cursor:
        if on_postgresql():
            with cursor.cursor.copy(f"COPY {STAGING} ({names}) FROM STDIN") as copy:
                for row, source, r in records:
                    copy.write_row(
                        (
                            row,
                            source,
                            r.external_id,
                            r.metric_id,
                            r.value,
                            r.occurred_at,
                            r.team_id,
                            r.agent_id,
                            r.customer_ref,
                            r.interaction_ref,
                        )
                    )
                    staged += 1
            return staged
        adapt = connection.ops.adapt_datetimefield_value
        rows = [
            (
                row,
                source,
                r.external_id,
                r.metric_id,
                r.value,
                adapt(r.occurred_at),
                r.team_id,
                r.agent_id,
                r.customer_ref,
                r.interaction_ref,
            )
            for row, source, r in records
        ]
        placeholders = "(" + ", ".join(["%s"] * len(STAGED_COLUMNS)) + ")"
        per_statement = max(1, (connection.features.max_query_params or 999) // 10)
        for chunk in batched(rows, per_statement):
            cursor.execute(
                f"INSERT INTO {STAGING} ({names}) VALUES "  # noqa: S608 - placeholders only
                + ", ".join([placeholders] * len(chunk)),
                [value for row in chunk for value in row],
            )
        return len(rows)


def staged_records_write(*, import_job_id: int | None) -> list[tuple[str, str]]:
    """Insert the staged records that are new and add them to the rollups at once.

    Returns the (source, external_id) of every record inserted; a staged record whose key is
    already stored, or taken by an earlier staged row, is a duplicate and changes nothing.
    """
    quote = connection.ops.quote_name
    table = quote(OutcomeRecord._meta.db_table)
    insert, params = _insert_sql(import_job_id=import_job_id, skip_taken=True)
    rollup_lock(exclusive=False)
    with connection.cursor() as cursor:
        if on_postgresql():
            # One statement: the rows inserted feed their daily and monthly cells directly.
            add_cells, cell_params = cells_add_sql("inserted")
            add_months, month_params = cells_add_sql("inserted", per=MONTH)
            cursor.execute(
                f"WITH inserted AS ({insert} RETURNING team_id, metric_id, occurred_at, value, "  # noqa: S608
                f"source, external_id), cells AS ({add_cells}), months AS ({add_months}) "
                "SELECT source, external_id FROM inserted",
                [*params, *cell_params, *month_params],
            )
            return cursor.fetchall()
        cursor.execute(f"{insert} RETURNING id, source, external_id", params)
        inserted = cursor.fetchall()
        if inserted:
            temp_table("outcome_record_inserted", "id integer PRIMARY KEY")
            for chunk in batched([(pk,) for pk, _, _ in inserted], 500):
                cursor.execute(
                    "INSERT INTO outcome_record_inserted (id) VALUES "  # noqa: S608
                    + ", ".join(["(%s)"] * len(chunk)),
                    [pk for (pk,) in chunk],
                )
            for per in (DAY, MONTH):
                add_cells, cell_params = cells_add_sql(
                    f"(SELECT * FROM {table} WHERE id IN "  # noqa: S608 - our own names
                    "(SELECT id FROM outcome_record_inserted)) AS inserted",
                    per=per,
                )
                cursor.execute(add_cells, cell_params)
        return [(source, external_id) for _, source, external_id in inserted]


def staged_records_count_write(*, import_job_id: int, expect_new: bool = False) -> tuple[int, bool]:
    """Insert an import batch's staged records that are new, without adding them to the
    rollups (the import does when it finishes). Returns (how many were inserted, whether a
    staged key was already taken).

    With `expect_new` (on PostgreSQL), the records first go in without ON CONFLICT, whose
    check before each row costs an extra search of the unique index: in a savepoint, so if a
    key is taken after all (already stored, or twice in the batch) the unique index refuses
    the statement, and the batch goes in the usual way.
    """
    if expect_new and on_postgresql():
        try:
            with transaction.atomic():
                return _staged_records_insert(import_job_id=import_job_id, skip_taken=False), False
        except IntegrityError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != UNIQUE_VIOLATION:
                raise
    return _staged_records_insert(import_job_id=import_job_id, skip_taken=True), True


def _staged_records_insert(*, import_job_id: int, skip_taken: bool) -> int:
    """Insert the staged records; return how many. Without `skip_taken`, a staged key already
    taken fails the statement (IntegrityError)."""
    insert, params = _insert_sql(import_job_id=import_job_id, skip_taken=skip_taken)
    with connection.cursor() as cursor:
        cursor.execute(insert, params)
        return cursor.rowcount


def _insert_sql(*, import_job_id: int | None, skip_taken: bool) -> tuple[str, list]:
    """INSERT ... SELECT of the staged records into the records table, in the order that
    makes the first row of a key win and concurrent writers lock keys in the same order."""
    quote = connection.ops.quote_name
    table = quote(OutcomeRecord._meta.db_table)
    names = ", ".join(quote(name) for name in _RECORD_COLUMNS)
    created_at = connection.ops.adapt_datetimefield_value(timezone.now())
    insert = (
        f"INSERT INTO {table} ({names}) "  # noqa: S608 - our own names
        "SELECT metric_id, value, occurred_at, team_id, agent_id, customer_ref, "
        f"interaction_ref, source, external_id, %s, %s FROM {STAGING} WHERE TRUE "
        "ORDER BY source, external_id, row_no "
        + ("ON CONFLICT (source, external_id) DO NOTHING" if skip_taken else "")
    )
    return insert, [import_job_id, created_at]


def records_write(
    records: Sequence[tuple[int, str, NewRecord]], *, import_job_id: int | None
) -> list[tuple[str, str]]:
    """Stage (row, source, record) and write them: `staged_records_write` for a list at hand."""
    staging_prepare()
    records_stage(records)
    return staged_records_write(import_job_id=import_job_id)
