"""API tokens: stored only as digests, expiring, revoked by their owner, by a password change or
reset and by deactivation (HR's or a directory sync's)."""

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from cxculture.people import services
from cxculture.people.models import ApiToken
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
NEW_PASSWORD = "a brand new passphrase for 2026"


def _token_answer(person, password: str = PASSWORD) -> dict:
    response = APIClient().post(
        TOKEN, {"username": person.user.username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def _token(person) -> str:
    return _token_answer(person)["token"]


def _get(token: str, path: str = "/api/v1/teams/") -> int:
    return Client().get(path, headers={"Authorization": f"Token {token}"}).status_code


def _csrf(response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert match
    return match.group(1)


def test_the_token_endpoint_answers_a_token_and_when_it_expires(employee):
    before = timezone.now()

    answer = _token_answer(employee)

    assert set(answer) == {"token", "expiry"}
    expiry = parse_datetime(answer["expiry"])
    assert expiry is not None
    lifetime = dt.timedelta(hours=settings.CXC_API_TOKEN_TTL_HOURS)
    assert before + lifetime <= expiry <= timezone.now() + lifetime
    assert _get(answer["token"]) == 200


def test_the_lifetime_is_24_hours_by_default():
    assert settings.CXC_API_TOKEN_TTL_HOURS == 24
    assert settings.REST_KNOX["TOKEN_TTL"] == dt.timedelta(hours=24)


def test_the_database_holds_no_token_only_its_digest(employee):
    token = _token(employee)

    stored = ApiToken.objects.get(user=employee.user)
    row = " ".join(str(value) for value in ApiToken.objects.values().get().values())
    assert token not in row
    assert len(stored.digest) == 128  # SHA-512
    assert stored.token_key == token[:15]  # the lookup prefix only


def test_a_token_stops_working_when_it_expires(employee):
    token = _token(employee)
    lifetime = dt.timedelta(hours=settings.CXC_API_TOKEN_TTL_HOURS)

    with time_machine.travel(timezone.now() + lifetime - dt.timedelta(minutes=1), tick=False):
        assert _get(token) == 200
    with time_machine.travel(timezone.now() + lifetime + dt.timedelta(minutes=1), tick=False):
        assert _get(token) == 401


def test_every_sign_in_gets_its_own_token(employee):
    first, second = _token(employee), _token(employee)

    assert first != second
    assert _get(first) == _get(second) == 200


def test_signing_out_revokes_the_token_used_and_only_it(employee):
    used, other = _token(employee), _token(employee)

    response = Client().post("/api/v1/auth/logout/", headers={"Authorization": f"Token {used}"})

    assert response.status_code == 204
    assert _get(used) == 401
    assert _get(other) == 200


def test_signing_out_everywhere_revokes_every_token(employee):
    used, other = _token(employee), _token(employee)

    response = Client().post("/api/v1/auth/logout-all/", headers={"Authorization": f"Token {used}"})

    assert response.status_code == 204
    assert (_get(used), _get(other)) == (401, 401)
    assert not ApiToken.objects.filter(user=employee.user).exists()


def test_signing_out_needs_a_token(employee):
    response = Client().post("/api/v1/auth/logout/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_changing_the_password_revokes_every_token(employee):
    token = _token(employee)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(employee.user)
    form = browser.get("/accounts/password_change/")

    saved = browser.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "csrfmiddlewaretoken": _csrf(form),
        },
    )

    assert saved.status_code == 302
    assert _get(token) == 401
    assert _get(_token_answer(employee, NEW_PASSWORD)["token"]) == 200


def test_a_password_reset_revokes_every_token(employee):
    token = _token(employee)
    browser = Client(enforce_csrf_checks=True)
    form = browser.get("/accounts/password_reset/")
    browser.post(
        "/accounts/password_reset/",
        {"email": employee.user.email, "csrfmiddlewaretoken": _csrf(form)},
    )
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[0].body)
    assert link
    form = browser.get(link.group(1), follow=True)

    saved = browser.post(
        form.redirect_chain[-1][0],
        {
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "csrfmiddlewaretoken": _csrf(form),
        },
    )

    assert saved["Location"] == "/accounts/reset/done/"
    assert _get(token) == 401


def test_a_password_set_anywhere_else_revokes_every_token(employee):
    token = _token(employee)

    employee.user.set_password(NEW_PASSWORD)  # the admin, `manage.py changepassword`, ...
    employee.user.save()

    assert _get(token) == 401


def test_deactivating_a_person_revokes_their_tokens_for_good(api, employee, hr_admin):
    token = _token(employee)

    api.as_(hr_admin).patch(f"/api/v1/employees/{employee.pk}/", {"is_active": False})

    assert _get(token) == 401
    assert not ApiToken.objects.filter(user=employee.user).exists()
    api.as_(hr_admin).patch(f"/api/v1/employees/{employee.pk}/", {"is_active": True})
    assert _get(token) == 401


def test_a_directory_sync_that_deactivates_a_person_revokes_their_tokens(cast):
    from tests.people.test_directory_sync import everyone, to_csv

    outsider, employee = cast["outsider"], cast["employee"]
    gone, kept = _token(outsider), _token(employee)
    rows = [row for row in everyone(cast) if row["external_id"] != outsider.external_id]

    services.directory_sync_start(
        kind="employees", content=to_csv(rows), requested_by=cast["hr_admin"].user
    )

    assert _get(gone) == 401
    assert not ApiToken.objects.filter(user=outsider.user).exists()
    assert _get(kept) == 200


def test_the_schema_documents_the_token_its_expiry_and_the_token_scheme():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    issued = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]["200"]
    name = issued["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][name]["properties"]) == {"token", "expiry"}
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
    logout = schema["paths"]["/api/v1/auth/logout/"]["post"]
    assert logout["security"] == [{"tokenAuth": []}]
    assert "204" in logout["responses"]


def test_a_client_still_sending_its_expired_token_gets_a_new_one(employee):
    token = _token(employee)
    lifetime = dt.timedelta(hours=settings.CXC_API_TOKEN_TTL_HOURS)

    with time_machine.travel(timezone.now() + lifetime + dt.timedelta(minutes=1), tick=False):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        response = client.post(
            TOKEN, {"username": employee.user.username, "password": PASSWORD}, format="json"
        )
        assert response.status_code == 200
        assert _get(response.json()["token"]) == 200
    assert ApiToken.objects.filter(user=employee.user).count() == 1  # the expired one is gone


def test_signing_out_everywhere_works_from_a_browser_session_too(employee):
    token = _token(employee)
    browser = Client()
    browser.force_login(employee.user)

    assert browser.post("/api/v1/auth/logout-all/").status_code == 204
    assert _get(token) == 401
