"""Organisation views follow the organisation-wide programme(s): a later closed run of a small
or test programme does not replace the organisation's latest results; a team it asked still
sees it as its own latest results."""

import datetime as dt
import importlib

import pytest
import time_machine

from cxculture.actions import selectors as action_selectors
from cxculture.people.permissions import viewer_for
from surveys import results as survey_results
from tests.insights.conftest import OPENS, make_teams, survey

TODAY = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def april():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def runs(org):
    """The organisation's pulse over six desks (8 March), then a test programme asking two of
    them closing later (22 March)."""
    teams = make_teams(org["root"], [5] * 6)
    pulse = survey(teams, [0, 1, 2, 3, 4, 5])
    trial = survey(teams[:2], [5, 5], organisation_wide=False, opens=OPENS + dt.timedelta(days=14))
    return {"pulse": pulse, "trial": trial, "teams": teams}


def test_a_test_programmes_later_run_leaves_the_executive_dashboard_on_the_pulse(
    api, executive, runs
):
    data = api.as_(executive).get("/api/v1/insights/culture/").json()

    assert [point["run"] for point in data["trend"]] == [runs["pulse"].pk]
    assert data["heatmap"]["run"] == f"{runs['pulse'].program.name} #1"


def test_a_test_programmes_later_run_is_not_the_organisations_latest_on_the_home_page(
    client, hr_admin, executive, runs
):
    for person in (hr_admin, executive):
        assert (
            survey_results.latest_closed_run_for_viewer(viewer_for(person.user)) == (runs["pulse"])
        )
        client.force_login(person.user)
        page = client.get("/").content.decode()
        assert f'href="/surveys/runs/{runs["pulse"].pk}/results/"' in page
        assert f'href="/surveys/runs/{runs["trial"].pk}/results/"' not in page


def test_a_team_the_test_programme_asked_still_sees_it_as_its_latest(org, runs):
    member = runs["teams"][0].members.first()

    assert survey_results.latest_closed_run_for_viewer(viewer_for(member.user)) == (runs["trial"])


def test_the_linkage_opens_on_the_pulse_and_still_offers_the_test_run(api, hr_admin, runs):
    data = api.as_(hr_admin).get("/api/v1/insights/linkage/").json()

    assert data["run"]["id"] == runs["pulse"].pk
    assert {r["id"] for r in data["runs"]} == {runs["pulse"].pk, runs["trial"].pk}


def test_the_organisations_follow_through_counts_only_the_pulse(runs):
    lead = runs["teams"][0].members.first()
    runs["teams"][0].managers.add(lead)

    organisation = action_selectors.follow_through(today=dt.date(2026, 4, 30))
    team = action_selectors.follow_through(today=dt.date(2026, 4, 30), team=runs["teams"][0])

    # One led team, shown in both runs, no action: the organisation counts the pulse's result
    # only; the team's own figure counts both runs that asked it.
    assert (organisation["results"], organisation["results_with_action"]) == (1, 0)
    assert (team["results"], team["results_with_action"]) == (2, 0)


def test_hr_marks_a_programme_organisation_wide_in_the_api(api, hr_admin, org):
    made = api.as_(hr_admin).post(
        "/api/v1/surveys/",
        {
            "name": "Trial",
            "starts_on": "2026-05-04",
            "audience": "teams",
            "teams": [org["sales"].pk],
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["is_organisation_wide"] is False  # chosen teams: not by default

    url = f"/api/v1/surveys/{made.json()['id']}/"
    marked = api.as_(hr_admin).patch(url, {"is_organisation_wide": True}, format="json")
    assert marked.status_code == 200, marked.content
    assert marked.json()["is_organisation_wide"] is True
    renamed = api.as_(hr_admin).patch(url, {"name": "Trial 2"}, format="json")
    assert renamed.json()["is_organisation_wide"] is True  # left out: unchanged

    whole = api.as_(hr_admin).post(
        "/api/v1/surveys/", {"name": "Pulse", "starts_on": "2026-05-04"}, format="json"
    )
    assert whole.json()["is_organisation_wide"] is True  # the whole organisation: by default


def test_the_data_migration_marks_programmes_that_ask_the_whole_organisation(org):
    from django.apps import apps

    from tests.factories.surveys import ProgramFactory

    migration = importlib.import_module("surveys.migrations.0008_mark_organisation_wide_programs")
    whole = ProgramFactory(is_organisation_wide=False)
    chosen = ProgramFactory(audience="teams", teams=[org["sales"]])

    migration.mark(apps, None)

    whole.refresh_from_db()
    chosen.refresh_from_db()
    assert (whole.is_organisation_wide, chosen.is_organisation_wide) == (True, False)
