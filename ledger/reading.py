"""Ledger files as streams of rows, never whole in memory: XLSX through openpyxl's read-only mode
(`iter_rows(values_only=True)`), CSV through the csv module over an incrementally decoded text
stream. CSV encodings: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text"), and
GB18030 (a superset of GBK/GB2312, what Excel writes on a Chinese Windows) as the fallback.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ledger.rows import header_score, header_text

HEADER_SCAN_ROWS = 20  # title lines above the header row are common in ledgers
CHUNK = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls format


@dataclass(frozen=True)
class Layout:
    """What the analysis of an uploaded file found."""

    format: str
    encoding: str
    delimiter: str
    header_row: int  # 1-based, as the spreadsheet shows it
    headers: list[str]
    total_rows: int  # data rows after the header (blank ones included)


def detect_format(name: str, head: bytes) -> str:
    """'xlsx' or 'csv' from the file's first bytes (the name only breaks ties)."""
    if head.startswith(OLE_MAGIC) or name.lower().endswith(".xls"):
        raise ValidationError(
            _("旧版 .xls 文件无法读取，请在 Excel 中另存为 .xlsx 或 CSV 后再上传。"), code="xls"
        )
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if name.lower().endswith(".xlsx"):
        raise ValidationError(_("文件不是有效的 Excel（.xlsx）文件。"), code="xlsx")
    return "csv"


def _decodes(f: IO[bytes], encoding: str) -> bool:
    f.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(f: IO[bytes]) -> str:
    """The CSV's encoding, checked over the whole file in 1 MB chunks (a GBK character may first
    appear on row 90,000)."""
    f.seek(0)
    head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        if _decodes(f, encoding):
            return encoding
    raise ValidationError(_("无法识别文件编码（支持 UTF-8 和 GB18030/GBK）。"), code="encoding")


def detect_delimiter(f: IO[bytes], encoding: str) -> str:
    """Comma, tab or semicolon: whichever the first line has most of."""
    f.seek(0)
    text = io.TextIOWrapper(f, encoding=encoding, newline="")
    try:
        line = text.readline()
    finally:
        text.detach()
    counts = {d: line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


@contextlib.contextmanager
def open_rows(f: IO[bytes], *, format: str, encoding: str = "", delimiter: str = ","):
    """Yield an iterator over every row of the file (tuples of cell values), header lines
    included. XLSX cells keep their types (datetime, int, float, str); CSV cells are strings."""
    f.seek(0)
    if format == "xlsx":
        import openpyxl

        try:
            book = openpyxl.load_workbook(f, read_only=True, data_only=True)
        except Exception as e:  # zipfile/XML errors of a damaged or foreign file
            raise ValidationError(
                _("无法读取 Excel 文件：%(error)s") % {"error": e}, code="xlsx"
            ) from e
        try:
            sheet = book.worksheets[0]
            # Some writers record a wrong size; without it every row is read.
            sheet.reset_dimensions()
            yield sheet.iter_rows(values_only=True)
        finally:
            book.close()
        return
    text = io.TextIOWrapper(f, encoding=encoding or "utf-8", newline="")
    try:
        yield (tuple(r) for r in csv.reader(text, delimiter=delimiter or ","))
    finally:
        text.detach()


def _is_blank(row: tuple) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def find_header(rows: Iterator[tuple]) -> tuple[int, list[str]]:
    """(1-based row, header texts) of the row among the first 20 that looks most like a ledger
    header (most recognised column names); else the first non-blank row."""
    best: tuple[int, int, tuple] | None = None
    first: tuple[int, tuple] | None = None
    for index, row in enumerate(rows, start=1):
        if index > HEADER_SCAN_ROWS:
            break
        if _is_blank(row):
            continue
        first = first or (index, row)
        score = header_score(row)
        if score >= 2 and (best is None or score > best[0]):
            best = (score, index, row)
    if best is None and first is None:
        raise ValidationError(_("文件中没有数据。"), code="empty")
    index, row = (best[1], best[2]) if best else first
    headers = [header_text(v) or _("第%(n)d列") % {"n": i + 1} for i, v in enumerate(row)]
    while headers and headers[-1] == _("第%(n)d列") % {"n": len(headers)}:
        headers.pop()
    return index, headers


def data_rows(
    rows: Iterator[tuple], *, header_row: int, skip: int = 0
) -> Iterator[tuple[int, tuple]]:
    """(spreadsheet row number, values) of the data rows after the header, skipping the first
    `skip` of them (a resumed run continues where it stopped)."""
    start = header_row + skip
    for number, row in enumerate(rows, start=1):
        if number > start:
            yield number, row


def analyse(f: IO[bytes], *, name: str) -> Layout:
    """Format, encoding, header row, headers and row count of an uploaded ledger file."""
    f.seek(0)
    fmt = detect_format(name, f.read(8))
    encoding = delimiter = ""
    if fmt == "csv":
        encoding = detect_encoding(f)
        delimiter = detect_delimiter(f, encoding)
    total = None
    if fmt == "xlsx":
        total = _xlsx_declared_rows(f)
    with open_rows(f, format=fmt, encoding=encoding, delimiter=delimiter) as rows:
        try:
            header_row, headers = find_header(rows)
        except csv.Error as e:
            raise ValidationError(_("CSV 文件格式错误：%(error)s") % {"error": e}) from e
    if total is None or total < header_row:
        with open_rows(f, format=fmt, encoding=encoding, delimiter=delimiter) as rows:
            total = sum(1 for _row in rows)
    return Layout(fmt, encoding, delimiter, header_row, headers, max(0, total - header_row))


def _xlsx_declared_rows(f: IO[bytes]) -> int | None:
    """The sheet's declared last row (its <dimension>), read without parsing the rows."""
    import openpyxl

    f.seek(0)
    try:
        book = openpyxl.load_workbook(f, read_only=True, data_only=True)
    except Exception as e:
        raise ValidationError(
            _("无法读取 Excel 文件：%(error)s") % {"error": e}, code="xlsx"
        ) from e
    try:
        max_row = book.worksheets[0].max_row
    finally:
        book.close()
    return max_row if max_row and max_row > 1 else None
