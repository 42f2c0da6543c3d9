"""Customer outcomes over time for everyone: the culture dashboard (organisation, department,
team) and the home page show CSAT, NPS, FCR, complaint rate and churn per month with n, as a
chart and as a table, read from the daily rollups in a fixed number of queries."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories.people import TeamFactory
from tests.insights.conftest import make_teams, outcomes
from tests.insights.test_culture import CULTURE_QUERIES
from tests.insights.test_home import HOME_QUERIES

CULTURE = "/api/v1/insights/culture/"
TODAY = dt.datetime(2026, 4, 15, 12, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def april():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def history(org):
    """Support A: CSAT 4 twice in February, 2 in March; Sales: CSAT 1 in March; FCR and churn."""
    outcomes(
        [
            ("csat", org["support_a"], 4.0, "2026-02-10T12:00:00Z"),
            ("csat", org["support_a"], 4.0, "2026-02-11T12:00:00Z"),
            ("csat", org["support_a"], 2.0, "2026-03-05T12:00:00Z"),
            ("fcr", org["support_a"], 1.0, "2026-03-05T12:00:00Z"),
            ("fcr", org["support_b"], 0.0, "2026-03-06T12:00:00Z"),
            ("csat", org["sales"], 1.0, "2026-03-07T12:00:00Z"),
            ("churn", org["sales"], 1.0, "2026-03-07T12:00:00Z"),
        ]
    )


def _trend(data, code):
    trend = next(t for t in data["outcomes"] if t["code"] == code)
    return {p["month"]: (p["value"], p["n"]) for p in trend["points"]}


def test_the_organisation_dashboard_shows_each_metric_per_month_with_n(api, hr_admin, history):
    data = api.as_(hr_admin).get(CULTURE, {"months": 3}).json()

    assert [t["code"] for t in data["outcomes"]] == ["csat", "nps", "fcr", "complaint", "churn"]
    assert _trend(data, "csat")["2026-02-01"] == (4.0, 2)
    assert _trend(data, "csat")["2026-03-01"] == (1.5, 2)
    assert _trend(data, "fcr")["2026-03-01"] == (50.0, 2)
    assert _trend(data, "churn")["2026-03-01"] == (100.0, 1)
    assert _trend(data, "nps")["2026-03-01"] == (None, 0)


def test_a_department_and_a_team_show_only_their_own_outcomes(api, hr_admin, manager, org, history):
    support = api.as_(manager).get(CULTURE, {"department": org["support"].pk}).json()
    team = api.as_(hr_admin).get(CULTURE, {"department": org["support_b"].pk}).json()

    assert _trend(support, "csat")["2026-03-01"] == (2.0, 1)
    assert _trend(support, "fcr")["2026-03-01"] == (50.0, 2)
    assert _trend(support, "churn")["2026-03-01"] == (None, 0)  # Sales' churn is not theirs
    assert _trend(team, "fcr")["2026-03-01"] == (0.0, 1)
    assert _trend(team, "csat")["2026-03-01"] == (None, 0)


def test_the_dashboard_page_draws_each_metric_with_a_table_of_the_same_figures(
    client, executive, history
):
    client.force_login(executive.user)

    page = client.get("/insights/culture/", {"months": 3}).content.decode()

    assert '<canvas data-chart="chart-outcome-csat"' in page
    assert '<script id="chart-outcome-csat" type="application/json">' in page
    assert '<table id="outcomes-table">' in page
    assert '<td data-metric="csat" data-month="2026-02">4.00 <small>(n = 2)</small></td>' in page
    assert '<td data-metric="churn" data-month="2026-03">100.00 <small>(n = 1)</small></td>' in page


def test_a_managers_home_shows_their_teams_outcomes(client, manager, history):
    client.force_login(manager.user)

    response = client.get("/")

    trends = {t["code"]: t for t in response.context["outcomes"]["trends"]}
    march = {p["month"]: p for p in trends["fcr"]["points"]}[dt.date(2026, 3, 1)]
    assert (march["value"], march["n"]) == (50.0, 2)
    page = response.content.decode()
    assert "Customer outcomes of your teams" in page
    assert '<canvas data-chart="chart-outcome-fcr"' in page
    assert '<td data-metric="fcr" data-month="2026-03">50.00 <small>(n = 2)</small></td>' in page


def test_an_employees_home_shows_their_own_teams_outcomes_only(client, employee, history):
    client.force_login(employee.user)

    trends = {t["code"]: t for t in client.get("/").context["outcomes"]["trends"]}

    fcr = {p["month"]: (p["value"], p["n"]) for p in trends["fcr"]["points"]}
    assert fcr[dt.date(2026, 3, 1)] == (100.0, 1)  # Support A only


# --- Bounded queries ---------------------------------------------------------------------------


def _world(org, *, teams: int, records_per_team: int) -> None:
    made = make_teams(TeamFactory(parent=org["support"]), [1] * teams, prefix=f"S{teams}")
    rows = []
    for index, team in enumerate(made):
        for n in range(records_per_team):
            day = dt.date(2025, 11, 1) + dt.timedelta(days=(index + n * 7) % 160)
            for code, value in (("csat", 1 + n % 5), ("nps", n % 11), ("fcr", n % 2)):
                rows.append((code, team, float(value), f"{day}T12:00:00Z"))
    outcomes(rows)


def _count(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries)


def test_outcome_trends_cost_the_same_queries_at_two_sizes(api, client, manager, org):
    client.force_login(manager.user)
    api_client = api.as_(manager)
    department = {"department": org["support"].pk}

    _world(org, teams=2, records_per_team=3)
    _count(client, "/"), _count(api_client, CULTURE, department)  # warm the per-process caches
    small = (_count(client, "/"), _count(api_client, CULTURE, department))
    _world(org, teams=20, records_per_team=30)
    big = (_count(client, "/"), _count(api_client, CULTURE, department))

    assert small == big
    assert big[0] <= HOME_QUERIES + 2 and big[1] <= CULTURE_QUERIES + 2  # the trends: two reads


def test_the_first_month_of_the_trend_is_the_whole_month(api, hr_admin, org):
    # Three months back from 15 April is 14 January: January's point still counts 5 January.
    outcomes(
        [
            ("csat", org["support_a"], 5.0, "2026-01-05T12:00:00Z"),
            ("csat", org["support_a"], 3.0, "2026-01-20T12:00:00Z"),
        ]
    )

    data = api.as_(hr_admin).get(CULTURE, {"months": 3}).json()

    assert _trend(data, "csat")["2026-01-01"] == (4.0, 2)
