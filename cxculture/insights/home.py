"""The home page: what is waiting for the signed-in person across every part of cxculture.

It sits here, at the top of the import graph, because it reads people, surveys, recognition and
actions at once. `home_for` returns plain data; the number of queries is fixed whatever the
size of the organisation (each part reads a bounded slice: counts, the newest few rows, one
run's snapshot).

Survey figures come only through the surveys anonymity gate (`headline_for`): the group the
results page opens on for the viewer, shown when the run's plan shows it, otherwise the reason.
"""

import datetime as dt
from typing import Any

from django.utils import timezone

from cxculture.actions import selectors as action_selectors
from cxculture.outcomes.selectors import outcome_monthly_trends
from cxculture.people import selectors as people_selectors
from cxculture.people.permissions import Viewer
from recognition import selectors as recognition_selectors
from surveys import results as survey_results
from surveys import selectors as survey_selectors

RECOGNITION_DAYS = 90
LATEST_RECEIVED = 3
HOME_ACTIONS = 5
HOME_PROMPTS = 3
OUTCOME_MONTHS = 6


def _recognition(viewer: Viewer, now: dt.datetime) -> dict[str, Any] | None:
    if viewer.employee is None:
        return None
    since = now - dt.timedelta(days=RECOGNITION_DAYS)
    counts = recognition_selectors.recognition_counts_for(viewer.employee, since=since)
    latest = recognition_selectors.latest_received_by(viewer.employee, limit=LATEST_RECEIVED)
    return {
        "days": RECOGNITION_DAYS,
        "received": counts["received"],
        "given": counts["given"],
        "latest": [
            {
                "id": recognition.pk,
                "giver": recognition.giver.display_name,
                "message": recognition.message,
                "created_at": recognition.created_at,
            }
            for recognition in latest
        ],
    }


def _points(viewer: Viewer) -> dict[str, Any] | None:
    if viewer.employee is None:
        return None
    balances = recognition_selectors.balances_for(viewer.employee)
    return {
        "wallet": balances.wallet,
        "wallet_value": balances.wallet_value,
        "currency": balances.currency,
        "allowance": balances.allowance,
        "allowance_resets_on": balances.allowance_resets_on,
    }


def _survey(viewer: Viewer) -> dict[str, Any] | None:
    if viewer.employee is None:
        return None
    run = survey_selectors.open_runs_waiting_for(viewer).order_by("closes_on", "id").first()
    if run is None:
        return None
    return {
        "run": run.pk,
        "program": run.program.name,
        "sequence": run.sequence,
        "closes_on": run.closes_on,
    }


def _results(viewer: Viewer) -> dict[str, Any] | None:
    run = survey_results.latest_closed_run_for_viewer(viewer)
    if run is None:
        return None
    return survey_results.headline_for(viewer, run)


def _actions(viewer: Viewer, today: dt.date) -> dict[str, Any]:
    actions = action_selectors.open_actions_with_latest_update(viewer, limit=HOME_ACTIONS)
    prompts = (
        list(action_selectors.prompts_for(viewer, today)[:HOME_PROMPTS])
        if viewer.is_manager
        else []
    )
    return {"open": actions, "prompts": prompts}


def _roles(viewer: Viewer) -> dict[str, Any]:
    """The cards of the people app's home page: the team, the teams one leads, the organisation."""
    roles: dict[str, Any] = {
        "team": viewer.employee.team if viewer.employee else None,
        "team_size": (
            people_selectors.employees_for_viewer(viewer)
            .filter(team_id=viewer.team_id, is_active=True)
            .count()
            if viewer.team_id
            else 0
        ),
        "managed_teams": [],
        "organisation": None,
    }
    if viewer.is_manager:
        # The card shows names and head counts only: skip the managers prefetch.
        roles["managed_teams"] = list(
            people_selectors.teams_for_viewer(viewer)
            .filter(viewer.subtree_q())
            .prefetch_related(None)
        )
    if viewer.sees_whole_organisation:
        roles["organisation"] = {
            "teams": people_selectors.teams_for_viewer(viewer).filter(is_active=True).count(),
            "people": people_selectors.employees_for_viewer(viewer).filter(is_active=True).count(),
        }
    return roles


def _outcomes(viewer: Viewer, today: dt.date) -> dict[str, Any] | None:
    """Customer outcomes month by month: a manager's teams, or an employee's own team. HR and
    executives have the organisation's on the culture dashboard. Two queries."""
    if viewer.sees_whole_organisation:
        return None
    if viewer.is_manager:
        team, mine = None, "your teams"  # every team the manager may read
    elif viewer.employee is not None and viewer.employee.team is not None:
        team, mine = viewer.employee.team, "your team"
    else:
        return None
    start = (today.replace(day=1) - dt.timedelta(days=31 * (OUTCOME_MONTHS - 1))).replace(day=1)
    return {
        "since": start,
        "mine": mine,
        "trends": outcome_monthly_trends(viewer, team=team, start=start, end=today),
    }


def home_for(viewer: Viewer) -> dict[str, Any]:
    """Everything the home page shows the viewer; sections they have no part in are None."""
    now = timezone.now()
    today = timezone.localdate()
    return {
        "role": viewer.primary_role,
        **_roles(viewer),
        "recognition": _recognition(viewer, now),
        "points": _points(viewer),
        "survey": _survey(viewer),
        "results": _results(viewer),
        "actions": _actions(viewer, today),
        "outcomes": _outcomes(viewer, today),
        "today": today,
    }
