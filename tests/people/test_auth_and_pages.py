"""Signing in and out, password reset, API tokens, the navigation per role, the API docs.
(The home page itself is tested in tests/insights/test_home.py.)

Browser-like flows use `Client(enforce_csrf_checks=True)` and read the CSRF token from the form,
as a browser would, so a form that forgets `{% csrf_token %}` fails here.
"""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core import mail
from django.test import Client

from tests.helpers import PASSWORD

NEW_PASSWORD = "a brand new passphrase for 2026"
SIGN_IN_ERROR = "Please enter a correct username and password"


def _csrf(response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert match, "the page has no CSRF token"
    return match.group(1)


def _browser() -> Client:
    return Client(enforce_csrf_checks=True)


def _sign_in(client: Client, username: str, password: str):
    form = client.get("/accounts/login/")
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password, "csrfmiddlewaretoken": _csrf(form)},
    )


def _error_list(response) -> list[str]:
    return re.findall(r'<ul class="errorlist"[^>]*>(.*?)</ul>', response.content.decode(), re.S)


# --- Signing in and out ------------------------------------------------------------------------


def test_the_home_page_sends_an_anonymous_visitor_to_sign_in(db):
    response = Client().get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_a_person_signs_in_with_their_username_and_password(employee):
    browser = _browser()

    response = _sign_in(browser, employee.user.get_username(), PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"
    home = browser.get("/")
    assert home.status_code == 200
    assert "Hello, Erin" in home.content.decode()


def test_signing_in_returns_to_the_page_asked_for(employee):
    browser = _browser()
    form = browser.get("/accounts/login/?next=/people/")

    response = browser.post(
        "/accounts/login/",
        {
            "username": employee.user.get_username(),
            "password": PASSWORD,
            "next": "/people/",
            "csrfmiddlewaretoken": _csrf(form),
        },
    )

    assert response["Location"] == "/people/"


def test_the_sign_in_form_refuses_a_post_without_its_csrf_token(employee):
    browser = _browser()
    browser.get("/accounts/login/")

    response = browser.post(
        "/accounts/login/", {"username": employee.user.get_username(), "password": PASSWORD}
    )

    assert response.status_code == 403
    assert browser.get("/").status_code == 302


def test_a_wrong_password_says_nothing_about_whether_the_user_exists(employee):
    known = _sign_in(_browser(), employee.user.get_username(), "not the password")
    unknown = _sign_in(_browser(), "nobody@example.com", "not the password")

    assert known.status_code == unknown.status_code == 200
    assert _error_list(known) == _error_list(unknown)
    assert len(_error_list(known)) == 1
    assert SIGN_IN_ERROR in _error_list(known)[0]
    assert "exist" not in _error_list(known)[0]


def test_a_deactivated_person_cannot_sign_in(employee):
    employee.user.is_active = False
    employee.user.save()

    response = _sign_in(_browser(), employee.user.get_username(), PASSWORD)

    assert response.status_code == 200
    assert SIGN_IN_ERROR in response.content.decode()


def test_signing_out_is_a_post_that_ends_the_session(employee):
    browser = _browser()
    _sign_in(browser, employee.user.get_username(), PASSWORD)
    home = browser.get("/")

    assert browser.get("/accounts/logout/").status_code == 405
    assert browser.get("/").status_code == 200
    response = browser.post("/accounts/logout/", {"csrfmiddlewaretoken": _csrf(home)})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert browser.get("/").status_code == 302


# --- Password reset --------------------------------------------------------------------------


def _ask_for_reset(browser: Client, email: str):
    form = browser.get("/accounts/password_reset/")
    return browser.post(
        "/accounts/password_reset/", {"email": email, "csrfmiddlewaretoken": _csrf(form)}
    )


def test_password_reset_emails_a_link_that_sets_a_new_password(employee, settings):
    settings.CXC_BASE_URL = "https://cx.example.com"
    browser = _browser()

    response = _ask_for_reset(browser, employee.user.email)

    assert response["Location"] == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [employee.user.email]
    # The link starts with the configured address, not the Host header of the request.
    link = re.search(r"https://cx\.example\.com(/accounts/reset/\S+/)", message.body)
    assert link, message.body
    form = browser.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    saved = browser.post(
        form.redirect_chain[-1][0],
        {
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "csrfmiddlewaretoken": _csrf(form),
        },
    )
    assert saved["Location"] == "/accounts/reset/done/"

    assert _sign_in(_browser(), employee.user.get_username(), PASSWORD).status_code == 200
    assert _sign_in(_browser(), employee.user.get_username(), NEW_PASSWORD).status_code == 302
    again = browser.get(link.group(1), follow=True)
    assert "This link has expired" in again.content.decode()


def test_password_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(employee):
    response = _ask_for_reset(_browser(), "nobody@example.com")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []


# --- API tokens --------------------------------------------------------------------------------


def test_an_api_token_from_username_and_password_authenticates_api_requests(employee, org):
    client = Client()
    answer = client.post(
        "/api/v1/auth/token/",
        {"username": employee.user.get_username(), "password": PASSWORD},
        content_type="application/json",
    )
    assert answer.status_code == 200
    token = answer.json()["token"]

    response = client.get("/api/v1/teams/", headers={"Authorization": f"Token {token}"})

    assert response.status_code == 200
    assert response.json()["count"] == 5
    assert client.get("/api/v1/teams/").status_code == 401


def test_each_sign_in_gets_a_token_of_its_own_and_both_work(employee):
    client = Client()
    credentials = {"username": employee.user.get_username(), "password": PASSWORD}

    first = client.post("/api/v1/auth/token/", credentials, content_type="application/json")
    second = client.post("/api/v1/auth/token/", credentials, content_type="application/json")

    assert first.json()["token"] != second.json()["token"]
    for answer in (first, second):
        auth = {"Authorization": f"Token {answer.json()['token']}"}
        assert client.get("/api/v1/teams/", headers=auth).status_code == 200


def test_a_wrong_token_is_refused(employee):
    response = Client().get("/api/v1/teams/", headers={"Authorization": "Token not-a-token"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_signed_in_browser_must_send_the_csrf_token_to_write_through_the_api(hr_admin):
    browser = _browser()
    _sign_in(browser, hr_admin.user.get_username(), PASSWORD)
    token = _csrf(browser.get("/"))
    value = {"name": "Say yes", "description": "Find a way."}

    refused = browser.post("/api/v1/values/", value, content_type="application/json")
    accepted = browser.post(
        "/api/v1/values/", value, content_type="application/json", headers={"X-CSRFToken": token}
    )

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert accepted.status_code == 201
    assert accepted.json()["name"] == "Say yes"


def test_a_wrong_password_gets_no_token(employee):
    response = Client().post(
        "/api/v1/auth/token/",
        {"username": employee.user.get_username(), "password": "not the password"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "token" not in response.json()
    assert response.json()["error"]["code"] == "invalid"


# --- Pages per role ----------------------------------------------------------------------------


def _nav(response) -> list[str]:
    nav = re.search(r'<nav class="nav"[^>]*>(.*?)</nav>', response.content.decode(), re.S)
    assert nav, "the page has no navigation"
    return re.findall(r"<li><a [^>]*>([^<]+)</a></li>", nav.group(1))


EVERYONE_NAV = ["Home", "Surveys", "Recognition", "Rewards", "Exceptions", "Actions", "People"]


@pytest.mark.parametrize(
    ("role", "nav"),
    [
        ("employee", EVERYONE_NAV),
        (
            "manager",
            [
                *EVERYONE_NAV,
                "Dashboard",
                "Insights",
                "Exception reviews",
                "Not recognised lately",
                "API docs",
            ],
        ),
        ("executive", [*EVERYONE_NAV, "Dashboard", "Insights", "API docs"]),
        (
            "hr_admin",
            [
                *EVERYONE_NAV,
                "Dashboard",
                "Insights",
                "Exception reviews",
                "Redemptions",
                "Reward catalogue",
                "Reward budgets",
                "Customer outcomes",
                "Directory sync",
                "Audit log",
                "API docs",
            ],
        ),
    ],
)
def test_the_navigation_offers_what_the_role_may_use(client, cast, role, nav):
    client.force_login(cast[role].user)

    assert _nav(client.get("/")) == nav


@pytest.mark.parametrize("role", ["employee", "manager", "executive"])
def test_only_hr_reaches_the_directory_sync_page(client, cast, role):
    client.force_login(cast[role].user)

    assert client.get("/people/sync/").status_code == 403


def test_hr_reaches_the_directory_sync_page(client, cast):
    client.force_login(cast["hr_admin"].user)

    assert client.get("/people/sync/").status_code == 200


# --- Static assets and API docs: all served by the app itself (air-gapped) ---------------------


def _local_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def _found_in_static(url: str) -> bool:
    return finders.find(url.removeprefix("/static/")) is not None


def test_every_page_loads_htmx_and_chartjs_from_the_apps_own_static_files(client, employee):
    client.force_login(employee.user)

    page = client.get("/").content.decode()

    assert '<script src="/static/vendor/htmx/htmx.min.js" defer></script>' in page
    assert '<script src="/static/vendor/chartjs/chart.umd.min.js" defer></script>' in page
    assert all(_found_in_static(url) for url in _local_assets(page))
    assert re.search(r"https?://", page) is None


def test_the_sign_in_page_uses_no_outside_resources(db):
    page = Client().get("/accounts/login/").content.decode()

    assert re.search(r"https?://", page) is None
    assert _local_assets(page)
    assert all(_found_in_static(url) for url in _local_assets(page))


def test_the_openapi_schema_is_public_and_lists_the_people_paths(db):
    """The schema describes the product, not its data: it is public (and the code is open)."""
    response = Client().get("/api/schema/?format=json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/teams/",
        "/api/v1/teams/{id}/",
        "/api/v1/employees/",
        "/api/v1/employees/{id}/",
        "/api/v1/values/",
        "/api/v1/policies/",
        "/api/v1/directory-syncs/",
        "/api/v1/directory-syncs/{id}/confirm/",
        "/api/v1/auth/token/",
    } <= set(schema["paths"])
    assert {"cookieAuth", "tokenAuth"} <= set(schema["components"]["securitySchemes"])


def test_the_schema_is_served_as_yaml_by_default(db):
    response = Client().get("/api/schema/")

    assert response.status_code == 200
    assert response.content.decode().startswith("openapi: 3.")


def test_the_api_docs_are_served_from_local_static_files_only(db):
    """Docs show the public schema and hold no data, so they are readable without signing in."""
    response = Client().get("/api/docs/")

    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r"https?://", page) is None
    assets = _local_assets(page)
    assert any(url.endswith("swagger-ui-bundle.js") for url in assets)
    assert all(_found_in_static(url) for url in assets)
    # The page's own script is a separate, same-origin file (no inline script for the CSP).
    assert "<script>" not in page
    script = Client().get("/api/docs/", {"script": ""}).content.decode()
    assert '"/api/schema/"' in script


def test_the_directory_finds_a_full_name_in_either_order_but_not_an_email_address(client, cast):
    client.force_login(cast["employee"].user)
    email = cast["outsider"].user.email

    for typed in ("Olga Outsider", "outsider olga", "olg outs"):
        page = client.get("/people/", {"q": typed}).content.decode()
        assert "Olga Outsider" in page, typed
    by_email = client.get("/people/", {"q": email}).content.decode()
    assert "Olga Outsider" not in by_email
    assert "Nobody matches" in by_email
