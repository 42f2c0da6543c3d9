"""HTML pages for insights: the home page, linkage (chart + table), the value of saying yes and
the culture dashboard."""

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from cxculture.lib.errors import DomainError
from cxculture.people.permissions import Viewer, viewer_for

from . import culture, selectors
from . import home as home_page


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Everyone's landing page: their recognition, points, surveys, team results and actions."""
    data = home_page.home_for(viewer_for(request.user))
    if data["outcomes"]:
        data["outcome_charts"] = outcome_charts(data["outcomes"]["trends"])
        data["outcome_rows"] = outcome_table(data["outcomes"]["trends"])
    return render(request, "insights/home.html", data)


def outcome_charts(trends: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line chart per customer metric (their scales differ): what dashboard.js draws."""
    return [
        {
            "id": f"chart-outcome-{trend['code']}",
            "name": trend["name"],
            "unit": trend["unit"],
            "data": {
                "type": "line",
                "labels": [point["month"].strftime("%b %Y") for point in trend["points"]],
                "series": [
                    {
                        "label": f"{trend['name']} ({trend['unit']})",
                        "data": [point["value"] for point in trend["points"]],
                    }
                ],
            },
        }
        for trend in trends
    ]


def outcome_table(trends: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The charts' table: one row per month, one cell (value and n) per metric."""
    if not trends:
        return []
    return [
        {"month": point["month"], "cells": [(t["code"], t["points"][i]) for t in trends]}
        for i, point in enumerate(trends[0]["points"])
    ]


def _viewer(request: HttpRequest):
    viewer = viewer_for(request.user)
    if not selectors.may_read_insights(viewer):
        raise PermissionDenied
    return viewer


def _read(
    read: Callable[[Viewer, Mapping[str, Any]], dict[str, Any]],
    viewer: Viewer,
    params: Mapping[str, Any],
) -> tuple[dict[str, Any], str | None, int]:
    """`read` with the page's parameters; a bad one shows the defaults with its reason (400)."""
    try:
        return read(viewer, params), None, 200
    except DomainError as exc:
        return read(viewer, {}), str(exc), 400


@login_required
def linkage(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    # The form sends a preset and dates together; its button says which one the viewer chose.
    params = request.GET.copy()
    period = params.pop("period", [""])[-1]
    if period == "preset":
        params.pop("outcome_from", None)
        params.pop("outcome_to", None)
    elif period == "dates":
        params["window"] = selectors.CUSTOM
    data, error, status = _read(selectors.linkage_for, viewer, params)
    chart = None
    if data["points"]:
        chart = {
            "x_label": f"{data['driver']['label']} ({data['engagement']['unit']})",
            "y_label": data["metric"]["label"],
            "points": [{"x": p["x"], "y": p["y"], "label": p["team_name"]} for p in data["points"]],
        }
    chosen = (data.get("window") or {}).get("code")
    return render(
        request,
        "insights/linkage.html",
        {
            "data": data,
            "chart": chart,
            "error": error,
            "params": request.GET,
            "windows": [_window_choice(w, chosen) for w in data.get("windows", [])],
        },
        status=status,
    )


def _window_choice(window: dict[str, Any], chosen: str | None) -> dict[str, Any]:
    """A window as the page's filter shows it: a short name in the list (a long option is cut
    off on a phone) and the description under it for the chosen one."""
    name, _, description = window["label"].partition(": ")
    return {
        "code": window["code"],
        "name": name,
        "description": description[:1].upper() + description[1:] if description else "",
        "chosen": window["code"] == chosen,
    }


@login_required
def exceptions(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    data, error, status = _read(selectors.exception_value, viewer, request.GET)
    return render(
        request,
        "insights/exceptions.html",
        {"data": data, "error": error, "params": request.GET},
        status=status,
    )


def _culture_charts(data: dict[str, Any]) -> dict[str, Any]:
    """What dashboard.js draws: each chart's labels and series (null where the gate hides)."""
    return {
        "trend": {
            "type": "line",
            "labels": [p["label"] for p in data["trend"]],
            "series": [
                {
                    "label": "Engagement index",
                    "data": [p["engagement_index"] for p in data["trend"]],
                },
                {"label": "eNPS", "data": [p["enps"] for p in data["trend"]]},
            ],
        },
        "participation": {
            "type": "bar",
            "labels": [p["label"] for p in data["participation"]],
            "series": [
                {"label": "Response rate (%)", "data": [p["rate"] for p in data["participation"]]}
            ],
        },
        "reach": {
            "type": "bar",
            "labels": [f"Last {r['days']} days" for r in data["recognition"]["reach"]],
            "series": [
                {
                    "label": "People recognised (%)",
                    "data": [r["share"] for r in data["recognition"]["reach"]],
                }
            ],
        },
        "values": {
            "type": "bar",
            "labels": [v["name"] for v in data["recognition"]["values"]],
            "series": [
                {
                    "label": "Recognitions",
                    "data": [v["count"] for v in data["recognition"]["values"]],
                }
            ],
        },
    }


def _heat(value: float | None) -> str:
    if value is None:
        return ""
    return "cell-low" if value < 50 else "cell-high" if value >= 75 else ""


@login_required
def culture_page(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    data, error, status = _read(culture.culture_dashboard, viewer, request.GET)
    heat_rows = [
        {**row, "cells": [{"value": v, "heat": _heat(v)} for v in row["values"]]}
        for row in data["heatmap"]["rows"]
    ]
    # The filter form swaps only the dashboard body with htmx; a history restore (back button
    # with htmx's cache empty) and a plain GET (no JavaScript) get the whole page.
    partial = bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )
    response = render(
        request,
        "insights/_culture_body.html" if partial else "insights/culture.html",
        {
            "data": data,
            "charts": _culture_charts(data),
            "outcome_charts": outcome_charts(data["outcomes"]),
            "outcome_rows": outcome_table(data["outcomes"]),
            "heat_rows": heat_rows,
            "error": error,
            "month_choices": culture.MONTHS,
            "organisation_choice": viewer.sees_whole_organisation,
        },
        status=status,
    )
    patch_vary_headers(response, ["HX-Request"])
    return response
