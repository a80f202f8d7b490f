# ruff: noqa: F811 — the fixtures imported from test_report are redefined as arguments
"""Exports of the monthly report: XLSX (a government statistics table that openpyxl opens, with
merged headers, the period in the title and the figures in the right cells), CSV (same numbers,
UTF-8 with BOM), PDF (with charts and CJK text); scoped to the user's grants and access-logged."""

import csv
import io
import shutil
import subprocess

import openpyxl
import pytest
from django.urls import reverse

from accounts.models import AccessLog
from dashboard.exports import (
    COMPARED,
    cell_text,
    columns,
    percent_change,
    svg_bar_chart,
    svg_line_chart,
)
from dashboard.stats import FIGURE_DEFS, FIGURE_KEYS, Period, figures_for_areas
from tests.dashboard.conftest import A1, A2, A, B, D
from tests.dashboard.test_report import (  # noqa: F401 — fixtures
    TITLE,
    bureau_viewer,
    data,
    leader_viewer,
    no_report_users,
    street_a,
    street_b,
)

pytestmark = pytest.mark.django_db
MARCH = Period.month(2026, 3)


def export(client, user, fmt, **params):
    client.force_login(user)
    url = reverse("dashboard-report:export", kwargs={"fmt": fmt})
    return client.get(url, {"period": "2026-03", **params})


def expected_cells(codes) -> dict[str, list[str]]:
    """area → the row's cells as the engine computes them (values, then 同比/环比)."""
    now = figures_for_areas(area_codes=codes, period=MARCH)
    prev = figures_for_areas(area_codes=codes, period=MARCH.previous(), keys=COMPARED)
    year = figures_for_areas(area_codes=codes, period=MARCH.same_last_year(), keys=COMPARED)
    out = {}
    for code in codes:
        row = []
        for col in columns():
            figure = now[code][col.key]
            if col.part == "value":
                row.append(figure.display)
            else:
                base = (year if col.part == "yoy" else prev)[code][col.key]
                row.append(cell_text(percent_change(figure.value, base.value), "change"))
        out[code] = row
    return out


# --- XLSX -------------------------------------------------------------------------------------


def test_the_xlsx_is_a_government_statistics_table(client, data, bureau_viewer):
    response = export(client, bureau_viewer, "xlsx", level="street")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    assert "filename*=utf-8''" in response["Content-Disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
    width = 2 + len(columns())
    last = openpyxl.utils.get_column_letter(width)
    merged = {str(r) for r in ws.merged_cells.ranges}

    # Title row: the district and the period, across the whole table.
    assert ws["A1"].value == TITLE
    assert f"A1:{last}1" in merged
    assert ws["A2"].value == "统计期：2026年3月1日至2026年3月31日"
    # Header: 地区 / 区划代码 span the three header rows; groups; figures with units; 本期/同比/环比.
    assert (ws["A3"].value, ws["B3"].value) == ("地区", "区划代码")
    assert {"A3:A5", "B3:B5"} <= merged
    groups = {ws.cell(3, c).value: c for c in range(3, width + 1) if ws.cell(3, c).value}
    assert list(groups) == ["信访", "来访", "办理", "矛盾纠纷", "调解"]
    assert {"C3:H3", "I3:O3", "P3:T3", "U3:Y3", "Z3:AA3"} <= merged
    assert (ws["C4"].value, ws["C5"].value, ws["D5"].value, ws["E5"].value) == (
        "信访总量（件）",
        "本期",
        "同比（%）",
        "环比（%）",
    )
    assert "C4:E4" in merged
    assert ws["F4"].value == "重复信访（件）" and "F4:F5" in merged
    assert ws["G4"].value == "重复率（%）"
    assert ws["I4"].value == "来访批次（批）" and "I4:K4" in merged
    assert ws["L4"].value == "来访人次（人次）"
    assert ws["H4"].value == "每千人信访量（件/千人）"

    # One row per area: the district, then its streets; the engine's figures in the right cells.
    assert [ws.cell(r, 1).value for r in (6, 7, 8)] == ["沙河口区", "测试1街道", "测试2街道"]
    assert [ws.cell(r, 2).value for r in (6, 7, 8)] == [D, A, B]
    assert ws.cell(9, 1).value is None  # then the footer, after a blank row
    assert (ws["C6"].value, ws["D6"].value, ws["E6"].value) == (9, 800.0, 350.0)
    assert (ws["C8"].value, ws["D8"].value, ws["E8"].value) == (3, "—", "—")
    header = {ws.cell(4, c).value: c for c in range(3, width + 1) if ws.cell(4, c).value}
    closure = header["结案率（%）"]
    assert [ws.cell(r, closure).value for r in (6, 7, 8)] == [33.33, 33.33, 33.33]
    assert ws.cell(6, closure).number_format == "0.00"
    assert ws.cell(8, header["满意率（%）"]).value == "—"  # nothing evaluated in street B
    expected = expected_cells([D, A, B])
    cols = columns()
    for r, code in ((6, D), (7, A), (8, B)):
        got = [ws.cell(r, 3 + i).value for i in range(len(cols))]
        assert [
            v if v == "—" else cell_text(v, c.kind) for v, c in zip(got, cols, strict=True)
        ] == expected[code]

    # Footer.
    footer = [ws.cell(10, c).value for c in range(1, width + 1) if ws.cell(10, c).value]
    assert footer[0] == "制表单位：沙河口区"
    assert footer[1].startswith("制表时间：") and footer[2].startswith("数据截至：")
    assert ws.cell(11, 1).value.startswith("注：“—”表示基数为0")
    assert ws.freeze_panes == "C6"


def test_the_xlsx_of_a_street_with_its_communities(client, data, street_a):
    response = export(client, street_a, "xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert ws["A1"].value == "沙河口区测试1街道信访与矛盾纠纷化解工作统计月报（2026年3月）"
    assert [ws.cell(r, 2).value for r in range(6, 10)] == [A, A1, A2, None]
    assert ws.cell(9, 1).value == "未定位到社区的记录"
    assert ws.cell(9, 3).value == 1  # p8, registered for the street without a community


# --- CSV --------------------------------------------------------------------------------------


def test_the_csv_has_the_same_numbers(client, data, bureau_viewer):
    response = export(client, bureau_viewer, "csv", level="street")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:5] == [
        "地区",
        "区划代码",
        "信访总量（件）",
        "信访总量同比（%）",
        "信访总量环比（%）",
    ]
    assert len(header) == 2 + len(columns())
    for key in FIGURE_KEYS:  # every SPEC §5 figure has its column
        assert any(h.startswith(f"{FIGURE_DEFS[key].label}（") for h in header), key
    assert [r[:2] for r in rows[1:]] == [["沙河口区", D], ["测试1街道", A], ["测试2街道", B]]
    expected = expected_cells([D, A, B])
    for row in rows[1:]:
        assert row[2:] == expected[row[1]]
    by_header = dict(zip(header, rows[1], strict=True))
    assert by_header["信访总量（件）"] == "9"
    assert by_header["结案率（%）"] == "33.33"
    assert by_header["来访批次环比（%）"] == "—"

    # The same numbers as the XLSX.
    ws = openpyxl.load_workbook(
        io.BytesIO(export(client, bureau_viewer, "xlsx", level="street").content)
    ).active
    for r, row in enumerate(rows[1:], start=6):
        for c, text in enumerate(row[2:], start=3):
            value = ws.cell(r, c).value
            assert text == (value if value == "—" else cell_text(value, columns()[c - 3].kind))


# --- PDF --------------------------------------------------------------------------------------


def test_the_pdf_has_the_title_the_figures_and_charts(client, data, bureau_viewer, tmp_path):
    response = export(client, bureau_viewer, "pdf", level="street")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    path = tmp_path / "report.pdf"
    path.write_bytes(response.content)
    assert shutil.which("pdftotext"), "pdftotext (poppler-utils) is required"
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    assert TITLE in flat
    assert "33.33" in text  # 结案率 of the district
    assert "800.00" in text  # 信访总量 同比
    assert "测试1街道" in text and "测试2街道" in text
    assert "信访总量近12个月趋势" in flat  # a chart's title (SVG text)
    assert "制表单位：沙河口区" in flat
    pages = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    assert "841.89 x 595.276 pts (A4)" in pages  # A4 landscape


def test_svg_charts_are_drawn_on_the_server():
    bars = svg_bar_chart([("测试1街道", 6), ("测试2街道", None)], title="信访总量", unit="件")
    assert bars.startswith("<svg") and "<rect" in bars and "—" in bars
    assert "测试1街道" in bars and "<script" not in bars
    line = svg_line_chart([("26-01", 2), ("26-02", None), ("26-03", 9)], title="趋势", unit="件")
    assert line.count("<polyline") == 2  # a gap where a month has no value
    evil = svg_bar_chart([("<script>alert(1)</script>", 1)], title="<b>", unit="&")
    assert "<script>" not in evil and "&lt;script&gt;" in evil


# --- scope and access log -----------------------------------------------------------------------


def test_exports_are_scoped_to_the_users_grants(client, data, street_a, street_b):
    response = export(client, street_a, "csv", level="street")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == [A]  # only their street
    response = export(client, street_a, "csv")  # their street with its communities
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == [A, A1, A2, ""]
    for fmt in ("xlsx", "csv", "pdf"):
        assert export(client, street_a, fmt, area=B).status_code == 404
        assert export(client, street_a, fmt, area=D).status_code == 404
    response = export(client, street_b, "csv", area=B, level="")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == [B]
    # Refused exports are not logged; the three above are.
    assert AccessLog.objects.filter(action="export").count() == 3


def test_exports_are_access_logged(client, data, bureau_viewer, leader_viewer):
    export(client, bureau_viewer, "xlsx", level="street")
    export(client, leader_viewer, "pdf", area=A, level="community")
    logs = list(AccessLog.objects.filter(action=AccessLog.Action.EXPORT).order_by("at", "pk"))
    assert [(log.user, log.username) for log in logs] == [
        (bureau_viewer, "bureau_viewer"),
        (leader_viewer, "leader_viewer"),
    ]
    assert logs[0].label == f"{TITLE}.xlsx"
    assert logs[0].detail["format"] == "xlsx"
    assert logs[0].detail["period"] == "2026-03"
    assert logs[0].detail["area"] == D
    assert logs[0].detail["level"] == "street"
    assert logs[0].detail["rows"] == 3
    assert logs[1].detail | {"as_of": None} == {
        "report": "monthly",
        "format": "pdf",
        "period": "2026-03",
        "area": A,
        "level": "community",
        "as_of": None,
        "rows": 4,
    }
    assert logs[1].ip == "127.0.0.1"


def test_roles_without_reports_cannot_export(client, no_report_users):
    for user in no_report_users:
        for fmt in ("xlsx", "csv", "pdf"):
            assert export(client, user, fmt).status_code == 404
    assert not AccessLog.objects.exists()


def test_unknown_formats_are_404(client, data, bureau_viewer):
    client.force_login(bureau_viewer)
    url = reverse("dashboard-report:export", kwargs={"fmt": "docx"})
    assert client.get(url, {"period": "2026-03"}).status_code == 404
