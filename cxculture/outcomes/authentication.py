"""API tokens for the systems that send outcome records (`Authorization: Bearer <token>`)."""

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from cxculture.lib import signing

from . import selectors, services
from .models import OutcomeSource


class SourceClient:
    """Who made a request authenticated with a source token: a system, not a person.

    It has no groups and no employee, so nothing that scopes by person grants it anything; its
    `pk` keeps DRF's per-user throttling apart per source.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, source: OutcomeSource):
        self.source = source
        self.pk = self.id = f"outcome-source-{source.pk}"

    def __str__(self) -> str:
        return f"outcome source {self.source.slug}"

    def get_username(self) -> str:
        return str(self)


class OutcomeSourceAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>` of an active OutcomeSource; `request.auth` is the source.

    Other schemes (a session, `Token …`) are left to the next authentication class. A bearer
    token that matches no active source is refused with 401.
    """

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[SourceClient, OutcomeSource] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the token as 'Authorization: Bearer <token>'.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid or inactive source token.") from None
        source = selectors.outcome_source_for_token(services.token_hash(token))
        if source is None:
            raise AuthenticationFailed("Invalid or inactive source token.")
        self.verify_signature(request, source)
        services.outcome_source_touch(source=source)
        return SourceClient(source), source

    def verify_signature(self, request: Request, source: OutcomeSource) -> None:
        """A source with a signing secret must sign every request: HMAC-SHA256 over
        "<timestamp>.<event id>.<raw body>", within the tolerance, compared in constant time
        (401 if not)."""
        if not source.signing_secret:
            return
        try:
            signing.verify(
                secret=source.signing_secret,
                timestamp=request.headers.get(signing.TIMESTAMP_HEADER),
                signature=request.headers.get(signing.SIGNATURE_HEADER),
                body=request.body,
                event_id=request.headers.get(signing.EVENT_ID_HEADER),
                tolerance=settings.CXC_WEBHOOK_SIGNATURE_TOLERANCE_SECONDS,
            )
        except signing.SignatureError as exc:
            raise AuthenticationFailed(str(exc)) from None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="outcomes"'


class OutcomeSourceAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "cxculture.outcomes.authentication.OutcomeSourceAuthentication"
    name = "outcomeSourceToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The API token of an outcome source (shown once when created).",
        }
