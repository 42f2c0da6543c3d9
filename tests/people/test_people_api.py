"""The people API: teams, employees, values and policies, scoped to the viewer."""

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest

from cxculture.people.models import CompanyValue, Employee, Policy, Role, Team
from tests.factories.people import CompanyValueFactory, EmployeeFactory, PolicyFactory

TEAMS = "/api/v1/teams/"
EMPLOYEES = "/api/v1/employees/"
VALUES = "/api/v1/values/"
POLICIES = "/api/v1/policies/"

PUBLIC_FIELDS = {"id", "name", "title", "team", "team_name", "is_front_line", "is_active"}
FULL_FIELDS = PUBLIC_FIELDS | {
    "external_id",
    "first_name",
    "last_name",
    "email",
    "role_family",
    "location",
    "hire_date",
}


def names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [item["name"] for item in response.json()["results"]]


def full_names(response) -> list[str]:
    """The people whose whole record (not just the public card) the viewer gets."""
    assert response.status_code == 200, response.json()
    return [item["name"] for item in response.json()["results"] if "email" in item]


def error_fields(response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"]
    return error["fields"]


# --- Teams -------------------------------------------------------------------------------------


def test_everyone_reads_the_team_tree_with_managers_and_member_counts(api, cast, org):
    response = api.as_(cast["employee"]).get(TEAMS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    by_ext = {item["external_id"]: item for item in body["results"]}
    assert [item["external_id"] for item in body["results"]][:3] == ["ROOT", "SUP", "SUP-A"]
    assert by_ext["SUP"] == {
        "id": org["support"].pk,
        "external_id": "SUP",
        "name": "Support",
        "parent": org["root"].pk,
        "depth": 1,
        "managers": [{"id": cast["manager"].pk, "name": "Maya Manager"}],
        "member_count": 1,
        "is_active": True,
    }
    assert {ext: item["member_count"] for ext, item in by_ext.items()} == {
        "ROOT": 2,
        "SUP": 1,
        "SUP-A": 2,
        "SUP-B": 1,
        "SAL": 1,
    }


def test_a_team_detail_and_the_team_filters(api, cast, org):
    client = api.as_(cast["sales_person"])
    detail = client.get(f"{TEAMS}{org['support_b'].pk}/")
    assert detail.status_code == 200
    assert (detail.json()["name"], detail.json()["depth"]) == ("Support B", 2)
    children = client.get(TEAMS, {"parent": org["support"].pk}).json()["results"]
    assert [item["external_id"] for item in children] == ["SUP-A", "SUP-B"]
    roots = client.get(TEAMS, {"is_root": "true"}).json()["results"]
    assert [item["external_id"] for item in roots] == ["ROOT"]
    by_name = client.get(TEAMS, {"name": "UPPORT"}).json()["results"]
    assert [item["external_id"] for item in by_name] == ["SUP", "SUP-A", "SUP-B"]
    assert client.get(f"{TEAMS}999999/").status_code == 404
    assert api.as_(None).get(TEAMS).status_code == 401


def test_hr_creates_a_team_under_a_parent(api, hr_admin, org):
    response = api.as_(hr_admin).post(
        TEAMS, {"name": "Support C", "external_id": "SUP-C", "parent": org["support"].pk}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["parent"], body["depth"]) == ("Support C", org["support"].pk, 2)
    assert (body["managers"], body["member_count"], body["is_active"]) == ([], 0, True)
    team = Team.objects.get(external_id="SUP-C")
    assert team.path == f"{org['support'].path}{team.pk}/"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "Again", "external_id": "SUP"}, "external_id"),
        ({"external_id": "NEW"}, "name"),
        ({"name": "New"}, "external_id"),
        ({"name": "New", "external_id": "NEW", "parent": 999999}, "parent"),
        ({"name": "x" * 201, "external_id": "NEW"}, "name"),
    ],
)
def test_a_bad_team_is_refused_with_the_field(api, hr_admin, org, payload, field):
    response = api.as_(hr_admin).post(TEAMS, payload)
    assert list(error_fields(response)) == [field]
    assert Team.objects.count() == 5


@pytest.mark.parametrize("role", ["employee", "manager", "executive"])
def test_only_hr_changes_teams(api, cast, org, role):
    client = api.as_(cast[role])
    assert client.post(TEAMS, {"name": "X", "external_id": "X"}).status_code == 403
    response = client.patch(f"{TEAMS}{org['sales'].pk}/", {"name": "Renamed"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert Team.objects.get(pk=org["sales"].pk).name == "Sales"
    assert Team.objects.count() == 5


def test_hr_renames_and_deactivates_a_team(api, hr_admin, org):
    response = api.as_(hr_admin).patch(
        f"{TEAMS}{org['sales'].pk}/", {"name": "Sales & Retention", "is_active": False}
    )

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["is_active"]) == ("Sales & Retention", False)
    sales = Team.objects.get(pk=org["sales"].pk)
    assert (sales.name, sales.is_active, sales.path) == (
        "Sales & Retention",
        False,
        org["sales"].path,
    )


def test_hr_sets_the_managers_of_a_team_who_then_see_its_people(api, cast, org):
    sales_person, employee = cast["sales_person"], cast["employee"]

    response = api.as_(cast["hr_admin"]).patch(
        f"{TEAMS}{org['sales'].pk}/", {"managers": [employee.pk]}
    )

    assert response.status_code == 200
    assert response.json()["managers"] == [{"id": employee.pk, "name": "Erin Employee"}]
    erin = Employee.objects.select_related("user").get(pk=employee.pk)
    assert Role.MANAGER in erin.user.groups.values_list("name", flat=True)
    seen = api.as_(erin).get(EMPLOYEES).json()["results"]
    assert sorted(item["name"] for item in seen if "email" in item) == [
        "Erin Employee",
        "Sam Sales",
    ]
    sam = next(item for item in seen if item["id"] == sales_person.pk)
    assert set(sam) == FULL_FIELDS

    response = api.as_(cast["hr_admin"]).patch(f"{TEAMS}{org['sales'].pk}/", {"managers": []})

    assert response.json()["managers"] == []
    erin = Employee.objects.select_related("user").get(pk=employee.pk)
    assert full_names(api.as_(erin).get(EMPLOYEES)) == ["Erin Employee"]


def test_moving_and_managing_in_one_request(api, cast, org):
    response = api.as_(cast["hr_admin"]).patch(
        f"{TEAMS}{org['support_b'].pk}/",
        {"parent": org["sales"].pk, "managers": [cast["sales_person"].pk], "name": "Retention"},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["parent"], body["depth"], body["name"]) == (org["sales"].pk, 2, "Retention")
    assert [manager["name"] for manager in body["managers"]] == ["Sam Sales"]
    # Maya manages Support, which no longer holds Support B.
    maya = Employee.objects.select_related("user").get(pk=cast["manager"].pk)
    assert full_names(api.as_(maya).get(EMPLOYEES)) == [
        "Erin Employee",
        "Maya Manager",
        "Tom Teammate",
    ]


# --- Employees ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("employee", ["Erin Employee"]),
        ("outsider", ["Olga Outsider"]),
        ("manager", ["Erin Employee", "Maya Manager", "Olga Outsider", "Tom Teammate"]),
        (
            "hr_admin",
            [
                "Eddie Exec",
                "Erin Employee",
                "Hana HR",
                "Maya Manager",
                "Olga Outsider",
                "Sam Sales",
                "Tom Teammate",
            ],
        ),
    ],
)
def test_whole_records_are_scoped_to_the_viewer(api, cast, role, expected):
    assert sorted(full_names(api.as_(cast[role]).get(EMPLOYEES))) == expected
    # Everyone else active in the organisation is listed as a public card.
    assert len(names(api.as_(cast[role]).get(EMPLOYEES))) == 7


def test_executives_see_everyone(api, cast):
    assert api.as_(cast["executive"]).get(EMPLOYEES).json()["count"] == 7


def test_a_teammate_gets_public_fields_and_their_manager_all_fields(api, cast):
    teammate = cast["teammate"]
    public = api.as_(cast["employee"]).get(f"{EMPLOYEES}{teammate.pk}/")
    assert public.status_code == 200
    assert public.json() == {
        "id": teammate.pk,
        "name": "Tom Teammate",
        "title": "Customer service agent",
        "team": teammate.team_id,
        "team_name": "Support A",
        "is_front_line": True,
        "is_active": True,
    }
    listed = api.as_(cast["employee"]).get(EMPLOYEES).json()["results"]
    assert {item["name"]: set(item) for item in listed} == {
        "Erin Employee": FULL_FIELDS,
        "Tom Teammate": PUBLIC_FIELDS,
        "Olga Outsider": PUBLIC_FIELDS,
        "Maya Manager": PUBLIC_FIELDS,
        "Sam Sales": PUBLIC_FIELDS,
        "Hana HR": PUBLIC_FIELDS,
        "Eddie Exec": PUBLIC_FIELDS,
    }

    full = api.as_(cast["manager"]).get(f"{EMPLOYEES}{teammate.pk}/").json()
    assert set(full) == FULL_FIELDS
    assert (full["email"], full["external_id"]) == (teammate.user.email, teammate.external_id)
    assert (full["location"], full["role_family"], full["hire_date"]) == ("Leeds", "Support", None)


def test_a_former_colleague_outside_the_viewers_scope_is_not_found(api, cast):
    outsider = cast["outsider"]
    outsider.is_active = False
    outsider.save()
    response = api.as_(cast["employee"]).get(f"{EMPLOYEES}{outsider.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert api.as_(cast["manager"]).get(f"{EMPLOYEES}{outsider.pk}/").status_code == 200


def test_hr_creates_a_person_who_gets_an_account_named_by_their_email(api, hr_admin, org):
    response = api.as_(hr_admin).post(
        EMPLOYEES,
        {
            "external_id": "E-NEW",
            "email": "Nina.New@Example.com",
            "first_name": "Nina",
            "last_name": "New",
            "team": org["sales"].pk,
            "hire_date": "2024-05-06",
            "is_front_line": True,
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == FULL_FIELDS
    assert (body["name"], body["email"], body["team_name"]) == (
        "Nina New",
        "Nina.New@Example.com",
        "Sales",
    )
    assert (body["hire_date"], body["title"], body["is_active"]) == ("2024-05-06", "", True)
    user = User.objects.get(employee__external_id="E-NEW")
    assert user.username == "nina.new@example.com"
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == [Role.EMPLOYEE]


def test_an_invalid_email_is_refused_in_the_error_format(api, hr_admin, org):
    response = api.as_(hr_admin).post(
        EMPLOYEES,
        {
            "external_id": "E-NEW",
            "email": "not-an-email",
            "first_name": "Nina",
            "last_name": "New",
            "team": org["sales"].pk,
        },
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "email: Enter a valid email address.",
            "fields": {"email": ["Enter a valid email address."]},
        }
    }
    assert not Employee.objects.filter(external_id="E-NEW").exists()


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"email": "PERSON-TAKEN@example.com"}, ["email"]),
        ({"external_id": "TAKEN"}, ["external_id"]),
        ({"team": 999999}, ["team"]),
        ({"hire_date": "31/01/2024"}, ["hire_date"]),
        ({"email": "a" * 150 + "@example.com"}, ["email"]),
        ({"first_name": "", "last_name": ""}, ["first_name", "last_name"]),
    ],
)
def test_a_bad_new_person_is_refused_with_the_fields(api, hr_admin, org, changes, fields):
    EmployeeFactory(email="person-taken@example.com", external_id="TAKEN", team=org["sales"])
    payload = {
        "external_id": "E-NEW",
        "email": "nina@example.com",
        "first_name": "Nina",
        "last_name": "New",
        "team": org["sales"].pk,
        **changes,
    }
    users = User.objects.count()

    response = api.as_(hr_admin).post(EMPLOYEES, payload)

    assert sorted(error_fields(response)) == fields
    assert User.objects.count() == users
    assert Employee.objects.count() == users


def test_missing_fields_are_all_named(api, hr_admin):
    response = api.as_(hr_admin).post(EMPLOYEES, {})
    assert sorted(error_fields(response)) == [
        "email",
        "external_id",
        "first_name",
        "last_name",
        "team",
    ]
    assert response.json()["error"]["message"] == "The request has invalid fields."


@pytest.mark.parametrize("role", ["employee", "manager", "executive"])
def test_only_hr_creates_and_changes_people(api, cast, role):
    client = api.as_(cast[role])
    response = client.post(
        EMPLOYEES,
        {
            "external_id": "E-NEW",
            "email": "x@example.com",
            "first_name": "X",
            "last_name": "Y",
            "team": None,
        },
    )
    assert response.status_code == 403
    response = client.patch(f"{EMPLOYEES}{cast['employee'].pk}/", {"title": "Boss"})
    assert response.status_code == 403
    assert Employee.objects.get(pk=cast["employee"].pk).title == "Customer service agent"
    assert Employee.objects.count() == 7


def test_hr_changes_title_team_and_email_and_the_person_signs_in_with_the_new_email(
    api, client, cast, org
):
    employee = cast["employee"]

    response = api.as_(cast["hr_admin"]).patch(
        f"{EMPLOYEES}{employee.pk}/",
        {"title": "Team lead", "team": org["support_b"].pk, "email": "Erin.Lead@example.com"},
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["title"], body["team_name"], body["email"]) == (
        "Team lead",
        "Support B",
        "Erin.Lead@example.com",
    )
    user = User.objects.get(pk=employee.user_id)
    assert user.username == "erin.lead@example.com"
    assert client.login(
        request=HttpRequest(),
        username="erin.lead@example.com",
        password="correct horse battery staple",
    )


def test_an_email_of_someone_else_is_refused_on_update(api, cast):
    employee, teammate = cast["employee"], cast["teammate"]
    response = api.as_(cast["hr_admin"]).patch(
        f"{EMPLOYEES}{employee.pk}/", {"email": teammate.user.email.upper()}
    )
    assert error_fields(response) == {"email": ["A user with this email exists."]}
    assert User.objects.get(pk=employee.user_id).email == employee.user.email


def test_deactivating_a_person_stops_them_signing_in(api, client, cast):
    outsider = cast["outsider"]

    response = api.as_(cast["hr_admin"]).patch(f"{EMPLOYEES}{outsider.pk}/", {"is_active": False})

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert not User.objects.get(pk=outsider.user_id).is_active
    assert not client.login(
        request=HttpRequest(),
        username=outsider.user.username,
        password="correct horse battery staple",
    )


def test_hr_gives_and_takes_organisation_roles(api, cast):
    employee = cast["employee"]
    client = api.as_(cast["hr_admin"])

    assert client.patch(f"{EMPLOYEES}{employee.pk}/", {"roles": ["executive"]}).status_code == 200
    groups = set(User.objects.get(pk=employee.user_id).groups.values_list("name", flat=True))
    assert groups == {Role.EMPLOYEE, Role.EXECUTIVE}
    erin = Employee.objects.select_related("user").get(pk=employee.pk)
    assert api.as_(erin).get(EMPLOYEES).json()["count"] == 7

    client = api.as_(cast["hr_admin"])
    response = client.patch(f"{EMPLOYEES}{employee.pk}/", {"roles": ["manager"]})
    assert list(error_fields(response)) == ["roles"]
    assert client.patch(f"{EMPLOYEES}{employee.pk}/", {"roles": []}).status_code == 200
    groups = set(User.objects.get(pk=employee.user_id).groups.values_list("name", flat=True))
    assert groups == {Role.EMPLOYEE}


def test_employees_are_filtered_by_team_subtree_search_and_activity(api, cast, org):
    client = api.as_(cast["hr_admin"])
    assert names(client.get(EMPLOYEES, {"team": org["support_a"].pk})) == [
        "Erin Employee",
        "Tom Teammate",
    ]
    assert names(client.get(EMPLOYEES, {"subtree": org["support"].pk})) == [
        "Erin Employee",
        "Maya Manager",
        "Olga Outsider",
        "Tom Teammate",
    ]
    assert names(client.get(EMPLOYEES, {"subtree": 999999})) == []
    assert names(client.get(EMPLOYEES, {"search": "outsid"})) == ["Olga Outsider"]
    assert names(client.get(EMPLOYEES, {"search": "SALES"})) == ["Sam Sales"]
    assert names(client.get(EMPLOYEES, {"search": cast["teammate"].user.email})) == ["Tom Teammate"]
    assert names(client.get(EMPLOYEES, {"search": "chief customer"})) == ["Eddie Exec"]

    client.patch(f"{EMPLOYEES}{cast['outsider'].pk}/", {"is_active": False})

    assert names(client.get(EMPLOYEES, {"is_active": "false"})) == ["Olga Outsider"]
    assert len(names(client.get(EMPLOYEES, {"is_active": "true"}))) == 6


def test_a_filter_never_widens_what_the_viewer_sees_of_a_record(api, cast, org):
    client = api.as_(cast["employee"])
    assert full_names(client.get(EMPLOYEES, {"subtree": org["root"].pk})) == ["Erin Employee"]
    sales = client.get(EMPLOYEES, {"search": "Sales"}).json()["results"]
    assert [set(item) for item in sales] == [PUBLIC_FIELDS]


def test_a_colleague_searches_full_names_but_never_email_addresses(api, cast):
    client = api.as_(cast["employee"])
    email = cast["outsider"].user.email

    assert names(client.get(EMPLOYEES, {"search": "Outsider Olga"})) == ["Olga Outsider"]
    assert names(client.get(EMPLOYEES, {"search": "olga outs"})) == ["Olga Outsider"]
    assert names(client.get(EMPLOYEES, {"search": email})) == []
    assert names(api.as_(cast["hr_admin"]).get(EMPLOYEES, {"search": email})) == ["Olga Outsider"]


def test_the_employee_list_is_paginated_with_count_next_and_at_most_200_a_page(api, hr_admin, org):
    for _ in range(203):
        EmployeeFactory(team=org["sales"])
    client = api.as_(hr_admin)

    first = client.get(EMPLOYEES, {"page_size": 2}).json()
    assert (first["count"], len(first["results"]), first["previous"]) == (204, 2, None)
    assert "page=2" in first["next"]
    assert "page_size=2" in first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 2
    assert not {item["id"] for item in first["results"]} & {
        item["id"] for item in second["results"]
    }

    assert len(client.get(EMPLOYEES).json()["results"]) == 50
    capped = client.get(EMPLOYEES, {"page_size": 500}).json()
    assert len(capped["results"]) == 200
    assert "page=2" in capped["next"]
    last = client.get(EMPLOYEES, {"page_size": 200, "page": 2}).json()
    assert (len(last["results"]), last["next"]) == (4, None)
    assert client.get(EMPLOYEES, {"page": 99}).status_code == 404


# --- Values ------------------------------------------------------------------------------------


def test_hr_creates_a_value_with_a_slug(api, hr_admin):
    response = api.as_(hr_admin).post(
        VALUES, {"name": "Own the outcome", "description": "See it through.", "position": 2}
    )

    assert response.status_code == 201, response.json()
    assert response.json() == {
        "id": CompanyValue.objects.get().pk,
        "name": "Own the outcome",
        "slug": "own-the-outcome",
        "description": "See it through.",
        "position": 2,
        "is_active": True,
    }


@pytest.mark.parametrize("name", ["Own the outcome", "OWN THE OUTCOME", "Own the outcome!", "***"])
def test_a_duplicate_or_empty_value_name_is_refused_with_the_field(api, hr_admin, name):
    CompanyValueFactory(name="Own the outcome")
    response = api.as_(hr_admin).post(VALUES, {"name": name})
    assert list(error_fields(response)) == ["name"]
    assert CompanyValue.objects.count() == 1


def test_hr_renames_a_value_but_not_to_another_values_name(api, hr_admin):
    CompanyValueFactory(name="Own the outcome")
    value = CompanyValueFactory(name="Be kind")
    client = api.as_(hr_admin)

    response = client.patch(f"{VALUES}{value.pk}/", {"name": "own the OUTCOME"})

    assert error_fields(response) == {"name": ["A value with this name exists."]}
    assert CompanyValue.objects.get(pk=value.pk).name == "Be kind"

    response = client.patch(f"{VALUES}{value.pk}/", {"name": "Be KIND", "is_active": False})

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["slug"]) == ("Be KIND", "be-kind")
    assert response.json()["is_active"] is False


def test_employees_read_active_values_and_hr_all_of_them(api, cast):
    CompanyValueFactory(name="Own the outcome")
    retired = CompanyValueFactory(name="Move fast")
    api.as_(cast["hr_admin"]).patch(f"{VALUES}{retired.pk}/", {"is_active": False})

    assert names(api.as_(cast["employee"]).get(VALUES)) == ["Own the outcome"]
    assert api.as_(cast["employee"]).get(f"{VALUES}{retired.pk}/").status_code == 404
    assert names(api.as_(cast["hr_admin"]).get(VALUES)) == ["Move fast", "Own the outcome"]


@pytest.mark.parametrize("role", ["employee", "manager", "executive"])
def test_only_hr_changes_values_and_policies(api, cast, role):
    value = CompanyValueFactory(name="Own the outcome")
    policy = PolicyFactory(name="Refund window", code="refund-window")
    client = api.as_(cast[role])
    assert client.post(VALUES, {"name": "New"}).status_code == 403
    assert client.patch(f"{VALUES}{value.pk}/", {"name": "New"}).status_code == 403
    assert client.post(POLICIES, {"name": "New", "code": "new"}).status_code == 403
    assert client.patch(f"{POLICIES}{policy.pk}/", {"name": "New"}).status_code == 403
    assert CompanyValue.objects.get().name == "Own the outcome"
    assert Policy.objects.get().name == "Refund window"


# --- Policies ----------------------------------------------------------------------------------


def test_hr_creates_a_policy_owned_by_a_team(api, hr_admin, org):
    response = api.as_(hr_admin).post(
        POLICIES,
        {
            "name": "30-day refund window",
            "code": "refund-window",
            "description": "Refunds within 30 days of purchase.",
            "owner_team": org["sales"].pk,
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["code"], body["owner_team"], body["owner_team_name"]) == (
        "refund-window",
        org["sales"].pk,
        "Sales",
    )
    assert Policy.objects.get().owner_team == org["sales"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "Again", "code": "refund-window"}, "code"),
        ({"name": "Bad code", "code": "not a slug"}, "code"),
        ({"code": "no-name"}, "name"),
        ({"name": "X", "code": "x", "owner_team": 999999}, "owner_team"),
    ],
)
def test_a_bad_policy_is_refused_with_the_field(api, hr_admin, org, payload, field):
    PolicyFactory(name="Refund window", code="refund-window")
    response = api.as_(hr_admin).post(POLICIES, payload)
    assert list(error_fields(response)) == [field]
    assert Policy.objects.count() == 1


def test_hr_changes_a_policy_and_its_code_but_not_to_a_taken_code(api, hr_admin, org):
    PolicyFactory(name="Refund window", code="refund-window")
    policy = PolicyFactory(name="Free delivery", code="delivery")
    client = api.as_(hr_admin)

    response = client.patch(f"{POLICIES}{policy.pk}/", {"code": "refund-window"})

    assert error_fields(response) == {"code": ["A policy with this code exists."]}
    assert Policy.objects.get(pk=policy.pk).code == "delivery"

    response = client.patch(
        f"{POLICIES}{policy.pk}/",
        {"code": "free-delivery", "name": "Free delivery over 20", "owner_team": org["sales"].pk},
    )

    assert response.status_code == 200
    policy.refresh_from_db()
    assert (policy.code, policy.name, policy.owner_team) == (
        "free-delivery",
        "Free delivery over 20",
        org["sales"],
    )
    assert response.json()["owner_team_name"] == "Sales"


def test_employees_read_active_policies_and_hr_all_of_them(api, cast):
    PolicyFactory(name="Refund window", code="refund-window")
    retired = PolicyFactory(name="Old rule", code="old-rule")
    api.as_(cast["hr_admin"]).patch(f"{POLICIES}{retired.pk}/", {"is_active": False})

    assert names(api.as_(cast["employee"]).get(POLICIES)) == ["Refund window"]
    assert names(api.as_(cast["hr_admin"]).get(POLICIES)) == ["Old rule", "Refund window"]
    filtered = api.as_(cast["employee"]).get(POLICIES, {"code": "refund-window"})
    assert names(filtered) == ["Refund window"]
