"""Insights: read-only joins across surveys, outcomes and recognition. Nothing imports this app.

- EX-CX linkage, at team level only: a team's published survey figure at a closed run (through
  the surveys anonymity gate: a team under the threshold is never a point) against the team's
  customer outcome from the daily rollups over an outcome period: any dates the viewer chooses,
  by default the run and the following quarter, or a preset tied to the run (lagged windows).
- The value of saying yes: customers who got an approved policy exception (with or without
  coaching) against the same team's other customers in the same period, next to what the
  exceptions cost; a difference is called only with enough records on both sides and a 95% CI
  that excludes zero (`compare`).

Both are computed with a fixed number of aggregate queries whatever the data size.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from cxculture.lib import stats
from cxculture.lib.anonymity import TEAM, Group
from cxculture.lib.errors import DomainError
from cxculture.outcomes.models import DailyRollup, Metric, OutcomeRecord
from cxculture.outcomes.selectors import OutcomeSummary, outcome_teams_q
from cxculture.people.models import Policy, Team
from cxculture.people.permissions import Viewer
from recognition.models import PolicyException
from surveys import drivers as survey_drivers
from surveys.models import Driver, SurveyRun
from surveys.results import direct_members_figures, may_see_group, run_summaries

MIN_TEAMS = 5
WINDOW_DAYS = 30
REVERSE_DAYS = 90
QUARTER_DAYS = 90  # "the following quarter" after a run closes, in the default period
ENGAGEMENT = "engagement"
FAVOURABLE, MEAN = "favourable", "mean"
# How a team's survey figure is measured (the `engagement` parameter), said on page and API.
MEASURES = {
    FAVOURABLE: "the favourable share: % of answers 4 or 5 (agree or strongly agree) on the 1-5 "
    "scale; for the engagement index, the mean of its items' favourable shares",
    MEAN: "the mean answer on the 1-5 scale (1 strongly disagree, 5 strongly agree)",
}
MEASURE_UNITS = {FAVOURABLE: "% favourable", MEAN: "mean, 1-5"}
CUSTOM = "custom"
DEFAULT_WINDOW = "run"
OUTCOME_DATES = ("outcome_from", "outcome_to")


def may_read_insights(viewer: Viewer) -> bool:
    """HR admins and executives (the whole organisation) and managers (their subtrees)."""
    return viewer.is_authenticated and (viewer.sees_whole_organisation or viewer.is_manager)


def _require(viewer: Viewer) -> None:
    if not may_read_insights(viewer):
        raise PermissionDenied("Insights are for managers, HR and executives.")


# --- Windows -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    code: str
    label: str
    start: dt.date
    end: dt.date  # inclusive


# Presets tied to the run's dates; any other period is chosen with outcome_from / outcome_to.
WINDOW_CHOICES = {
    DEFAULT_WINDOW: "Run + 90 days: from the run's opening to 90 days after its close",
    "same": "Same period: outcomes in the 30 days up to the run's close",
    "30": "30 days later: outcomes in the 30 days after the run",
    "60": "60 days later: outcomes in the 60 days after the run",
    "90": "90 days later: outcomes in the 90 days after the run",
    "reverse": "Reverse: outcomes in the 90 days before the run opened",
}


def window_for(run: SurveyRun, code: str) -> Window:
    """The outcome days (inclusive) that go with a run for each preset."""
    label = WINDOW_CHOICES.get(code)
    if label is None:
        raise DomainError(f"Choose a window: {', '.join(WINDOW_CHOICES)}.", field="window")
    if code == DEFAULT_WINDOW:
        start, end = run.opens_on, run.closes_on + dt.timedelta(days=QUARTER_DAYS)
    elif code == "same":
        start, end = run.closes_on - dt.timedelta(days=WINDOW_DAYS - 1), run.closes_on
    elif code == "reverse":
        start = run.opens_on - dt.timedelta(days=REVERSE_DAYS)
        end = run.opens_on - dt.timedelta(days=1)
    else:
        start = run.closes_on + dt.timedelta(days=1)
        end = run.closes_on + dt.timedelta(days=int(code))
    return Window(code=code, label=label, start=start, end=end)


def _day(params: Mapping[str, Any], name: str) -> dt.date | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise DomainError(f"Give {name} as a date (YYYY-MM-DD).", field=name) from None


def _window_code(params: Mapping[str, Any]) -> str:
    """The preset asked for (checked before the run is read, so a bad one is a 400 at once)."""
    code = str(params.get("window") or "")
    chosen_dates = any(params.get(name) not in (None, "") for name in OUTCOME_DATES)
    if code and code != CUSTOM and chosen_dates:
        raise DomainError(
            "Choose either a preset window or outcome dates (outcome_from, outcome_to), not both.",
            field="window",
        )
    if code and code != CUSTOM and code not in WINDOW_CHOICES:
        raise DomainError(f"Choose a window: {', '.join(WINDOW_CHOICES)}.", field="window")
    start, end = _day(params, "outcome_from"), _day(params, "outcome_to")
    if start is not None and end is not None and start > end:
        raise DomainError("The outcome period starts after it ends.", field="outcome_from")
    return CUSTOM if chosen_dates or code == CUSTOM else code or DEFAULT_WINDOW


def outcome_window(run: SurveyRun, params: Mapping[str, Any]) -> Window:
    """The outcome days to link: a preset, or any period the viewer chooses with outcome_from and
    outcome_to (a missing end is the default period's: the run and the following quarter)."""
    code = _window_code(params)
    if code != CUSTOM:
        return window_for(run, code)
    default = window_for(run, DEFAULT_WINDOW)
    start = _day(params, "outcome_from") or default.start
    end = _day(params, "outcome_to") or default.end
    if start > end:
        raise DomainError("The outcome period starts after it ends.", field="outcome_from")
    return Window(
        code=CUSTOM, label=f"Chosen period: outcomes from {start} to {end}", start=start, end=end
    )


# --- Survey side: published team figures ----------------------------------------------------------


@dataclass(frozen=True)
class TeamFigure:
    team: int
    name: str
    respondents: int  # as published by the gate
    engagement_index: float | None
    drivers: Mapping[str, float | None]
    means: Mapping[str, float | None] = field(default_factory=dict)  # the engagement driver too

    def value(self, driver: str, measure: str = FAVOURABLE) -> float | None:
        if measure == MEAN:
            return self.means.get(driver)
        if driver == ENGAGEMENT:
            return self.engagement_index
        return self.drivers.get(driver)


def closed_runs() -> QuerySet[SurveyRun]:
    return (
        SurveyRun.objects.filter(status=SurveyRun.Status.CLOSED)
        .select_related("program")
        .order_by("-closes_on", "-id")
    )


def team_figures(viewer: Viewer, run: SurveyRun) -> dict[int, TeamFigure]:
    """Each team's published figures at a closed run (its direct members, as results show them).

    A team appears only if the run's anonymity plan shows it and the viewer may see it; the
    figures are the ones the run published when it closed (`surveys.results.run_summaries`),
    each through its own question's plan, so they match the results pages.
    """
    summary = run_summaries([run], direct_members=True).get(run.pk)
    if summary is None:  # only a closed run has published figures
        return {}
    figures = {}
    for node in summary.paths:
        if not isinstance(node, int):
            continue
        found = direct_members_figures(summary, node)
        if found.respondents is None or not may_see_group(viewer, summary, Group(TEAM, node)):
            continue  # hidden: a shown group always has its respondents
        figures[node] = TeamFigure(
            team=node,
            name=summary.name(node),
            respondents=found.respondents,
            engagement_index=found.engagement_index,
            drivers={
                driver: favourable
                for driver, favourable in found.favourable.items()
                if driver != Driver.ENGAGEMENT
            },
            means=dict(found.means),
        )
    return figures


# --- Outcome side: per team and metric, from the rollups -------------------------------------


def outcome_value(summary: OutcomeSummary) -> float | None:
    """The figure a team is compared on: NPS score, % yes for yes/no metrics, else the mean."""
    if summary.nps is not None:
        return summary.nps
    if summary.rate is not None:
        return 100.0 * summary.rate
    return summary.mean


def outcome_label(metric: Metric) -> str:
    if metric.is_nps:
        return metric.name if "score" in metric.name.lower() else f"{metric.name}, NPS score"
    if metric.kind == Metric.Kind.BINARY:
        return f"{metric.name}, % yes"
    return f"{metric.name}, mean{' in ' + metric.unit if metric.unit else ''}"


def outcomes_by_team(
    viewer: Viewer, metrics: Iterable[Metric], window: Window
) -> dict[int, dict[int, OutcomeSummary]]:
    """metric id → team id → summary over the window: one GROUP BY over the rollups."""
    by_id = {metric.pk: metric for metric in metrics}
    rows = (
        DailyRollup.objects.filter(
            outcome_teams_q(viewer, "team__"),
            metric_id__in=list(by_id),
            day__gte=window.start,
            day__lte=window.end,
        )
        .values("metric_id", "team_id")
        .annotate(
            n=Sum("count"),
            total=Sum("sum"),
            squares=Sum("sum_sq"),
            promoters=Sum("promoters"),
            passives=Sum("passives"),
            detractors=Sum("detractors"),
        )
        .order_by()
    )
    found: dict[int, dict[int, OutcomeSummary]] = defaultdict(dict)
    for row in rows:
        metric = by_id[row["metric_id"]]
        found[metric.pk][row["team_id"]] = OutcomeSummary.of(
            metric,
            n=row["n"] or 0,
            total=row["total"] or 0.0,
            squares=row["squares"] or 0.0,
            promoters=row["promoters"] or 0,
            passives=row["passives"] or 0,
            detractors=row["detractors"] or 0,
        )
    return found


# --- The correlation --------------------------------------------------------------------------


@dataclass
class Linkage:
    """One survey figure against one outcome, across teams, with what may be said about it."""

    n: int
    shown: bool
    reason: str | None
    pearson: float | None = None
    pearson_ci: tuple[float, float] | None = None
    pearson_p: float | None = None
    spearman: float | None = None
    spearman_ci: tuple[float, float] | None = None
    spearman_p: float | None = None
    ci_reason: str | None = None
    points: list[dict[str, Any]] = field(default_factory=list)

    @property
    def could_be_chance(self) -> bool:
        return self.pearson is not None and stats.ci_crosses_zero(self.pearson_ci)

    def as_dict(self) -> dict[str, Any]:
        def figure(
            r: float | None, ci: tuple[float, float] | None, p: float | None
        ) -> dict[str, Any]:
            return {
                "r": stats.rounded(r, 3),
                "ci_low": stats.rounded(ci[0], 3) if ci else None,
                "ci_high": stats.rounded(ci[1], 3) if ci else None,
                "p": stats.p_rounded(p),
                "could_be_chance": r is not None and stats.ci_crosses_zero(ci),
            }

        return {
            "n": self.n,
            "shown": self.shown,
            "reason": self.reason,
            "pearson": figure(self.pearson, self.pearson_ci, self.pearson_p),
            "spearman": figure(self.spearman, self.spearman_ci, self.spearman_p),
            "ci_reason": self.ci_reason,
        }


def correlate(points: list[dict[str, Any]], *, minimum: int = MIN_TEAMS) -> Linkage:
    """Pearson and Spearman with 95% CIs over the points' x and y; hidden under `minimum`."""
    n = len(points)
    if n < minimum:
        return Linkage(
            n=n,
            shown=False,
            reason=(
                f"Only {n} team{'s' if n != 1 else ''} with a published survey figure and "
                f"outcome data; a correlation is shown for at least {minimum} teams."
            ),
        )
    xs = [point["x"] for point in points]
    ys = [point["y"] for point in points]
    if stats.is_constant(xs) or stats.is_constant(ys):
        return Linkage(n=n, shown=True, reason=stats.CONSTANT_REASON, points=points)
    r, rho = stats.pearson(xs, ys), stats.spearman(xs, ys)
    return Linkage(
        n=n,
        shown=True,
        reason=None,
        pearson=r,
        pearson_ci=stats.fisher_ci(r, n),
        pearson_p=stats.correlation_p(r, n),
        spearman=rho,
        spearman_ci=stats.spearman_ci(rho, n),
        spearman_p=stats.correlation_p(rho, n),
        ci_reason=stats.TOO_FEW_FOR_CI if n <= 3 else None,
        points=points,
    )


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def sentence(linkage: Linkage, x_label: str, y_label: str) -> str:
    """What the figures say, in words that never claim causation."""
    if not linkage.shown or linkage.pearson is None:
        return linkage.reason or ""
    r = linkage.pearson
    strength = (
        "hardly"
        if abs(r) < 0.1
        else "weakly"
        if abs(r) < 0.3
        else "moderately"
        if abs(r) < 0.5
        else "strongly"
    )
    direction = "higher" if r >= 0 else "lower"
    text = (
        f"Across {linkage.n} teams, a higher {x_label} {strength} goes with a {direction} "
        f"{y_label} (r = {r:.2f}"
    )
    if linkage.pearson_ci:
        low, high = linkage.pearson_ci
        text += f", 95% CI {low:.2f} to {high:.2f}"
    if linkage.pearson_p is not None:
        text += f", {p_text(linkage.pearson_p)}"
    text += ")."
    if linkage.could_be_chance:
        text += " The interval includes zero: this could be chance."
    return text + " A correlation between teams does not show that one causes the other."


def driver_choices(figures: Mapping[int, TeamFigure]) -> list[tuple[str, str]]:
    """The engagement index, then every driver the teams have a figure for, HR's own included
    (their labels in one query at most)."""
    present = {driver for figure in figures.values() for driver in figure.drivers}
    codes = [
        driver
        for driver in survey_drivers.ordered(present)
        if driver not in (Driver.ENGAGEMENT, Driver.ENPS)
    ]
    labels = survey_drivers.driver_labels_for(codes)
    return [(ENGAGEMENT, "Engagement index")] + [
        (driver, survey_drivers.driver_label(driver, labels)) for driver in codes
    ]


def _run_from(raw: Any) -> SurveyRun | None:
    runs = closed_runs()
    if raw in (None, ""):
        # By default the organisation's latest results, never a small or test programme's.
        return runs.filter(program__is_organisation_wide=True).first()
    try:
        run_id = int(raw)
    except (TypeError, ValueError):
        raise DomainError("Give a survey run id.", field="run") from None
    run = runs.filter(pk=run_id).first()
    if run is None:
        raise DomainError("There is no closed survey run with this id.", field="run")
    return run


def linkage_for(
    viewer: Viewer, params: Mapping[str, Any], *, every_metric: bool = True
) -> dict[str, Any]:
    """The linkage page and API: every metric's correlations, and the chosen metric's points
    (without `every_metric`, the chosen metric's alone: the culture dashboard shows no other,
    and the rollups of one metric are a fraction of the read).

    Queries: the runs, the run's snapshot (3), the tallies, the metrics, the rollups — about
    eight whatever the number of teams, records or metrics.
    """
    _require(viewer)
    _window_code(params)
    measure = str(params.get("engagement") or FAVOURABLE)
    if measure not in MEASURES:
        raise DomainError(f"Choose engagement: {', '.join(MEASURES)}.", field="engagement")
    run = _run_from(params.get("run"))
    metrics = list(Metric.objects.filter(is_active=True).order_by("-is_builtin", "code"))
    result: dict[str, Any] = {
        "run": None,
        "runs": [
            {"id": r.pk, "label": f"{r.program.name} #{r.sequence} (closed {r.closes_on})"}
            for r in closed_runs()[:24]
        ],
        "window": None,
        "windows": [{"code": code, "label": label} for code, label in WINDOW_CHOICES.items()],
        "driver": None,
        "drivers": [],
        "engagement": {"code": measure, "label": MEASURES[measure], "unit": MEASURE_UNITS[measure]},
        "engagements": [{"code": code, "label": label} for code, label in MEASURES.items()],
        "metric": None,
        "metrics": [],
        "minimum_teams": MIN_TEAMS,
        "teams_with_figures": 0,
        "linkage": None,
        "summary": "",
        "points": [],
    }
    if run is None:
        result["summary"] = "No survey run has closed yet: linkage needs a closed run."
        return result
    window = outcome_window(run, params)
    figures = team_figures(viewer, run)
    drivers = driver_choices(figures)
    driver = str(params.get("driver") or ENGAGEMENT)
    if driver not in dict(drivers) and driver != ENGAGEMENT:
        raise DomainError("This run has no such driver.", field="driver")
    metric_code = str(params.get("metric") or "")
    by_code = {metric.code: metric for metric in metrics}
    if metric_code and metric_code not in by_code:
        raise DomainError("There is no such outcome metric.", field="metric")
    chosen = by_code.get(metric_code) or by_code.get("csat") or (metrics[0] if metrics else None)
    if not every_metric:
        metrics = [chosen] if chosen is not None else []
    outcomes = outcomes_by_team(viewer, metrics, window)
    x_label = dict(drivers).get(driver, "Engagement index")
    result.update(
        run={
            "id": run.pk,
            "program": run.program.name,
            "sequence": run.sequence,
            "opens_on": run.opens_on,
            "closes_on": run.closes_on,
            "threshold": run.anonymity_threshold,
        },
        window={
            "code": window.code,
            "label": window.label,
            "start": window.start,
            "end": window.end,
            "complete": window.end < timezone.localdate(),
        },
        driver={"code": driver, "label": x_label},
        drivers=[{"code": code, "label": label} for code, label in drivers],
        teams_with_figures=len(figures),
    )
    for metric in metrics:
        points = []
        for team_id, figure in sorted(figures.items(), key=lambda item: item[1].name):
            x = figure.value(driver, measure)
            summary = outcomes.get(metric.pk, {}).get(team_id)
            y = outcome_value(summary) if summary else None
            if x is None or y is None:
                continue
            points.append(
                {
                    "team": team_id,
                    "team_name": figure.name,
                    "x": x,
                    "y": round(y, 3),
                    "respondents": figure.respondents,
                    "outcome_n": summary.n if summary else 0,
                }
            )
        linkage = correlate(points)
        y_label = outcome_label(metric)
        entry = {
            "code": metric.code,
            "name": metric.name,
            "label": y_label,
            "higher_is_better": metric.higher_is_better,
            **linkage.as_dict(),
            "summary": sentence(
                linkage, x_label.lower() + ("" if driver == ENGAGEMENT else " score"), y_label
            ),
        }
        result["metrics"].append(entry)
        if metric == chosen:
            result["metric"] = {"code": metric.code, "name": metric.name, "label": y_label}
            result["linkage"] = entry
            result["summary"] = entry["summary"]
            result["points"] = linkage.points if linkage.shown else []
    return result


# --- The value of saying yes -----------------------------------------------------------------

HORIZON_DAYS = 90
COMPARED = ("csat", "nps", "churn")


def revisit_min_approved() -> int:
    return int(settings.CXC_INSIGHTS_REVISIT_MIN_APPROVED)


def min_group_n() -> int:
    return int(settings.CXC_INSIGHTS_MIN_GROUP_N)


@dataclass
class Sums:
    """Additive outcome counts for one side of a comparison, per metric code."""

    n: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    squares: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    promoters: int = 0
    detractors: int = 0

    def add(
        self,
        code: str,
        n: int,
        total: float,
        squares: float,
        promoters: int = 0,
        detractors: int = 0,
    ) -> None:
        self.n[code] += n
        self.total[code] += total
        self.squares[code] += squares
        if code == "nps":
            self.promoters += promoters
            self.detractors += detractors

    def figures(self) -> dict[str, Any]:
        csat_n, nps_n, churn_n = self.n["csat"], self.n["nps"], self.n["churn"]
        return {
            "csat_mean": stats.rounded(stats.mean_from(self.total["csat"], csat_n)),
            "csat_n": csat_n,
            "nps": stats.enps_from_counts(self.promoters, self.detractors, nps_n),
            "nps_n": nps_n,
            "churn_rate": stats.share(round(self.total["churn"]), churn_n),
            "churn_n": churn_n,
        }

    def estimate(self, code: str) -> tuple[float, float] | None:
        """The side's figure and its per-record variance on the shown scale (CSAT mean; NPS
        and churn in percentage points), or None where it has fewer than two records."""
        n = self.n[code]
        if n < 2:
            return None
        if code == "nps":
            promoters, detractors = self.promoters / n, self.detractors / n
            score = promoters - detractors
            # Each answer scores +1, 0 or -1: the variance of that score, times 100².
            return 100 * score, 10_000 * (promoters + detractors - score * score)
        if code == "churn":
            rate = self.total[code] / n
            return 100 * rate, 10_000 * rate * (1 - rate)
        variance = stats.sample_variance(self.total[code], self.squares[code], n)
        return None if variance is None else (self.total[code] / n, variance)


NOT_ENOUGH = "not_enough_data"
VERDICT_LABELS = {
    "better": "yes-group did better",
    "worse": "yes-group did worse",
    "mixed": "better on one outcome, worse on another",
    NOT_ENOUGH: "not enough data",
}
# Whether a higher figure is better for the customer, per compared outcome.
HIGHER_IS_BETTER = {"csat": True, "nps": True, "churn": False}


def compare(yes: Sums, baseline: Sums, *, minimum: int) -> dict[str, dict[str, Any]]:
    """Per outcome: the difference yes - baseline with its 95% CI, and a verdict that is
    "better" or "worse" only when both sides have `minimum` records and the CI excludes zero."""
    found = {}
    for code, higher in HIGHER_IS_BETTER.items():
        yes_n, base_n = yes.n[code], baseline.n[code]
        entry: dict[str, Any] = {
            "yes_n": yes_n,
            "baseline_n": base_n,
            "difference": None,
            "ci_low": None,
            "ci_high": None,
            "verdict": NOT_ENOUGH,
        }
        found[code] = entry
        a, b = yes.estimate(code), baseline.estimate(code)
        if min(yes_n, base_n) < max(minimum, 2) or a is None or b is None:
            continue
        difference = a[0] - b[0]
        low, high = stats.difference_ci(difference, a[1], yes_n, b[1], base_n)
        entry.update(difference=round(difference, 2), ci_low=round(low, 2), ci_high=round(high, 2))
        if low > 0 or high < 0:
            entry["verdict"] = "better" if (low > 0) == higher else "worse"
    return found


def verdict_of(comparisons: Mapping[str, Mapping[str, Any]]) -> str:
    verdicts = {entry["verdict"] for entry in comparisons.values()}
    if "better" in verdicts and "worse" in verdicts:
        return "mixed"
    if "better" in verdicts:
        return "better"
    if "worse" in verdicts:
        return "worse"
    return NOT_ENOUGH


def _money(amounts: Iterable[Decimal | None]) -> Decimal:
    """A sum of costs to the penny (SQLite sums decimals as floats)."""
    total = sum((Decimal(str(amount)) for amount in amounts if amount is not None), Decimal(0))
    return total.quantize(Decimal("0.01"))


def _exceptions_scope(viewer: Viewer) -> Q:
    if viewer.sees_whole_organisation:
        return Q()
    return viewer.subtree_q(prefix="team__")


def _period(params: Mapping[str, Any]) -> tuple[dt.date, dt.date]:
    def day(name: str, default: dt.date) -> dt.date:
        raw = params.get(name)
        if raw in (None, ""):
            return default
        try:
            return dt.date.fromisoformat(str(raw))
        except ValueError:
            raise DomainError("Give a date as YYYY-MM-DD.", field=name) from None

    today = timezone.localdate()
    until = day("until", today)
    since = day("since", until - dt.timedelta(days=365))
    if since > until:
        raise DomainError("The start is after the end.", field="since")
    return since, until


def exception_value(viewer: Viewer, params: Mapping[str, Any]) -> dict[str, Any]:
    """Per policy and per team: exceptions logged and approved, their cost, and how customers
    who got a "yes" fared afterwards against the same team's other customers in the same period.

    - Yes-group: outcome records whose customer or interaction reference matches an approved
      exception, dated from the day of the exception to `HORIZON_DAYS` after it.
    - Baseline: the exception's team's other outcome records (no exception of any status on
      their references) over the days the yes-group's windows span, for that policy or team.
      It is the team's daily rollups minus the records matched to any exception.
    - Verdict: per outcome, `compare`; "revisit" needs a "better" verdict and
      CXC_INSIGHTS_REVISIT_MIN_APPROVED approvals.
    Queries: seven, whatever the number of exceptions (aggregates and two flat reads).
    """
    _require(viewer)
    since, until = _period(params)
    scoped = PolicyException.objects.filter(
        _exceptions_scope(viewer), occurred_on__gte=since, occurred_on__lte=until
    )
    # 1. Counts and cost per policy and team.
    counts = (
        scoped.values("policy_id", "team_id")
        .annotate(
            logged=Count("id"),
            approved=Count("id", filter=Q(status__in=PolicyException.APPROVED_STATUSES)),
            declined=Count("id", filter=Q(status=PolicyException.Status.DECLINED)),
            logged_cost=Sum("cost"),
            approved_cost=Sum("cost", filter=Q(status__in=PolicyException.APPROVED_STATUSES)),
        )
        .order_by()
    )
    # 2. The approved exceptions with a reference (a flat read, joined to records in Python).
    approved = list(
        scoped.approved().values_list(
            "id", "policy_id", "team_id", "customer_ref", "interaction_ref", "occurred_on"
        )
    )
    metric_codes = dict(Metric.objects.filter(code__in=COMPARED).values_list("id", "code"))  # 3.
    # 4. Records of any customer or interaction with an exception (any status, anywhere).
    references = PolicyException.objects.filter(occurred_on__gte=since, occurred_on__lte=until)
    customer_refs = references.exclude(customer_ref="").values("customer_ref")
    interaction_refs = references.exclude(interaction_ref="").values("interaction_ref")
    start = since
    end = until + dt.timedelta(days=HORIZON_DAYS)
    records = list(
        OutcomeRecord.objects.filter(
            Q(customer_ref__in=customer_refs) | Q(interaction_ref__in=interaction_refs),
            metric_id__in=list(metric_codes),
            occurred_at__date__gte=start,
            occurred_at__date__lte=end,
        ).values_list(
            "team_id", "metric_id", "value", "occurred_at", "customer_ref", "interaction_ref"
        )
    )
    by_customer: dict[str, list[tuple]] = defaultdict(list)
    by_interaction: dict[str, list[tuple]] = defaultdict(list)
    for exception in approved:
        if exception[3]:
            by_customer[exception[3]].append(exception)
        if exception[4]:
            by_interaction[exception[4]].append(exception)
    yes_policy: dict[int, Sums] = defaultdict(Sums)
    yes_team: dict[int | None, Sums] = defaultdict(Sums)
    excluded: dict[tuple[int, str, dt.date], list[float]] = defaultdict(list)  # from baselines
    horizon = dt.timedelta(days=HORIZON_DAYS)
    for record_team, metric_id, value, occurred_at, customer_ref, interaction_ref in records:
        code = metric_codes[metric_id]
        day = timezone.localdate(occurred_at)
        excluded[(record_team, code, day)].append(value)
        matches = {
            exception
            for exception in by_customer.get(customer_ref, [])
            + by_interaction.get(interaction_ref, [])
            if exception[5] <= day <= exception[5] + horizon
        }
        promoter, detractor = int(value >= stats.PROMOTER_MIN), int(value <= stats.DETRACTOR_MAX)
        for policy_id in {exception[1] for exception in matches}:
            yes_policy[policy_id].add(code, 1, value, value * value, promoter, detractor)
        for exception_team in {exception[2] for exception in matches}:
            yes_team[exception_team].add(code, 1, value, value * value, promoter, detractor)
    # The baseline periods: per (policy, team) and per team, the approved exceptions' span.
    spans: dict[tuple[int, int | None], tuple[dt.date, dt.date]] = {}
    team_id: int | None
    for _id, policy_id, team_id, _c, _i, occurred_on in approved:
        low, high = spans.get((policy_id, team_id), (occurred_on, occurred_on))
        spans[(policy_id, team_id)] = (min(low, occurred_on), max(high, occurred_on))
    team_spans: dict[int | None, tuple[dt.date, dt.date]] = {}
    for (_policy, team_id), (low, high) in spans.items():
        old = team_spans.get(team_id, (low, high))
        team_spans[team_id] = (min(old[0], low), max(old[1], high))
    # 5. The teams' daily rollups over the whole period (one read, summed per span in Python).
    daily: dict[int, list[tuple[str, dt.date, int, float, float, int, int]]] = defaultdict(list)
    teams_with_yes = [team_id for team_id in team_spans if team_id is not None]
    for rollup in DailyRollup.objects.filter(
        team_id__in=teams_with_yes,
        metric_id__in=list(metric_codes),
        day__gte=start,
        day__lte=end,
    ).values_list(
        "team_id", "metric_id", "day", "count", "sum", "sum_sq", "promoters", "detractors"
    ):
        team_of, metric_of, *sums = rollup
        daily[team_of].append((metric_codes[metric_of], *sums))  # type: ignore[arg-type]

    def baseline(team_id: int | None, low: dt.date, high: dt.date, into: Sums) -> None:
        if team_id is None:
            return
        for code, day, n, total, squares, promoters, detractors in daily.get(team_id, []):
            if not low <= day <= high + horizon:
                continue
            minus = excluded.get((team_id, code, day), [])
            into.add(
                code,
                n - len(minus),
                total - sum(minus),
                squares - sum(v * v for v in minus),
                promoters - sum(1 for v in minus if v >= stats.PROMOTER_MIN),
                detractors - sum(1 for v in minus if v <= stats.DETRACTOR_MAX),
            )

    base_policy: dict[int, Sums] = defaultdict(Sums)
    for (policy_id, team_id), (low, high) in spans.items():
        baseline(team_id, low, high, base_policy[policy_id])
    base_team: dict[int | None, Sums] = defaultdict(Sums)
    for team_id, (low, high) in team_spans.items():
        baseline(team_id, low, high, base_team[team_id])

    # 6. Names.
    policy_ids = {entry["policy_id"] for entry in counts}
    team_ids = {entry["team_id"] for entry in counts if entry["team_id"] is not None}
    policies = dict(Policy.objects.filter(pk__in=policy_ids).values_list("id", "name"))
    teams = dict(Team.objects.filter(pk__in=team_ids).values_list("id", "name"))

    minimum = revisit_min_approved()
    group_minimum = min_group_n()

    def line(key: Any, name: str, figures: list[Mapping[str, Any]], yes: Sums, base: Sums) -> dict:
        logged = sum(f["logged"] for f in figures)
        approved_count = sum(f["approved"] for f in figures)
        comparisons = compare(yes, base, minimum=group_minimum)
        verdict = verdict_of(comparisons)
        better = verdict == "better"
        return {
            "id": key,
            "name": name,
            "logged": logged,
            "approved": approved_count,
            "declined": sum(f["declined"] for f in figures),
            "total_cost": _money(f["logged_cost"] for f in figures),
            "approved_cost": _money(f["approved_cost"] for f in figures),
            "yes_group": yes.figures(),
            "baseline": base.figures(),
            "comparisons": comparisons,
            "verdict": verdict,
            "verdict_label": VERDICT_LABELS[verdict],
            "yes_better": better,
            "revisit": better and approved_count >= minimum,
        }

    grouped_policy: dict[int, list] = defaultdict(list)
    grouped_team: dict[int | None, list] = defaultdict(list)
    for figures in counts:
        grouped_policy[figures["policy_id"]].append(figures)
        grouped_team[figures["team_id"]].append(figures)
    by_policy = [
        line(pid, policies.get(pid, "?"), rows, yes_policy[pid], base_policy[pid])
        for pid, rows in grouped_policy.items()
    ]
    by_team = [
        line(
            tid,
            teams.get(tid, "No team") if tid else "No team",
            rows,
            yes_team[tid],
            base_team[tid],
        )
        for tid, rows in grouped_team.items()
    ]
    by_policy.sort(key=lambda r: (-r["approved"], r["name"]))
    by_team.sort(key=lambda r: (-r["approved"], r["name"]))
    return {
        "since": since,
        "until": until,
        "horizon_days": HORIZON_DAYS,
        "revisit_min_approved": minimum,
        "min_group_n": group_minimum,
        "currency": settings.CXC_RECOGNITION_CURRENCY,
        "by_policy": by_policy,
        "by_team": by_team,
    }
