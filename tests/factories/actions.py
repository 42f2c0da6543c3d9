"""Factories and helpers for actions: made through the services, with survey runs whose
results are made by real (anonymous) responses."""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils import timezone

from cxculture.actions import services
from cxculture.actions.models import Action
from cxculture.people.models import Employee, Team
from cxculture.people.permissions import viewer_for
from surveys import services as survey_services
from surveys.models import Invitation, SurveyProgram, SurveyRun
from tests.factories.surveys import ProgramFactory, answer, question

PULSE_QUESTIONS = ("eng-proud", "rec-noticed", "rec-valued")


def pulse_program(**kwargs: Any) -> SurveyProgram:
    """A small pulse (engagement and recognition items), for the whole organisation."""
    return ProgramFactory(questions=[question(code) for code in PULSE_QUESTIONS], **kwargs)


def closed_run(
    program: SurveyProgram,
    opens: dt.date,
    answers: Mapping[Team, Sequence[Mapping[str, int]]],
    *,
    length_days: int = 6,
) -> SurveyRun:
    """Open a run on `opens`, let the first invitees of each team answer, close it.

    `answers` maps a team to one dict of answers per respondent (question codes with
    underscores); invitees beyond those do not answer.
    """
    run = survey_services.survey_run_start_now(program=program, today=opens)
    waiting = {team.path: list(rows) for team, rows in answers.items()}
    for invitation in Invitation.objects.filter(run=run).order_by("id"):
        rows = waiting.get(invitation.team_path)
        if rows:
            answer(invitation, opens, **rows.pop(0))
    return survey_services.survey_run_close(run=run, today=opens + dt.timedelta(days=length_days))


def recognition_answers(noticed: Sequence[int], valued: Sequence[int]) -> list[dict[str, int]]:
    return [
        {"eng_proud": 4, "rec_noticed": n, "rec_valued": v}
        for n, v in zip(noticed, valued, strict=True)
    ]


def make_action(*, by: Employee, **kwargs: Any) -> Action:
    """An action made through the service. A due date already past (an action made when it was
    still ahead, now overdue) is set after the service made it due today, which it accepts."""
    today = timezone.localdate()
    values: dict[str, Any] = {
        "title": "Thank people in the weekly huddle",
        "owner": by,
        "due_on": max(dt.date(2026, 5, 1), today + dt.timedelta(days=60)),
    }
    values.update(kwargs)
    due_on = values["due_on"]
    if due_on < today:
        values["due_on"] = today
    action = services.action_create(by=viewer_for(by.user), **values)
    if due_on < today:
        Action.objects.filter(pk=action.pk).update(due_on=due_on)
        action.due_on = due_on
    return action


def set_status(action: Action, *, by: Employee, status: str, reason: str = "") -> Action:
    return services.action_update(
        by=viewer_for(by.user), action=action, status=status, drop_reason=reason
    )


__all__ = ["closed_run", "make_action", "pulse_program", "recognition_answers", "set_status"]
