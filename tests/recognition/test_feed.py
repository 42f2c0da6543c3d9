"""The feed: who sees what, filters, cursor pagination, reactions, and query budgets."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories.people import CompanyValueFactory, EmployeeFactory
from tests.factories.recognition import give
from tests.helpers import grow_organisation, token_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/recognitions/"


def _ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


def test_team_visible_recognitions_stay_with_the_teams_involved_and_their_managers(
    api, cast, employee, teammate, outsider, sales_person, manager, hr_admin, executive
):
    public = give(sales_person, outsider, message="Public thanks")
    private = give(employee, teammate, visibility="team", message="Team thanks")

    sees = {role: set(_ids(api.as_(person).get(URL))) for role, person in cast.items()}

    both, only_public = {public.pk, private.pk}, {public.pk}
    assert sees["employee"] == both
    assert sees["teammate"] == both
    assert sees["manager"] == both  # Support A is in the manager's subtree
    assert sees["hr_admin"] == both  # HR moderates
    assert sees["outsider"] == only_public
    assert sees["sales_person"] == only_public
    assert sees["executive"] == only_public
    assert api.as_(outsider).get(f"{URL}{private.pk}/").status_code == 404


def test_a_receiver_in_another_team_sees_a_team_visible_recognition(api, employee, outsider):
    private = give(employee, outsider, visibility="team")

    assert _ids(api.as_(outsider).get(URL)) == [private.pk]


def test_the_feed_filters_by_team_value_and_person(api, employee, teammate, outsider, org):
    service = CompanyValueFactory(name="Service")
    courage = CompanyValueFactory(name="Courage")
    first = give(employee, teammate, values=[service])
    second = give(teammate, outsider, values=[courage])
    third = give(outsider, employee, values=[service, courage])
    client = api.as_(employee)

    assert _ids(client.get(URL, {"value": service.pk})) == [third.pk, first.pk]
    assert _ids(client.get(URL, {"person": outsider.pk})) == [third.pk, second.pk]
    assert _ids(client.get(URL, {"team": org["support_b"].pk})) == [third.pk, second.pk]
    assert set(_ids(client.get(URL, {"team": org["support"].pk}))) == {
        first.pk,
        second.pk,
        third.pk,
    }
    assert _ids(client.get(URL, {"team": org["sales"].pk})) == []


def test_the_feed_is_cursor_paginated_newest_first(api, employee, teammate):
    made = [give(employee, teammate, message=f"Thanks #{n}").pk for n in range(30)]
    client = api.as_(teammate)

    first = client.get(URL).json()
    second = client.get(first["next"]).json()

    assert [item["id"] for item in first["results"]] == made[::-1][:25]
    assert [item["id"] for item in second["results"]] == made[::-1][25:]
    assert second["next"] is None


def test_reactions_are_counted_per_emoji_with_mine_marked(api, employee, teammate, outsider):
    recognition = give(employee, teammate)
    url = f"{URL}{recognition.pk}/reactions/"

    assert api.as_(teammate).post(url, {"emoji": "🎉"}).status_code == 201
    assert api.as_(teammate).post(url, {"emoji": "🎉"}).status_code == 200  # already there
    api.as_(outsider).post(url, {"emoji": "🎉"})
    api.as_(outsider).post(url, {"emoji": "👏"})
    assert api.as_(outsider).post(url, {"emoji": "💩"}).status_code == 400

    item = api.as_(teammate).get(URL).json()["results"][0]
    assert item["reactions"] == [
        {"emoji": "👏", "count": 1, "mine": False},
        {"emoji": "🎉", "count": 2, "mine": True},
    ]
    removed = api.as_(teammate).delete(f"{url}?emoji=🎉")
    assert removed.json()["reactions"][1] == {"emoji": "🎉", "count": 1, "mine": False}


def _fill(org, cast, count: int) -> None:
    """`count` recognitions with several receivers, values and reactions, some team-only."""
    values = [CompanyValueFactory(), CompanyValueFactory()]
    people = [EmployeeFactory(team=org["support_a"]) for _ in range(4)]
    everyone = [cast["employee"], cast["teammate"], cast["outsider"], *people]
    for number in range(count):
        giver = everyone[number % len(everyone)]
        receivers = [p for p in everyone if p != giver][number % 3 : number % 3 + 2]
        recognition = give(
            giver,
            receivers,
            values=values,
            visibility="team" if number % 4 == 0 else "organisation",
        )
        for person in everyone[:3]:
            from recognition.services import reaction_add

            reaction_add(recognition=recognition, employee=person, emoji="👏")


@pytest.mark.parametrize("role", ["employee", "manager", "hr_admin"])
def test_the_feed_issues_the_same_queries_at_two_sizes(
    role, org, cast, django_assert_max_num_queries, django_assert_num_queries
):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(cast[role])}")
    _fill(org, cast, 3)

    with django_assert_max_num_queries(9) as small:
        response = client.get(URL)
    assert response.status_code == 200
    shown = len(response.json()["results"])

    _fill(org, cast, 30)
    grow_organisation(org, requested_by=cast["hr_admin"].user, syncs=0)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(URL)
    assert len(response.json()["results"]) > shown


@pytest.mark.parametrize("role", ["employee", "manager"])
def test_the_feed_page_issues_the_same_queries_at_two_sizes(
    role, org, cast, django_assert_max_num_queries, django_assert_num_queries
):
    client = Client()
    client.force_login(cast[role].user)
    _fill(org, cast, 3)

    with django_assert_max_num_queries(20) as small:
        response = client.get("/recognition/")
    assert response.status_code == 200
    shown = response.content.decode().count("<article")

    _fill(org, cast, 30)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get("/recognition/")
    assert response.content.decode().count("<article") > shown
