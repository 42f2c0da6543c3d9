"""The audit log page: HR admins read it; nobody can change it."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cxculture.people.permissions import viewer_for

from . import selectors
from .models import AuditEvent


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request.user)
    if not viewer.is_hr_admin:
        raise PermissionDenied
    events = selectors.audit_events_for(viewer)
    action = request.GET.get("action", "")
    if action in AuditEvent.Action.values:
        events = events.filter(action=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/event_list.html",
        {"page": page, "action": action, "actions": AuditEvent.Action.choices},
    )
