"""REST API for signing in: `POST /api/v1/auth/token/` trades a username and password for a
token, under the same lockout as the sign-in page."""

from drf_spectacular.utils import extend_schema
from rest_framework import parsers, serializers
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .signin import authenticate_one_at_a_time, username_max_length

INVALID_CREDENTIALS = "Unable to log in with provided credentials."


class ApiTokenRequestSerializer(serializers.Serializer):
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
    token = serializers.CharField(read_only=True)


class ApiTokenView(APIView):
    """Trade a username and password for an API token (`Authorization: Token <token>`)."""

    permission_classes = ()
    throttle_classes = ()
    parser_classes = (parsers.JSONParser, parsers.FormParser, parsers.MultiPartParser)

    @extend_schema(
        request=ApiTokenRequestSerializer, responses={200: ApiTokenSerializer}, tags=["auth"]
    )
    def post(self, request: Request) -> Response:
        serializer = ApiTokenRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})
