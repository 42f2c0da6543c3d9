"""The product's URLs plus the floors each figure is measured against."""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from cxculture.people.models import Team


def bare_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@api_view(["GET"])
def one_select(request: Request) -> Response:
    team = Team.objects.only("id", "name").get(pk=int(request.query_params.get("id", 1)))
    return Response({"id": team.pk, "name": team.name})


@api_view(["POST"])
def one_insert(request: Request) -> Response:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_ping (note) VALUES (%s)", [str(request.data)[:100]])
    return Response({"ok": True}, status=201)


urlpatterns = [
    path("bench/bare/", bare_view),
    path("bench/select/", one_select),
    path("bench/insert/", one_insert),
    path("", include("cxculture.urls")),
]
