"""The list endpoint and the "you said, we did" pages issue a bounded number of queries,
whatever the number of actions and updates."""

import datetime as dt

import pytest

from tests.factories.actions import (
    closed_run,
    make_action,
    pulse_program,
    recognition_answers,
    set_status,
)

from .conftest import MARCH

LIST_BUDGET = 5
PAGE_BUDGET = 16


@pytest.fixture
def run(clock, org, crowd):
    return closed_run(
        pulse_program(),
        MARCH,
        {
            org["support_a"]: recognition_answers([4, 5, 2, 2, 1, 3], [4, 2, 2, 2, 2, 2]),
            org["support_b"]: recognition_answers([4, 4, 4, 2, 2], [4, 4, 4, 4, 2]),
        },
    )


def _actions(count, *, cast, org, run):
    teams = [org["support_a"], org["support_b"], org["support"]]
    for index in range(count):
        action = make_action(
            by=cast["manager"],
            team=teams[index % 3],
            owner=[cast["employee"], cast["manager"], cast["teammate"]][index % 3],
            source_kind="survey_driver",
            source_run=run,
            source_driver=["recognition", "engagement"][index % 2],
            due_on=dt.date(2026, 4, 1),
        )
        set_status(action, by=cast["manager"], status="in_progress")


@pytest.mark.parametrize("count", [3, 30])
def test_the_list_endpoint_stays_within_its_query_budget(
    api, cast, org, run, count, django_assert_max_num_queries
):
    _actions(count, cast=cast, org=org, run=run)
    client = api.as_(cast["employee"])

    with django_assert_max_num_queries(LIST_BUDGET):
        response = client.get("/api/v1/actions/")

    assert response.status_code == 200
    assert response.json()["count"] == len(range(0, count, 3)) + len(range(2, count, 3))


@pytest.mark.parametrize("count", [3, 30])
def test_the_you_said_we_did_page_stays_within_its_query_budget(
    client, cast, org, run, count, django_assert_max_num_queries
):
    _actions(count, cast=cast, org=org, run=run)
    client.force_login(cast["manager"].user)
    client.get("/")  # sign-in, sessions and the like are not the page's own queries

    with django_assert_max_num_queries(PAGE_BUDGET):
        response = client.get(f"/actions/team/{org['support'].pk}/")

    assert response.status_code == 200
    assert response.content.decode().count("You said: ") == count


@pytest.mark.parametrize("count", [2, 20])
def test_the_organisation_page_stays_within_its_query_budget(
    client, cast, run, count, django_assert_max_num_queries
):
    for _ in range(count):
        make_action(
            by=cast["executive"],
            team=None,
            owner=cast["executive"],
            source_kind="survey_driver",
            source_run=run,
            source_driver="recognition",
        )
    client.force_login(cast["employee"].user)
    client.get("/")

    with django_assert_max_num_queries(PAGE_BUDGET):
        response = client.get("/actions/organisation/")

    assert response.content.decode().count("You said: Recognition was") == count
