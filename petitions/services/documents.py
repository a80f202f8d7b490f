"""Notices and opinions (告知书 / 意见书): editable templates rendered to HTML, stored with their
event; PDFs with CJK fonts are rendered from the same stored HTML by WeasyPrint."""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from petitions import deadlines
from petitions.models import Document, DocumentTemplate, Petition, PetitionEvent

logger = logging.getLogger(__name__)

# What a template (built-in file or admin-edited DocumentTemplate body) can use; shown in the admin.
TEMPLATE_VARIABLES = {
    "petition": _(
        "信访事项（如 petition.receipt_no、petition.summary、petition.received_at、"
        "petition.handling_unit.name、petition.handle_due、petition.routing_reason、"
        "petition.extension_days、petition.extension_reason、petition.reply_text、"
        "petition.get_outcome_display、petition.get_review_outcome_display、"
        "petition.get_rereview_outcome_display）"
    ),
    "petitioners": _("信访人列表（每人有 name、address）"),
    "event": _("产生文书的办理记录（event.at；复查、复核意见书的正文在 event.payload.text）"),
    "today": _("落款日期（办理记录的日期）"),
    "kind_label": _("文书类型名称"),
}


def document_render_html(*, petition: Petition, kind: str, event: PetitionEvent | None) -> str:
    """Render a notice: the admin-edited template if there is one, else the built-in one."""
    issued_on = deadlines.local_date(event.at) if event is not None else timezone.localdate()
    context = {
        "petition": petition,
        "event": event,
        "petitioners": list(petition.petitioners.all()),
        "today": issued_on,
        "kind_label": Document.Kind(kind).label,
    }
    custom = DocumentTemplate.objects.filter(kind=kind).first()
    if custom:
        body = Template(custom.body).render(Context(context))
        title = custom.title.strip() or context["kind_label"]
    else:
        body = render_to_string(f"petitions/documents/{kind}.html", context)
        title = context["kind_label"]
    return render_to_string(
        "petitions/documents/base.html", {**context, "body": body, "title": title}
    )


def document_create(*, petition: Petition, event: PetitionEvent | None, kind: str) -> Document:
    """Render and store a notice with the event that produced it (PDF made on demand)."""
    html = document_render_html(petition=petition, kind=kind, event=event)
    return Document.objects.create(petition=petition, event=event, kind=kind, html=html)


def document_pdf_render(html: str) -> bytes:
    """HTML → PDF bytes (A4, CJK fonts from the stylesheet in base.html).

    Only inline data: URLs are fetched (e.g. a seal image embedded in a template): templates are
    admin-editable, and a renderer that followed file:// or http:// links would read local files or
    reach into the intranet. Fonts come from fontconfig (Debian's fonts-noto-cjk), not from URLs.
    """
    import weasyprint  # imported lazily: loading pango and the fonts costs time at startup

    fetcher = weasyprint.URLFetcher(allowed_protocols=("data",), timeout=1)
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()


def _read(document: Document) -> bytes:
    with document.pdf.open("rb") as f:
        return f.read()


def document_pdf(document: Document) -> bytes:
    """The document as PDF: rendered from its stored HTML and saved the first time, then the
    stored file is returned (a notice, once issued, does not change when templates do)."""
    if document.pdf:
        return _read(document)
    data = document_pdf_render(document.html)
    stored = None
    try:
        with transaction.atomic():
            locked = Document.objects.select_for_update().get(pk=document.pk)
            if locked.pdf:  # another request stored it first: serve that one
                document.pdf = locked.pdf
                return _read(locked)
            name = f"{document.petition.receipt_no}-{document.kind}.pdf"
            locked.pdf.save(name, ContentFile(data), save=False)
            stored = locked.pdf.name
            locked.save(update_fields=["pdf"])
    except Exception:
        if stored:  # the row was not updated: do not leave an orphan file behind
            locked.pdf.storage.delete(stored)
        raise
    document.pdf = locked.pdf
    logger.info("document %s: PDF stored as %s", document.pk, locked.pdf.name)
    return data
