"""The rows of the case list, written in Python instead of the template engine (issue #9).

Fifty rows of six cells cost the template engine ~1,000 variable lookups per page, each resolved,
localized and escaped node by node: ~3 ms of a ~15 ms page (15.4 → 12.2 ms in-process). This
builds the same markup with one format string per row and `escape()` on every value that comes
from the data (tests/petitions/test_list_rows.py renders the former row template over the same
cases and compares the HTML).
The labels stay translatable: they come from gettext, translated once per page.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from petitions.models import Category

ROW = (
    '\n    <tr class="petition-row{row_class}">\n'
    '      <td class="nowrap"><a href="{url}">{receipt_no}</a></td>\n'
    '      <td data-label="{l_received}">{received}</td>\n'
    '      <td data-label="{l_summary}">{summary}<br><small class="muted">{category} · '
    "{case_type}</small></td>\n"
    '      <td data-label="{l_status}"><span class="status status--{status}">{status_label}'
    "</span></td>\n"
    '      <td data-label="{l_deadline}">{deadline}</td>\n'
    '      <td data-label="{l_cell}">{cell}</td>\n'
    "    </tr>\n  "
)
DEADLINE = '<span class="deadline{css}" title="{label}">{label} {due}（{text}）</span>'
NO_DEADLINE = '<span class="muted">—</span>'
NO_CELL = '<span class="muted">{}</span>'


def deadline_html(d: dict | None) -> str:
    """petitions/_deadline.html for a row's next deadline (`views.deadline_info`), same markup."""
    if not d:
        return NO_DEADLINE
    css = " deadline--overdue" if d["overdue"] else " deadline--soon" if d["soon"] else ""
    return DEADLINE.format(
        css=css,
        label=escape(d["label"]),
        due=escape(d["date"].isoformat()),
        text=escape(d["text"]),
    )


def rows_html(rows: list[dict]) -> SafeString:
    """The <tr> of each row of `petitions.views._list_row`, as the list's <tbody> holds them; each
    case carries views.LIST_NAMES."""
    labels = {
        "l_received": escape(_("收到日期")),
        "l_summary": escape(_("概要")),
        "l_status": escape(_("状态")),
        "l_deadline": escape(_("下一期限")),
        "l_cell": escape(_("网格")),
    }
    out = []
    for row in rows:
        p, d = row["petition"], row["deadline"]
        cell = escape(p.cell_code) if p.cell_id else NO_CELL.format(escape(p.area_code))
        category = Category.label(p.category_name, p.category_parent)  # views.LIST_NAMES
        out.append(
            ROW.format(
                row_class=" petition-row--overdue" if d and d["overdue"] else "",
                url=escape(row["url"]),
                receipt_no=escape(p.receipt_no),
                received=escape(row["received"]),
                summary=escape(p.summary),
                category=escape(category),
                case_type=escape(p.get_case_type_display()),
                status=escape(p.status),
                status_label=escape(p.get_status_display()),
                deadline=deadline_html(d),
                cell=cell,
                **labels,
            )
        )
    return mark_safe("".join(out))  # noqa: S308 — every value above is escaped
