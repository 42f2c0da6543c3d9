"""The OpenAPI schema documents every error an operation can give, once, for every view.

drf-spectacular documents the success responses a view declares. `AutoSchema` adds the refusals
that come from the API's plumbing rather than from one view, each with the `Error` component
(the shape `cxculture.lib.api.error_body` writes):

- 400 on every operation: bad input in a body or query parameter, and a NUL byte anywhere in
  the URL (`RefuseNulBytesMiddleware`) whatever the operation;
- 401 unless the operation is public;
- 403 when a permission class beyond "signed in" can refuse the role;
- 404 on routes with an id (unknown, or outside the viewer's scope) and on paginated lists (a
  page or cursor that does not exist);
- 413 when the operation takes a request body (over Django's `DATA_UPLOAD_MAX_MEMORY_SIZE`;
  uploads have their own limit, which the view describes), and 415 when that body comes in a
  media type the operation does not read (or a multipart body too broken to say);
- 422 when the operation takes an `Idempotency-Key` header (the key reused for another request);
- 429 when the view is throttled.

Errors that a view declares itself (409 from a ConflictError, 413 for an upload over the limit)
keep their description and get the `Error` body too.

It also makes the schema say what serializers really answer, where drf-spectacular cannot tell:

- a read-only choice field over a model field with `blank=True` may answer "" (DRF drops
  `allow_blank` from read-only fields), so "" joins its enum;
- a field with `default=None` answers null when its source runs through an empty
  relation (`team.name` of a person without a team), so it is nullable;
- page numbers start at 1 (`minimum: 1` on every paginator's page parameter; 0 is a 404).
"""

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import pagination, permissions, serializers

from .idempotency import HEADER as IDEMPOTENCY_HEADER


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A stable, machine-readable reason, e.g. `invalid`.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    # DRF's metaclass takes declared fields off the class, so this does not shadow
    # `Serializer.fields` at run time; only the type checker sees the clash.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Reasons per request field; empty when the error is not about one field.",
    )


class ErrorSerializer(serializers.Serializer):
    """Every error the API gives: `{"error": {"code", "message", "fields"}}`."""

    error = ErrorDetailSerializer()


GENERIC_ERRORS = {
    "400": "Invalid input (`fields` says which and why), or a NUL byte in the URL.",
    "401": "Not signed in, or the credentials are not valid.",
    "403": "Signed in, but this role may not do this.",
    "404": "No such object (or page), or it is outside what the viewer may see.",
    "413": "The request body is over the size limit.",
    "415": "The request body's media type is not one this operation reads.",
    "422": "The Idempotency-Key was used before for a different request.",
    "429": "Too many requests: wait for the `Retry-After` seconds.",
}

# Permission classes that refuse nobody who is signed in (401 covers the others).
_SIGNED_IN_ONLY = (permissions.AllowAny, permissions.IsAuthenticated)


class AutoSchema(openapi.AutoSchema):
    def get_auth(self) -> list[dict[str, Any]]:
        auths = super().get_auth()
        # A view without permission classes (DRF's obtain_auth_token) is public.
        if not self.view.get_permissions() and {} not in auths:
            auths.append({})
        return auths

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if (
            isinstance(field, serializers.ChoiceField)
            and field.read_only
            and not field.allow_blank
            and _model_field_allows_blank(field)
        ):
            # A copy made for the schema: the serializer that answers requests is not changed.
            field.allow_blank = True
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "response" and field.default is None:
            if "$ref" in schema:
                return {"allOf": [schema], "nullable": True}
            schema = {**schema, "nullable": True}
        return schema

    def _get_pagination_parameters(self) -> list[dict[str, Any]]:
        parameters = super()._get_pagination_parameters()
        paginator = self._get_paginator()
        if isinstance(paginator, pagination.PageNumberPagination):
            for parameter in parameters:
                if parameter["name"] == paginator.page_query_param:
                    parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters

    def _get_response_bodies(self, direction: openapi.Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        error = self._get_response_for_code(ErrorSerializer, "400", direction=direction)["content"]
        for code in self._error_codes(responses):
            described = responses.get(code)
            if described is None:
                described = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, GENERIC_ERRORS[code]), code
                )
                responses[code] = described
            elif "content" not in described:
                described["content"] = error
        return dict(sorted(responses.items()))

    def _error_codes(self, declared: dict[str, Any]) -> set[str]:
        codes = {code for code in declared if code >= "400"}
        codes.add("400")  # a NUL byte in the URL is refused before any view runs
        if {} not in self.get_auth():
            codes.add("401")
        if self._can_refuse_a_role():
            codes.add("403")
        if "{" in self.path or (self._is_list_view() and self._get_paginator()):
            codes.add("404")
        if self._get_request_body() is not None:
            codes.add("413")  # a body over Django's upload limits (cxculture.lib.api)
            codes.add("415")  # a body in a media type the operation's parsers do not read
        if any(
            parameter["in"] == "header" and parameter["name"] == IDEMPOTENCY_HEADER
            for parameter in self._get_parameters()
        ):
            codes.add("422")
        if self.view.get_throttles():
            codes.add("429")
        return codes

    def _can_refuse_a_role(self) -> bool:
        safe = self.method in permissions.SAFE_METHODS
        for permission in self.view.get_permissions():
            if isinstance(permission, _SIGNED_IN_ONLY):
                continue
            if safe and type(permission).__name__.endswith("OrReadOnly"):
                continue
            return True
        return False


def _model_field_allows_blank(field: serializers.Field) -> bool:
    """True when `field` of a ModelSerializer reads a model field declared with `blank=True`."""
    parent = field.parent
    if not isinstance(parent, serializers.ModelSerializer) or "." in (field.source or ""):
        return False
    try:
        model_field = parent.Meta.model._meta.get_field(field.source)  # type: ignore[attr-defined]
    except FieldDoesNotExist:
        return False
    return bool(getattr(model_field, "blank", False))
