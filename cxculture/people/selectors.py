"""Reads of the organisation, scoped to what the viewer may see.

- HR admins and executives see everyone.
- A manager sees the teams and people of the subtrees they manage, plus what employees see.
- An employee sees the public parts of the organisation: the team tree, values, policies and
  every active colleague's public card (name, title, team); their own record in full.
"""

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from .models import CompanyValue, DirectorySync, Employee, Policy, Team
from .permissions import Viewer


def teams_for_viewer(viewer: Viewer) -> QuerySet[Team]:
    """The organisation tree is public to everyone signed in: names, parents and managers."""
    if not viewer.is_authenticated:
        return Team.objects.none()
    managers = Prefetch("managers", queryset=Employee.objects.select_related("user"))
    return (
        Team.objects.all()
        .prefetch_related(managers)
        .annotate(member_count=Count("members", filter=Q(members__is_active=True)))
        .order_by("path")
    )


def team_subtree(team: Team) -> QuerySet[Team]:
    return Team.objects.filter(path__startswith=team.path)


def has_teams_below() -> Exists:
    """A filter on teams: those with an active team below them (a department rather than a
    team of people). Pickers at 2,000 teams list these; a team below one is a click away."""
    return Exists(Team.objects.filter(parent=OuterRef("pk"), is_active=True))


def employees_for_viewer(viewer: Viewer) -> QuerySet[Employee]:
    base = Employee.objects.select_related("user", "team")
    if viewer.sees_whole_organisation:
        return base
    if viewer.employee is None:
        return base.none()
    # Colleagues anywhere can be recognised, so every active person's public card (name, title,
    # team) is part of the public organisation; private fields follow
    # `employee_sees_private_fields`. Former staff stay visible to their managers and HR only.
    scope = Q(is_active=True) | Q(pk=viewer.employee.pk)
    if viewer.is_manager:
        scope |= viewer.subtree_q(prefix="team__")
    return base.filter(scope)


def employees_search(employees: QuerySet[Employee], query: str) -> QuerySet[Employee]:
    """Narrow `employees` (already scoped) to names, emails, titles or teams containing `query`."""
    if not query:
        return employees
    return employees.filter(
        Q(user__first_name__icontains=query)
        | Q(user__last_name__icontains=query)
        | Q(user__email__icontains=query)
        | Q(title__icontains=query)
        | Q(team__name__icontains=query)
    )


def employee_sees_private_fields(viewer: Viewer, employee: Employee) -> bool:
    """Hire date, location, external id: for HR, executives, the person, and their managers."""
    if viewer.sees_whole_organisation:
        return True
    if viewer.employee is not None and viewer.employee.pk == employee.pk:
        return True
    team = employee.team
    return team is not None and any(team.path.startswith(p) for p in viewer.managed_paths)


def values_for_viewer(viewer: Viewer) -> QuerySet[CompanyValue]:
    if not viewer.is_authenticated:
        return CompanyValue.objects.none()
    if viewer.is_hr_admin:
        return CompanyValue.objects.all()
    return CompanyValue.objects.filter(is_active=True)


def policies_for_viewer(viewer: Viewer) -> QuerySet[Policy]:
    if not viewer.is_authenticated:
        return Policy.objects.none()
    base = Policy.objects.select_related("owner_team")
    if viewer.is_hr_admin:
        return base
    return base.filter(is_active=True)


def directory_syncs_for_viewer(viewer: Viewer) -> QuerySet[DirectorySync]:
    if not viewer.is_hr_admin:
        return DirectorySync.objects.none()
    return DirectorySync.objects.select_related("requested_by").defer("content")


# A newer sync of the same kind in one of these states makes an older one stale: it was applied,
# or it may still be. (A rejected or cancelled one changed nothing.)
SUPERSEDING_STATUSES = (
    DirectorySync.Status.APPLIED,
    DirectorySync.Status.PENDING,
    DirectorySync.Status.NEEDS_CONFIRMATION,
)


def directory_sync_superseded_by(
    sync: DirectorySync, *, statuses: tuple[str, ...] = SUPERSEDING_STATUSES
) -> DirectorySync | None:
    """The newest sync of the same kind sent after `sync` (ids only grow) in one of `statuses`,
    or None while `sync` is the latest."""
    return (
        DirectorySync.objects.filter(kind=sync.kind, pk__gt=sync.pk, status__in=statuses)
        .defer("content")
        .order_by("-pk")
        .first()
    )
