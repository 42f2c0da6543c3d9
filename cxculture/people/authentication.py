"""API token authentication: django-rest-knox's tokens (digests only, an expiry), refused once
the owner's password has changed since the token was issued."""

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.settings import knox_settings
from rest_framework.exceptions import AuthenticationFailed

from .models import ApiToken


def password_fingerprint(user: AbstractBaseUser) -> str:
    """An HMAC of the user's password hash (Django's session binding): changes with the
    password, reveals nothing of it."""
    return user.get_session_auth_hash()


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`. knox finds the token by its first characters and compares
    SHA-512 digests in constant time, refuses expired tokens and inactive users; this also
    refuses (and deletes) a token issued under another password."""

    def validate_user(self, auth_token: ApiToken) -> tuple[Any, ApiToken]:
        fingerprint = password_fingerprint(auth_token.user)
        if not constant_time_compare(auth_token.password_fingerprint, fingerprint):
            auth_token.delete()
            raise AuthenticationFailed("Invalid token.")
        return super().validate_user(auth_token)

    def _cleanup_token(self, auth_token: ApiToken) -> bool:
        # knox also reads every other token of the user on each request to sweep expired ones:
        # a query per request. Expired tokens are swept when their owner gets a new one instead
        # (`api_token_create`); this one is refused and deleted here.
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "cxculture.people.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=knox_settings.AUTH_HEADER_PREFIX
        )
