"""The demo actions: on the weakest drivers of some teams, some done, one overdue, one for the
organisation, and nothing added when the seeder runs again."""

import datetime as dt
import random

import pytest
import time_machine

from cxculture.actions.models import Action, ActionPrompt, ActionUpdate
from cxculture.actions.selectors import ScoreBook
from cxculture.actions.services import action_prompts_send
from cxculture.management.seeding.actions import seed_actions
from cxculture.management.seeding.people import DemoOrg
from cxculture.management.seeding.surveys import seed_surveys
from surveys.models import SurveyRun
from tests.factories.people import EmployeeFactory, TeamFactory

TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def demo_org(hr_admin, executive, org):
    departments = [TeamFactory(name=f"Dept {n}", parent=org["root"]) for n in range(2)]
    teams, employees, managers = [], [], {}
    for number in range(4):
        team = TeamFactory(name=f"Team {number}", parent=departments[number % 2])
        teams.append(team)
        managers[team.pk] = EmployeeFactory(team=team, manages=[team])
        employees += [EmployeeFactory(team=team) for _ in range(12)]
    return DemoOrg(
        root=org["root"],
        departments=departments,
        teams=teams,
        employees=employees,
        managers=managers,
        hr_admin=hr_admin,
        executive=executive,
        values=[],
        policies=[],
        today=TODAY,
        rng=random.Random(1),
        team_health={team.pk: 0.3 + 0.15 * index for index, team in enumerate(teams)},
        team_trend={team.pk: 0.01 for team in teams},
    )


def test_the_seed_makes_actions_with_history_and_is_safe_to_rerun(demo_org):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)):
        seed_surveys(demo_org)
        seed_actions(demo_org)
        count = Action.objects.count()
        seed_actions(demo_org)

    assert Action.objects.count() == count
    team_actions = Action.objects.filter(team__isnull=False)
    # Teams whose results were hidden by the anonymity gate get no action.
    assert 2 <= team_actions.count() <= 4
    book = ScoreBook()
    for action in team_actions.select_related("source_run"):
        assert action.source_run is not None
        scores = book.driver_scores(action.source_run, action.team_id)
        shown = [score for score in scores.values() if score is not None]
        assert scores[action.source_driver] == min(shown)
    assert Action.objects.filter(team__isnull=True).count() == 1
    assert all(action.source_kind == "survey_driver" for action in Action.objects.all())
    assert team_actions.filter(status="done").exists()
    overdue = Action.objects.filter(status__in=["planned", "in_progress"], due_on__lt=TODAY)
    assert overdue.count() == 1
    assert ActionUpdate.objects.filter(status_to="in_progress").count() >= 3
    assert max(a.created_at for a in Action.objects.all()).date() < TODAY


def test_managers_are_prompted_to_act_on_the_latest_seeded_run(demo_org):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)):
        seed_surveys(demo_org)
        seed_actions(demo_org)

        sent = action_prompts_send(today=TODAY)

    latest = SurveyRun.objects.filter(status="closed").order_by("-closes_on").first()
    assert TODAY - latest.closes_on <= dt.timedelta(days=14)
    assert not Action.objects.filter(source_run=latest).exists()
    assert sent >= 1
    assert set(ActionPrompt.objects.values_list("run_id", flat=True)) == {latest.pk}
