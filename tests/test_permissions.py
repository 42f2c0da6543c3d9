"""The permission matrix: every API endpoint, every role and every method, with its status.

The rows: people endpoints here, each app's in tests/<app>/permission_rows.py (vocabulary in
tests/matrix.py). To cover a new endpoint, add `Case` rows; `test_every_operation_in_the_schema_
has_a_row` and `test_every_url_under_api_v1_has_a_row` fail until you do.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from tests.actions.permission_rows import ACTIONS_MATRIX
from tests.factories.surveys import load_question_library
from tests.helpers import PASSWORD
from tests.insights.permission_rows import INSIGHTS_MATRIX
from tests.matrix import (
    HR_ONLY_200,
    HR_ONLY_201,
    NOT_SIGNED_IN,
    READ,
    ROLES,
    Case,
    World,
    credentials,
    person_pk,
    statuses,
    team_pk,
)
from tests.outcomes.permission_rows import OUTCOMES_MATRIX
from tests.recognition.permission_rows import RECOGNITION_MATRIX
from tests.security.permission_rows import SECURITY_MATRIX
from tests.surveys.permission_rows import SURVEY_MATRIX

PEOPLE_MATRIX: list[Case] = [
    # --- API root --------------------------------------------------------------------------
    Case("GET", "/api/v1/", READ),
    # --- Teams: the tree is public to everyone signed in; HR admins change it -----------------
    Case("GET", "/api/v1/teams/", READ),
    Case(
        "POST",
        "/api/v1/teams/",
        HR_ONLY_201,
        body=lambda w, me: {"name": "Retention", "external_id": "RET", "parent": w.org["sales"].pk},
    ),
    Case("GET", "/api/v1/teams/{id}/", READ, target=team_pk("support_b"), about="another team"),
    Case("GET", "/api/v1/teams/{id}/", READ, target=team_pk("sales"), about="another department"),
    Case(
        "PATCH",
        "/api/v1/teams/{id}/",
        HR_ONLY_200,
        target=team_pk("support_a"),
        body=lambda w, me: {"name": "Support Alpha"},
        about="a team the manager leads",
    ),
    Case(
        "PUT",
        "/api/v1/teams/{id}/",
        HR_ONLY_200,
        target=team_pk("sales"),
        body=lambda w, me: {"name": "Sales and retention", "parent": w.org["root"].pk},
    ),
    # --- Employees: scoped to the viewer ---------------------------------------------------
    Case("GET", "/api/v1/employees/", READ),
    Case(
        "POST",
        "/api/v1/employees/",
        HR_ONLY_201,
        body=lambda w, me: {
            "external_id": "E-NEW",
            "email": "new.starter@example.com",
            "first_name": "Nia",
            "last_name": "New",
            "team": w.org["support_a"].pk,
        },
    ),
    Case(
        "GET",
        "/api/v1/employees/{id}/",
        READ,
        target=person_pk("employee"),
        about="a person in Support A",
    ),
    Case(
        "GET",
        "/api/v1/employees/{id}/",
        READ,
        target=person_pk("outsider"),
        about="a person in Support B",
    ),
    Case(
        "GET",
        "/api/v1/employees/{id}/",
        READ,
        target=person_pk("sales_person"),
        about="a person in Sales",
    ),
    Case(
        "GET",
        "/api/v1/employees/{id}/",
        READ,
        target=person_pk("manager"),
        about="the manager of Support",
    ),
    Case(
        "PATCH",
        "/api/v1/employees/{id}/",
        HR_ONLY_200,
        target=person_pk("outsider"),
        body=lambda w, me: {"title": "Senior agent"},
        about="a person the manager leads",
    ),
    Case(
        "PATCH",
        "/api/v1/employees/{id}/",
        HR_ONLY_200,
        target=person_pk("employee"),
        body=lambda w, me: {"roles": ["hr_admin"]},
        about="granting HR admin",
    ),
    Case(
        "PUT",
        "/api/v1/employees/{id}/",
        HR_ONLY_200,
        target=person_pk("employee"),
        body=lambda w, me: {"title": "Team lead", "location": "York"},
    ),
    # --- Company values: active ones public, retired ones HR only ----------------------------
    Case("GET", "/api/v1/values/", READ),
    Case(
        "POST",
        "/api/v1/values/",
        HR_ONLY_201,
        body=lambda w, me: {"name": "Say yes", "description": "Find a way."},
    ),
    Case("GET", "/api/v1/values/{id}/", READ, target=lambda w: w.value.pk, about="active"),
    Case(
        "GET",
        "/api/v1/values/{id}/",
        statuses(404, hr_admin=200),
        target=lambda w: w.retired_value.pk,
        about="retired",
    ),
    Case(
        "PATCH",
        "/api/v1/values/{id}/",
        HR_ONLY_200,
        target=lambda w: w.value.pk,
        body=lambda w, me: {"description": "Finish what the customer started."},
    ),
    Case(
        "PUT",
        "/api/v1/values/{id}/",
        HR_ONLY_200,
        target=lambda w: w.value.pk,
        body=lambda w, me: {"name": "Own it", "description": "", "position": 2},
    ),
    # --- Policies: active ones public, retired ones HR only --------------------------------
    Case("GET", "/api/v1/policies/", READ),
    Case(
        "POST",
        "/api/v1/policies/",
        HR_ONLY_201,
        body=lambda w, me: {"code": "free-shipping", "name": "Free shipping over 50"},
    ),
    Case("GET", "/api/v1/policies/{id}/", READ, target=lambda w: w.policy.pk, about="active"),
    Case(
        "GET",
        "/api/v1/policies/{id}/",
        statuses(404, hr_admin=200),
        target=lambda w: w.retired_policy.pk,
        about="retired",
    ),
    Case(
        "PATCH",
        "/api/v1/policies/{id}/",
        HR_ONLY_200,
        target=lambda w: w.policy.pk,
        body=lambda w, me: {"description": "Refunds within 30 days."},
    ),
    Case(
        "PUT",
        "/api/v1/policies/{id}/",
        HR_ONLY_200,
        target=lambda w: w.policy.pk,
        body=lambda w, me: {"code": "refund-window", "name": "Refund window", "owner_team": None},
    ),
    # --- Directory syncs: HR admins only --------------------------------------------------------
    Case("GET", "/api/v1/directory-syncs/", HR_ONLY_200),
    Case(
        "POST",
        "/api/v1/directory-syncs/",
        HR_ONLY_201,
        body=lambda w, me: {
            "kind": "teams",
            "rows": [{"external_id": "RET", "name": "Retention", "parent_external_id": "SAL"}],
        },
    ),
    Case("GET", "/api/v1/directory-syncs/{id}/", HR_ONLY_200, target=lambda w: w.sync_waiting.pk),
    Case(
        "POST",
        "/api/v1/directory-syncs/{id}/confirm/",
        HR_ONLY_200,
        target=lambda w: w.sync_waiting.pk,
    ),
    Case(
        "POST",
        "/api/v1/directory-syncs/{id}/cancel/",
        HR_ONLY_200,
        target=lambda w: w.sync_waiting.pk,
    ),
    # --- Tokens: anyone with the right password, nobody without --------------------------------
    Case(
        "POST",
        "/api/v1/auth/token/",
        statuses(200, anonymous=200),
        body=credentials(PASSWORD),
        about="right password",
    ),
    Case(
        "POST",
        "/api/v1/auth/token/",
        statuses(400, anonymous=400),
        body=credentials("not the password"),
        about="wrong password",
    ),
    # Signing out ends the token sent; the matrix signs in without one (see test_api_tokens.py).
    Case("POST", "/api/v1/auth/logout/", statuses(401), about="without a token"),
    Case("POST", "/api/v1/auth/logout-all/", statuses(204)),
]


MATRIX: list[Case] = (
    PEOPLE_MATRIX
    + RECOGNITION_MATRIX
    + SURVEY_MATRIX
    + OUTCOMES_MATRIX
    + INSIGHTS_MATRIX
    + ACTIONS_MATRIX
    + SECURITY_MATRIX
)


@pytest.fixture
def world(org, cast) -> World:
    load_question_library()  # built-in survey questions (tests run without data migrations)
    return World(org, cast)


@pytest.mark.parametrize(
    ("case", "role"),
    [pytest.param(case, role, id=f"{case.name} as {role}") for case in MATRIX for role in ROLES],
)
def test_each_role_gets_the_status_in_the_matrix(api, world, case, role):
    me = world.person(role)
    url = case.url(world)
    body = case.body(world, me) if case.body else None
    call = getattr(api.as_(me), case.method.lower())

    response = call(url, body, format="json") if body is not None else call(url)

    expected = case.expect[role]
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert set(response.json()) == {"error"}
        assert set(response.json()["error"]) == {"code", "message", "fields"}
    if role == "anonymous" and expected == NOT_SIGNED_IN:
        assert response.json()["error"]["code"] == "not_authenticated"
        assert response.headers["WWW-Authenticate"] == "Token"
    if expected == 200 and case.method == "GET" and case.target is not None:
        assert response.json()["id"] == case.target(world)


# --- The matrix covers everything ---------------------------------------------------------------


def _schema_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }


def _api_v1_paths() -> set[str]:
    """Every URL pattern under /api/v1/, spelled like the schema ("/api/v1/teams/{id}/")."""
    found: set[str] = set()

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif route.startswith("api/v1/") and "format" not in pattern.pattern.regex.groupindex:
                # Format-suffix aliases (".json") reach the same views as the paths they copy.
                route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)  # regex groups
                found.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))  # converters

    walk(get_resolver().url_patterns, "")
    return {path.replace("{pk}", "{id}") for path in found}


def test_every_operation_in_the_schema_has_a_row():
    covered = {(case.method, case.path) for case in MATRIX}

    missing = sorted(_schema_operations() - covered)

    assert missing == [], f"Add Case rows to MATRIX for {missing}"


def test_every_status_in_the_matrix_is_documented_in_the_schema():
    """The schema promises every status a role gets (cxculture/lib/schema.py adds the refusals)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    undocumented = sorted(
        f"{case.name} as {role}: {status}"
        for case in MATRIX
        if case.path in schema["paths"]
        for role, status in case.expect.items()
        if str(status) not in schema["paths"][case.path][case.method.lower()]["responses"]
    )

    assert undocumented == []


def test_every_url_under_api_v1_has_a_row():
    covered = {case.path for case in MATRIX}

    missing = sorted(_api_v1_paths() - covered)

    assert missing == [], f"Add Case rows to MATRIX for {missing}"


def test_the_matrix_has_no_rows_for_endpoints_that_are_gone():
    existing = _api_v1_paths()

    stale = sorted({case.name for case in MATRIX if case.path not in existing})

    assert stale == []


def test_the_url_walk_finds_the_endpoints_it_guards():
    paths = _api_v1_paths()

    assert {"/api/v1/", "/api/v1/teams/{id}/", "/api/v1/auth/token/"} <= paths
    assert "/api/v1/directory-syncs/{id}/confirm/" in paths


# --- Lists leak nothing ------------------------------------------------------------------------

EVERYONE = {
    "Erin Employee",
    "Tom Teammate",
    "Olga Outsider",
    "Maya Manager",
    "Sam Sales",
    "Hana HR",
    "Eddie Exec",
}
PUBLIC_CARD = {"id", "name", "title", "team", "team_name", "is_front_line", "is_active"}


@pytest.mark.parametrize("role", ROLES[1:])
def test_every_role_lists_the_active_organisation(api, cast, role):
    response = api.as_(cast[role]).get("/api/v1/employees/", {"page_size": 200})

    assert response.status_code == 200
    names = [item["name"] for item in response.json()["results"]]
    assert sorted(names) == sorted(EVERYONE)
    assert response.json()["count"] == len(EVERYONE)


@pytest.mark.parametrize(
    ("role", "sees_former_colleague"),
    [
        ("employee", False),
        ("teammate", False),
        ("outsider", True),  # their own record
        ("manager", True),
        ("hr_admin", True),
        ("executive", True),
    ],
)
def test_former_staff_are_visible_only_to_themselves_their_managers_and_hr(
    api, cast, role, sees_former_colleague
):
    former = cast["outsider"]
    former.is_active = False
    former.save()

    response = api.as_(cast[role]).get(f"/api/v1/employees/{former.pk}/")

    assert response.status_code == (200 if sees_former_colleague else 404)


@pytest.mark.parametrize("role", ["employee", "teammate", "outsider"])
def test_filters_show_colleagues_elsewhere_as_public_cards_only(api, cast, org, role):
    for params in ({"team": org["sales"].pk}, {"subtree": org["root"].pk}, {"search": "Sam"}):
        response = api.as_(cast[role]).get("/api/v1/employees/", params)

        sam = next(i for i in response.json()["results"] if i["name"] == "Sam Sales")
        assert set(sam) == PUBLIC_CARD


def test_an_employee_sees_private_fields_only_on_their_own_record(api, cast):
    response = api.as_(cast["employee"]).get("/api/v1/employees/")

    by_name = {item["name"]: item for item in response.json()["results"]}
    assert by_name["Erin Employee"]["email"] == cast["employee"].user.email
    assert by_name["Erin Employee"]["location"] == "Leeds"
    assert set(by_name["Tom Teammate"]) == PUBLIC_CARD


def test_a_manager_sees_private_fields_of_the_people_they_lead(api, cast):
    response = api.as_(cast["manager"]).get(f"/api/v1/employees/{cast['outsider'].pk}/")

    assert response.json()["email"] == cast["outsider"].user.email
    assert response.json()["external_id"] == cast["outsider"].external_id


@pytest.mark.parametrize("role", ["employee", "outsider", "manager", "executive"])
def test_only_hr_lists_retired_values_and_policies(api, world, role):
    active_value, retired_value = world.value, world.retired_value
    active_policy, retired_policy = world.policy, world.retired_policy

    values = api.as_(world.cast[role]).get("/api/v1/values/").json()["results"]
    policies = api.as_(world.cast[role]).get("/api/v1/policies/").json()["results"]
    hr_values = api.as_(world.cast["hr_admin"]).get("/api/v1/values/").json()["results"]

    assert [item["id"] for item in values] == [active_value.pk]
    assert [item["id"] for item in policies] == [active_policy.pk]
    assert {item["id"] for item in hr_values} == {active_value.pk, retired_value.pk}
    assert retired_policy.pk not in {item["id"] for item in policies}


def test_every_role_reads_the_whole_team_tree_with_its_managers(api, cast, org):
    response = api.as_(cast["outsider"]).get("/api/v1/teams/")

    teams = {item["name"]: item for item in response.json()["results"]}
    assert set(teams) == {"Company", "Support", "Support A", "Support B", "Sales"}
    assert teams["Support"]["managers"] == [{"id": cast["manager"].pk, "name": "Maya Manager"}]
    assert teams["Support A"]["member_count"] == 2
