"""The create form's owner: the scope's people only, the right default, and a search."""

import re

import pytest

from cxculture.actions.forms import OWNER_CHOICES_SHOWN
from cxculture.actions.models import Action
from cxculture.people.models import Employee
from tests.factories.people import EmployeeFactory

# Signing in and the form's lists (teams, runs, policies, HR's own drivers, the owners shown): the
# same at any number of people, the owner list capped and searched rather than listing everyone.
FORM_QUERIES = 7


def _owner_list(html: str) -> str:
    match = re.search(r'<select name="owner"[^>]*id="id_owner"[^>]*>(.*?)</select>', html, re.S)
    assert match, "no owner list on the page"
    return match.group(1)


def _options(html: str) -> list[str]:
    return _labels(_owner_list(html))


def _labels(html: str) -> list[str]:
    return [label.strip() for label in re.findall(r'<option value="\d+"[^>]*>([^<]*)<', html)]


def _selected(html: str) -> str | None:
    if "<select" in html:
        html = _owner_list(html)
    found = re.search(r'<option value="\d+" selected>([^<]*)<', html)
    return found.group(1).strip() if found else None


def test_the_owner_list_holds_only_the_teams_people_and_its_managers(client, cast, org):
    client.force_login(cast["manager"].user)

    page = client.get(f"/actions/new/?team={org['support_a'].pk}").content.decode()

    assert sorted(_options(page)) == [
        "Erin Employee — Support A",
        "Maya Manager — Support",
        "Tom Teammate — Support A",
    ]


def test_a_manager_of_the_scope_owns_a_new_action_by_default(client, cast, org):
    client.force_login(cast["manager"].user)

    page = client.get(f"/actions/new/?team={org['support_b'].pk}").content.decode()

    assert _selected(page) == "Maya Manager — Support"


def test_a_manager_without_a_team_chosen_starts_on_a_team_they_lead(client, cast, org):
    client.force_login(cast["manager"].user)

    page = client.get("/actions/new/").content.decode()

    assert re.search(rf'<option value="{org["support"].pk}" selected>Support<', page)
    assert "Sam Sales — Sales" not in _options(page)
    assert _selected(page) == "Maya Manager — Support"


def test_hr_committing_for_a_team_gets_the_teams_manager_as_default_owner(client, cast, org):
    client.force_login(cast["hr_admin"].user)

    page = client.get(f"/actions/new/?team={org['support_a'].pk}").content.decode()

    assert _selected(page) == "Maya Manager — Support"
    assert "Hana HR — Company" not in _options(page)


def test_an_executive_owns_an_organisation_action_by_default(client, cast, org):
    client.force_login(cast["executive"].user)

    page = client.get("/actions/new/").content.decode()

    assert _selected(page) == "Eddie Exec — Company"
    assert len(_options(page)) == Employee.objects.filter(is_active=True).count()


def test_the_owner_search_finds_people_in_the_scope_only(client, cast, org):
    EmployeeFactory(first_name="Tomas", last_name="Other", team=org["sales"])
    client.force_login(cast["manager"].user)

    found = client.get(
        "/actions/new/owners/", {"team": org["support_a"].pk, "owner_q": "tom"}
    ).content.decode()
    nobody = client.get(
        "/actions/new/owners/", {"team": org["support_a"].pk, "owner_q": "zzz"}
    ).content.decode()
    elsewhere = client.get("/actions/new/owners/", {"team": org["sales"].pk, "owner_q": "tom"})

    assert _labels(found) == ["Tom Teammate — Support A"]
    assert _selected(found) == "Tom Teammate — Support A"
    assert "Nobody in this scope matches “zzz”" in nobody
    assert elsewhere.status_code == 404


def test_the_owner_search_works_without_javascript(client, cast, org):
    client.force_login(cast["manager"].user)

    page = client.post(
        "/actions/new/",
        {
            "team": org["support_a"].pk,
            "owner_q": "erin",
            "title": "Weekly shout-outs",
            "source_kind": "other",
            "find": "1",
        },
    ).content.decode()

    assert _options(page)[-1] == "Erin Employee — Support A"
    assert "Tom Teammate — Support A" not in _options(page)
    assert 'value="Weekly shout-outs"' in page
    assert not Action.objects.exists()


def test_employees_cannot_search_owners(client, cast):
    client.force_login(cast["employee"].user)

    assert client.get("/actions/new/owners/").status_code == 403


@pytest.mark.parametrize("people", [5, 150])
def test_the_create_form_costs_the_same_queries_and_lists_at_most_100_owners(
    client, cast, org, django_assert_num_queries, people
):
    for _ in range(people):
        EmployeeFactory(team=org["sales"])
    client.force_login(cast["executive"].user)
    client.get("/actions/new/")  # warm the session and the viewer

    with django_assert_num_queries(FORM_QUERIES):
        page = client.get("/actions/new/").content.decode()

    assert len(_options(page)) == min(OWNER_CHOICES_SHOWN, Employee.objects.count())
