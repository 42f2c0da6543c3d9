"""HTML pages for people: the directory and directory sync (HR). The home page reads every
app, so it lives at the top of the import graph (`cxculture/insights/home.py`)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cxculture.lib.errors import DomainError

from . import selectors, services
from .forms import DirectoryMappingForm, DirectorySyncForm
from .models import DirectorySync
from .permissions import viewer_for


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request.user)
    query = request.GET.get("q", "").strip()
    people = selectors.employees_search(
        selectors.employees_for_viewer(viewer).filter(is_active=True), query, viewer=viewer
    )
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    context = {"page": page, "query": query, "is_hr": viewer.is_hr_admin}
    if viewer.is_hr_admin:
        context["without_password"] = selectors.employees_without_password().count()
    return render(request, "people/directory.html", context)


def _require_hr(request: HttpRequest) -> None:
    if not viewer_for(request.user).is_hr_admin:
        raise PermissionDenied


@login_required
def sync_list(request: HttpRequest) -> HttpResponse:
    _require_hr(request)
    viewer = viewer_for(request.user)
    if request.method == "POST":
        form = DirectorySyncForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            kind, source = form.cleaned_data["kind"], form.cleaned_data["source"]
            try:
                services.directory_upload_check_size(upload.size)
                content = upload.read()
                # A file in our own column names is applied at once; an export from another
                # system (or a chosen saved mapping) goes through the mapping step first.
                needs_mapping = (
                    source is not None
                    or form.cleaned_data["map_columns"]
                    or services.directory_header_is_foreign(content=content)
                )
                sync = services.directory_sync_start(
                    kind=kind,
                    content=content,
                    file_name=upload.name,
                    requested_by=request.user,  # type: ignore[arg-type]
                    source=source,
                    wait_for_mapping=needs_mapping,
                )
            except DomainError as exc:
                form.add_error("source" if exc.field == "source" else "file", exc.message)
            else:
                if sync.status == DirectorySync.Status.NEEDS_MAPPING:
                    return redirect("people:sync-map", pk=sync.pk)
                return redirect("people:sync-detail", pk=sync.pk)
    else:
        form = DirectorySyncForm()
    syncs = selectors.directory_syncs_for_viewer(viewer)[:20]
    return render(
        request,
        "people/sync_list.html",
        {
            "form": form,
            "syncs": syncs,
            "team_columns": services.TEAM_COLUMNS + services.TEAM_OPTIONAL_COLUMNS,
            "employee_columns": services.EMPLOYEE_COLUMNS + services.EMPLOYEE_OPTIONAL_COLUMNS,
        },
    )


@login_required
def sync_map(request: HttpRequest, pk: int) -> HttpResponse:
    """The mapping step: each header of the file with the field it fills, pre-filled from the
    saved mapping and by guessing common names."""
    _require_hr(request)
    syncs = selectors.directory_syncs_for_viewer(viewer_for(request.user)).select_related("source")
    sync = get_object_or_404(syncs, pk=pk)
    if sync.status != DirectorySync.Status.NEEDS_MAPPING:
        return redirect("people:sync-detail", pk=sync.pk)
    headers = [name for name in services.directory_sync_header(sync=sync) if name]
    required, optional = services.directory_mapping_targets(sync.kind)
    saved = sync.source.mapping if sync.source else None
    form = DirectoryMappingForm(
        request.POST or None,
        headers=headers,
        required=required,
        optional=optional,
        guess=services.directory_mapping_guess(sync.kind, headers, saved=saved),
        initial={"save_mapping_as": sync.source.name if sync.source else ""},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.directory_sync_map(
                sync=sync,
                mapping=form.cleaned_data["mapping"],
                save_mapping_as=form.cleaned_data["save_mapping_as"],
                saved_by=request.user,  # type: ignore[arg-type]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("people:sync-detail", pk=sync.pk)
    first_row = services.directory_sync_first_row(sync=sync)
    rows = [
        (field, first_row.get(header, ""))
        for field, header in zip(form.header_fields(), headers, strict=True)
    ]
    return render(request, "people/sync_map.html", {"sync": sync, "form": form, "rows": rows})


@login_required
def sync_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_hr(request)
    sync = get_object_or_404(selectors.directory_syncs_for_viewer(viewer_for(request.user)), pk=pk)
    template = "people/sync_detail.html"
    if request.headers.get("HX-Request"):
        template = "people/_sync_status.html"
    superseded = None
    if sync.status == DirectorySync.Status.NEEDS_CONFIRMATION:
        newer = selectors.directory_sync_superseded_by(sync)
        if newer is not None:
            superseded = services.superseded_message(sync, newer, "confirming")
    return render(
        request,
        template,
        {"sync": sync, "Status": DirectorySync.Status, "superseded": superseded},
    )


@login_required
@require_POST
def sync_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    _require_hr(request)
    sync = get_object_or_404(selectors.directory_syncs_for_viewer(viewer_for(request.user)), pk=pk)
    try:
        services.directory_sync_confirm(sync=sync)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("people:sync-detail", pk=sync.pk)


@login_required
@require_POST
def sync_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    _require_hr(request)
    sync = get_object_or_404(selectors.directory_syncs_for_viewer(viewer_for(request.user)), pk=pk)
    try:
        services.directory_sync_cancel(sync=sync)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("people:sync-detail", pk=sync.pk)


@login_required
def person(request: HttpRequest, pk: int) -> HttpResponse:
    """HR's page of one person: their directory record and how they sign in."""
    _require_hr(request)
    employee = get_object_or_404(selectors.employees_for_viewer(viewer_for(request.user)), pk=pk)
    return render(
        request,
        "people/person.html",
        {"person": employee, "has_password": employee.user.has_usable_password()},
    )


@login_required
@require_POST
def person_invite(request: HttpRequest, pk: int) -> HttpResponse:
    _require_hr(request)
    employee = get_object_or_404(selectors.employees_for_viewer(viewer_for(request.user)), pk=pk)
    try:
        services.employee_invite(employee=employee)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"An invitation to choose a password went to {employee.email}.")
    return redirect("people:person", pk=employee.pk)


@login_required
@require_POST
def invite_without_password(request: HttpRequest) -> HttpResponse:
    _require_hr(request)
    count = services.employees_invite_without_password()
    if count:
        messages.success(
            request, f"Invitations to choose a password are on their way to {count} people."
        )
    else:
        messages.success(request, "Everyone active has a password already: nobody was invited.")
    return redirect("people:directory")
