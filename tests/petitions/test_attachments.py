"""Attachments: the type is read from the content (magic bytes), not the name or the browser's
content type; oversize, empty and disguised files are refused with a field error and leave
nothing behind; an accepted file is stored under attachments/ with an "attach" event."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from petitions.models import Attachment, PetitionEvent
from petitions.services import attachments as svc
from petitions.services.attachments import attachment_add

pytestmark = pytest.mark.django_db

UNKNOWN = (
    "无法识别或不允许的文件类型。仅支持 PDF、JPEG、PNG、GIF 图片、"
    "Word/Excel/PowerPoint（.docx/.xlsx/.pptx）文档和 UTF-8 纯文本。"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def petition(register):
    return register().petition


def _image(fmt: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(buf, fmt)
    return buf.getvalue()


def _ooxml(part: str, *, macro: bool = False, content_types: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        if content_types:
            z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("_rels/.rels", "<Relationships/>")
        z.writestr(part, "<document/>")
        if macro:
            z.writestr("word/vbaProject.bin", b"\x00VBA")
    return buf.getvalue()


PDF_BYTES = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + b"\x3e\x00"
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
HTML_BYTES = "<!DOCTYPE html><html><script>alert('x')</script>信访</html>".encode()


def _upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def _stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()]


ACCEPTED = [
    ("扫描件.pdf", PDF_BYTES, "application/pdf", ".pdf", "evidence"),
    ("现场.JPG", _image("JPEG"), "image/jpeg", ".jpg", "photo"),
    ("现场.png", _image("PNG"), "image/png", ".png", "photo"),
    ("动图.gif", _image("GIF"), "image/gif", ".gif", "photo"),
    (
        "情况说明.docx",
        _ooxml("word/document.xml"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".docx",
        "letter",
    ),
    (
        "欠薪明细.xlsx",
        _ooxml("xl/workbook.xml"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".xlsx",
        "evidence",
    ),
    (
        "汇报.pptx",
        _ooxml("ppt/presentation.xml"),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ".pptx",
        "other",
    ),
    (
        "来信.txt",
        "尊敬的领导：\n\t小区电梯停运三个月。\r\n".encode(),
        "text/plain",
        ".txt",
        "letter",
    ),
    ("无扩展名", "纯文本内容 < 5 人".encode(), "text/plain", ".txt", "other"),
]


@pytest.mark.parametrize(("name", "data", "content_type", "ext", "kind"), ACCEPTED)
def test_accepted_types_are_stored_with_an_event(
    petition, clerk, _media, name, data, content_type, ext, kind
):
    # The browser's claim is ignored: every upload says application/octet-stream.
    a = attachment_add(petition=petition, actor=clerk, upload=_upload(name, data), kind=kind)
    a.refresh_from_db()
    assert (a.petition, a.kind, a.original_name) == (petition, kind, name)
    assert a.content_type == content_type
    assert a.size == len(data)
    assert a.uploaded_by == clerk
    assert a.file.name.startswith("attachments/")
    assert a.file.name.endswith(ext)
    assert name not in a.file.name  # the stored name is ours, not the uploader's
    assert (_media / a.file.name).read_bytes() == data

    event = PetitionEvent.objects.get(petition=petition, action="attach")
    assert (event.actor, event.from_status, event.to_status) == (clerk, "registered", "registered")
    assert event.payload == {
        "attachment": a.pk,
        "kind": kind,
        "name": name,
        "content_type": content_type,
        "size": len(data),
    }
    petition.refresh_from_db()
    assert petition.status == "registered"


def test_browser_content_type_and_path_in_name_are_ignored(petition, clerk):
    a = attachment_add(
        petition=petition,
        actor=clerk,
        upload=_upload("C:\\Users\\张三\\照片.png", _image("PNG"), "application/pdf"),
    )
    assert a.content_type == "image/png"
    assert a.original_name == "照片.png"
    assert a.kind == "other"


DISGUISED = [
    ("program renamed .pdf", "材料.pdf", EXE_BYTES, UNKNOWN),
    ("ELF renamed .pdf", "材料.pdf", ELF_BYTES, UNKNOWN),
    ("HTML renamed .pdf", "材料.pdf", HTML_BYTES, UNKNOWN),
    ("HTML renamed .txt", "说明.txt", b"  <html><body>hi</body></html>", UNKNOWN),
    ("SVG renamed .png", "图.png", b'<svg xmlns="x"><script>alert(1)</script></svg>', UNKNOWN),
    ("XML renamed .txt", "a.txt", b'<?xml version="1.0"?><x/>', UNKNOWN),
    (
        "plain zip renamed .docx",
        "a.docx",
        _ooxml("word/document.xml", content_types=False),
        UNKNOWN,
    ),
    ("macro-enabled document", "a.docx", _ooxml("word/document.xml", macro=True), UNKNOWN),
    ("GBK text", "来信.txt", "尊敬的领导".encode("gbk"), UNKNOWN),
    ("binary junk", "a.bin", bytes(range(256)), UNKNOWN),
    (
        "image renamed .pdf",
        "扫描件.pdf",
        _image("PNG"),
        "文件内容（PNG）与扩展名“.pdf”不符，请检查文件。",
    ),
    (
        "PDF renamed .jpg",
        "照片.jpg",
        PDF_BYTES,
        "文件内容（PDF）与扩展名“.jpg”不符，请检查文件。",
    ),
    (
        "text renamed .exe",
        "setup.exe",
        b"just text",
        "文件内容（纯文本）与扩展名“.exe”不符，请检查文件。",
    ),
]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [case[1:] for case in DISGUISED],
    ids=[case[0] for case in DISGUISED],
)
def test_disguised_or_unknown_files_are_refused(petition, clerk, _media, name, data, message):
    with pytest.raises(ValidationError) as exc:
        attachment_add(
            petition=petition, actor=clerk, upload=_upload(name, data, "application/pdf")
        )
    assert exc.value.message_dict == {"file": [message]}
    assert Attachment.objects.count() == 0
    assert not PetitionEvent.objects.filter(action="attach").exists()
    assert _stored_files(_media) == []


def test_empty_file_is_refused(petition, clerk, _media):
    with pytest.raises(ValidationError) as exc:
        attachment_add(petition=petition, actor=clerk, upload=_upload("空.pdf", b""))
    assert exc.value.message_dict == {"file": ["文件为空，请重新选择。"]}
    assert Attachment.objects.count() == 0


def test_size_limit(petition, clerk, _media, monkeypatch):
    assert svc.MAX_ATTACHMENT_BYTES == 20 * 1024 * 1024
    monkeypatch.setattr(svc, "MAX_ATTACHMENT_BYTES", 1024 * 1024)
    limit = b"%PDF-1.4\n" + b"0" * (1024 * 1024 - 9)
    with pytest.raises(ValidationError) as exc:
        attachment_add(petition=petition, actor=clerk, upload=_upload("大.pdf", limit + b"0"))
    assert exc.value.message_dict == {"file": ["文件大小超过上限（1 MB）。"]}
    assert Attachment.objects.count() == 0
    assert _stored_files(_media) == []

    a = attachment_add(petition=petition, actor=clerk, upload=_upload("正好.pdf", limit))
    assert a.size == 1024 * 1024


def test_unknown_kind_is_refused(petition, clerk):
    with pytest.raises(ValidationError) as exc:
        attachment_add(
            petition=petition, actor=clerk, upload=_upload("a.pdf", PDF_BYTES), kind="virus"
        )
    assert exc.value.message_dict == {"kind": ["请选择附件类型。"]}


def test_a_failed_event_write_leaves_no_row_and_no_file(petition, clerk, _media, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(PetitionEvent.objects, "create", boom)
    with pytest.raises(RuntimeError):
        attachment_add(petition=petition, actor=clerk, upload=_upload("a.pdf", PDF_BYTES))
    assert Attachment.objects.count() == 0
    assert _stored_files(_media) == []


def test_attaching_keeps_status_and_version_of_a_closed_case(petition, clerk):
    from petitions.models import Petition

    Petition.objects.filter(pk=petition.pk).update(status="closed", version=7)
    attachment_add(petition=petition, actor=clerk, upload=_upload("补充.pdf", PDF_BYTES))
    petition.refresh_from_db()
    assert (petition.status, petition.version) == ("closed", 7)
    event = PetitionEvent.objects.get(action="attach")
    assert (event.from_status, event.to_status) == ("closed", "closed")
