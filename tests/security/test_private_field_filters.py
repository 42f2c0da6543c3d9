"""Filters and searches never reveal a private directory field the viewer may not see.

An employee sees colleagues' public card (name, title, team) and their own full record; a
manager sees full records in the subtrees they manage; HR and executives everyone. A filter on
email, location, role family or external id only matches people whose full record the viewer
sees, so nobody can learn a colleague's private field by asking yes/no questions.
"""

import pytest
from django.test import Client

from cxculture.people import services

pytestmark = pytest.mark.django_db

EMPLOYEES = "/api/v1/employees/"


def _names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return sorted(item["name"] for item in response.json()["results"])


@pytest.fixture
def secretive(org, cast):
    """Sam in Sales (outside the manager's subtree) and Tom in Support A (inside it) live in
    places nobody else does."""
    services.employee_update(
        employee=cast["sales_person"], location="Reykjavik", role_family="Retail"
    )
    services.employee_update(employee=cast["teammate"], location="Tromso", role_family="Quality")
    return cast


@pytest.mark.parametrize(
    ("field", "value_of"),
    [
        ("external_id", lambda person: person.external_id),
        ("location", lambda person: person.location),
        ("role_family", lambda person: person.role_family),
    ],
)
def test_an_employee_cannot_find_a_colleague_by_a_private_field(api, secretive, field, value_of):
    client = api.as_(secretive["employee"])

    assert _names(client.get(EMPLOYEES, {field: value_of(secretive["teammate"])})) == []
    assert _names(client.get(EMPLOYEES, {field: value_of(secretive["sales_person"])})) == []


def test_an_employee_can_filter_on_their_own_private_fields(api, secretive):
    employee = secretive["employee"]
    client = api.as_(employee)

    assert _names(client.get(EMPLOYEES, {"external_id": employee.external_id})) == ["Erin Employee"]
    assert _names(client.get(EMPLOYEES, {"location": "Leeds"})) == ["Erin Employee"]


def test_a_manager_filters_on_private_fields_only_in_their_subtree(api, secretive):
    client = api.as_(secretive["manager"])

    assert _names(client.get(EMPLOYEES, {"location": "Tromso"})) == ["Tom Teammate"]
    assert _names(client.get(EMPLOYEES, {"role_family": "Quality"})) == ["Tom Teammate"]
    assert _names(client.get(EMPLOYEES, {"location": "Reykjavik"})) == []
    sales_id = secretive["sales_person"].external_id
    assert _names(client.get(EMPLOYEES, {"external_id": sales_id})) == []


@pytest.mark.parametrize("role", ["hr_admin", "executive"])
def test_hr_and_executives_filter_on_private_fields_of_everyone(api, secretive, role):
    client = api.as_(secretive[role])

    assert _names(client.get(EMPLOYEES, {"location": "Reykjavik"})) == ["Sam Sales"]
    sales_id = secretive["sales_person"].external_id
    assert _names(client.get(EMPLOYEES, {"external_id": sales_id})) == ["Sam Sales"]


def test_an_employee_searching_an_email_finds_only_themselves(api, secretive):
    client = api.as_(secretive["employee"])

    assert _names(client.get(EMPLOYEES, {"search": "@example.com"})) == ["Erin Employee"]
    assert _names(client.get(EMPLOYEES, {"search": secretive["teammate"].user.email})) == []
    # Public fields are still searched on everyone.
    assert _names(client.get(EMPLOYEES, {"search": "Sales"})) == ["Sam Sales"]


def test_a_manager_searching_an_email_finds_only_their_subtree(api, secretive):
    client = api.as_(secretive["manager"])

    assert _names(client.get(EMPLOYEES, {"search": secretive["teammate"].user.email})) == [
        "Tom Teammate"
    ]
    assert _names(client.get(EMPLOYEES, {"search": secretive["sales_person"].user.email})) == []


def test_hr_searching_an_email_finds_anyone(api, secretive):
    client = api.as_(secretive["hr_admin"])

    assert _names(client.get(EMPLOYEES, {"search": secretive["sales_person"].user.email})) == [
        "Sam Sales"
    ]


def _page(person, path: str, params: dict) -> str:
    client = Client()
    client.force_login(person.user)
    response = client.get(path, params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_directory_page_search_does_not_match_a_colleagues_email(secretive):
    sales_person = secretive["sales_person"]
    sales_email = sales_person.user.email

    assert "Sam Sales" not in _page(secretive["employee"], "/people/", {"q": sales_email})
    assert "Sam Sales" in _page(secretive["hr_admin"], "/people/", {"q": sales_email})


def test_the_give_form_search_does_not_match_a_colleagues_email(secretive):
    sales_person = secretive["sales_person"]
    html = _page(secretive["employee"], "/recognition/", {"who": sales_person.user.email})

    assert f'name="receivers" value="{sales_person.pk}"' not in html
    by_name = _page(secretive["employee"], "/recognition/", {"who": "Sam"})
    assert f'name="receivers" value="{sales_person.pk}"' in by_name


def test_an_unknown_email_and_a_hidden_one_answer_the_same(api, secretive):
    client = api.as_(secretive["employee"])
    hidden = client.get(EMPLOYEES, {"search": secretive["sales_person"].user.email}).json()
    unknown = client.get(EMPLOYEES, {"search": "nobody-at-all@example.com"}).json()

    assert hidden == unknown
