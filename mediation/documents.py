"""Printable mediation documents: 调解协议书 (人民调解法 第二十八、二十九条) and 终止调解告知书
(第二十六条), rendered from templates to HTML and, from the same HTML, to PDF by WeasyPrint with
the Noto CJK fonts installed on the system (found through fontconfig, nothing fetched)."""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from mediation.models import Agreement, MediationCase

AGREEMENT = "agreement"
TERMINATION = "termination"
KINDS = (AGREEMENT, TERMINATION)


class DocumentUnavailable(Exception):
    """The case has no such document (no agreement yet, or not terminated)."""


def _title(case: MediationCase, kind: str) -> str:
    if kind == AGREEMENT:
        if case.type == MediationCase.Type.PEOPLE:
            return _("人民调解协议书")
        return _("调解协议书")
    return _("终止调解告知书")


def document_title(case: MediationCase, kind: str) -> str:
    """The document's title (人民调解协议书 / 调解协议书 / 终止调解告知书)."""
    return _title(case, kind)


def _route_labels(case: MediationCase) -> list[str]:
    from mediation.forms import OTHER_ROUTE_CHOICES

    labels = dict(OTHER_ROUTE_CHOICES)
    return [str(labels.get(route, route)) for route in case.other_routes]


def document_context(case: MediationCase, kind: str) -> dict:
    parties = list(case.parties.all())
    context = {
        "case": case,
        "kind": kind,
        "title": _title(case, kind),
        "applicants": [p for p in parties if p.role == "applicant"],
        "respondents": [p for p in parties if p.role == "respondent"],
        "parties": parties,
        # 第二十八条: one copy for each party and one kept by the committee.
        "copies": len(parties) + 1,
        "people": case.type == MediationCase.Type.PEOPLE,
        "mediators": list(case.mediators.all()),
        "today": timezone.localdate(),
    }
    if kind == AGREEMENT:
        try:
            agreement = case.agreement
        except Agreement.DoesNotExist as error:
            raise DocumentUnavailable(_("本案尚未达成调解协议。")) from error
        context["agreement"] = agreement
        context["oral"] = agreement.form == Agreement.Form.ORAL
    elif kind == TERMINATION:
        if case.status != MediationCase.Status.TERMINATED:
            raise DocumentUnavailable(_("本案未终止调解。"))
        context["routes"] = _route_labels(case)
        context["terminated_on"] = timezone.localdate(case.concluded_at or timezone.now())
    else:
        raise DocumentUnavailable(kind)
    return context


STYLESHEET = "mediation/document.css"


def document_css() -> str:
    path = finders.find(STYLESHEET)
    return Path(path).read_text(encoding="utf-8")


def document_html(case: MediationCase, kind: str, *, pdf: bool = False) -> str:
    """The document as a standalone HTML page. The browser's page links the stylesheet (no inline
    style under a strict CSP); the PDF's source carries it inline, so WeasyPrint fetches nothing."""
    context = document_context(case, kind)
    if pdf:
        context.update(pdf=True, css=document_css())
    return render_to_string(f"mediation/documents/{kind}.html", context)


def html_to_pdf(html: str) -> bytes:
    """PDF from self-contained HTML; fonts come from fontconfig (Noto CJK), nothing is fetched."""
    # Imported here: WeasyPrint loads Pango/fontconfig, which only the PDF views need.
    from weasyprint import HTML

    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def _no_fetch(url: str, *args, **kwargs):
    raise ValueError(f"documents fetch no resources: {url}")


def document_pdf(case: MediationCase, kind: str) -> bytes:
    return html_to_pdf(document_html(case, kind, pdf=True))


def document_filename(case: MediationCase, kind: str) -> str:
    # ASCII only: the Content-Disposition header is latin-1.
    return f"{case.case_no}-{kind}.pdf"
