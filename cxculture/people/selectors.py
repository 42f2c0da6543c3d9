"""Reads of the organisation, scoped to what the viewer may see.

- HR admins and executives see everyone.
- A manager sees the teams and people of the subtrees they manage, plus what employees see.
- An employee sees the public parts of the organisation: the team tree, values, policies and
  every active colleague's public card (name, title, team); their own record in full.
"""

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
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


def employees_private_fields_q(viewer: Viewer) -> Q:
    """The people whose private fields `viewer` may see, as a filter on employees: the query form
    of `employee_sees_private_fields` (HR and executives: everyone; managers: their subtrees;
    everyone: themselves)."""
    if viewer.sees_whole_organisation:
        return Q()
    scope = viewer.subtree_q(prefix="team__")
    if viewer.employee is not None:
        scope |= Q(pk=viewer.employee.pk)
    return scope


def employees_with_private(
    employees: QuerySet[Employee], viewer: Viewer, **lookups: object
) -> QuerySet[Employee]:
    """Narrow `employees` by lookups on private fields (email, location, role family, external
    id, hire date), matching only people whose private fields `viewer` may see — so a filter
    cannot tell anyone a colleague's hidden field."""
    return employees.filter(employees_private_fields_q(viewer), **lookups)


SEARCH_WORDS = 6


def employees_search(
    employees: QuerySet[Employee], query: str, *, viewer: Viewer
) -> QuerySet[Employee]:
    """Narrow `employees` (already scoped) to those matching every word of `query`.

    Each word must be part of the first name, last name, title or team name — the public card —
    so "Noah Davies", "Davies Noah" and "noah dav" all find Noah Davies; or of the e-mail address
    of someone whose private fields `viewer` may see (a search must not tell a colleague's
    hidden e-mail).
    """
    private = employees_private_fields_q(viewer)
    for word in query.split()[:SEARCH_WORDS]:
        employees = employees.filter(
            Q(user__first_name__icontains=word)
            | Q(user__last_name__icontains=word)
            | Q(title__icontains=word)
            | Q(team__name__icontains=word)
            | (Q(user__email__icontains=word) & private)
        )
    return employees


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


def employee_for_sign_in(*, email: str = "", external_id: str = "") -> Employee | None:
    """The one directory person an identity provider's claims point at, active or not, or
    None: by external id when given, else by e-mail (case-insensitive). Two people with one
    address (possible only through the admin) match nobody rather than the wrong one."""
    if external_id:
        people = Employee.objects.filter(external_id=external_id)
    elif email:
        people = Employee.objects.filter(user__email__iexact=email.strip())
    else:
        return None
    found = list(people.select_related("user")[:2])
    return found[0] if len(found) == 1 else None


def employees_without_password() -> QuerySet[Employee]:
    """Active people who cannot sign in with a password yet (HR's "invite everyone")."""
    return Employee.objects.filter(is_active=True, user__is_active=True).filter(
        Q(user__password__startswith=UNUSABLE_PASSWORD_PREFIX) | Q(user__password="")
    )


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
