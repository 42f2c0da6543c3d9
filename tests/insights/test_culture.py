"""The culture dashboard: survey trend through the anonymity gate, participation, heatmap,
recognition reach and values, exceptions, and who may see which department."""

import datetime as dt
import random
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cxculture.insights import culture
from cxculture.people.models import Employee
from cxculture.people.permissions import viewer_for
from recognition import services as recognition_services
from tests.factories.people import CompanyValueFactory, EmployeeFactory, TeamFactory
from tests.factories.recognition import give, log_exception
from tests.insights.conftest import make_teams, survey

CULTURE = "/api/v1/insights/culture/"
# Measured on empty caches, the same at both sizes: the viewer, departments, runs, the closed
# runs' stored summaries (three queries: the trend's rows of every run in the period, the
# heatmap's run whole, and which teams follow-through's runs show), reach, values, exceptions,
# leaders, linkage and follow-through (two runs here), and what waits for the viewer (open
# actions, review queue, not recognised: a count and a page each), and the customer outcome
# trends (metrics, one GROUP BY of the rollups). Closed runs store their figures when they
# close, so no run is read here.
CULTURE_QUERIES = 30
TODAY = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def april():
    with time_machine.travel(TODAY, tick=False):
        yield


def _get(api, person, **params):
    response = api.as_(person).get(CULTURE, params)
    assert response.status_code == 200, response.content
    return response.json()


def _results(api, person, run, **params):
    response = api.as_(person).get(f"/api/v1/survey-runs/{run.pk}/results/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_trend_shows_each_closed_run_as_the_survey_results_show_it(api, hr_admin, org):
    teams = make_teams(org["root"], [5, 5, 6])
    first = survey(teams, [5, 3, 1])
    second = survey(teams, [2, 4, 6])

    data = _get(api, hr_admin)

    assert [point["run"] for point in data["trend"]] == [first.pk, second.pk]
    for point, run in zip(data["trend"], [first, second], strict=True):
        results = _results(api, hr_admin, run)
        assert point["shown"] is True
        assert point["engagement_index"] == results["engagement_index"]["score"]
        assert point["enps"] == (results["enps"]["score"] if results["enps"] else None)
        assert point["respondents"] == results["respondents"] == 16
    # 9 of 16 is 56.25%: shown whole on 16 answers, as on the results page
    assert data["trend"][0]["engagement_index"] == 56
    assert data["whole_organisation"] is True


def test_a_department_trend_matches_the_subtree_results(api, executive, org):
    teams = make_teams(org["sales"], [5, 5])
    run = survey(teams, [5, 1])

    data = _get(api, executive, department=org["sales"].pk)

    results = _results(api, executive, run, subtree=org["sales"].pk)
    assert data["department"] == {"id": org["sales"].pk, "name": "Sales"}
    assert data["trend"][0]["engagement_index"] == results["engagement_index"]["score"] == 60.0
    assert data["trend"][0]["respondents"] == 10


def test_a_department_under_the_threshold_shows_no_figure(api, hr_admin, org):
    big = make_teams(org["support"], [6, 6], prefix="Big")
    small = make_teams(org["sales"], [3], prefix="Small")
    survey([*big, *small], [6, 3, 3])

    data = _get(api, hr_admin, department=small[0].pk)

    (point,) = data["trend"]
    assert point["shown"] is False
    assert point["engagement_index"] is None and point["enps"] is None
    assert point["respondents"] is None
    (participation,) = data["participation"]
    assert participation["invited"] is None and participation["rate"] is None


def test_participation_counts_invited_and_responded_people(api, hr_admin, org):
    teams = make_teams(org["sales"], [5, 5])
    run = survey(teams, [5, 5])

    data = _get(api, hr_admin, department=org["sales"].pk)

    (row,) = data["participation"]
    assert row["run"] == run.pk
    # Each team has one member who does not answer (see `survey`).
    assert (row["invited"], row["responded"], row["rate"]) == (12, 10, 83)


def test_the_heatmap_lists_the_teams_of_the_latest_run_with_hidden_ones_blank(api, hr_admin, org):
    teams = make_teams(org["sales"], [7, 5, 2])
    survey(teams, [7, 0, 2])

    data = _get(api, hr_admin, department=org["sales"].pk)

    rows = {row["name"]: row for row in data["heatmap"]["rows"]}
    assert rows["Desk 1"]["engagement_index"] == 100.0
    assert rows["Desk 1"]["respondents"] == 7
    # Desk 3 is under the threshold; Desk 2 is hidden with it so neither can be subtracted.
    for name in ("Desk 2", "Desk 3"):
        assert rows[name]["shown"] is False and rows[name]["engagement_index"] is None
        assert rows[name]["respondents"] is None
        assert all(value is None for value in rows[name]["values"])


def test_the_heatmap_goes_one_level_down_and_a_row_drills_into_its_department(
    api, client, hr_admin, org
):
    care = make_teams(org["support"], [6, 6], prefix="Care")
    field = make_teams(org["sales"], [6], prefix="Field")
    survey([*care, *field], [6, 3, 6])

    whole = _get(api, hr_admin)
    # The company is the one root: its departments are the rows, each counting everyone below.
    assert [(row["name"], row["respondents"]) for row in whole["heatmap"]["rows"]] == [
        ("Sales", 6),
        ("Support", 12),
    ]
    assert whole["heatmap"]["rows"][1]["engagement_index"] == 75.0
    support = _get(api, hr_admin, department=org["support"].pk)
    assert [(row["name"], row["engagement_index"]) for row in support["heatmap"]["rows"]] == [
        ("Care 1", 100.0),
        ("Care 2", 50.0),
    ]
    # A team with no teams below it is its own one row.
    desk = _get(api, hr_admin, department=care[0].pk)
    assert [row["name"] for row in desk["heatmap"]["rows"]] == ["Care 1"]
    client.force_login(hr_admin.user)
    page = client.get("/insights/culture/").content.decode()
    assert f'href="/insights/culture/?department={org["support"].pk}&amp;months=12"' in page


def test_reach_is_the_share_of_active_people_recognised_lately(api, hr_admin, org):
    people = make_teams(org["support"], [4], prefix="Reach")[0]
    staff = list(Employee.objects.filter(team=people).order_by("id"))
    giver, lately, earlier, never = staff
    value = CompanyValueFactory(name="Ownership")
    give(giver, [lately], values=[value])
    with time_machine.travel(TODAY - dt.timedelta(days=60), tick=False):
        give(giver, [earlier], values=[value])
    from_sales = make_teams(org["sales"], [1], prefix="Giver")[0]
    give(Employee.objects.get(team=from_sales), [lately], values=[value])
    reversed_one = give(giver, [never], values=[value])
    recognition_services.recognition_reverse(
        recognition=reversed_one, by=hr_admin.user, reason="Given twice by mistake."
    )
    active = Employee.objects.filter(is_active=True, team__path__startswith=people.path).count()

    data = _get(api, hr_admin, department=people.pk)

    reach = {row["days"]: row for row in data["recognition"]["reach"]}
    assert active == 4
    assert (reach[30]["recognised"], reach[30]["active"], reach[30]["share"]) == (1, 4, 25.0)
    assert (reach[90]["recognised"], reach[90]["share"]) == (2, 50.0)
    values = {row["name"]: row["count"] for row in data["recognition"]["values"]}
    assert values["Ownership"] == 3
    recognition = data["recognition"]
    assert (recognition["total"], recognition["cross_team"]) == (3, 1)
    assert recognition["cross_team_share"] == pytest.approx(33.33)


def test_exceptions_show_the_approved_cost_next_to_the_count(api, hr_admin, manager, org):
    staff = make_teams(org["support_a"], [1], prefix="Desk")[0]
    person = Employee.objects.get(team=staff)
    approved = log_exception(person, cost=Decimal("30.00"))
    log_exception(person, cost=Decimal("99.00"))
    recognition_services.exception_review(
        exception=approved, viewer=viewer_for(manager.user), decision="approved", note="Right."
    )

    data = _get(api, hr_admin, department=org["support"].pk)

    assert data["exceptions"] == {
        "logged": 2,
        "approved": 1,
        "approved_cost": "30.00",
        "currency": "GBP",
    }


def test_a_manager_sees_their_subtree_and_no_other_department(api, manager, employee, org):
    give(manager, [employee])
    data = _get(api, manager)

    assert data["department"]["id"] == org["support"].pk
    # The picker lists departments (Support A and B have no teams below them); a team in the
    # manager's subtree is still reachable by drilling down, one outside it is not.
    assert [team["name"] for team in data["departments"]] == ["Support"]
    drilled = _get(api, manager, department=org["support_a"].pk)
    assert drilled["department"] == {"id": org["support_a"].pk, "name": "Support A"}
    assert [team["name"] for team in drilled["departments"]] == ["Support", "Support A"]
    assert [(row["name"], row["recognitions_given"]) for row in data["leaders"]] == [
        (manager.display_name, 1)
    ]
    response = api.as_(manager).get(CULTURE, {"department": org["sales"].pk})
    assert response.status_code == 400
    assert "department" in response.json()["error"]["fields"]


def test_the_leaders_table_shows_the_first_managers_by_name_with_their_own_figures(
    api, hr_admin, employee, org, monkeypatch
):
    teams = make_teams(org["root"], [1, 1, 1, 1])
    leads = [
        EmployeeFactory(first_name="Lea", last_name=last, team=team, manages=[team])
        for last, team in zip(["Dee", "Bee", "Cee", "Aye"], teams, strict=True)
    ]
    for count, lead in zip([1, 2, 3, 4], leads, strict=True):
        for _ in range(count):
            give(lead, [employee])
    every = _get(api, hr_admin)["leaders"]
    monkeypatch.setattr(culture, "MAX_LEADERS", 2)

    first = _get(api, hr_admin)["leaders"]

    assert [row["name"] for row in every[:3]] == ["Lea Aye", "Lea Bee", "Lea Cee"]
    assert [row["recognitions_given"] for row in every[:3]] == [4, 2, 3]
    assert first == every[:2]


def test_the_period_must_be_3_6_or_12_months(api, hr_admin, org):
    response = api.as_(hr_admin).get(CULTURE, {"months": 5})

    assert response.status_code == 400
    assert "months" in str(response.json()["error"])


def test_a_run_older_than_the_period_is_left_out(api, hr_admin, org):
    teams = make_teams(org["root"], [5])
    survey(teams, [5])  # closed 8 March 2026, 24 days before "today"

    assert len(_get(api, hr_admin, months=3)["trend"]) == 1
    with time_machine.travel(TODAY + dt.timedelta(days=120), tick=False):
        assert _get(api, hr_admin, months=3)["trend"] == []
        assert len(_get(api, hr_admin, months=6)["trend"]) == 1


def test_the_page_shows_the_tables_and_the_chart_data(client, executive, org):
    teams = make_teams(org["root"], [5, 5])
    survey(teams, [5, 3])
    client.force_login(executive.user)

    response = client.get("/insights/culture/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="trend-table"' in html and 'data-chart="chart-trend"' in html
    assert 'data-field="engagement_index">80<' in html
    assert "<script>" not in html.replace('<script type="application/json"', "")


def test_an_employee_may_not_open_the_dashboard_page(client, employee):
    client.force_login(employee.user)

    assert client.get("/insights/culture/").status_code == 403


# --- Bounded queries ---------------------------------------------------------------------------


def _culture_world(org, teams: int, recognitions: int) -> list:
    made = make_teams(org["root"], [5] * teams, prefix=f"Size{teams}")
    survey(made, [(i % 5) + 1 for i in range(teams)])
    survey(made, [5 - (i % 5) for i in range(teams)])
    people = list(Employee.objects.filter(team__in=made).order_by("id"))
    for index in range(recognitions):
        give(people[index % len(people)], [people[(index + 1) % len(people)]])
    for person in people[:recognitions]:
        log_exception(person, cost=Decimal("5.00"))
    return made


def _queries(api, person, params) -> int:
    client = api.as_(person)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CULTURE, params)
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.mark.parametrize(("teams", "recognitions"), [(3, 2), (12, 20)])
def test_the_dashboard_costs_the_same_queries_at_two_data_sizes(
    api, hr_admin, org, teams, recognitions
):
    _culture_world(org, teams, recognitions)

    count = _queries(api, hr_admin, {})

    assert count == CULTURE_QUERIES


def test_a_manager_opens_the_page_for_their_subtree_without_an_organisation_choice(
    client, manager, org
):
    client.force_login(manager.user)

    response = client.get("/insights/culture/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "The whole organisation" not in html
    assert f'<option value="{org["support"].pk}" selected>Support</option>' in html
    assert f'value="{org["sales"].pk}"' not in html


def test_a_bad_filter_on_the_page_says_why_and_shows_the_default(client, executive, org):
    client.force_login(executive.user)

    response = client.get("/insights/culture/", {"months": "7"})

    assert response.status_code == 400
    assert "Choose 3, 6 or 12 months." in response.content.decode()


def test_on_the_seeded_demo_the_year_trend_shows_every_closed_run(client, executive, org):
    from cxculture.management.seeding.people import DemoOrg
    from cxculture.management.seeding.surveys import seed_surveys
    from tests.factories.people import EmployeeFactory, TeamFactory

    today = TODAY.date()
    department = TeamFactory(name="Service", parent=org["root"])
    teams, employees = [], []
    for number in range(6):
        team = TeamFactory(name=f"Service desk {number}", parent=department)
        teams.append(team)
        employees += [
            EmployeeFactory(team=team, hire_date=today - dt.timedelta(days=200 + 90 * n))
            for n in range(8)
        ]
    seed_surveys(
        DemoOrg(
            root=org["root"],
            departments=[department],
            teams=teams,
            employees=employees,
            managers={},
            hr_admin=executive,
            executive=executive,
            values=[],
            policies=[],
            today=today,
            rng=random.Random(5),
            team_health={team.pk: 0.4 + 0.1 * n for n, team in enumerate(teams)},
            team_trend={team.pk: 0.0 for team in teams},
        )
    )
    client.force_login(executive.user)

    data = client.get("/insights/culture/", {"department": department.pk}).context["data"]

    assert len(data["trend"]) >= 2
    assert all(point["shown"] and point["engagement_index"] is not None for point in data["trend"])
    assert all(row["shown"] and row["rate"] is not None for row in data["participation"])
    assert {row["name"] for row in data["heatmap"]["rows"]} >= {"Service desk 0", "Service desk 5"}


def test_the_department_choice_has_one_entry_for_the_organisation(client, hr_admin, org):
    client.force_login(hr_admin.user)

    html = client.get("/insights/culture/").content.decode()

    select = re.search(r'<select name="department".*?</select>', html, re.S).group(0)
    assert re.findall(r"<option[^>]*>([^<]*)</option>", select) == [
        "The whole organisation",
        "Support",
    ]


def test_a_second_top_level_team_keeps_the_first_in_the_department_choice(api, hr_admin, org):
    board = TeamFactory(name="Board", external_id="BOARD")

    data = _get(api, hr_admin)

    assert [team["name"] for team in data["departments"]] == ["Company", "Support"]
    assert board.pk not in [team["id"] for team in data["departments"]]


def test_sister_departments_are_offered_by_name_whatever_their_ids(api, hr_admin, org):
    # Ordered by path, sisters follow their ids as text: "/1/12/" before "/1/9/".
    zeta = TeamFactory(name="Zeta operations", external_id="ZETA", parent=org["root"])
    TeamFactory(name="Zeta north", external_id="ZETA-N", parent=zeta)
    alpha = TeamFactory(name="Alpha operations", external_id="ALPHA", parent=org["root"])
    TeamFactory(name="Alpha north", external_id="ALPHA-N", parent=alpha)

    data = _get(api, hr_admin)

    assert [team["name"] for team in data["departments"]] == [
        "Alpha operations",
        "Support",
        "Zeta operations",
    ]
