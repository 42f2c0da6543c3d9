"""Who may do what with customer outcomes (see selectors.py for what each role reads)."""

from rest_framework.permissions import BasePermission

from cxculture.people.permissions import viewer_for

from .models import OutcomeSource


def is_source_request(request) -> bool:
    return isinstance(getattr(request, "auth", None), OutcomeSource)


class OutcomeRecordAccess(BasePermission):
    """POST: an outcome source's token, and nothing else. Reading raw records: HR admins."""

    def has_permission(self, request, view) -> bool:
        if request.method == "POST":
            self.message = (
                "Records are sent with an outcome source's API token "
                "(Authorization: Bearer <token>)."
            )
            return is_source_request(request)
        if is_source_request(request) or not request.user or not request.user.is_authenticated:
            return False
        return viewer_for(request.user).is_hr_admin
