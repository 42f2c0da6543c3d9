"""Every write of actions: create, change (a status change appends to the timeline in the same
transaction), post updates, follow, and the two beat jobs (prompts after a run closes, reminders
of overdue actions), each claimed in the database so that running them twice sends nothing twice.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage, mailers
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from cxculture.lib.emails import absolute_url
from cxculture.lib.errors import DomainError
from cxculture.people.models import Employee, Policy, Team
from cxculture.people.permissions import Viewer
from surveys import drivers
from surveys.models import Question, SurveyRun

from . import selectors
from .models import (
    DESCRIPTION_MAX_LENGTH,
    DROP_REASON_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    SOURCE_LABEL_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Action,
    ActionPrompt,
    ActionUpdate,
)
from .permissions import may_change, may_create_for, path_ids

Status = Action.Status
Source = Action.SourceKind

DUE_YEARS_AHEAD = 3
OWNER_OUTSIDE_SCOPE = (
    "Choose an owner in the action's scope: someone in the team (or below it) or one of its "
    "managers."
)


def _check_length(value: str, *, field: str, limit: int) -> None:
    if len(value) > limit:
        raise DomainError(f"Write at most {limit} characters here.", field=field)


def _check_owner(owner: Employee, team: Team | None) -> None:
    if not owner.is_active:
        raise DomainError("The owner must be an active employee.", field="owner")
    if not selectors.owners_for_scope(team).filter(pk=owner.pk).exists():
        raise DomainError(OWNER_OUTSIDE_SCOPE, field="owner")


def due_on_bounds(*, today: dt.date, made_on: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The earliest and latest due dates: from today (or, for an action made earlier, from the
    day it was made) up to three years from today."""
    try:
        latest = today.replace(year=today.year + DUE_YEARS_AHEAD)
    except ValueError:  # 29 February
        latest = today.replace(year=today.year + DUE_YEARS_AHEAD, day=28)
    return (made_on if made_on is not None else today), latest


def _check_due_on(due_on: dt.date, *, made_on: dt.date | None = None) -> None:
    earliest, latest = due_on_bounds(today=timezone.localdate(), made_on=made_on)
    if due_on < earliest:
        if made_on is None:
            raise DomainError("The due date cannot be before today.", field="due_on")
        raise DomainError(
            f"The due date cannot be before the action was made ({made_on:%-d %b %Y}).",
            field="due_on",
        )
    if due_on > latest:
        raise DomainError(
            f"Choose a due date within {DUE_YEARS_AHEAD} years (by {latest:%-d %b %Y}).",
            field="due_on",
        )


def _check_source(
    *,
    source_kind: str,
    run: SurveyRun | None,
    driver: str,
    question: Question | None,
    policy: Policy | None,
    source_label: str,
) -> None:
    if source_kind not in Source.values:
        raise DomainError("Choose where this action comes from.", field="source_kind")
    if source_kind in (Source.SURVEY_DRIVER, Source.SURVEY_QUESTION):
        if run is None:
            raise DomainError("Choose the survey run it answers.", field="source_run")
        if run.status != SurveyRun.Status.CLOSED:
            raise DomainError("Actions answer the results of a closed run.", field="source_run")
    if source_kind == Source.SURVEY_DRIVER:
        if not driver:
            raise DomainError("Choose the driver it answers.", field="source_driver")
        if not drivers.is_active_driver(driver):
            raise DomainError(
                f"There is no driver {driver!r}: choose a built-in driver or one of yours.",
                field="source_driver",
            )
    if source_kind == Source.SURVEY_QUESTION and question is None:
        raise DomainError("Choose the question it answers.", field="source_question")
    if source_kind == Source.POLICY and policy is None:
        raise DomainError("Choose the policy it is about.", field="source_policy")
    if source_kind == Source.INSIGHT and not source_label.strip():
        raise DomainError("Say which insight it answers.", field="source_label")


@transaction.atomic
def action_create(
    *,
    by: Viewer,
    title: str,
    owner: Employee,
    due_on: dt.date,
    description: str = "",
    source_kind: str = Source.OTHER,
    source_run: SurveyRun | None = None,
    source_driver: str = "",
    source_question: Question | None = None,
    source_policy: Policy | None = None,
    source_label: str = "",
    team: Team | None = None,
) -> Action:
    """Commit an action for a team (or the organisation when `team` is None)."""
    if not may_create_for(by, team):
        raise PermissionDenied("You may not commit actions for this scope.")
    if not title.strip():
        raise DomainError("Give the action a title.", field="title")
    _check_length(title.strip(), field="title", limit=TITLE_MAX_LENGTH)
    _check_length(description.strip(), field="description", limit=DESCRIPTION_MAX_LENGTH)
    _check_length(source_label.strip(), field="source_label", limit=SOURCE_LABEL_MAX_LENGTH)
    if team is not None and not team.is_active:
        raise DomainError("This team is no longer active.", field="team")
    _check_owner(owner, team)
    _check_due_on(due_on)
    _check_source(
        source_kind=source_kind,
        run=source_run,
        driver=source_driver,
        question=source_question,
        policy=source_policy,
        source_label=source_label,
    )
    keep_run = source_kind in (Source.SURVEY_DRIVER, Source.SURVEY_QUESTION)
    action = Action.objects.create(
        title=title.strip(),
        description=description.strip(),
        source_kind=source_kind,
        source_run=source_run if keep_run else None,
        source_driver=source_driver if source_kind == Source.SURVEY_DRIVER else "",
        source_question=source_question if source_kind == Source.SURVEY_QUESTION else None,
        source_policy=source_policy if source_kind == Source.POLICY else None,
        source_label=source_label.strip(),
        team=team,
        owner=owner,
        due_on=due_on,
        created_by=by.employee,
    )
    ActionUpdate.objects.create(
        action=action,
        author=by.employee,
        text="Committed to this action.",
        status_to=Status.PLANNED,
    )
    followers = {owner.pk} | ({by.employee.pk} if by.employee else set())
    action.followers.add(*followers)
    return action


def _apply_status(
    action: Action, *, status: str, drop_reason: str, now: dt.datetime
) -> tuple[str, str]:
    if status not in Status.values:
        raise DomainError("Choose a valid status.", field="status")
    if status == Status.DROPPED and not drop_reason.strip():
        raise DomainError("Say why the action is dropped.", field="drop_reason")
    _check_length(drop_reason.strip(), field="drop_reason", limit=DROP_REASON_MAX_LENGTH)
    old = action.status
    action.status = status
    action.drop_reason = drop_reason.strip() if status == Status.DROPPED else ""
    action.completed_at = now if status == Status.DONE else None
    return old, status


@transaction.atomic
def action_update(
    *,
    by: Viewer,
    action: Action,
    note: str = "",
    status: str | None = None,
    drop_reason: str = "",
    **changes: Any,
) -> Action:
    """Change an action's fields and/or status; a status change, a new due date or a note
    appends one entry to the timeline in the same transaction. Locks the action row.
    """
    action = Action.objects.select_for_update().get(pk=action.pk)
    if not may_change(by, action):
        raise PermissionDenied("You may not change this action.")
    allowed = {"title", "description", "owner", "due_on"}
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(f"{sorted(unknown)[0]} cannot be changed.", field=sorted(unknown)[0])
    _check_length(note.strip(), field="note", limit=NOTE_MAX_LENGTH)
    texts = [note.strip()] if note.strip() else []
    if "title" in changes:
        if not str(changes["title"]).strip():
            raise DomainError("Give the action a title.", field="title")
        _check_length(str(changes["title"]).strip(), field="title", limit=TITLE_MAX_LENGTH)
        action.title = str(changes["title"]).strip()
    if "description" in changes:
        description = str(changes["description"]).strip()
        _check_length(description, field="description", limit=DESCRIPTION_MAX_LENGTH)
        action.description = description
    if "owner" in changes and changes["owner"].pk != action.owner_id:
        owner: Employee = changes["owner"]
        _check_owner(owner, action.team)
        action.owner = owner
        action.followers.add(owner)
        texts.append(f"Owner is now {owner.display_name}.")
    if "due_on" in changes and changes["due_on"] != action.due_on:
        new_due: dt.date = changes["due_on"]
        _check_due_on(new_due, made_on=timezone.localdate(action.created_at))
        texts.append(f"Due date moved from {action.due_on:%-d %b %Y} to {new_due:%-d %b %Y}.")
        action.due_on = changes["due_on"]
    status_from = status_to = ""
    if status is not None and status != action.status:
        status_from, status_to = _apply_status(
            action, status=status, drop_reason=drop_reason, now=timezone.now()
        )
        if status_to == Status.DROPPED:
            texts.append(f"Dropped: {action.drop_reason}")
    elif status == Status.DROPPED and drop_reason.strip():
        _check_length(drop_reason.strip(), field="drop_reason", limit=DROP_REASON_MAX_LENGTH)
        action.drop_reason = drop_reason.strip()
    action.save()
    if texts or status_to:
        ActionUpdate.objects.create(
            action=action,
            author=by.employee,
            text="\n".join(texts),
            status_from=status_from,
            status_to=status_to,
        )
    return action


def action_update_post(
    *, by: Viewer, action: Action, text: str = "", status: str | None = None, drop_reason: str = ""
) -> ActionUpdate:
    """Post to the timeline: a note, a status change, or both (one entry)."""
    if not text.strip() and (status is None or status == action.status):
        raise DomainError("Write an update or change the status.", field="text")
    _check_length(text.strip(), field="text", limit=NOTE_MAX_LENGTH)
    with transaction.atomic():
        action = action_update(
            by=by, action=action, note=text, status=status, drop_reason=drop_reason
        )
        return ActionUpdate.objects.filter(action=action).order_by("-id").first()  # type: ignore[return-value]


@transaction.atomic
def action_follow(*, by: Viewer, action: Action, follow: bool = True) -> None:
    if by.employee is None:
        raise PermissionDenied("Only employees follow actions.")
    if follow:
        action.followers.add(by.employee)
    else:
        action.followers.remove(by.employee)


# --- Beat jobs -----------------------------------------------------------------------------


def _email(template: str, context: dict[str, Any], to: str) -> EmailMessage:
    subject = render_to_string(f"emails/actions/{template}_subject.txt", context)
    body = render_to_string(f"emails/actions/{template}.txt", context)
    return EmailMessage(" ".join(subject.split()), body, to=[to])


def action_prompts_send(*, today: dt.date | None = None) -> int:
    """Ask each manager whose team has reportable results in a recently closed run, and no
    action from that run yet, to commit one: an email and a prompt on their pages, once.

    The prompt row is the claim (unique per run and manager): it is inserted before the email
    and removed again if sending fails, so a retry sends it and a second pass never does.
    """
    today = today or timezone.localdate()
    window = settings.CXC_ACTION_PROMPT_DAYS
    runs = list(
        SurveyRun.objects.filter(
            status=SurveyRun.Status.CLOSED,
            closes_on__gte=today - dt.timedelta(days=window),
            closes_on__lte=today,
        )
        .select_related("program")
        .order_by("closes_on", "id")
    )
    if not runs:
        return 0
    # Every active team, shallowest first; a manager is asked about the top team with
    # reportable results in the subtrees they lead (their own team may be hidden by the gate
    # while a team below it is shown).
    teams = list(Team.objects.filter(is_active=True).order_by("depth", "path"))
    leads: dict[int, list[Employee]] = {}
    led_paths: dict[int, list[str]] = {}
    for team in Team.objects.filter(is_active=True, managers__isnull=False).prefetch_related(
        "managers__user"
    ):
        leads[team.pk] = [manager for manager in team.managers.all() if manager.is_active]
        for manager in leads[team.pk]:
            led_paths.setdefault(manager.pk, []).append(team.path)
    book = selectors.ScoreBook()
    sent = 0
    for run in runs:
        asked = set(ActionPrompt.objects.filter(run=run).values_list("manager_id", flat=True))
        acted_paths = list(
            Action.objects.filter(source_run=run, team__isnull=False)
            .exclude(status=Action.Status.DROPPED)
            .values_list("team__path", flat=True)
        )
        for team in teams:
            managers = [m for above in path_ids(team.path) for m in leads.get(above, [])]
            if not managers or not book.reportable(run, team.pk):
                continue
            if any(path.startswith(team.path) for path in acted_paths):
                continue
            for manager in managers:
                if manager.pk in asked:
                    continue
                asked.add(manager.pk)
                if any(
                    path.startswith(mine) for path in acted_paths for mine in led_paths[manager.pk]
                ):
                    continue  # they acted on this run somewhere in the teams they lead
                sent += _prompt_one(run=run, manager=manager, team=team, today=today)
    return sent


def _prompt_one(*, run: SurveyRun, manager: Employee, team: Team, today: dt.date) -> int:
    try:
        with transaction.atomic():
            prompt = ActionPrompt.objects.create(
                run=run,
                manager=manager,
                team=team,
                sent_on=today,
                expires_on=today + dt.timedelta(days=settings.CXC_ACTION_PROMPT_DAYS),
            )
    except IntegrityError:
        return 0  # another worker claimed it
    if not manager.email:
        return 0
    context = {
        "first_name": manager.user.first_name,
        "team": team.name,
        "program": run.program.name,
        "closes_on": run.closes_on,
        "expires_on": prompt.expires_on,
        "link": absolute_url(reverse("actions:create") + f"?run={run.pk}&team={team.pk}"),
        "results_link": absolute_url(reverse("surveys:run-results", args=[run.pk])),
    }
    try:
        with mailers.default as backend:
            backend.send_messages([_email("prompt", context, manager.email)])
    except Exception:
        ActionPrompt.objects.filter(pk=prompt.pk).delete()
        raise
    return 1


def overdue_actions(today: dt.date) -> QuerySet[Action]:
    """Open actions past their due date whose owner was not reminded since it passed."""
    return Action.objects.filter(
        Q(reminded_on__isnull=True) | Q(reminded_on__lte=F("due_on")),
        status__in=Action.OPEN_STATUSES,
        due_on__lt=today,
    )


def actions_remind_overdue(*, today: dt.date | None = None) -> int:
    """Remind each owner once per action and overdue period (a later due date starts a new one).

    Each reminder is claimed with a conditional update of `reminded_on`.
    """
    today = today or timezone.localdate()
    sent = 0
    for action in overdue_actions(today).select_related("owner__user", "team"):
        claimed = overdue_actions(today).filter(pk=action.pk).update(reminded_on=today)
        if claimed != 1 or not action.owner.email:
            continue
        context = {
            "first_name": action.owner.user.first_name,
            "title": action.title,
            "due_on": action.due_on,
            "days": (today - action.due_on).days,
            "scope": action.team.name if action.team else "the whole organisation",
            "link": absolute_url(reverse("actions:detail", args=[action.pk])),
        }
        try:
            with mailers.default as backend:
                backend.send_messages([_email("overdue", context, action.owner.email)])
        except Exception:
            Action.objects.filter(pk=action.pk).update(reminded_on=action.reminded_on)
            raise
        sent += 1
    return sent
