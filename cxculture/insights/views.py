"""HTML pages for insights: linkage (chart + table) and the value of saying yes."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cxculture.lib.api import DomainError
from cxculture.people.permissions import viewer_for

from . import selectors


def _viewer(request: HttpRequest):
    viewer = viewer_for(request.user)
    if not selectors.may_read_insights(viewer):
        raise PermissionDenied
    return viewer


@login_required
def linkage(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    error, status = None, 200
    try:
        data = selectors.linkage_for(viewer, request.GET)
    except DomainError as exc:
        error, status = str(exc), 400
        data = selectors.linkage_for(viewer, {})
    chart = None
    if data["points"]:
        chart = {
            "x_label": data["driver"]["label"] + " (% favourable)",
            "y_label": data["metric"]["label"],
            "points": [{"x": p["x"], "y": p["y"], "label": p["team_name"]} for p in data["points"]],
        }
    return render(
        request,
        "insights/linkage.html",
        {"data": data, "chart": chart, "error": error, "params": request.GET},
        status=status,
    )


@login_required
def exceptions(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    error, status = None, 200
    try:
        data = selectors.exception_value(viewer, request.GET)
    except DomainError as exc:
        error, status = str(exc), 400
        data = selectors.exception_value(viewer, {})
    return render(
        request,
        "insights/exceptions.html",
        {"data": data, "error": error, "params": request.GET},
        status=status,
    )
