"""API plumbing shared by every app: the error format and pagination (DESIGN.md, "API shape").

Services raise the plain exceptions of `lib/errors.py`; this module turns them into responses.

Every error leaves the API as `{"error": {"code", "message", "fields"}}`, where `fields` maps a
field name to a list of reasons (empty when the error is not about one field).
"""

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [f"{key}: {msg}" for key, value in detail.items() for msg in _flatten(value)]
    if isinstance(detail, list):
        return [msg for item in detail for msg in _flatten(item)]
    return [str(detail)]


def _fields(detail: Any) -> dict[str, list[str]]:
    if not isinstance(detail, dict):
        return {}
    return {key: _flatten(value) for key, value in detail.items() if key != "non_field_errors"}


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


NUL_MESSAGE = "The request contains a NUL byte, which is not allowed."
OVERFLOW_MESSAGE = "A number in the request is too large."


def _carries_nul(exc: Exception, context: dict) -> bool:
    """True when an unexpected error comes from a NUL byte in the request (PostgreSQL refuses
    NUL in text; an id or filter with one fails to convert)."""
    if "NUL (0x00)" in str(exc):
        return True
    request = context.get("request")
    if request is None:
        return False
    parts: list[Any] = [request.path, *context.get("kwargs", {}).values()]
    parts += [value for _, values in request.query_params.lists() for value in values]
    data = getattr(request, "_full_data", None)  # the body, when the view had parsed it
    if data is not None:
        parts.append(data)
    return any(_contains_nul(part) for part in parts)


def _contains_nul(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_contains_nul(item) for item in value)
    return isinstance(value, str) and "\x00" in value


def upload_limit_error(exc: BaseException) -> tuple[int, dict] | None:
    """The status and error body for a request over one of Django's upload limits (raised while
    a body is read, as SuspiciousOperation, which Django would answer with an HTML 400)."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = f"The request body is too large: at most {limit} bytes (files not counted)."
        return 413, error_body("too_large", message)
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return 400, error_body("too_many_fields", f"Too many fields: at most {limit}.")
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return 400, error_body("too_many_files", f"Too many files: at most {limit}.")
    return None


def exception_handler(exc: Exception, context: dict) -> Response | None:
    over_limit = upload_limit_error(exc)
    if over_limit is not None:
        status, body = over_limit
        return Response(body, status=status)
    if isinstance(exc, DomainError):
        fields = {exc.field: [exc.message]} if exc.field else {}
        return Response(error_body(exc.code, exc.message, fields), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        if _carries_nul(exc, context):  # a NUL byte is bad input (400), never a server error
            return Response(error_body("invalid", NUL_MESSAGE), status=400)
        if isinstance(exc, OverflowError):  # a filter number beyond what the database holds
            return Response(error_body("invalid", OVERFLOW_MESSAGE), status=400)
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail)
        non_field = exc.detail.get("non_field_errors") if isinstance(exc.detail, dict) else None
        reasons = _flatten(non_field if non_field else exc.detail)
        message = reasons[0] if len(reasons) == 1 else "The request has invalid fields."
        response.data = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = error_body(code, " ".join(_flatten(exc.detail)))
    return response


class PagePagination(pagination.PageNumberPagination):
    """Page-numbered lists for directory-like resources; feeds use cursor pagination."""

    page_size_query_param = "page_size"
    max_page_size = 200


class FeedPagination(pagination.CursorPagination):
    """Stable pagination for feeds that grow while someone scrolls them."""

    page_size = 25
    ordering = "-created_at"


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 for URLs nothing matched: the API's error format under /api/, a page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 400 Django gives outside the API's exception handler (a SuspiciousOperation, e.g. a
    body over the upload limits read by a middleware): the error format under /api/ (413 for a
    body too large), Django's page elsewhere."""
    if not request.path.startswith("/api/"):
        return django_bad_request(request, exception)  # type: ignore[arg-type]
    over_limit = upload_limit_error(exception) if exception is not None else None
    status, body = over_limit or (400, error_body("bad_request", "Bad request."))
    return JsonResponse(body, status=status)


class RefuseNulBytesMiddleware:
    """A NUL byte in the path or the query string is a 400, before any view runs.

    Nothing legitimate carries one, and left alone it surfaces differently per parameter (a
    404 for `?page=`, ignored by a boolean filter, refused by PostgreSQL in a text column).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = {
            key.replace("\x00", "\\x00"): [NUL_MESSAGE]
            for key, values in request.GET.lists()
            if "\x00" in key or any("\x00" in value for value in values)
        }
        if fields or "\x00" in request.path:
            if request.path.startswith("/api/"):
                return JsonResponse(error_body("invalid", NUL_MESSAGE, fields), status=400)
            return HttpResponse(NUL_MESSAGE, status=400, content_type="text/plain")
        return self.get_response(request)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "example": {"external_id": "employee_id", "team_external_id": "team_id"},
    }
)
class ColumnMappingField(serializers.Field):
    """Target field -> the file's own header; a JSON object, or its text in a multipart form."""

    default_error_messages = {"invalid": "Send an object of target field -> column name."}

    def to_internal_value(self, data: object) -> dict:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("invalid")
        if not isinstance(data, dict):
            self.fail("invalid")
        if not all(isinstance(value, str | None) for value in data.values()):
            self.fail("invalid")
        return {str(key): value or "" for key, value in data.items()}

    def to_representation(self, value: object) -> object:
        return value
