"""The OpenAPI schema documents each operation's errors in the error format (lib/schema.py)."""

from functools import cache
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

ERROR = {"$ref": "#/components/schemas/Error"}


@cache
def _schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _responses(method: str, path: str) -> dict[str, Any]:
    return _schema()["paths"][path][method]["responses"]


@pytest.mark.parametrize(
    ("method", "path", "codes"),
    [
        ("get", "/api/v1/teams/", {"400", "401", "429"}),
        ("get", "/api/v1/teams/{id}/", {"400", "401", "404", "429"}),
        ("patch", "/api/v1/teams/{id}/", {"400", "401", "403", "404", "429"}),
        ("post", "/api/v1/recognitions/", {"400", "401", "409", "422", "429"}),
        ("post", "/api/v1/redemptions/", {"400", "401", "409", "422", "429"}),
        ("post", "/api/v1/redemptions/{id}/approve/", {"400", "401", "403", "404", "409"}),
        ("post", "/api/v1/outcome-imports/", {"400", "401", "403", "413", "422", "429"}),
        ("post", "/api/v1/directory-syncs/", {"400", "401", "403", "413", "415"}),
        ("post", "/api/v1/values/", {"400", "401", "403", "413", "415", "429"}),
        ("get", "/api/v1/survey-runs/{id}/results/", {"400", "401", "403", "404", "409"}),
        ("get", "/api/v1/insights/culture/", {"400", "401", "403"}),
        ("delete", "/api/v1/rewards/{id}/", {"400", "401", "403", "404", "409"}),
        ("post", "/api/v1/responses/", {"400", "403", "404", "409", "410"}),
    ],
)
def test_operations_document_their_errors_with_the_error_component(method, path, codes):
    responses = _responses(method, path)

    assert codes <= set(responses)
    for code in codes:
        assert responses[code]["content"]["application/json"]["schema"] == ERROR, code
        assert responses[code]["description"]


def test_a_broken_multipart_body_is_a_documented_415_in_the_error_format(api, hr_admin):
    """What `make fuzz` found: a multipart body whose one part has no headers at all."""
    boundary = "8a8d88f8cbba733af97256a3a2374cb8"
    body = f"--{boundary}\r\n\U000f0130--{boundary}--\r\n".encode()
    response = api.as_(hr_admin).post(
        "/api/v1/values/", body, content_type=f"multipart/form-data; boundary={boundary}"
    )

    assert str(response.status_code) in _responses("post", "/api/v1/values/")
    assert response.status_code in (400, 415)
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_every_operation_that_needs_a_sign_in_documents_401_and_public_ones_do_not_add_it():
    missing = []
    for path, operations in _schema()["paths"].items():
        for method, operation in operations.items():
            public = {} in operation.get("security", [{}])
            if not public and "401" not in operation["responses"]:
                missing.append(f"{method.upper()} {path}")

    assert missing == []
    assert "401" not in _responses("post", "/api/v1/auth/token/")
    assert {} in _schema()["paths"]["/api/v1/auth/token/"]["post"]["security"]


def test_every_error_response_in_the_schema_has_the_error_body():
    bare = [
        f"{method.upper()} {path} {code}"
        for path, operations in _schema()["paths"].items()
        for method, operation in operations.items()
        for code, response in operation["responses"].items()
        if code >= "400"
        and response.get("content", {}).get("application/json", {}).get("schema") != ERROR
    ]

    assert bare == []


def test_the_error_component_has_the_shape_the_api_writes():
    components = _schema()["components"]["schemas"]

    assert components["Error"]["required"] == ["error"]
    assert set(components["ErrorDetail"]["properties"]) == {"code", "message", "fields"}
    assert components["ErrorDetail"]["properties"]["fields"]["additionalProperties"] == {
        "type": "array",
        "items": {"type": "string"},
    }
