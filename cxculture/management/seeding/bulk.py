"""Bulk writing for the seeders: rows as tuples, written with COPY on PostgreSQL.

The enterprise profile writes tens of millions of rows. Building a model instance per row costs
more than the database's own work (DESIGN.md floors: `bulk_create` 33,000 rows/s, COPY about
300,000), so the seeders produce plain tuples and `Rows` writes them: PostgreSQL `COPY ... FROM
STDIN` through psycopg 3, or `bulk_create` on other databases (the demo on SQLite). Ids that
other rows point at are handed out by the seeder (`IdBlock`) and the table's sequence is moved
past them afterwards, as if the database had assigned them. `indexes_after` applies the
PostgreSQL manual's advice for populating a database: build secondary indexes and check
foreign keys once, after the load, instead of row by row.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from random import Random
from typing import Any

from django.db import connection, models

FLUSH_ROWS = 50_000


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _concrete(model: type[models.Model], name: str) -> models.Field:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def _table_and_columns(model: type[models.Model], fields: Sequence[str]) -> tuple[str, list[str]]:
    return model._meta.db_table, [str(_concrete(model, name).column) for name in fields]


class Rows:
    """Rows of one table, buffered and written in batches (COPY on PostgreSQL).

    `fields` are model field names (`team` or `team_id` for a foreign key); every NOT NULL
    column without a database default must be among them, because COPY does not apply Django's
    Python-side defaults.
    """

    def __init__(self, model: type[models.Model], fields: Sequence[str]):
        self.model = model
        self.fields = list(fields)
        self.table, self.columns = _table_and_columns(model, fields)
        self.attnames = [_concrete(model, name).attname for name in fields]
        self.buffer: list[tuple] = []
        self.written = 0

    def add(self, *values: Any) -> None:
        self.buffer.append(values)
        if len(self.buffer) >= FLUSH_ROWS:
            self.flush()

    def extend(self, rows: Sequence[tuple]) -> None:
        self.buffer.extend(rows)
        if len(self.buffer) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        rows, self.buffer = self.buffer, []
        if is_postgresql():
            columns = ", ".join(f'"{column}"' for column in self.columns)
            sql = f'COPY "{self.table}" ({columns}) FROM STDIN'
            with connection.cursor() as cursor:
                raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
                with raw.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            self.model._default_manager.bulk_create(
                [self.model(**dict(zip(self.attnames, row, strict=True))) for row in rows],
                batch_size=500,
            )
        self.written += len(rows)


class IdBlock:
    """Primary keys handed out by the seeder, so rows can point at rows not yet written."""

    def __init__(self, model: type[models.Model]):
        self.model = model
        top = model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0
        self.next = top + 1

    def take(self) -> int:
        taken = self.next
        self.next += 1
        return taken

    def sync(self) -> None:
        """Move the table's id sequence past the ids handed out (PostgreSQL; SQLite follows)."""
        if not is_postgresql() or self.next <= 1:
            return
        table = self.model._meta.db_table
        column = self.model._meta.pk.column
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, %s), %s)",
                [table, column, self.next - 1],
            )


def random_uuid(rng: Random) -> str:
    """A version-4 UUID from `rng` (repeatable, unlike uuid4), as PostgreSQL and Django read it."""
    bits = rng.getrandbits(128)
    bits = (bits & ~(0xF << 76)) | (0x4 << 76)
    bits = (bits & ~(0xC << 62)) | (0x2 << 62)
    return f"{bits:032x}"


def analyze(*models_: type[models.Model]) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL)."""
    if not is_postgresql():
        return
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')


# A table's constraints of the given types (checks stay), and its indexes that are not a
# constraint's.
CONSTRAINTS_SQL = """
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = %s::regclass AND contype = ANY(%s) ORDER BY conname
"""
INDEXES_SQL = """
SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = %s::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY c.relname
"""


@contextmanager
def indexes_after(
    *models_: type[models.Model], foreign_keys_only: Sequence[type[models.Model]] = ()
) -> Iterator[None]:
    """Load `models_` without their indexes, keys and foreign keys, then create them again, in
    the caller's transaction (PostgreSQL; elsewhere it does nothing).

    Re-adding a foreign key checks every row in one join, and a key or index is built from
    sorted rows: both far cheaper than a check and an index insert per row (random UUID keys
    above all). Check constraints and triggers stay, and every dropped rule is checked when it
    is added back, so nothing is skipped, only done later. `foreign_keys_only` tables keep
    their indexes, for triggers that read them (the ledger's balance check reads entries by
    transaction). Tables outside the list must not point at the listed ones.
    """
    if not is_postgresql():
        yield
        return
    tables = [model._meta.db_table for model in models_]
    others = [model._meta.db_table for model in foreign_keys_only]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        # Run the checks still pending from earlier writes in this transaction (PostgreSQL
        # alters no table with checks pending), then defer again for the load.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")

        def drop(table: str, types: list[str]) -> list[tuple[str, str]]:
            cursor.execute(CONSTRAINTS_SQL, [table, types])
            found = cursor.fetchall()
            for name, _ in found:
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            return found

        # Foreign keys first (a key cannot go while a foreign key points at it), then keys and
        # unique constraints, then the other indexes.
        foreign = {table: drop(table, ["f"]) for table in [*tables, *others]}
        keys = {table: drop(table, ["p", "u"]) for table in tables}
        indexes: dict[str, list] = {}
        for table in tables:
            cursor.execute(INDEXES_SQL, [table])
            indexes[table] = cursor.fetchall()
            for name, _ in indexes[table]:
                cursor.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cursor:
        # Deferred checks (the ledger's balance trigger among them) run now, while the tables
        # still have the indexes they read; PostgreSQL alters no table with checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables:
            for name, definition in keys[table]:
                cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            for _, definition in indexes[table]:
                cursor.execute(definition)
        for table, constraints in foreign.items():
            for name, definition in constraints:
                cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def vacuum_analyze() -> bool:
    """VACUUM (ANALYZE) the database after a bulk load, so index-only scans and the planner's
    statistics are right from the first request instead of after autovacuum's next pass.
    Returns False (and does nothing) off PostgreSQL or inside a transaction, where VACUUM
    cannot run (as in tests)."""
    if not is_postgresql() or connection.in_atomic_block:
        return False
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return True
