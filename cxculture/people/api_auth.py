"""REST API for API tokens: `POST /api/v1/auth/token/` trades a username and password for an
expiring token, under the same lockout as the sign-in page; `POST /api/v1/auth/logout/` ends the
token used and `POST /api/v1/auth/logout-all/` every token of its owner."""

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cxculture.lib.parsers import JSONParser

from . import services
from .authentication import ApiTokenAuthentication
from .models import ApiToken
from .signin import authenticate_one_at_a_time, username_max_length

INVALID_CREDENTIALS = "Unable to log in with provided credentials."


class ApiTokenCredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=username_max_length(), write_only=True)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, write_only=True, style={"input_type": "password"}
    )

    def validate(self, attrs: dict) -> dict:
        user = authenticate_one_at_a_time(
            self.context["request"], username=attrs["username"], password=attrs["password"]
        )
        # One answer for a wrong password, an unknown or inactive user and a locked one, so it
        # never says whether a username exists.
        if user is None:
            raise serializers.ValidationError(INVALID_CREDENTIALS, code="authorization")
        attrs["user"] = user
        return attrs


class ApiTokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        read_only=True, help_text="Send it as `Authorization: Token <token>`. Shown only once."
    )
    expiry = serializers.DateTimeField(
        read_only=True, help_text="When the token stops working; ask for a new one before."
    )


class ApiTokenView(APIView):
    """Trade a username and password for an API token (`Authorization: Token <token>`) that
    lasts `CXC_API_TOKEN_TTL_HOURS`. Under the sign-in lockout: `CXC_LOGIN_FAILURE_LIMIT` failures
    lock the username from that address."""

    # Public, and deaf to an `Authorization` header: a client still sending its expired token
    # gets a new one instead of a 401.
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()
    # The project's JSON parser refuses hostile nesting (cxculture/lib/parsers.py).
    parser_classes = (JSONParser, parsers.FormParser, parsers.MultiPartParser)

    @extend_schema(
        operation_id="auth_token_create",
        request=ApiTokenCredentialsSerializer,
        responses={200: ApiTokenSerializer},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        credentials = ApiTokenCredentialsSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        token, key = services.api_token_create(user=credentials.validated_data["user"])
        return Response(ApiTokenSerializer({"token": key, "expiry": token.expiry}).data)


def _token_used(request: Request) -> ApiToken:
    if not isinstance(request.auth, ApiToken):  # token authentication is the only way in
        raise NotAuthenticated()
    return request.auth


SIGNED_OUT = OpenApiResponse(description="Signed out: the token no longer works.")


class ApiTokenLogoutView(APIView):
    """Sign this API client out: the token sent stops working (401 without one)."""

    authentication_classes = (ApiTokenAuthentication,)
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        operation_id="auth_logout", request=None, responses={204: SIGNED_OUT}, tags=["auth"]
    )
    def post(self, request: Request) -> Response:
        services.api_token_revoke(token=_token_used(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenLogoutAllView(APIView):
    """Sign out of the API everywhere: every API token of the signed-in person stops working
    (also from a browser session, to end the tokens of a lost device)."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        operation_id="auth_logout_all", request=None, responses={204: SIGNED_OUT}, tags=["auth"]
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.user, User):
            raise NotAuthenticated()
        services.api_tokens_revoke(user_ids=[request.user.pk])
        return Response(status=status.HTTP_204_NO_CONTENT)
