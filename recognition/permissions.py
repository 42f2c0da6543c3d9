"""Who may do what with recognition, points, rewards and policy exceptions."""

from rest_framework.permissions import BasePermission

from cxculture.lib.errors import DomainError
from cxculture.people.models import Employee
from cxculture.people.permissions import Viewer, viewer_for


class Forbidden(DomainError):
    """The viewer is signed in but may not do this (403)."""

    status = 403
    code = "permission_denied"


def manages(viewer: Viewer, employee: Employee) -> bool:
    """Whether `employee`'s current team is in a subtree the viewer manages."""
    team = employee.team
    return team is not None and any(team.path.startswith(p) for p in viewer.managed_paths)


def may_review_exception(viewer: Viewer, employee: Employee) -> bool:
    """Managers review the exceptions of people in their subtrees, HR admins anyone's; nobody
    reviews their own."""
    if viewer.employee is None or viewer.employee.pk == employee.pk:
        return False
    return viewer.is_hr_admin or manages(viewer, employee)


class HasEmployeeRecord(BasePermission):
    """Signed in and a person of the organisation (points belong to employees, not bare users)."""

    message = "Only people in the directory can do this."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        return viewer_for(request.user).employee is not None
