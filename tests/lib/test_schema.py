"""The OpenAPI schema says what the API really answers (cxculture/lib/schema.py): found by
schemathesis — a blank choice, a null team name and page numbers below 1."""

import datetime as dt
from functools import cache
from typing import Any

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


@cache
def _schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _component(name: str) -> dict[str, Any]:
    return _schema()["components"]["schemas"][name]


def _allowed_strings(node: dict[str, Any]) -> set[str] | None:
    """The strings a property's schema allows: an enum's values (None when any string is)."""
    if "$ref" in node:
        return _allowed_strings(_component(node["$ref"].rsplit("/", 1)[-1]))
    for combinator in ("oneOf", "anyOf", "allOf"):
        if combinator in node:
            parts = [_allowed_strings(part) for part in node[combinator]]
            if any(part is None for part in parts):
                return None
            found: set[str] = set()
            for part in parts:
                found |= part or set()
            return found
    return set(node["enum"]) if "enum" in node else None


def _nullable(node: dict[str, Any]) -> bool:
    return bool(node.get("nullable")) or None in node.get("enum", [])


@pytest.mark.parametrize(
    ("component", "prop"),
    [("Action", "source_driver"), ("ActionUpdate", "status_from"), ("ActionUpdate", "status_to")],
)
def test_a_blank_choice_the_api_returns_is_in_the_schemas_enum(component, prop):
    assert "" in (_allowed_strings(_component(component)["properties"][prop]) or {""})


def test_an_action_without_a_driver_answers_a_blank_driver_that_the_schema_allows(
    api, manager, org
):
    response = api.as_(manager).post(
        "/api/v1/actions/",
        {
            "title": "Shorter queues",
            "owner": manager.pk,
            "team": org["support"].pk,
            "due_on": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
        },
    )

    assert response.status_code == 201, response.json()
    assert response.json()["source_driver"] == ""
    # Any string (the organisation's own drivers are no fixed enum), so the blank one too.
    allowed = _allowed_strings(_component("Action")["properties"]["source_driver"])
    assert allowed is None or "" in allowed


def test_a_blank_driver_is_refused_for_a_survey_driver_action(api, manager, org):
    response = api.as_(manager).post(
        "/api/v1/actions/",
        {
            "title": "Act on the pulse",
            "owner": manager.pk,
            "team": org["support"].pk,
            "source_kind": "survey_driver",
            "source_driver": "",
            "due_on": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
        },
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) in (["source_driver"], ["source_run"])


@pytest.mark.parametrize(
    ("component", "prop"),
    [
        ("Action", "team_name"),
        ("PolicyException", "team_name"),
        ("Receiver", "team_name"),
        ("Recognition", "giver_team_name"),
        ("Employee", "team_name"),
        ("Policy", "owner_team_name"),
    ],
)
def test_a_name_read_through_an_optional_relation_is_nullable_in_the_schema(component, prop):
    assert _nullable(_component(component)["properties"][prop])


def test_an_organisation_wide_action_has_a_null_team_name_that_the_schema_allows(
    api, executive, org
):
    response = api.as_(executive).post(
        "/api/v1/actions/",
        {
            "title": "Say yes more often",
            "owner": executive.pk,
            "due_on": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
        },
    )

    assert response.status_code == 201, response.json()
    assert response.json()["team_name"] is None
    assert _nullable(_component("Action")["properties"]["team_name"])


def test_every_page_parameter_starts_at_1():
    pages = [
        (path, method, parameter["schema"])
        for path, operations in _schema()["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query" and parameter["name"] == "page"
    ]

    assert len(pages) >= 15
    assert [(path, method) for path, method, schema in pages if schema.get("minimum") != 1] == []


@pytest.mark.parametrize("page", ["0", "-1"])
def test_a_page_below_1_is_a_404_in_the_error_format(api, employee, page):
    response = api.as_(employee).get("/api/v1/teams/", {"page": page})

    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message", "fields"}
