"""HTML pages for customer outcomes (HR admins): imports with live progress, metrics, sources."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from cxculture.lib.errors import DomainError
from cxculture.people.permissions import viewer_for

from . import selectors, services
from .api import rejected_rows_response
from .forms import MetricForm, OutcomeImportForm, OutcomeMappingForm, OutcomeSourceForm
from .ingest import jobs, mapping_step, validation
from .models import Metric
from .presets import PRESETS
from .uploads import UploadLimitHandler, limit_upload

ERRORS_SHOWN = 100
# Uploads waiting for their mapping step, in the uploader's session: key -> what the step needs.
HELD_UPLOADS = "outcome_held_uploads"
HELD_UPLOADS_KEPT = 5


def _require_hr(request: HttpRequest) -> None:
    if not viewer_for(request.user).is_hr_admin:
        raise PermissionDenied


# csrf_exempt outside, csrf_protect inside: the upload limit must be installed before the CSRF
# check reads the body (Django's documented pattern for custom upload handlers).
@csrf_exempt
@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    _require_hr(request)
    limit = None
    if request.method == "POST":
        limit = limit_upload(request, settings.CXC_OUTCOME_IMPORT_MAX_BYTES)
    return _import_list(request, limit)


@csrf_protect
def _import_list(request: HttpRequest, limit: UploadLimitHandler | None) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = OutcomeImportForm(request.POST, request.FILES)
        if limit is not None and limit.exceeded:
            status = 413
            form.is_valid()
            form.errors.pop("file", None)
            form.add_error(
                "file",
                f"The file is over the limit of {settings.CXC_OUTCOME_IMPORT_MAX_BYTES:,} bytes.",
            )
        elif form.is_valid() and _needs_mapping(form):
            try:
                return _hold_for_mapping(request, form)
            except DomainError as exc:
                status = exc.status
                form.add_error("file", exc.message)
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                preset = form.cleaned_data["preset"]
                source = form.cleaned_data["source"]
                job, _ = jobs.outcome_import_create(
                    file=upload,
                    file_name=upload.name or "",
                    size=upload.size,
                    source="" if preset and source == "csv" else source,
                    requested_by=request.user,  # type: ignore[arg-type]
                    preset=preset,
                )
            except DomainError as exc:
                status = exc.status
                field = "preset" if exc.field in ("mapping", "metric") else exc.field
                form.add_error(field if field in form.fields else "file", exc.message)
            else:
                return redirect("outcomes:import-detail", pk=job.pk)
    else:
        form = OutcomeImportForm()
    imports = selectors.outcome_imports_for_viewer(viewer_for(request.user))[:20]
    context = {
        "form": form,
        "imports": imports,
        "required_columns": validation.REQUIRED_COLUMNS,
        "optional_columns": validation.OPTIONAL_COLUMNS,
        "max_bytes": settings.CXC_OUTCOME_IMPORT_MAX_BYTES,
    }
    return render(request, "outcomes/import_list.html", context, status=status)


def _needs_mapping(form: OutcomeImportForm) -> bool:
    """A helpdesk export, a file HR wants to map, or one not in our column names."""
    return (
        bool(form.cleaned_data["preset"])
        or form.cleaned_data["map_columns"]
        or mapping_step.outcome_header_is_foreign(file=form.cleaned_data["file"])
    )


def _hold_for_mapping(request: HttpRequest, form: OutcomeImportForm) -> HttpResponse:
    upload = form.cleaned_data["file"]
    preset = form.cleaned_data["preset"]
    # Stored lower-cased, as the import stores it, so this source's saved mapping is found.
    source = form.cleaned_data["source"].lower()
    if preset and source == "csv":  # the helpdesk's name, as a direct import with it does
        source = PRESETS[preset].source
    path, _ = mapping_step.outcome_upload_hold(file=upload, size=upload.size)
    held = dict(request.session.get(HELD_UPLOADS, {}))
    while len(held) >= HELD_UPLOADS_KEPT:  # an abandoned step's file does not stay forever
        oldest = next(iter(held))
        mapping_step.outcome_upload_discard(path=held.pop(oldest)["path"])
    key = uuid.uuid4().hex
    held[key] = {
        "path": path,
        "file_name": (upload.name or "")[:255],
        "source": source,
        "preset": preset,
    }
    request.session[HELD_UPLOADS] = held
    return redirect("outcomes:import-map", key=key)


def _held_upload(request: HttpRequest, key: str) -> dict | None:
    return request.session.get(HELD_UPLOADS, {}).get(key)


def _forget_held_upload(request: HttpRequest, key: str) -> None:
    held = dict(request.session.get(HELD_UPLOADS, {}))
    held.pop(key, None)
    request.session[HELD_UPLOADS] = held


@login_required
def import_map(request: HttpRequest, key: str) -> HttpResponse:
    """The mapping step: the file's columns with a sample row, and a select per field,
    pre-filled from this source's last mapping, the helpdesk preset, or common names."""
    _require_hr(request)
    held = _held_upload(request, key)
    try:
        if held is None:
            raise FileNotFoundError(key)
        headers, sample = mapping_step.outcome_upload_preview(path=held["path"])
    except FileNotFoundError:  # never held in this session, or dropped after a day
        _forget_held_upload(request, key)
        messages.error(
            request, "That upload is no longer waiting for its mapping: upload it again."
        )
        return redirect("outcomes:import-list")
    viewer = viewer_for(request.user)
    saved = selectors.outcome_import_last_mapped(held["source"])
    initial, metric = mapping_step.outcome_mapping_initial(
        header=headers, saved=saved, preset=held["preset"]
    )
    metrics = [
        (m.code, f"{m.name} ({m.code})")
        for m in selectors.metrics_for_viewer(viewer).filter(is_active=True)
    ]
    form = OutcomeMappingForm(
        request.POST or None,
        headers=[name for name in headers if name],
        targets=validation.MAPPING_TARGETS,
        metrics=metrics,
        initial={**initial, "fixed_metric": metric},
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                job = mapping_step.outcome_import_from_held(
                    path=held["path"],
                    file_name=held["file_name"],
                    source=held["source"],
                    preset=held["preset"],
                    metric=form.cleaned_data["fixed_metric"],
                    mapping=form.cleaned_data["mapping"],
                    requested_by=request.user,  # type: ignore[arg-type]
                )
            except DomainError as exc:
                status = exc.status
                field = "fixed_metric" if exc.field == "metric" else None
                form.add_error(field, exc.message)
            else:
                _forget_held_upload(request, key)
                return redirect("outcomes:import-detail", pk=job.pk)
    context = {
        "form": form,
        "held": held,
        "key": key,
        "columns": [(name, value) for name, value in zip(headers, sample, strict=True) if name],
        "preset": PRESETS.get(held["preset"]),
        "saved": saved,
    }
    return render(request, "outcomes/import_map.html", context, status=status)


@login_required
@require_POST
def import_map_cancel(request: HttpRequest, key: str) -> HttpResponse:
    _require_hr(request)
    held = _held_upload(request, key)
    if held is not None:
        mapping_step.outcome_upload_discard(path=held["path"])
        _forget_held_upload(request, key)
        messages.success(request, f"{held['file_name'] or 'The file'} was not imported.")
    return redirect("outcomes:import-list")


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_hr(request)
    job = get_object_or_404(selectors.outcome_imports_for_viewer(viewer_for(request.user)), pk=pk)
    errors = list(selectors.outcome_import_errors(job)[:ERRORS_SHOWN])
    template = "outcomes/import_detail.html"
    if request.headers.get("HX-Request"):
        template = "outcomes/_import_status.html"
    return render(request, template, {"job": job, "errors": errors, "errors_shown": ERRORS_SHOWN})


@login_required
def import_errors_download(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    _require_hr(request)
    job = get_object_or_404(selectors.outcome_imports_for_viewer(viewer_for(request.user)), pk=pk)
    return rejected_rows_response(job)


@login_required
def metric_list(request: HttpRequest) -> HttpResponse:
    _require_hr(request)
    status = 200
    if request.method == "POST":
        form = MetricForm(request.POST)
        if form.is_valid():
            try:
                metric = services.metric_create(**form.cleaned_data)
            except DomainError as exc:
                status = exc.status
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, f"Added the metric {metric.code}.")
                return redirect("outcomes:metric-list")
        else:
            status = 400
    else:
        form = MetricForm()
    metrics = selectors.metrics_for_viewer(viewer_for(request.user))
    return render(
        request,
        "outcomes/metric_list.html",
        {"form": form, "metrics": metrics, "Kind": Metric.Kind},
        status=status,
    )


@login_required
def source_list(request: HttpRequest) -> HttpResponse:
    _require_hr(request)
    status = 200
    new_token = None
    new_source = None
    if request.method == "POST":
        form = OutcomeSourceForm(request.POST)
        if form.is_valid():
            try:
                new_source, new_token = services.outcome_source_create(
                    **form.cleaned_data,
                    created_by=request.user,  # type: ignore[arg-type]
                )
            except DomainError as exc:
                status = exc.status
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                # Shown in this answer only (not a redirect, not a message in the session).
                form = OutcomeSourceForm()
        else:
            status = 400
    else:
        form = OutcomeSourceForm()
    return _source_page(request, form, new_source, new_token, status)


def _source_page(request, form, new_source, new_token, status=200) -> HttpResponse:
    sources = selectors.outcome_sources_for_viewer(viewer_for(request.user))
    response = render(
        request,
        "outcomes/source_list.html",
        {"form": form, "sources": sources, "new_source": new_source, "new_token": new_token},
        status=status,
    )
    if new_token:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def source_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    _require_hr(request)
    source = get_object_or_404(
        selectors.outcome_sources_for_viewer(viewer_for(request.user)), pk=pk
    )
    source, token = services.outcome_source_rotate_token(source=source)
    return _source_page(request, OutcomeSourceForm(), source, token)


@login_required
@require_POST
def source_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    _require_hr(request)
    source = get_object_or_404(
        selectors.outcome_sources_for_viewer(viewer_for(request.user)), pk=pk
    )
    services.outcome_source_update(source=source, is_active=not source.is_active)
    state = "switched on" if source.is_active else "switched off"
    messages.success(request, f"{source.name} is {state}.")
    return redirect("outcomes:source-list")
