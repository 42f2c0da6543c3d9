"""Schemathesis against the OpenAPI schema, in-process over WSGI, as each role.

Every operation in the schema gets CXC_FUZZ_EXAMPLES generated requests (valid and invalid, from
the schema), each sent once per role with that role's API token. Each answer must be no server
error, a status the schema documents, the documented content type and a body that matches the
documented schema (the `Error` component for refusals); anonymous requests to operations that
are not public are refused with 401. CI sends a few examples with a fixed seed (derandomized);
`make fuzz` sends many more with random ones (CXC_FUZZ_LONG=1); CXC_FUZZ_COVERAGE=1 adds
schemathesis's coverage phase.
"""

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories.surveys import load_question_library
from tests.helpers import token_for

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("CXC_FUZZ_EXAMPLES", "2"))
# `make fuzz`: random seeds instead of CI's fixed ones.
LONG = os.environ.get("CXC_FUZZ_LONG", "") == "1"
# Also schemathesis's coverage phase: every boundary and invalid value the schema implies. Many
# more requests (about 30 s per operation on 2 cores), so only when asked for.
COVERAGE = os.environ.get("CXC_FUZZ_COVERAGE", "") == "1"
ROLES = ("anonymous", "employee", "manager", "hr_admin", "executive")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# The schema as the app serves it (drf-spectacular at /api/schema/), read through WSGI.
app = WSGIHandler()
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)


@pytest.fixture
def in_test_transaction() -> Iterator[None]:
    """Requests run inside the test's transaction: keep Django from closing the connection at
    the end of each request (as its test client does)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(cast) -> dict[str, str]:
    load_question_library()
    return {role: token_for(cast[role]) for role in ROLES if role != "anonymous"}


def _headers(role: str, tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Token {tokens[role]}"} if role in tokens else {}


def _public(case) -> bool:
    return {} in case.operation.definition.raw.get("security", [{}])


def _valid(case) -> bool:
    """A request the schema allows — except that a NUL byte in the URL is refused (400) before
    any view or sign-in check runs (`RefuseNulBytesMiddleware`, documented in the README)."""
    in_url = [*(case.query or {}).values(), *(case.path_parameters or {}).values()]
    if any("\x00" in str(value) for value in in_url):
        return False
    return case.meta is None or case.meta.generation.mode == schemathesis.GenerationMode.POSITIVE


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=not LONG,
    phases=[Phase.explicit, Phase.generate] if COVERAGE else [Phase.generate],
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_schema_says_for_every_role(
    case, tokens, in_test_transaction
):
    for role in ROLES:
        headers = _headers(role, tokens)
        if role == "anonymous":
            (case.headers or {}).pop("Authorization", None)
            (case.cookies or {}).pop("sessionid", None)
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        if role == "anonymous" and not _public(case):
            where = f"anonymous {case.method} {case.path}: {response.status_code}"
            assert response.status_code >= 400, where
            # Valid requests are refused for want of a sign-in; invalid ones may be refused
            # sooner (an unknown `format`, a path the router does not take).
            if _valid(case):
                assert response.status_code == 401, where


# --- What schemathesis found, pinned down ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/values/", {"name": "Own it", "is_active": False}),
        ("/api/v1/policies/", {"code": "no-refunds", "name": "No refunds", "is_active": False}),
    ],
)
def test_creating_an_inactive_value_or_policy_is_not_a_server_error(api, hr_admin, path, body):
    response = api.as_(hr_admin).post(path, body)

    assert response.status_code == 201, response.content
    assert response.json()["is_active"] is False


def test_an_employee_without_a_team_matches_the_schema(tokens, in_test_transaction):
    body = {"external_id": "E-X", "email": "x@example.com", "first_name": "X", "last_name": "Y"}
    case = schema["/api/v1/employees/"]["POST"].Case(
        body={**body, "team": None}, media_type="application/json"
    )

    response = case.call(headers=_headers("hr_admin", tokens))

    assert response.status_code == 201
    assert response.json()["team_name"] is None
    case.validate_response(response, checks=CHECKS)
