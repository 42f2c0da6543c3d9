"""Small teams: a trend over runs and comments pooled from the nearest team that has enough."""

import datetime as dt

import pytest

from surveys import services
from surveys.models import Invitation
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, open_run

PROUD = [5, 4, 2, 5, 4, 1, 5, 3]  # 5 of 8 favourable


@pytest.fixture
def care(org):
    department = TeamFactory(name="Care", parent=org["root"])
    small = TeamFactory(name="Care A", parent=department)  # 10 people
    other = TeamFactory(name="Care B", parent=department)  # 9 people
    lead = EmployeeFactory(first_name="Lea", team=small, manages=[small])
    members = [lead, *(EmployeeFactory(team=small) for _ in range(9))]
    others = [EmployeeFactory(team=other) for _ in range(9)]
    program = ProgramFactory(audience="teams", teams=[small, other])
    return {
        "department": department,
        "small": small,
        "lead": lead,
        "program": program,
        "members": members,
        "others": others,
    }


def survey(care, day, *, small_answers):
    run = open_run(care["program"], day)
    for team, count in ((care["small"], small_answers), (care["others"][0].team, 8)):
        invitations = Invitation.objects.filter(run=run, team_path=team.path).order_by("id")
        for number, invitation in enumerate(invitations[:count]):
            answer(
                invitation,
                day,
                comment=f"{team.name} comment {number}",
                eng_proud=PROUD[number],
                enps=[10, 9, 8, 6, 10, 3, 9, 7][number],
            )
    return services.survey_run_close(run=run, today=day)


def results(api, person, run, **params):
    response = api.as_(person).get(f"/api/v1/survey-runs/{run.pk}/results/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_small_teams_manager_sees_a_trend_over_the_runs_with_hidden_runs_hidden(
    api, client, care, opens
):
    runs = [
        survey(care, opens + dt.timedelta(days=100 * number), small_answers=count)
        for number, count in enumerate([8, 3, 8])
    ]

    data = results(api, care["lead"], runs[-1])

    assert data["group"]["label"] == "Care A"
    trend = data["trend"]
    assert [point["run"] for point in trend] == [run.pk for run in runs]
    assert [point["shown"] for point in trend] == [True, False, True]
    first, hidden, last = trend
    assert (first["respondents"], first["engagement_index"], first["enps"]) == (8, 63, 25)
    assert (hidden["respondents"], hidden["engagement_index"]) == (None, None)
    assert hidden["reason"] == "Hidden to protect anonymity"
    assert last == {**first, "run": runs[-1].pk, "sequence": 3, "closes_on": last["closes_on"]}

    client.force_login(care["lead"].user)
    page = client.get(f"/surveys/runs/{runs[-1].pk}/results/").content.decode()
    assert 'id="trend-table"' in page
    assert page.count('<tr data-run="') == 3
    assert "Hidden to protect anonymity</td>" in page


def test_the_trend_of_an_earlier_run_stops_at_that_run(api, care, opens):
    first = survey(care, opens, small_answers=8)
    survey(care, opens + dt.timedelta(days=100), small_answers=8)

    data = results(api, care["lead"], first)

    assert [point["run"] for point in data["trend"]] == [first.pk]


def test_a_small_team_gets_its_departments_pooled_comments_without_attributes(
    api, client, care, opens
):
    run = survey(care, opens, small_answers=8)

    data = results(api, care["lead"], run)

    comments = data["comments"]
    assert comments["shown"] is True
    assert comments["pooled_from"] == {"team": care["department"].pk, "label": "Care"}
    # Every comment of the department: its 16 respondents, the small team's 8 among them.
    assert len(comments["items"]) == 16
    assert sum(text.startswith("Care A comment") for text in comments["items"]) == 8

    client.force_login(care["lead"].user)
    page = client.get(f"/surveys/runs/{run.pk}/results/").content.decode()
    assert "Comments from Care." in page
    assert "Care B comment 0" in page


def test_a_team_under_k_gets_no_comments_from_anyone(api, care, opens):
    run = survey(care, opens, small_answers=3)

    comments = results(api, care["lead"], run)["comments"]

    assert (comments["shown"], comments["items"], comments["pooled_from"]) == (False, [], None)


def test_a_small_team_with_no_team_above_it_with_enough_responses_gets_no_comments(api, org, opens):
    lone = TeamFactory(name="Lone", parent=org["root"])
    lead = EmployeeFactory(team=lone, manages=[lone])
    others = [EmployeeFactory(team=lone) for _ in range(8)]
    run = open_run(ProgramFactory(audience="teams", teams=[lone]), opens)
    for number, invitation in enumerate(Invitation.objects.filter(run=run).order_by("id")[:8]):
        answer(invitation, opens, comment=f"lone {number}", eng_proud=PROUD[number])
    run = services.survey_run_close(run=run, today=opens)
    assert others

    comments = results(api, lead, run)["comments"]

    assert (comments["shown"], comments["pooled_from"]) == (False, None)


def test_the_small_teams_manager_sees_the_trend_on_the_home_card(client, care, opens):
    for number, count in enumerate([8, 3, 8]):
        survey(care, opens + dt.timedelta(days=100 * number), small_answers=count)

    client.force_login(care["lead"].user)
    page = client.get("/").content.decode()

    card = page[page.index('id="home-results"') :]
    assert 'id="home-trend"' in card
    assert card.count('<li data-run="') == 3
    assert "engagement 63% · eNPS 25 · 8 responses" in card
    assert "Hidden to protect anonymity" in card
