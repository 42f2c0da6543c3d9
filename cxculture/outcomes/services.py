"""Every write to customer outcomes: the metric catalog, sources, ingestion and daily rollups.

CSV imports and the JSON endpoint share one path. `RowValidator` turns each row (column → text)
into a `NewRecord` or a list of (column, reason); `_write_records` inserts the new records (the
database skips a (source, external_id) it already holds) and adds exactly the inserted records
to the daily rollups, in the caller's transaction. An import commits batch by batch, each batch
together with the job's progress and its rejected rows, so a crash loses at most the batch in
flight and a restarted worker resumes after the last committed row.
"""

import codecs
import csv
import datetime as dt
import hashlib
import io
import math
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import batched
from typing import IO, Any, NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Lower, TruncDate
from django.utils import timezone

from cxculture.audit.services import audit_record
from cxculture.lib.api import ConflictError, DomainError
from cxculture.lib.csvio import (
    CSVFileError,
    MappingError,
    check_size,
    mapping_check,
    normalise_header,
    read_csv,
    read_header,
)
from cxculture.people.models import Employee, Team

from .models import (
    DailyRollup,
    Metric,
    OutcomeImport,
    OutcomeImportError,
    OutcomeRecord,
    OutcomeSource,
    OutcomeWebhookEvent,
)
from .presets import PRESETS, Preset, ScoreError

# --- Metric catalog ----------------------------------------------------------------------------

# (code, name, kind, min, max, unit, higher_is_better). The data migration 0002 holds its own copy
# (migrations never import app code); a test checks that the two agree.
BUILTIN_METRICS: tuple[tuple[str, str, str, float, float, str, bool], ...] = (
    ("csat", "Customer satisfaction (CSAT)", "scale", 1, 5, "", True),
    ("nps", "Net Promoter Score", "scale", 0, 10, "", True),
    ("fcr", "First-contact resolution", "binary", 0, 1, "", True),
    ("complaint", "Complaint", "binary", 0, 1, "", False),
    ("churn", "Churn", "binary", 0, 1, "", False),
    ("qa", "Quality assurance score", "number", 0, 100, "points", True),
    ("handle_time", "Handle time", "number", 0, 86400, "seconds", False),
)
_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")
_SCALE_MAX_POINTS = 101


def metric_builtins_ensure() -> int:
    """Create any missing built-in metric (the migration creates them; tests skip migrations)."""
    existing = set(Metric.objects.values_list("code", flat=True))
    missing = [
        Metric(
            code=code,
            name=name,
            kind=kind,
            min_value=low,
            max_value=high,
            unit=unit,
            higher_is_better=higher,
            is_builtin=True,
        )
        for code, name, kind, low, high, unit, higher in BUILTIN_METRICS
        if code not in existing
    ]
    Metric.objects.bulk_create(missing)
    return len(missing)


def _check_range(
    kind: str, min_value: float | None, max_value: float | None
) -> tuple[float, float]:
    if kind == Metric.Kind.BINARY:
        if (min_value, max_value) not in ((None, None), (0, 1)):
            raise DomainError("A yes/no metric takes the values 0 and 1.", field="min_value")
        return 0.0, 1.0
    if min_value is None or max_value is None:
        field_name = "min_value" if min_value is None else "max_value"
        raise DomainError("Give the smallest and largest valid values.", field=field_name)
    if not (math.isfinite(min_value) and math.isfinite(max_value)):
        raise DomainError("The range must be finite numbers.", field="min_value")
    if min_value >= max_value:
        raise DomainError("The largest value must be above the smallest.", field="max_value")
    if kind == Metric.Kind.SCALE:
        if min_value != int(min_value) or max_value != int(max_value):
            raise DomainError("A scale runs between whole numbers.", field="min_value")
        if max_value - min_value >= _SCALE_MAX_POINTS:
            raise DomainError(
                f"A scale has at most {_SCALE_MAX_POINTS} points; use a number metric.",
                field="max_value",
            )
    return float(min_value), float(max_value)


@transaction.atomic
def metric_create(
    *,
    code: str,
    name: str,
    kind: str,
    min_value: float | None = None,
    max_value: float | None = None,
    unit: str = "",
    higher_is_better: bool = True,
) -> Metric:
    """Add a metric to the catalog; its code is what CSV files and webhooks name it by."""
    code = code.strip().lower()
    if not _CODE.match(code):
        raise DomainError(
            "A code starts with a letter and holds lowercase letters, digits, - and _ "
            "(at most 50).",
            field="code",
        )
    if Metric.objects.filter(code=code).exists():
        raise DomainError(f"A metric with the code {code!r} exists.", field="code")
    if kind not in Metric.Kind.values:
        raise DomainError(f"Unknown kind {kind!r}: use scale, binary or number.", field="kind")
    low, high = _check_range(kind, min_value, max_value)
    return Metric.objects.create(
        code=code,
        name=name.strip(),
        kind=kind,
        min_value=low,
        max_value=high,
        unit=unit.strip(),
        higher_is_better=higher_is_better,
    )


_RANGE_FIELDS = ("kind", "min_value", "max_value")


@transaction.atomic
def metric_update(*, metric: Metric, **changes: Any) -> Metric:
    """Rename, retire or describe a metric; its kind and range change only while it is unused.

    Records already stored were checked against the old range, so a built-in metric, or one with
    records, keeps its kind and range: create a new metric instead.
    """
    unknown = set(changes) - {"name", "unit", "higher_is_better", "is_active", *_RANGE_FIELDS}
    if unknown:
        raise DomainError(f"These fields cannot change: {', '.join(sorted(unknown))}.")
    metric = Metric.objects.select_for_update().get(pk=metric.pk)
    range_changes = {
        name: changes[name]
        for name in _RANGE_FIELDS
        if name in changes and changes[name] != getattr(metric, name)
    }
    if range_changes:
        field_name = next(iter(range_changes))
        if metric.is_builtin:
            raise DomainError("A built-in metric keeps its kind and range.", field=field_name)
        if OutcomeRecord.objects.filter(metric=metric).exists():
            raise ConflictError(
                "This metric has records, so its kind and range stay; add a new metric instead."
            )
        kind = range_changes.get("kind", metric.kind)
        if kind not in Metric.Kind.values:
            raise DomainError(f"Unknown kind {kind!r}.", field="kind")
        metric.kind = kind
        metric.min_value, metric.max_value = _check_range(
            kind,
            changes.get("min_value", None if kind == Metric.Kind.BINARY else metric.min_value),
            changes.get("max_value", None if kind == Metric.Kind.BINARY else metric.max_value),
        )
    for name in ("name", "unit", "higher_is_better", "is_active"):
        if name in changes:
            value = changes[name]
            setattr(metric, name, value.strip() if isinstance(value, str) else value)
    metric.save()
    return metric


# --- Sources (API tokens for the JSON endpoint) ------------------------------------------------

TOKEN_PREFIX = "cxo_"  # noqa: S105 - a marker, not a secret


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


def _clean_slug(value: str, *, field_name: str) -> str:
    slug = value.strip().lower()
    if not _SLUG.match(slug):
        raise DomainError(
            "Use lowercase letters, digits, - and _ (at most 50 characters).", field=field_name
        )
    return slug


@transaction.atomic
def outcome_source_create(
    *, name: str, slug: str, created_by: User | None
) -> tuple[OutcomeSource, str]:
    """Register a system that sends records; return it and its API token (shown only now).

    The slug is the `source` of its records: a CSV import under the same source name shares its
    external ids, so a backfill file and the live webhook never double-count a record.
    """
    slug = _clean_slug(slug, field_name="slug")
    if OutcomeSource.objects.filter(slug=slug).exists():
        raise DomainError(f"A source named {slug!r} exists.", field="slug")
    token = _new_token()
    source = OutcomeSource.objects.create(
        name=name.strip(),
        slug=slug,
        token_hash=token_hash(token),
        token_prefix=token[:12],
        created_by=created_by,
    )
    return source, token


def outcome_source_update(
    *, source: OutcomeSource, name: str | None = None, is_active: bool | None = None
) -> OutcomeSource:
    if name is not None:
        source.name = name.strip()
    if is_active is not None:
        source.is_active = is_active
    source.save()
    return source


@transaction.atomic
def outcome_source_rotate_token(*, source: OutcomeSource) -> tuple[OutcomeSource, str]:
    """Replace the token (the old one stops working at once); return the new one, shown once."""
    token = _new_token()
    source.token_hash, source.token_prefix = token_hash(token), token[:12]
    source.save(update_fields=["token_hash", "token_prefix", "updated_at"])
    return source, token


@transaction.atomic
def outcome_source_rotate_signing_secret(*, source: OutcomeSource) -> tuple[OutcomeSource, str]:
    """Give the source a new signing secret (shown once); from now on its requests must be
    signed with it (`cxculture.lib.signing`)."""
    secret = secrets.token_hex(32)
    source.signing_secret = secret
    source.save(update_fields=["signing_secret", "updated_at"])
    return source, secret


def outcome_source_touch(*, source: OutcomeSource) -> None:
    """Record that the source was used, at most once a minute (not a write per request)."""
    now = timezone.now()
    if source.last_used_at is None or now - source.last_used_at > dt.timedelta(minutes=1):
        OutcomeSource.objects.filter(pk=source.pk).update(last_used_at=now)
        source.last_used_at = now


# --- Validating rows ---------------------------------------------------------------------------

REQUIRED_COLUMNS = ("metric", "value", "occurred_at")
OPTIONAL_COLUMNS = ("team_external_id", "agent", "customer_ref", "interaction_ref", "external_id")
ALL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# A mapped file may also carry each row's source (a combined export of several tools); rows
# with it empty take the import's source.
MAPPING_TARGETS = (*ALL_COLUMNS, "source")
_YES = {"1", "yes", "y", "true"}
_NO = {"0", "no", "n", "false"}
_MAX_LENGTH = {"customer_ref": 100, "interaction_ref": 100, "external_id": 200}
_LOOKUP_CHUNK = 2000


class NewRecord(NamedTuple):
    """A validated row, ready to insert (a tuple: cheap to build a million of)."""

    metric_id: int
    value: float
    occurred_at: dt.datetime
    team_id: int
    agent_id: int | None
    customer_ref: str
    interaction_ref: str
    external_id: str


def _derived_external_id(row: Mapping[str, str], value: float, occurred_at: dt.datetime) -> str:
    """An id for a row that has none: the same row always gets the same id, so a re-import of a
    file without ids changes nothing either (two identical rows count as one record)."""
    key = "\x1f".join(
        [
            row.get("metric", "").lower(),
            repr(value),
            occurred_at.astimezone(dt.UTC).isoformat(),
            row.get("team_external_id", ""),
            row.get("agent", "").lower(),
            row.get("customer_ref", ""),
            row.get("interaction_ref", ""),
        ]
    )
    return "row-" + hashlib.sha256(key.encode()).hexdigest()[:40]


class RowValidator:
    """Checks rows against the catalog, teams and people, looking each key up once.

    Teams are matched on external id; agents on external id, or on email when the value holds
    an @. A row with an agent and no team gets the agent's current team. Naive times are read in
    settings.TIME_ZONE.
    """

    def __init__(self, *, now: dt.datetime | None = None):
        self.metrics = {metric.code: metric for metric in Metric.objects.all()}
        self.tz = ZoneInfo(settings.TIME_ZONE)
        self.latest = (now or timezone.now()) + dt.timedelta(days=1)
        self.teams: dict[str, int | None] = {}
        self.agents: dict[str, tuple[int, int | None] | None] = {}

    def prefetch(self, rows: Iterable[Mapping[str, str]]) -> None:
        """Look up, in a few queries, the teams and agents these rows name that are not known."""
        team_keys: set[str] = set()
        external_ids: set[str] = set()
        emails: set[str] = set()
        for row in rows:
            team = row.get("team_external_id", "")
            if team and team not in self.teams:
                team_keys.add(team)
            agent = row.get("agent", "")
            if agent:
                key = agent.lower() if "@" in agent else agent
                if key not in self.agents:
                    (emails if "@" in agent else external_ids).add(key)
        for chunk in batched(sorted(team_keys), _LOOKUP_CHUNK):
            self.teams.update(
                Team.objects.filter(external_id__in=chunk).values_list("external_id", "id")
            )
        for chunk in batched(sorted(external_ids), _LOOKUP_CHUNK):
            for ext, pk, team_id in Employee.objects.filter(external_id__in=chunk).values_list(
                "external_id", "id", "team_id"
            ):
                self.agents[ext] = (pk, team_id)
        for chunk in batched(sorted(emails), _LOOKUP_CHUNK):
            people = (
                Employee.objects.annotate(email_lower=Lower("user__email"))
                .filter(email_lower__in=chunk)
                .order_by("id")
                .values_list("email_lower", "id", "team_id")
            )
            for email, pk, team_id in people:
                self.agents.setdefault(email, (pk, team_id))
        for key in team_keys:
            self.teams.setdefault(key, None)
        for key in external_ids | emails:
            self.agents.setdefault(key, None)

    def _value(self, metric: Metric, raw: str) -> float | str:
        if metric.kind == Metric.Kind.BINARY:
            word = raw.lower()
            if word in _YES:
                return 1.0
            if word in _NO:
                return 0.0
            try:
                number = float(raw)
            except ValueError:
                number = math.nan
            if number in (0.0, 1.0):
                return number
            return f"{raw!r} is not yes/no (or 1/0) for {metric.code}."
        try:
            value = float(raw)
        except ValueError:
            return f"{raw!r} is not a number."
        if not math.isfinite(value):
            return f"{raw!r} is not a number."
        low, high = metric.min_value, metric.max_value
        if metric.kind == Metric.Kind.SCALE and value != int(value):
            return f"{metric.code} takes whole numbers from {low:g} to {high:g}; got {raw}."
        if not low <= value <= high:
            return f"{raw} is outside the range {low:g} to {high:g} of {metric.code}."
        return value

    def _occurred_at(self, raw: str) -> dt.datetime | str:
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            return (
                f"{raw!r} is not a date and time in ISO 8601 form "
                "(for example 2026-03-01T14:30:00Z or 2026-03-01 14:30)."
            )
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.tz)
        if value > self.latest:
            return f"{raw} is in the future."
        if value.year < 2000:
            return f"{raw} is before the year 2000."
        return value

    def validate(self, row: Mapping[str, str]) -> tuple[NewRecord | None, list[tuple[str, str]]]:
        """The record a row describes, or every (column, reason) that is wrong with it."""
        errors: list[tuple[str, str]] = []
        if "\x00" in "".join(row.values()):
            nul = "Contains a NUL character."
            return None, [(column, nul) for column, text in row.items() if "\x00" in text]
        metric: Metric | None = None
        code = row.get("metric", "").lower()
        if not code:
            errors.append(("metric", "Required."))
        else:
            metric = self.metrics.get(code)
            if metric is None:
                known = ", ".join(sorted(c for c, m in self.metrics.items() if m.is_active))
                errors.append(("metric", f"Unknown metric {code!r}. Known metrics: {known}."))
            elif not metric.is_active:
                errors.append(("metric", f"The metric {code!r} is retired."))
                metric = None
        value: float | None = None
        raw_value = row.get("value", "")
        if not raw_value:
            errors.append(("value", "Required."))
        elif metric is not None:
            parsed = self._value(metric, raw_value)
            if isinstance(parsed, str):
                errors.append(("value", parsed))
            else:
                value = parsed
        raw_time = row.get("occurred_at", "")
        occurred_at = self._occurred_at(raw_time) if raw_time else "Required."
        if isinstance(occurred_at, str):
            errors.append(("occurred_at", occurred_at))

        team_key = row.get("team_external_id", "")
        agent_key = row.get("agent", "")
        agent = None
        team_id: int | None = None
        if agent_key:
            agent = self.agents.get(agent_key.lower() if "@" in agent_key else agent_key)
            if agent is None:
                reason = f"Unknown agent {agent_key!r}: give an employee's external id or email."
                errors.append(("agent", reason))
        if team_key:
            team_id = self.teams.get(team_key)
            if team_id is None:
                errors.append(("team_external_id", f"Unknown team {team_key!r}."))
        elif agent is not None:
            team_id = agent[1]
            if team_id is None:
                errors.append(("agent", "This agent has no team: give team_external_id."))
        elif not agent_key:
            errors.append(("team_external_id", "Give team_external_id, agent or both."))
        for column, limit in _MAX_LENGTH.items():
            if len(row.get(column, "")) > limit:
                errors.append((column, f"At most {limit} characters."))
        if errors:
            return None, errors
        if metric is None or team_id is None or value is None or isinstance(occurred_at, str):
            raise AssertionError("a row without errors has every part")  # pragma: no cover
        return (
            NewRecord(
                metric_id=metric.pk,
                value=value,
                occurred_at=occurred_at,
                team_id=team_id,
                agent_id=agent[0] if agent else None,
                customer_ref=row.get("customer_ref", ""),
                interaction_ref=row.get("interaction_ref", ""),
                external_id=(
                    row.get("external_id", "") or _derived_external_id(row, value, occurred_at)
                ),
            ),
            [],
        )


# --- Writing records and rollups ---------------------------------------------------------------

# Ingestion takes this PostgreSQL advisory lock shared, a rollup rebuild takes it exclusively, so
# a rebuild never races the increments. (SQLite serialises writers by itself.)
_ROLLUP_LOCK_KEY = 0x0C0C_0E5D
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
_ROLLUP_COLUMNS = (
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


def _rollup_lock(*, exclusive: bool) -> None:
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [_ROLLUP_LOCK_KEY])


def _rows_per_statement(columns: int, ceiling: int = 1000) -> int:
    limit = connection.features.max_query_params or 65535
    return max(1, min(ceiling, limit // columns))


# Session temp tables for the PostgreSQL COPY path (kept for the connection's life, emptied at
# each commit).
_STAGING_DDL = {
    "outcome_record_staging": (
        "metric_id bigint, value double precision, occurred_at timestamptz, team_id bigint, "
        "agent_id bigint, customer_ref varchar(100), interaction_ref varchar(100), "
        "source varchar(50), external_id varchar(200), import_job_id bigint, "
        "created_at timestamptz"
    ),
    "daily_rollup_staging": (
        "team_id bigint, metric_id bigint, day date, count integer, sum double precision, "
        "sum_sq double precision, promoters integer, passives integer, detractors integer, "
        "updated_at timestamptz"
    ),
}


def _bulk_insert(
    *,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    staging: str,
    order_by: str,
    suffix: str,
    returning: bool,
) -> list[tuple]:
    """INSERT `rows` into `table` followed by `suffix` (an ON CONFLICT clause, RETURNING...).

    PostgreSQL: COPY into a session temp table, then one INSERT … SELECT … ORDER BY (the fast
    path of DESIGN.md, "Scale"; the order makes concurrent writers lock rows in the same order).
    Elsewhere: multi-row INSERT … VALUES, values adapted for the backend by the caller.
    """
    quote = connection.ops.quote_name
    names = ", ".join(quote(name) for name in columns)
    target = quote(table)
    found: list[tuple] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {staging} ({_STAGING_DDL[staging]}) "
                "ON COMMIT DELETE ROWS"
            )
            cursor.execute(f"DELETE FROM {staging}")  # noqa: S608 - our own table name
            with cursor.cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {target} ({names}) SELECT {names} FROM {staging} "  # noqa: S608
                f"ORDER BY {order_by} {suffix}"
            )
            return cursor.fetchall() if returning else []
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for chunk in batched(rows, _rows_per_statement(len(columns))):
            cursor.execute(
                f"INSERT INTO {target} ({names}) VALUES "  # noqa: S608 - placeholders only
                + ", ".join([placeholders] * len(chunk))
                + f" {suffix}",
                [value for row in chunk for value in row],
            )
            if returning:
                found += cursor.fetchall()
    return found


def _insert_new(
    records: Sequence[NewRecord], *, source: str, import_job_id: int | None
) -> set[str]:
    """Insert the records whose (source, external_id) is new; return their external ids."""
    if not records:
        return set()
    on_postgres = connection.vendor == "postgresql"
    adapt = connection.ops.adapt_datetimefield_value
    now = timezone.now()
    created_at = now if on_postgres else adapt(now)
    rows = [
        (
            r.metric_id,
            r.value,
            r.occurred_at if on_postgres else adapt(r.occurred_at),
            r.team_id,
            r.agent_id,
            r.customer_ref,
            r.interaction_ref,
            source,
            r.external_id,
            import_job_id,
            created_at,
        )
        for r in sorted(records, key=lambda record: record.external_id)
    ]
    inserted = _bulk_insert(
        table=OutcomeRecord._meta.db_table,
        columns=_RECORD_COLUMNS,
        rows=rows,
        staging="outcome_record_staging",
        order_by="external_id",
        suffix="ON CONFLICT (source, external_id) DO NOTHING RETURNING external_id",
        returning=True,
    )
    return {row[0] for row in inserted}


def _nps_metric_ids() -> set[int]:
    return set(Metric.objects.filter(code="nps").values_list("id", flat=True))


def _rollup_add(records: Iterable[NewRecord], *, nps_ids: set[int]) -> int:
    """Add these (newly inserted) records to their daily rollups; return the cells touched.

    An upsert that adds to the stored counts (`count = count + excluded.count`) is atomic on
    both databases, so concurrent ingests into the same cell never lose an update — which a
    "recompute the cell from the raw rows" would under READ COMMITTED, as each transaction
    cannot see the other's uncommitted rows.
    """
    tz = ZoneInfo(settings.TIME_ZONE)
    cells: dict[tuple[int, int, dt.date], list[float]] = {}
    for record in records:
        key = (record.team_id, record.metric_id, record.occurred_at.astimezone(tz).date())
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = [0, 0.0, 0.0, 0, 0, 0]
        value = record.value
        cell[0] += 1
        cell[1] += value
        cell[2] += value * value
        if record.metric_id in nps_ids:
            cell[3 if value >= 9 else 4 if value >= 7 else 5] += 1
    if not cells:
        return 0
    quote = connection.ops.quote_name
    table = quote(DailyRollup._meta.db_table)
    added = ", ".join(
        f"{quote(name)} = {table}.{quote(name)} + excluded.{quote(name)}"
        for name in ("count", "sum", "sum_sq", "promoters", "passives", "detractors")
    )
    on_postgres = connection.vendor == "postgresql"
    now = timezone.now()
    updated_at = now if on_postgres else connection.ops.adapt_datetimefield_value(now)
    adapt_day = connection.ops.adapt_datefield_value
    rows = [
        (
            team_id,
            metric_id,
            day if on_postgres else adapt_day(day),
            int(n),
            total,
            squares,
            int(pro),
            int(passive),
            int(det),
            updated_at,
        )
        for (team_id, metric_id, day), (n, total, squares, pro, passive, det) in sorted(
            cells.items()
        )
    ]
    _bulk_insert(
        table=DailyRollup._meta.db_table,
        columns=_ROLLUP_COLUMNS,
        rows=rows,
        staging="daily_rollup_staging",
        order_by="team_id, metric_id, day",
        suffix=f"ON CONFLICT (team_id, metric_id, day) DO UPDATE SET {added}, "
        "updated_at = excluded.updated_at",
        returning=False,
    )
    return len(cells)


def _write_records(
    records: Sequence[NewRecord],
    *,
    source: str,
    import_job_id: int | None,
    nps_ids: set[int] | None = None,
) -> set[str]:
    """Insert new records and add them to the rollups, in the caller's transaction.

    Returns the external ids inserted; a record whose id is already stored, or repeated earlier
    in `records`, is a duplicate and changes nothing.
    """
    first: dict[str, NewRecord] = {}
    for record in records:
        first.setdefault(record.external_id, record)
    if not first:
        return set()
    _rollup_lock(exclusive=False)
    inserted = _insert_new(list(first.values()), source=source, import_job_id=import_job_id)
    _rollup_add(
        (first[external_id] for external_id in inserted),
        nps_ids=_nps_metric_ids() if nps_ids is None else nps_ids,
    )
    return inserted


# --- JSON batches (POST /api/v1/outcomes/) ------------------------------------------------------


@dataclass
class BatchResult:
    """The answer to a JSON batch: totals, and per record its status and any errors."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)


def _as_text_row(record: object) -> tuple[dict[str, str], list[tuple[str, str]]]:
    if not isinstance(record, Mapping):
        return {}, [("", "Each record is a JSON object.")]
    row: dict[str, str] = {}
    errors: list[tuple[str, str]] = []
    for key, value in record.items():
        name = str(key)
        if name not in ALL_COLUMNS:
            errors.append((name, "Unknown field."))
        elif value is None:
            row[name] = ""
        elif isinstance(value, bool):
            row[name] = "true" if value else "false"
        elif isinstance(value, int | float | str):
            row[name] = str(value).strip()
        else:
            errors.append((name, "Must be a string or a number."))
    return row, errors


def outcome_records_ingest(*, source: OutcomeSource, records: Sequence[object]) -> BatchResult:
    """Validate and store a batch sent by `source`, in one transaction.

    Bad records never block good ones: each gets its own status. Sending the same batch again
    changes nothing (every record is a duplicate).
    """
    limit = settings.CXC_OUTCOME_BATCH_MAX_RECORDS
    if not records:
        raise DomainError("Send at least one record.", field="records")
    if len(records) > limit:
        raise DomainError(
            f"At most {limit:,} records per request; this one has {len(records):,}.",
            field="records",
        )
    if not source.is_active:
        raise DomainError("This source is switched off.", code="source_inactive")
    validator = RowValidator()
    rows = [_as_text_row(record) for record in records]
    validator.prefetch(row for row, errors in rows if not errors)
    result = BatchResult()
    valid: list[tuple[int, NewRecord]] = []
    for index, (row, shape_errors) in enumerate(rows):
        record, errors = (None, shape_errors) if shape_errors else validator.validate(row)
        if record is None:
            result.results.append(
                {
                    "index": index,
                    "status": "rejected",
                    "external_id": row.get("external_id", ""),
                    "errors": [{"field": column, "reason": reason} for column, reason in errors],
                }
            )
            continue
        valid.append((index, record))
        result.results.append({"index": index, "status": "", "external_id": record.external_id})
    with transaction.atomic():
        inserted = _write_records(
            [record for _, record in valid], source=source.slug, import_job_id=None
        )
    seen: set[str] = set()
    for index, record in valid:
        is_new = record.external_id in inserted and record.external_id not in seen
        seen.add(record.external_id)
        result.results[index]["status"] = "accepted" if is_new else "duplicate"
        result.results[index]["errors"] = []
    result.accepted = sum(1 for item in result.results if item["status"] == "accepted")
    result.duplicates = sum(1 for item in result.results if item["status"] == "duplicate")
    result.rejected = len(records) - result.accepted - result.duplicates
    return result


class EventIdReused(ConflictError):
    code = "event_id_reused"


def outcome_webhook_receive(
    *, source: OutcomeSource, event_id: str, body_sha256: str, records: Sequence[object]
) -> BatchResult:
    """`outcome_records_ingest` once per (source, event id): a redelivery gets the first answer,
    another body under a used event id is refused (EventIdReused, 409).

    The event row (with the SHA-256 of the raw body) is inserted first, in the same transaction
    as the records: a concurrent delivery of the same event waits on the unique index until the
    first commits, then finds its row and answers with the stored result. If the first fails,
    nothing is stored and a retry is handled afresh.
    """
    event_id = event_id.strip()
    if not event_id or len(event_id) > 200:
        raise DomainError("An event id has 1 to 200 characters.", field="X-CXC-Event-Id")
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = OutcomeWebhookEvent.objects.create(
                    source=source, event_id=event_id, body_sha256=body_sha256
                )
        except IntegrityError:
            event = None
        if event is None:
            first = OutcomeWebhookEvent.objects.get(source=source, event_id=event_id)
            # Events stored before bodies were hashed have no hash: answered as redeliveries.
            if first.body_sha256 and first.body_sha256 != body_sha256:
                raise EventIdReused(
                    f"Event {event_id!r} was already received with another body: "
                    "send new records under a new event id."
                )
            return BatchResult(**first.response)
        result = outcome_records_ingest(source=source, records=records)
        event.response = asdict(result)
        event.save(update_fields=["response"])
        return result


# --- CSV imports ---------------------------------------------------------------------------------


class FileTooLarge(DomainError):
    status = 413
    code = "file_too_large"


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"


def import_storage() -> Storage:
    """Where uploads wait for a worker: settings.CXC_OUTCOME_IMPORT_DIR, or the default storage."""
    directory = settings.CXC_OUTCOME_IMPORT_DIR
    if directory:
        return FileSystemStorage(location=directory)
    return storages["default"]


def outcome_import_check_size(size: int | None) -> None:
    """Raise FileTooLarge (HTTP 413) for an upload over CXC_OUTCOME_IMPORT_MAX_BYTES."""
    try:
        check_size(size, settings.CXC_OUTCOME_IMPORT_MAX_BYTES)
    except CSVFileError as exc:
        raise FileTooLarge(exc.error.reason, field="file") from None


class _KeepOpen(io.RawIOBase):
    """A read-only view of a binary file that reading as text does not close."""

    def __init__(self, raw: IO[bytes]):
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _binary(handle: Any) -> IO[bytes]:
    """The buffered binary stream under a Django File (or the object itself)."""
    return io.BufferedReader(_KeepOpen(getattr(handle, "file", handle)), buffer_size=1 << 16)


@dataclass(frozen=True)
class _FileFacts:
    sha256: str
    lines: int
    header: list[str]


def _mapped_header(handle: IO[bytes]) -> list[str]:
    """The header of a file read through a mapping, checked to have at least one row."""
    try:
        header = read_header(_binary(handle))
        handle.seek(0)
        rows = read_csv(_binary(handle), required=(), optional=(), mapping={})
        try:
            next(rows)
        finally:
            rows.close()  # type: ignore[attr-defined]
    except CSVFileError as exc:
        raise DomainError(exc.error.reason, code=exc.code, field="file") from None
    handle.seek(0)
    return header


def outcome_mapping_resolve(
    *,
    header: Sequence[str],
    mapping: Mapping[str, str] | None,
    preset: str = "",
    metric: str = "",
) -> tuple[dict[str, str], Preset | None, str]:
    """(mapping, preset, metric) for a file with this header, or a DomainError naming the field.

    A preset's columns that the file lacks are left out, except the ones a record needs; the
    mapping sent is laid over the preset's (an empty column name removes one of the preset's).
    The metric is the one sent, else the preset's; without one the file must map `metric`.
    """
    chosen: Preset | None = None
    columns: dict[str, str] = {}
    if preset:
        chosen = PRESETS.get(preset)
        if chosen is None:
            known = ", ".join(sorted(PRESETS))
            raise DomainError(f"Unknown preset {preset!r}. Presets: {known}.", field="preset")
        present = {normalise_header(name) for name in header}
        columns = {
            target: column
            for target, column in chosen.columns.items()
            if normalise_header(column) in present or target in ("value", "occurred_at")
        }
    columns.update(mapping or {})
    metric = (metric or (chosen.metric if chosen else "")).strip().lower()
    required = ("value", "occurred_at") + (() if metric else ("metric",))
    try:
        cleaned = mapping_check(columns, targets=MAPPING_TARGETS, required=required, header=header)
    except MappingError as exc:
        raise DomainError(exc.message, code="wrong_mapping", field="mapping") from None
    if "team_external_id" not in cleaned and "agent" not in cleaned:
        raise DomainError(
            "Map team_external_id, agent or both: each record belongs to a team.",
            code="wrong_mapping",
            field="mapping",
        )
    if metric and not Metric.objects.filter(code=metric, is_active=True).exists():
        raise DomainError(f"Unknown metric {metric!r}.", field="metric")
    return cleaned, chosen, metric


def _inspect_upload(handle: IO[bytes], *, mapped: bool = False) -> _FileFacts:
    """Check the whole file is UTF-8 and its header is right, before anything is stored.

    One streaming pass (about a second for 200 MB) so a Latin-1 file is refused up front, not
    half-imported; it also hashes the file (for Idempotency-Key) and counts lines (for progress).
    """
    handle.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    digest = hashlib.sha256()
    lines = 0
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            position = max(0, min(exc.start, len(chunk)))
            line = lines + chunk.count(b"\n", 0, position) + 1
            raise DomainError(
                f"The file is not UTF-8 encoded: line {line:,} holds a byte that is not valid "
                "UTF-8. Save it as 'CSV UTF-8' and upload it again.",
                code="not_utf8",
                field="file",
            ) from None
        lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise DomainError(
            "The file is not UTF-8 encoded: it ends in the middle of a character.",
            code="not_utf8",
            field="file",
        ) from None
    handle.seek(0)
    if mapped:
        return _FileFacts(sha256=digest.hexdigest(), lines=lines, header=_mapped_header(handle))
    rows = read_csv(_binary(handle), required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
    try:
        next(rows)
    except CSVFileError as exc:
        raise DomainError(exc.error.reason, code=exc.code, field="file") from None
    finally:
        rows.close()  # type: ignore[attr-defined]  # a generator: release the file now
    handle.seek(0)
    text = io.TextIOWrapper(_binary(handle), encoding="utf-8-sig", newline="")
    header = [column.strip().lower() for column in next(csv.reader(text), [])]
    if "team_external_id" not in header and "agent" not in header:
        raise DomainError(
            "Wrong header: give a team_external_id column, an agent column, or both. "
            f"Expected: {', '.join(ALL_COLUMNS)}.",
            code="wrong_header",
            field="file",
        )
    handle.seek(0)
    return _FileFacts(sha256=digest.hexdigest(), lines=lines, header=header)


def outcome_import_create(
    *,
    file: IO[bytes],
    file_name: str,
    size: int,
    source: str = "",
    requested_by: User | None,
    idempotency_key: str = "",
    mapping: Mapping[str, str] | None = None,
    preset: str = "",
    metric: str = "",
) -> tuple[OutcomeImport, bool]:
    """Check an upload, store it and queue its import; return the job and whether it is new.

    The whole file is checked first (size, encoding, header): a file that fails is refused
    with the reason and nothing is stored. A repeat with the same Idempotency-Key returns the
    first job; the key reused for another file or source is refused (422). Not one transaction
    as a whole: the file is written to storage before the job row, and removed if that fails.
    """
    outcome_import_check_size(size)
    mapped = mapping is not None or bool(preset)
    if preset and preset in PRESETS and not source:
        source = PRESETS[preset].source
    source = _clean_slug(source or "csv", field_name="source")
    idempotency_key = idempotency_key.strip()
    if len(idempotency_key) > 100:
        raise DomainError("An Idempotency-Key has at most 100 characters.", field="idempotency_key")
    facts = _inspect_upload(file, mapped=mapped)
    columns: dict[str, str] = {}
    if mapped:
        columns, chosen, metric = outcome_mapping_resolve(
            header=facts.header, mapping=mapping, preset=preset, metric=metric
        )
        preset = chosen.name if chosen else ""
        # Rejected rows and their download use the header as our reader sees it.
        facts = _FileFacts(
            sha256=facts.sha256,
            lines=facts.lines,
            header=[normalise_header(name) for name in facts.header],
        )
    else:
        preset = metric = ""

    def repeat() -> tuple[OutcomeImport, bool] | None:
        if not idempotency_key:
            return None
        first = OutcomeImport.objects.filter(
            requested_by=requested_by, idempotency_key=idempotency_key
        ).first()
        if first is None:
            return None
        if first.file_sha256 != facts.sha256 or first.source != source:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for another upload.", field="idempotency_key"
            )
        return first, False

    earlier = repeat()
    if earlier is not None:
        return earlier
    storage = import_storage()
    path = storage.save(
        f"outcome-imports/{timezone.now():%Y/%m/%d}/{uuid.uuid4().hex}.csv",
        file if isinstance(file, File) else File(file),
    )
    try:
        with transaction.atomic():
            job = OutcomeImport.objects.create(
                source=source,
                file_name=file_name[:255],
                file_path=path,
                file_size=size,
                file_sha256=facts.sha256,
                header=facts.header,
                mapping=columns,
                preset=preset,
                metric=metric,
                rows_estimated=max(0, facts.lines - 1),
                requested_by=requested_by,
                idempotency_key=idempotency_key,
            )
            audit_record(actor=requested_by, action="outcome_import_created", target=job)
            _enqueue_import(job.pk)
    except IntegrityError:
        storage.delete(path)
        earlier = repeat()  # the same key won a race with this request
        if earlier is None:
            raise
        return earlier
    except BaseException:
        storage.delete(path)
        raise
    job.refresh_from_db()  # without a broker the import has already run (on commit)
    return job, True


def _enqueue_import(import_id: int) -> None:
    from .tasks import outcome_import_run_task

    transaction.on_commit(lambda: outcome_import_run_task.delay(import_id))


class _LostClaim(Exception):
    """Another worker committed this batch first (a redelivered task): stop quietly."""


def _import_finish(import_id: int, status: str, message: str) -> OutcomeImport:
    now = timezone.now()
    OutcomeImport.objects.filter(pk=import_id, status=OutcomeImport.Status.RUNNING).update(
        status=status, message=message, finished_at=now, updated_at=now
    )
    job = OutcomeImport.objects.get(pk=import_id)
    if job.is_finished and job.file_path:
        # The rejected rows are kept in the database; the upload itself is not needed any more.
        import_storage().delete(job.file_path)
    return job


def outcome_import_run(*, import_id: int) -> OutcomeImport | None:
    """Import a queued (or interrupted) job's file, batch by batch. Safe to run twice.

    Each batch commits together with the job's progress and its rejected rows, on condition
    that `last_row` is still where this worker began the batch: a second worker on the same
    job (a redelivered message) stops instead of counting a batch twice, and a worker that
    starts again after a crash skips every row up to `last_row`.
    """
    now = timezone.now()
    claimed = OutcomeImport.objects.filter(
        pk=import_id, status__in=[OutcomeImport.Status.QUEUED, OutcomeImport.Status.RUNNING]
    ).update(
        status=OutcomeImport.Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=Coalesce("started_at", Value(now)),
        updated_at=now,
    )
    job = OutcomeImport.objects.filter(pk=import_id).first()
    if not claimed or job is None:
        return job
    if job.attempts > settings.CXC_OUTCOME_IMPORT_MAX_ATTEMPTS:
        return _import_finish(
            job.pk,
            OutcomeImport.Status.FAILED,
            f"Stopped after {job.attempts - 1} attempts that did not finish, at row "
            f"{job.last_row:,}. The rows before it were imported; the log holds the cause.",
        )
    try:
        handle = import_storage().open(job.file_path, "rb")
    except FileNotFoundError:
        return _import_finish(
            job.pk,
            OutcomeImport.Status.FAILED,
            "The uploaded file is no longer stored; upload it again (rows already imported "
            "count as duplicates).",
        )
    try:
        with handle:
            _import_rows(job, handle)
    except CSVFileError as exc:
        return _import_finish(
            job.pk,
            OutcomeImport.Status.FAILED,
            f"{exc.error.reason} The rows before it were imported.",
        )
    except _LostClaim:
        return OutcomeImport.objects.get(pk=import_id)
    job.refresh_from_db()
    return _import_finish(
        job.pk,
        OutcomeImport.Status.DONE,
        f"{job.rows_accepted:,} of {job.rows_read:,} rows imported, "
        f"{job.duplicates:,} already there, {job.rows_rejected:,} rejected.",
    )


def _import_rows(job: OutcomeImport, handle: IO[bytes]) -> None:
    validator = RowValidator()
    nps_ids = _nps_metric_ids()
    batch_size = max(1, settings.CXC_OUTCOME_IMPORT_BATCH_SIZE)
    room = settings.CXC_OUTCOME_IMPORT_MAX_STORED_ERRORS - (
        OutcomeImportError.objects.filter(job=job).count()
    )
    start_after = last_row = job.last_row
    batch: list[tuple[int, dict[str, str]]] = []
    if job.mapping:
        rows = read_csv(
            _binary(handle),
            required=("value", "occurred_at"),
            optional=[t for t in MAPPING_TARGETS if t not in ("value", "occurred_at")],
            mapping=job.mapping,
        )
    else:
        rows = read_csv(_binary(handle), required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
    for row_number, row in rows:
        if row_number <= start_after:
            continue
        batch.append((row_number, row))
        if len(batch) >= batch_size:
            room -= _import_batch(job, batch, last_row, validator, nps_ids, room)
            last_row, batch = row_number, []
    if batch:
        _import_batch(job, batch, last_row, validator, nps_ids, room)


@transaction.atomic
def _import_batch(
    job: OutcomeImport,
    batch: list[tuple[int, dict[str, str]]],
    from_row: int,
    validator: RowValidator,
    nps_ids: set[int],
    room: int,
) -> int:
    """Write one batch with its progress and rejected rows; return the errors stored."""
    validator.prefetch(row for _, row in batch if "__error__" not in row)
    by_source: dict[str, list[NewRecord]] = {job.source: []}
    errors: list[OutcomeImportError] = []
    rejected = 0
    header_of = job.mapping or {}
    preset = PRESETS.get(job.preset) if job.preset else None
    for row_number, row in batch:
        source = job.source
        if "__error__" in row:
            problems = [("", row["__error__"])]
            record, row = None, {}
        else:
            mapped, source, problems = _mapped_row(row, job=job, preset=preset)
            record = None
            if not problems:
                record, problems = validator.validate(mapped)
        if record is not None:
            by_source.setdefault(source, []).append(record)
            continue
        rejected += 1
        # PostgreSQL text cannot hold NUL: keep the row readable with a replacement character.
        # Columns and values are named as in the file.
        values = {
            normalise_header(header_of.get(key, key)): value.replace("\x00", "\ufffd")
            for key, value in row.items()
        }
        errors += [
            OutcomeImportError(
                job_id=job.pk,
                row=row_number,
                column=header_of.get(column, column)[:100],
                reason=reason[:500],
                values=values,
            )
            for column, reason in problems
        ]
    inserted: set[tuple[str, str]] = set()
    records = 0
    for source, group in sorted(by_source.items()):
        records += len(group)
        written = _write_records(group, source=source, import_job_id=job.pk, nps_ids=nps_ids)
        inserted |= {(source, external_id) for external_id in written}
    stored = errors[: max(0, room)]
    OutcomeImportError.objects.bulk_create(stored, batch_size=1000)
    moved = OutcomeImport.objects.filter(
        pk=job.pk, status=OutcomeImport.Status.RUNNING, last_row=from_row
    ).update(
        last_row=batch[-1][0],
        rows_read=F("rows_read") + len(batch),
        rows_accepted=F("rows_accepted") + len(inserted),
        duplicates=F("duplicates") + records - len(inserted),
        rows_rejected=F("rows_rejected") + rejected,
        updated_at=timezone.now(),
    )
    if moved != 1:
        raise _LostClaim
    return len(stored)


def _mapped_row(
    row: dict[str, str], *, job: OutcomeImport, preset: Preset | None
) -> tuple[dict[str, str], str, list[tuple[str, str]]]:
    """A mapped row in our terms: the import's metric filled in, the tool's score converted,
    and the row's own source (or the import's); with the (column, reason) problems found."""
    if not job.mapping:
        return row, job.source, []
    mapped = dict(row)
    problems: list[tuple[str, str]] = []
    if job.metric and not mapped.get("metric"):
        mapped["metric"] = job.metric
    if preset is not None and mapped.get("value"):
        try:
            mapped["value"] = preset.convert(mapped["value"])
        except ScoreError as exc:
            problems.append(("value", str(exc)))
    source = job.source
    raw_source = mapped.pop("source", "").strip().lower()
    if raw_source:
        if _SLUG.match(raw_source):
            source = raw_source
        else:
            reason = "Use lowercase letters, digits, - and _ (at most 50 characters)."
            problems.append(("source", reason))
    return mapped, source, problems


def outcome_imports_resume_stalled(*, now: dt.datetime | None = None) -> list[int]:
    """Hand imports that made no progress for a while to a worker again; return their ids.

    A worker that died (SIGKILL, out of memory) leaves its job `running` at its last committed
    batch; a lost message leaves it `queued`. Running the task again resumes it, and a job that
    is in fact still being worked on only sees its duplicate task stop at the first batch.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.CXC_OUTCOME_IMPORT_STALL_MINUTES)
    with transaction.atomic():
        ids = list(
            OutcomeImport.objects.filter(
                status__in=[OutcomeImport.Status.QUEUED, OutcomeImport.Status.RUNNING],
                updated_at__lt=cutoff,
            )
            .order_by("id")
            .values_list("id", flat=True)[:100]
        )
        OutcomeImport.objects.filter(pk__in=ids).update(updated_at=now)
        for import_id in ids:
            _enqueue_import(import_id)
    return ids


# --- Rollups -------------------------------------------------------------------------------------


def rollups_rebuild(*, since: dt.date | None = None) -> int:
    """Recompute the daily rollups from the raw records (every day, or from `since` on).

    Takes the rollup lock exclusively, so no ingest adds to a cell while it is rebuilt. Safe to
    run at any time and as often as wanted; returns the number of cells written.
    """
    tz = ZoneInfo(settings.TIME_ZONE)
    written = 0
    with transaction.atomic():
        _rollup_lock(exclusive=True)
        records = OutcomeRecord.objects.all()
        rollups = DailyRollup.objects.all()
        if since is not None:
            records = records.filter(
                occurred_at__gte=dt.datetime.combine(since, dt.time.min, tzinfo=tz)
            )
            rollups = rollups.filter(day__gte=since)
        rollups.delete()
        nps = Q(metric_id__in=_nps_metric_ids())
        cells = (
            records.annotate(local_day=TruncDate("occurred_at", tzinfo=tz))
            .values("team_id", "metric_id", "local_day")
            .annotate(
                n=Count("id"),
                total=Sum("value"),
                squares=Sum(F("value") * F("value")),
                pro=Count("id", filter=nps & Q(value__gte=9)),
                passive=Count("id", filter=nps & Q(value__gte=7, value__lt=9)),
                det=Count("id", filter=nps & Q(value__lt=7)),
            )
            .order_by()
        )
        now = timezone.now()
        for chunk in batched(cells.iterator(chunk_size=5000), 5000):
            DailyRollup.objects.bulk_create(
                [
                    DailyRollup(
                        team_id=cell["team_id"],
                        metric_id=cell["metric_id"],
                        day=cell["local_day"],
                        count=cell["n"],
                        sum=cell["total"],
                        sum_sq=cell["squares"],
                        promoters=cell["pro"],
                        passives=cell["passive"],
                        detractors=cell["det"],
                        updated_at=now,
                    )
                    for cell in chunk
                ],
                batch_size=1000,
            )
            written += len(chunk)
    return written


def rollups_refresh_recent(*, days: int | None = None) -> int:
    """Rebuild the last `days` days (settings.CXC_OUTCOME_ROLLUP_REFRESH_DAYS): the nightly net."""
    days = settings.CXC_OUTCOME_ROLLUP_REFRESH_DAYS if days is None else days
    today = timezone.localdate(timezone=ZoneInfo(settings.TIME_ZONE))
    return rollups_rebuild(since=today - dt.timedelta(days=days))
