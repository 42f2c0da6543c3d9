"""Template context: the signed-in viewer and the navigation their roles allow."""

from django.http import HttpRequest
from django.urls import reverse

from .permissions import viewer_for


def viewer(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"viewer": None, "nav": []}
    current = viewer_for(user)
    nav = [("Home", reverse("home"))]
    nav.append(("People", reverse("people:directory")))
    if current.is_hr_admin:
        nav.append(("Directory sync", reverse("people:sync-list")))
    nav.append(("API", reverse("api-docs")))
    return {"viewer": current, "nav": nav}
