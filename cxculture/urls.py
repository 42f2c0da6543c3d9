"""URL map: pages at the root, the API under /api/v1/, the schema and its docs under /api/."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from cxculture.actions import api as actions_api
from cxculture.insights import api as insights_api
from cxculture.insights import views as insights_views
from cxculture.outcomes import api as outcomes_api
from cxculture.people import api as people_api
from cxculture.people import api_auth
from cxculture.people.signin import SignInForm
from recognition import api as recognition_api
from surveys import api as surveys_api


class NumericIdRouter(DefaultRouter):
    """Every id in the API is a number, so `/teams/abc/` is a 404 from the URL resolver and
    never reaches a view that would fail converting it."""

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        lookup_field = getattr(viewset, "lookup_field", "pk")
        lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
        value = getattr(viewset, "lookup_value_regex", "[0-9]+")
        return f"(?P<{lookup_prefix}{lookup_url_kwarg}>{value})"


router = NumericIdRouter()
# The resolver tries routes in this order: the two busiest writes first (every give and every
# survey answer otherwise walked past a hundred patterns).
router.register("recognitions", recognition_api.RecognitionViewSet, basename="recognition")
router.register("responses", surveys_api.ResponseViewSet, basename="response")
router.register("teams", people_api.TeamViewSet, basename="team")
router.register("employees", people_api.EmployeeViewSet, basename="employee")
router.register("values", people_api.CompanyValueViewSet, basename="value")
router.register("policies", people_api.PolicyViewSet, basename="policy")
router.register("directory-syncs", people_api.DirectorySyncViewSet, basename="directory-sync")
router.register(
    "points/transactions", recognition_api.PointsTransactionViewSet, basename="points-transaction"
)
router.register("points/budgets", recognition_api.BudgetViewSet, basename="points-budget")
router.register("rewards", recognition_api.RewardViewSet, basename="reward")
router.register("redemptions", recognition_api.RedemptionViewSet, basename="redemption")
router.register("exceptions", recognition_api.PolicyExceptionViewSet, basename="exception")
router.register("outcome-metrics", outcomes_api.MetricViewSet, basename="outcome-metric")
router.register("outcomes", outcomes_api.OutcomeRecordViewSet, basename="outcome")
router.register("outcome-imports", outcomes_api.OutcomeImportViewSet, basename="outcome-import")
router.register("outcome-sources", outcomes_api.OutcomeSourceViewSet, basename="outcome-source")
router.register("surveys", surveys_api.SurveyProgramViewSet, basename="survey")
router.register("survey-questions", surveys_api.QuestionViewSet, basename="survey-question")
router.register("survey-runs", surveys_api.SurveyRunViewSet, basename="survey-run")
router.register("actions", actions_api.ActionViewSet, basename="action")

api_v1: list[URLPattern | URLResolver] = [
    path("", include(router.urls)),
    path("auth/token/", api_auth.ApiTokenView.as_view(), name="api-token"),
    path("auth/logout/", api_auth.ApiTokenLogoutView.as_view(), name="api-logout"),
    path("auth/logout-all/", api_auth.ApiTokenLogoutAllView.as_view(), name="api-logout-all"),
    path("points/balance/", recognition_api.PointsBalanceView.as_view(), name="points-balance"),
    path("insights/linkage/", insights_api.LinkageView.as_view(), name="insights-linkage"),
    path(
        "insights/exceptions/",
        insights_api.ExceptionValueView.as_view(),
        name="insights-exceptions",
    ),
    path("insights/culture/", insights_api.CultureView.as_view(), name="insights-culture"),
]

handler400 = "cxculture.lib.api.bad_request"
handler404 = "cxculture.lib.api.not_found"

urlpatterns = [
    path("", insights_views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=SignInForm
        ),
        name="login",
    ),
    path("accounts/", include("cxculture.people.signin_urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("people/", include("cxculture.people.urls")),
    path("recognition/", include("recognition.urls")),
    path("outcomes/", include("cxculture.outcomes.urls")),
    path("surveys/", include("surveys.urls")),
    path("actions/", include("cxculture.actions.urls")),
    path("insights/", include("cxculture.insights.urls")),
    path("audit/", include("cxculture.audit.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
