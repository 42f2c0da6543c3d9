"""REST API for customer outcomes: metrics, records (JSON batches in), imports and sources."""

import hashlib
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, pagination, renderers, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cxculture.lib import signing
from cxculture.lib.api import ColumnMappingField
from cxculture.lib.csvio import csv_streaming_response, write_csv
from cxculture.lib.errors import DomainError
from cxculture.lib.parsers import JSONParser
from cxculture.lib.ratelimit import OutcomeImportCreateThrottle
from cxculture.people.authentication import ApiTokenAuthentication
from cxculture.people.models import Team
from cxculture.people.permissions import IsHRAdmin, IsHRAdminOrReadOnly, viewer_for

from . import selectors, services
from .authentication import OutcomeSourceAuthentication
from .ingest import batches, jobs
from .models import Metric, OutcomeImport, OutcomeImportError, OutcomeRecord, OutcomeSource
from .permissions import OutcomeRecordAccess
from .presets import PRESETS
from .uploads import limit_upload

# --- Serializers -------------------------------------------------------------------------------


class MetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = Metric
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "min_value",
            "max_value",
            "unit",
            "higher_is_better",
            "is_builtin",
            "is_active",
        ]
        read_only_fields = ["is_builtin"]
        extra_kwargs: dict[str, dict] = {"code": {"validators": []}}


class MetricCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=50)
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=Metric.Kind.choices)
    min_value = serializers.FloatField(required=False, allow_null=True, default=None)
    max_value = serializers.FloatField(required=False, allow_null=True, default=None)
    unit = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    higher_is_better = serializers.BooleanField(required=False, default=True)


class MetricUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    kind = serializers.ChoiceField(choices=Metric.Kind.choices, required=False)
    min_value = serializers.FloatField(required=False)
    max_value = serializers.FloatField(required=False)
    unit = serializers.CharField(max_length=30, required=False, allow_blank=True)
    higher_is_better = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class OutcomeRecordSerializer(serializers.ModelSerializer):
    metric = serializers.CharField(source="metric.code", read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)
    agent_name = serializers.CharField(source="agent.display_name", read_only=True, default=None)

    class Meta:
        model = OutcomeRecord
        fields = [
            "id",
            "metric",
            "value",
            "occurred_at",
            "team",
            "team_name",
            "agent",
            "agent_name",
            "customer_ref",
            "interaction_ref",
            "source",
            "external_id",
            "import_job",
            "created_at",
        ]
        read_only_fields = fields


class OutcomeRecordInSerializer(serializers.Serializer):
    """One record of a JSON batch: the same fields (and rules) as a CSV row."""

    metric = serializers.CharField(help_text="A metric code, e.g. csat.")
    value = serializers.CharField(help_text="A number (yes/no or 1/0 for yes/no metrics).")
    occurred_at = serializers.DateTimeField(help_text="ISO 8601; without an offset, local time.")
    team_external_id = serializers.CharField(required=False)
    agent = serializers.CharField(required=False, help_text="An employee's external id or email.")
    customer_ref = serializers.CharField(required=False, max_length=100)
    interaction_ref = serializers.CharField(required=False, max_length=100)
    external_id = serializers.CharField(
        required=False,
        max_length=200,
        help_text="The sender's id for the record; a repeat is a duplicate.",
    )


class OutcomeBatchSerializer(serializers.Serializer):
    records = OutcomeRecordInSerializer(many=True)


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField()
    reason = serializers.CharField()


class BatchItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "rejected"])
    external_id = serializers.CharField()
    errors = FieldErrorSerializer(many=True)  # type: ignore[assignment]


class BatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = BatchItemSerializer(many=True)


class OutcomeImportSerializer(serializers.ModelSerializer):
    percent_done = serializers.IntegerField(read_only=True)

    class Meta:
        model = OutcomeImport
        fields = [
            "id",
            "status",
            "source",
            "preset",
            "metric",
            "mapping",
            "file_name",
            "file_size",
            "rows_estimated",
            "rows_read",
            "rows_accepted",
            "rows_rejected",
            "duplicates",
            "percent_done",
            "message",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class OutcomeImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,  # the service says why an empty file is refused
        help_text=(
            "A UTF-8 CSV file. Columns: metric, value, occurred_at, and team_external_id and/or "
            "agent; optional customer_ref, interaction_ref, external_id."
        ),
    )
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=50,
        required=False,
        default="",
        help_text=(
            "Where the rows come from; (source, external_id) identifies a record. Default: "
            "the preset's source, else csv."
        ),
    )
    preset = serializers.ChoiceField(
        choices=sorted(PRESETS),
        required=False,
        default="",
        allow_blank=True,
        help_text=(
            "A helpdesk export read as it is: its columns, metric, source and score "
            "conversion (see the README). A `mapping` sent with it overrides single columns."
        ),
    )
    mapping = ColumnMappingField(
        required=False,
        help_text=(
            "Target field -> the file's own header, so an export loads as it is (unmapped "
            "columns are ignored). Targets: metric, value, occurred_at, team_external_id, "
            "agent, customer_ref, interaction_ref, external_id, and source (each row's own)."
        ),
    )
    metric = serializers.CharField(
        max_length=50,
        required=False,
        default="",
        help_text="The metric of every row, for a file without a metric column.",
    )


class OutcomeImportErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutcomeImportError
        fields = ["row", "column", "reason", "values"]
        read_only_fields = fields


class OutcomeSourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutcomeSource
        fields = ["id", "name", "slug", "token_prefix", "is_active", "last_used_at", "created_at"]
        read_only_fields = ["token_prefix", "last_used_at", "created_at"]
        extra_kwargs: dict[str, dict] = {"slug": {"validators": []}}


class OutcomeSourceWithTokenSerializer(OutcomeSourceSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown only in this answer.")

    class Meta(OutcomeSourceSerializer.Meta):
        fields = [*OutcomeSourceSerializer.Meta.fields, "token"]


class SigningSecretSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    signing_secret = serializers.CharField(help_text="Shown only in this answer.")


class OutcomeSourceUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    is_active = serializers.BooleanField(required=False)


# --- Filters and pagination --------------------------------------------------------------------


class OutcomeRecordFilter(filters.FilterSet):
    metric = filters.CharFilter(field_name="metric__code", label="Metric code")
    team = filters.NumberFilter(field_name="team_id")
    subtree = filters.NumberFilter(method="filter_subtree", label="Team id: the team and below")
    agent = filters.NumberFilter(field_name="agent_id")
    occurred_after = filters.DateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label="From (date or date-time, inclusive)"
    )
    occurred_before = filters.DateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", label="Until (date or date-time, exclusive)"
    )

    class Meta:
        model = OutcomeRecord
        fields = ["source", "customer_ref", "interaction_ref", "external_id", "import_job"]

    def filter_subtree(self, queryset, name, value):
        team = Team.objects.filter(pk=value).first()
        if team is None:
            return queryset.none()
        return queryset.filter(team__path__startswith=team.path)


class OutcomePagination(pagination.CursorPagination):
    """Millions of rows: a cursor, never a COUNT(*) or a deep OFFSET."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-occurred_at", "-id")


class CSVRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, dict) and "error" in data:
            error = data["error"]
            return write_csv([["code", "message"], [error["code"], error["message"]]]).encode()
        return write_csv(data or []).encode()


# --- Views -------------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(request=MetricCreateSerializer, responses={201: MetricSerializer}),
    update=extend_schema(request=MetricUpdateSerializer, responses=MetricSerializer),
    partial_update=extend_schema(request=MetricUpdateSerializer, responses=MetricSerializer),
)
class MetricViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The metric catalog: everyone signed in reads it; HR admins add and change metrics."""

    serializer_class = MetricSerializer
    permission_classes = [IsHRAdminOrReadOnly]
    filterset_fields = ["kind", "is_active", "is_builtin", "code"]

    def get_queryset(self):
        return selectors.metrics_for_viewer(viewer_for(self.request.user))

    def create(self, request: Request, *args, **kwargs) -> Response:
        incoming = MetricCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        metric = services.metric_create(**incoming.validated_data)
        return Response(MetricSerializer(metric).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        metric = self.get_object()
        incoming = MetricUpdateSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        metric = services.metric_update(metric=metric, **incoming.validated_data)
        return Response(MetricSerializer(metric).data)


@extend_schema_view(
    list=extend_schema(
        description="Raw outcome records, newest first (HR admins). Dashboards read rollups.",
        auth=[{"tokenAuth": []}, {"cookieAuth": []}],  # type: ignore[list-item]
    ),
    create=extend_schema(
        request=OutcomeBatchSerializer,
        responses={
            200: BatchResultSerializer,
            400: OpenApiResponse(description="Not a batch, or more records than the limit."),
            401: OpenApiResponse(
                description="No, a wrong or an inactive source token, or a bad signature."
            ),
            409: OpenApiResponse(
                description="The X-CXC-Event-Id was already received with another body."
            ),
        },
        auth=[{"outcomeSourceToken": []}],  # type: ignore[list-item]  # a security requirement
        description=(
            "Webhooks from helpdesk and survey tools: up to 1,000 records a request, "
            "authenticated with a source's token (`Authorization: Bearer <token>`). Each record "
            "is accepted, a duplicate of one already stored (same source and external_id), or "
            "rejected with the field and reason; bad records never block good ones. A source "
            "with a signing secret must also send `X-CXC-Timestamp` (Unix seconds) and "
            "`X-CXC-Signature: sha256=<hex HMAC-SHA256 of '<timestamp>.<event id>.<raw body>'>` "
            "(the event id empty when none is sent; 300 s tolerance). With `X-CXC-Event-Id`, a "
            "redelivered event (the same body) gets the first answer; another body under a used "
            "event id is refused with 409."
        ),
        parameters=[
            OpenApiParameter(
                signing.EVENT_ID_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description=(
                    "The sender's delivery id (signed with the body): a repeat of the same body "
                    "returns the first answer, another body under it is a 409."
                ),
            ),
            OpenApiParameter(
                signing.TIMESTAMP_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="Unix time in seconds (signed sources).",
            ),
            OpenApiParameter(
                signing.SIGNATURE_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="sha256=<hex> (signed sources).",
            ),
        ],
    ),
)
class OutcomeRecordViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = OutcomeRecordSerializer
    # Token first, as everywhere (so a 401 names the same scheme); a source's Bearer token is
    # not a `Token …` header, so it passes on to OutcomeSourceAuthentication.
    authentication_classes = [
        ApiTokenAuthentication,
        OutcomeSourceAuthentication,
        SessionAuthentication,
    ]
    permission_classes = [OutcomeRecordAccess]
    pagination_class = OutcomePagination
    filterset_class = OutcomeRecordFilter

    def get_queryset(self):
        return selectors.outcome_records_for_viewer(viewer_for(self.request.user))

    def create(self, request: Request, *args, **kwargs) -> Response:
        # The raw body, read before `request.data` (DRF then parses these bytes): an event id
        # is bound to the body it first came with.
        body_sha256 = hashlib.sha256(request.body).hexdigest()
        data = request.data
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list):
            raise DomainError('Send {"records": [...]}.', field="records")
        source = request.auth
        if not isinstance(source, OutcomeSource):  # the permission class made sure of it
            raise DomainError("Send records with an outcome source's token.")
        event_id = request.headers.get(signing.EVENT_ID_HEADER)
        if event_id is not None:
            result = batches.outcome_webhook_receive(
                source=source, event_id=event_id, body_sha256=body_sha256, records=records
            )
        else:
            result = batches.outcome_records_ingest(source=source, records=records)
        return Response(BatchResultSerializer(result).data, status=status.HTTP_200_OK)


class _ErrorPagination(pagination.PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def _import_answer(job: OutcomeImport) -> Response:
    pending = not job.is_finished
    answer = status.HTTP_202_ACCEPTED if pending else status.HTTP_201_CREATED
    return Response(OutcomeImportSerializer(job).data, status=answer)


@extend_schema_view(
    create=extend_schema(
        request={"multipart/form-data": OutcomeImportCreateSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="A repeat with the same key returns the first import.",
            )
        ],
        responses={
            201: OutcomeImportSerializer,
            202: OpenApiResponse(OutcomeImportSerializer, "Queued: a worker imports it."),
            400: OpenApiResponse(
                description=(
                    "Not UTF-8, empty, a wrong header, or a wrong mapping "
                    "(`error.fields.mapping` names the target or header)."
                )
            ),
            413: OpenApiResponse(description="The file is over the size limit."),
            422: OpenApiResponse(description="The Idempotency-Key was used for another file."),
        },
        description=(
            "Upload a CSV of outcome records. The file is checked whole first (size, encoding, "
            "header) and refused with the reason, or stored and imported by a worker in "
            "batches; poll the import for progress. Rejected rows never block good ones."
        ),
    ),
)
class OutcomeImportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """CSV imports of outcome records: HR admins only."""

    serializer_class = OutcomeImportSerializer
    permission_classes = [IsHRAdmin]
    throttle_classes = [*APIView.throttle_classes, OutcomeImportCreateThrottle]
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    filterset_fields = ["status", "source"]

    def initialize_request(self, request, *args, **kwargs):
        # Before anything (CSRF included) parses the body.
        self.upload_limit = None
        if request.method == "POST":
            self.upload_limit = limit_upload(request, settings.CXC_OUTCOME_IMPORT_MAX_BYTES)
        return super().initialize_request(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.outcome_imports_for_viewer(viewer_for(self.request.user))

    def create(self, request: Request, *args, **kwargs) -> Response:
        data = request.data
        if self.upload_limit is not None and self.upload_limit.exceeded:
            raise jobs.FileTooLarge(
                f"The file is over the limit of {settings.CXC_OUTCOME_IMPORT_MAX_BYTES:,} bytes.",
                field="file",
            )
        incoming = OutcomeImportCreateSerializer(data=data)
        incoming.is_valid(raise_exception=True)
        upload = incoming.validated_data["file"]
        jobs.outcome_import_check_size(upload.size)
        job, _ = jobs.outcome_import_create(
            file=upload,
            file_name=upload.name or "",
            size=upload.size,
            source=incoming.validated_data["source"],
            requested_by=request.user,  # type: ignore[arg-type]
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            mapping=incoming.validated_data.get("mapping"),
            preset=incoming.validated_data["preset"],
            metric=incoming.validated_data["metric"],
        )
        return _import_answer(job)

    @extend_schema(responses=OutcomeImportErrorSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=_ErrorPagination, filterset_fields=[])
    def errors(self, request: Request, pk: str | None = None) -> Response:
        """The rejected rows: row number, column, reason and the row's values."""
        job = get_object_or_404(self.get_queryset(), pk=pk)
        page = self.paginate_queryset(selectors.outcome_import_errors(job))
        return self.get_paginated_response(OutcomeImportErrorSerializer(page, many=True).data)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        description="Every rejected row as a CSV file (formula-safe).",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="errors/download",
        renderer_classes=[renderers.JSONRenderer, CSVRenderer],
        filterset_fields=[],
    )
    def download_errors(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        job = get_object_or_404(self.get_queryset(), pk=pk)
        return rejected_rows_response(job)


def _rejected_rows_csv(job: OutcomeImport) -> Iterator[str]:
    columns = [column for column in job.header if column]
    yield write_csv([["row", "column", "reason", *columns]])
    chunk: list[list[object]] = []
    for error in selectors.outcome_import_errors(job).iterator(chunk_size=2000):
        values = error.values or {}
        chunk.append([error.row, error.column, error.reason, *(values.get(c) for c in columns)])
        if len(chunk) >= 2000:
            yield write_csv(chunk)
            chunk = []
    if chunk:
        yield write_csv(chunk)


def rejected_rows_response(job: OutcomeImport) -> StreamingHttpResponse:
    """The rejected rows of `job` as a streamed CSV download (also used by the page)."""
    return csv_streaming_response(
        _rejected_rows_csv(job), filename=f"import-{job.pk}-rejected-rows.csv"
    )


@extend_schema_view(
    create=extend_schema(responses={201: OutcomeSourceWithTokenSerializer}),
    update=extend_schema(request=OutcomeSourceUpdateSerializer),
    partial_update=extend_schema(request=OutcomeSourceUpdateSerializer),
)
class OutcomeSourceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Systems allowed to send records to `POST /outcomes/`: HR admins only.

    The token is in the answer to create and rotate-token only; only its hash is stored.
    """

    serializer_class = OutcomeSourceSerializer
    permission_classes = [IsHRAdmin]
    filterset_fields = ["is_active", "slug"]

    def get_queryset(self):
        return selectors.outcome_sources_for_viewer(viewer_for(self.request.user))

    def create(self, request: Request, *args, **kwargs) -> Response:
        incoming = OutcomeSourceSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        source, token = services.outcome_source_create(
            name=incoming.validated_data["name"],
            slug=incoming.validated_data["slug"],
            created_by=request.user,  # type: ignore[arg-type]
        )
        source.token = token  # type: ignore[attr-defined]
        return Response(
            OutcomeSourceWithTokenSerializer(source).data, status=status.HTTP_201_CREATED
        )

    def update(self, request: Request, *args, **kwargs) -> Response:
        source = self.get_object()
        incoming = OutcomeSourceUpdateSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        source = services.outcome_source_update(source=source, **incoming.validated_data)
        return Response(OutcomeSourceSerializer(source).data)

    @extend_schema(request=None, responses={200: OutcomeSourceWithTokenSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-token")
    def rotate_token(self, request: Request, pk: str | None = None) -> Response:
        source, token = services.outcome_source_rotate_token(source=self.get_object())
        source.token = token  # type: ignore[attr-defined]
        return Response(OutcomeSourceWithTokenSerializer(source).data)

    @extend_schema(
        request=None,
        responses={200: SigningSecretSerializer},
        description=(
            "Give the source a new signing secret, shown only in this answer. From now on every "
            "request it sends must be signed with it (`X-CXC-Timestamp`, `X-CXC-Signature` over "
            "'<timestamp>.<event id>.<raw body>')."
        ),
    )
    @action(detail=True, methods=["post"], url_path="rotate-signing-secret")
    def rotate_signing_secret(self, request: Request, pk: str | None = None) -> Response:
        source, secret = services.outcome_source_rotate_signing_secret(source=self.get_object())
        return Response({"id": source.pk, "signing_secret": secret})
