"""Writes to the outcome catalog: metrics and the sources that send records.

Ingestion (CSV imports, JSON batches, daily rollups) lives in `cxculture.outcomes.ingest`.
"""

import datetime as dt
import hashlib
import math
import re
import secrets
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from cxculture.lib.errors import ConflictError, DomainError

from .ingest.validation import clean_slug
from .models import Metric, OutcomeRecord, OutcomeSource

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


@transaction.atomic
def outcome_source_create(
    *, name: str, slug: str, created_by: User | None
) -> tuple[OutcomeSource, str]:
    """Register a system that sends records; return it and its API token (shown only now).

    The slug is the `source` of its records: a CSV import under the same source name shares its
    external ids, so a backfill file and the live webhook never double-count a record.
    """
    slug = clean_slug(slug, field_name="slug")
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
