"""Ledger import pages: list and upload, column mapping, the import page (dry run, commit, progress
bar, error report), the progress JSON the page polls, and the error report as CSV.

Views parse with ledger.forms, read through ledger.selectors (other offices' imports are 404) and
write only through ledger.services. No inline script: ledger/static/ledger/ledger.js polls.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import scoping
from ledger import services
from ledger.forms import MappingForm, UploadForm
from ledger.models import LedgerImport
from ledger.rows import FIELD_BY_KEY, FIELDS
from ledger.selectors import (
    ledger_error_list,
    ledger_import_get,
    ledger_import_list,
    ledger_organization_list,
)
from petitions.masking import mask_id_number, mask_phone

REPORT_ROWS = 200  # errors shown on the page; the CSV has them all
MASKS = {"id_number": mask_id_number, "phone": mask_phone}
Status = LedgerImport.Status


def _require(user) -> None:
    """Importing registers petitions: the registering roles may do it."""
    if not scoping.can(user, "register"):
        raise PermissionDenied(_("您没有导入信访台账的权限。"))


def _messages(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@login_required
def ledger_index(request):
    _require(request.user)
    organizations = ledger_organization_list(request.user)
    form = UploadForm(organizations=organizations, initial={"organization": organizations.first()})
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, organizations=organizations)
        if form.is_valid():
            try:
                imp = services.ledger_upload(
                    organization=form.cleaned_data["organization"],
                    upload=form.cleaned_data["file"],
                    actor=request.user,
                    crs=form.cleaned_data["crs"],
                )
            except ValidationError as e:
                for message in e.message_dict.get("file", e.messages):
                    form.add_error("file", message)
            else:
                return redirect("ledger:mapping", pk=imp.pk)
    imports = ledger_import_list(request.user)[:50]
    return render(
        request,
        "ledger/index.html",
        {"form": form, "imports": imports, "has_organization": organizations.exists()},
    )


@login_required
def ledger_mapping(request, pk: int):
    # Out of scope is 404 whatever the role (existence is not disclosed), then the right.
    imp = ledger_import_get(request.user, pk)
    _require(request.user)
    initial = {**imp.mapping, "crs": imp.crs}
    form = MappingForm(initial=initial, headers=imp.headers)
    if request.method == "POST":
        form = MappingForm(request.POST, headers=imp.headers)
        if form.is_valid():
            try:
                services.ledger_map(
                    ledger_import=imp,
                    mapping=form.mapping(),
                    crs=form.cleaned_data["crs"],
                    actor=request.user,
                )
            except ValidationError as e:
                if hasattr(e, "error_dict"):
                    for key, errors in e.message_dict.items():
                        form.add_error(key if key in form.fields else None, errors)
                else:
                    form.add_error(None, e.messages)
            else:
                messages.success(request, _("列对应已保存，请先试导入检查数据。"))
                return redirect("ledger:detail", pk=imp.pk)
    return render(request, "ledger/mapping.html", {"imp": imp, "form": form})


@login_required
def ledger_detail(request, pk: int):
    # Out of scope is 404 whatever the role (existence is not disclosed), then the right.
    imp = ledger_import_get(request.user, pk)
    _require(request.user)
    errors = list(ledger_error_list(imp)[:REPORT_ROWS])
    for e in errors:
        e.field_label = FIELD_BY_KEY[e.field].label if e.field in FIELD_BY_KEY else e.field
        e.shown_value = MASKS.get(e.field, str)(e.raw_value)
    return render(
        request,
        "ledger/detail.html",
        {
            "imp": imp,
            "errors": errors,
            "more_errors": imp.error_count > 0 and len(errors) >= REPORT_ROWS,
            "mapping": [(f.label, imp.mapping.get(f.key, "")) for f in FIELDS],
            "can_dry_run": imp.status in (Status.MAPPED, Status.DRY_RUN_DONE, Status.FAILED)
            and imp.phase != LedgerImport.Phase.COMMIT,
            "can_commit": imp.status == Status.DRY_RUN_DONE
            or (imp.status == Status.FAILED and imp.phase == LedgerImport.Phase.COMMIT),
        },
    )


@login_required
@require_POST
def ledger_dry_run(request, pk: int):
    # Out of scope is 404 whatever the role (existence is not disclosed), then the right.
    imp = ledger_import_get(request.user, pk)
    _require(request.user)
    try:
        services.ledger_dry_run_start(ledger_import=imp, actor=request.user)
    except ValidationError as e:
        _messages(request, e)
    return redirect("ledger:detail", pk=imp.pk)


@login_required
@require_POST
def ledger_commit(request, pk: int):
    # Out of scope is 404 whatever the role (existence is not disclosed), then the right.
    imp = ledger_import_get(request.user, pk)
    _require(request.user)
    try:
        services.ledger_commit_start(ledger_import=imp, actor=request.user)
    except ValidationError as e:
        _messages(request, e)
    return redirect("ledger:detail", pk=imp.pk)


def progress_data(imp: LedgerImport) -> dict:
    return {
        "id": imp.pk,
        "status": imp.status,
        "status_display": imp.get_status_display(),
        "phase": imp.phase,
        "phase_display": imp.get_phase_display() if imp.phase else "",
        "total_rows": imp.total_rows,
        "processed_rows": imp.processed_rows,
        "percent": imp.percent,
        "created": imp.created_count,
        "skipped": imp.skipped_count,
        "errors": imp.error_count,
        "running": imp.status == Status.RUNNING,
        "failure": imp.failure,
        "heartbeat_at": imp.heartbeat_at.isoformat() if imp.heartbeat_at else None,
        "finished_at": imp.finished_at.isoformat() if imp.finished_at else None,
    }


@login_required
@require_GET
def ledger_progress(request, pk: int):
    # Out of scope is 404 whatever the role (existence is not disclosed), then the right.
    imp = ledger_import_get(request.user, pk)
    _require(request.user)
    return JsonResponse(progress_data(imp), headers={"Cache-Control": "no-store"})


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def ledger_errors_csv(request, pk: int):
    """The whole error report (row, field, reason) as CSV for Excel; raw values are left out
    (they may be identity numbers)."""
    # Out of scope is 404 whatever the role (existence is not disclosed), then the right.
    imp = ledger_import_get(request.user, pk)
    _require(request.user)
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow([_("行号"), _("字段"), _("原因")])
        for row, field, reason in (
            ledger_error_list(imp)
            .values_list("row_number", "field", "reason")
            .iterator(chunk_size=2000)
        ):
            label = FIELD_BY_KEY[field].label if field in FIELD_BY_KEY else field
            yield writer.writerow([row, label, reason])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ledger-{imp.pk}-errors.csv"'
    return response
