"""REST API for the organisation: teams, employees, values, policies and directory syncs."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from cxculture.lib.api import ColumnMappingField, error_body
from cxculture.lib.parsers import JSONParser

from . import selectors, services
from .models import CompanyValue, DirectorySource, DirectorySync, Employee, Policy, Role, Team
from .permissions import IsHRAdmin, IsHRAdminOrReadOnly, viewer_for

# --- Serializers -------------------------------------------------------------------------------


class ManagerSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


class TeamSerializer(serializers.ModelSerializer):
    managers = ManagerSerializer(many=True, read_only=True)
    member_count = serializers.IntegerField(read_only=True)
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        queryset=Team.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Team
        fields = [
            "id",
            "external_id",
            "name",
            "parent",
            "depth",
            "managers",
            "member_count",
            "is_active",
        ]
        read_only_fields = ["depth", "is_active"]
        extra_kwargs: dict[str, dict] = {"external_id": {"validators": []}}


class TeamUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        queryset=Team.objects.all(), allow_null=True, required=False
    )
    is_active = serializers.BooleanField(required=False)
    managers = serializers.PrimaryKeyRelatedField(
        queryset=Employee.objects.select_related("user"), many=True, required=False
    )


class EmployeePublicSerializer(serializers.ModelSerializer):
    """What a colleague may see of a teammate."""

    name = serializers.CharField(source="display_name", read_only=True)
    team_name = serializers.CharField(
        source="team.name", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Employee
        fields = ["id", "name", "title", "team", "team_name", "is_front_line", "is_active"]


class EmployeeSerializer(serializers.ModelSerializer):
    """The whole directory record, for HR, executives, the person and their managers."""

    name = serializers.CharField(source="display_name", read_only=True)
    team_name = serializers.CharField(
        source="team.name", read_only=True, default=None, allow_null=True
    )
    email = serializers.EmailField(source="user.email", read_only=True)
    first_name = serializers.CharField(source="user.first_name", read_only=True)
    last_name = serializers.CharField(source="user.last_name", read_only=True)

    class Meta:
        model = Employee
        fields = [
            "id",
            "external_id",
            "name",
            "first_name",
            "last_name",
            "email",
            "title",
            "team",
            "team_name",
            "role_family",
            "location",
            "hire_date",
            "is_front_line",
            "is_active",
        ]


class EmployeeCardSerializer(serializers.Serializer):
    """The schema of an employee in a list or a detail answer: everyone gets the public card;
    the fields that are not required come only for HR, executives, the person and their
    managers (EmployeeSerializer), never on a colleague's card (EmployeePublicSerializer)."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    team = serializers.IntegerField(read_only=True, allow_null=True)
    team_name = serializers.CharField(read_only=True, allow_null=True)
    is_front_line = serializers.BooleanField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    external_id = serializers.CharField(required=False)
    first_name = serializers.CharField(required=False)
    last_name = serializers.CharField(required=False)
    email = serializers.EmailField(required=False)
    role_family = serializers.CharField(required=False)
    location = serializers.CharField(required=False)
    hire_date = serializers.DateField(required=False, allow_null=True)


class EmployeeWriteSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100)
    # The email is also the username, hence the username's limit.
    email = serializers.EmailField(max_length=services.EMAIL_MAX_LENGTH)
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    role_family = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    location = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    hire_date = serializers.DateField(required=False, allow_null=True, default=None)
    is_front_line = serializers.BooleanField(required=False, default=False)


class EmployeeUpdateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=services.EMAIL_MAX_LENGTH, required=False)
    first_name = serializers.CharField(max_length=150, required=False)
    last_name = serializers.CharField(max_length=150, required=False)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), allow_null=True, required=False
    )
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    role_family = serializers.CharField(max_length=100, required=False, allow_blank=True)
    location = serializers.CharField(max_length=100, required=False, allow_blank=True)
    hire_date = serializers.DateField(required=False, allow_null=True)
    is_front_line = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=[Role.HR_ADMIN, Role.EXECUTIVE]), required=False
    )


class CompanyValueSerializer(serializers.ModelSerializer):
    class Meta:
        model = CompanyValue
        fields = ["id", "name", "slug", "description", "position", "is_active"]
        read_only_fields = ["slug"]


class PolicySerializer(serializers.ModelSerializer):
    owner_team_name = serializers.CharField(
        source="owner_team.name", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Policy
        fields = ["id", "code", "name", "description", "owner_team", "owner_team_name", "is_active"]
        extra_kwargs: dict[str, dict] = {"code": {"validators": []}}


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField()
    reason = serializers.CharField()


class DirectorySyncSerializer(serializers.ModelSerializer):
    row_errors = RowErrorSerializer(source="errors", many=True, read_only=True)
    mapping = serializers.DictField(child=serializers.CharField(), read_only=True)
    source = serializers.SlugRelatedField(  # type: ignore[assignment,var-annotated]
        slug_field="name", read_only=True, allow_null=True
    )

    class Meta:
        model = DirectorySync
        fields = [
            "id",
            "kind",
            "status",
            "file_name",
            "rows_total",
            "created_count",
            "updated_count",
            "unchanged_count",
            "deactivated_count",
            "confirm_deactivation",
            "mapping",
            "source",
            "message",
            "row_errors",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string"},
            {"type": "number"},
            {"type": "boolean"},
            {"type": "array", "items": {"type": "string"}},
        ],
        "nullable": True,
    }
)
class DirectoryCellField(serializers.Field):
    """One value of a JSON row, turned into the text the same CSV cell would hold.

    JSON clients send `true`, numbers, `null` and, for `manages`, lists of team external ids.
    """

    default_error_messages = {"invalid": "Send text, a number, true/false, null or a list of text."}

    def to_internal_value(self, data: object) -> str:
        if data is None:
            return ""
        if isinstance(data, bool):
            return "yes" if data else "no"
        if isinstance(data, str | int | float):
            return str(data)
        if isinstance(data, list) and all(isinstance(item, str) for item in data):
            return ";".join(data)
        self.fail("invalid")

    def to_representation(self, value: object) -> object:
        return value


class DirectorySyncCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DirectorySync.Kind.choices)
    file = serializers.FileField(required=False, help_text="A UTF-8 CSV file.")
    rows = serializers.ListField(
        child=serializers.DictField(child=DirectoryCellField()),
        required=False,
        max_length=50_000,
        help_text=(
            "The same columns as the CSV, as JSON objects (instead of a file). Rejected rows "
            "are numbered as in the CSV file: the first object is row 2."
        ),
    )
    confirm_deactivation = serializers.BooleanField(required=False, default=False)
    mapping = ColumnMappingField(
        required=False,
        help_text=(
            "Target field -> the file's own header (or the rows' own keys), so an export loads "
            "as it is; unmapped columns are ignored. People files may also map team_name, "
            "parent_team_external_id, parent_team_name (teams taken from the people rows) and "
            "is_manager (yes: manages their own team)."
        ),
    )
    source = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="name",
        queryset=DirectorySource.objects.all(),
        required=False,
        help_text="The name of a saved mapping to use (a sent `mapping` wins over it).",
    )
    save_mapping_as = serializers.CharField(
        required=False,
        max_length=100,
        help_text="Save the mapping under this name (replacing a saved one of that name).",
    )

    def validate(self, attrs: dict) -> dict:
        if ("file" in attrs) == ("rows" in attrs):
            raise serializers.ValidationError({"file": ["Send either a file or rows."]})
        if "save_mapping_as" in attrs and "mapping" not in attrs:
            raise serializers.ValidationError({"save_mapping_as": ["Send the mapping to save."]})
        return attrs


# --- Filters -----------------------------------------------------------------------------------


class TeamFilter(filters.FilterSet):
    parent = filters.NumberFilter(field_name="parent_id")
    is_root = filters.BooleanFilter(field_name="parent", lookup_expr="isnull")
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Team
        fields = ["parent", "is_active", "depth", "external_id"]


_ONLY_FULL_RECORDS = " (matches only people whose full record you see)"


class EmployeeFilter(filters.FilterSet):
    team = filters.NumberFilter(field_name="team_id")
    subtree = filters.NumberFilter(method="filter_subtree", label="Team id: the team and below")
    search = filters.CharFilter(
        method="filter_search",
        label="Every word in the name, title or team (or email, where you see the full record)",
    )
    # Private fields: a filter on them must not tell a colleague's hidden value.
    role_family = filters.CharFilter(
        method="filter_private", label="Role family" + _ONLY_FULL_RECORDS
    )
    location = filters.CharFilter(method="filter_private", label="Location" + _ONLY_FULL_RECORDS)
    external_id = filters.CharFilter(
        method="filter_private", label="External id" + _ONLY_FULL_RECORDS
    )

    class Meta:
        model = Employee
        fields = ["team", "is_active", "is_front_line", "role_family", "location", "external_id"]

    def filter_subtree(self, queryset, name, value):
        team = Team.objects.filter(pk=value).first()
        if team is None:
            return queryset.none()
        return queryset.filter(team__path__startswith=team.path)

    def filter_search(self, queryset, name, value):
        viewer = viewer_for(self.request.user)  # type: ignore[union-attr]
        return selectors.employees_search(queryset, value, viewer=viewer)

    def filter_private(self, queryset, name, value):
        viewer = viewer_for(self.request.user)  # type: ignore[union-attr]
        return selectors.employees_with_private(queryset, viewer, **{name: value})


def _fields_from_row_errors(errors: list[dict]) -> dict[str, list[str]]:
    """Row errors grouped by column, each reason prefixed with its row: "row 4: Required."."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        where = f"row {error['row']}: " if error["row"] else ""
        fields.setdefault(error["column"] or "file", []).append(where + error["reason"])
    return fields


# --- Views -------------------------------------------------------------------------------------


@extend_schema_view(
    update=extend_schema(request=TeamUpdateSerializer),
    partial_update=extend_schema(request=TeamUpdateSerializer),
)
class TeamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The organisation tree. Everyone signed in reads it; HR admins change it."""

    serializer_class = TeamSerializer
    permission_classes = [IsHRAdminOrReadOnly]
    filterset_class = TeamFilter

    def get_queryset(self):
        return selectors.teams_for_viewer(viewer_for(self.request.user))

    def perform_create(self, serializer):
        data = serializer.validated_data
        team = services.team_create(
            name=data["name"], external_id=data["external_id"], parent=data.get("parent")
        )
        serializer.instance = self.get_queryset().get(pk=team.pk)

    def update(self, request: Request, *args, **kwargs) -> Response:
        team = self.get_object()
        incoming = TeamUpdateSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        managers = data.pop("managers", None)
        if "parent" in data:
            services.team_move(team=team, parent=data.pop("parent"))
        services.team_update(team=team, **data)
        if managers is not None:
            services.team_set_managers(team=team, managers=managers)
        return Response(TeamSerializer(self.get_queryset().get(pk=team.pk)).data)


@extend_schema_view(
    create=extend_schema(request=EmployeeWriteSerializer, responses=EmployeeSerializer),
    update=extend_schema(request=EmployeeUpdateSerializer, responses=EmployeeSerializer),
    partial_update=extend_schema(request=EmployeeUpdateSerializer, responses=EmployeeSerializer),
    list=extend_schema(
        responses=EmployeeCardSerializer,
        description="Teammates get public fields only; managers, HR and executives all fields.",
    ),
    retrieve=extend_schema(responses=EmployeeCardSerializer),
)
class EmployeeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """People, scoped to the viewer: HR and executives see all, managers their subtrees."""

    permission_classes = [IsHRAdminOrReadOnly]
    filterset_class = EmployeeFilter
    serializer_class = EmployeeSerializer

    def get_queryset(self):
        return selectors.employees_for_viewer(viewer_for(self.request.user))

    def _serialize(self, employees, *, many: bool):
        viewer = viewer_for(self.request.user)
        items = employees if many else [employees]
        data = [
            (
                EmployeeSerializer
                if selectors.employee_sees_private_fields(viewer, item)
                else EmployeePublicSerializer
            )(item).data
            for item in items
        ]
        return data if many else data[0]

    def list(self, request: Request, *args, **kwargs) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self._serialize(page, many=True))

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return Response(self._serialize(self.get_object(), many=False))

    def create(self, request: Request, *args, **kwargs) -> Response:
        incoming = EmployeeWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        employee = services.employee_create(**incoming.validated_data)
        return Response(
            EmployeeSerializer(self.get_queryset().get(pk=employee.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def update(self, request: Request, *args, **kwargs) -> Response:
        employee = self.get_object()
        incoming = EmployeeUpdateSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        roles = data.pop("roles", None)
        services.employee_update(employee=employee, **data)
        if roles is not None:
            services.employee_set_roles(employee=employee, roles=roles)
        return Response(EmployeeSerializer(self.get_queryset().get(pk=employee.pk)).data)


class CompanyValueViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Company values that recognitions are tagged with."""

    serializer_class = CompanyValueSerializer
    permission_classes = [IsHRAdminOrReadOnly]
    filterset_fields = ["is_active"]

    def get_queryset(self):
        return selectors.values_for_viewer(viewer_for(self.request.user))

    def perform_create(self, serializer):
        serializer.instance = services.company_value_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.company_value_update(
            value=serializer.instance, **serializer.validated_data
        )


class PolicyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The catalog of policies front-line staff may bend for a customer."""

    serializer_class = PolicySerializer
    permission_classes = [IsHRAdminOrReadOnly]
    filterset_fields = ["is_active", "owner_team", "code"]

    def get_queryset(self):
        return selectors.policies_for_viewer(viewer_for(self.request.user))

    def perform_create(self, serializer):
        serializer.instance = services.policy_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.policy_update(
            policy=serializer.instance, **serializer.validated_data
        )


@extend_schema_view(
    create=extend_schema(
        request={
            "multipart/form-data": DirectorySyncCreateSerializer,
            "application/json": DirectorySyncCreateSerializer,
        },
        responses={
            201: DirectorySyncSerializer,
            202: OpenApiResponse(DirectorySyncSerializer, "Large file: a worker applies it."),
            400: OpenApiResponse(
                description=(
                    "Rejected: nothing was changed. `error.rows` lists each rejected row "
                    "(row, column, reason) and `error.sync` the recorded sync; or the mapping "
                    "is wrong (`error.fields.mapping` names the target or header)."
                )
            ),
            413: OpenApiResponse(description="The file is over the size limit."),
        },
        description=(
            "Create or update teams or employees from a CSV file or JSON rows, matched on "
            "external id. The employees file is the full list of people: active people missing "
            "from it are deactivated, and a sync that would deactivate more than 40% of them "
            "stops with status `needs_confirmation`. Any rejected row rejects the whole sync."
        ),
    ),
)
class DirectorySyncViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Directory syncs: HR admins only."""

    serializer_class = DirectorySyncSerializer
    permission_classes = [IsHRAdmin]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    filterset_fields = ["kind", "status"]

    def get_queryset(self):
        return selectors.directory_syncs_for_viewer(viewer_for(self.request.user))

    def create(self, request: Request, *args, **kwargs) -> Response:
        incoming = DirectorySyncCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        if "file" in data:
            upload = data["file"]
            # Refuse before reading a byte of an oversized upload.
            services.directory_upload_check_size(upload.size)
            content, file_name = upload.read(), upload.name
        else:
            mapped = "mapping" in data or "source" in data
            content = services.rows_to_csv(data["kind"], data["rows"], mapped=mapped)
            file_name = ""
        sync = services.directory_sync_start(
            kind=data["kind"],
            content=content,
            file_name=file_name,
            requested_by=request.user,  # type: ignore[arg-type]
            confirm_deactivation=data["confirm_deactivation"],
            mapping=data.get("mapping"),
            source=data.get("source"),
            save_mapping_as=data.get("save_mapping_as", ""),
        )
        if sync.status == DirectorySync.Status.REJECTED:
            # The sync stays in the history, but the request itself was bad input: a 400 that
            # carries every rejected row and the recorded sync.
            body = error_body("rows_rejected", sync.message, _fields_from_row_errors(sync.errors))
            body["error"]["rows"] = sync.errors
            body["error"]["sync"] = DirectorySyncSerializer(sync).data
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        pending = sync.status == DirectorySync.Status.PENDING
        answer = status.HTTP_202_ACCEPTED if pending else status.HTTP_201_CREATED
        return Response(DirectorySyncSerializer(sync).data, status=answer)

    @extend_schema(
        request=None,
        responses={
            200: DirectorySyncSerializer,
            202: OpenApiResponse(DirectorySyncSerializer, "Large file: a worker applies it."),
            409: OpenApiResponse(
                description=(
                    "The sync is not waiting for confirmation, or a newer sync of its kind was "
                    "sent after it (`superseded`)."
                )
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        sync = services.directory_sync_confirm(sync=self.get_object())
        pending = sync.status == DirectorySync.Status.PENDING
        answer = status.HTTP_202_ACCEPTED if pending else status.HTTP_200_OK
        return Response(DirectorySyncSerializer(sync).data, status=answer)

    @extend_schema(
        request=None,
        responses={
            200: DirectorySyncSerializer,
            409: OpenApiResponse(description="The sync has finished."),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        sync = services.directory_sync_cancel(sync=self.get_object())
        return Response(DirectorySyncSerializer(sync).data)
