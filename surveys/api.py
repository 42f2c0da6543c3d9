"""REST API for pulse surveys: questions, programs (`surveys`), runs and their results, and
`responses` (submit only).

Results and participation go through `surveys.selectors`, which passes every figure through the
anonymity gate; nothing here reads answers.
"""

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from cxculture.audit.models import AuditEvent
from cxculture.audit.services import audit_export
from cxculture.lib import anonymity
from cxculture.lib.api import error_body
from cxculture.lib.csvio import csv_response, write_csv
from cxculture.lib.errors import DomainError
from cxculture.lib.ratelimit import (
    SignedInUserThrottle,
    SurveySubmitThrottle,
)
from cxculture.people.models import Team
from cxculture.people.permissions import IsHRAdmin, IsHRAdminOrReadOnly, viewer_for

from . import drivers, selectors, services
from . import results as survey_results
from .models import Question, SurveyProgram, SurveyRun

# --- Serializers -------------------------------------------------------------------------------


class QuestionSerializer(serializers.ModelSerializer):
    driver = serializers.CharField(
        read_only=True, help_text="A built-in driver or the code of a custom driver."
    )
    driver_label = serializers.SerializerMethodField()

    class Meta:
        model = Question
        fields = [
            "id",
            "code",
            "text",
            "driver",
            "driver_label",
            "kind",
            "options",
            "is_builtin",
            "is_active",
        ]
        read_only_fields = fields

    def get_driver_label(self, question: Question) -> str:
        # The labels are read once per request by the view (`driver_labels` in the context).
        return drivers.driver_label(question.driver, self.context.get("driver_labels"))


class QuestionWriteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=300)
    driver = serializers.CharField(
        max_length=30,
        help_text="A built-in driver (engagement, empowerment, ...) or a custom driver's code.",
    )
    kind = serializers.ChoiceField(choices=Question.Kind.choices, default=Question.Kind.AGREEMENT)
    options = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=12
    )
    is_active = serializers.BooleanField(required=False)

    def validate_driver(self, value: str) -> str:
        if not drivers.is_driver(value):
            raise serializers.ValidationError(
                f"{value!r} is not a driver: use a built-in driver or add a custom driver first."
            )
        return value


class ProgramSerializer(serializers.ModelSerializer):
    questions = serializers.PrimaryKeyRelatedField[Question](many=True, read_only=True)
    teams = serializers.PrimaryKeyRelatedField[Team](many=True, read_only=True)
    run_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = SurveyProgram
        fields = [
            "id",
            "name",
            "description",
            "audience",
            "teams",
            "cadence",
            "starts_on",
            "run_length_days",
            "anonymity_threshold",
            "comment_threshold",
            "questions",
            "is_active",
            "is_organisation_wide",
            "archived_at",
            "run_count",
            "created_at",
        ]
        read_only_fields = fields


class ProgramWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    audience = serializers.ChoiceField(
        choices=SurveyProgram.Audience.choices, default=SurveyProgram.Audience.ORGANISATION
    )
    teams = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), many=True, required=False
    )
    cadence = serializers.ChoiceField(
        choices=SurveyProgram.Cadence.choices, default=SurveyProgram.Cadence.MONTHLY
    )
    starts_on = serializers.DateField()
    run_length_days = serializers.IntegerField(min_value=1, max_value=90, required=False)
    anonymity_threshold = serializers.IntegerField(
        min_value=anonymity.MIN_THRESHOLD,
        max_value=anonymity.MAX_THRESHOLD,
        default=anonymity.DEFAULT_THRESHOLD,
    )
    comment_threshold = serializers.IntegerField(
        min_value=anonymity.MIN_THRESHOLD,
        max_value=anonymity.MAX_COMMENT_THRESHOLD,
        default=anonymity.DEFAULT_COMMENT_THRESHOLD,
    )
    questions = serializers.PrimaryKeyRelatedField(
        queryset=Question.objects.filter(is_active=True),
        many=True,
        required=False,
        help_text="Question ids; the whole built-in library when left out.",
    )
    is_active = serializers.BooleanField(required=False)
    is_organisation_wide = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text=(
            "Its runs are the organisation's results (home pages, culture dashboard, heatmap, "
            "linkage, follow-through). By default: true when the audience is the whole "
            "organisation."
        ),
    )


class RunQuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Question
        fields = ["id", "text", "driver", "kind", "options"]
        read_only_fields = fields


class RunSerializer(serializers.ModelSerializer):
    program_name = serializers.CharField(source="program.name", read_only=True)
    question_count = serializers.IntegerField(read_only=True)
    invited = serializers.BooleanField(read_only=True, help_text="You were invited to this run.")
    responded = serializers.BooleanField(read_only=True, help_text="You have answered it.")

    class Meta:
        model = SurveyRun
        fields = [
            "id",
            "program",
            "program_name",
            "sequence",
            "status",
            "opens_on",
            "closes_on",
            "anonymity_threshold",
            "comment_threshold",
            "question_count",
            "invited",
            "responded",
            "is_imported",
        ]
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    questions = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "questions"]
        read_only_fields = fields

    @extend_schema_field(RunQuestionSerializer(many=True))
    def get_questions(self, run: SurveyRun) -> Any:
        return RunQuestionSerializer(self.context["questions"], many=True).data


class RunImportSerializer(serializers.Serializer):
    program = serializers.PrimaryKeyRelatedField(queryset=SurveyProgram.objects.all())
    opens_on = serializers.DateField(help_text="The first day of the past period.")
    closes_on = serializers.DateField(help_text="The last day of the past period, before today.")
    file = serializers.FileField(
        help_text=(
            "CSV, UTF-8, one row per respondent: `team` (the team's external id), optional "
            "`tenure_band` (lt1, 1to2, 2to5, 5plus), `location`, `role_family` and `comment`, "
            "and one column per question code of the programme with the answer."
        )
    )


class ImportRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField()
    reason = serializers.CharField()


def import_rejected_body(exc: services.SurveyImportRejected) -> dict[str, Any]:
    """The project's error body, with each bad row's reason under its column and every row."""
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        where = f"row {error.row}: " if error.row else ""
        fields.setdefault(error.column or "file", []).append(where + error.reason)
    body = error_body(exc.code, exc.message, fields)
    body["error"]["rows"] = [error.as_dict() for error in exc.errors]
    return body


class RunCreateSerializer(serializers.Serializer):
    program = serializers.PrimaryKeyRelatedField(queryset=SurveyProgram.objects.all())
    opens_on = serializers.DateField(
        required=False, help_text="When the run opens; by default as the cadence plans it."
    )


# The numbers an answer may carry: 1-5 agreement or 0-10 (the service checks each question's).
ANSWER_VALUES = range(0, 11)


class AnswerInputSerializer(serializers.Serializer):
    question = serializers.IntegerField(min_value=1)
    value = serializers.IntegerField(
        min_value=ANSWER_VALUES.start,
        max_value=ANSWER_VALUES.stop - 1,
        required=False,
        allow_null=True,
        default=None,
    )
    choice = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    text = serializers.CharField(
        max_length=services.MAX_TEXT_LENGTH, required=False, allow_blank=True, default=""
    )


class AnswersField(serializers.ListField):
    """A survey's answers. A list of numeric answers, the usual body, is taken as it is when
    every item is exactly what `AnswerInputSerializer` accepts unchanged; anything else is
    checked item by item by that serializer, which says what is wrong where. (Checking the
    usual body field by field cost a quarter of a submission.)"""

    def __init__(self, **kwargs) -> None:
        super().__init__(child=AnswerInputSerializer(), **kwargs)

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        numeric = self.numeric_answers(data)
        return numeric if numeric is not None else super().to_internal_value(data)

    def numeric_answers(self, data: Any) -> list[dict[str, Any]] | None:
        """The answers as `AnswerInputSerializer` gives them back, when each is a question id
        with a whole number in the value's range (or none) and nothing else; else None."""
        if type(data) is not list or len(data) > (self.max_length or 0):
            return None
        answers = []
        for item in data:
            if type(item) is not dict or item.keys() - {"question", "value"}:
                return None
            question, value = item.get("question"), item.get("value")
            if type(question) is not int or question < 1:
                return None
            if value is not None and (type(value) is not int or value not in ANSWER_VALUES):
                return None
            # The serializer's defaults for the fields left out (tests check they agree).
            answers.append({"question": question, "value": value, "choice": "", "text": ""})
        return answers


class ResponseSubmitSerializer(serializers.Serializer):
    token = serializers.CharField(
        required=False,
        max_length=200,
        help_text="The token from the personal link in the invitation email (no sign-in needed).",
    )
    run = serializers.IntegerField(
        required=False, min_value=1, help_text="Signed in: the run you were invited to."
    )
    answers = AnswersField(max_length=200)
    comment = serializers.CharField(
        max_length=services.MAX_TEXT_LENGTH, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs: dict) -> dict:
        if ("token" in attrs) == ("run" in attrs):
            raise serializers.ValidationError({"token": ["Send either a token or a run."]})
        return attrs


class ResponseReceivedSerializer(serializers.Serializer):
    message = serializers.CharField()


# The shape of results, for the OpenAPI schema (figures are None when not shown).


class ChangeScoreSerializer(serializers.Serializer):
    score = serializers.FloatField(
        allow_null=True,
        help_text="Rounded to what `answered` supports: a whole number below 100 answers, "
        "one decimal from 100.",
    )
    answered = serializers.IntegerField(
        allow_null=True,
        help_text="Answers the figure is computed from (for the engagement index: the fewest "
        "answers of any of its questions).",
    )
    change = serializers.FloatField(
        allow_null=True, help_text="Since the previous run, as coarse as the coarser figure."
    )


class EnpsScoreSerializer(ChangeScoreSerializer):
    low = serializers.FloatField(
        allow_null=True, help_text="95% interval, lower end (normal approximation, >= -100)."
    )
    high = serializers.FloatField(
        allow_null=True, help_text="95% interval, upper end (normal approximation, <= 100)."
    )


class DriverResultSerializer(serializers.Serializer):
    driver = serializers.CharField(help_text="A built-in driver's code or one HR defined.")
    label = serializers.CharField()  # type: ignore[assignment]
    favourable = serializers.FloatField(allow_null=True)
    mean = serializers.FloatField(allow_null=True)
    answered = serializers.IntegerField(allow_null=True)
    change = serializers.FloatField(allow_null=True)
    reason = serializers.CharField(allow_null=True, help_text="Why the figure is hidden.")


class OptionShareSerializer(serializers.Serializer):
    option = serializers.CharField()
    share = serializers.FloatField(allow_null=True)


class QuestionResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    driver = serializers.CharField(help_text="A built-in driver's code or one HR defined.")
    kind = serializers.ChoiceField(choices=Question.Kind.choices)
    shown = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True, help_text="Why the figure is hidden.")
    answered = serializers.IntegerField(allow_null=True)
    favourable = serializers.FloatField(allow_null=True)
    mean = serializers.FloatField(allow_null=True)
    enps = serializers.FloatField(allow_null=True)
    options = OptionShareSerializer(many=True)


class ParticipationSerializer(serializers.Serializer):
    invited = serializers.IntegerField()
    responded = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class HeatmapColumnSerializer(serializers.Serializer):
    driver = serializers.CharField(help_text="A built-in driver's code or one HR defined.")
    label = serializers.CharField()  # type: ignore[assignment]


class PlainRows(serializers.ListSerializer):
    """Rows a selector built from plain JSON values, passed through as they are: for 2,000
    teams, serialising each row's fields took longer than the rest of the request. The child
    serializer still describes a row in the schema (tests hold the rows to its fields)."""

    def to_representation(self, data: Any) -> list[Any]:
        return list(data)


class HeatmapRowSerializer(serializers.Serializer):
    class Meta:
        list_serializer_class = PlainRows

    team = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    depth = serializers.IntegerField()
    shown = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    respondents = serializers.IntegerField(allow_null=True)
    engagement_index = serializers.FloatField(allow_null=True)
    enps = serializers.FloatField(allow_null=True)
    cells = serializers.DictField(
        child=serializers.FloatField(allow_null=True), help_text="Driver -> % favourable."
    )


class HeatmapSerializer(serializers.Serializer):
    columns = HeatmapColumnSerializer(many=True)
    rows = HeatmapRowSerializer(many=True)


class BreakdownSerializer(serializers.Serializer):
    attribute = serializers.ChoiceField(choices=survey_results.ATTRIBUTES)
    value = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    shown = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    respondents = serializers.IntegerField(allow_null=True)
    engagement_index = serializers.FloatField(allow_null=True)
    enps = serializers.FloatField(allow_null=True)


class QuestionCommentsSerializer(serializers.Serializer):
    question = serializers.IntegerField()
    text = serializers.CharField()
    items = serializers.ListField(child=serializers.CharField())


class PooledFromSerializer(serializers.Serializer):
    team = serializers.IntegerField(allow_null=True)
    label = serializers.CharField()  # type: ignore[assignment]


class CommentsSerializer(serializers.Serializer):
    shown = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    items = serializers.ListField(child=serializers.CharField())
    by_question = QuestionCommentsSerializer(many=True)
    pooled_from = PooledFromSerializer(
        allow_null=True,
        help_text="Set when the group has too few responses for comments of its own: the "
        "comments are those of this nearest team above it.",
    )


class TrendPointSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    sequence = serializers.IntegerField()
    closes_on = serializers.DateField()
    shown = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    respondents = serializers.IntegerField(allow_null=True)
    engagement_index = serializers.FloatField(allow_null=True)
    enps = serializers.FloatField(allow_null=True)


class ImpactItemSerializer(serializers.Serializer):
    driver = serializers.CharField(help_text="A built-in driver's code or one HR defined.")
    label = serializers.CharField()  # type: ignore[assignment]
    correlation = serializers.FloatField(allow_null=True)
    respondents = serializers.IntegerField(allow_null=True)


class DriverImpactSerializer(serializers.Serializer):
    shown = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    minimum = serializers.IntegerField()
    items = ImpactItemSerializer(many=True)


class ResultRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    program = serializers.CharField()
    sequence = serializers.IntegerField()
    opens_on = serializers.DateField()
    closes_on = serializers.DateField()


class PreviousRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sequence = serializers.IntegerField()
    opens_on = serializers.DateField()


class ResultGroupSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="`subtree` (a team and below) or `team` (its members).")
    team = serializers.IntegerField(allow_null=True)
    label = serializers.CharField()  # type: ignore[assignment]
    filters = serializers.DictField(child=serializers.CharField())


class ResultsSerializer(serializers.Serializer):
    run = ResultRunSerializer()
    group = ResultGroupSerializer()
    threshold = serializers.IntegerField()
    comment_threshold = serializers.IntegerField()
    reportable = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    respondents = serializers.IntegerField(allow_null=True)
    participation = ParticipationSerializer(allow_null=True)
    engagement_index = ChangeScoreSerializer(allow_null=True)
    enps = EnpsScoreSerializer(allow_null=True)
    drivers = DriverResultSerializer(many=True)
    questions = QuestionResultSerializer(many=True)
    heatmap = HeatmapSerializer(allow_null=True)
    breakdowns = BreakdownSerializer(many=True)
    comments = CommentsSerializer()
    driver_impact = DriverImpactSerializer(allow_null=True)
    previous_run = PreviousRunSerializer(allow_null=True)
    trend = TrendPointSerializer(
        many=True,
        help_text="The group's figures at each closed run of the programme up to this one "
        "(oldest first), each through that run's anonymity gate.",
    )


class ParticipationRowSerializer(serializers.Serializer):
    team = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    depth = serializers.IntegerField()
    shown = serializers.BooleanField()
    invited = serializers.IntegerField(allow_null=True)
    responded = serializers.IntegerField(allow_null=True)
    rate = serializers.FloatField(allow_null=True)


class RunParticipationSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    status = serializers.ChoiceField(choices=SurveyRun.Status.choices)
    threshold = serializers.IntegerField()
    rows = ParticipationRowSerializer(many=True)


class CSVRenderer(renderers.BaseRenderer):
    """Results as CSV (via `write_csv`, which neutralises spreadsheet formulas)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, dict) and "error" in data:
            error = data["error"]
            return write_csv([["code", "message"], [error["code"], error["message"]]]).encode()
        if isinstance(data, str):
            return data.encode()
        return write_csv(data or []).encode()


RESULT_PARAMETERS = [
    OpenApiParameter("team", int, description="A team's direct members."),
    OpenApiParameter("subtree", int, description="A team and every team below it."),
    OpenApiParameter("tenure_band", str, enum=["lt1", "1to2", "2to5", "5plus"]),
    OpenApiParameter("location", str),
    OpenApiParameter("role_family", str),
]
FORBIDDEN = OpenApiResponse(description="Outside the teams you may see.")

# --- Views -------------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(request=QuestionWriteSerializer, responses={201: QuestionSerializer}),
    update=extend_schema(request=QuestionWriteSerializer, responses=QuestionSerializer),
    partial_update=extend_schema(request=QuestionWriteSerializer, responses=QuestionSerializer),
)
class QuestionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The question library: built-in items and HR's custom questions, tagged with a driver."""

    serializer_class = QuestionSerializer
    permission_classes = [IsHRAdminOrReadOnly]
    filterset_fields = ["driver", "kind", "is_builtin", "is_active"]

    def get_queryset(self):
        return selectors.questions_for_viewer(viewer_for(self.request.user))

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "driver_labels": drivers.driver_labels()}

    def create(self, request: Request, *args, **kwargs) -> Response:
        incoming = QuestionWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        data.pop("is_active", None)
        question = services.question_create(**data)
        answer = QuestionSerializer(question, context=self.get_serializer_context())
        return Response(answer.data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        question = self.get_object()
        incoming = QuestionWriteSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        question = services.question_update(question=question, **incoming.validated_data)
        return Response(QuestionSerializer(question, context=self.get_serializer_context()).data)


@extend_schema_view(
    create=extend_schema(request=ProgramWriteSerializer, responses={201: ProgramSerializer}),
    update=extend_schema(request=ProgramWriteSerializer, responses=ProgramSerializer),
    partial_update=extend_schema(request=ProgramWriteSerializer, responses=ProgramSerializer),
    destroy=extend_schema(responses={204: None, 409: OpenApiResponse(description="Has runs.")}),
)
class SurveyProgramViewSet(viewsets.ModelViewSet):
    """Survey programs. HR admins manage them; everyone signed in reads the active ones."""

    serializer_class = ProgramSerializer
    permission_classes = [IsHRAdminOrReadOnly]
    filterset_fields = ["is_active", "cadence", "audience"]

    def get_queryset(self):
        programs = selectors.programs_for_viewer(viewer_for(self.request.user))
        if self.action == "list":
            # Archived programs leave the list (as on the pages); `?archived=true` lists them.
            archived = self.request.query_params.get("archived", "false").lower()
            if archived not in ("true", "false"):
                raise DomainError("Give archived as true or false.", field="archived")
            programs = programs.filter(archived_at__isnull=archived == "false")
        return programs

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "archived", bool, description="List archived programs instead of current ones."
            )
        ]
    )
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    def _answer(self, program: SurveyProgram, code: int = status.HTTP_200_OK) -> Response:
        return Response(ProgramSerializer(self.get_queryset().get(pk=program.pk)).data, status=code)

    def create(self, request: Request, *args, **kwargs) -> Response:
        incoming = ProgramWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        data.pop("is_active", None)
        program = services.survey_program_create(created_by=request.user, **data)
        return self._answer(program, status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        program = self.get_object()
        incoming = ProgramWriteSerializer(data=request.data, partial=kwargs.get("partial", False))
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        if data.get("is_organisation_wide") is None:
            data.pop("is_organisation_wide", None)  # left out: unchanged
        program = services.survey_program_update(
            program=program,
            teams=data.pop("teams", None),
            questions=data.pop("questions", None),
            actor=request.user,
            **data,
        )
        return self._answer(program)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.survey_program_delete(program=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    retrieve=extend_schema(responses=RunDetailSerializer),
    create=extend_schema(request=RunCreateSerializer, responses={201: RunSerializer}),
)
class SurveyRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Runs of survey programs: HR schedules, opens and closes them; results once closed."""

    serializer_class = RunSerializer
    filterset_fields = ["program", "status"]

    def get_permissions(self):
        if self.action in ("create", "open", "close", "import_results"):
            return [IsHRAdmin()]
        return super().get_permissions()

    def get_queryset(self):
        return selectors.runs_for_viewer(viewer_for(self.request.user))

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        run = self.get_object()
        questions = selectors.run_questions(run)
        return Response(RunDetailSerializer(run, context={"questions": questions}).data)

    def create(self, request: Request, *args, **kwargs) -> Response:
        incoming = RunCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        run = services.survey_run_schedule(
            program=incoming.validated_data["program"],
            opens_on=incoming.validated_data.get("opens_on"),
        )
        return Response(
            RunSerializer(self.get_queryset().get(pk=run.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=None,
        responses={200: RunSerializer, 409: OpenApiResponse(description="Not scheduled.")},
        description="Open a scheduled run today: questions are picked and invitations emailed.",
    )
    @action(detail=True, methods=["post"])
    def open(self, request: Request, pk: str | None = None) -> Response:
        run = get_object_or_404(self.get_queryset(), pk=pk)
        services.survey_run_open(run=run)
        return Response(RunSerializer(self.get_queryset().get(pk=run.pk)).data)

    @extend_schema(
        request=None,
        responses={200: RunSerializer, 409: OpenApiResponse(description="Not open.")},
        description="Close an open run now: it stops taking answers and shows its results.",
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        run = get_object_or_404(self.get_queryset(), pk=pk)
        services.survey_run_close(run=run)
        return Response(RunSerializer(self.get_queryset().get(pk=run.pk)).data)

    @extend_schema(
        request={"multipart/form-data": RunImportSerializer},
        responses={
            201: RunSerializer,
            400: OpenApiResponse(
                description=(
                    "A bad period or file: nothing is imported; `error.rows` lists each bad "
                    "row's `row`, `column` and `reason`."
                )
            ),
            409: OpenApiResponse(description="Another run of the programme covers the period."),
        },
        description=(
            "Import a past period's anonymous answers as a closed run of the programme (HR "
            "admins). The run is marked `is_imported`: its invitations are unknown, so it shows "
            "no participation. The answers are stored as a closing run stores them, and shown "
            "through the same anonymity gate."
        ),
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        # JSON is read too, so a request without a file gets a 400 naming `file`, not a 415.
        parser_classes=[MultiPartParser, FormParser, JSONParser],
    )
    def import_results(self, request: Request) -> Response:
        incoming = RunImportSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        upload = data["file"]
        try:
            if upload.size > services.IMPORT_MAX_BYTES:
                services.survey_run_import_check_size(upload.size)
            run = services.survey_run_import(
                program=data["program"],
                opens_on=data["opens_on"],
                closes_on=data["closes_on"],
                content=upload.read(),
            )
        except services.SurveyImportRejected as exc:
            return Response(import_rejected_body(exc), status=status.HTTP_400_BAD_REQUEST)
        return Response(
            RunSerializer(self.get_queryset().get(pk=run.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        parameters=RESULT_PARAMETERS,
        responses={
            (200, "application/json"): ResultsSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
            400: OpenApiResponse(description="An unknown team or filter."),
            403: FORBIDDEN,
            404: OpenApiResponse(description="No such run."),
            409: OpenApiResponse(description="The run is not closed yet."),
        },
        description=(
            "Results of a closed run for one group: the whole organisation (HR, executives), a "
            "subtree (`subtree`) or a team's direct members (`team`), optionally filtered by "
            "tenure band, location and role family. Every figure passes the anonymity gate: "
            "groups under the threshold, or that would let a smaller group be worked out by "
            "subtraction, come back with `reportable: false` and no figures. Add `?format=csv` "
            "(or use `results.csv`) for the aggregates as CSV."
        ),
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[renderers.JSONRenderer, renderers.BrowsableAPIRenderer, CSVRenderer],
        filter_backends=[],
    )
    def results(
        self, request: Request, pk: str | None = None, format: str | None = None
    ) -> HttpResponse:
        run = get_object_or_404(self.get_queryset(), pk=pk)
        viewer = viewer_for(request.user)
        query = survey_results.ResultsQuery.from_params(request.query_params)
        data = survey_results.run_results(viewer, run, query)
        if request.accepted_renderer.format == "csv":
            rows = list(survey_results.results_csv_rows(data))
            audit_export(
                actor=request.user,
                action=AuditEvent.Action.SURVEY_RESULTS_EXPORTED,
                target=run,
                scope={"team": query.team, "subtree": query.subtree, **dict(query.filters)},
                rows=max(0, len(rows) - 1),  # without the header
                via="api",
            )
            # Returned as is (not rendered): the same download as the page's.
            return csv_response(rows, filename=f"survey-run-{run.pk}-results.csv")
        return Response(ResultsSerializer(data).data)

    @extend_schema(
        responses={
            200: RunParticipationSerializer,
            404: OpenApiResponse(description="No such run."),
        },
        description=(
            "Invited and responded counts per team you may see, live while the run is open. "
            "Only groups of at least k invited people are counted; never who responded."
        ),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def participation(self, request: Request, pk: str | None = None) -> Response:
        run = get_object_or_404(self.get_queryset(), pk=pk)
        data = survey_results.run_participation(viewer_for(request.user), run)
        return Response(RunParticipationSerializer(data).data)


@extend_schema_view(
    create=extend_schema(
        request=ResponseSubmitSerializer,
        responses={
            201: ResponseReceivedSerializer,
            400: OpenApiResponse(description="An answer is not valid."),
            401: OpenApiResponse(description="A run id without a token needs a sign-in."),
            403: OpenApiResponse(
                description="Not invited to this run, or no token and not signed in."
            ),
            404: OpenApiResponse(description="The link is not valid."),
            409: OpenApiResponse(description="Already answered, or the run is not open yet."),
            410: OpenApiResponse(description="The run has closed."),
        },
        description=(
            "Submit answers once per invitation: with the token of the emailed link (no "
            "sign-in), or signed in with the run id. Skipped questions are fine. The response is "
            "stored without any link to you, so it cannot be read back or changed."
        ),
    )
)
class ResponseViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Anonymous survey responses: submit only."""

    permission_classes = [AllowAny]
    # Per link (a hash of its token), not per address: a company behind one office address
    # answers at once. Anonymous answers per address keep only a high ceiling.
    throttle_classes = [SurveySubmitThrottle, SignedInUserThrottle]
    serializer_class = ResponseSubmitSerializer

    def get_queryset(self):
        return SurveyRun.objects.none()

    def create(self, request: Request, *args, **kwargs) -> Response:
        incoming = ResponseSubmitSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        if "token" in data:
            # The signature alone vouches for the id; response_submit reads the invitation.
            invitation_id = services.invitation_id_from_token(data["token"])
        else:
            if not request.user or not request.user.is_authenticated:
                raise NotAuthenticated("Sign in, or use the link from your invitation email.")
            run = SurveyRun.objects.filter(pk=data["run"]).first()
            if run is None:
                raise DomainError("There is no such run.", field="run")
            found = selectors.invitation_for(viewer_for(request.user), run)
            if found is None:
                raise services.NotInvited("You were not invited to this survey.")
            invitation_id = found.pk
        answers = [services.AnswerInput(**item) for item in data["answers"]]
        services.response_submit(
            invitation_id=invitation_id, answers=answers, comment=data["comment"]
        )
        return Response(
            {"message": "Thank you. Your answers are stored without your name."},
            status=status.HTTP_201_CREATED,
        )
