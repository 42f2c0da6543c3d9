"""Signing in without a password of one's own, in a real browser.

Single sign-on: Chromium clicks "Sign in with Example Identity", signs in at a real OpenID
Connect provider (django-oauth-toolkit on 127.0.0.1, tests/oidc_provider) and comes back to
cxculture (the live server on localhost, so the two never share cookies). Invitations: HR
invites a person without a password, who opens the e-mailed link and chooses one."""

import re

import pytest
from django.core import mail

from cxculture.people import services
from cxculture.people.models import DirectorySync
from tests.helpers import PASSWORD
from tests.oidc_provider.process import running_provider

pytestmark = pytest.mark.django_db(transaction=True)

PROVIDER_PASSWORD = "provider pass phrase 2026"
ANA = "Ana.Synced@Example.com"
NORA = "nora.nobody@example.com"


@pytest.fixture(scope="module")
def provider(live_server):
    users = [
        {"email": ANA, "password": PROVIDER_PASSWORD, "employee_number": "E-100"},
        {"email": NORA, "password": PROVIDER_PASSWORD, "employee_number": "E-999"},
    ]
    callback = live_server.url + "/accounts/oidc/callback/"
    with running_provider(redirect_uris=[callback], users=users) as running:
        yield running


@pytest.fixture
def sso(settings, provider, org):
    settings.CXC_OIDC_ISSUER = provider.issuer
    settings.CXC_OIDC_CLIENT_ID = provider.client_id
    settings.CXC_OIDC_CLIENT_SECRET = provider.client_secret
    settings.CXC_OIDC_PROVIDER_NAME = "Example Identity"
    # Ana arrives by directory sync (with her address in lower case); Nora is not in the file.
    sync = services.directory_sync_start(
        kind="employees",
        content=(
            b"external_id,email,first_name,last_name,team_external_id\n"
            b"E-100,ana.synced@example.com,Ana,Synced,SUP-A\n"
        ),
        requested_by=None,
    )
    assert sync.status == DirectorySync.Status.APPLIED, sync.errors
    return provider


def _sign_in_at_provider(session, email: str) -> None:
    session.go("/accounts/login/")
    session.screenshot("sso-sign-in-page")
    session.page.click("text=Sign in with Example Identity")
    session.page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/login/.*"))
    session.page.fill("#id_username", email)
    session.page.fill("#id_password", PROVIDER_PASSWORD)
    session.page.click("#provider-sign-in")


def test_a_synced_person_signs_in_through_the_provider_and_lands_on_their_home_page(
    open_session, sso, live_server
):
    session = open_session()

    _sign_in_at_provider(session, ANA)

    session.page.wait_for_url(live_server.url + "/")
    assert session.page.locator("h1").inner_text() == "Hello, Ana"
    assert session.page.locator(".role-badge").inner_text() == "Employee"
    session.screenshot("sso-home")
    assert session.console_errors == []


def test_a_person_not_in_the_directory_is_refused_by_a_page_that_says_so(
    open_session, sso, live_server
):
    session = open_session()

    _sign_in_at_provider(session, NORA)

    session.page.wait_for_url(re.compile(re.escape(live_server.url) + r"/accounts/oidc/callback/"))
    assert session.page.locator("h1").inner_text() == "You are not in the directory"
    assert NORA in session.page.locator("[role=alert]").inner_text()
    session.screenshot("sso-refused")
    response = session.go("/")
    assert session.page.url.startswith(live_server.url + "/accounts/login/")
    assert response.status == 200


def test_hr_invites_a_person_who_chooses_a_password_and_signs_in(
    open_session, cast, settings, live_server
):
    settings.CXC_BASE_URL = live_server.url
    # As a directory sync leaves a new person: in the directory, without a password.
    services.employee_create(
        email="bo@example.com",
        first_name="Bo",
        last_name="Synced",
        external_id="E-300",
        team=cast["employee"].team,
    )
    hr = open_session()
    hr.sign_in(cast["hr_admin"].user.email, PASSWORD)
    hr.go("/people/")
    assert "active person has no password yet" in hr.page.locator(".invite-all").inner_text()
    hr.screenshot("people-invite-all")
    hr.page.click("text=Bo Synced")
    assert hr.page.locator("#password-status").inner_text() == "Not set yet"
    hr.page.click("text=Send an invitation")
    assert "went to bo@example.com" in hr.page.locator(".messages").inner_text()
    hr.screenshot("person-invited")

    (invitation,) = mail.outbox
    link = re.search(r"(http://\S+/accounts/reset/\S+/)", invitation.body).group(1)
    bo = open_session()
    bo.go(link.removeprefix(live_server.url))
    bo.page.fill("#id_new_password1", "bo's own pass phrase 2026")
    bo.page.fill("#id_new_password2", "bo's own pass phrase 2026")
    bo.page.click("button[type=submit]")
    assert bo.page.locator("h1").inner_text() == "Your password is saved"
    bo.sign_in("bo@example.com", "bo's own pass phrase 2026")
    assert bo.page.locator("h1").inner_text() == "Hello, Bo"
    assert hr.console_errors == [] and bo.console_errors == []
