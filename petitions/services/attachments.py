"""Attachments of a petition (来信原件、证据材料、照片): size limit and a type read from the file's
CONTENT (magic bytes), never from its name or the browser's content type."""

from __future__ import annotations

import logging
import os
import re
import uuid
import zipfile
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from petitions.models import Attachment, Petition, PetitionEvent

logger = logging.getLogger(__name__)

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # 20 MB: a scanned letter or a few phone photos
_HEAD_BYTES = 1024  # enough for every signature below and for the HTML sniff


@dataclass(frozen=True)
class FileType:
    content_type: str
    label: str
    extensions: tuple[str, ...]  # the first one names the stored file


PDF = FileType("application/pdf", "PDF", (".pdf",))
JPEG = FileType("image/jpeg", "JPEG", (".jpg", ".jpeg", ".jpe"))
PNG = FileType("image/png", "PNG", (".png",))
GIF = FileType("image/gif", "GIF", (".gif",))
DOCX = FileType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "Word",
    (".docx",),
)
XLSX = FileType(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel", (".xlsx",)
)
PPTX = FileType(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "PowerPoint",
    (".pptx",),
)
TEXT = FileType("text/plain", gettext_lazy("纯文本"), (".txt", ".text", ".csv", ".log", ".md"))

# The start of markup a browser would sniff as HTML/SVG/XML (WHATWG MIME sniffing): "text" that
# begins like this is an HTML page in disguise, whatever its name.
_MARKUP_PREFIXES = (
    b"<!doctype",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<iframe",
    b"<svg",
    b"<?xml",
    b"<!--",
    b"<a ",
    b"<img",
    b"<style",
    b"<div",
    b"<table",
    b"<font",
    b"<title",
    b"<b>",
    b"<p>",
    b"<br",
    b"<h1",
    b"<object",
    b"<embed",
    b"<meta",
    b"<link",
    b"<form",
    b"<input",
)
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")  # tab, CR, LF, FF allowed
_OOXML_PARTS = (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX))


def _sniff_ooxml(upload: UploadedFile) -> FileType | None:
    """An Office Open XML package: a zip with [Content_Types].xml and the part folder of its
    application; macro-enabled packages (VBA) are not accepted."""
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as package:
            names = package.namelist()  # reads the central directory only: nothing is inflated
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        return None
    for prefix, kind in _OOXML_PARTS:
        if any(n.startswith(prefix) for n in names):
            return kind
    return None


def _sniff_text(upload: UploadedFile) -> FileType | None:
    """UTF-8 text without control characters (other than tab and line breaks) and not markup."""
    upload.seek(0)
    data = upload.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _CONTROL_CHARS.search(text):
        return None
    if data.lstrip()[:_HEAD_BYTES].lower().startswith(_MARKUP_PREFIXES):
        return None
    return TEXT


def detect_type(upload: UploadedFile) -> FileType | None:
    """The file's type from its first bytes (and, for zips and text, its structure)."""
    upload.seek(0)
    head = upload.read(_HEAD_BYTES)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"PK\x03\x04"):
        return _sniff_ooxml(upload)
    return _sniff_text(upload)


def _accepted_types_text() -> str:
    return _(
        "仅支持 PDF、JPEG、PNG、GIF 图片、Word/Excel/PowerPoint（.docx/.xlsx/.pptx）文档和 UTF-8 纯文本。"
    )


def _check(upload: UploadedFile, kind: str) -> FileType:
    if kind not in Attachment.Kind.values:
        raise ValidationError({"kind": [_("请选择附件类型。")]})
    size = upload.size or 0
    if size == 0:
        raise ValidationError({"file": [_("文件为空，请重新选择。")]})
    if size > MAX_ATTACHMENT_BYTES:
        raise ValidationError(
            {
                "file": [
                    _("文件大小超过上限（%(limit)s MB）。")
                    % {"limit": f"{MAX_ATTACHMENT_BYTES / 1024 / 1024:g}"}
                ]
            }
        )
    detected = detect_type(upload)
    if detected is None:
        raise ValidationError(
            {"file": [_("无法识别或不允许的文件类型。") + _accepted_types_text()]}
        )
    ext = os.path.splitext(_original_name(upload))[1].lower()
    if ext and ext not in detected.extensions:
        # A file whose content is not what its name says (e.g. a program renamed .pdf).
        raise ValidationError(
            {
                "file": [
                    _("文件内容（%(type)s）与扩展名“%(ext)s”不符，请检查文件。")
                    % {"type": detected.label, "ext": ext}
                ]
            }
        )
    return detected


def _original_name(upload: UploadedFile) -> str:
    name = os.path.basename((upload.name or "").replace("\\", "/")).strip()
    return name[:200] or _("未命名")


def attachment_add(
    *, petition: Petition, actor, upload: UploadedFile, kind: str = Attachment.Kind.OTHER
) -> Attachment:
    """Store an uploaded file with the case (type checked by content), with an "attach" event."""
    detected = _check(upload, kind)
    upload.seek(0)
    # The stored name is ours (random, with the detected type's extension), never the uploader's.
    stored_name = f"{uuid.uuid4().hex}{detected.extensions[0]}"
    attachment = Attachment(
        kind=kind,
        original_name=_original_name(upload),
        content_type=detected.content_type,
        size=upload.size,
        uploaded_by=actor,
    )
    try:
        with transaction.atomic():
            locked = Petition.objects.select_for_update().get(pk=petition.pk)
            attachment.petition = locked
            attachment.file.save(stored_name, upload, save=False)
            attachment.save()
            # "attach" keeps the status; written directly as it is not a status transition.
            PetitionEvent.objects.create(
                petition=locked,
                actor=actor,
                at=timezone.now(),
                action="attach",
                from_status=locked.status,
                to_status=locked.status,
                payload={
                    "attachment": attachment.pk,
                    "kind": kind,
                    "name": attachment.original_name,
                    "content_type": detected.content_type,
                    "size": attachment.size,
                },
            )
    except Exception:
        if attachment.file.name:  # the rows rolled back: remove the file written for them
            attachment.file.storage.delete(attachment.file.name)
        raise
    logger.info("petition %s: attachment %s stored", petition.pk, attachment.pk)
    return attachment
