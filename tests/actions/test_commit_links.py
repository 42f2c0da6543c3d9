"""The survey results page offers "Commit an action" on each driver to those who may commit one
for the group shown, prefilled with the run, the driver and the team, and marks weak drivers."""

import datetime as dt
import re

import pytest

from cxculture.actions.templatetags.commit_actions import weak_drivers
from tests.factories.actions import closed_run, pulse_program, recognition_answers
from tests.factories.people import EmployeeFactory

MARCH = dt.date(2026, 3, 2)


@pytest.fixture
def run(org, cast):
    for _ in range(5):  # one of Support A does not answer: 100% is then nobody's certain answer
        EmployeeFactory(team=org["support_a"])
    # Engagement 100%, recognition 25% favourable (3 of 12 answers).
    return closed_run(
        pulse_program(),
        MARCH,
        {org["support_a"]: recognition_answers([4, 5, 2, 2, 1, 3], [4, 2, 2, 2, 2, 2])},
    )


def _page(client, person, run, **params) -> str:
    client.force_login(person.user)
    response = client.get(f"/surveys/runs/{run.pk}/results/", params)
    assert response.status_code == 200
    return response.content.decode()


def _links(page: str) -> list[str]:
    return re.findall(r'<a class="commit-action" href="([^"]+)"', page)


def test_a_manager_gets_a_prefilled_link_per_driver_of_their_team(client, cast, org, run):
    page = _page(client, cast["manager"], run, subtree=org["support_a"].pk)

    team = org["support_a"].pk
    assert _links(page) == [
        f"/actions/new/?run={run.pk}&amp;driver=engagement&amp;team={team}",
        f"/actions/new/?run={run.pk}&amp;driver=recognition&amp;team={team}",
    ]
    weak = re.search(r'<tr data-driver="recognition" class="driver-weak">', page)
    assert weak, "the recognition driver (25% favourable) is marked weak"
    assert '<tr data-driver="engagement">' in page


def test_the_link_opens_the_create_form_with_the_driver_chosen(client, cast, org, run):
    page = _page(client, cast["manager"], run, subtree=org["support_a"].pk)
    link = _links(page)[1].replace("&amp;", "&")

    form = client.get(link).content.decode()

    assert re.search(r'<option value="recognition" selected>Recognition — 25% favourable', form)
    assert re.search(rf'<option value="{org["support_a"].pk}" selected>', form)


def test_an_employee_sees_the_results_without_commit_links(client, cast, run):
    page = _page(client, cast["employee"], run)

    assert 'id="drivers-table"' in page
    assert _links(page) == []
    assert "Commit an action" not in page


def test_hr_commits_for_the_organisation_without_a_team(client, cast, run):
    page = _page(client, cast["hr_admin"], run)

    assert _links(page)[0] == f"/actions/new/?run={run.pk}&amp;driver=engagement"


def test_an_executive_may_commit_for_the_organisation_but_not_for_a_team(client, cast, org, run):
    organisation = _page(client, cast["executive"], run)
    team = _page(client, cast["executive"], run, subtree=org["support_a"].pk)

    assert len(_links(organisation)) == 2
    assert _links(team) == []


def test_weak_drivers_are_the_lowest_and_those_under_60_percent():
    drivers = [
        {"driver": "engagement", "favourable": 40.0},
        {"driver": "recognition", "favourable": 70.0},
        {"driver": "enablement", "favourable": 65.0},
        {"driver": "leadership", "favourable": 90.0},
        {"driver": "growth", "favourable": None},
    ]

    assert weak_drivers(drivers) == {"engagement", "enablement"}
