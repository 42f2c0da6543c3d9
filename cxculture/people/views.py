"""HTML pages for people: the directory and directory sync (HR). The home page reads every
app, so it lives at the top of the import graph (`cxculture/insights/home.py`)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cxculture.lib.api import DomainError

from . import selectors, services
from .forms import DirectorySyncForm
from .models import DirectorySync
from .permissions import viewer_for


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request.user)
    query = request.GET.get("q", "").strip()
    people = selectors.employees_search(
        selectors.employees_for_viewer(viewer).filter(is_active=True), query
    )
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    return render(request, "people/directory.html", {"page": page, "query": query})


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
            try:
                services.directory_upload_check_size(upload.size)
                sync = services.directory_sync_start(
                    kind=form.cleaned_data["kind"],
                    content=upload.read(),
                    file_name=upload.name,
                    requested_by=request.user,  # type: ignore[arg-type]
                )
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
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
