"""Reads of actions, scoped to the viewer, and the survey figures they are measured by.

Every survey figure here comes from the surveys results machinery: the run's snapshot, its
anonymity plan (`plan.decide`) and `scores`, so a score is shown only when the same group's
results are reportable on the results pages; no answer is read one by one.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet

from cxculture.lib import stats
from cxculture.lib.anonymity import ORGANISATION, SUBTREE, Group
from cxculture.people.models import Employee, Team
from cxculture.people.permissions import Viewer
from surveys import drivers
from surveys import results as survey_results
from surveys.models import Question, SurveyRun

from .models import Action, ActionPrompt, ActionUpdate
from .permissions import path_ids, visible_q

LATEST_UPDATES = 3


def actions_for_viewer(viewer: Viewer) -> QuerySet[Action]:
    return (
        Action.objects.filter(visible_q(viewer))
        .select_related(
            "team", "owner__user", "source_run__program", "source_question", "source_policy"
        )
        .order_by("-created_at", "-id")
    )


def action_filter(
    actions: QuerySet[Action],
    *,
    team: int | None = None,
    within: Team | None = None,
    status: str | None = None,
    owner: int | None = None,
) -> QuerySet[Action]:
    """`team`: that team's own actions; `within`: the team's and its sub-teams' (the scope
    of its "you said, we did" page and follow-through)."""
    if team is not None:
        actions = actions.filter(team_id=team)
    if within is not None:
        actions = actions.filter(team__path__startswith=within.path)
    if status:
        actions = actions.filter(status=status)
    if owner is not None:
        actions = actions.filter(owner_id=owner)
    return actions


def action_updates(action: Action) -> QuerySet[ActionUpdate]:
    return ActionUpdate.objects.filter(action=action).select_related("author__user")


def is_following(viewer: Viewer, action: Action) -> bool:
    if viewer.employee is None:
        return False
    return action.followers.filter(pk=viewer.employee.pk).exists()


def teams_for_new_action(viewer: Viewer) -> QuerySet[Team]:
    teams = Team.objects.filter(is_active=True).order_by("path")
    if viewer.is_hr_admin:
        return teams
    return teams.filter(viewer.subtree_q())


def owners_for_scope(team: Team | None, *, search: str = "") -> QuerySet[Employee]:
    """Who may own an action of this scope: for a team, the active people in its subtree and
    the managers of the team or of a team above it; for the organisation (None), anyone active.
    The form offers these and the services accept only these. `search` narrows by name,
    e-mail or title."""
    people = Employee.objects.filter(is_active=True).select_related("user", "team")
    if team is not None:
        leads = Employee.objects.filter(managed_teams__in=path_ids(team.path)).values("pk")
        people = people.filter(Q(team__path__startswith=team.path) | Q(pk__in=leads))
    for word in search.split()[:5]:
        people = people.filter(
            Q(user__first_name__icontains=word)
            | Q(user__last_name__icontains=word)
            | Q(user__email__icontains=word)
        )
    return people.order_by("user__first_name", "user__last_name", "id")


def default_owner(viewer: Viewer, team: Team | None) -> Employee | None:
    """The owner a new action starts with: the viewer when they lead the scope (for the
    organisation: when they may commit for it), else the nearest active manager of the team
    or a team above it."""
    me = viewer.employee
    if team is None:
        return me if me is not None and viewer.sees_whole_organisation else None
    leads_it = any(team.path.startswith(path) for path in viewer.managed_paths)
    if me is not None and me.is_active and leads_it:
        return me
    nearest = (
        Team.managers.through.objects.filter(
            team_id__in=path_ids(team.path), employee__is_active=True
        )
        .select_related("employee__user")
        .order_by("-team__depth", "employee_id")
        .first()
    )
    return nearest.employee if nearest is not None else None


def closed_runs() -> QuerySet[SurveyRun]:
    return SurveyRun.objects.filter(status=SurveyRun.Status.CLOSED).select_related("program")


def actions_in_scope(team: Team | None) -> QuerySet[Action]:
    """Every action of a scope, whoever looks: a team's own and its sub-teams'; for the
    organisation (None), all of them. Follow-through counts these."""
    if team is None:
        return Action.objects.all()
    return Action.objects.filter(team__path__startswith=team.path)


def actions_for_team_page(viewer: Viewer, team: Team | None) -> QuerySet[Action]:
    """A "you said, we did" page: the scope's actions (`actions_in_scope`) the viewer sees: a
    team's own and its sub-teams'; the organisation's own and every team's."""
    actions = actions_for_viewer(viewer).prefetch_related(
        Prefetch(
            "updates",
            queryset=ActionUpdate.objects.select_related("author__user").order_by(
                "-created_at", "-id"
            ),
        )
    )
    if team is None:
        return actions
    return actions.filter(team__path__startswith=team.path)


def latest_updates(action: Action) -> list[ActionUpdate]:
    return list(action.updates.all())[:LATEST_UPDATES]


def may_see_team_page(viewer: Viewer, team: Team) -> bool:
    if viewer.sees_whole_organisation:
        return True
    own = viewer.employee.team if viewer.employee else None
    if own is not None and (own.path.startswith(team.path) or team.path.startswith(own.path)):
        return True
    return any(
        team.path.startswith(path) or path.startswith(team.path) for path in viewer.managed_paths
    )


# --- Prompts -----------------------------------------------------------------------------


def prompts_for(viewer: Viewer, today: dt.date) -> QuerySet[ActionPrompt]:
    """The viewer's prompts still waiting: no action from the run for the team, not expired."""
    if viewer.employee is None:
        return ActionPrompt.objects.none()
    acted = Action.objects.filter(
        source_run_id=OuterRef("run_id"),
        team__path__startswith=OuterRef("team__path"),
    ).exclude(status=Action.Status.DROPPED)
    return (
        ActionPrompt.objects.filter(manager=viewer.employee, expires_on__gte=today)
        .exclude(Exists(acted))
        .select_related("run__program", "team")
        .order_by("-sent_on", "-id")
    )


# --- Survey figures through the anonymity gate -------------------------------------------


@dataclass
class ScoreBook:
    """Driver and question scores of teams in closed runs, each run's snapshot read once.

    Every figure goes through the surveys anonymity gate: the run's plan decides whether the
    team is reportable, and each question's own plan whether its figure (and so a driver built
    on it) may be shown, so partial answers cannot be subtracted between teams.
    """

    summaries: dict[int, survey_results.RunSnapshot] = field(default_factory=dict)
    snapshots: dict[int, survey_results.RunSnapshot] = field(default_factory=dict)

    def read(self, runs: Iterable[SurveyRun]) -> None:
        """Read the summaries of several runs at once (one query for all their stamps)."""
        missing = [run for run in runs if run.pk not in self.summaries]
        self.summaries.update(survey_results.run_summaries(missing))

    def snapshot(self, run: SurveyRun) -> survey_results.RunSnapshot:
        """The run's cells, for question figures (team and driver figures need only its
        summary)."""
        if run.pk not in self.snapshots:
            self.snapshots[run.pk] = survey_results.run_snapshot(run, with_invitations=False)
        return self.snapshots[run.pk]

    def _summary(self, run: SurveyRun, team_id: int | None) -> survey_results.RunSnapshot | None:
        """The run's summary, when it is closed and has the team (any team, for None)."""
        if run.status != SurveyRun.Status.CLOSED:
            return None
        self.read([run])
        summary = self.summaries[run.pk]
        if team_id is not None and team_id not in summary.paths:
            return None
        return summary

    def _figures(self, run: SurveyRun, team_id: int | None) -> survey_results.TeamFigures | None:
        """The team's subtree figures (the organisation's for None), when the run's plan shows
        them."""
        summary = self._summary(run, team_id)
        if summary is None:
            return None
        figures = survey_results.group_figures(
            summary, ORGANISATION if team_id is None else team_id
        )
        return figures if figures.shown else None

    def reportable(self, run: SurveyRun, team_id: int | None) -> bool:
        """Whether the run shows the team's subtree figures (without decoding them)."""
        summary = self._summary(run, team_id)
        node = ORGANISATION if team_id is None else team_id
        return summary is not None and survey_results.group_shown(summary, node)

    def driver_scores(self, run: SurveyRun, team_id: int | None) -> dict[str, float | None]:
        figures = self._figures(run, team_id)
        return dict(figures.favourable) if figures is not None else {}

    def driver(self, run: SurveyRun, team_id: int | None, driver: str) -> float | None:
        return self.driver_scores(run, team_id).get(driver)

    def question(self, run: SurveyRun, team_id: int | None, question: Question) -> float | None:
        if self._figures(run, team_id) is None or not question.is_scored:
            return None
        group = Group(SUBTREE, ORGANISATION if team_id is None else team_id)
        snapshot = self.snapshot(run)
        if not snapshot.figure_plan(question).shown(group):
            return None
        tally = snapshot.group_tallies(group).get(question.pk)
        if tally is None or not tally.answered:
            return None
        return stats.share(survey_results.favourable_count(question, tally), tally.answered)


def _percent(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}%"


def source_driver_labels(actions: Iterable[Action]) -> dict[str, str]:
    """The labels of the drivers `actions` answer, HR's own included: one query at most."""
    return drivers.driver_labels_for(a.source_driver for a in actions if a.source_driver)


def source_text(action: Action, book: ScoreBook, labels: dict[str, str] | None = None) -> str:
    """ "You said: Recognition was 48% favourable in March 2026", or the source's label.

    A page of many actions passes `labels` (`source_driver_labels`) so custom drivers cost no
    query each."""
    run = action.source_run
    when = f"{run.opens_on:%B %Y}" if run else ""
    if action.source_kind == Action.SourceKind.SURVEY_DRIVER and run and action.source_driver:
        label = drivers.driver_label(action.source_driver, labels)
        score = book.driver(run, action.team_id, action.source_driver)
        if score is None:
            return f"You said: {label} needed attention in {when}"
        return f"You said: {label} was {_percent(score)} favourable in {when}"
    if action.source_kind == Action.SourceKind.SURVEY_QUESTION and run and action.source_question:
        score = book.question(run, action.team_id, action.source_question)
        text = action.source_question.text
        if score is None:
            return f"You said, about “{text}” in {when}"
        return f"You said: {_percent(score)} agreed that “{text}” in {when}"
    if action.source_kind == Action.SourceKind.POLICY and action.source_policy:
        return f"Policy: {action.source_policy.name}"
    return action.source_label


# --- Follow-through and effect -----------------------------------------------------------


def _next_closed_run(run: SurveyRun, after: dt.date, runs: list[SurveyRun]) -> SurveyRun | None:
    later = [
        other
        for other in runs
        if other.program_id == run.program_id
        and other.sequence > run.sequence
        and other.opens_on >= after
    ]
    return min(later, key=lambda other: other.sequence) if later else None


def effects(actions: list[Action], book: ScoreBook) -> dict[int, dict[str, Any]]:
    """Per action sourced from a survey driver: the team's driver score at the source run and
    at the program's next closed run opened after the action was made — both when reportable.
    """
    sourced = [
        a
        for a in actions
        if a.source_kind == Action.SourceKind.SURVEY_DRIVER and a.source_run and a.source_driver
    ]
    if not sourced:
        return {}
    programs = {a.source_run.program_id for a in sourced if a.source_run}
    runs = list(
        SurveyRun.objects.filter(program_id__in=programs, status=SurveyRun.Status.CLOSED)
        .select_related("program")
        .order_by("sequence")
    )
    labels = source_driver_labels(sourced)
    result: dict[int, dict[str, Any]] = {}
    for action in sourced:
        before_run = action.source_run
        assert before_run is not None  # noqa: S101 - filtered above
        after_run = _next_closed_run(before_run, action.created_at.date(), runs)
        before = book.driver(before_run, action.team_id, action.source_driver)
        after = book.driver(after_run, action.team_id, action.source_driver) if after_run else None
        shown = before is not None and after is not None
        result[action.pk] = {
            "driver": action.source_driver,
            "driver_label": drivers.driver_label(action.source_driver, labels),
            "before_run": before_run.pk,
            "after_run": after_run.pk if after_run and shown else None,
            "before": before if shown else None,
            "after": after if shown else None,
            "change": stats.change(after, before) if shown else None,
        }
    return result


def follow_through(*, today: dt.date, team: Team | None = None) -> dict[str, Any]:
    """Share of reportable team results that got an action within the window, the scope's
    actions by status, and the share of actions done on or before their due date.

    One definition for every page and API that shows follow-through, so each figure is what
    the actions list shows for the same scope (`actions_in_scope`):

    - Scope: a team's own actions and those of every team below it; the organisation's are
      all actions (its own and every team's), whatever their source (a survey run of any
      programme, a policy, anything else).
    - A dropped action is no action: it is counted apart (`actions_dropped`), never among
      `actions`, due or done, and a result whose only actions were dropped has no action (as
      the manager's prompt comes back when its action is dropped).
    - Due: done, or open past its due date (what the list marks overdue); done on time: done
      on or before its due date.

    A team result is a (closed run, team with a manager) pair whose subtree result is
    reportable; it counts once its window has passed or an action was made in it. The last
    `CXC_ACTION_FOLLOW_THROUGH_RUNS` closed runs are looked at (for the organisation, of its
    organisation-wide programmes), so the cost is bounded; their stored summaries send only
    the keys of the groups they show (`shown_subtrees`).
    """
    window = settings.CXC_ACTION_PROMPT_DAYS
    # An imported run's results came out before the product held them: nobody could act on
    # them here, so they are no result left without an action.
    closed = SurveyRun.objects.filter(
        status=SurveyRun.Status.CLOSED, closes_on__lte=today, is_imported=False
    )
    if team is None:
        # The organisation's figure follows its organisation-wide programmes only; a team's
        # own figure counts every run that asked it.
        closed = closed.filter(program__is_organisation_wide=True)
    runs = list(closed.order_by("-closes_on", "-id")[: settings.CXC_ACTION_FOLLOW_THROUGH_RUNS])
    led = Team.objects.filter(is_active=True, managers__isnull=False).distinct()
    if team is not None:
        led = led.filter(path__startswith=team.path)
    led_teams = list(led.values_list("id", "path"))
    acted: dict[int, list[tuple[str, dt.date]]] = defaultdict(list)
    for run_id, path, created_at in (
        Action.objects.filter(source_run__in=[r.pk for r in runs], team__isnull=False)
        .exclude(status=Action.Status.DROPPED)
        .values_list("source_run_id", "team__path", "created_at")
    ):
        acted[run_id].append((path, created_at.date()))
    # Whether each run shows each led team's subtree, from its stored summary.
    shown_by_run = survey_results.shown_subtrees(runs)
    results = with_action = 0
    for run in runs:
        deadline = run.closes_on + dt.timedelta(days=window)
        # A team acted in time when an action of its subtree was made by the deadline: the
        # paths of the teams above (and of) each such action's team.
        acted_below = {
            other[: end + 1]
            for other, made in acted[run.pk]
            if made <= deadline
            for end, char in enumerate(other)
            if char == "/" and end
        }
        shown = shown_by_run.get(run.pk, set())
        for team_id, path in led_teams:
            if team_id not in shown:
                continue
            in_time = path in acted_below
            if today <= deadline and not in_time:
                continue  # still inside its window
            results += 1
            with_action += in_time
    kept = ~Q(status=Action.Status.DROPPED)
    counts = actions_in_scope(team).aggregate(
        planned=Count("id", filter=Q(status=Action.Status.PLANNED)),
        in_progress=Count("id", filter=Q(status=Action.Status.IN_PROGRESS)),
        done=Count("id", filter=Q(status=Action.Status.DONE)),
        dropped=Count("id", filter=Q(status=Action.Status.DROPPED)),
        due=Count("id", filter=kept & (Q(status=Action.Status.DONE) | Q(due_on__lt=today))),
        on_time=Count(
            "id", filter=Q(status=Action.Status.DONE, completed_at__date__lte=F("due_on"))
        ),
    )
    return {
        "window_days": window,
        "results": results,
        "results_with_action": with_action,
        # Rounded to what the count supports, like a survey figure: 1 of 3 is 33%, not 33.33%.
        "results_with_action_share": stats.percent(with_action, results),
        "actions": counts["planned"] + counts["in_progress"] + counts["done"],
        "actions_planned": counts["planned"],
        "actions_in_progress": counts["in_progress"],
        "actions_done": counts["done"],
        "actions_dropped": counts["dropped"],
        "actions_due": counts["due"],
        "actions_done_on_time": counts["on_time"],
        "actions_done_on_time_share": stats.percent(counts["on_time"], counts["due"]),
    }


# --- Home page -----------------------------------------------------------------------------


def open_actions_with_latest_update(viewer: Viewer, *, limit: int) -> list[Action]:
    """The viewer's newest open actions (what `actions_for_viewer` shows them), each with
    `latest_update` (None before the first one): two queries."""
    actions = list(actions_for_viewer(viewer).filter(status__in=Action.OPEN_STATUSES)[:limit])
    latest: dict[int, ActionUpdate] = {}
    if actions:
        updates = (
            ActionUpdate.objects.filter(action__in=[a.pk for a in actions])
            .select_related("author__user")
            .order_by("action_id", "-created_at", "-id")
        )
        for update in updates:
            latest.setdefault(update.action_id, update)
    for action in actions:
        action.latest_update = latest.get(action.pk)  # type: ignore[attr-defined]
    return actions


def open_actions_to_lead(viewer: Viewer) -> QuerySet[Action]:
    """Open actions the viewer answers for: owned by them or scoped to a team in their subtrees;
    HR admins and executives also the organisation's own actions. Soonest due first."""
    if viewer.employee is None and not viewer.sees_whole_organisation:
        return Action.objects.none()
    scope = viewer.subtree_q("team__")
    if viewer.employee is not None:
        scope |= Q(owner_id=viewer.employee.pk)
    if viewer.sees_whole_organisation:
        scope |= Q(team__isnull=True)
    return (
        Action.objects.filter(scope, status__in=Action.OPEN_STATUSES)
        .select_related("team", "owner__user")
        .order_by("due_on", "id")
    )
