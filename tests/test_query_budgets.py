"""Query budgets: every list endpoint and page issues the same number of queries whatever the size.

Each row is measured twice: on the cast (with one value, policy and directory sync), then after
`grow_organisation` has added 40+ teams, 120 people with managers, values, policies and syncs.
The small size must stay within the row's ceiling and the large size must issue exactly as many
queries as the small one, so an N+1 fails here. Requests authenticate as a real client would (an
API token, a session cookie), so the viewer is built afresh for each request.

To cover a new list endpoint or page, append a `Budget` row.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from rest_framework.test import APIClient

from cxculture.people import services
from cxculture.people.models import DirectorySync
from tests.factories.people import CompanyValueFactory, PolicyFactory
from tests.helpers import grow_organisation, token_for


def _results(response) -> int:
    return len(response.json()["results"])


def _table_rows(response) -> int:
    return response.content.decode().count("<tr>")


def _stat(label: str) -> Callable:
    """The number shown in a home-page card, e.g. "12 people"."""

    def read(response) -> int:
        match = re.search(rf"(\d+) {label}", response.content.decode())
        assert match, f"{label!r} is not on the page"
        return int(match.group(1))

    return read


def _organisation_people(response) -> int:
    match = re.search(
        r'<div class="stat">(\d+)</div>\s*<div class="muted">active people',
        response.content.decode(),
    )
    assert match, "the organisation card is not on the page"
    return int(match.group(1))


def _list_items(response) -> int:
    return response.content.decode().count("<li>")


@dataclass(frozen=True)
class Budget:
    path: str
    role: str
    most: int  # ceiling for the small size; the large size must match the small one exactly
    grows: Callable  # a number read from the response that the larger data must increase
    api: bool = True


BUDGETS = [
    # --- API lists: the token and its user (1), the viewer (3), the count and the page (2) -------
    Budget("/api/v1/teams/", "employee", 7, _results),
    Budget("/api/v1/teams/", "hr_admin", 7, _results),
    Budget("/api/v1/employees/", "employee", 6, _results),
    Budget("/api/v1/employees/", "manager", 6, _results),
    Budget("/api/v1/employees/", "hr_admin", 6, _results),
    Budget("/api/v1/employees/?search=a", "hr_admin", 6, _results),
    Budget("/api/v1/values/", "employee", 6, _results),
    Budget("/api/v1/values/", "hr_admin", 6, _results),
    Budget("/api/v1/policies/", "employee", 6, _results),
    Budget("/api/v1/policies/", "hr_admin", 6, _results),
    Budget("/api/v1/directory-syncs/", "hr_admin", 6, _results),
    # --- Pages: the session and its user (2), the viewer (3), then the page's own reads -------
    Budget("/", "employee", 6, _stat("people"), api=False),
    Budget("/", "manager", 7, _list_items, api=False),
    Budget("/", "hr_admin", 8, _organisation_people, api=False),
    Budget("/", "executive", 8, _organisation_people, api=False),
    Budget("/people/", "employee", 7, _table_rows, api=False),
    Budget("/people/", "manager", 7, _table_rows, api=False),
    Budget("/people/", "hr_admin", 7, _table_rows, api=False),
    Budget("/people/sync/", "hr_admin", 6, _table_rows, api=False),
]


@pytest.fixture
def small(org, cast):
    """The cast with one of everything a list shows, so the small size serializes each kind."""
    CompanyValueFactory(name="Own the outcome")
    PolicyFactory(code="refund-window", owner_team=org["support"])
    services.directory_sync_start(
        kind=DirectorySync.Kind.TEAMS,
        content=b"external_id,name,parent_external_id\nRET,Retention,SAL\n",
        file_name="teams.csv",
        requested_by=cast["hr_admin"].user,
    )
    return cast


def _client_for(budget: Budget, person) -> Client | APIClient:
    if budget.api:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(person)}")
        return client
    client = Client()
    client.force_login(person.user)
    return client


@pytest.mark.parametrize("budget", [pytest.param(b, id=f"{b.path} as {b.role}") for b in BUDGETS])
def test_the_query_count_does_not_grow_with_the_organisation(
    budget, small, org, django_assert_max_num_queries, django_assert_num_queries
):
    person = small[budget.role]
    client = _client_for(budget, person)

    with django_assert_max_num_queries(budget.most) as on_the_cast:
        response = client.get(budget.path)
    assert response.status_code == 200
    small_number = budget.grows(response)

    grow_organisation(org, requested_by=small["hr_admin"].user)
    with django_assert_num_queries(len(on_the_cast.captured_queries)):
        response = client.get(budget.path)

    assert response.status_code == 200
    assert budget.grows(response) > small_number
