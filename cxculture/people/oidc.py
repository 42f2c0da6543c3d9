"""Single sign-on with OpenID Connect, on mozilla-django-oidc.

People who arrive by directory sync sign in with the organisation's identity provider. The
provider says who they are; the directory says whether they may come in: a person is matched by
e-mail (case-insensitive) or, with `CXC_OIDC_EXTERNAL_ID_CLAIM`, by that claim against their
external id, and someone who is not in the directory, or is inactive there, is refused with a
page that says so. No user is ever created here.

The endpoints come from explicit settings or from the issuer's discovery document, read when
someone first signs in (and cached), so a provider that is down never stops the application
from starting, and a password sign-in never calls it.
"""

import hashlib
import logging
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from . import selectors

logger = logging.getLogger(__name__)

DISCOVERY_CACHE_SECONDS = 3600
REFUSAL_ATTRIBUTE = "cxc_oidc_refusal"

# mozilla-django-oidc settings that cxculture fixes rather than exposes: people are matched to
# the directory and never created; PKCE and a nonce on every sign-in; no tokens kept.
_FIXED_SETTINGS: dict[str, Any] = {
    "OIDC_CREATE_USER": False,
    "OIDC_USE_PKCE": True,
    "OIDC_USE_NONCE": True,
    "OIDC_STORE_ACCESS_TOKEN": False,
    "OIDC_STORE_ID_TOKEN": False,
    "OIDC_AUTHENTICATION_CALLBACK_URL": "oidc_authentication_callback",
}
_FROM_CXC_SETTINGS = {
    "OIDC_RP_CLIENT_ID": "CXC_OIDC_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET": "CXC_OIDC_CLIENT_SECRET",
    "OIDC_RP_SIGN_ALGO": "CXC_OIDC_SIGN_ALGO",
    "OIDC_RP_SCOPES": "CXC_OIDC_SCOPES",
    "OIDC_TIMEOUT": "CXC_OIDC_TIMEOUT_SECONDS",
}
# Our setting name -> the key of the discovery document.
_ENDPOINTS = {
    "CXC_OIDC_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "CXC_OIDC_TOKEN_ENDPOINT": "token_endpoint",
    "CXC_OIDC_USERINFO_ENDPOINT": "userinfo_endpoint",
    "CXC_OIDC_JWKS_ENDPOINT": "jwks_uri",
}


class ProviderUnavailable(Exception):
    """The identity provider's discovery document could not be read or is not usable."""


def oidc_setting(attr: str, *default: Any) -> Any:
    """mozilla-django-oidc's settings, read from cxculture's `CXC_OIDC_*` settings."""
    if attr in _FIXED_SETTINGS:
        return _FIXED_SETTINGS[attr]
    if attr in _FROM_CXC_SETTINGS:
        return getattr(settings, _FROM_CXC_SETTINGS[attr])
    return import_from_settings(attr, *default)


def oidc_enabled() -> bool:
    """True when a client and either an issuer or every endpoint are configured."""
    if not (settings.CXC_OIDC_CLIENT_ID and settings.CXC_OIDC_CLIENT_SECRET):
        return False
    if settings.CXC_OIDC_ISSUER:
        return True
    return all(getattr(settings, name) for name in _ENDPOINTS)


def provider_name() -> str:
    return settings.CXC_OIDC_PROVIDER_NAME


def _issuer() -> str:
    return settings.CXC_OIDC_ISSUER.rstrip("/")


def _discovery() -> dict[str, Any]:
    issuer = _issuer()
    key = "cxc:oidc:discovery:" + hashlib.sha256(issuer.encode()).hexdigest()
    document = cache.get(key)
    if document is not None:
        return document
    url = issuer + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.CXC_OIDC_TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"Reading {url} failed: {exc}") from exc
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
        # OpenID Connect Discovery 4.3: the document must name the issuer it was read from.
        raise ProviderUnavailable(f"{url} does not describe the issuer {issuer}.")
    cache.set(key, document, DISCOVERY_CACHE_SECONDS)
    return document


def provider_endpoints() -> dict[str, str]:
    """The four endpoints by our setting names: explicit settings win over discovery."""
    explicit = {name: getattr(settings, name) for name in _ENDPOINTS}
    if settings.CXC_OIDC_ISSUER and not all(explicit.values()):
        document = _discovery()
        for name, key in _ENDPOINTS.items():
            explicit[name] = explicit[name] or str(document.get(key) or "")
    missing = [name for name, value in explicit.items() if not value]
    if missing:
        raise ProviderUnavailable(f"No endpoint for {', '.join(missing)}.")
    return explicit


class DirectoryOIDCBackend(OIDCAuthenticationBackend):
    """Signs in a person of the directory whom the identity provider vouches for."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django builds every backend for every sign-in, password ones included: the provider
        # is configured in authenticate(), only for an OpenID Connect callback.
        self.UserModel = get_user_model()

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        # Only the callback view passes a nonce; any other sign-in is not ours.
        if request is None or "nonce" not in kwargs or not oidc_enabled():
            return None
        endpoints = provider_endpoints()
        self.OIDC_OP_TOKEN_ENDPOINT = endpoints["CXC_OIDC_TOKEN_ENDPOINT"]
        self.OIDC_OP_USER_ENDPOINT = endpoints["CXC_OIDC_USERINFO_ENDPOINT"]
        self.OIDC_OP_JWKS_ENDPOINT = endpoints["CXC_OIDC_JWKS_ENDPOINT"]
        self.OIDC_RP_CLIENT_ID = settings.CXC_OIDC_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.CXC_OIDC_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.CXC_OIDC_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id: Any) -> Any:
        """The signed-in user of a session this backend started, while they are still active
        (the library's own would keep someone who has left signed in)."""
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The library checks the signature and the nonce; the ID token must also be for
        this client and, with an issuer configured, from that issuer."""
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token was issued for another client.")
        if _issuer() and str(payload.get("iss", "")).rstrip("/") != _issuer():
            raise SuspiciousOperation("The ID token comes from another issuer.")
        return payload

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict) -> Any:
        claims = self.get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):
            # OpenID Connect Core 5.3.2: the user info must be about the ID token's subject.
            raise SuspiciousOperation("The user info is about someone else.")
        claim = settings.CXC_OIDC_EXTERNAL_ID_CLAIM
        email = str(claims.get("email") or "")
        if claim:
            identity = str(claims.get(claim) or "")
            employee = selectors.employee_for_sign_in(external_id=identity) if identity else None
        else:
            identity = email
            # An address the provider says it has not verified proves nothing.
            verified = claims.get("email_verified", True) not in (False, "false")
            employee = selectors.employee_for_sign_in(email=email) if email and verified else None
        if employee is None:
            reason = "not_in_directory"
        elif not (employee.is_active and employee.user.is_active):
            reason = "inactive"
        else:
            return employee.user
        setattr(self.request, REFUSAL_ATTRIBUTE, {"reason": reason, "identity": identity})
        logger.info("Single sign-on refused (%s)", reason)
        return None


def _sign_in_failed(request: HttpRequest, *, reason: str, identity: str = "") -> HttpResponse:
    status = 403 if reason in ("not_in_directory", "inactive") else 400
    if reason == "unavailable":
        status = 502
    context = {"reason": reason, "identity": identity, "provider_name": provider_name()}
    return render(request, "registration/oidc_refused.html", context, status=status)


class SignInWithProviderView(OIDCAuthenticationRequestView):
    """Sends the browser to the identity provider (authorization code flow with PKCE)."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, **kwargs: Any) -> None:
        # The endpoint is looked up per request (discovery), not when the view is built.
        View.__init__(self, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_endpoints()["CXC_OIDC_AUTHORIZATION_ENDPOINT"]
        except ProviderUnavailable as exc:
            logger.warning("Single sign-on unavailable: %s", exc)
            return _sign_in_failed(request, reason="unavailable")
        self.OIDC_RP_CLIENT_ID = settings.CXC_OIDC_CLIENT_ID
        return super().get(request)


BACKEND = f"{DirectoryOIDCBackend.__module__}.{DirectoryOIDCBackend.__qualname__}"


class ProviderCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: sign the person in, or say why not.

    The library's view would call `django.contrib.auth.authenticate`, where the password
    lockout (django-axes) counts every refusal against the client's address with no username:
    five people who are not in the directory would lock everyone behind that address out of
    single sign-on. Guessing has nothing to gain here (the provider guards its own sign-in, and
    a callback needs the state this browser was given), so the backend is called directly.
    """

    get_settings = staticmethod(oidc_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            return self._sign_in(request)
        except ProviderUnavailable as exc:
            logger.warning("Single sign-on unavailable: %s", exc)
            return _sign_in_failed(request, reason="unavailable")
        except (SuspiciousOperation, requests.RequestException) as exc:
            logger.warning("Single sign-on failed: %s", exc)
            return _sign_in_failed(request, reason="failed")

    def _sign_in(self, request: HttpRequest) -> HttpResponse:
        state = request.GET.get("state", "")
        states = request.session.get("oidc_states") or {}
        attempt = states.pop(state, None)
        if attempt is not None:
            # Each state is used once, whatever happens next, so a callback cannot be replayed.
            request.session["oidc_states"] = states
            request.session.save()
        if attempt is None or request.GET.get("error") or not request.GET.get("code"):
            return self.login_failure()
        # Reload the session after the slow calls to the provider, so what other tabs wrote
        # to it meanwhile is not overwritten (as the library does).
        request.session = request.session.__class__(request.session.session_key)
        user = DirectoryOIDCBackend().authenticate(
            request, nonce=attempt["nonce"], code_verifier=attempt.get("code_verifier")
        )
        if user is None or not user.is_active:
            return self.login_failure()
        user.backend = BACKEND
        self.user = user
        return self.login_success()

    def login_failure(self) -> HttpResponse:
        refusal = getattr(self.request, REFUSAL_ATTRIBUTE, None) or {"reason": "failed"}
        return _sign_in_failed(self.request, **refusal)
