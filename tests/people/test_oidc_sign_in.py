"""Single sign-on with OpenID Connect, against a real provider on loopback.

The provider is django-oauth-toolkit in its own process (tests/oidc_provider): its login form,
authorization endpoint, token endpoint, RS256-signed ID tokens, JWKS and user info are real.
The browser is played by two user agents: `requests` at the provider and Django's test client
at cxculture, handing the redirects to each other as a browser would. The same journey in a
real browser is in tests/e2e/test_sign_in_journeys.py.
"""

import re
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation
from django.test import Client

from cxculture.people import services
from cxculture.people.models import DirectorySync, Employee
from tests.helpers import PASSWORD
from tests.oidc_provider.process import Provider, running_provider

CALLBACK = "http://testserver/accounts/oidc/callback/"
PROVIDER_PASSWORD = "provider pass phrase 2026"
# People at the identity provider: Ana is in the directory (with her address in lower case
# there), Ivan is in it but has left, Nora is not in it at all. Ana's private account has
# another address but carries her employee number.
ANA = "Ana.Synced@Example.com"
ANA_PRIVATE = "ana.private@example.net"
IVAN = "ivan.left@example.com"
NORA = "nora.nobody@example.com"
# Una is in the directory, but the provider has not verified that the address is hers.
UNA = "una.unverified@example.com"
DIRECTORY = (
    "external_id,email,first_name,last_name,team_external_id,is_active\n"
    "E-100,ana.synced@example.com,Ana,Synced,SUP-A,yes\n"
    "E-200,ivan.left@example.com,Ivan,Left,SUP-A,no\n"
    "E-300,una.unverified@example.com,Una,Unverified,SUP-A,yes\n"
)


@pytest.fixture(scope="module")
def provider():
    users = [
        {"email": ANA, "password": PROVIDER_PASSWORD, "employee_number": "E-100"},
        {"email": ANA_PRIVATE, "password": PROVIDER_PASSWORD, "employee_number": "E-100"},
        {"email": IVAN, "password": PROVIDER_PASSWORD, "employee_number": "E-200"},
        {"email": NORA, "password": PROVIDER_PASSWORD, "employee_number": "E-999"},
        {
            "email": UNA,
            "password": PROVIDER_PASSWORD,
            "employee_number": "E-300",
            "email_verified": False,
        },
    ]
    with running_provider(redirect_uris=[CALLBACK], users=users) as running:
        yield running


@pytest.fixture
def sso(settings, provider):
    settings.CXC_OIDC_ISSUER = provider.issuer
    settings.CXC_OIDC_CLIENT_ID = provider.client_id
    settings.CXC_OIDC_CLIENT_SECRET = provider.client_secret
    settings.CXC_OIDC_PROVIDER_NAME = "Example Identity"
    return provider


@pytest.fixture
def synced(org):
    """Ana, Ivan and Una, as a directory sync of HR's employees file creates them."""
    sync = services.directory_sync_start(
        kind="employees", content=DIRECTORY.encode(), requested_by=None
    )
    assert sync.status == DirectorySync.Status.APPLIED, sync.errors
    return {e.external_id: e for e in Employee.objects.select_related("user")}


def _through_provider(client: Client, provider: Provider, email: str, next_url: str = "/"):
    """Click "Sign in with ...", sign in at the provider, follow it back; cxculture's answer."""
    start = client.get("/accounts/oidc/authenticate/", {"next": next_url})
    assert start.status_code == 302
    assert start["Location"].startswith(provider.issuer + "/authorize/")
    agent = provider.signed_in_session(email, PROVIDER_PASSWORD)
    back = agent.get(start["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text
    assert back.headers["Location"].startswith(CALLBACK)
    return client.get(back.headers["Location"].removeprefix("http://testserver"))


def _signed_in_name(client: Client) -> str | None:
    home = client.get("/")
    if home.status_code != 200:
        return None
    match = re.search(r"<h1>Hello, ([^<]+)</h1>", home.content.decode())
    return match.group(1) if match else None


def test_a_synced_person_signs_in_with_the_provider_matched_by_email_in_any_case(sso, synced):
    client = Client()

    response = _through_provider(client, sso, ANA)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _signed_in_name(client) == "Ana"


def test_the_sign_in_returns_to_the_page_the_person_asked_for(sso, synced):
    client = Client()

    response = _through_provider(client, sso, ANA, next_url="/people/")

    assert response["Location"] == "/people/"


def test_a_person_not_in_the_directory_is_refused_and_no_account_is_made(sso, synced):
    users_before = User.objects.count()
    client = Client()

    response = _through_provider(client, sso, NORA)

    assert response.status_code == 403
    page = response.content.decode()
    assert "You are not in the directory" in page
    assert NORA in page
    assert "ask HR to add you" in page
    assert User.objects.count() == users_before
    assert _signed_in_name(client) is None


def test_a_person_who_left_is_refused_with_a_page_that_says_so(sso, synced):
    client = Client()

    response = _through_provider(client, sso, IVAN)

    assert response.status_code == 403
    assert "Your account is inactive" in response.content.decode()
    assert _signed_in_name(client) is None


def test_an_address_the_provider_has_not_verified_matches_nobody(sso, synced):
    client = Client()

    response = _through_provider(client, sso, UNA)

    assert response.status_code == 403
    assert "You are not in the directory" in response.content.decode()
    assert _signed_in_name(client) is None


def test_with_an_external_id_claim_people_are_matched_by_it_not_by_email(sso, synced, settings):
    settings.CXC_OIDC_EXTERNAL_ID_CLAIM = "employee_number"

    private = Client()
    assert _through_provider(private, sso, ANA_PRIVATE).status_code == 302
    assert _signed_in_name(private) == "Ana"

    # Nora's employee number is not in the directory, whatever her address.
    nobody = Client()
    response = _through_provider(nobody, sso, NORA)
    assert response.status_code == 403
    assert "E-999" in response.content.decode()


def test_a_callback_cannot_be_replayed(sso, synced):
    client = Client()
    start = client.get("/accounts/oidc/authenticate/")
    agent = sso.signed_in_session(ANA, PROVIDER_PASSWORD)
    callback = agent.get(start["Location"], allow_redirects=False, timeout=10).headers["Location"]
    path = callback.removeprefix("http://testserver")
    assert client.get(path).status_code == 302

    attacker = Client()
    replayed = attacker.get(path)

    assert replayed.status_code == 400
    assert "Sign-in did not complete" in replayed.content.decode()
    assert _signed_in_name(attacker) is None


def test_the_provider_is_asked_for_a_code_with_pkce_and_a_nonce(sso, synced):
    start = Client().get("/accounts/oidc/authenticate/")

    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["client_id"] == [sso.client_id]
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["openid email profile"]
    assert len(query["nonce"][0]) >= 32
    assert query["redirect_uri"] == [CALLBACK]


def test_the_sign_in_page_offers_the_provider_only_when_it_is_configured(db, settings, provider):
    without = Client().get("/accounts/login/").content.decode()
    assert "Sign in with" not in without
    assert Client().get("/accounts/oidc/authenticate/").status_code == 404
    assert Client().get("/accounts/oidc/callback/").status_code == 404

    settings.CXC_OIDC_ISSUER = provider.issuer
    settings.CXC_OIDC_CLIENT_ID = provider.client_id
    settings.CXC_OIDC_CLIENT_SECRET = provider.client_secret
    settings.CXC_OIDC_PROVIDER_NAME = "Example Identity"
    page = Client().get("/accounts/login/?next=/people/").content.decode()

    assert (
        '<a class="button button-secondary sso-button" id="sign-in-with-provider"\n'
        '     href="/accounts/oidc/authenticate/?next=/people/">Sign in with Example Identity</a>'
    ) in page


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_provider_that_cannot_be_reached_gets_a_clear_page_and_passwords_still_work(
    settings, employee
):
    settings.CXC_OIDC_ISSUER = f"http://127.0.0.1:{_closed_port()}/o"
    settings.CXC_OIDC_CLIENT_ID = "cxculture"
    settings.CXC_OIDC_CLIENT_SECRET = "secret"
    settings.CXC_OIDC_TIMEOUT_SECONDS = 2

    response = Client().get("/accounts/oidc/authenticate/")

    assert response.status_code == 502
    assert "cannot be reached" in response.content.decode()
    client = Client()
    signed_in = client.post(
        "/accounts/login/", {"username": employee.user.username, "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    assert _signed_in_name(client) == "Erin"


def test_explicit_endpoints_work_without_an_issuer(sso, synced, settings):
    issuer = sso.issuer
    settings.CXC_OIDC_ISSUER = ""
    settings.CXC_OIDC_AUTHORIZATION_ENDPOINT = issuer + "/authorize/"
    settings.CXC_OIDC_TOKEN_ENDPOINT = issuer + "/token/"
    settings.CXC_OIDC_USERINFO_ENDPOINT = issuer + "/userinfo/"
    settings.CXC_OIDC_JWKS_ENDPOINT = issuer + "/.well-known/jwks.json"
    client = Client()

    assert _through_provider(client, sso, ANA).status_code == 302
    assert _signed_in_name(client) == "Ana"


def test_refusals_from_one_address_do_not_lock_out_the_next_person_there(sso, synced, settings):
    # An office behind one address: people who are not in the directory try again and again.
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        assert _through_provider(Client(), sso, NORA).status_code == 403

    colleague = Client()
    assert _through_provider(colleague, sso, ANA).status_code == 302
    assert _signed_in_name(colleague) == "Ana"


@pytest.mark.parametrize(
    ("claims", "refusal"),
    [
        ({"aud": "another-client"}, "issued for another client"),
        ({"iss": "http://127.0.0.1:1/elsewhere"}, "comes from another issuer"),
        ({"nonce": "not-this-sign-in"}, "Nonce verification failed"),
    ],
)
def test_an_id_token_for_another_client_issuer_or_sign_in_is_refused(settings, claims, refusal):
    # The signature is good (our own key): only the claims are wrong.
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from cxculture.people.oidc import DirectoryOIDCBackend

    settings.CXC_OIDC_ISSUER = "http://127.0.0.1:1/o"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = {"aud": "cxculture", "iss": "http://127.0.0.1:1/o", "sub": "1", "nonce": "n-1"}
    backend = DirectoryOIDCBackend()
    backend.OIDC_RP_CLIENT_ID = "cxculture"
    backend.OIDC_RP_SIGN_ALGO = "RS256"
    backend.OIDC_RP_IDP_SIGN_KEY = key.public_key()
    assert backend.verify_token(jwt.encode(good, key, "RS256"), nonce="n-1")["sub"] == "1"

    with pytest.raises(SuspiciousOperation, match=refusal):
        backend.verify_token(jwt.encode({**good, **claims}, key, "RS256"), nonce="n-1")


def test_a_person_signed_in_by_the_provider_is_signed_out_when_they_leave(sso, synced):
    client = Client()
    _through_provider(client, sso, ANA)
    assert _signed_in_name(client) == "Ana"

    services.employee_update(employee=synced["E-100"], is_active=False)

    assert _signed_in_name(client) is None
    assert client.get("/")["Location"] == "/accounts/login/?next=/"
