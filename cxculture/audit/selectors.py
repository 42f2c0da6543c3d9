"""Reading the audit log: HR admins only."""

from django.db.models import QuerySet

from cxculture.people.permissions import Viewer

from .models import AuditEvent


def audit_events_for(viewer: Viewer) -> QuerySet[AuditEvent]:
    """Every event for HR admins, newest first; nothing for anyone else."""
    if not viewer.is_hr_admin:
        return AuditEvent.objects.none()
    return AuditEvent.objects.select_related("actor").order_by("-created_at", "-id")
