"""Hostile request bodies get a 4xx in the error format, never a server error or an HTML page:
JSON nested beyond what the parser accepts, and bodies over Django's upload limits."""

import json
from functools import cache
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from cxculture.lib.parsers import MAX_JSON_DEPTH
from tests.factories.outcomes import OutcomeSourceFactory, builtin_metrics

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000  # what the outside test sent: RecursionError in the stdlib parser
NESTED_600 = "[" * 600 + "]" * 600  # parses in Python, but deeper than any request needs


def _error(response) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def _client(person=None) -> APIClient:
    client = APIClient()
    client.raise_request_exception = False  # a server error is a 500 answer to look at
    if person is not None:
        client.force_authenticate(user=person.user)
    return client


@pytest.mark.parametrize("body", [DEEP, NESTED_600], ids=["100000 deep", "600 deep"])
def test_deep_json_to_the_token_endpoint_without_signing_in_is_a_400(db, body):
    response = _client().post("/api/v1/auth/token/", body, content_type="application/json")

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "parse_error"
    assert "nested" in error["message"]


@pytest.mark.parametrize(
    ("role", "method", "url"),
    [
        ("employee", "post", "/api/v1/recognitions/"),
        ("employee", "post", "/api/v1/exceptions/"),
        ("employee", "post", "/api/v1/responses/"),
        ("hr_admin", "post", "/api/v1/directory-syncs/"),
        ("hr_admin", "post", "/api/v1/employees/"),
        ("hr_admin", "post", "/api/v1/outcome-imports/"),
        ("manager", "post", "/api/v1/actions/"),
    ],
)
@pytest.mark.parametrize("body", [DEEP, NESTED_600], ids=["100000 deep", "600 deep"])
def test_deep_json_is_a_400_parse_error_for_people_signed_in(cast, role, method, url, body):
    response = getattr(_client(cast[role]), method)(url, body, content_type="application/json")

    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"


def test_deep_json_from_an_outcome_source_is_a_400(db, org, hr_admin):
    builtin_metrics()
    source = OutcomeSourceFactory(created_by=hr_admin.user)
    client = _client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {source.token}")

    response = client.post("/api/v1/outcomes/", DEEP, content_type="application/json")

    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"


def test_json_just_within_the_depth_limit_is_parsed_and_validated(cast):
    nested: Any = "x"
    for _ in range(MAX_JSON_DEPTH - 1):
        nested = [nested]
    body = json.dumps({"receivers": nested})

    response = _client(cast["employee"]).post(
        "/api/v1/recognitions/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert _error(response)["code"] == "invalid"  # a field error, not a parse error


@cache
def _json_operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method, path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    )


@pytest.mark.parametrize(("method", "path"), _json_operations(), ids=lambda value: value)
def test_deep_json_on_any_operation_is_never_a_server_error(cast, method, path):
    url = "/".join("1" if part.startswith("{") else part for part in path.split("/"))
    for person in (None, cast["employee"], cast["hr_admin"]):
        response = getattr(_client(person), method)(url, DEEP, content_type="application/json")

        assert response.status_code < 500, (method, path, response.status_code)
        _error(response)
