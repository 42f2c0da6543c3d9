"""Login lockout (django-axes): 5 failures for one username from one IP lock that combination
for 15 minutes, on the sign-in page and on the API token endpoint alike. During the cool-off
even the right password is refused, and no answer says whether the username exists."""

import datetime as dt
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.helpers import PASSWORD

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"
pytestmark = pytest.mark.django_db


def _sign_in(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _token(username: str, password: str, ip: str = "10.0.0.1"):
    return APIClient().post(
        TOKEN, {"username": username, "password": password}, format="json", REMOTE_ADDR=ip
    )


def test_the_limit_is_5_failures_and_the_cool_off_15_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_20_wrong_passwords_lock_the_account_and_the_right_one_is_then_refused(employee):
    client = Client()
    username = employee.user.username
    statuses = [_sign_in(client, username, "wrong").status_code for _ in range(20)]

    # 4 ordinary refusals (the form again), then the lockout from the 5th on.
    assert statuses == [200] * 4 + [429] * 16
    response = _sign_in(client, username, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username=username).failures_since_start >= 5


def test_after_the_cool_off_the_right_password_works_again(employee):
    client = Client()
    for _ in range(5):
        _sign_in(client, employee.user.username, "wrong")
    assert _sign_in(client, employee.user.username, PASSWORD).status_code == 429

    with time_machine.travel(
        timezone.now() + settings.AXES_COOLOFF_TIME + dt.timedelta(minutes=1), tick=False
    ):
        response = _sign_in(client, employee.user.username, PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(employee.user_id)


def test_the_lock_is_per_username_and_ip_so_another_address_still_signs_in(employee):
    for _ in range(5):
        _sign_in(Client(), employee.user.username, "wrong", ip="10.0.0.1")

    assert _sign_in(Client(), employee.user.username, PASSWORD, ip="10.0.0.1").status_code == 429
    assert _sign_in(Client(), employee.user.username, PASSWORD, ip="10.0.0.2").status_code == 302


def test_the_sign_in_page_answers_the_same_whether_the_user_exists_or_not(employee):
    known, unknown = employee.user.username, "nobody@example.com"
    for attempt in range(7):
        first = _sign_in(Client(), known, "wrong")
        second = _sign_in(Client(), unknown, "wrong")
        assert first.status_code == second.status_code, attempt
        assert _text(first) == _text(second).replace(unknown, known), attempt
    assert "Too many failed sign-in attempts" in _text(first)


def _text(response) -> str:
    # The page embeds per-request CSRF tokens and a CSP nonce: compare the rest.
    body = response.content.decode()
    body = re.sub(r"[A-Za-z0-9]{64}", "<csrf>", body)
    return re.sub(r'nonce="[^"]+"', "", body)


def test_the_api_token_endpoint_counts_failures_and_refuses_a_locked_user(employee):
    username = employee.user.username
    answers = [_token(username, "wrong") for _ in range(20)]

    assert {answer.status_code for answer in answers} == {400}
    assert AccessAttempt.objects.get(username=username).failures_since_start == 20
    refused = _token(username, PASSWORD)
    assert refused.status_code == 400
    assert "token" not in refused.json()
    assert _token(username, PASSWORD, ip="10.0.0.9").status_code == 200


def test_the_api_token_endpoint_answers_the_same_whether_the_user_exists_or_not(employee):
    for _ in range(7):
        known = _token(employee.user.username, "wrong")
        unknown = _token("nobody@example.com", "wrong")
        assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
def test_20_concurrent_wrong_passwords_lock_the_account(employee):
    username = employee.user.username
    barrier = threading.Barrier(20)

    def attempt(_: int) -> int:
        try:
            barrier.wait(timeout=30)
            return _sign_in(Client(), username, "wrong").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(attempt, range(20)))

    assert set(statuses) <= {200, 429}
    assert _sign_in(Client(), username, PASSWORD).status_code == 429
    assert AccessAttempt.objects.get(username=username).failures_since_start >= 5


def _sign_in_via(username: str, password: str, forwarded_for: str):
    return Client().post(
        LOGIN,
        {"username": username, "password": password},
        REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_a_spoofed_forwarded_for_header_does_not_escape_the_lock(employee):
    username = employee.user.username
    for n in range(5):
        _sign_in_via(username, "wrong", forwarded_for=f"203.0.113.{n}")

    assert _sign_in_via(username, PASSWORD, forwarded_for="203.0.113.99").status_code == 429


def test_behind_a_trusted_proxy_the_lock_follows_the_address_the_proxy_saw(settings, employee):
    settings.CXC_TRUSTED_PROXY_COUNT = 1
    username = employee.user.username
    for n in range(5):  # the client varies the left of the header; the proxy appends the truth
        _sign_in_via(username, "wrong", forwarded_for=f"203.0.113.{n}, 198.51.100.7")

    assert _sign_in_via(username, PASSWORD, forwarded_for="198.51.100.7").status_code == 429
    assert _sign_in_via(username, PASSWORD, forwarded_for="198.51.100.8").status_code == 302


def _at_once(count: int, attempt) -> list:
    """`attempt(n)` from `count` threads released together, each on its own connection."""
    barrier = threading.Barrier(count)

    def run(n: int):
        try:
            barrier.wait(timeout=30)
            return attempt(n)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture
def tried(monkeypatch) -> list[str]:
    """Every password the server checks against a user's hash, in order."""
    checked: list[str] = []
    check_password = User.check_password

    def counting_check(user, raw_password):
        checked.append(raw_password)
        return check_password(user, raw_password)

    monkeypatch.setattr(User, "check_password", counting_check)
    return checked


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
def test_20_guesses_at_once_on_the_sign_in_page_try_only_5_passwords(tried, employee):
    username = employee.user.username

    statuses = _at_once(20, lambda n: _sign_in(Client(), username, f"wrong-{n}").status_code)

    # Exactly as when sent one after another: 4 guesses are checked and refused, the 5th
    # failure locks, and the other 15 are refused without their password being tried.
    assert sorted(statuses) == [200] * 4 + [429] * 16
    assert len(tried) == 5
    assert _sign_in(Client(), username, PASSWORD).status_code == 429


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
def test_20_guesses_at_once_on_the_token_endpoint_try_only_5_passwords(tried, employee):
    username = employee.user.username

    answers = _at_once(20, lambda n: _token(username, f"wrong-{n}").status_code)

    assert set(answers) == {400}
    assert len(tried) == 5
    assert _token(username, PASSWORD).status_code == 400


def test_an_overlong_username_on_the_sign_in_page_gets_the_ordinary_form_error():
    response = _sign_in(Client(raise_request_exception=False), "a" * 300, "wrong")

    assert response.status_code == 200
    assert "Please enter a correct username and password" in _text(response)
    assert not AccessAttempt.objects.exists()


def test_an_overlong_username_on_the_token_endpoint_is_a_400_in_the_error_format():
    response = _token("a" * 300, "wrong")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["username"] == ["Ensure this field has no more than 150 characters."]
    assert not AccessAttempt.objects.exists()
