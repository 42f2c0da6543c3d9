"""The culture dashboard: one read of surveys, recognition, exceptions, linkage and actions.

Every survey figure goes through the surveys anonymity gate: a group's engagement index, eNPS
and driver scores come from `group_figures` (shown only when the run's plan shows the group),
and participation counts only when the participation plan (k invited) shows it.

Queries are bounded, whatever the data size: closed runs are read as summaries (one query for
all their stamps; a run not summarised yet is read once, a fixed number of queries), plus a
fixed number for recognition, exceptions, linkage and follow-through.
"""

import datetime as dt
import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Func, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from cxculture.actions.models import Action
from cxculture.actions.selectors import follow_through, open_actions_to_lead
from cxculture.lib import stats
from cxculture.lib.anonymity import ORGANISATION, SUBTREE, Group
from cxculture.lib.errors import DomainError
from cxculture.outcomes.selectors import outcome_monthly_trends
from cxculture.people.models import CompanyValue, Employee, Team
from cxculture.people.permissions import Viewer
from cxculture.people.selectors import has_teams_below
from recognition.models import (
    ExceptionDay,
    RecognitionDay,
    RecognitionGiverDay,
    RecognitionValueDay,
)
from recognition.rollups import ORGANISATION_NODE
from recognition.selectors import exception_review_queue, not_recognised_lately
from surveys import drivers as survey_drivers
from surveys.models import Driver, SurveyRun
from surveys.results import group_figures, run_points, run_summaries, team_heatmap

from .selectors import linkage_for, may_read_insights

MONTHS = (3, 6, 12)
MAX_RUNS = 26  # a year of a fortnightly pulse
REACH_DAYS = (30, 90)
MAX_LEADERS = 50
# Bump when the cached figures change shape.
FIGURES_CACHE_VERSION = 6
# Figures older than CXC_DASHBOARD_CACHE_SECONDS are still shown (the page says when they were
# computed) while a worker recomputes them, for up to this many lifetimes; after that a request
# recomputes them itself.
STALE_LIFETIMES = 12
MY_ACTIONS = 10
MY_EXCEPTIONS = 5
NOT_RECOGNISED_NAMES = 10


def _require(viewer: Viewer) -> None:
    if not may_read_insights(viewer):
        raise PermissionDenied("Dashboards are for managers, HR and executives.")


def departments_for(viewer: Viewer) -> list[Team]:
    """The departments the viewer may pick: teams with teams below them, plus the roots of the
    subtrees a manager leads, in tree order; for HR and executives, not a single top-level team
    (the whole organisation is their first choice). A team with none below is reached by
    drilling down from the heatmap (any team in the viewer's scope is accepted), so the picker
    stays a short list at 2,000 teams."""
    teams = list(
        _teams_in_scope(viewer)
        .annotate(below=has_teams_below())
        .filter(Q(below=True) | Q(path__in=viewer.managed_paths) | Q(parent__isnull=True))
        .order_by("path")
    )
    roots = [team for team in teams if team.path.count("/") == 2]
    # A single top-level team holds everyone: for those offered "the whole organisation" it
    # is the same choice under another name, so it is listed once.
    same_as_organisation = (
        roots[0].pk if viewer.sees_whole_organisation and len(roots) == 1 else None
    )
    return _tree_order(
        [
            team
            for team in teams
            if team.pk != same_as_organisation and (team.below or team.path in viewer.managed_paths)  # type: ignore[attr-defined]
        ]
    )


def _tree_order(teams: list[Team]) -> list[Team]:
    """Teams in tree order with sisters by name. Ordering by `path` alone puts sisters in the
    order of their ids as text ("/1/12/" before "/1/9/"). Ancestors not in the list (above a
    manager's subtrees) keep that order."""
    names = {team.pk: team.name for team in teams}

    def key(team: Team) -> list[tuple[str, str]]:
        ids = [part for part in team.path.split("/") if part]
        return [(names.get(int(part), ""), part) for part in ids]

    return sorted(teams, key=key)


def _teams_in_scope(viewer: Viewer) -> QuerySet[Team]:
    """Active teams the viewer may choose: all for HR and executives, else their subtrees."""
    teams = Team.objects.filter(is_active=True).only("id", "name", "path")
    if not viewer.sees_whole_organisation:
        teams = teams.filter(viewer.subtree_q())
    return teams


def _department(viewer: Viewer, raw: Any, choices: list[Team]) -> Team | None:
    """None means the whole organisation (HR and executives only)."""
    if raw in (None, ""):
        if viewer.sees_whole_organisation or not choices:
            return None
        return min(choices, key=lambda team: len(team.path))
    try:
        team_id = int(raw)
    except (TypeError, ValueError):
        raise DomainError("Choose a department by its id.", field="department") from None
    for choice in choices:
        if choice.pk == team_id:
            return choice
    team = _teams_in_scope(viewer).filter(pk=team_id).first()
    if team is None:
        raise DomainError("You cannot see this department.", field="department")
    return team


def department_for(viewer: Viewer, raw: Any) -> Team | None:
    """The department the viewer asks for (None: the whole organisation, or a manager's own
    subtree when none is asked for), refused with a DomainError when they may not see it."""
    return _department(viewer, raw, departments_for(viewer))


def _months(raw: Any) -> int:
    if raw in (None, ""):
        return 12
    try:
        months = int(raw)
    except (TypeError, ValueError):
        months = 0
    if months not in MONTHS:
        raise DomainError("Choose 3, 6 or 12 months.", field="months")
    return months


def _since(today: dt.date, months: int) -> dt.date:
    return today - dt.timedelta(days=round(months * 365 / 12))


def _survey_side(
    viewer: Viewer, department: Team | None, since: dt.date, today: dt.date
) -> dict[str, Any]:
    """Trend and participation per closed run in the period; heatmap of the latest run. Read
    from the runs' summaries (every subtree's figures through the gate), not their cells: only
    the department's rows of each (`run_points`), and the latest run's whole summary for the
    heatmap."""
    runs = list(
        SurveyRun.objects.filter(
            status=SurveyRun.Status.CLOSED,
            program__is_organisation_wide=True,
            closes_on__gte=since,
            closes_on__lte=today,
        )
        .select_related("program")
        .order_by("-closes_on", "-id")[:MAX_RUNS]
    )
    runs.reverse()
    node: Any = ORGANISATION if department is None else department.pk
    points = run_points(runs, node)
    trend: list[dict[str, Any]] = []
    participation: list[dict[str, Any]] = []
    heatmap: dict[str, Any] = {"run": None, "columns": [], "rows": []}
    for index, run in enumerate(runs):
        point = points[run.pk]
        label = f"{run.program.name} #{run.sequence}"
        # A hidden group's figures are all None (TeamFigures); one not in the run has none.
        figures = point.figures
        trend.append(
            {
                "run": run.pk,
                "label": label,
                "closes_on": run.closes_on,
                "shown": figures.shown,
                "respondents": figures.respondents,
                "engagement_index": figures.engagement_index,
                "enps": figures.enps,
            }
        )
        counts = point.participation
        participation.append(
            {
                "run": run.pk,
                "label": label,
                "shown": counts is not None,
                **(counts or {"invited": None, "responded": None, "rate": None}),
            }
        )
        if index == len(runs) - 1 and point.present:
            heatmap = _heatmap(viewer, run_summaries([run])[run.pk], node, label)
    return {"trend": trend, "participation": participation, "heatmap": heatmap}


def _heatmap(viewer: Viewer, snapshot: Any, node: Any, label: str) -> dict[str, Any]:
    """The surveys heatmap of the teams one level below the department (each row its whole
    subtree; choosing a row's team as the department drills down), as values per driver column.

    Only drivers some shown team has a figure for become columns (the engagement index has its
    own column), so a department of hidden teams shows no empty grid.
    """
    # The drivers the run measured, HR's own included, read from figures already computed.
    present: set[str] = set()
    for row_node in [node, *snapshot.next_level(node)]:
        present.update(group_figures(snapshot, row_node).favourable)
    drivers = [
        d for d in survey_drivers.ordered(present) if d not in (Driver.ENGAGEMENT, Driver.ENPS)
    ]
    heatmap = team_heatmap(viewer, snapshot, Group(SUBTREE, node), drivers, one_level=True)
    columns = [
        d for d in drivers if any(row["cells"].get(d) is not None for row in heatmap["rows"])
    ]
    rows = []
    for row in heatmap["rows"]:
        cells = row.pop("cells")
        row.pop("enps", None)
        rows.append({**row, "values": [cells.get(driver) for driver in columns]})
    return {
        "run": label,
        "columns": [c for c in heatmap["columns"] if c["driver"] in columns],
        "rows": rows,
    }


def _summed(cells: QuerySet, column: str) -> Subquery:
    """The sum of a rollup column over `cells` (a queryset on OuterRef), as a subquery."""
    return Subquery(
        cells.order_by().values(column).annotate(total=Func(column, function="SUM")).values("total")
    )


def _recognition(department: Team | None, since: dt.date, now: dt.datetime) -> dict[str, Any]:
    people = Employee.objects.filter(is_active=True)
    if department is not None:
        people = people.filter(team__path__startswith=department.path)
    counts = people.aggregate(
        active=Count("pk"),
        **{
            f"last_{days}": Count(
                "pk",
                filter=Q(last_recognition__recognised_at__gte=now - dt.timedelta(days=days)),
            )
            for days in REACH_DAYS
        },
    )
    active = counts["active"]
    reach = [
        {
            "days": days,
            "recognised": counts[f"last_{days}"],
            "active": active,
            "share": stats.share(counts[f"last_{days}"], active),
        }
        for days in REACH_DAYS
    ]
    # Values and flow from the daily rollups of the department's node (RecognitionDay and
    # RecognitionValueDay count each recognition once per node, reversed ones left out).
    node = department.path if department is not None else ORGANISATION_NODE
    in_period = RecognitionValueDay.objects.filter(
        value=OuterRef("pk"), node_path=node, day__gte=since
    )
    values = (
        CompanyValue.objects.annotate(count=Coalesce(_summed(in_period, "recognitions"), 0))
        .filter(Q(is_active=True) | Q(count__gt=0))
        .order_by("-count", "name")
    )
    flow = RecognitionDay.objects.filter(node_path=node, day__gte=since).aggregate(
        total=Coalesce(Sum("recognitions"), 0), cross_team=Coalesce(Sum("cross_team"), 0)
    )
    return {
        "total": flow["total"],
        "cross_team": flow["cross_team"],
        "cross_team_share": stats.share(flow["cross_team"], flow["total"]),
        "reach": reach,
        "values": [{"id": value.pk, "name": value.name, "count": value.count} for value in values],
    }


def _exceptions(department: Team | None, since: dt.date, today: dt.date) -> dict[str, Any]:
    node = department.path if department is not None else ORGANISATION_NODE
    sums = ExceptionDay.objects.filter(node_path=node, day__gte=since, day__lte=today).aggregate(
        logged=Coalesce(Sum("logged"), 0),
        approved=Coalesce(Sum("approved"), 0),
        approved_cost=Sum("approved_cost"),
    )
    cost = sums["approved_cost"] or Decimal(0)
    return {
        "logged": sums["logged"],
        "approved": sums["approved"],
        "approved_cost": Decimal(cost).quantize(Decimal("0.01")),
        "currency": settings.CXC_RECOGNITION_CURRENCY,
    }


def _leaders(department: Team | None, since: dt.date) -> list[dict[str, Any]]:
    """Each manager in scope: recognitions given in the period, actions owned and done."""
    teams = Team.objects.filter(is_active=True)
    if department is not None:
        teams = teams.filter(path__startswith=department.path)
    # Actions counted as in follow-through: the scope's (a department's and its teams'; the
    # organisation's: all), dropped ones not at all.
    owned_in_scope = ~Q(owned_actions__status=Action.Status.DROPPED)
    if department is not None:
        owned_in_scope &= Q(owned_actions__team__path__startswith=department.path)
    given = RecognitionGiverDay.objects.filter(giver=OuterRef("pk"), day__gte=since)
    order = ("user__last_name", "user__first_name", "id")
    # The first MAX_LEADERS by name, chosen in a subquery before their figures are summed: the
    # sums of every manager of the organisation (a thousand) were computed to show fifty.
    shown = (
        Employee.objects.filter(is_active=True, pk__in=teams.values("managers"))
        .order_by(*order)
        .values("pk")[:MAX_LEADERS]
    )
    leaders = (
        Employee.objects.filter(pk__in=shown)
        .annotate(
            given=Coalesce(_summed(given, "recognitions"), 0),
            owned=Count("owned_actions", filter=owned_in_scope, distinct=True),
            done=Count(
                "owned_actions",
                filter=owned_in_scope & Q(owned_actions__status=Action.Status.DONE),
                distinct=True,
            ),
        )
        .select_related("user")
        .order_by(*order)
    )
    return [
        {
            "id": leader.pk,
            "name": leader.display_name,
            "recognitions_given": leader.given,
            "actions_owned": leader.owned,
            "actions_done": leader.done,
        }
        for leader in leaders
    ]


def _linkage(viewer: Viewer) -> dict[str, Any]:
    data = linkage_for(viewer, {}, every_metric=False)
    link = data["linkage"]
    return {
        "run": data["run"]["id"] if data["run"] else None,
        "metric": data["metric"]["label"] if data["metric"] else None,
        "n": link["n"] if link else 0,
        "shown": bool(link and link["shown"]),
        "r": link["pearson"]["r"] if link and link["shown"] else None,
        "ci_low": link["pearson"]["ci_low"] if link and link["shown"] else None,
        "ci_high": link["pearson"]["ci_high"] if link and link["shown"] else None,
        "p": link["pearson"]["p"] if link and link["shown"] else None,
        "engagement": data["engagement"]["label"],
        "summary": data["summary"],
    }


def _my_work(viewer: Viewer, today: dt.date) -> dict[str, Any] | None:
    """What waits for the viewer themselves, whatever department the dashboard shows: open
    actions they answer for, exceptions waiting for their review, and people they lead who were
    not recognised lately. Managers see their subtrees; HR admins the organisation (they review
    every exception); executives the organisation's actions and reach, and no review queue
    (they do not review exceptions). Six queries, whatever the data size."""
    if not (viewer.is_manager or viewer.sees_whole_organisation):
        return None
    actions = open_actions_to_lead(viewer)
    open_count = actions.count()
    reviewer = viewer.is_manager or viewer.is_hr_admin
    queue = exception_review_queue(viewer) if reviewer else None
    missed = not_recognised_lately(viewer)
    return {
        "actions": {
            "count": open_count,
            "items": [
                {
                    "id": action.pk,
                    "title": action.title,
                    "status": action.status,
                    "status_label": action.get_status_display(),
                    "due_on": action.due_on,
                    "overdue": action.due_on < today,
                    "team": action.team.name if action.team else None,
                    "owner": action.owner.display_name,
                }
                for action in actions[:MY_ACTIONS]
            ],
        },
        "exceptions": (
            {
                "count": queue.count(),
                "items": [
                    {
                        "id": exception.pk,
                        "employee": exception.employee.display_name,
                        "team": exception.employee.team.name if exception.employee.team else None,
                        "policy": exception.policy.name,
                        "occurred_on": exception.occurred_on,
                        "cost": exception.cost,
                        "currency": exception.currency,
                    }
                    for exception in queue[:MY_EXCEPTIONS]
                ],
            }
            if queue is not None
            else None
        ),
        "not_recognised": {
            "days": settings.CXC_RECOGNITION_NOT_RECOGNISED_DAYS,
            "count": missed.count(),
            "first_names": [
                person.user.first_name or person.display_name
                for person in missed[:NOT_RECOGNISED_NAMES]
            ],
        },
    }


def _figures_cache_key(viewer: Viewer, department: Team | None, months: int, today: dt.date) -> str:
    """Viewers who see the same teams see the same figures: the organisation, or one set of
    subtrees (hashed, since a manager may lead many)."""
    scope = "org" if viewer.sees_whole_organisation else ",".join(sorted(viewer.managed_paths))
    digest = hashlib.sha256(scope.encode()).hexdigest()[:16]
    where = department.pk if department is not None else "org"
    return f"insights:culture:v{FIGURES_CACHE_VERSION}:{digest}:{where}:{months}:{today}"


def _figures(
    viewer: Viewer, department: Team | None, months: int, today: dt.date
) -> dict[str, Any]:
    """Every figure of the dashboard that depends on the scope and period, not on who asks."""
    since = _since(today, months)
    return {
        **_survey_side(viewer, department, since, today),
        "recognition": _recognition(department, since, timezone.now()),
        "exceptions": _exceptions(department, since, today),
        "leaders": _leaders(department, since),
        "linkage": _linkage(viewer),
        # Each point of the customer trends is a whole calendar month (this one so far), not
        # the first month's last days only.
        "outcomes": outcome_monthly_trends(
            viewer, team=department, start=since.replace(day=1), end=today
        ),
        "follow_through": follow_through(today=today, team=department),
        "computed_at": timezone.now(),
    }


def culture_figures_refresh(
    viewer: Viewer, department: Team | None, months: int, today: dt.date
) -> dict[str, Any]:
    """Compute the figures of the viewer's scope and keep them (shown as they are for
    STALE_LIFETIMES lifetimes, recomputed after each)."""
    figures = _figures(viewer, department, months, today)
    lifetime = settings.CXC_DASHBOARD_CACHE_SECONDS
    key = _figures_cache_key(viewer, department, months, today)
    cache.set(key, figures, lifetime * STALE_LIFETIMES)
    return figures


def _refresh_in_background(
    viewer: Viewer, department: Team | None, months: int, key: str, lifetime: int
) -> None:
    """Ask a worker to recompute stale figures, once per scope and lifetime however many
    people look meanwhile (the figures are the same for everyone in the scope)."""
    from .tasks import culture_figures_refresh_task  # tasks import this module

    if viewer.user_id is None or not cache.add(f"{key}:refreshing", 1, lifetime):
        return
    culture_figures_refresh_task.delay(
        viewer.user_id, department.pk if department is not None else None, months
    )


def culture_dashboard(viewer: Viewer, params: Mapping[str, Any]) -> dict[str, Any]:
    """The dashboard for the organisation (HR, executives) or a department in the viewer's
    subtrees (managers), over the last 3, 6 or 12 months.

    The figures aggregate a year of answers, recognitions and outcomes, so they are kept for
    `CXC_DASHBOARD_CACHE_SECONDS` per scope, department, period and day (the page says when
    they were computed); older ones are shown while a worker recomputes them, so only the first
    look at a scope that day, or after STALE_LIFETIMES lifetimes unseen, waits for them. What
    waits for the viewer themselves is read fresh on every request.
    """
    _require(viewer)
    choices = departments_for(viewer)
    department = _department(viewer, params.get("department"), choices)
    if department is not None and department not in choices:  # a team drilled down to
        choices = _tree_order([*choices, department])
    months = _months(params.get("months"))
    today = timezone.localdate()
    lifetime = settings.CXC_DASHBOARD_CACHE_SECONDS
    if lifetime > 0:
        key = _figures_cache_key(viewer, department, months, today)
        figures = cache.get(key)
        if figures is None:
            figures = culture_figures_refresh(viewer, department, months, today)
        elif timezone.now() - figures["computed_at"] > dt.timedelta(seconds=lifetime):
            _refresh_in_background(viewer, department, months, key, lifetime)
    else:
        figures = _figures(viewer, department, months, today)
    return {
        "department": (
            {"id": department.pk, "name": department.name} if department is not None else None
        ),
        "departments": [{"id": team.pk, "name": team.name, "path": team.path} for team in choices],
        "whole_organisation": department is None,
        "months": months,
        "since": _since(today, months),
        "until": today,
        **figures,
        "my_work": _my_work(viewer, today),
    }
