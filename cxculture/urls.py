"""URL map: pages at the root, the API under /api/v1/, the schema and its docs under /api/."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from cxculture.people import api as people_api
from cxculture.people import views as people_views

router = DefaultRouter()
router.register("teams", people_api.TeamViewSet, basename="team")
router.register("employees", people_api.EmployeeViewSet, basename="employee")
router.register("values", people_api.CompanyValueViewSet, basename="value")
router.register("policies", people_api.PolicyViewSet, basename="policy")
router.register("directory-syncs", people_api.DirectorySyncViewSet, basename="directory-sync")

api_v1: list[URLPattern | URLResolver] = [
    path("", include(router.urls)),
    path("auth/token/", obtain_auth_token, name="api-token"),
]

urlpatterns = [
    path("", people_views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("people/", include("cxculture.people.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
