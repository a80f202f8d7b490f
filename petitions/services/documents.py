"""Notices and opinions (告知书 / 意见书): editable templates rendered to HTML, stored with their
event; PDFs with CJK fonts are rendered from the same HTML by WeasyPrint."""

from __future__ import annotations

from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import timezone

from petitions.models import Document, DocumentTemplate, Petition, PetitionEvent


def document_render_html(*, petition: Petition, kind: str, event: PetitionEvent | None) -> str:
    """Render a notice: the admin-edited template if there is one, else the built-in one."""
    context = {
        "petition": petition,
        "event": event,
        "petitioners": list(petition.petitioners.all()),
        "today": timezone.localdate(),
        "kind_label": Document.Kind(kind).label,
    }
    custom = DocumentTemplate.objects.filter(kind=kind).first()
    body = (
        Template(custom.body).render(Context(context))
        if custom
        else render_to_string(f"petitions/documents/{kind}.html", context)
    )
    return render_to_string("petitions/documents/base.html", {**context, "body": body})


def document_create(*, petition: Petition, event: PetitionEvent | None, kind: str) -> Document:
    """Render and store a notice with the event that produced it (PDF made on demand)."""
    html = document_render_html(petition=petition, kind=kind, event=event)
    return Document.objects.create(petition=petition, event=event, kind=kind, html=html)
