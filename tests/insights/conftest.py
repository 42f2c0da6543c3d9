"""Small organisations with a closed survey run and customer outcomes, made through services."""

import datetime as dt
import itertools
from collections.abc import Sequence

import pytest

from cxculture.outcomes.ingest import batches
from cxculture.people.models import Team
from surveys import services as survey_services
from surveys.models import Invitation, Question, SurveyRun
from tests.factories.outcomes import OutcomeSourceFactory, builtin_metrics, record
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, load_question_library, open_run

OPENS = dt.date(2026, 3, 2)
CLOSES = OPENS + dt.timedelta(days=6)  # 8 March 2026
_external = itertools.count(1)


@pytest.fixture(autouse=True)
def libraries(db):
    load_question_library()
    return builtin_metrics()


def make_teams(parent: Team, sizes: Sequence[int], prefix: str = "Desk") -> list[Team]:
    teams = []
    for number, size in enumerate(sizes, start=1):
        team = TeamFactory(name=f"{prefix} {number}", parent=parent)
        for _ in range(size):
            EmployeeFactory(team=team)
        teams.append(team)
    return teams


def survey(
    teams: Sequence[Team],
    favourable: Sequence[int],
    *,
    organisation_wide: bool = True,
    opens: dt.date = OPENS,
) -> SurveyRun:
    """A closed run over `teams` asking the three engagement items; in team i, the first
    `favourable[i]` people agree (4) with everything and the rest disagree (2), so the team's
    engagement index is 100 * favourable / respondents.

    Each team also has one member who is invited and does not answer: a team whose answers are
    all favourable (or none) with everyone answering would have its figures hidden, since they
    would tell each member's answer. The programme is the organisation's survey unless
    `organisation_wide` is false (a small or test programme)."""
    engagement = list(Question.objects.filter(code__in=["eng-proud", "eng-motivated", "eng-stay"]))
    silent = [
        EmployeeFactory._meta.model.objects.filter(external_id=f"silent-{team.pk}").first()
        or EmployeeFactory(team=team, external_id=f"silent-{team.pk}")
        for team in teams
    ]
    program = ProgramFactory(
        audience="teams",
        teams=list(teams),
        questions=engagement,
        is_organisation_wide=organisation_wide,
    )
    run = open_run(program, opens)
    for team, agreeing in zip(teams, favourable, strict=True):
        invitations = (
            Invitation.objects.filter(run=run, team_path=team.path)
            .exclude(employee__in=silent)
            .order_by("id")
        )
        for index, invitation in enumerate(invitations):
            value = 4 if index < agreeing else 2
            answer(invitation, opens, eng_proud=value, eng_motivated=value, eng_stay=value)
    return survey_services.survey_run_close(run=run, today=opens + (CLOSES - OPENS))


def outcomes(rows: Sequence[tuple[str, Team, float, str]]) -> None:
    """(metric code, team, value, ISO time) rows, sent as one batch per 1,000."""
    source = OutcomeSourceFactory()
    records = [
        record(code, value, at, team=team.external_id, external_id=f"x{next(_external)}")
        for code, team, value, at in rows
    ]
    for start in range(0, len(records), 1000):
        batches.outcome_records_ingest(source=source, records=records[start : start + 1000])
