"""The audit log page: HR admins read it, in sentences; nobody can change it."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cxculture.people import selectors as people_selectors
from cxculture.people.models import Employee
from cxculture.people.permissions import viewer_for

from . import selectors
from .models import AuditEvent

PER_PAGE = 50


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request.user)
    if not viewer.is_hr_admin:
        raise PermissionDenied
    action = request.GET.get("action", "")
    if action not in AuditEvent.Action.values:
        action = ""
    person = request.GET.get("person", "").strip()[:100]
    people = (
        people_selectors.employees_search(Employee.objects.all(), person, viewer=viewer)
        if person
        else None
    )
    events = selectors.audit_events_for(viewer, action=action, people=people)
    page = Paginator(events, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/event_list.html",
        {
            "page": page,
            "lines": selectors.audit_lines(list(page)),
            "action": action,
            "person": person,
            "actions": AuditEvent.Action.choices,
            "query": urlencode(
                {key: value for key, value in (("action", action), ("person", person)) if value}
            ),
        },
    )
