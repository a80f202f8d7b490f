"""The monthly statistics report (the SPEC §5 table) and its exports.

`report_build` computes the table for an area and its children (district → streets, street →
communities …) with 同比/环比 for the main counts; the report page and every export render that
same object, so the page, the XLSX, the CSV and the PDF always show the same numbers.

- XLSX: laid out like a government statistics table — a title row with the area and the period,
  merged header cells grouping the figures (信访 / 来访 / 办理 / 矛盾纠纷 / 调解), CJK headers with
  their units, one row per area, a footer with 制表单位 / 制表时间 / 数据截至.
- CSV: one header row and one row per area, UTF-8 with a BOM so that Excel reads the CJK text.
- PDF: WeasyPrint with the system's Noto CJK fonts; charts are SVG drawn here, on the server, and
  put inline into the HTML (no JavaScript, nothing fetched).

Counts of the report's children plus the "unassigned" row (records attached above the children's
level) add up to the parent: the engine computes the parent and the children in one run, and the
unassigned row is their difference, term by term (rates recomputed from those counts).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dashboard.stats import (
    FIGURE_DEFS,
    LEVELS,
    TZ,
    Figure,
    Period,
    active_generation,
    change,
    child_codes,
    figures_for_areas,
    make_figure,
    trend,
)
from dashboard.stats.engine import Term, figure_filter
from grid.models import Community, District, GridCell, Street

# --- the table's columns ----------------------------------------------------------------------

# (group, [(figure key, with 同比/环比)]): the SPEC §5 figures in the order of the official table.
GROUPS: list[tuple[str, list[tuple[str, bool]]]] = [
    (
        gettext_lazy("信访"),
        [
            ("petitions_total", True),
            ("repeats", False),
            ("repeat_rate", False),
            ("per_1000", False),
        ],
    ),
    (
        gettext_lazy("来访"),
        [("visits_batches", True), ("visits_persons", True), ("collective_visits", False)],
    ),
    (
        gettext_lazy("办理"),
        [
            ("timely_acceptance_rate", False),
            ("closure_rate", False),
            ("closure_rate_ytd", False),
            ("on_time_closure_rate", False),
            ("satisfaction_rate", False),
        ],
    ),
    (
        gettext_lazy("矛盾纠纷"),
        [("dispute_count", True), ("resolution_rate", False), ("control_rate", False)],
    ),
    (
        gettext_lazy("调解"),
        [("mediation_success_rate", False), ("agreement_performance_rate", False)],
    ),
]
# The main counts, shown with 同比 (vs the same period last year) and 环比 (vs the previous one).
COMPARED = [key for _g, figures in GROUPS for key, compared in figures if compared]
LEAD = (gettext_lazy("地区"), gettext_lazy("区划代码"))
HEADER_ROWS = 3
LEVEL_BY_LENGTH = {length: level for level, length in LEVELS.items()}
LEVEL_LABELS = {
    "district": gettext_lazy("区"),
    "street": gettext_lazy("街道"),
    "community": gettext_lazy("社区"),
    "cell": gettext_lazy("网格"),
}
AREA_MODELS = {6: District, 9: Street, 12: Community, 15: GridCell}
UNASSIGNED_LEVEL = "unassigned"
KIND_SUFFIX = {
    "month": gettext_lazy("月报"),
    "quarter": gettext_lazy("季报"),
    "year": gettext_lazy("年报"),
    "range": gettext_lazy("报表"),
}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    key: str  # figure key
    part: str  # "value" | "yoy" (同比) | "mom" (环比)
    group: int

    @property
    def kind(self) -> str:
        return "change" if self.part != "value" else FIGURE_DEFS[self.key].kind

    def flat_header(self) -> str:
        """One-line header (CSV): 信访总量（件）, 信访总量同比（%）, 信访总量环比（%）."""
        defn = FIGURE_DEFS[self.key]
        if self.part == "yoy":
            return _("%(label)s同比（%%）") % {"label": defn.label}
        if self.part == "mom":
            return _("%(label)s环比（%%）") % {"label": defn.label}
        return figure_header(self.key)


def figure_header(key: str) -> str:
    defn = FIGURE_DEFS[key]
    return _("%(label)s（%(unit)s）") % {"label": defn.label, "unit": defn.unit}


def columns(groups: list[int] | None = None) -> list[Column]:
    out = []
    for index, (_group, figures) in enumerate(GROUPS):
        if groups is not None and index not in groups:
            continue
        for key, compared in figures:
            out.append(Column(key, "value", index))
            if compared:
                out += [Column(key, "yoy", index), Column(key, "mom", index)]
    return out


@dataclass(frozen=True)
class HeaderCell:
    text: str
    row: int  # 0-based within the header
    col: int  # 0-based, the lead columns included
    rowspan: int = 1
    colspan: int = 1


def header_cells(groups: list[int] | None = None) -> list[HeaderCell]:
    """The three header rows of the table, as merged cells: 地区 and 区划代码 span all three;
    row 0 the groups; row 1 the figures with their units (compared figures span 本期 / 同比 /
    环比 in row 2, the others span rows 1–2)."""
    cells = [HeaderCell(str(text), 0, i, rowspan=HEADER_ROWS) for i, text in enumerate(LEAD)]
    col = len(LEAD)
    for index, (group, figures) in enumerate(GROUPS):
        if groups is not None and index not in groups:
            continue
        width = sum(3 if compared else 1 for _k, compared in figures)
        cells.append(HeaderCell(str(group), 0, col, colspan=width))
        for key, compared in figures:
            if compared:
                cells += [
                    HeaderCell(figure_header(key), 1, col, colspan=3),
                    HeaderCell(_("本期"), 2, col),
                    HeaderCell(_("同比（%）"), 2, col + 1),
                    HeaderCell(_("环比（%）"), 2, col + 2),
                ]
                col += 3
            else:
                cells.append(HeaderCell(figure_header(key), 1, col, rowspan=2))
                col += 1
    return cells


def header_html_rows(groups: list[int] | None = None) -> list[list[HeaderCell]]:
    rows: list[list[HeaderCell]] = [[] for _ in range(HEADER_ROWS)]
    for cell in header_cells(groups):
        rows[cell.row].append(cell)
    return [sorted(r, key=lambda c: c.col) for r in rows]


# --- the report -------------------------------------------------------------------------------


@dataclass
class ReportRow:
    code: str  # the area's code; for the unassigned row, its parent's
    name: str
    level: str  # district | street | community | cell | unassigned
    figures: dict[str, Figure]
    previous: dict[str, Figure]  # 环比 base (COMPARED keys)
    last_year: dict[str, Figure]  # 同比 base (COMPARED keys)
    unassigned_level: str | None = None  # for the unassigned row: the children's level
    depth: int = 0

    @property
    def code_display(self) -> str:
        return "" if self.unassigned_level else self.code

    def base(self, col: Column) -> Figure | None:
        if col.part == "yoy":
            return self.last_year[col.key]
        if col.part == "mom":
            return self.previous[col.key]
        return None

    def value(self, col: Column) -> int | float | None:
        figure = self.figures[col.key]
        base = self.base(col)
        if base is None:
            return figure.value
        return percent_change(figure.value, base.value)


@dataclass
class Report:
    area_code: str
    area_name: str
    district_name: str
    title: str
    period: Period
    level: str | None  # the children's level, None for the area alone
    as_of: dt.datetime | None  # None: as of now (generated_at)
    generated_at: dt.datetime
    made_by: str
    rows: list[ReportRow] = field(default_factory=list)

    @property
    def data_as_of(self) -> dt.datetime:
        return self.as_of or self.generated_at

    def children(self) -> list[ReportRow]:
        return [r for r in self.rows if r.depth > 0 and not r.unassigned_level]


def percent_change(now, base) -> float | None:
    """同比/环比 in percent, rounded half up to 2 places; None ("—") where the base is 0."""
    if change(now, base) is None:
        return None
    exact = (Decimal(str(now)) - Decimal(str(base))) * 100 / Decimal(str(base))
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def cell_text(value, kind: str) -> str:
    """How a value is written in the table: "—" for a zero base, rates with 2 decimals."""
    if value is None:
        return "—"
    if kind == "count":
        return str(int(value))
    return f"{value:.2f}"


def area_names(codes, generation=None) -> dict[str, str]:
    """Names of area codes (the given or active generation first, then any generation)."""
    names: dict[str, str] = {}
    for length, model in AREA_MODELS.items():
        wanted = {c for c in codes if len(c) == length}
        if not wanted:
            continue
        rows = model.objects.filter(code__in=wanted).order_by("-generation_id")
        found = {}
        for code, name, gen_id in rows.values_list("code", "name", "generation_id"):
            if code not in found or gen_id == getattr(generation, "pk", generation):
                found[code] = name
        names.update(found)
    return names


def report_title(district_name: str, area_name: str, period: Period) -> str:
    """e.g. 沙河口区信访与矛盾纠纷化解工作统计月报（2026年3月）."""
    return _("%(area)s信访与矛盾纠纷化解工作统计%(kind)s（%(period)s）") % {
        "area": area_name if area_name.startswith(district_name) else district_name + area_name,
        "kind": KIND_SUFFIX[period.kind],
        "period": period.label(),
    }


def _terms(figures: dict[str, Figure]) -> dict[Term, int]:
    """The engine's named counts behind a set of figures (each count is some figure's whole
    numerator or denominator)."""
    out: dict[Term, int] = {}
    for key, figure in figures.items():
        defn = FIGURE_DEFS[key]
        if len(defn.numerator) == 1:
            out[defn.numerator[0]] = figure.numerator or 0
        if len(defn.denominator) == 1:
            out[defn.denominator[0]] = figure.denominator or 0
    for key in figures:
        missing = {*FIGURE_DEFS[key].numerator, *FIGURE_DEFS[key].denominator} - set(out)
        if missing:
            raise ValueError(f"{key}: counts {sorted(missing)} are not among the figures")
    return out


def _remainder(
    parent: dict[str, Figure],
    children: list[dict[str, Figure]],
    *,
    area_code: str,
    level: str,
    period: Period,
    as_of: dt.datetime | None,
    generation_id: int | None,
) -> dict[str, Figure]:
    """The parent's records under none of the children (engine's UNASSIGNED bucket), from the
    counts: parent − Σ children, term by term; rates recomputed from those counts."""
    counts = _terms(parent)
    for child in children:
        for term, n in _terms(child).items():
            counts[term] -= n
    return {
        key: make_figure(
            FIGURE_DEFS[key],
            counts,
            figure_filter(
                FIGURE_DEFS[key],
                area_code=area_code,
                period=period,
                as_of=as_of,
                generation_id=generation_id,
                unassigned_level=level,
            ),
        )
        for key in parent
    }


def _has_records(figures: dict[str, Figure]) -> bool:
    return any(
        (f.numerator or 0) or (f.denominator or 0)
        for key, f in figures.items()
        if key != "per_1000"  # residents are never "unassigned" records
    )


def report_build(
    *,
    area_code: str,
    period: Period,
    level: str | None = None,
    as_of: dt.datetime | None = None,
    made_by: str = "",
) -> Report:
    """The report of an area and its children at `level` (none when `level` is not below the
    area): every SPEC §5 figure, and 同比/环比 for the main counts. One engine run per period
    (current, previous, same period last year), each one query per figure family."""
    generation = active_generation()
    gen_id = getattr(generation, "pk", None)
    children: list[str] = []
    if level in LEVELS and LEVELS[level] > len(area_code) and generation is not None:
        children = child_codes(area_code, level, generation)
    else:
        level = None
    codes = [area_code, *children]

    def run(p: Period, keys=None):
        return figures_for_areas(
            area_codes=codes, period=p, as_of=as_of, keys=keys, generation=generation
        )

    now = run(period)
    previous = run(period.previous(), COMPARED)
    last_year = run(period.same_last_year(), COMPARED)
    names = area_names([*codes, area_code[:6]], generation)
    rows = [
        ReportRow(
            code,
            names.get(code, code),
            LEVEL_BY_LENGTH.get(len(code), ""),
            now[code],
            previous[code],
            last_year[code],
            depth=0 if code == area_code else 1,
        )
        for code in codes
    ]
    if children:

        def rest(figures: dict, p: Period) -> dict[str, Figure]:
            return _remainder(
                figures[area_code],
                [figures[c] for c in children],
                area_code=area_code,
                level=level,
                period=p,
                as_of=as_of,
                generation_id=gen_id,
            )

        unassigned = rest(now, period)
        if _has_records(unassigned):
            rows.append(
                ReportRow(
                    area_code,
                    _("未定位到%(level)s的记录") % {"level": LEVEL_LABELS[level]},
                    UNASSIGNED_LEVEL,
                    unassigned,
                    previous=rest(previous, period.previous()),
                    last_year=rest(last_year, period.same_last_year()),
                    unassigned_level=level,
                    depth=1,
                )
            )
    district_name = names.get(area_code[:6], area_code[:6])
    area_name = names.get(area_code, area_code)
    return Report(
        area_code=area_code,
        area_name=area_name,
        district_name=district_name,
        title=report_title(district_name, area_name, period),
        period=period,
        level=level,
        as_of=as_of,
        generated_at=timezone.now(),
        made_by=made_by or area_name,
        rows=rows,
    )


def local_text(moment: dt.datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def period_text(period: Period) -> str:
    return _("统计期：%(start)s至%(end)s") % {
        "start": f"{period.start.year}年{period.start.month}月{period.start.day}日",
        "end": f"{period.end.year}年{period.end.month}月{period.end.day}日",
    }


def footer_texts(report: Report) -> list[str]:
    return [
        _("制表单位：%(unit)s") % {"unit": report.made_by},
        _("制表时间：%(at)s") % {"at": local_text(report.generated_at)},
        _("数据截至：%(at)s") % {"at": local_text(report.data_as_of)},
    ]


def footnote() -> str:
    return _(
        "注：“—”表示基数为0，无法计算；同比、环比为增减百分比；比率按各级计数重新计算，"
        "不作平均；“未定位到下级区域的记录”为只登记到本级的记录。"
    )


# --- XLSX -------------------------------------------------------------------------------------

COUNT_FORMAT = "0"
DECIMAL_FORMAT = "0.00"


def report_xlsx(report: Report) -> bytes:
    """The report as a government-style statistics sheet (see the module docstring)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    cols = columns()
    width = len(LEAD) + len(cols)
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    font = "Noto Sans CJK SC"

    wb = Workbook()
    ws = wb.active
    ws.title = str(KIND_SUFFIX[report.period.kind])

    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    title = ws.cell(1, 1, report.title)
    title.font = Font(name=font, size=16, bold=True)
    title.alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 32

    half = width // 2
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=half)
    ws.merge_cells(start_row=2, start_column=half + 1, end_row=2, end_column=width)
    ws.cell(2, 1, period_text(report.period)).font = Font(name=font, size=10)
    units = ws.cell(2, half + 1, _("计量单位：件、批、人次、%"))
    units.font = Font(name=font, size=10)
    units.alignment = Alignment(horizontal="right")

    top = 3
    fill = PatternFill("solid", fgColor="F2F2F2")
    for cell in header_cells():
        row, col = top + cell.row, 1 + cell.col
        if cell.rowspan > 1 or cell.colspan > 1:
            ws.merge_cells(
                start_row=row,
                start_column=col,
                end_row=row + cell.rowspan - 1,
                end_column=col + cell.colspan - 1,
            )
        target = ws.cell(row, col, cell.text)
        target.font = Font(name=font, size=10, bold=True)
    for row in range(top, top + HEADER_ROWS):
        ws.row_dimensions[row].height = 30
        for col in range(1, width + 1):
            c = ws.cell(row, col)
            c.border, c.alignment, c.fill = border, center, fill

    first = top + HEADER_ROWS
    for i, row in enumerate(report.rows):
        r = first + i
        name = ws.cell(r, 1, row.name)
        name.alignment = Alignment(indent=row.depth * 2, vertical="center")
        name.font = Font(name=font, size=10, bold=row.depth == 0)
        ws.cell(r, 2, row.code_display).font = Font(name=font, size=10)
        for j, col in enumerate(cols):
            value = row.value(col)
            c = ws.cell(r, 3 + j, "—" if value is None else value)
            c.number_format = COUNT_FORMAT if col.kind == "count" else DECIMAL_FORMAT
            c.alignment = Alignment(horizontal="center" if value is None else "right")
            c.font = Font(name=font, size=10, bold=row.depth == 0)
        for col in range(1, width + 1):
            ws.cell(r, col).border = border

    foot = first + len(report.rows) + 1
    thirds = [(1, width // 3), (width // 3 + 1, 2 * width // 3), (2 * width // 3 + 1, width)]
    for (start, end), text in zip(thirds, footer_texts(report), strict=True):
        ws.merge_cells(start_row=foot, start_column=start, end_row=foot, end_column=end)
        ws.cell(foot, start, text).font = Font(name=font, size=10)
    ws.merge_cells(start_row=foot + 1, start_column=1, end_row=foot + 1, end_column=width)
    note = ws.cell(foot + 1, 1, footnote())
    note.font = Font(name=font, size=9)
    note.alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[foot + 1].height = 30

    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 14
    for j in range(len(cols)):
        ws.column_dimensions[get_column_letter(3 + j)].width = 10
    ws.freeze_panes = ws.cell(first, 3)
    ws.print_title_rows = f"{top}:{first - 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- CSV --------------------------------------------------------------------------------------


def report_csv(report: Report) -> bytes:
    """One header row, one row per area; UTF-8 with a BOM (Excel then reads the CJK text)."""
    cols = columns()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*(str(t) for t in LEAD), *(c.flat_header() for c in cols)])
    for row in report.rows:
        writer.writerow(
            [row.name, row.code_display, *(cell_text(row.value(c), c.kind) for c in cols)]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --- charts (SVG drawn on the server) ----------------------------------------------------------

CHART_FONT = "Noto Sans CJK SC, sans-serif"
BAR_COLOUR = "#8c1c13"
LINE_COLOUR = "#1d4e89"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _nice_axis(top: float, ticks: int = 5) -> tuple[float, int]:
    """A round step (1, 2, 5 × 10ⁿ) and the number of steps so that steps × step ≥ top."""
    if top <= 0:
        return 1.0, 1
    rough = top / ticks
    exp = 10 ** math.floor(math.log10(rough))
    step = next(m * exp for m in (1, 2, 5, 10) if m * exp >= rough)
    return float(step), max(1, math.ceil(top / step - 1e-9))


def svg_bar_chart(
    items: list[tuple[str, float | None]],
    *,
    title: str,
    unit: str,
    width: int = 520,
    top: float | None = None,
) -> SafeString:
    """Horizontal bars, one per item (label, value), scaled to `top` (the largest value by
    default; 100 for percentages); "—" for a missing value."""
    label_w, value_w, bar_h, gap, head = 150, 60, 16, 6, 28
    height = head + len(items) * (bar_h + gap) + 8
    scale_w = width - label_w - value_w
    top = top or max([v for _l, v in items if v is not None] or [0]) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart--bar" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" font-family="{CHART_FONT}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-size="13" font-weight="bold">{escape(title)}'
        f"（{escape(unit)}）</text>",
    ]
    for i, (label, value) in enumerate(items):
        y = head + i * (bar_h + gap)
        w = 0 if value is None else round(scale_w * value / top, 1)
        text = "—" if value is None else _number(value)
        parts += [
            f'<text x="{label_w - 6}" y="{y + bar_h - 4}" font-size="11" '
            f'text-anchor="end">{escape(label)}</text>',
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="{BAR_COLOUR}"/>',
            f'<text x="{label_w + w + 4}" y="{y + bar_h - 4}" font-size="11">{text}</text>',
        ]
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text above is escaped


def svg_line_chart(
    points: list[tuple[str, float | None]],
    *,
    title: str,
    unit: str,
    width: int = 520,
    height: int = 230,
) -> SafeString:
    """A line through the points (label, value), gaps where a value is missing, with a y axis
    of round steps and the values written above the points."""
    left, right, head, bottom = 44, 12, 34, 28
    plot_w, plot_h = width - left - right, height - head - bottom
    values = [v for _l, v in points if v is not None]
    step, steps = _nice_axis(max(values or [0]))
    y_top = step * steps

    def x(i: int) -> float:
        return round(left + (plot_w * (i + 0.5) / max(len(points), 1)), 1)

    def y(v: float) -> float:
        return round(head + plot_h - plot_h * v / y_top, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart--line" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" font-family="{CHART_FONT}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-size="13" font-weight="bold">{escape(title)}'
        f"（{escape(unit)}）</text>",
    ]
    for k in range(steps + 1):
        v = step * k
        parts += [
            f'<line x1="{left}" y1="{y(v)}" x2="{width - right}" y2="{y(v)}" '
            f'stroke="#dddddd" stroke-width="1"/>',
            f'<text x="{left - 6}" y="{y(v) + 4}" font-size="10" text-anchor="end">'
            f"{_number(v)}</text>",
        ]
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (label, value) in enumerate(points):
        parts.append(
            f'<text x="{x(i)}" y="{height - 8}" font-size="10" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i)},{y(value)}")
        parts += [
            f'<circle cx="{x(i)}" cy="{y(value)}" r="3" fill="{LINE_COLOUR}"/>',
            f'<text x="{x(i)}" y="{y(value) - 7}" font-size="10" text-anchor="middle">'
            f"{_number(value)}</text>",
        ]
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(
            f'<polyline points="{" ".join(seg)}" fill="none" stroke="{LINE_COLOUR}" '
            f'stroke-width="2"/>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text above is escaped


# Figures charted per child area (bars) and over the last 12 months (lines).
BAR_FIGURES = ("petitions_total", "dispute_count", "closure_rate", "resolution_rate")
TREND_FIGURES = ("petitions_total", "dispute_count")


def report_charts(report: Report, *, trends: bool = True) -> list[SafeString]:
    """Bars of the main figures by child area; with `trends`, 12-month lines of the area's
    counts (one engine run per month and figure)."""
    charts = []
    children = report.children()
    if children:
        for key in BAR_FIGURES:
            defn = FIGURE_DEFS[key]
            items = [(r.name, r.figures[key].value) for r in children]
            top = 100 if defn.kind == "rate" else None
            charts.append(svg_bar_chart(items, title=str(defn.label), unit=str(defn.unit), top=top))
    if trends:
        end = Period.month(report.period.end.year, report.period.end.month)
        for key in TREND_FIGURES:
            defn = FIGURE_DEFS[key]
            series = trend(key=key, area_code=report.area_code, end_period=end, as_of=report.as_of)
            points = [(f"{p.start:%y-%m}", f.value) for p, f in series]
            title = _("%(label)s近12个月趋势") % {"label": defn.label}
            charts.append(svg_line_chart(points, title=title, unit=str(defn.unit)))
    return charts


# --- PDF --------------------------------------------------------------------------------------

# The table is too wide for one A4 page: 信访 and 来访 first, then 办理, 矛盾纠纷 and 调解.
PDF_TABLE_PARTS = ([0, 1], [2, 3, 4])


def report_pdf_html(report: Report, charts: list[SafeString]) -> str:
    tables = []
    for groups in PDF_TABLE_PARTS:
        cols = columns(groups)
        tables.append(
            {
                "header": header_html_rows(groups),
                "rows": [
                    {
                        "row": row,
                        "cells": [cell_text(row.value(c), c.kind) for c in cols],
                    }
                    for row in report.rows
                ],
            }
        )
    return render_to_string(
        "dashboard/report_pdf.html",
        {
            "report": report,
            "tables": tables,
            "charts": charts,
            "period_text": period_text(report.period),
            "footer": footer_texts(report),
            "footnote": footnote(),
        },
    )


def report_pdf(report: Report, charts: list[SafeString] | None = None) -> bytes:
    """The report as an A4 landscape PDF with charts (CJK fonts from fontconfig)."""
    import weasyprint  # lazily: loading Pango and the fonts costs time at startup

    html = report_pdf_html(report, report_charts(report) if charts is None else charts)
    # Only data: URLs may be fetched: the document is self-contained (fonts come from the system).
    fetcher = weasyprint.URLFetcher(allowed_protocols=("data",), timeout=1)
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
