"""HTML pages for actions: the list with the viewer's prompts, the create form (prefilled from a
results page), the detail with its timeline, and the "you said, we did" pages."""

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from cxculture.lib.errors import DomainError
from cxculture.people.models import Team
from cxculture.people.permissions import viewer_for
from surveys import drivers
from surveys.models import SurveyRun

from . import selectors, services
from .forms import OWNER_CHOICES_SHOWN, ActionForm, UpdateForm, owner_choices
from .models import Action
from .permissions import may_change, may_create_any, may_create_for

PAGE_SIZE = 25


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@login_required
def action_list(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request.user)
    status = request.GET.get("status", "")
    if status not in Action.Status.values:
        status = ""
    within_id = _int(request.GET.get("within"))
    within = Team.objects.filter(pk=within_id).first() if within_id is not None else None
    actions = selectors.action_filter(
        selectors.actions_for_viewer(viewer),
        status=status or None,
        team=_int(request.GET.get("team")),
        within=within,
        owner=viewer.employee.pk if request.GET.get("mine") and viewer.employee else None,
    )
    page = Paginator(actions, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "actions/list.html",
        {
            "page": page,
            "status": status,
            "statuses": Action.Status.choices,
            "mine": bool(request.GET.get("mine")),
            "within": within,
            "prompts": list(selectors.prompts_for(viewer, timezone.localdate())),
            "may_create": may_create_any(viewer),
            "today": timezone.localdate(),
            "own_team": viewer.employee.team if viewer.employee else None,
        },
    )


def _driver_labels(viewer: Any, run: SurveyRun | None, team: Team | None) -> dict[str, str]:
    """Driver choices labelled with the team's score at the run, when reportable."""
    if run is None or run.status != SurveyRun.Status.CLOSED:
        return {}
    book = selectors.ScoreBook()
    scores = book.driver_scores(run, team.pk if team else None)
    labels = drivers.driver_labels_for(scores)
    return {
        driver: f"{drivers.driver_label(driver, labels)} — {score:g}% favourable"
        for driver, score in scores.items()
        if score is not None
    }


def _owner_field(
    viewer: Any, team: Team | None, *, search: str = "", selected: int | None = None
) -> tuple[Any, list[Any], int | None]:
    """The owners of the scope (for validation), the few the list shows, and the one selected.

    Without a search the list starts with the chosen owner (or the default one); a search shows
    only its matches and selects the chosen owner if among them, else the first match."""
    owners = selectors.owners_for_scope(team)
    shown = list(selectors.owners_for_scope(team, search=search)[:OWNER_CHOICES_SHOWN])
    if search:
        if all(person.pk != selected for person in shown):
            selected = shown[0].pk if shown else None
        return owners, shown, selected
    if selected is None:
        default = selectors.default_owner(viewer, team)
        selected = default.pk if default is not None else None
    if selected is not None and all(person.pk != selected for person in shown):
        kept = owners.filter(pk=selected).first()
        if kept is not None:
            shown.insert(0, kept)
    return owners, shown, selected


@login_required
def action_create(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request.user)
    if not may_create_any(viewer):
        raise PermissionDenied
    teams = selectors.teams_for_new_action(viewer)
    runs = selectors.closed_runs()
    data = request.POST if request.method == "POST" else request.GET
    run_id = _int(data.get("source_run") or data.get("run"))
    team_id = _int(data.get("team"))
    run = runs.filter(pk=run_id).first() if run_id is not None else None
    team = teams.filter(pk=team_id).first() if team_id is not None else None
    if team is None and "team" not in data and not may_create_for(viewer, None):
        team = teams.first()  # a manager commits for a team they lead, never the organisation
    search = data.get("owner_q", "").strip()
    owners, shown, selected = _owner_field(
        viewer, team, search=search, selected=_int(data.get("owner"))
    )
    kwargs: dict[str, Any] = {
        "teams": teams,
        "owners": owners,
        "shown_owners": shown,
        "runs": runs,
        "due_bounds": services.due_on_bounds(today=timezone.localdate()),
        "driver_labels": _driver_labels(viewer, run, team),
    }
    if request.method == "POST" and "find" not in request.POST:
        form = ActionForm(request.POST, **kwargs)
        if form.is_valid():
            values = form.cleaned_data
            try:
                created = services.action_create(
                    by=viewer,
                    title=values["title"],
                    description=values["description"],
                    team=values["team"],
                    source_kind=values["source_kind"],
                    source_run=values["source_run"],
                    source_driver=values["source_driver"],
                    source_policy=values["source_policy"],
                    source_label=values["source_label"],
                    owner=values["owner"],
                    due_on=values["due_on"],
                )
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, str(error))
            except PermissionDenied:
                form.add_error("team", "You may not commit actions for this scope.")
            else:
                messages.success(request, "Action committed.")
                return redirect("actions:detail", pk=created.pk)
    else:
        # A first visit (perhaps from a results page: run, driver, team), or the owner search
        # without JavaScript ("Find" posts the form back to be shown again, unsaved).
        driver = data.get("source_driver") or data.get("driver", "")
        initial: dict[str, Any] = {
            "owner": selected,
            "due_on": timezone.localdate() + dt.timedelta(days=60),
        }
        for name in ("title", "description", "source_label", "source_policy", "due_on"):
            if data.get(name):
                initial[name] = data[name]
        if run is not None:
            initial["source_run"] = run.pk
            initial["source_kind"] = Action.SourceKind.SURVEY_DRIVER
        if driver and drivers.is_active_driver(driver):
            initial["source_driver"] = driver
            initial["source_kind"] = Action.SourceKind.SURVEY_DRIVER
        if data.get("source_kind") in Action.SourceKind.values:
            initial["source_kind"] = data["source_kind"]
        if team is not None:
            initial["team"] = team.pk
        form = ActionForm(initial=initial, **kwargs)
    return render(
        request,
        "actions/create.html",
        {"form": form, "run": run, "team": team, "owner_q": search},
    )


@login_required
def owner_options(request: HttpRequest) -> HttpResponse:
    """The owner list's options for a scope and a search: what the create form's owner search
    and team choice swap in with htmx."""
    viewer = viewer_for(request.user)
    if not may_create_any(viewer):
        raise PermissionDenied
    team_id = _int(request.GET.get("team"))
    team = None
    if team_id is not None:
        team = selectors.teams_for_new_action(viewer).filter(pk=team_id).first()
        if team is None:
            raise Http404
    search = request.GET.get("owner_q", "").strip()
    selected = _int(request.GET.get("owner"))
    _, shown, selected = _owner_field(viewer, team, search=search, selected=selected)
    return render(
        request,
        "actions/_owner_options.html",
        {"choices": owner_choices(shown), "selected": selected, "search": search},
    )


def _visible_action(request: HttpRequest, pk: int) -> Action:
    return get_object_or_404(selectors.actions_for_viewer(viewer_for(request.user)), pk=pk)


@login_required
def action_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for(request.user)
    action = _visible_action(request, pk)
    book = selectors.ScoreBook()
    return render(
        request,
        "actions/detail.html",
        {
            "action": action,
            "source": selectors.source_text(action, book),
            "effect": selectors.effects([action], book).get(action.pk),
            "updates": selectors.action_updates(action),
            "form": UpdateForm(initial={"status": action.status}),
            "may_change": may_change(viewer, action),
            "following": selectors.is_following(viewer, action),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def action_update_post(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for(request.user)
    action = _visible_action(request, pk)
    form = UpdateForm(request.POST)
    if form.is_valid():
        values = form.cleaned_data
        try:
            services.action_update_post(
                by=viewer,
                action=action,
                text=values["text"],
                status=values["status"] or None,
                drop_reason=values["drop_reason"],
            )
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Update posted.")
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else None
            messages.error(request, f"{label or 'Update'}: {' '.join(str(e) for e in errors)}")
    return redirect("actions:detail", pk=action.pk)


@login_required
@require_POST
def action_follow(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for(request.user)
    action = _visible_action(request, pk)
    services.action_follow(by=viewer, action=action, follow=request.POST.get("follow") == "1")
    return redirect("actions:detail", pk=action.pk)


def _you_said_we_did(request: HttpRequest, team: Team | None) -> HttpResponse:
    viewer = viewer_for(request.user)
    today = timezone.localdate()
    actions = list(selectors.actions_for_team_page(viewer, team)[:100])
    book = selectors.ScoreBook()
    effects = selectors.effects(actions, book)
    labels = selectors.source_driver_labels(actions)
    rows = [
        {
            "action": action,
            "source": selectors.source_text(action, book, labels),
            "updates": selectors.latest_updates(action),
            "effect": effects.get(action.pk),
        }
        for action in actions
    ]
    return render(
        request,
        "actions/you_said_we_did.html",
        {
            "team": team,
            "rows": rows,
            "today": today,
            # The counts come from follow-through, not from the rows: the rows are the newest
            # 100 the viewer sees, the counts every action of the scope, as everywhere else.
            "follow_through": selectors.follow_through(today=today, team=team),
            "may_create": may_create_for(viewer, team),
        },
    )


@login_required
def team_page(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    if not selectors.may_see_team_page(viewer_for(request.user), team):
        raise Http404
    return _you_said_we_did(request, team)


@login_required
def organisation_page(request: HttpRequest) -> HttpResponse:
    return _you_said_we_did(request, None)
