"""REST API for insights: EX-CX linkage and the value of saying yes (read-only)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cxculture.actions.api import FollowThroughSerializer
from cxculture.people.permissions import viewer_for
from surveys.api import HeatmapColumnSerializer

from . import culture, selectors


class CanReadInsights(BasePermission):
    message = "Insights are for managers, HR and executives."

    def has_permission(self, request, view) -> bool:
        return selectors.may_read_insights(viewer_for(request.user))


# --- Serializers (the schema of what the selectors return) -----------------------------------


class InsightCorrelationSerializer(serializers.Serializer):
    r = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(
        allow_null=True,
        help_text="95% CI by Fisher z, n >= 4 (Spearman: Bonett-Wright standard error).",
    )
    ci_high = serializers.FloatField(allow_null=True)
    p = serializers.FloatField(
        allow_null=True,
        help_text="Two-sided p-value against no correlation (t-test, n - 2 degrees of freedom; "
        "for Spearman the t approximation). 4 significant digits.",
    )
    could_be_chance = serializers.BooleanField(help_text="The 95% CI includes zero.")


class InsightMetricLinkageSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    higher_is_better = serializers.BooleanField()
    n = serializers.IntegerField(help_text="Teams with a published survey figure and outcomes.")
    shown = serializers.BooleanField(help_text="At least 5 teams.")
    reason = serializers.CharField(allow_null=True)
    pearson = InsightCorrelationSerializer()
    spearman = InsightCorrelationSerializer()
    ci_reason = serializers.CharField(allow_null=True)
    summary = serializers.CharField()


class InsightPointSerializer(serializers.Serializer):
    team = serializers.IntegerField()
    team_name = serializers.CharField()
    x = serializers.FloatField(
        help_text="The team's published survey figure, measured as `engagement` says."
    )
    y = serializers.FloatField(help_text="The team's outcome over the window.")
    respondents = serializers.IntegerField(help_text="Survey responses, as published.")
    outcome_n = serializers.IntegerField(help_text="Outcome records in the window.")


class InsightChoiceSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]


class InsightRunChoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]


class InsightRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    program = serializers.CharField()
    sequence = serializers.IntegerField()
    opens_on = serializers.DateField()
    closes_on = serializers.DateField()
    threshold = serializers.IntegerField()


class InsightWindowSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    start = serializers.DateField()
    end = serializers.DateField()
    complete = serializers.BooleanField()


class InsightChosenMetricSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]


class InsightMeasureSerializer(InsightChoiceSerializer):
    unit = serializers.CharField()


class InsightLinkageSerializer(serializers.Serializer):
    run = InsightRunSerializer(allow_null=True)
    runs = InsightRunChoiceSerializer(many=True)
    window = InsightWindowSerializer(allow_null=True)
    windows = InsightChoiceSerializer(many=True)
    driver = InsightChoiceSerializer(allow_null=True)
    drivers = InsightChoiceSerializer(many=True)
    engagement = InsightMeasureSerializer(help_text="How the survey figure is measured.")
    engagements = InsightChoiceSerializer(many=True)
    metric = InsightChosenMetricSerializer(allow_null=True)
    metrics = InsightMetricLinkageSerializer(many=True)
    minimum_teams = serializers.IntegerField()
    teams_with_figures = serializers.IntegerField()
    linkage = InsightMetricLinkageSerializer(allow_null=True)
    summary = serializers.CharField()
    points = InsightPointSerializer(many=True)


class InsightOutcomeSideSerializer(serializers.Serializer):
    csat_mean = serializers.FloatField(allow_null=True)
    csat_n = serializers.IntegerField()
    nps = serializers.FloatField(allow_null=True)
    nps_n = serializers.IntegerField()
    churn_rate = serializers.FloatField(allow_null=True, help_text="% of churn records saying yes")
    churn_n = serializers.IntegerField()


class InsightComparisonSerializer(serializers.Serializer):
    yes_n = serializers.IntegerField()
    baseline_n = serializers.IntegerField()
    difference = serializers.FloatField(
        allow_null=True,
        help_text="Yes-group minus baseline (CSAT mean; NPS and churn in percentage points); "
        "None unless both sides have CXC_INSIGHTS_MIN_GROUP_N records.",
    )
    ci_low = serializers.FloatField(allow_null=True, help_text="95% CI (normal, Welch/Wald).")
    ci_high = serializers.FloatField(allow_null=True)
    verdict = serializers.ChoiceField(
        choices=["better", "worse", "not_enough_data"],
        help_text="better/worse only when the CI excludes zero; churn: lower is better.",
    )


class InsightComparisonsSerializer(serializers.Serializer):
    csat = InsightComparisonSerializer()
    nps = InsightComparisonSerializer()
    churn = InsightComparisonSerializer()


class InsightExceptionRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    logged = serializers.IntegerField()
    approved = serializers.IntegerField(help_text="Approved, with or without coaching.")
    declined = serializers.IntegerField()
    total_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    approved_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    yes_group = InsightOutcomeSideSerializer()
    baseline = InsightOutcomeSideSerializer()
    comparisons = InsightComparisonsSerializer()
    verdict = serializers.ChoiceField(
        choices=list(selectors.VERDICT_LABELS),
        help_text="From the comparisons: better (some outcome better, none worse), worse, "
        "mixed, or not_enough_data.",
    )
    verdict_label = serializers.CharField()
    yes_better = serializers.BooleanField(help_text='verdict is "better".')
    revisit = serializers.BooleanField(
        help_text="yes_better and approved at least CXC_INSIGHTS_REVISIT_MIN_APPROVED times."
    )


class InsightExceptionValueSerializer(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()
    horizon_days = serializers.IntegerField()
    revisit_min_approved = serializers.IntegerField()
    min_group_n = serializers.IntegerField(
        help_text="Outcome records needed on each side before a difference is called."
    )
    currency = serializers.CharField(help_text="The currency of every cost.")
    by_policy = InsightExceptionRowSerializer(many=True)
    by_team = InsightExceptionRowSerializer(many=True)


# --- Views -----------------------------------------------------------------------------------


class LinkageView(APIView):
    """EX-CX linkage across teams: correlations (with n and 95% CI) and one point per team.

    HR admins and executives: the whole organisation; managers: their subtrees.
    """

    permission_classes = [CanReadInsights]

    @extend_schema(
        operation_id="insights_linkage",
        parameters=[
            OpenApiParameter("run", OpenApiTypes.INT, description="A closed run (latest)."),
            OpenApiParameter("metric", OpenApiTypes.STR, description="Outcome metric code."),
            OpenApiParameter(
                "window",
                OpenApiTypes.STR,
                enum=[*selectors.WINDOW_CHOICES, selectors.CUSTOM],
                default=selectors.DEFAULT_WINDOW,
                description="A preset outcome period tied to the run (not with outcome dates).",
            ),
            OpenApiParameter(
                "outcome_from",
                OpenApiTypes.DATE,
                description="First outcome day to link (default: the run's opening).",
            ),
            OpenApiParameter(
                "outcome_to",
                OpenApiTypes.DATE,
                description="Last outcome day to link (default: 90 days after the run's close).",
            ),
            OpenApiParameter(
                "driver", OpenApiTypes.STR, description="engagement (default) or a driver code."
            ),
            OpenApiParameter(
                "engagement",
                OpenApiTypes.STR,
                enum=list(selectors.MEASURES),
                default=selectors.FAVOURABLE,
                description="The survey figure as the favourable share (default) or the mean "
                "answer on the 1-5 scale.",
            ),
        ],
        responses=InsightLinkageSerializer,
    )
    def get(self, request: Request) -> Response:
        data = selectors.linkage_for(viewer_for(request.user), request.query_params)
        return Response(InsightLinkageSerializer(data).data)


class ExceptionValueView(APIView):
    """The value of saying yes: exceptions and their cost against later customer outcomes."""

    permission_classes = [CanReadInsights]

    @extend_schema(
        operation_id="insights_exceptions",
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATE, description="Default: a year ago."),
            OpenApiParameter("until", OpenApiTypes.DATE, description="Default: today."),
        ],
        responses=InsightExceptionValueSerializer,
    )
    def get(self, request: Request) -> Response:
        data = selectors.exception_value(viewer_for(request.user), request.query_params)
        return Response(InsightExceptionValueSerializer(data).data)


# --- Culture dashboard -----------------------------------------------------------------------


class CultureDepartmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CultureDepartmentChoiceSerializer(CultureDepartmentSerializer):
    path = serializers.CharField()


class CultureTrendPointSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]
    closes_on = serializers.DateField()
    shown = serializers.BooleanField(help_text="The run's anonymity plan shows this group.")
    respondents = serializers.IntegerField(allow_null=True)
    engagement_index = serializers.FloatField(allow_null=True)
    enps = serializers.FloatField(allow_null=True)


class CultureParticipationSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]
    shown = serializers.BooleanField(help_text="At least k people were invited.")
    invited = serializers.IntegerField(allow_null=True)
    responded = serializers.IntegerField(allow_null=True)
    rate = serializers.FloatField(allow_null=True)


class CultureHeatmapRowSerializer(serializers.Serializer):
    team = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    depth = serializers.IntegerField()
    shown = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    respondents = serializers.IntegerField(allow_null=True)
    engagement_index = serializers.FloatField(allow_null=True)
    values = serializers.ListField(
        child=serializers.FloatField(allow_null=True), help_text="% favourable, per column."
    )


class CultureHeatmapSerializer(serializers.Serializer):
    run = serializers.CharField(allow_null=True)
    columns = HeatmapColumnSerializer(many=True)
    rows = CultureHeatmapRowSerializer(many=True)


class CultureReachSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    recognised = serializers.IntegerField()
    active = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True)


class CultureValueSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class CultureRecognitionSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Recognitions received in the department.")
    cross_team = serializers.IntegerField(help_text="...with a receiver outside the giver's team.")
    cross_team_share = serializers.FloatField(allow_null=True)
    reach = CultureReachSerializer(many=True)
    values = CultureValueSerializer(many=True)


class CultureExceptionsSerializer(serializers.Serializer):
    logged = serializers.IntegerField()
    approved = serializers.IntegerField(help_text="Approved, with or without coaching.")
    approved_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()


class CultureLinkageSerializer(serializers.Serializer):
    run = serializers.IntegerField(allow_null=True)
    metric = serializers.CharField(allow_null=True)
    n = serializers.IntegerField()
    shown = serializers.BooleanField()
    r = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    p = serializers.FloatField(allow_null=True, help_text="Two-sided p-value of r (t-test).")
    engagement = serializers.CharField(help_text="How engagement is measured in the linkage.")
    summary = serializers.CharField()


class OutcomeTrendPointSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="The first day of the month.")
    value = serializers.FloatField(allow_null=True, help_text="As `unit` says; None when n is 0.")
    n = serializers.IntegerField(help_text="Outcome records in the month (and the period).")


class OutcomeTrendSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField(help_text="NPS score, % yes, or the mean on the metric's scale.")
    higher_is_better = serializers.BooleanField()
    points = OutcomeTrendPointSerializer(many=True)


class CultureLeaderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    recognitions_given = serializers.IntegerField(help_text="In the period, not reversed.")
    actions_owned = serializers.IntegerField()
    actions_done = serializers.IntegerField()


class CultureMyActionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    due_on = serializers.DateField()
    overdue = serializers.BooleanField(help_text="Open and past its due date.")
    team = serializers.CharField(allow_null=True, help_text="None: an organisation action.")
    owner = serializers.CharField()


class CultureMyActionsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    items = CultureMyActionSerializer(many=True, help_text="Soonest due first (at most 10).")


class CultureMyExceptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    employee = serializers.CharField()
    team = serializers.CharField(allow_null=True)
    policy = serializers.CharField()
    occurred_on = serializers.DateField()
    cost = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


class CultureMyExceptionsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    items = CultureMyExceptionSerializer(many=True, help_text="Oldest first (at most 5).")


class CultureNotRecognisedSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    count = serializers.IntegerField()
    first_names = serializers.ListField(
        child=serializers.CharField(), help_text="Longest waiting first (at most 10)."
    )


class CultureMyWorkSerializer(serializers.Serializer):
    actions = CultureMyActionsSerializer(
        help_text="Open actions owned by the viewer or in their subtrees (HR and executives: "
        "also the organisation's own)."
    )
    exceptions = CultureMyExceptionsSerializer(
        allow_null=True,
        help_text="Exceptions waiting for the viewer's review; None for executives.",
    )
    not_recognised = CultureNotRecognisedSerializer(
        help_text="Active people in the viewer's subtrees (HR and executives: everyone) not "
        "recognised within CXC_RECOGNITION_NOT_RECOGNISED_DAYS (the same window as the "
        "not-recognised page)."
    )


class CultureDashboardSerializer(serializers.Serializer):
    department = CultureDepartmentSerializer(allow_null=True)
    departments = CultureDepartmentChoiceSerializer(many=True)
    whole_organisation = serializers.BooleanField()
    months = serializers.IntegerField()
    since = serializers.DateField()
    until = serializers.DateField()
    trend = CultureTrendPointSerializer(many=True)
    participation = CultureParticipationSerializer(many=True)
    heatmap = CultureHeatmapSerializer()
    recognition = CultureRecognitionSerializer()
    exceptions = CultureExceptionsSerializer()
    leaders = CultureLeaderSerializer(many=True, help_text="Managers in scope (at most 50).")
    linkage = CultureLinkageSerializer()
    outcomes = OutcomeTrendSerializer(
        many=True,
        help_text="CSAT, NPS, FCR, complaint rate and churn per month of the period, from the "
        "daily rollups of the department's teams (the organisation's when none is chosen).",
    )
    follow_through = FollowThroughSerializer()
    computed_at = serializers.DateTimeField(
        help_text="When the figures above were computed: they are kept for "
        "CXC_DASHBOARD_CACHE_SECONDS per scope, department and period."
    )
    my_work = CultureMyWorkSerializer(
        allow_null=True,
        help_text="What waits for the viewer themselves, whatever the department chosen.",
    )


class CultureView(APIView):
    """The culture dashboard: survey trend and participation (through the anonymity gate),
    a driver heatmap, recognition reach and values, exceptions, linkage and follow-through.

    HR admins and executives: the organisation or any department; managers: their subtrees.
    """

    permission_classes = [CanReadInsights]

    @extend_schema(
        operation_id="insights_culture",
        parameters=[
            OpenApiParameter(
                "department", OpenApiTypes.INT, description="A team id (whole organisation)."
            ),
            OpenApiParameter("months", OpenApiTypes.INT, enum=[3, 6, 12], default=12),
        ],
        responses=CultureDashboardSerializer,
    )
    def get(self, request: Request) -> Response:
        data = culture.culture_dashboard(viewer_for(request.user), request.query_params)
        return Response(CultureDashboardSerializer(data).data)
