"""Daily rollups of recognitions and policy exceptions per tree node, which dashboards read
instead of every recognition and exception (DESIGN.md, "dashboards read rollups").

One cell definition each: `_recognition_cells` and `_exception_cells` say which cells one
recognition or one exception counts in. Both ways of keeping the rollups use them:

- a write adds its cells in its own transaction (`recognition_rollups_add` in the give service,
  or, for a give from the allowance on PostgreSQL, the give's one statement itself with the
  rows of `recognition_cell_rows` (migration 0006); `exception_rollups_add` when an exception
  is logged), as upserts that add to the cell (one statement on PostgreSQL), so concurrent
  writers never lose a count; cells are locked in one order (sorted keys, tables always in the
  same order), so two writers do not deadlock;
- a rebuild recomputes whole days from the raw rows (`recognition_rollups_rebuild`,
  `exception_rollups_rebuild`): after a reversal or a review (rare, so exact rather than
  clever), for rows written in bulk (the seeder), and nightly, which also follows teams that
  moved in the tree since (cells are keyed by the node's path at the time they were counted).

A rebuild locks the rollup tables against writers (SHARE ROW EXCLUSIVE, PostgreSQL) before it
deletes and reads, so a give is either in what the rebuild reads or adds its cells after it,
never both and never neither. SQLite has one writer at a time anyway.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, models, transaction
from django.db.models import Min
from django.utils import timezone

from cxculture.people.models import Team

from .models import (
    ExceptionDay,
    PolicyException,
    Recognition,
    RecognitionDay,
    RecognitionGiverDay,
    RecognitionReceiver,
    RecognitionValueDay,
)

ORGANISATION_NODE = ""  # the node path of the whole organisation


def node_paths(path: str | None) -> list[str]:
    """The organisation and every node whose subtree holds a team with this path: "/1/5/" is
    counted under "", "/1/" and "/1/5/". A receiver without a team is counted only under ""."""
    nodes = [ORGANISATION_NODE]
    ids = [part for part in (path or "").split("/") if part]
    for depth in range(1, len(ids) + 1):
        nodes.append("/" + "/".join(ids[:depth]) + "/")
    return nodes


def day_of(moment: dt.datetime) -> dt.date:
    """The rollup day of a recognition: its UTC date (the dashboard's periods start at UTC
    midnight)."""
    return moment.astimezone(dt.UTC).date()


# --- Recognitions -------------------------------------------------------------------------------


@dataclass
class RecognitionCells:
    """Counts to add per cell: (day, node) -> [recognitions, cross-team], (day, node, value) ->
    recognitions, (day, giver) -> recognitions."""

    nodes: dict[tuple[dt.date, str], list[int]] = field(default_factory=dict)
    values: dict[tuple[dt.date, str, int], int] = field(default_factory=dict)
    givers: dict[tuple[dt.date, int], int] = field(default_factory=dict)


@dataclass(frozen=True)
class RecognitionFacts:
    """What a recognition's cells depend on."""

    day: dt.date
    giver_id: int
    giver_team_id: int | None
    receivers: Sequence[tuple[int | None, str | None]]  # (team id, team path) of each receiver
    value_ids: Sequence[int]


def _recognition_cells(facts: RecognitionFacts, into: RecognitionCells) -> None:
    """THE cell definition: a recognition counts once under every node with a receiver in its
    subtree; it is cross-team there if one of those receivers is not in the giver's team (or
    either has no team, as the dashboard always counted it); once per value under each of these
    nodes; and once for its giver."""
    cross_by_node: dict[str, bool] = {}
    for team_id, path in facts.receivers:
        cross = team_id is None or team_id != facts.giver_team_id
        for node in node_paths(path if team_id is not None else None):
            cross_by_node[node] = cross_by_node.get(node, False) or cross
    for node, cross in cross_by_node.items():
        cell = into.nodes.setdefault((facts.day, node), [0, 0])
        cell[0] += 1
        cell[1] += int(cross)
        for value_id in facts.value_ids:
            key = (facts.day, node, value_id)
            into.values[key] = into.values.get(key, 0) + 1
    giver = (facts.day, facts.giver_id)
    into.givers[giver] = into.givers.get(giver, 0) + 1


def _upsert(
    table: str, key: Sequence[str], counts: Sequence[str], rows: list[tuple]
) -> tuple[str, list] | None:
    """The statement that adds `rows` (key columns then count columns) to their cells, creating
    missing ones, in key order (the order every writer locks cells in); None without rows."""
    if not rows:
        return None
    rows = sorted(rows, key=lambda row: tuple(row[: len(key)]))
    columns = [*key, *counts]
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{name} = {table}.{name} + EXCLUDED.{name}" for name in counts)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - names from the models
        f"VALUES {', '.join([placeholders] * len(rows))} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}",
        [value for row in rows for value in row],
    )


def _execute(statements: Sequence[tuple[str, list] | None]) -> None:
    """Run the upserts: on PostgreSQL as one statement (each but the last a data-modifying
    WITH, which PostgreSQL runs exactly once), so a give pays one round trip for its rollups;
    elsewhere one after the other."""
    present = [statement for statement in statements if statement is not None]
    if not present:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            heads = [f"cell_{n} AS ({sql})" for n, (sql, _) in enumerate(present[:-1])]
            sql = (f"WITH {', '.join(heads)} " if heads else "") + present[-1][0]
            cursor.execute(sql, [value for _, params in present for value in params])
        else:
            for sql, params in present:
                cursor.execute(sql, params)


@dataclass(frozen=True)
class RecognitionCellRows:
    """The rows to add to each rollup table (key columns, then counts), each list sorted by its
    key: the order in which every writer locks cells."""

    days: list[tuple[str, dt.date, int, int]]  # node_path, day, recognitions, cross_team
    values: list[tuple[str, int, dt.date, int]]  # node_path, value_id, day, recognitions
    givers: list[tuple[int, dt.date, int]]  # giver_id, day, recognitions


def _recognition_cell_rows(cells: RecognitionCells) -> RecognitionCellRows:
    return RecognitionCellRows(
        days=sorted(
            (node, day, counts[0], counts[1]) for (day, node), counts in cells.nodes.items()
        ),
        values=sorted((node, value, day, n) for (day, node, value), n in cells.values.items()),
        givers=sorted((giver, day, n) for (day, giver), n in cells.givers.items()),
    )


def _recognition_cells_write(cells: RecognitionCells) -> None:
    rows = _recognition_cell_rows(cells)
    _execute(
        [
            _upsert(
                RecognitionDay._meta.db_table,
                ["node_path", "day"],
                ["recognitions", "cross_team"],
                rows.days,
            ),
            _upsert(
                RecognitionValueDay._meta.db_table,
                ["node_path", "value_id", "day"],
                ["recognitions"],
                rows.values,
            ),
            _upsert(
                RecognitionGiverDay._meta.db_table,
                ["giver_id", "day"],
                ["recognitions"],
                rows.givers,
            ),
        ]
    )


def _cells_of(
    *,
    created_at: dt.datetime,
    giver_id: int,
    giver_team_id: int | None,
    receiver_teams: Sequence[tuple[int | None, str | None]],
    value_ids: Iterable[int],
) -> RecognitionCells:
    """The cells one recognition counts in; `receiver_teams`: each receiver's (team id, team
    path)."""
    facts = RecognitionFacts(
        day=day_of(created_at),
        giver_id=giver_id,
        giver_team_id=giver_team_id,
        receivers=list(receiver_teams),
        value_ids=sorted(set(value_ids)),
    )
    cells = RecognitionCells()
    _recognition_cells(facts, cells)
    return cells


def recognition_cell_rows(
    *,
    created_at: dt.datetime,
    giver_id: int,
    giver_team_id: int | None,
    receiver_teams: Sequence[tuple[int | None, str | None]],
    value_ids: Iterable[int],
) -> RecognitionCellRows:
    """The cells a recognition about to be written counts in, as rows to add per table: the
    give's one statement on PostgreSQL adds them itself (migration 0006)."""
    return _recognition_cell_rows(
        _cells_of(
            created_at=created_at,
            giver_id=giver_id,
            giver_team_id=giver_team_id,
            receiver_teams=receiver_teams,
            value_ids=value_ids,
        )
    )


def recognition_rollups_add(
    *,
    recognition: Recognition,
    receiver_teams: Sequence[tuple[int | None, str | None]],
    value_ids: Iterable[int],
) -> None:
    """Count a recognition just written (in its transaction) in the daily rollups: adds to at
    most three tables' cells. `receiver_teams`: each receiver's (team id, team path)."""
    _recognition_cells_write(
        _cells_of(
            created_at=recognition.created_at,
            giver_id=recognition.giver_id,
            giver_team_id=recognition.giver_team_id,
            receiver_teams=receiver_teams,
            value_ids=value_ids,
        )
    )


def _lock(*models: type[models.Model]) -> None:
    """Hold writers off the rollup tables until this transaction ends (see the module doc)."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(model._meta.db_table for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _recognition_facts(first: dt.date | None, last: dt.date | None) -> list[RecognitionFacts]:
    """The facts of every recognition not reversed created from `first` to `last` (UTC days;
    no bound when None): three queries."""
    window: dict[str, dt.datetime] = {}
    if first is not None:
        window["created_at__gte"] = _midnight(first)
    if last is not None:
        window["created_at__lt"] = _midnight(last + dt.timedelta(days=1))
    recognitions = Recognition.objects.active().filter(**window)
    inside = {f"recognition__{name}": value for name, value in window.items()}
    receivers: dict[int, list[tuple[int | None, str | None]]] = defaultdict(list)
    for recognition_id, team_id, path in RecognitionReceiver.objects.filter(
        recognition__reversed_at__isnull=True, **inside
    ).values_list("recognition_id", "team_id", "team__path"):
        receivers[recognition_id].append((team_id, path))
    values: dict[int, list[int]] = defaultdict(list)
    for recognition_id, value_id in Recognition.values.through.objects.filter(
        recognition__reversed_at__isnull=True, **inside
    ).values_list("recognition_id", "companyvalue_id"):
        values[recognition_id].append(value_id)
    return [
        RecognitionFacts(
            day=day_of(created_at),
            giver_id=giver_id,
            giver_team_id=giver_team_id,
            receivers=receivers[pk],
            value_ids=values[pk],
        )
        for pk, created_at, giver_id, giver_team_id in recognitions.values_list(
            "pk", "created_at", "giver_id", "giver_team_id"
        )
    ]


@transaction.atomic
def recognition_rollups_rebuild(
    *, first: dt.date | None = None, last: dt.date | None = None
) -> int:
    """Recompute the recognition rollups of the days `first` to `last` (UTC; no bound when
    None) from the recognitions. Returns how many were counted."""
    _lock(RecognitionDay, RecognitionValueDay, RecognitionGiverDay)
    for model in (RecognitionDay, RecognitionValueDay, RecognitionGiverDay):
        cells_scope = model.objects.all()
        if first is not None:
            cells_scope = cells_scope.filter(day__gte=first)
        if last is not None:
            cells_scope = cells_scope.filter(day__lte=last)
        cells_scope.delete()
    cells = RecognitionCells()
    facts = _recognition_facts(first, last)
    for one in facts:
        _recognition_cells(one, cells)
    RecognitionDay.objects.bulk_create(
        (
            RecognitionDay(day=day, node_path=node, recognitions=n, cross_team=cross)
            for (day, node), (n, cross) in cells.nodes.items()
        ),
        batch_size=5000,
    )
    RecognitionValueDay.objects.bulk_create(
        (
            RecognitionValueDay(day=day, node_path=node, value_id=value, recognitions=n)
            for (day, node, value), n in cells.values.items()
        ),
        batch_size=5000,
    )
    RecognitionGiverDay.objects.bulk_create(
        (
            RecognitionGiverDay(day=day, giver_id=giver, recognitions=n)
            for (day, giver), n in cells.givers.items()
        ),
        batch_size=5000,
    )
    return len(facts)


# --- Policy exceptions --------------------------------------------------------------------------


def _exception_cells(
    *,
    occurred_on: dt.date,
    team_path: str | None,
    status: str,
    cost: Decimal,
    into: dict[tuple[dt.date, str], list],
) -> None:
    """THE cell definition: an exception counts on the day it occurred under its team and every
    node above it (only under the organisation without a team); approved ones (with or without
    coaching) with their cost."""
    approved = status in PolicyException.APPROVED_STATUSES
    for node in node_paths(team_path):
        cell = into.setdefault((occurred_on, node), [0, 0, Decimal(0)])
        cell[0] += 1
        cell[1] += int(approved)
        cell[2] += cost if approved else Decimal(0)


def _exception_cells_write(cells: dict[tuple[dt.date, str], list]) -> None:
    _execute(
        [
            _upsert(
                ExceptionDay._meta.db_table,
                ["node_path", "day"],
                ["logged", "approved", "approved_cost"],
                [(node, day, *counts) for (day, node), counts in cells.items()],
            )
        ]
    )


def exception_rollups_add(*, exception: PolicyException) -> None:
    """Count an exception just logged (in its transaction)."""
    path = (
        Team.objects.filter(pk=exception.team_id).values_list("path", flat=True).first()
        if exception.team_id is not None
        else None
    )
    cells: dict[tuple[dt.date, str], list] = {}
    _exception_cells(
        occurred_on=exception.occurred_on,
        team_path=path,
        status=exception.status,
        cost=exception.cost,
        into=cells,
    )
    _exception_cells_write(cells)


@transaction.atomic
def exception_rollups_rebuild(*, first: dt.date | None = None, last: dt.date | None = None) -> int:
    """Recompute the exception rollups of the days `first` to `last` (every day when not given)
    from the exceptions. Returns how many were counted."""
    _lock(ExceptionDay)
    scope = PolicyException.objects.all()
    cells_scope = ExceptionDay.objects.all()
    if first is not None:
        scope = scope.filter(occurred_on__gte=first)
        cells_scope = cells_scope.filter(day__gte=first)
    if last is not None:
        scope = scope.filter(occurred_on__lte=last)
        cells_scope = cells_scope.filter(day__lte=last)
    cells_scope.delete()
    cells: dict[tuple[dt.date, str], list] = {}
    rows = list(scope.values_list("occurred_on", "team__path", "status", "cost"))
    for occurred_on, path, status, cost in rows:
        _exception_cells(
            occurred_on=occurred_on, team_path=path, status=status, cost=cost, into=cells
        )
    ExceptionDay.objects.bulk_create(
        (
            ExceptionDay(
                day=day, node_path=node, logged=logged, approved=approved, approved_cost=cost
            )
            for (day, node), (logged, approved, cost) in cells.items()
        ),
        batch_size=5000,
    )
    return len(rows)


REBUILD_DAYS = 31  # days recounted per transaction: writers wait for one window, not all


def rollups_rebuild_all() -> None:
    """Both rollups, every day (nightly, and after bulk writes), a window of days per
    transaction so that gives wait at most for one window's recount."""
    oldest = Recognition.objects.aggregate(at=Min("created_at"))["at"]
    today = timezone.now().astimezone(dt.UTC).date()
    if oldest is None:
        recognition_rollups_rebuild()
    else:
        first = day_of(oldest)
        recognition_rollups_rebuild(last=first - dt.timedelta(days=1))  # stale cells before
        while first <= today:
            last = first + dt.timedelta(days=REBUILD_DAYS - 1)
            recognition_rollups_rebuild(first=first, last=last)
            first = last + dt.timedelta(days=1)
        recognition_rollups_rebuild(first=first)  # and after (a clock set back)
    exception_rollups_rebuild()
