"""HTML pages for recognition: the feed and give form, points, rewards, redemptions (HR),
budgets (HR), policy exceptions and their review, per-policy counts, and reach for managers."""

import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse as reverse_url
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.request import Request

from cxculture.lib import idempotency
from cxculture.lib.api import FeedPagination
from cxculture.lib.errors import DomainError
from cxculture.people import selectors as people_selectors
from cxculture.people.models import Employee, Policy, Team
from cxculture.people.permissions import Viewer, viewer_for

from . import selectors, services
from .forms import (
    BudgetForm,
    ExceptionForm,
    FeedFilterForm,
    GiveForm,
    NoteForm,
    ReactionForm,
    ReasonForm,
    ReviewForm,
    RewardForm,
    offered_people,
    person_label,
)
from .models import IdempotencyKey, PolicyException, Reaction, Recognition, Redemption, Reward


def _viewer(request: HttpRequest) -> Viewer:
    return viewer_for(request.user)


def _me(request: HttpRequest) -> Employee:
    employee = _viewer(request).employee
    if employee is None:
        raise PermissionDenied
    return employee


def _require_hr(request: HttpRequest) -> Viewer:
    viewer = _viewer(request)
    if not viewer.is_hr_admin:
        raise PermissionDenied
    return viewer


def _once(request: HttpRequest, key: str, handler: Callable[[], int]) -> int | None:
    """Run `handler` (which returns the id of what it made) once per form key; a resubmitted
    form returns the same id. Domain errors propagate."""
    fields = {k: v for k, v in request.POST.lists() if k not in {"csrfmiddlewaretoken"}}
    answer = idempotency.idempotent(
        model=IdempotencyKey,
        user_id=request.user.pk,  # type: ignore[arg-type]
        key=f"form:{key}",
        request_fingerprint=idempotency.fingerprint(request.path, fields),
        handler=lambda: idempotency.Answer(status=201, body={"id": handler()}),
    )
    return answer.body.get("id") if isinstance(answer.body, dict) else None


def _error_to_form(form, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


# --- Feed and giving -----------------------------------------------------------------------------


def _colleagues(viewer: Viewer) -> QuerySet[Employee]:
    """Who the viewer may recognise: every active colleague but themselves."""
    people = Employee.objects.filter(is_active=True).select_related("user", "team")
    if viewer.employee is not None:
        people = people.exclude(pk=viewer.employee.pk)
    return people.order_by("user__first_name", "user__last_name", "id")


def _found(viewer: Viewer, who: str) -> QuerySet[Employee] | None:
    """The directory search (`employees_search`) over the colleagues; None without a query."""
    if not who:
        return None
    return people_selectors.employees_search(_colleagues(viewer), who, viewer=viewer)


def _give_form(request: HttpRequest, viewer: Viewer, data=None, who: str = "") -> GiveForm:
    return GiveForm(
        data,
        people=_colleagues(viewer),
        values=people_selectors.values_for_viewer(viewer).filter(is_active=True),
        is_manager=viewer.is_manager,
        found=_found(viewer, who),
    )


def _who(request: HttpRequest) -> str:
    return request.GET.get("who", "").strip()[:100]


def _with_reactions(items: list[Recognition], viewer: Viewer) -> list[Recognition]:
    """Attach `reaction_buttons` (emoji, count, mine) for every emoji, counted in one query."""
    summaries = selectors.reaction_summaries([item.pk for item in items], viewer)
    for item in items:
        counts = {c.emoji: c for c in summaries.get(item.pk, [])}
        item.reaction_buttons = [  # type: ignore[attr-defined]
            (
                emoji,
                counts[emoji].count if emoji in counts else 0,
                emoji in counts and counts[emoji].mine,
            )
            for emoji in Reaction.EMOJI
        ]
    return items


def _feed_page(request: HttpRequest, feed: QuerySet[Recognition]) -> dict:
    paginator = FeedPagination()
    items = list(paginator.paginate_queryset(feed, Request(request)) or [])
    return {
        "items": _with_reactions(items, _viewer(request)),
        "next_url": paginator.get_next_link(),
    }


@login_required
def feed(request: HttpRequest) -> HttpResponse:
    return _render_feed(request, None)


def _render_feed(request: HttpRequest, form: GiveForm | None) -> HttpResponse:
    viewer = _viewer(request)
    if request.headers.get("HX-Request") and "who" in request.GET and viewer.employee:
        # The give form's search as you type: only the colleagues to tick.
        people = _colleagues(viewer)
        ticked = request.GET.getlist("receivers")
        offered = offered_people(people, ticked, _found(viewer, _who(request)))
        context = {
            "choices": [(person.pk, person_label(person)) for person in offered],
            "ticked": ticked,
            "who": _who(request),
        }
        return render(request, "recognition/_give_choices.html", context)
    filters = FeedFilterForm(
        request.GET or None,
        teams=Team.objects.filter(is_active=True).order_by("path"),
        values=people_selectors.values_for_viewer(viewer),
        people=Employee.objects.filter(is_active=True).select_related("user"),
    )
    chosen = filters.cleaned_data if filters.is_valid() else {}
    recognitions = selectors.feed_for_viewer(
        viewer,
        team=chosen.get("team"),
        value_id=chosen["value"].pk if chosen.get("value") else None,
        person_id=chosen["person"].pk if chosen.get("person") else None,
    )
    context = _feed_page(request, recognitions)
    if request.headers.get("HX-Request") and request.GET.get("cursor"):
        return render(request, "recognition/_feed_page.html", context)
    context |= {
        "filters": filters,
        "form": form
        or (_give_form(request, viewer, who=_who(request)) if viewer.employee else None),
        "who": _who(request),
        "balances": selectors.balances_for(viewer.employee) if viewer.employee else None,
    }
    return render(request, "recognition/feed.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def give(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        # A bookmarked or typed address: the give form lives on the feed page.
        query = f"?{request.GET.urlencode()}" if request.GET else ""
        return redirect(f"{reverse_url('recognition:feed')}{query}#give-form")
    viewer = _viewer(request)
    me = _me(request)
    form = _give_form(request, viewer, request.POST)
    created: Recognition | None = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            pk = _once(
                request,
                data["idempotency_key"],
                lambda: (
                    services.recognition_give(
                        giver=selectors.give_person_of(me),
                        receivers=[selectors.give_person_of(e) for e in data["receivers"]],
                        message=data["message"],
                        values=[selectors.give_value_of(value) for value in data["values"]],
                        points_per_receiver=data.get("points_per_receiver") or 0,
                        visibility=data["visibility"],
                        spot_award=bool(data.get("spot_award")),
                        managed_paths=viewer.managed_paths,
                    ).pk
                ),
            )
        except DomainError as exc:
            _error_to_form(form, exc)
        else:
            created = selectors.recognitions_for_viewer(viewer).filter(pk=pk or 0).first()
    if request.headers.get("HX-Request"):
        context: dict = {"form": form if created is None else _give_form(request, viewer)}
        if created is not None:
            context |= {"created": _with_reactions([created], viewer)[0], "sent": True}
        return render(request, "recognition/_give_form.html", context)
    if created is not None:
        messages.success(request, "Recognition sent. Thank you for noticing.")
        return redirect("recognition:feed")
    return _render_feed(request, form)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer(request)
    recognition = get_object_or_404(selectors.recognitions_for_viewer(viewer), pk=pk)
    return render(
        request,
        "recognition/detail.html",
        {"item": _with_reactions([recognition], viewer)[0], "reverse_form": ReasonForm()},
    )


@login_required
@require_POST
def react(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer(request)
    me = _me(request)
    recognition = get_object_or_404(selectors.recognitions_for_viewer(viewer), pk=pk)
    form = ReactionForm(request.POST)
    if form.is_valid():
        emoji = form.cleaned_data["emoji"]
        if not services.reaction_add(recognition=recognition, employee=me, emoji=emoji):
            services.reaction_remove(recognition=recognition, employee=me, emoji=emoji)
    if not request.headers.get("HX-Request"):
        return redirect("recognition:detail", pk=pk)
    item = _with_reactions([recognition], viewer)[0]
    return render(request, "recognition/_reactions.html", {"item": item})


@login_required
@require_POST
def reverse(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _require_hr(request)
    recognition = get_object_or_404(selectors.recognitions_for_viewer(viewer), pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why it is reversed.")
        return redirect("recognition:detail", pk=pk)
    try:
        services.recognition_reverse(
            recognition=recognition,
            by=request.user,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Reversed. The points went back and it left the feed.")
    return redirect("recognition:detail", pk=pk)


# --- Points and rewards --------------------------------------------------------------------------


@login_required
def points(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    me = _me(request)
    entries = Paginator(selectors.entries_for_viewer(viewer), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "recognition/points.html",
        {
            "balances": selectors.balances_for(me),
            "entries": entries,
            "lines": selectors.points_history(list(entries)),
        },
    )


@login_required
def rewards(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    me = _me(request)
    catalog = list(selectors.rewards_for_viewer(viewer).filter(is_active=True))
    for reward in catalog:
        # Each redeem button carries its own key, so a double click redeems once.
        reward.form_key = uuid.uuid4().hex  # type: ignore[attr-defined]
    return render(
        request,
        "recognition/rewards.html",
        {
            "rewards": catalog,
            "balances": selectors.balances_for(me),
            "redemptions": selectors.redemptions_for_viewer(viewer).filter(employee=me)[:20],
        },
    )


@login_required
@require_POST
def redeem(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer(request)
    me = _me(request)
    reward = get_object_or_404(selectors.rewards_for_viewer(viewer).filter(is_active=True), pk=pk)
    key = request.POST.get("idempotency_key") or ""
    try:
        if key:
            _once(request, key, lambda: services.redemption_request(employee=me, reward=reward).pk)
        else:
            services.redemption_request(employee=me, reward=reward)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Requested {reward.name}. HR will confirm it shortly.")
    return redirect("recognition:rewards")


REDEMPTIONS_PER_PAGE = 20


def _queue_filter(raw: str | None) -> str:
    """The queue's status filter: a redemption status or "all"; anything else is "pending"."""
    return raw if raw in {*Redemption.Status.values, "all"} else Redemption.Status.PENDING


@login_required
def redemptions(request: HttpRequest) -> HttpResponse:
    viewer = _require_hr(request)
    status = _queue_filter(request.GET.get("status"))
    queue = selectors.redemption_queue(viewer, status=None if status == "all" else status)
    page = Paginator(queue, REDEMPTIONS_PER_PAGE).get_page(request.GET.get("page"))
    counts = selectors.redemption_status_counts(viewer)
    filters = [(value, label, counts[value]) for value, label in Redemption.Status.choices] + [
        ("all", "All", sum(counts.values()))
    ]
    return render(
        request,
        "recognition/redemptions.html",
        {"page": page, "status": status, "filters": filters},
    )


@login_required
@require_POST
def redemption_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    viewer = _require_hr(request)
    redemption = get_object_or_404(selectors.redemptions_for_viewer(viewer), pk=pk)
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    user = request.user
    actions: dict[str, Callable[[], Redemption]] = {
        "approve": lambda: services.redemption_approve(redemption=redemption, by=user, note=note),  # type: ignore[arg-type]
        "reject": lambda: services.redemption_reject(redemption=redemption, by=user, note=note),  # type: ignore[arg-type]
        "fulfil": lambda: services.redemption_fulfil(redemption=redemption, by=user),  # type: ignore[arg-type]
    }
    if decision not in actions:
        raise PermissionDenied
    try:
        done = actions[decision]()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{done.reward.name} for {done.employee}: {done.status}.")
    # Back to the filter and page the decision was made on.
    back = {"status": _queue_filter(request.POST.get("status"))}
    if (page := request.POST.get("page", "")).isdigit():
        back["page"] = page
    return redirect(f"{reverse_url('recognition:redemptions')}?{urlencode(back)}")


@login_required
def budgets(request: HttpRequest) -> HttpResponse:
    viewer = _require_hr(request)
    managers = selectors.managers_with_budgets(viewer)
    form = BudgetForm(request.POST or None, managers=managers)
    if request.method == "POST" and form.is_valid():
        try:
            services.budget_set(
                manager=form.cleaned_data["manager"],
                monthly_points=form.cleaned_data["monthly_points"],
                by=request.user,  # type: ignore[arg-type]
            )
        except DomainError as exc:
            _error_to_form(form, exc)
        else:
            messages.success(request, "Budget set and topped up for this month.")
            return redirect("recognition:budgets")
    return render(request, "recognition/budgets.html", {"form": form, "managers": managers})


@login_required
@require_POST
def budget_top_up(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _require_hr(request)
    manager = get_object_or_404(selectors.managers_with_budgets(viewer), pk=pk)
    try:
        granted = services.budget_top_up(manager=manager, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if granted:
            messages.success(request, f"Topped up {granted} points for {manager.display_name}.")
        else:
            messages.info(request, f"{manager.display_name}'s budget is already full.")
    return redirect("recognition:budgets")


# --- The reward catalogue (HR) -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def catalogue(request: HttpRequest) -> HttpResponse:
    viewer = _require_hr(request)
    form = RewardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reward = services.reward_create(**form.cleaned_data)
        except DomainError as exc:
            _error_to_form(form, exc)
        else:
            messages.success(request, f"{reward.name} is in the catalogue.")
            return redirect("recognition:catalogue")
    rewards = selectors.rewards_for_viewer(viewer).order_by("-is_active", "cost_points", "name")
    return render(request, "recognition/catalogue.html", {"form": form, "rewards": rewards})


def _catalogue_reward(request: HttpRequest, pk: int) -> Reward:
    viewer = _require_hr(request)
    return get_object_or_404(selectors.rewards_for_viewer(viewer), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def catalogue_edit(request: HttpRequest, pk: int) -> HttpResponse:
    reward = _catalogue_reward(request, pk)
    initial = {
        "name": reward.name,
        "description": reward.description,
        "cost_points": reward.cost_points,
        "stock": reward.stock,
    }
    form = RewardForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.reward_update(reward=reward, **form.cleaned_data)
        except DomainError as exc:
            _error_to_form(form, exc)
        else:
            messages.success(request, f"{reward.name} saved.")
            return redirect("recognition:catalogue")
    return render(request, "recognition/catalogue_edit.html", {"form": form, "reward": reward})


@login_required
@require_POST
def catalogue_retire(request: HttpRequest, pk: int) -> HttpResponse:
    reward = _catalogue_reward(request, pk)
    services.reward_update(reward=reward, is_active=False)
    messages.success(
        request, f"{reward.name} is retired: nobody can redeem it; requests made stay as they are."
    )
    return redirect("recognition:catalogue")


@login_required
@require_POST
def catalogue_restore(request: HttpRequest, pk: int) -> HttpResponse:
    reward = _catalogue_reward(request, pk)
    services.reward_update(reward=reward, is_active=True)
    messages.success(request, f"{reward.name} is back in the catalogue.")
    return redirect("recognition:catalogue")


# --- Policy exceptions ---------------------------------------------------------------------------


@login_required
def exceptions(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    me = _me(request)
    policies = people_selectors.policies_for_viewer(viewer).filter(is_active=True)
    form = ExceptionForm(request.POST or None, policies=policies)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        key = data.pop("idempotency_key")
        try:
            _once(
                request,
                key,
                lambda: (
                    services.exception_log(
                        employee=me,
                        policy=data["policy"],
                        customer_ref=data["customer_ref"],
                        interaction_ref=data["interaction_ref"],
                        what_was_done=data["what_was_done"],
                        why=data["why"],
                        cost=data["cost"],
                        occurred_on=data["occurred_on"],
                    ).pk
                ),
            )
        except DomainError as exc:
            _error_to_form(form, exc)
        else:
            messages.success(request, "Logged. Your manager will review it. Thank you.")
            return redirect("recognition:exceptions")
    mine = selectors.exceptions_for_viewer(viewer).filter(employee=me)
    return render(
        request,
        "recognition/exceptions.html",
        {"form": form, "mine": Paginator(mine, 25).get_page(request.GET.get("page"))},
    )


@login_required
def exception_queue(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if not (viewer.is_manager or viewer.is_hr_admin):
        raise PermissionDenied
    page = Paginator(selectors.exception_review_queue(viewer), 20).get_page(request.GET.get("page"))
    for item in page:
        item.form = ReviewForm(prefix=f"x{item.pk}")  # type: ignore[attr-defined]
    balances = selectors.balances_for(viewer.employee) if viewer.employee else None
    return render(request, "recognition/exception_queue.html", {"page": page, "balances": balances})


@login_required
@require_POST
def exception_review(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer(request)
    exception = get_object_or_404(PolicyException.objects.all(), pk=pk)
    form = ReviewForm(request.POST, prefix=f"x{pk}")
    if not form.is_valid():
        messages.error(request, "Choose a decision.")
        return redirect("recognition:exception-queue")
    data = form.cleaned_data
    try:
        _once(
            request,
            data["idempotency_key"],
            lambda: (
                services.exception_review(
                    exception=exception,
                    viewer=viewer,
                    decision=data["decision"],
                    note=data["note"],
                    reward_points=data.get("reward_points") or 0,
                    publish=data["publish"],
                ).pk
            ),
        )
    except DomainError as exc:
        if exc.status == 403:
            raise PermissionDenied from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, "Reviewed. They have been told.")
    return redirect("recognition:exception-queue")


@login_required
def policies(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if not (viewer.is_manager or viewer.sees_whole_organisation):
        raise PermissionDenied
    stats = list(selectors.exception_stats_by_policy(viewer))
    return render(
        request,
        "recognition/policies.html",
        {"stats": stats, "currency": settings.CXC_RECOGNITION_CURRENCY},
    )


@login_required
def policy_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer(request)
    if not (viewer.is_manager or viewer.sees_whole_organisation):
        raise PermissionDenied
    policy = get_object_or_404(Policy, pk=pk)
    stats = selectors.exception_stats_by_policy(viewer).filter(pk=pk).first()
    # Executives see the counts only; the individual exceptions stay with managers and HR.
    shown = selectors.exceptions_for_viewer(viewer).filter(policy=policy)
    page = Paginator(shown, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "recognition/policy_detail.html",
        {
            "policy": policy,
            "stats": stats,
            "page": page,
            "currency": settings.CXC_RECOGNITION_CURRENCY,
        },
    )


# --- Reach and anti-gaming -----------------------------------------------------------------------


@login_required
def not_recognised(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if not (viewer.is_manager or viewer.sees_whole_organisation):
        raise PermissionDenied
    people = selectors.not_recognised_lately(viewer)
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "recognition/not_recognised.html",
        {"page": page, "days": settings.CXC_RECOGNITION_NOT_RECOGNISED_DAYS},
    )


@login_required
def reciprocal(request: HttpRequest) -> HttpResponse:
    viewer = _require_hr(request)
    return render(
        request,
        "recognition/reciprocal.html",
        {
            "pairs": selectors.reciprocal_pairs(viewer),
            "days": settings.CXC_RECOGNITION_RECIPROCAL_DAYS,
            "min_points": settings.CXC_RECOGNITION_RECIPROCAL_MIN_POINTS,
        },
    )
