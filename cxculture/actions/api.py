"""REST API for actions: `actions` (scoped list with filters, create, retrieve, partial update)
and `actions/{id}/updates` (the timeline: list and post), plus follow-through figures."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from cxculture.lib.errors import DomainError
from cxculture.people.models import Employee, Policy, Team
from cxculture.people.permissions import Viewer, viewer_for
from surveys import drivers
from surveys.models import Question, SurveyRun

from . import selectors, services
from .models import (
    DESCRIPTION_MAX_LENGTH,
    DROP_REASON_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    SOURCE_LABEL_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Action,
    ActionUpdate,
)

# --- Serializers -------------------------------------------------------------------------


class ActionListSerializer(serializers.ListSerializer):
    """Reads the labels of the page's drivers (HR's own included) in one query at most."""

    driver_labels: dict[str, str] | None = None

    def to_representation(self, data: Any) -> list[Any]:
        actions = list(data.all() if hasattr(data, "all") else data)
        self.driver_labels = selectors.source_driver_labels(actions)
        return super().to_representation(actions)


class ActionSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True, default=None)
    owner_name = serializers.CharField(source="owner.display_name", read_only=True)
    source_driver_label = serializers.SerializerMethodField(
        help_text="The driver's name as pages show it (empty without a driver)."
    )
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = Action
        list_serializer_class = ActionListSerializer
        fields = [
            "id",
            "title",
            "description",
            "source_kind",
            "source_run",
            "source_driver",
            "source_driver_label",
            "source_question",
            "source_policy",
            "source_label",
            "team",
            "team_name",
            "owner",
            "owner_name",
            "due_on",
            "status",
            "drop_reason",
            "is_overdue",
            "created_by",
            "created_at",
            "updated_at",
            "completed_at",
        ]
        read_only_fields = fields

    def get_source_driver_label(self, obj: Action) -> str:
        if not obj.source_driver:
            return ""
        # In a list, the labels its `ActionListSerializer` read for the whole page.
        labels = getattr(self.parent, "driver_labels", None)
        return drivers.driver_label(obj.source_driver, labels)

    def get_is_overdue(self, obj: Action) -> bool:
        return obj.is_open and obj.due_on < timezone.localdate()


class ActionCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=TITLE_MAX_LENGTH)
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    source_kind = serializers.ChoiceField(
        choices=Action.SourceKind.choices, default=Action.SourceKind.OTHER
    )
    source_run = serializers.PrimaryKeyRelatedField(
        queryset=SurveyRun.objects.all(), required=False, allow_null=True, default=None
    )
    source_driver = serializers.CharField(
        max_length=30,
        required=False,
        allow_blank=True,
        default="",
        help_text="A built-in driver (engagement, recognition, …) or the code of one of the "
        "organisation's own drivers that is not retired.",
    )
    source_question = serializers.PrimaryKeyRelatedField(
        queryset=Question.objects.all(), required=False, allow_null=True, default=None
    )
    source_policy = serializers.PrimaryKeyRelatedField(
        queryset=Policy.objects.all(), required=False, allow_null=True, default=None
    )
    source_label = serializers.CharField(
        max_length=SOURCE_LABEL_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Empty for an organisation-wide action.",
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=Employee.objects.all(),
        help_text="Someone in the action's scope: for a team, a person in its subtree or a "
        "manager of it or of a team above; for the organisation, anyone active.",
    )
    due_on = serializers.DateField(
        help_text="From today up to three years ahead.",
    )


class ActionPatchSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=TITLE_MAX_LENGTH, required=False)
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=Employee.objects.all(),
        required=False,
        help_text="Someone in the action's scope.",
    )
    due_on = serializers.DateField(
        required=False,
        help_text="Not before the day the action was made, up to three years ahead.",
    )
    status = serializers.ChoiceField(choices=Action.Status.choices, required=False)
    drop_reason = serializers.CharField(
        max_length=DROP_REASON_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Added to the timeline.",
    )


class ActionUpdateSerializer(serializers.ModelSerializer):
    author_name = serializers.CharField(source="author.display_name", read_only=True, default=None)

    class Meta:
        model = ActionUpdate
        fields = ["id", "author", "author_name", "text", "status_from", "status_to", "created_at"]
        read_only_fields = fields


class ActionUpdateCreateSerializer(serializers.Serializer):
    text = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    status = serializers.ChoiceField(choices=Action.Status.choices, required=False)
    drop_reason = serializers.CharField(
        max_length=DROP_REASON_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


class FollowThroughSerializer(serializers.Serializer):
    window_days = serializers.IntegerField()
    results = serializers.IntegerField()
    results_with_action = serializers.IntegerField()
    results_with_action_share = serializers.FloatField(allow_null=True)
    actions = serializers.IntegerField(
        help_text="Actions of the scope (the team's and its sub-teams'; for the organisation, "
        "all), dropped ones aside: what `GET /api/v1/actions/?within=` lists, less dropped."
    )
    actions_planned = serializers.IntegerField()
    actions_in_progress = serializers.IntegerField()
    actions_done = serializers.IntegerField()
    actions_dropped = serializers.IntegerField(help_text="Dropped actions count nowhere else.")
    actions_due = serializers.IntegerField(
        help_text="Actions done, or open past their due date (`is_overdue` in the list)."
    )
    actions_done_on_time = serializers.IntegerField()
    actions_done_on_time_share = serializers.FloatField(allow_null=True)


class EffectSerializer(serializers.Serializer):
    action = serializers.IntegerField()
    driver = serializers.CharField()
    driver_label = serializers.CharField()
    before_run = serializers.IntegerField()
    after_run = serializers.IntegerField(allow_null=True)
    before = serializers.FloatField(allow_null=True)
    after = serializers.FloatField(allow_null=True)
    change = serializers.FloatField(allow_null=True)


class FollowThroughResponseSerializer(FollowThroughSerializer):
    effects = EffectSerializer(many=True)


class ActionFilter(filters.FilterSet):
    team = filters.NumberFilter(field_name="team_id", help_text="That team's own actions.")
    within = filters.ModelChoiceFilter(
        queryset=Team.objects.all(),
        method="filter_within",
        help_text="A team's and its sub-teams' actions: the scope of its follow-through.",
    )
    status = filters.ChoiceFilter(choices=Action.Status.choices)
    owner = filters.NumberFilter(field_name="owner_id")

    class Meta:
        model = Action
        fields = ["team", "within", "status", "owner"]

    @extend_schema_field(OpenApiTypes.INT)  # a team id; the model choice is not guessable
    def filter_within(self, actions: QuerySet[Action], name: str, team: Team) -> QuerySet[Action]:
        return selectors.action_filter(actions, within=team)


def _viewer(request: Request) -> Viewer:
    return viewer_for(request.user)  # type: ignore[arg-type]


# --- Views -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(description="Actions the viewer may see, newest first."),
    partial_update=extend_schema(
        request=ActionPatchSerializer,
        responses={200: ActionSerializer, 403: OpenApiResponse(description="May not change.")},
    ),
    retrieve=extend_schema(description="One action (404 outside the viewer's scope)."),
)
class ActionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ActionSerializer
    filterset_class = ActionFilter

    def get_queryset(self) -> QuerySet[Action]:
        return selectors.actions_for_viewer(_viewer(self.request))

    @extend_schema(
        request=ActionCreateSerializer,
        responses={201: ActionSerializer, 403: OpenApiResponse(description="Not your scope.")},
        description="Commit an action: HR for any scope, managers for teams they lead, "
        "executives for the organisation (no team).",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = ActionCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        created = services.action_create(by=_viewer(request), **incoming.validated_data)
        fresh = self.get_queryset().get(pk=created.pk)
        return Response(ActionSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ActionPatchSerializer,
        responses={200: ActionSerializer, 403: OpenApiResponse(description="May not change.")},
        description="Change fields or the status; a status change appends to the timeline. "
        "Dropping needs a `drop_reason`.",
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        current = self.get_object()
        incoming = ActionPatchSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        services.action_update(
            by=_viewer(request),
            action=current,
            note=data.pop("note", ""),
            status=data.pop("status", None),
            drop_reason=data.pop("drop_reason", ""),
            **data,
        )
        return Response(ActionSerializer(self.get_queryset().get(pk=current.pk)).data)

    @extend_schema(
        methods=["GET"],
        responses=ActionUpdateSerializer(many=True),
        description="The action's timeline, newest first.",
    )
    @extend_schema(
        methods=["POST"],
        request=ActionUpdateCreateSerializer,
        responses={
            201: ActionUpdateSerializer,
            403: OpenApiResponse(description="May not change."),
        },
        description="Post a progress update, optionally with a status change (one entry).",
    )
    @action(detail=True, methods=["get", "post"], url_path="updates", filterset_class=None)
    def updates(self, request: Request, pk: str | None = None) -> Response:
        current = get_object_or_404(self.get_queryset(), pk=pk)
        if request.method == "POST":
            incoming = ActionUpdateCreateSerializer(data=request.data)
            incoming.is_valid(raise_exception=True)
            entry = services.action_update_post(
                by=_viewer(request), action=current, **incoming.validated_data
            )
            fresh = selectors.action_updates(current).get(pk=entry.pk)
            return Response(ActionUpdateSerializer(fresh).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(selectors.action_updates(current))
        return self.get_paginated_response(ActionUpdateSerializer(page, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "team", int, description="A team (and below) instead of the organisation."
            )
        ],
        responses={
            200: FollowThroughResponseSerializer,
            403: OpenApiResponse(description="The team is outside the teams you can see."),
            404: OpenApiResponse(description="No such team."),
        },
        description="Follow-through (results that got an action in time, actions done on "
        "time) and effect (driver score before and after) for the actions the viewer sees.",
    )
    @action(detail=False, methods=["get"], url_path="follow-through", filterset_class=None)
    def follow_through(self, request: Request) -> Response:
        viewer = _viewer(request)
        today = timezone.localdate()
        team = None
        raw = request.query_params.get("team", "")
        if raw:
            if not raw.isdigit():
                raise DomainError("Give a team id.", field="team")
            team = get_object_or_404(Team, pk=int(raw))
            if not selectors.may_see_team_page(viewer, team):
                raise PermissionDenied("This team is outside the teams you can see.")
        figures = selectors.follow_through(today=today, team=team)
        actions = list(self.get_queryset())
        book = selectors.ScoreBook()
        effects = [
            {"action": pk, **effect} for pk, effect in selectors.effects(actions, book).items()
        ]
        return Response(FollowThroughResponseSerializer({**figures, "effects": effects}).data)
