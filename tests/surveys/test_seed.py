"""The demo seeder: twenty-four closed fortnightly runs and one open, the latest closed ten days ago
(so managers are prompted to act on it), consistent answers, safe to re-run."""

import datetime as dt
import itertools
import random

import pytest

from cxculture.management.seeding.people import DemoOrg
from cxculture.management.seeding.surveys import seed_surveys
from cxculture.people.permissions import viewer_for
from surveys import results as survey_results
from surveys import services
from surveys.models import Invitation, Response, SealedResponse, SurveyProgram, SurveyRun
from tests.factories.people import EmployeeFactory, TeamFactory


@pytest.fixture
def demo_org(hr_admin, executive, org):
    today = dt.date(2026, 3, 2)
    departments = [TeamFactory(name=f"Dept {n}", parent=org["root"]) for n in range(2)]
    teams, employees = [], []
    for number in range(4):
        team = TeamFactory(name=f"Team {number}", parent=departments[number % 2])
        teams.append(team)
        for _ in range(12):
            employees.append(
                EmployeeFactory(
                    team=team, hire_date=today - dt.timedelta(days=400 * (len(employees) % 5))
                )
            )
    return DemoOrg(
        root=org["root"],
        departments=departments,
        teams=teams,
        employees=employees,
        managers={},
        hr_admin=hr_admin,
        executive=executive,
        values=[],
        policies=[],
        today=today,
        rng=random.Random(7),
        team_health={teams[0].pk: 0.9, teams[1].pk: 0.8, teams[2].pk: 0.35, teams[3].pk: 0.5},
        team_trend={teams[0].pk: 0.0, teams[1].pk: -0.05, teams[2].pk: 0.06, teams[3].pk: 0.0},
    )


def test_it_seeds_a_year_of_fortnightly_history_and_an_open_run(demo_org):
    seed_surveys(demo_org)
    program = SurveyProgram.objects.get()
    assert (program.name, program.cadence) == ("Fortnightly pulse", "biweekly")
    runs = list(SurveyRun.objects.order_by("sequence"))
    assert [run.status for run in runs] == ["closed"] * 24 + ["open"]
    assert runs[-1].opens_on <= demo_org.today <= runs[-1].closes_on
    assert runs[0].opens_on == dt.date(2025, 3, 29)  # 48 weeks before the open run
    assert {(b.opens_on - a.opens_on).days for a, b in itertools.pairwise(runs)} == {14}
    for run in runs:
        assert run.opens_on == services.planned_opening(program, run.sequence)
        assert Invitation.objects.filter(run=run).count() == 48
        assert run.questions.count() == 8
        responded = Invitation.objects.filter(run=run, responded_on__isnull=False).count()
        stored = Response if run.status == "closed" else SealedResponse
        assert stored.objects.filter(run=run).count() == responded
    assert 20 <= Response.objects.filter(run=runs[0]).count() <= 48


def test_the_latest_closed_run_ended_within_the_prompt_window(demo_org):
    seed_surveys(demo_org)

    latest = SurveyRun.objects.filter(status="closed").order_by("-closes_on").first()
    assert demo_org.today - dt.timedelta(days=14) <= latest.closes_on < demo_org.today
    assert latest.closes_on == demo_org.today - dt.timedelta(days=10)


def test_teams_differ_and_move_over_time(demo_org):
    seed_surveys(demo_org)
    viewer = viewer_for(demo_org.hr_admin.user)
    by_run = []
    for run in SurveyRun.objects.filter(status="closed").order_by("sequence"):
        results = survey_results.run_results(viewer, run, survey_results.ResultsQuery())
        rows = {row["name"]: row for row in results["heatmap"]["rows"]}
        by_run.append({name: rows[name]["engagement_index"] for name in ("Team 0", "Team 2")})
    first, last = by_run[0], by_run[-1]
    assert first["Team 0"] is not None and first["Team 2"] is not None
    assert first["Team 0"] > first["Team 2"] + 20  # a healthy team and a struggling one
    assert last["Team 2"] is not None and last["Team 2"] > first["Team 2"]  # improving


def test_it_skips_itself_when_runs_exist(demo_org):
    seed_surveys(demo_org)
    counts = (SurveyRun.objects.count(), Response.objects.count())
    seed_surveys(demo_org)
    assert (SurveyRun.objects.count(), Response.objects.count()) == counts
