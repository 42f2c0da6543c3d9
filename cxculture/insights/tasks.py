"""Celery adapters for insights: take ids, call the read side. Safe to run twice."""

from celery import shared_task
from django.contrib.auth.models import User
from django.utils import timezone

from cxculture.lib.errors import DomainError
from cxculture.people.permissions import viewer_for

from . import culture
from .selectors import may_read_insights


@shared_task(acks_late=True)
def culture_figures_refresh_task(user_id: int, department_id: int | None, months: int) -> None:
    """Recompute stale dashboard figures for the scope of the person who looked at them, as
    long as they may still see it."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    viewer = viewer_for(user)
    if not may_read_insights(viewer):
        return
    try:
        department = culture.department_for(viewer, department_id)
    except DomainError:
        return  # moved out of that department, or the team is gone
    culture.culture_figures_refresh(viewer, department, months, timezone.localdate())
