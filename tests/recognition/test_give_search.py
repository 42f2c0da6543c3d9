"""The give form finds colleagues with the directory search instead of listing everyone."""

import pytest
from django.test import Client

from recognition.models import Recognition
from tests.factories.people import EmployeeFactory
from tests.factories.recognition import a_value

pytestmark = pytest.mark.django_db


def _client(person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def _crowd(org, count: int = 30) -> list:
    return [
        EmployeeFactory(team=org["sales"], first_name="Crowd", last_name=f"P{n:02d}")
        for n in range(count)
    ]


def test_the_feed_page_lists_no_colleague_until_one_is_searched(org, employee, teammate):
    _crowd(org)

    page = _client(employee).get("/recognition/").content.decode()

    assert 'name="receivers"' not in page
    assert "Crowd P01" not in page
    assert 'name="who"' in page


def test_searching_without_javascript_offers_the_matches_on_the_page(org, employee, teammate):
    _crowd(org)

    page = _client(employee).get("/recognition/", {"who": "Support A"}).content  # their team
    html = page.decode()

    assert f'name="receivers" value="{teammate.pk}"' in html
    assert "Crowd P01" not in html
    assert f'name="receivers" value="{employee.pk}"' not in html  # nobody recognises themselves


def test_the_htmx_search_returns_at_most_twenty_matches_and_keeps_the_ticked_ones(
    org, employee, teammate
):
    _crowd(org)

    response = _client(employee).get(
        "/recognition/",
        {"who": "Crowd", "receivers": [teammate.pk]},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()

    assert "<html" not in html  # only the choices
    assert html.count('name="receivers"') == 21  # the ticked teammate and 20 matches
    assert f'value="{teammate.pk}" checked' in html


def test_a_colleague_found_by_search_can_be_recognised(org, employee, teammate):
    crowd = _crowd(org, 3)
    client = _client(employee)
    page = client.get("/recognition/", {"who": "P02"}).content.decode()
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]

    client.post(
        "/recognition/give/",
        {
            "idempotency_key": key,
            "receivers": [crowd[2].pk],
            "message": "Thanks for the handover notes",
            "values": [a_value().pk],
            "visibility": "organisation",
        },
    )

    assert list(Recognition.objects.values_list("receivers", flat=True)) == [crowd[2].pk]


@pytest.mark.parametrize("typed", ["Noah Davies", "Davies Noah", "noah dav", "  NOAH   davies "])
def test_the_search_matches_first_and_last_name_in_either_order(org, employee, typed):
    noah = EmployeeFactory(team=org["sales"], first_name="Noah", last_name="Davies")
    EmployeeFactory(team=org["sales"], first_name="Noah", last_name="Smith")

    html = (
        _client(employee)
        .get("/recognition/", {"who": typed}, HTTP_HX_REQUEST="true")
        .content.decode()
    )

    assert f'name="receivers" value="{noah.pk}"' in html
    assert "Noah Smith" not in html


def test_the_search_looks_only_at_public_fields_not_at_email_addresses(org, employee):
    EmployeeFactory(
        team=org["sales"], first_name="Noah", last_name="Davies", email="secret.handle@example.com"
    )

    html = (
        _client(employee)
        .get("/recognition/", {"who": "secret.handle"}, HTTP_HX_REQUEST="true")
        .content.decode()
    )

    assert "Noah Davies" not in html
    assert "Nobody matches" in html
