"""HTML pages for pulse surveys: HR's programs, results, and the respondent's page.

The respondent page works from the emailed link without signing in, and shows nothing but the
questions: not the person's name, team or whether they have answered before submitting.
"""

from itertools import pairwise
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from cxculture.audit.models import AuditEvent
from cxculture.audit.services import audit_export
from cxculture.lib import anonymity
from cxculture.lib.csvio import csv_response
from cxculture.lib.errors import DomainError
from cxculture.people.permissions import viewer_for

from . import drivers, selectors, services
from . import results as survey_results
from .forms import (
    AudienceForm,
    CustomDriverForm,
    CustomDriverRenameForm,
    ProgramForm,
    QuestionForm,
    ResponseForm,
    RunImportForm,
)
from .models import (
    CustomDriver,
    Driver,
    Invitation,
    Question,
    SurveyProgram,
    SurveyRun,
    TenureBand,
)
from .survey_templates import SURVEY_TEMPLATES, template_initial


def _require_hr(request: HttpRequest) -> None:
    if not viewer_for(request.user).is_hr_admin:
        raise PermissionDenied


@login_required
def index(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request.user)
    runs = selectors.runs_for_viewer(viewer)
    context: dict[str, Any] = {
        "waiting": selectors.open_runs_waiting_for(viewer),
        "closed": runs.filter(status=SurveyRun.Status.CLOSED)[:12],
        "open_runs": runs.filter(status=SurveyRun.Status.OPEN),
    }
    if viewer.is_hr_admin:
        archived = request.GET.get("archived") == "1"
        context["archived"] = archived
        context["programs"] = selectors.programs_for_viewer(viewer).filter(
            archived_at__isnull=not archived
        )
    return render(request, "surveys/index.html", context)


def _form_error(form: Any, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _question_library(request: HttpRequest, form: QuestionForm, driver_form: CustomDriverForm):
    custom = list(CustomDriver.objects.order_by("-is_active", "label", "id"))
    labels = {**dict(Driver.choices), **{driver.code: driver.label for driver in custom}}
    questions = selectors.questions_for_viewer(viewer_for(request.user)).order_by(
        "-is_active", "is_builtin", "position", "id"
    )
    rows = [{"question": q, "driver": drivers.driver_label(q.driver, labels)} for q in questions]
    context = {"rows": rows, "form": form, "driver_form": driver_form, "custom_drivers": custom}
    return render(request, "surveys/question_library.html", context)


@login_required
def question_library(request: HttpRequest) -> HttpResponse:
    """HR's question library: every question with its driver; add custom questions here."""
    _require_hr(request)
    form = QuestionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            question = services.question_create(**form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Added “{question.text}” to the library.")
            return redirect("surveys:questions")
    return _question_library(request, form, CustomDriverForm())


@login_required
@require_POST
def driver_create(request: HttpRequest) -> HttpResponse:
    _require_hr(request)
    driver_form = CustomDriverForm(request.POST)
    if driver_form.is_valid():
        try:
            driver = services.custom_driver_create(label=driver_form.cleaned_data["label"])
        except DomainError as exc:
            _form_error(driver_form, exc)
        else:
            messages.success(request, f"{driver.label} is a driver now.")
            return redirect("surveys:questions")
    return _question_library(request, QuestionForm(), driver_form)


@login_required
@require_POST
def driver_rename(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename one of HR's drivers: questions, results and actions show the new name."""
    _require_hr(request)
    driver = get_object_or_404(CustomDriver, pk=pk)
    form = CustomDriverRenameForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name the driver in at most 60 characters.")
        return redirect("surveys:questions")
    try:
        services.custom_driver_update(driver=driver, label=form.cleaned_data["label"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The driver is now called {form.cleaned_data['label']}.")
    return redirect("surveys:questions")


@login_required
@require_POST
def driver_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Retire one of HR's drivers (no new question or action may choose it; past results and
    actions keep it) or bring it back."""
    _require_hr(request)
    driver = get_object_or_404(CustomDriver, pk=pk)
    active = request.POST.get("is_active") == "1"
    services.custom_driver_update(driver=driver, is_active=active)
    messages.success(request, f"{driver.label} is {'back' if active else 'retired'}.")
    return redirect("surveys:questions")


@login_required
def question_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_hr(request)
    question = get_object_or_404(Question, pk=pk)
    initial = {
        "text": question.text,
        "kind": question.kind,
        "driver": question.driver,
        "options": "\n".join(question.options),
    }
    form = QuestionForm(request.POST or None, initial=initial, current_driver=question.driver)
    if request.method == "POST" and form.is_valid():
        try:
            services.question_update(question=question, **form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "The question is saved.")
            return redirect("surveys:questions")
    return render(request, "surveys/question_form.html", {"form": form, "question": question})


@login_required
@require_POST
def question_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch a question on or off: off, no program asks it from the next run on."""
    _require_hr(request)
    question = get_object_or_404(Question, pk=pk)
    active = request.POST.get("is_active") == "1"
    services.question_update(question=question, is_active=active)
    messages.success(request, f"“{question.text}” is {'back on' if active else 'switched off'}.")
    return redirect("surveys:questions")


@login_required
def program_create(request: HttpRequest) -> HttpResponse:
    _require_hr(request)
    if request.method == "POST":
        form = ProgramForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                program = services.survey_program_create(created_by=request.user, **data)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, f"{program.name} is set up.")
                return redirect("surveys:program-detail", pk=program.pk)
    else:
        initial: dict[str, Any] = {
            "questions": selectors.questions_for_viewer(viewer_for(request.user)).filter(
                is_builtin=True
            )
        }
        if "template" in request.GET:
            template = SURVEY_TEMPLATES.get(request.GET["template"])
            if template is None:
                raise Http404("There is no survey template of that name.")
            initial = template_initial(template)
        form = ProgramForm(initial=initial)
    return render(
        request,
        "surveys/program_form.html",
        {
            "form": form,
            "templates": SURVEY_TEMPLATES.values(),
            "chosen": request.GET.get("template"),
            "preview": _form_preview(form),
        },
    )


@login_required
def program_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_hr(request)
    program = get_object_or_404(selectors.programs_for_viewer(viewer_for(request.user)), pk=pk)
    runs = selectors.runs_for_viewer(viewer_for(request.user)).filter(program=program)
    preview = _audience_preview(
        program.audience, list(program.teams.all()), program.anonymity_threshold
    )
    return render(
        request,
        "surveys/program_detail.html",
        {"program": program, "runs": runs, "preview": preview},
    )


def _audience_preview(audience: str, teams: list[Any], threshold: int | None) -> dict[str, Any]:
    """How many people a run would invite: counted by the query a run opens with."""
    invited = services.audience_of(audience=audience, teams=teams).count()
    k = threshold or anonymity.DEFAULT_THRESHOLD
    return {"invited": invited, "k": k, "below_k": invited < k}


def _form_preview(form: ProgramForm) -> dict[str, Any]:
    """The preview for the form as it is shown (its submitted or its initial values)."""
    audience = AudienceForm(
        {
            "audience": form["audience"].value(),
            "teams": [getattr(team, "pk", team) for team in form["teams"].value() or []],
            "anonymity_threshold": form["anonymity_threshold"].value(),
        }
    )
    if not audience.is_valid():
        return {}
    data = audience.cleaned_data
    return _audience_preview(data["audience"], list(data["teams"]), data["anonymity_threshold"])


@login_required
def audience_count(request: HttpRequest) -> HttpResponse:
    """The "N people will be invited" line of the program forms, asked again by htmx each
    time the audience, its teams or k change."""
    _require_hr(request)
    form = AudienceForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(str(error) for errors in form.errors.values() for error in errors)
        return render(
            request, "surveys/_audience_count.html", {"preview": {}, "error": errors}, status=400
        )
    data = form.cleaned_data
    preview = _audience_preview(data["audience"], list(data["teams"]), data["anonymity_threshold"])
    return render(request, "surveys/_audience_count.html", {"preview": preview})


def _program_initial(program: SurveyProgram) -> dict[str, Any]:
    return {
        **{name: getattr(program, name) for name in services.PROGRAM_FIELDS},
        "teams": list(program.teams.all()),
        "questions": list(program.questions.all()),
    }


@login_required
def program_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a program's questions, cadence, audience or thresholds. Runs already open or
    closed keep their thresholds; a threshold change goes to the audit log."""
    _require_hr(request)
    program = get_object_or_404(selectors.programs_for_viewer(viewer_for(request.user)), pk=pk)
    form = ProgramForm(request.POST or None, initial=_program_initial(program))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if data["run_length_days"] is None:
            data.pop("run_length_days")
        try:
            services.survey_program_update(
                program=program,
                teams=data.pop("teams"),
                questions=data.pop("questions"),
                actor=request.user,
                **data,
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"{program.name} is saved.")
            return redirect("surveys:program-detail", pk=program.pk)
    return render(
        request,
        "surveys/program_edit.html",
        {"form": form, "program": program, "preview": _form_preview(form)},
    )


@login_required
@require_POST
def program_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Pause a program (no run is scheduled or opened) or resume it."""
    _require_hr(request)
    program = get_object_or_404(SurveyProgram, pk=pk)
    active = request.POST.get("is_active") == "1"
    try:
        services.survey_program_update(program=program, is_active=active, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{program.name} is {'running again' if active else 'paused'}.")
    return redirect("surveys:program-detail", pk=program.pk)


@login_required
@require_POST
def program_archive(request: HttpRequest, pk: int) -> HttpResponse:
    _require_hr(request)
    program = get_object_or_404(SurveyProgram, pk=pk)
    archived = request.POST.get("archived") == "1"
    try:
        services.survey_program_set_archived(program=program, archived=archived)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("surveys:program-detail", pk=program.pk)
    if archived:
        messages.success(request, f"{program.name} is archived; its results stay available.")
        return redirect("surveys:index")
    messages.success(request, f"{program.name} is back, paused until you resume it.")
    return redirect("surveys:program-detail", pk=program.pk)


@login_required
@require_POST
def program_start_run(request: HttpRequest, pk: int) -> HttpResponse:
    _require_hr(request)
    program = get_object_or_404(SurveyProgram, pk=pk)
    try:
        run = services.survey_run_start_now(program=program)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Run #{run.sequence} is open; invitations are on their way.")
    return redirect("surveys:program-detail", pk=program.pk)


@login_required
@require_POST
def run_close(request: HttpRequest, pk: int) -> HttpResponse:
    _require_hr(request)
    run = get_object_or_404(SurveyRun, pk=pk)
    try:
        services.survey_run_close(run=run)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Run #{run.sequence} is closed; its results are ready.")
    return redirect("surveys:run-results", pk=run.pk)


def _heat(value: float | None) -> str:
    if value is None:
        return ""
    if value >= 75:
        return "heat-4"
    if value >= 60:
        return "heat-3"
    if value >= 45:
        return "heat-2"
    if value >= 30:
        return "heat-1"
    return "heat-0"


def _heatmap_body(heatmap: dict[str, Any]) -> SafeString:
    """The heatmap's table rows. Built here rather than in the template: at 2,000 teams the
    template engine (or format_html) spends most of a second on the 25,000 cells; plain
    strings take a few dozen milliseconds. Text is escaped; the rest are numbers we computed."""
    drivers = [column["driver"] for column in heatmap["columns"]]
    hidden_span = len(drivers) + 3

    def cell(value: float | None) -> str:
        if value is None:
            return '<td class="num">—</td>'
        return f'<td class="num {_heat(value)}">{value}</td>'

    rows = []
    for row in heatmap["rows"]:
        name: str = escape(row["name"])
        if row["team"]:
            name = f'<a href="?subtree={int(row["team"])}">{name}</a>'
        head = f'<th scope="row" class="team-name indent-{min(row["depth"], 5)}">{name}</th>'
        if not row["shown"]:
            reason = escape(row["reason"] or "")
            rows.append(
                f'<tr>{head}<td colspan="{hidden_span}" class="muted suppressed">{reason}</td></tr>'
            )
            continue
        engagement = "—" if row["engagement_index"] is None else row["engagement_index"]
        enps = "—" if row["enps"] is None else row["enps"]
        cells = "".join(cell(row["cells"][driver]) for driver in drivers)
        rows.append(
            f'<tr>{head}<td class="num">{int(row["respondents"])}</td>'
            f'<td class="num">{engagement}</td><td class="num">{enps}</td>{cells}</tr>'
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - names and reasons escaped above


def _single_top_team(rows: list[dict[str, Any]]) -> int | None:
    """The one top-level team among `rows` (teams in tree order, with their depth), when there
    is exactly one: it holds everyone, so it is the organisation under another name."""
    teams = [row for row in rows if row.get("team")]
    if not teams:
        return None
    top = min(row["depth"] for row in teams)
    tops = [row["team"] for row in teams if row["depth"] == top]
    return tops[0] if len(tops) == 1 else None


def _subtree_choices(
    heatmap: dict[str, Any] | None, *, of_organisation: bool = False
) -> list[dict[str, Any]]:
    """The teams below the group to pick as the group: those with teams below them (a team
    without is one click away in the heatmap), so the list stays short at 2,000 teams. The
    heatmap's rows are in tree order, so a row has teams below when the next row is deeper.
    Below the organisation, a single top-level team is left out: the list already offers the
    whole organisation, and it is the same people."""
    rows = heatmap["rows"] if heatmap else []
    same_as_organisation = _single_top_team(rows) if of_organisation else None
    return [
        row
        for row, after in pairwise(rows)
        if row["team"] and after["depth"] > row["depth"] and row["team"] != same_as_organisation
    ]


def _participation_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The participation rows with one row for the organisation: a single top-level team with
    the organisation's counts is the same group, listed once."""
    if not rows or rows[0]["team"] is not None:
        return rows  # not the organisation's table
    top = _single_top_team(rows[1:])
    figures = ("shown", "invited", "responded")
    return [
        row
        for row in rows
        if row["team"] is None
        or row["team"] != top
        or any(row[key] != rows[0][key] for key in figures)
    ]


@login_required
def run_results(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for(request.user)
    run = get_object_or_404(selectors.runs_for_viewer(viewer), pk=pk)
    context: dict[str, Any] = {"run": run, "params": request.GET.urlencode()}
    if run.status != SurveyRun.Status.CLOSED:
        participation = survey_results.run_participation(viewer, run)
        context["participation"] = {
            **participation,
            "rows": _participation_rows(participation["rows"]),
        }
        return render(request, "surveys/run_participation.html", context)
    try:
        query = survey_results.ResultsQuery.from_params(request.GET)
        results = survey_results.run_results(viewer, run, query)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("surveys:run-results", pk=run.pk)
    breakdowns: dict[str, dict[str, list]] = {}
    for row in results["breakdowns"]:
        entry = breakdowns.setdefault(
            survey_results.ATTRIBUTE_LABELS[row["attribute"]], {"shown": [], "hidden": []}
        )
        entry["shown" if row["shown"] else "hidden"].append(row)
    context.update(
        {
            "results": results,
            "heatmap_body": _heatmap_body(results["heatmap"]) if results["heatmap"] else "",
            "breakdowns": breakdowns,
            "teams": _subtree_choices(
                results["heatmap"],
                of_organisation=bool(results["group"]) and results["group"]["team"] is None,
            ),
            "tenure_bands": TenureBand.choices,
            "selected": {
                key: request.GET.get(key, "")
                for key in ("subtree", "team", *survey_results.ATTRIBUTES)
            },
            "locations": sorted(
                {r["value"] for r in results["breakdowns"] if r["attribute"] == "location"}
            ),
            "role_families": sorted(
                {r["value"] for r in results["breakdowns"] if r["attribute"] == "role_family"}
            ),
        }
    )
    return render(request, "surveys/run_results.html", context)


@login_required
def run_results_csv(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for(request.user)
    run = get_object_or_404(selectors.runs_for_viewer(viewer), pk=pk)
    try:
        query = survey_results.ResultsQuery.from_params(request.GET)
        results = survey_results.run_results(viewer, run, query)
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    rows = list(survey_results.results_csv_rows(results))
    audit_export(
        actor=request.user,
        action=AuditEvent.Action.SURVEY_RESULTS_EXPORTED,
        target=run,
        scope={"team": query.team, "subtree": query.subtree, **dict(query.filters)},
        rows=max(0, len(rows) - 1),  # without the header
        via="page",
    )
    return csv_response(rows, filename=f"survey-run-{run.pk}-results.csv")


def _respond(request: HttpRequest, invitation: Invitation, action_url: str) -> HttpResponse:
    run = invitation.run
    if invitation.responded_on is not None:
        # Only the invitee holds the link, so saying so reveals nothing to anyone else.
        message = "You have already answered this survey. Thank you for taking part."
        return render(request, "surveys/respond_closed.html", {"message": message}, status=409)
    try:
        services.check_run_accepts(run, services.timezone.localdate())
    except DomainError as exc:
        return render(
            request, "surveys/respond_closed.html", {"message": exc.message}, status=exc.status
        )
    questions = selectors.run_questions(run)
    form = ResponseForm(request.POST or None, questions=questions)
    if request.method == "POST" and form.is_valid():
        try:
            services.response_submit(
                invitation_id=invitation.pk,
                answers=form.answers(),
                comment=form.cleaned_data["comment"],
            )
        except DomainError as exc:
            if exc.status in (409, 410):
                return render(
                    request,
                    "surveys/respond_closed.html",
                    {"message": exc.message},
                    status=exc.status,
                )
            form.add_error(None, exc.message)
        else:
            return redirect("surveys:thanks")
    context = {"form": form, "program": run.program, "run": run, "action_url": action_url}
    return render(request, "surveys/respond.html", context)


@never_cache
def respond(request: HttpRequest, token: str) -> HttpResponse:
    """The page behind the emailed link: no sign-in needed, nothing shown but the questions."""
    try:
        invitation = services.invitation_from_token(token)
    except DomainError as exc:
        return render(request, "surveys/respond_closed.html", {"message": exc.message}, status=404)
    return _respond(request, invitation, request.path)


@login_required
@never_cache
def respond_signed_in(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(SurveyRun.objects.select_related("program"), pk=pk)
    invitation = selectors.invitation_for(viewer_for(request.user), run)
    if invitation is None:
        raise Http404("You were not invited to this survey.")
    invitation.run = run
    return _respond(request, invitation, request.path)


def thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "surveys/thanks.html")


@login_required
def run_import(request: HttpRequest) -> HttpResponse:
    """HR imports a past period's results from a CSV: a closed run, marked imported."""
    _require_hr(request)
    errors: list[Any] = []
    form = RunImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.survey_run_import_check_size(data["file"].size)
            run = services.survey_run_import(
                program=data["program"],
                opens_on=data["opens_on"],
                closes_on=data["closes_on"],
                content=data["file"].read(),
            )
        except services.SurveyImportRejected as exc:
            form.add_error(None, exc.message)
            errors = exc.errors
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Imported {run}.")
            return redirect("surveys:run-results", pk=run.pk)
    return render(
        request,
        "surveys/run_import.html",
        {"form": form, "row_errors": errors, "questions": selectors.import_question_codes()},
    )
