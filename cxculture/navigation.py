"""Template context: the signed-in viewer and the navigation their roles allow.

It lives in the project package, beside urls.py, because it links every app's pages; the apps
themselves know nothing of each other's pages.
"""

from django.http import HttpRequest
from django.urls import reverse

from cxculture.people.permissions import viewer_for

NavItem = tuple[str, str]


def viewer_and_navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"viewer": None, "nav": [], "nav_manage": []}
    viewer = viewer_for(user)
    nav: list[NavItem] = [
        ("Home", reverse("home")),
        ("Surveys", reverse("surveys:index")),
        ("Recognition", reverse("recognition:feed")),
    ]
    if viewer.employee is not None:
        nav += [
            ("Rewards", reverse("recognition:rewards")),
            ("Exceptions", reverse("recognition:exceptions")),
        ]
    nav.append(("Actions", reverse("actions:list")))
    nav.append(("People", reverse("people:directory")))
    if viewer.sees_whole_organisation or viewer.is_manager:
        nav.append(("Dashboard", reverse("insights:culture")))
        nav.append(("Insights", reverse("insights:linkage")))

    # Work that only some roles do sits in a second, collapsible "Manage" menu.
    manage: list[NavItem] = []
    if viewer.is_manager or viewer.is_hr_admin:
        manage.append(("Exception reviews", reverse("recognition:exception-queue")))
    if viewer.is_manager:
        manage.append(("Not recognised lately", reverse("recognition:not-recognised")))
    if viewer.is_hr_admin:
        manage += [
            ("Redemptions", reverse("recognition:redemptions")),
            ("Reward catalogue", reverse("recognition:catalogue")),
            ("Reward budgets", reverse("recognition:budgets")),
            ("Customer outcomes", reverse("outcomes:import-list")),
            ("Directory sync", reverse("people:sync-list")),
            ("Audit log", reverse("audit:event-list")),
        ]
    if viewer.is_hr_admin or viewer.is_manager or viewer.is_executive:
        manage.append(("API docs", reverse("api-docs")))
    return {"viewer": viewer, "nav": nav, "nav_manage": manage}
