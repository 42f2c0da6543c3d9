"""Daily rollups per team, metric and local day: the one definition of a cell.

`cells_select(records)` is the cell as SQL over any relation that has the record columns
(`team_id`, `metric_id`, `occurred_at`, `value`): the records table when the rollups are
rebuilt (a nightly refresh, the seeder), or the rows an ingest has just inserted, which are
added to the stored cells. The day is the record's date in settings.TIME_ZONE, computed by the
database (Django's own conversion for the backend), so every writer puts a record in the same
cell; NPS bands (9-10 promoters, 7-8 passives, 0-6 detractors) count only for the `nps` metric.
"""

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cxculture.lib import stats

from ..models import DailyRollup, Metric, OutcomeRecord

# Ingestion takes this PostgreSQL advisory lock shared, a rollup rebuild takes it exclusively, so
# a rebuild never races the increments. (SQLite serialises writers by itself.)
_ROLLUP_LOCK_KEY = 0x0C0C_0E5D
CELL_COLUMNS = (
    "team_id",
    "metric_id",
    "day",
    "count",
    "sum",
    "sum_sq",
    "promoters",
    "passives",
    "detractors",
    "updated_at",
)
_COUNTERS = ("count", "sum", "sum_sq", "promoters", "passives", "detractors")


def rollup_lock(*, exclusive: bool) -> None:
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [_ROLLUP_LOCK_KEY])


def cells_select(
    records: str, *, where: str = "TRUE", where_params: Sequence[object] = ()
) -> tuple[str, list]:
    """SELECT the rollup cells (in CELL_COLUMNS order) of the records in `records`.

    `records` is a table name or a parenthesised subquery with an alias; `where` filters it.
    Cells come out sorted, so concurrent writers lock them in the same order.
    """
    quote = connection.ops.quote_name
    day_sql, day_params = connection.ops.datetime_cast_date_sql(
        "occurred_at", (), settings.TIME_ZONE
    )
    metric = quote(Metric._meta.db_table)
    nps = f"metric_id IN (SELECT id FROM {metric} WHERE code = 'nps')"  # noqa: S608
    updated_at = connection.ops.adapt_datetimefield_value(timezone.now())
    sql = (
        f"SELECT team_id, metric_id, {day_sql} AS day, COUNT(*), SUM(value), "  # noqa: S608
        f"SUM(value * value), "
        # NPS bands of lib/stats: promoters 9-10, passives 7-8, detractors 0-6 (whole numbers).
        f"COUNT(CASE WHEN {nps} AND value >= {stats.PROMOTER_MIN} THEN 1 END), "
        f"COUNT(CASE WHEN {nps} AND value > {stats.DETRACTOR_MAX} "
        f"AND value < {stats.PROMOTER_MIN} THEN 1 END), "
        f"COUNT(CASE WHEN {nps} AND value <= {stats.DETRACTOR_MAX} THEN 1 END), %s "
        f"FROM {records} WHERE {where} "
        f"GROUP BY team_id, metric_id, {day_sql} ORDER BY team_id, metric_id, day"
    )
    return sql, [*day_params, updated_at, *where_params, *day_params]


def cells_add_sql(records: str) -> tuple[str, list]:
    """INSERT the cells of `records` into the rollups, adding to cells already stored.

    An upsert that adds to the stored counts (`count = count + excluded.count`) is atomic on
    both databases, so concurrent ingests into the same cell never lose an update — which a
    "recompute the cell from the raw rows" would under READ COMMITTED, as each transaction
    cannot see the other's uncommitted rows.
    """
    quote = connection.ops.quote_name
    table = quote(DailyRollup._meta.db_table)
    select, params = cells_select(records)
    added = ", ".join(
        f"{quote(name)} = {table}.{quote(name)} + excluded.{quote(name)}" for name in _COUNTERS
    )
    names = ", ".join(quote(name) for name in CELL_COLUMNS)
    sql = (
        f"INSERT INTO {table} ({names}) {select} "
        f"ON CONFLICT (team_id, metric_id, day) DO UPDATE SET {added}, "
        "updated_at = excluded.updated_at"
    )
    return sql, params


def rollups_rebuild(*, since: dt.date | None = None) -> int:
    """Recompute the daily rollups from the raw records (every day, or from `since` on).

    Takes the rollup lock exclusively, so no ingest adds to a cell while it is rebuilt. Safe to
    run at any time and as often as wanted; returns the number of cells written.
    """
    quote = connection.ops.quote_name
    where, params = "TRUE", []
    rollups = DailyRollup.objects.all()
    if since is not None:
        start = dt.datetime.combine(since, dt.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))
        where = "occurred_at >= %s"
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
            return cursor.rowcount


def rollups_refresh_recent(*, days: int | None = None) -> int:
    """Rebuild the last `days` days (settings.CXC_OUTCOME_ROLLUP_REFRESH_DAYS): the nightly net."""
    days = settings.CXC_OUTCOME_ROLLUP_REFRESH_DAYS if days is None else days
    today = timezone.localdate(timezone=ZoneInfo(settings.TIME_ZONE))
    return rollups_rebuild(since=today - dt.timedelta(days=days))
