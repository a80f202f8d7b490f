"""Notices and opinions: each of the 7 documents made by the real workflow, rendered as PDF with
CJK fonts and read back with poppler's pdftotext; admin-edited templates; the PDF view's scope."""

import base64
import subprocess

import pytest
from django.urls import reverse

from accounts.models import Grant, Role
from petitions.models import Document, DocumentTemplate
from petitions.services import workflow as wf
from petitions.services.documents import document_pdf
from tests.petitions.conftest import bj

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def pdf_text(data: bytes) -> str:
    """The PDF's text (poppler-utils' pdftotext), with all white space removed: line breaks fall
    anywhere in CJK text, and the title is letter-spaced."""
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    )
    return "".join(out.stdout.decode("utf-8").split())


def _route(p, actor, decision, unit=None, reason=""):
    return wf.petition_route(
        petition=p, actor=actor, decision=decision, unit=unit, reason=reason, now=bj(2026, 3, 3, 9)
    )


def _notify(p, actor):
    return wf.petition_notify(petition=p, actor=actor, now=bj(2026, 3, 4, 9))


def _reply(p, actor):
    p = _route(p, actor, "accept")
    return wf.petition_reply(
        petition=p,
        actor=actor,
        outcome="support",
        text="经调查，物业公司已承诺于4月底前完成维修。",
        now=bj(2026, 3, 20, 10),
    )


def _review(p, actor, reviewer):
    p = _reply(p, actor)
    p = wf.petition_review_request(petition=p, actor=actor, now=bj(2026, 3, 25, 10))
    return wf.petition_review_answer(
        petition=p, actor=reviewer, outcome="explain", text="维持原处理意见。", now=bj(2026, 4, 10)
    )


def _rereview(p, actor, reviewer):
    p = _review(p, actor, reviewer)
    p = wf.petition_rereview_request(petition=p, actor=actor, now=bj(2026, 4, 15, 10))
    return wf.petition_rereview_answer(
        petition=p,
        actor=reviewer,
        outcome="reject",
        text="复核认为原处理意见事实清楚、依据充分。",
        now=bj(2026, 5, 5, 10),
    )


# kind → (title, the event that makes it, how to get there, phrases of its body)
CASES = {
    "accept_notice": (
        "受理告知书",
        "notify",
        lambda p, c, b, u: _notify(_route(p, c, "accept"), c),
        [
            "张三：",
            "小区物业不履行维修义务",
            "符合受理条件，本机关依法予以受理",
            "2026年5月2日前办结",
        ],
    ),
    "reject_notice": (
        "不予受理告知书",
        "notify",
        lambda p, c, b, u: _notify(_route(p, c, "reject", reason="该事项已进入诉讼程序"), c),
        ["经审查，不予受理", "理由：该事项已进入诉讼程序"],
    ),
    "forward_notice": (
        "转送告知书",
        "notify",
        lambda p, c, b, u: _notify(_route(p, c, "forward", unit=u), c),
        ["已转送区城建局依法处理，请与该单位联系"],
    ),
    "extension_notice": (
        "延期告知书",
        "extend",
        lambda p, c, b, u: wf.petition_extend(
            petition=_route(p, c, "accept"),
            actor=c,
            days=20,
            reason="需要现场勘验",
            approver=b,
            now=bj(2026, 4, 20, 10),
        ),
        ["因需要现场勘验，经本机关负责人批准", "办理期限延长20日，至2026年5月22日"],
    ),
    "opinion": (
        "处理意见书",
        "reply",
        lambda p, c, b, u: _reply(p, c),
        ["处理意见：支持", "物业公司已承诺于4月底前完成维修", "30日内向上一级机关请求复查"],
    ),
    "review_opinion": (
        "复查意见书",
        "review_answer",
        lambda p, c, b, u: _review(p, c, b),
        ["于2026年3月25日请求复查", "经复查，复查意见为：解释说明", "维持原处理意见"],
    ),
    "rereview_opinion": (
        "复核意见书",
        "rereview_answer",
        lambda p, c, b, u: _rereview(p, c, b),
        ["复核意见为：不予支持", "事实清楚、依据充分", "复核意见为终结意见"],
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_each_document_made_by_the_workflow_renders_a_cjk_pdf(
    kind, register, clerk, bureau_user, unit
):
    title, action, drive, phrases = CASES[kind]
    petition = register().petition
    drive(petition, clerk, bureau_user, unit)

    doc = petition.documents.get(kind=kind)
    assert doc.event.action == action
    assert doc.event.petition_id == petition.pk
    assert doc.get_kind_display() == title
    data = document_pdf(doc)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert petition.receipt_no == "XF-210204-2026-000001"
    assert f"信访编号：{petition.receipt_no}" in text
    assert text.startswith(title)
    for phrase in phrases:
        assert phrase in text


def test_pdf_embeds_the_noto_cjk_fonts(register, clerk):
    p = _notify(_route(register().petition, clerk, "accept"), clerk)
    data = document_pdf(p.documents.get())
    fonts = subprocess.run(
        ["pdffonts", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    assert "Noto-Serif-CJK-SC" in fonts  # the body
    assert "Noto-Sans-CJK-SC" in fonts  # the title and the receipt number
    assert "Identity-H" in fonts and " yes yes yes " in fonts  # embedded, subset, with ToUnicode


def test_the_notice_is_dated_by_its_event_and_signed_by_the_unit(register, clerk):
    p = _notify(_route(register().petition, clerk, "accept"), clerk)
    text = pdf_text(document_pdf(p.documents.get()))
    assert text.endswith("特此告知。测试1街道办事处2026年3月4日1/1")  # … and the page number


def test_pdf_is_stored_once_and_served_from_storage(register, clerk, settings, monkeypatch):
    p = _notify(_route(register().petition, clerk, "accept"), clerk)
    doc = p.documents.get()
    assert not doc.pdf
    first = document_pdf(doc)

    doc.refresh_from_db()
    assert doc.pdf.name.startswith("documents/")
    assert doc.pdf.name.endswith(".pdf")
    assert "XF-210204-2026-000001-accept_notice" in doc.pdf.name
    assert (settings.MEDIA_ROOT / doc.pdf.name).read_bytes() == first

    # Later calls read the stored file: no rendering, and a template edited after the notice
    # was issued does not change it.
    import weasyprint

    def _no_render(*a, **k):
        raise AssertionError("rendered again")

    monkeypatch.setattr(weasyprint, "HTML", _no_render)
    DocumentTemplate.objects.create(kind="accept_notice", title="改过的标题", body="<p>改过</p>")
    assert document_pdf(doc) == first
    assert document_pdf(Document.objects.get(pk=doc.pk)) == first
    assert Document.objects.filter(pdf="").count() == 0


def test_admin_edited_template_changes_the_output(admin_client, register, clerk):
    response = admin_client.post(
        reverse("admin:petitions_documenttemplate_add"),
        {
            "kind": "accept_notice",
            "title": "受理通知书（试行）",
            "body": "<p>{{ petitioners.0.name }}：您反映的“{{ petition.summary }}”已依法受理，"
            "承办人将与您联系。</p>",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert DocumentTemplate.objects.get().title == "受理通知书（试行）"

    p = _notify(_route(register().petition, clerk, "accept"), clerk)
    doc = p.documents.get()
    assert "已依法受理，承办人将与您联系" in doc.html
    text = pdf_text(document_pdf(doc))
    assert text.startswith("受理通知书（试行）")
    assert "张三：您反映的“小区物业不履行维修义务”已依法受理，承办人将与您联系。" in text
    assert "XF-210204-2026-000001" in text
    assert "符合受理条件" not in text  # the built-in body is replaced

    # The other kinds keep their built-in templates.
    p2 = _notify(_route(register().petition, clerk, "reject", reason="已进入诉讼程序"), clerk)
    assert "经审查，不予受理" in pdf_text(document_pdf(p2.documents.get()))


def test_pdf_renderer_fetches_no_files_or_urls(register, clerk, tmp_path):
    """Templates are admin-editable: the renderer must not read local files (or the network)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 0, 0)).save(buf, "PNG")
    png = tmp_path / "secret.png"
    png.write_bytes(buf.getvalue())
    inline = base64.b64encode(buf.getvalue()).decode()
    DocumentTemplate.objects.create(
        kind="accept_notice",
        title="受理告知书",
        body=f'<p>本地文件<img src="file://{png}"><img src="http://127.0.0.1:9/x.png"></p>',
    )
    DocumentTemplate.objects.create(
        kind="reject_notice",
        title="不予受理告知书",
        body=f'<p>内嵌印章<img src="data:image/png;base64,{inline}"></p>',
    )
    p = _notify(_route(register().petition, clerk, "accept"), clerk)
    data = document_pdf(p.documents.get())
    assert "本地文件" in pdf_text(data)
    assert b"/Image" not in data  # neither the file nor the URL was loaded

    p2 = _notify(_route(register().petition, clerk, "reject", reason="已进入诉讼程序"), clerk)
    assert b"/Image" in document_pdf(p2.documents.get())  # inline data: images still work


def _doc_url(petition, doc):
    return reverse("petitions:document-pdf", args=[petition.pk, doc.pk])


def test_pdf_view_serves_the_clerk(client, register, clerk):
    p = _notify(_route(register().petition, clerk, "accept"), clerk)
    doc = p.documents.get()
    client.force_login(clerk)
    response = client.get(_doc_url(p, doc))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'inline; filename="XF-210204-2026-000001-accept_notice.pdf"'
    )
    assert response["Cache-Control"] == "private, no-store"
    body = b"".join(response) if response.streaming else response.content
    assert "受理告知书" in pdf_text(body)


def test_pdf_view_is_404_outside_scope_and_needs_login(client, register, clerk, outsider):
    p = _notify(_route(register().petition, clerk, "accept"), clerk)
    doc = p.documents.get()
    Grant.objects.create(user=outsider, role=Role.STREET_CLERK, area_code="210204002")
    client.force_login(outsider)
    assert client.get(_doc_url(p, doc)).status_code == 404
    assert not Document.objects.get(pk=doc.pk).pdf  # nothing rendered for them

    client.logout()
    response = client.get(_doc_url(p, doc))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_pdf_view_is_404_for_a_document_of_another_petition(client, register, clerk):
    p1 = _notify(_route(register().petition, clerk, "accept"), clerk)
    p2 = register(summary="另一件事").petition
    client.force_login(clerk)
    assert client.get(_doc_url(p2, p1.documents.get())).status_code == 404


def test_pdf_download_is_access_logged(client, clerk, register, unit):
    from accounts.models import AccessLog
    from petitions.services import workflow as wf
    from tests.petitions.conftest import bj

    p = register().petition
    p = wf.petition_route(petition=p, actor=clerk, decision="assign", unit=unit, now=bj(2026, 3, 4))
    p = wf.petition_notify(petition=p, actor=clerk, now=bj(2026, 3, 5))
    doc = p.documents.get()
    client.force_login(clerk)
    r = client.get(f"/petitions/{p.pk}/documents/{doc.pk}.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    log = AccessLog.objects.get(action="document_download")
    assert (log.user, log.object_id) == (clerk, str(doc.pk))
    assert p.receipt_no in log.label
