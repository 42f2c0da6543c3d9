"""Reads of customer outcomes, scoped to the viewer.

- The catalog: everyone signed in reads active metrics; HR admins also retired ones.
- Raw records, imports, sources: HR admins only (records name agents; dashboards use rollups).
- Aggregates come from the daily rollups (monthly trends: the monthly ones for whole months),
  never raw rows: HR admins and executives read every team, managers the subtrees they lead,
  employees their own team.
"""

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from cxculture.people.models import Team
from cxculture.people.permissions import Viewer

from .models import (
    DailyRollup,
    Metric,
    MonthlyRollup,
    OutcomeImport,
    OutcomeImportError,
    OutcomeRecord,
    OutcomeSource,
)


def metrics_for_viewer(viewer: Viewer) -> QuerySet[Metric]:
    if not viewer.is_authenticated:
        return Metric.objects.none()
    if viewer.is_hr_admin:
        return Metric.objects.all()
    return Metric.objects.filter(is_active=True)


def outcome_records_for_viewer(viewer: Viewer) -> QuerySet[OutcomeRecord]:
    if not viewer.is_hr_admin:
        return OutcomeRecord.objects.none()
    return OutcomeRecord.objects.select_related("metric", "team", "agent__user")


def outcome_imports_for_viewer(viewer: Viewer) -> QuerySet[OutcomeImport]:
    if not viewer.is_hr_admin:
        return OutcomeImport.objects.none()
    return OutcomeImport.objects.select_related("requested_by")


def outcome_import_last_mapped(source: str) -> OutcomeImport | None:
    """The latest import from `source` that went through a column mapping: its mapping and
    metric are the ones saved for that source, offered again for its next file."""
    return (
        OutcomeImport.objects.filter(source=source)
        .exclude(mapping={})
        .only("mapping", "metric", "preset")
        .order_by("-created_at", "-id")
        .first()
    )


def outcome_import_errors(job: OutcomeImport) -> QuerySet[OutcomeImportError]:
    """The rejected rows of an import (already scoped: the caller got `job` from a selector)."""
    return OutcomeImportError.objects.filter(job=job).order_by("row", "id")


def outcome_sources_for_viewer(viewer: Viewer) -> QuerySet[OutcomeSource]:
    if not viewer.is_hr_admin:
        return OutcomeSource.objects.none()
    return OutcomeSource.objects.all()


def outcome_source_for_token(token_hash: str) -> OutcomeSource | None:
    """The active source whose token hashes to `token_hash` (authentication)."""
    return OutcomeSource.objects.filter(token_hash=token_hash, is_active=True).first()


# --- Aggregates from the daily rollups --------------------------------------------------------


@dataclass(frozen=True)
class OutcomeSummary:
    """A metric over a set of days for a team or subtree, from its rollups.

    `mean` for every metric; `rate` (share of yes) for yes/no metrics; `nps` (percentage of
    promoters minus percentage of detractors, -100..100) for nps. None when n is 0.
    """

    metric: str
    kind: str
    n: int
    mean: float | None
    stddev: float | None
    rate: float | None = None
    nps: float | None = None
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @classmethod
    def of(
        cls,
        metric: Metric,
        *,
        n: int = 0,
        total: float = 0.0,
        squares: float = 0.0,
        promoters: int = 0,
        passives: int = 0,
        detractors: int = 0,
    ) -> "OutcomeSummary":
        if not n:
            return cls(metric=metric.code, kind=metric.kind, n=0, mean=None, stddev=None)
        mean = total / n
        stddev = None
        if n > 1:
            # Sample standard deviation from the sums; clamp the rounding noise below zero.
            stddev = math.sqrt(max(0.0, (squares - n * mean * mean) / (n - 1)))
        return cls(
            metric=metric.code,
            kind=metric.kind,
            n=n,
            mean=mean,
            stddev=stddev,
            rate=mean if metric.kind == Metric.Kind.BINARY else None,
            nps=100.0 * (promoters - detractors) / n if metric.is_nps else None,
            promoters=promoters,
            passives=passives,
            detractors=detractors,
        )


_SUMS = {
    "n": Sum("count"),
    "total": Sum("sum"),
    "squares": Sum("sum_sq"),
    "promoters": Sum("promoters"),
    "passives": Sum("passives"),
    "detractors": Sum("detractors"),
}


def _summary_from(metric: Metric, sums: dict) -> OutcomeSummary:
    return OutcomeSummary.of(metric, **{key: sums.get(key) or 0 for key in _SUMS})


def outcome_teams_q(viewer: Viewer, prefix: str = "") -> Q:
    """The teams whose aggregates `viewer` may read, as a filter (`prefix` e.g. "team__")."""
    if viewer.sees_whole_organisation:
        return Q()
    scope = Q(**{f"{prefix}pk__in": []})
    if viewer.team_id is not None:
        scope |= Q(**{f"{prefix}pk": viewer.team_id})
    if viewer.is_manager:
        scope |= viewer.subtree_q(prefix=prefix)
    return scope


def _rollups(viewer: Viewer, metric: Metric, start: dt.date, end: dt.date) -> QuerySet:
    return DailyRollup.objects.filter(
        outcome_teams_q(viewer, "team__") if viewer.is_authenticated else Q(pk__in=[]),
        metric=metric,
        day__gte=start,
        day__lte=end,
    )


def outcome_summary(
    viewer: Viewer,
    *,
    metric: Metric,
    team: Team,
    start: dt.date,
    end: dt.date,
    subtree: bool = True,
) -> OutcomeSummary:
    """One team (with its subtree, by default) over the days start..end inclusive: one query.

    Teams of the subtree the viewer may not read are left out, not revealed.
    """
    rollups = _rollups(viewer, metric, start, end)
    if subtree:
        rollups = rollups.filter(team__path__startswith=team.path)
    else:
        rollups = rollups.filter(team=team)
    return _summary_from(metric, rollups.aggregate(**_SUMS))


def outcome_summaries_by_team(
    viewer: Viewer,
    *,
    metric: Metric,
    start: dt.date,
    end: dt.date,
    subtree: bool = False,
) -> dict[int, OutcomeSummary]:
    """Every team the viewer may read → its summary over start..end, in two queries.

    With `subtree`, each team's figure includes the teams below it (the sums are folded up the
    tree in Python, so 2,000 teams still cost one GROUP BY and one read of the tree).
    """
    per_team = {
        row["team_id"]: row
        for row in _rollups(viewer, metric, start, end)
        .values("team_id")
        .annotate(**_SUMS)
        .order_by()
    }
    if not subtree:
        return {team_id: _summary_from(metric, sums) for team_id, sums in per_team.items()}
    paths = dict(
        Team.objects.filter(outcome_teams_q(viewer)).values_list("id", "path")
        if viewer.is_authenticated
        else []
    )
    folded: dict[int, dict[str, float]] = {}
    for team_id, sums in per_team.items():
        path = paths.get(team_id, "")
        for ancestor in (int(part) for part in path.strip("/").split("/") if part):
            if ancestor not in paths:
                continue
            into = folded.setdefault(ancestor, dict.fromkeys(_SUMS, 0))
            for key in _SUMS:
                into[key] += sums[key] or 0
    return {team_id: _summary_from(metric, sums) for team_id, sums in folded.items()}


def outcome_daily_series(
    viewer: Viewer,
    *,
    metric: Metric,
    team: Team,
    start: dt.date,
    end: dt.date,
    subtree: bool = True,
) -> list[tuple[dt.date, OutcomeSummary]]:
    """Day by day (days without records left out) for a team or its subtree: one query."""
    rollups = _rollups(viewer, metric, start, end)
    if subtree:
        rollups = rollups.filter(team__path__startswith=team.path)
    else:
        rollups = rollups.filter(team=team)
    rows = rollups.values("day").annotate(**_SUMS).order_by("day")
    return [(row["day"], _summary_from(metric, row)) for row in rows]


# The customer metrics every dashboard shows over time, in this order (those that exist).
TREND_METRICS = ("csat", "nps", "fcr", "complaint", "churn")


def trend_unit(metric: Metric) -> str:
    """What a trend's value is: the NPS score, % yes for yes/no metrics, else the mean."""
    if metric.is_nps:
        return "NPS score, -100 to 100"
    if metric.kind == Metric.Kind.BINARY:
        return "% yes"
    if metric.kind == Metric.Kind.SCALE:
        return f"mean, {metric.min_value:g}-{metric.max_value:g}"
    return f"mean{', ' + metric.unit if metric.unit else ''}"


def trend_value(summary: OutcomeSummary) -> float | None:
    if summary.nps is not None:
        return round(summary.nps, 2)
    if summary.rate is not None:
        return round(100.0 * summary.rate, 2)
    return None if summary.mean is None else round(summary.mean, 2)


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def _date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _month_end(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def outcome_monthly_trends(
    viewer: Viewer,
    *,
    team: Team | None,
    start: dt.date,
    end: dt.date,
    codes: Iterable[str] = TREND_METRICS,
) -> list[dict[str, Any]]:
    """Each customer metric month by month over start..end: the value (as `trend_unit` says)
    and n, the records behind it, for a team's subtree or (team None) every team the viewer
    may read. Months without records have n 0 and no value. Two queries, whatever the size:
    the metrics and one GROUP BY over the monthly rollups of the months wholly inside the
    period and the daily rollups of the days of the others (a year of a whole organisation is
    a dozen rows per team, not 365)."""
    wanted = list(codes)
    metrics = sorted(
        Metric.objects.filter(code__in=wanted, is_active=True), key=lambda m: wanted.index(m.code)
    )
    scope = outcome_teams_q(viewer, "team__") if viewer.is_authenticated else Q(pk__in=[])
    if team is not None:
        scope &= Q(team__path__startswith=team.path)
    months = _months(start, end)
    # No record is dated after today (an import refuses a time in the future), so a period
    # that runs to today holds this month whole so far: its monthly cell is the same sum.
    until = _month_end(end) if end >= timezone.localdate() else end
    whole = [month for month in months if month >= start and _month_end(month) <= until]
    days = DailyRollup.objects.filter(scope, metric__in=metrics, day__gte=start, day__lte=end)
    if whole:
        days = days.exclude(day__gte=whole[0], day__lte=_month_end(whole[-1]))
    rows: QuerySet[Any, Any] = (
        days.annotate(month=TruncMonth("day"))
        .values("metric_id", "month")
        .annotate(**_SUMS)
        .order_by()
    )
    if whole:
        in_months = MonthlyRollup.objects.filter(
            scope, metric__in=metrics, month__gte=whole[0], month__lte=whole[-1]
        )
        rows = (
            in_months.values("metric_id", "month")
            .annotate(**_SUMS)
            .order_by()
            .union(rows, all=True)
            .order_by()
        )
    # A month comes from one side only: whole ones from the monthly rollups, others by day.
    # (PostgreSQL's DATE_TRUNC gives a timestamp, so the union's months come back as datetimes.)
    sums: dict[tuple[int, dt.date], dict[str, Any]] = {
        (row["metric_id"], _date(row["month"])): dict(row) for row in rows
    }
    trends = []
    for metric in metrics:
        points = []
        for month in months:
            summary = _summary_from(metric, sums.get((metric.pk, month), {}))
            points.append({"month": month, "value": trend_value(summary), "n": summary.n})
        trends.append(
            {
                "code": metric.code,
                "name": metric.name,
                "unit": trend_unit(metric),
                "higher_is_better": metric.higher_is_better,
                "points": points,
            }
        )
    return trends
