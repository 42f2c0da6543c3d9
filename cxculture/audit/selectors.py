"""Reading the audit log: HR admins only."""

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast

from cxculture.people.models import Employee, Team
from cxculture.people.permissions import Viewer

from .models import AuditEvent
from .sentences import Names, describe

# How to load each kind of target with what its sentence reads, in one query per kind.
TARGET_QUERIES: dict[str, Callable[[QuerySet], QuerySet]] = {
    "recognition.redemption": lambda rows: rows.select_related("employee__user", "reward"),
    "recognition.recognition": lambda rows: rows.select_related("giver__user").prefetch_related(
        "receivers__user"
    ),
    "people.employee": lambda rows: rows.select_related("user"),
    "surveys.surveyrun": lambda rows: rows.select_related("program"),
}


def audit_events_for(
    viewer: Viewer, *, action: str = "", people: QuerySet[Employee] | None = None
) -> QuerySet[AuditEvent]:
    """Every event for HR admins, newest first; nothing for anyone else. `action` keeps one
    kind; `people` keeps what they did and what was done to them or to their redemptions."""
    if not viewer.is_hr_admin:
        return AuditEvent.objects.none()
    events = AuditEvent.objects.select_related("actor__employee").prefetch_related("actor__groups")
    if action:
        events = events.filter(action=action)
    if people is not None:
        redemptions = (
            apps.get_model("recognition", "Redemption")
            .objects.filter(employee__in=people.values("pk"))
            .annotate(key=Cast("pk", CharField()))
            .values("key")
        )
        events = events.filter(
            Q(actor_id__in=people.values("user_id"))
            | Q(
                target_type="people.employee",
                target_id__in=people.annotate(key=Cast("pk", CharField())).values("key"),
            )
            | Q(target_type="recognition.redemption", target_id__in=redemptions)
        )
    return events.order_by("-created_at", "-id")


@dataclass(frozen=True)
class AuditLine:
    event: AuditEvent
    sentence: str


def audit_lines(events: list[AuditEvent]) -> list[AuditLine]:
    """The events in words, with the names they need loaded in a few queries per page."""
    names = Names(
        people={
            e.actor.pk: e.actor.employee
            for e in events
            if e.actor is not None and hasattr(e.actor, "employee")
        }
    )
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.target_type and event.target_id.isdigit():
            wanted.setdefault(event.target_type, set()).add(int(event.target_id))
    for label, ids in wanted.items():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        rows = model._default_manager.filter(pk__in=ids)
        if label in TARGET_QUERIES:
            rows = TARGET_QUERIES[label](rows)
        names.targets.update({(label, str(row.pk)): row for row in rows})
    managers: set[int] = set()
    teams: set[int] = set()
    for event in events:
        details = event.details if isinstance(event.details, dict) else {}
        if event.action == AuditEvent.Action.TEAM_MANAGERS_CHANGED:
            managers.update(pk for pk in details.get("managers") or [] if isinstance(pk, int))
        scope = details.get("scope")
        if isinstance(scope, dict):
            teams.update(v for k in ("team", "subtree") if isinstance(v := scope.get(k), int))
    names.employees = Employee.objects.select_related("user").in_bulk(managers)
    names.teams = Team.objects.in_bulk(teams)
    return [AuditLine(event=event, sentence=describe(event, names)) for event in events]
