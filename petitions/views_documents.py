"""The PDF of a notice (告知书/意见书), for staff who can see its petition."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from accounts.scoping import sees_personal_data
from accounts.services import access_log_record
from petitions.selectors import petition_get
from petitions.services.documents import document_pdf as document_pdf_bytes


@login_required
@require_GET
def document_pdf(request: HttpRequest, pk: int, doc_id: int) -> HttpResponse:
    """Out-of-scope petitions and documents of other petitions are 404 (existence not disclosed)."""
    petition = petition_get(request.user, pk)
    if not sees_personal_data(request.user):  # notices name the petitioner
        raise PermissionDenied
    document = get_object_or_404(petition.documents.all(), pk=doc_id)
    content = document_pdf_bytes(document)
    # Notices name the petitioner: every download is in the access log (SPEC §7).
    access_log_record(
        user=request.user,
        action="document_download",
        obj=document,
        label=f"{petition.receipt_no} {document.get_kind_display()}",
        request=request,
    )
    response = HttpResponse(content, content_type="application/pdf")
    filename = f"{petition.receipt_no}-{document.kind}.pdf"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    # Notices carry personal data: no shared caches, and the browser must not sniff the type.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
