"""Daily rollups per team, metric and local day: the one definition of a cell.

`cells_select(records)` is the cell as SQL over any relation that has the record columns
(`team_id`, `metric_id`, `occurred_at`, `value`): the records table when the rollups are
rebuilt (a nightly refresh, the seeder), or the rows an ingest has just inserted, which are
added to the stored cells. The day is the record's date in settings.TIME_ZONE, computed by the
database (Django's own conversion for the backend), so every writer puts a record in the same
cell; NPS bands (9-10 promoters, 7-8 passives, 0-6 detractors) count only for the `nps` metric.

Monthly rollups hold the same sums per team, metric and month (the month of the record's local
day): an ingest adds its records to their month as to their day (a JSON batch in the same
statement, an import by summing the day cells it adds), and a rebuild sums the months again
from the daily rows it wrote, so a month always equals the sum of its days.

Which records the rollups count (`COUNTED`): every record but those of an import that has not
finished. An import adds all its records to their cells in the transaction that finishes it
(`import_rollups_add`), and a rebuild leaves out the records of imports still queued or
running, so a record is counted once whichever comes first.
"""

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cxculture.lib import stats

from ..models import DailyRollup, Metric, MonthlyRollup, OutcomeImport, OutcomeRecord

# Ingestion takes this PostgreSQL advisory lock shared, a rollup rebuild takes it exclusively, so
# a rebuild never races the increments. (SQLite serialises writers by itself.)
_ROLLUP_LOCK_KEY = 0x0C0C_0E5D
# A cell's period: the record's local day (DailyRollup) or the month of that day (MonthlyRollup).
DAY, MONTH = "day", "month"
_COUNTERS = ("count", "sum", "sum_sq", "promoters", "passives", "detractors")
CELL_COLUMNS = ("team_id", "metric_id", DAY, *_COUNTERS, "updated_at")
_TABLES = {DAY: DailyRollup, MONTH: MonthlyRollup}


def _columns(per: str) -> tuple[str, ...]:
    return ("team_id", "metric_id", per, *_COUNTERS, "updated_at")


def _month_of(sql: str, params: Sequence[object]) -> tuple[str, list]:
    """The first day of the month of the date `sql`, as a date on both databases."""
    month_sql, month_params = connection.ops.date_trunc_sql("month", sql, tuple(params))
    if connection.vendor == "postgresql":
        month_sql = f"({month_sql})::date"  # DATE_TRUNC gives a timestamp
    return month_sql, list(month_params)


def rollup_lock(*, exclusive: bool) -> None:
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [_ROLLUP_LOCK_KEY])


def cells_select(
    records: str, *, where: str = "TRUE", where_params: Sequence[object] = (), per: str = DAY
) -> tuple[str, list]:
    """SELECT the rollup cells (in CELL_COLUMNS order, `per` day or month) of the records in
    `records`.

    `records` is a table name or a parenthesised subquery with an alias; `where` filters it.
    Cells come out sorted, so concurrent writers lock them in the same order.
    """
    quote = connection.ops.quote_name
    day_sql, day_params = connection.ops.datetime_cast_date_sql(
        "occurred_at", (), settings.TIME_ZONE
    )
    if per == MONTH:
        day_sql, day_params = _month_of(day_sql, day_params)
    metric = quote(Metric._meta.db_table)
    nps = f"metric_id IN (SELECT id FROM {metric} WHERE code = 'nps')"  # noqa: S608
    updated_at = connection.ops.adapt_datetimefield_value(timezone.now())
    sql = (
        f"SELECT team_id, metric_id, {day_sql} AS {per}, COUNT(*) AS count, "  # noqa: S608
        "SUM(value) AS sum, SUM(value * value) AS sum_sq, "
        # NPS bands of lib/stats: promoters 9-10, passives 7-8, detractors 0-6 (whole numbers).
        f"COUNT(CASE WHEN {nps} AND value >= {stats.PROMOTER_MIN} THEN 1 END) AS promoters, "
        f"COUNT(CASE WHEN {nps} AND value > {stats.DETRACTOR_MAX} "
        f"AND value < {stats.PROMOTER_MIN} THEN 1 END) AS passives, "
        f"COUNT(CASE WHEN {nps} AND value <= {stats.DETRACTOR_MAX} THEN 1 END) AS detractors, "
        f"%s AS updated_at FROM {records} WHERE {where} "
        f"GROUP BY team_id, metric_id, {day_sql} ORDER BY team_id, metric_id, {per}"
    )
    return sql, [*day_params, updated_at, *where_params, *day_params]


def cells_add_sql(
    records: str, *, where: str = "TRUE", where_params: Sequence[object] = (), per: str = DAY
) -> tuple[str, list]:
    """INSERT the cells of `records` (filtered by `where`) into the daily (or, `per` MONTH, the
    monthly) rollups, adding to cells already stored.

    An upsert that adds to the stored counts (`count = count + excluded.count`) is atomic on
    both databases, so concurrent ingests into the same cell never lose an update — which a
    "recompute the cell from the raw rows" would under READ COMMITTED, as each transaction
    cannot see the other's uncommitted rows.
    """
    select, params = cells_select(records, where=where, where_params=where_params, per=per)
    return _cells_upsert_sql(select, per=per), params


def _cells_upsert_sql(select: str, *, per: str) -> str:
    """INSERT the cells `select` gives (in `_columns(per)` order) into the daily or monthly
    rollups, adding to cells already stored. The SELECT must have a WHERE clause (SQLite reads
    `ON CONFLICT` after a bare FROM as a join constraint)."""
    quote = connection.ops.quote_name
    table = quote(_TABLES[per]._meta.db_table)
    added = ", ".join(
        f"{quote(name)} = {table}.{quote(name)} + excluded.{quote(name)}" for name in _COUNTERS
    )
    names = ", ".join(quote(name) for name in _columns(per))
    return (
        f"INSERT INTO {table} ({names}) {select} "
        f"ON CONFLICT (team_id, metric_id, {quote(per)}) DO UPDATE SET {added}, "
        "updated_at = excluded.updated_at"
    )


def _months_select(
    days: str, *, where: str = "TRUE", where_params: Sequence[object] = ()
) -> tuple[str, list]:
    """SELECT the monthly cells (in `_columns(MONTH)` order) that sum the daily cells in `days`
    (a table with the daily rollup columns), filtered by `where`."""
    quote = connection.ops.quote_name
    month_sql, month_params = _month_of("day", ())
    updated_at = connection.ops.adapt_datetimefield_value(timezone.now())
    sums = ", ".join(f"SUM({quote(name)})" for name in _COUNTERS)
    sql = (
        f"SELECT team_id, metric_id, {month_sql}, {sums}, %s FROM {days} "  # noqa: S608
        f"WHERE {where} GROUP BY team_id, metric_id, {month_sql} "
        f"ORDER BY team_id, metric_id, {month_sql}"
    )
    return sql, [*month_params, updated_at, *where_params, *month_params, *month_params]


def _counted() -> str:
    """SQL over the records table: the records the rollups count (see the module docstring)."""
    quote = connection.ops.quote_name
    imports = quote(OutcomeImport._meta.db_table)
    unfinished = ", ".join(
        f"'{status}'" for status in (OutcomeImport.Status.QUEUED, OutcomeImport.Status.RUNNING)
    )
    return (
        "(import_job_id IS NULL OR import_job_id NOT IN "  # noqa: S608 - our own names
        f"(SELECT id FROM {imports} WHERE status IN ({unfinished})))"
    )


IMPORT_CELLS = "outcome_import_cells"


def import_rollups_add(*, import_job_id: int) -> None:
    """Add every record of an import to its daily and monthly cells: once, in the transaction
    that finishes the import (its status leaves `running` there), holding the rollup lock
    shared so that a rebuild counts the import's records either wholly before or not at all.

    The records are read once: their daily cells go into a temp table, which is added to the
    daily rollups and then summed by month into the monthly ones, as a rebuild sums its months
    from its days. Reading the records once per period took 4.3-4.6 s for an import of a
    million records on the enterprise bench database, this 2.8-3.1 s.
    """
    quote = connection.ops.quote_name
    records = quote(OutcomeRecord._meta.db_table)
    cells, params = cells_select(records, where="import_job_id = %s", where_params=[import_job_id])
    months, month_params = _months_select(IMPORT_CELLS)
    rollup_lock(exclusive=False)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {IMPORT_CELLS}")
        cursor.execute(f"CREATE TEMP TABLE {IMPORT_CELLS} AS {cells}", params)
        names = ", ".join(quote(name) for name in CELL_COLUMNS)
        cursor.execute(
            _cells_upsert_sql(
                f"SELECT {names} FROM {IMPORT_CELLS} WHERE TRUE "  # noqa: S608 - our own names
                "ORDER BY team_id, metric_id, day",
                per=DAY,
            )
        )
        cursor.execute(_cells_upsert_sql(months, per=MONTH), month_params)
        cursor.execute(f"DROP TABLE {IMPORT_CELLS}")


def months_rebuild(*, since: dt.date | None = None) -> int:
    """Sum the monthly rollups again from the daily ones (every month, or from the month of
    `since` on); the caller holds the rollup lock exclusively (`rollups_rebuild`)."""
    quote = connection.ops.quote_name
    months = MonthlyRollup.objects.all()
    where, params = "TRUE", []
    if since is not None:
        first = since.replace(day=1)
        months = months.filter(month__gte=first)
        where, params = "day >= %s", [connection.ops.adapt_datefield_value(first)]
    select, select_params = _months_select(
        quote(DailyRollup._meta.db_table), where=where, where_params=params
    )
    names = ", ".join(quote(name) for name in _columns(MONTH))
    months.delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(MonthlyRollup._meta.db_table)} ({names}) {select}",
            select_params,
        )
        return cursor.rowcount


def rollups_rebuild(*, since: dt.date | None = None) -> int:
    """Recompute the daily rollups from the counted records (every day, or from `since` on), and
    the monthly ones from them (from the month of `since` on).

    Takes the rollup lock exclusively, so no ingest adds to a cell while it is rebuilt. Safe to
    run at any time and as often as wanted; returns the number of cells written.
    """
    quote = connection.ops.quote_name
    where, params = _counted(), []
    rollups = DailyRollup.objects.all()
    if since is not None:
        start = dt.datetime.combine(since, dt.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))
        where += " AND occurred_at >= %s"
        params = [connection.ops.adapt_datetimefield_value(start)]
        rollups = rollups.filter(day__gte=since)
    select, select_params = cells_select(
        quote(OutcomeRecord._meta.db_table), where=where, where_params=params
    )
    names = ", ".join(quote(name) for name in CELL_COLUMNS)
    with transaction.atomic():
        rollup_lock(exclusive=True)
        rollups.delete()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(DailyRollup._meta.db_table)} ({names}) {select}",
                select_params,
            )
            written = cursor.rowcount
        months_rebuild(since=since)
        return written


def rollups_refresh_recent(*, days: int | None = None) -> int:
    """Rebuild the last `days` days (settings.CXC_OUTCOME_ROLLUP_REFRESH_DAYS): the nightly net."""
    days = settings.CXC_OUTCOME_ROLLUP_REFRESH_DAYS if days is None else days
    today = timezone.localdate(timezone=ZoneInfo(settings.TIME_ZONE))
    return rollups_rebuild(since=today - dt.timedelta(days=days))
