"""Hostile request bodies get a 4xx in the error format, never a server error or an HTML page:
JSON nested beyond what the parser accepts, and bodies over Django's upload limits."""

import json
from functools import cache
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from cxculture.lib.parsers import MAX_JSON_DEPTH
from cxculture.outcomes import services as outcome_services
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


# --- Bodies over Django's upload limits ----------------------------------------------------------


@pytest.fixture
def small_limits(settings):
    """Django's limits, made small so the tests send little: 2.5 MB and 1,000 fields by default."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    return settings


def test_a_form_field_over_the_memory_limit_is_a_413_in_the_error_format(cast, small_limits):
    response = _client(cast["hr_admin"]).post(
        "/api/v1/directory-syncs/", {"kind": "teams", "note": "x" * 5_000}, format="multipart"
    )

    assert response.status_code == 413
    error = _error(response)
    assert error["code"] == "too_large"
    assert "1000 bytes" in error["message"]


def test_too_many_form_fields_is_a_400_in_the_error_format(cast, small_limits):
    fields = {f"field{n}": "x" for n in range(50)}

    response = _client(cast["hr_admin"]).post("/api/v1/values/", fields, format="multipart")

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "too_many_fields"
    assert "20" in error["message"]


def test_too_many_urlencoded_fields_to_the_token_endpoint_is_a_400_in_the_error_format(
    db, small_limits
):
    body = "&".join(f"field{n}=x" for n in range(50))

    response = _client().post(
        "/api/v1/auth/token/", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert _error(response)["code"] == "too_many_fields"


def test_too_many_files_is_a_400_in_the_error_format(cast, small_limits):
    files = {f"file{n}": SimpleUploadedFile(f"f{n}.csv", b"a,b\n") for n in range(5)}

    response = _client(cast["hr_admin"]).post(
        "/api/v1/directory-syncs/", {"kind": "teams", **files}, format="multipart"
    )

    assert response.status_code == 400
    assert _error(response)["code"] == "too_many_files"


def test_a_webhook_body_over_the_memory_limit_is_a_413_in_the_error_format(
    db, org, hr_admin, small_limits
):
    builtin_metrics()
    source = OutcomeSourceFactory(created_by=hr_admin.user)
    client = _client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {source.token}")
    outcome_services.outcome_source_rotate_signing_secret(source=source)  # reads the raw body
    body = json.dumps({"records": [], "padding": "x" * 5_000})

    response = client.post("/api/v1/outcomes/", body, content_type="application/json")

    assert response.status_code == 413
    assert _error(response)["code"] == "too_large"


def test_pages_keep_their_html_answer_to_too_many_fields(db, small_limits):
    client = Client(raise_request_exception=False)
    fields = {f"field{n}": "x" for n in range(50)}

    response = client.post("/accounts/login/", fields)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_a_suspicious_request_to_an_api_url_outside_a_view_is_a_400_in_the_error_format(db):
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/teams/", HTTP_HOST="attacker.example")  # DisallowedHost

    assert response.status_code == 400
    assert _error(response)["code"] == "bad_request"
    page = client.get("/people/", HTTP_HOST="attacker.example")
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")


def test_the_schema_documents_413_on_every_operation_with_a_request_body():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation and "413" not in operation["responses"]
    ]

    assert missing == []
