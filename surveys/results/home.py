"""The home page's results card: the newest closed run the viewer may read, in a few figures."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q

from cxculture.people.permissions import Viewer

from ..drivers import driver_label, driver_labels_for
from ..models import (
    Driver,
    Invitation,
    SurveyRun,
)
from .gate import default_group, group_label, reason_for
from .report import group_trend
from .snapshot import run_snapshot
from .summary import group_scores

# --- Home page -----------------------------------------------------------------------------------


def latest_closed_run_for_viewer(viewer: Viewer) -> SurveyRun | None:
    """The newest closed run that asked the viewer's team or a team they manage (HR and
    executives: the newest of an organisation-wide programme, so a small or test programme
    never replaces the organisation's results). Invitations are read for their team only,
    never for an answer."""
    if not viewer.is_authenticated:
        return None
    runs = SurveyRun.objects.filter(status=SurveyRun.Status.CLOSED).select_related("program")
    if viewer.sees_whole_organisation:
        runs = runs.filter(program__is_organisation_wide=True)
    else:
        paths = [*viewer.managed_paths]
        if viewer.employee is not None and viewer.employee.team is not None:
            paths.append(viewer.employee.team.path)
        if not paths:
            return None
        asked = Q(pk__in=[])
        for path in paths:
            asked |= Q(team_path__startswith=path)
        runs = runs.filter(Exists(Invitation.objects.filter(asked, run=OuterRef("pk"))))
    return runs.order_by("-closes_on", "-id").first()


def headline_for(viewer: Viewer, run: SurveyRun) -> dict[str, Any]:
    """The group the results page opens on for the viewer, in a few figures: engagement index,
    eNPS and the strongest and weakest driver — all through the gate, or the reason why not —
    and the group's trend over the programme's closed runs (`group_trend`).

    Four queries (the snapshot without invitations, and the group's tallies), and three for the
    trend."""
    snapshot = run_snapshot(run, with_invitations=False)
    k = run.anonymity_threshold
    headline: dict[str, Any] = {
        "run": {
            "id": run.pk,
            "program": run.program.name,
            "sequence": run.sequence,
            "closes_on": run.closes_on,
        },
        "group": None,
        "reportable": False,
        "reason": None,
        "respondents": None,
        "engagement_index": None,
        "enps": None,
        "top_driver": None,
        "bottom_driver": None,
        "trend": [],
    }
    try:
        group = default_group(viewer, snapshot)
    except PermissionDenied:
        headline["reason"] = "You have no team to see results for"
        return headline
    headline["group"] = {
        "kind": group.kind,
        "team": group.node if isinstance(group.node, int) else None,
        "label": group_label(snapshot, group),
    }
    # A small team's figures move a lot from run to run: its manager sees them over the runs.
    headline["trend"] = group_trend(run, group)
    decision = snapshot.plan.decide(group)
    if not decision.shown:
        headline["reason"] = reason_for(decision, k)
        return headline
    figures = group_scores(snapshot, group)
    drivers = sorted(
        (
            (entry["favourable"], driver)
            for driver, entry in figures["drivers"].items()
            if driver not in (Driver.ENGAGEMENT, Driver.ENPS)
            and entry.get("favourable") is not None
        ),
        key=lambda item: (-item[0], item[1]),
    )

    labels = driver_labels_for(driver for _, driver in drivers)

    def named(item: tuple[float, str]) -> dict[str, Any]:
        return {"driver": item[1], "label": driver_label(item[1], labels), "favourable": item[0]}

    headline.update(
        reportable=True,
        respondents=decision.respondents,
        engagement_index=figures["engagement_index"],
        enps=figures["enps"],
        top_driver=named(drivers[0]) if drivers else None,
        bottom_driver=named(drivers[-1]) if len(drivers) > 1 else None,
    )
    return headline
