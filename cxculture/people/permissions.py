"""Who may see and do what in the organisation.

A `Viewer` is built once per user and request (cached on the user object): their roles, their
employee record and the paths of the teams they manage. Selectors turn it into querysets, so
scoping lives in the query and not only in views.
"""

import functools
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser, Group, User
from django.db.models import OuterRef, Q, QuerySet, StringAgg, Subquery, Value
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Employee, Role, Team

_CACHE_ATTRIBUTE = "_cxculture_viewer"


@dataclass(frozen=True)
class Viewer:
    user_id: int | None
    employee: Employee | None
    roles: frozenset[str]
    managed_paths: tuple[str, ...] = field(default=())

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_hr_admin(self) -> bool:
        return Role.HR_ADMIN in self.roles

    @property
    def is_executive(self) -> bool:
        return Role.EXECUTIVE in self.roles

    @property
    def is_manager(self) -> bool:
        return bool(self.managed_paths)

    @property
    def sees_whole_organisation(self) -> bool:
        return self.is_hr_admin or self.is_executive

    @property
    def team_id(self) -> int | None:
        return self.employee.team_id if self.employee else None

    def subtree_q(self, prefix: str = "") -> Q:
        """A filter matching teams (via `prefix`, e.g. "team__") in the subtrees they manage."""
        query = Q(pk__in=[])
        for path in self.managed_paths:
            query |= Q(**{f"{prefix}path__startswith": path})
        return query

    @property
    def primary_role_label(self) -> str:
        return Role(self.primary_role).label

    @property
    def primary_role(self) -> str:
        for role in (Role.HR_ADMIN, Role.EXECUTIVE, Role.MANAGER):
            if role == Role.MANAGER and self.is_manager:
                return role
            if role in self.roles:
                return role
        return Role.EMPLOYEE


ANONYMOUS = Viewer(user_id=None, employee=None, roles=frozenset())


# Roles and managed paths come back as one text each from the employee query; group names are
# limited to the role names (none holds a comma), so splitting cannot invent a role.
_SEPARATOR = ","


def _joined(rows: QuerySet, group_by: str, column: str) -> Subquery:
    """`column` of `rows`, joined with commas into one text per `group_by` (NULL when none)."""
    return Subquery(
        rows.order_by()
        .values(group_by)
        .annotate(joined=StringAgg(column, Value(_SEPARATOR)))
        .values("joined")
    )


def _split(joined: str | None) -> list[str]:
    return joined.split(_SEPARATOR) if joined else []


@functools.cache
def _employees_with_roles() -> QuerySet[Employee]:
    """Employees with their team, role groups and managed paths: built once per process (its
    subqueries cost more to build than the query costs to run); each viewer filters a copy."""
    role_groups = Group.objects.filter(user=OuterRef("user_id"), name__in=Role.values)
    managed = Team.objects.filter(managers=OuterRef("pk"), is_active=True)
    return (
        Employee.objects.select_related("team")
        .annotate(
            role_names=_joined(role_groups, "user", "name"),
            managed_path_list=_joined(managed, "managers", "path"),
        )
        .order_by()  # at most one row; the default ordering would join auth_user for nothing
    )


def viewer_for(user: User | AnonymousUser) -> Viewer:
    """The viewer for `user`, computed with one query and then cached on the user object.

    The employee row (with its team) carries the user's role groups and the paths of the active
    teams they manage as two correlated subqueries. A user with no employee record (an admin
    account) costs a second query, for its groups.
    """
    if not user.is_authenticated:
        return ANONYMOUS
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is not None:
        return cached
    employee = _employees_with_roles().filter(user=user).first()
    managed_paths: tuple[str, ...] = ()
    if employee is not None:
        employee.user = user  # type: ignore[assignment]  # the same row: no query for its name
        roles = set(_split(employee.role_names))  # type: ignore[attr-defined]
        managed_paths = tuple(sorted(_split(employee.managed_path_list)))  # type: ignore[attr-defined]
    else:
        roles = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
    if user.is_superuser:
        roles.add(Role.HR_ADMIN)
    if managed_paths:
        roles.add(Role.MANAGER)
    roles.add(Role.EMPLOYEE)
    viewer = Viewer(
        user_id=user.pk,
        employee=employee,
        roles=frozenset(roles),
        managed_paths=managed_paths,
    )
    setattr(user, _CACHE_ATTRIBUTE, viewer)
    return viewer


def forget_viewer(user: User) -> None:
    """Drop the cached viewer, after a change to the user's groups or managed teams."""
    if hasattr(user, _CACHE_ATTRIBUTE):
        delattr(user, _CACHE_ATTRIBUTE)


class IsHRAdminOrReadOnly(BasePermission):
    """Anyone signed in may read (selectors scope what); only HR admins may write."""

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        return request.method in SAFE_METHODS or viewer_for(request.user).is_hr_admin


class IsHRAdmin(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated) and (
            viewer_for(request.user).is_hr_admin
        )
