"""The monthly report pages: the SPEC §5 table with 同比/环比 (every number links to its records),
the drill-down record lists, the exports (XLSX / CSV / PDF, access-logged) and the frozen
snapshots with their differences from a fresh as-of run.

Who: admin, district bureau, leaders, street and community staff, for the areas of their grants
(an area outside them is 404, like a role without reports). Record lists are the engine's
figure_records intersected with the user's scoped querysets (petitions / visits / disputes /
mediation selectors), and show no personal data: number, date, category, status and area.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import quote_plus, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import F, Q, QuerySet, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts import scoping
from accounts.models import AccessLog, Role
from accounts.services import access_log_record
from config.pagination import CountedPaginator
from dashboard import exports
from dashboard.models import ReportSnapshot
from dashboard.selectors import cached, data_version
from dashboard.services import default_report_areas, snapshot_changed_records, snapshot_compare
from dashboard.services import snapshot_freeze as freeze_service
from dashboard.stats import FIGURE_DEFS, LEVELS, TZ, Period, figure_parts, figure_records
from dashboard.stats.engine import is_grouped
from dashboard.stats.families import FAMILIES
from dashboard.tasks import last_month
from grid.models import GridCell
from mediation.models import Agreement, Dispute, MediationCase
from mediation.selectors import dispute_list, mediation_list
from petitions.models import Category, Organization, Petition, RepeatSubmission, Visit
from petitions.selectors import petition_list
from petitions.selectors_visits import user_organization_list, visit_list

REPORT_ROLES = {Role.ADMIN, Role.BUREAU, Role.LEADER, Role.STREET_CLERK, Role.COMMUNITY_STAFF}
FREEZE_ROLES = {Role.ADMIN, Role.BUREAU}
PAGE_SIZE = 50
REPORT_LEVELS = ("street", "community", "cell")
NEXT_LEVEL = {6: "street", 9: "community", 12: "cell"}
EXPORTS = {
    "xlsx": (exports.report_xlsx, exports.XLSX_TYPE),
    "csv": (exports.report_csv, "text/csv; charset=utf-8"),
    "pdf": (exports.report_pdf, "application/pdf"),
}


# --- who may see what -------------------------------------------------------------------------


def _require_viewer(user) -> None:
    """Reports are for admin, bureau, leaders, street and community staff; others get 404."""
    if not scoping.roles(user) & REPORT_ROLES:
        raise Http404


def _scope(user) -> list[str] | None:
    """The area codes the user's report grants cover; None: everything (admin)."""
    if scoping.is_admin(user):
        return None
    return scoping.area_codes(user, REPORT_ROLES - {Role.ADMIN})


def in_scope(user, code: str) -> bool:
    scope = _scope(user)
    return scope is None or any(code.startswith(c) for c in scope)


def _roots(user) -> list[str]:
    """The top areas the user may report on (their grants' codes not under another one)."""
    from django.conf import settings

    scope = _scope(user)
    if scope is None:
        return [settings.CIVICGRID_DISTRICT_CODE]
    codes = sorted(set(scope), key=lambda c: (len(c), c))
    return [c for c in codes if not any(c != o and c.startswith(o) for o in codes)]


def _scope_q(user, field: str = "area_code") -> Q:
    scope = _scope(user)
    if scope is None:
        return Q()
    q = Q(pk__in=[])
    for code in scope:
        q |= Q(**{f"{field}__startswith": code})
    return q


# --- parameters -------------------------------------------------------------------------------


def _period(text: str | None, default: Period) -> Period:
    if not text:
        return default
    try:
        return Period.parse(text)
    except (ValueError, TypeError) as e:
        raise BadRequest(_("统计期格式不正确。")) from e


def _as_of(text: str | None) -> dt.datetime | None:
    """An as-of instant: an ISO datetime (naive = Beijing time), or a date = the end of that
    (Beijing) day."""
    if not text:
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=TZ)
        moment = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise BadRequest(_("数据截至时间格式不正确。")) from e
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=TZ)


def _report_params(request) -> dict:
    """period, area, level and as_of of a report request; an area outside the user's grants
    (or unknown) is 404."""
    user = request.user
    roots = _roots(user)
    area = request.GET.get("area") or (roots[0] if roots else "")
    if not area or not in_scope(user, area) or len(area) not in exports.AREA_MODELS:
        raise Http404
    if area not in exports.area_names([area]):
        raise Http404
    level = request.GET.get("level")
    if level is None:
        level = NEXT_LEVEL.get(len(area))
    elif level and level not in REPORT_LEVELS:
        raise BadRequest(_("区域层级不正确。"))
    as_of = _as_of(request.GET.get("as_of"))
    return {
        "period": _period(request.GET.get("period"), last_month()),
        "area": area,
        "level": level or None,
        "as_of": as_of,
        # The date the form shows: as typed (a date means the end of that day).
        "as_of_day": _as_of_day(request.GET.get("as_of"), as_of),
    }


def _as_of_day(text: str | None, as_of: dt.datetime | None) -> str:
    if as_of is None:
        return ""
    if text and len(text) == 10:
        return text
    return as_of.astimezone(TZ).date().isoformat()


def _query(params: dict, **extra) -> str:
    data = {
        "period": params["period"].key(),
        "area": params["area"],
        "level": params["level"] or "",
    }
    if params.get("as_of"):
        data["as_of"] = params["as_of"].isoformat()
    data.update(extra)
    return urlencode({k: v for k, v in data.items() if v not in (None, "")})


def _made_by(user, area_code: str) -> str:
    """制表单位: the office of the report's area the user works for, else their first one."""
    offices = (
        Organization.Kind.BUREAU,
        Organization.Kind.STREET_OFFICE,
        Organization.Kind.COMMUNITY,
    )
    orgs = user_organization_list(user)
    org = orgs.filter(area_code=area_code, kind__in=offices).first()
    if org is None and not scoping.is_admin(user):
        org = orgs.first()
    return org.name if org else ""


def _scope_key(user) -> str:
    scope = _scope(user)
    return "*" if scope is None else "|".join(sorted(set(scope)))


def _key_parts(params: dict) -> tuple:
    """What, besides the scope, data version and language, a cached report depends on."""
    as_of = params["as_of"]
    return (
        params["area"],
        params["period"].key(),
        params["level"] or "",
        as_of.isoformat() if as_of else "",
    )


def _build(request, params: dict, version: str | None = None) -> exports.Report:
    """The report of the request's area, period, level and as-of instant, cached under the data
    version (dashboard.selectors.cached): a hit skips the three engine runs; any write the
    version sees (a new case, an event, a boundary activation) makes the next request recompute.
    制表单位 is the user's own and is set after the cache."""
    area, period, level, as_of = params["area"], params["period"], params["level"], params["as_of"]
    report = cached(
        "report",
        _scope_key(request.user),
        _key_parts(params),
        lambda: exports.report_build(area_code=area, period=period, level=level, as_of=as_of),
        version=version,
    )
    made_by = _made_by(request.user, area)
    return dataclasses.replace(report, made_by=made_by or report.area_name)


# --- the report page --------------------------------------------------------------------------


def records_url(
    *,
    key: str,
    area: str,
    period: Period,
    part: str = "numerator",
    unassigned: str | None = None,
    as_of: dt.datetime | None = None,
) -> str:
    data = {"key": key, "area": area, "period": period.key(), "part": part}
    if unassigned:
        data["unassigned"] = unassigned
    if as_of:
        data["as_of"] = as_of.isoformat()
    return f"{reverse('dashboard-report:records')}?{urlencode(data)}"


class RecordLinks:
    """records_url for the many cells of one page (a cell-level report has ~90,000 links):
    reverse once, each distinct query value quoted once. The same text as records_url, byte for
    byte (urlencode quotes each value with quote_plus, safe="")."""

    def __init__(self, as_of: dt.datetime | None = None):
        self._head = reverse("dashboard-report:records") + "?key="
        self._tail = f"&as_of={quote_plus(as_of.isoformat())}" if as_of else ""
        self._quoted: dict[str, str] = {}

    def _q(self, value: str) -> str:
        quoted = self._quoted.get(value)
        if quoted is None:
            quoted = self._quoted[value] = quote_plus(value)
        return quoted

    def __call__(
        self,
        *,
        key: str,
        area: str,
        period_key: str,
        part: str = "numerator",
        unassigned: str | None = None,
    ) -> str:
        q = self._q
        text = f"{self._head}{q(key)}&area={q(area)}&period={q(period_key)}&part={q(part)}"
        if unassigned:
            text += f"&unassigned={q(unassigned)}"
        return text + self._tail


class _Page:
    """What every cell of one report page shares: the link builder and, per column part, the
    period its link points to (key) and the hover text's words (computed once, not per cell)."""

    def __init__(self, report: exports.Report):
        self.links = RecordLinks(report.as_of)
        self.value_key = report.period.key()
        yoy, mom = report.period.same_last_year(), report.period.previous()
        self.bases = {
            "yoy": (yoy.key(), _("去年同期"), yoy.label()),
            "mom": (mom.key(), _("上期"), mom.label()),
        }

    def link(self, row: exports.ReportRow, key: str, period_key: str, part="numerator") -> str:
        return self.links(
            key=key,
            area=row.code,
            period_key=period_key,
            part=part,
            unassigned=row.unassigned_level,
        )


def _cell(row: exports.ReportRow, col: exports.Column, page: _Page) -> dict:
    """One table cell: its text, the link to its records and the hover text."""
    figure = row.figures[col.key]
    defn = FIGURE_DEFS[col.key]
    value = row.value(col)
    cell = {
        "key": col.key,
        "text": exports.cell_text(value, col.kind),
        "kind": col.kind,
        "part": col.part,
    }
    if col.part == "value":
        cell["href"] = page.link(row, figure.key, page.value_key)
        if defn.denominator:
            cell["title"] = _("%(desc)s：%(num)s ÷ %(den)s") % {
                "desc": defn.description,
                "num": figure.numerator,
                "den": figure.denominator,
            }
            cell["numerator"] = figure.numerator
            cell["denominator"] = figure.denominator
            cell["den_href"] = page.link(row, figure.key, page.value_key, "denominator")
        else:
            cell["title"] = str(defn.description)
        return cell
    base = row.base(col)
    period_key, which, label = page.bases[col.part]
    cell["href"] = page.link(row, base.key, period_key)
    cell["title"] = _("%(which)s（%(period)s）：%(value)s") % {
        "which": which,
        "period": label,
        "value": base.display,
    }
    return cell


def _table(report: exports.Report, params: dict) -> list[dict]:
    cols = exports.columns()
    page = _Page(report)
    out = []
    for row in report.rows:
        drill = None
        if not row.unassigned_level and len(row.code) in NEXT_LEVEL and row.depth > 0:
            drill = "?" + _query({**params, "area": row.code, "level": NEXT_LEVEL[len(row.code)]})
        out.append({"row": row, "cells": [_cell(row, c, page) for c in cols], "drill": drill})
    return out


def _area_choices(user, report: exports.Report) -> list[tuple[str, str]]:
    """The user's top areas and the streets under them (active generation), and the report's
    own area (a community reached by drilling down)."""
    from dashboard.stats import active_generation
    from grid.models import Street

    roots = _roots(user)
    codes = list(roots)
    gen = active_generation()
    if gen is not None:
        for root in roots:
            if len(root) < 9:
                codes += list(
                    Street.objects.filter(generation=gen, code__startswith=root)
                    .order_by("code")
                    .values_list("code", flat=True)
                )
    names = exports.area_names(codes, gen)
    choices = [(c, names.get(c, c)) for c in codes]
    if report.area_code not in codes:
        choices.append((report.area_code, report.area_name))
    return choices


def _table_html(request, report: exports.Report, params: dict, version: str) -> str:
    """The report table as HTML, cached like the report it shows (the same key parts, under the
    data version; the language is part of every key): at district level it is ~2,000 template
    values and links, two thirds of a repeat request's CPU (issue #9). Nothing in it depends on
    the user beyond the scope in the key."""
    html = cached(
        "report-table",
        _scope_key(request.user),
        _key_parts(params),
        lambda: render_to_string(
            "dashboard/_report_table.html",
            {"header": exports.header_html_rows(), "table": _table(report, params)},
        ),
        version=version,
    )
    return mark_safe(html)  # noqa: S308 — rendered by the template engine (autoescaped) above


@login_required
@require_GET
def report_monthly(request):
    _require_viewer(request.user)
    params = _report_params(request)
    version = data_version()  # once for the report and its table
    report = _build(request, params, version)
    snapshot = ReportSnapshot.objects.filter(
        period_start=report.period.start,
        period_end=report.period.end,
        area_code=report.area_code,
    ).first()
    query = _query(params)
    context = {
        "tab": "report",
        "report": report,
        "params": params,
        "table_html": _table_html(request, report, params, version),
        "charts": exports.report_charts(report, trends=False),
        "period_text": exports.period_text(report.period),
        "footer": exports.footer_texts(report),
        "footnote": exports.footnote(),
        "areas": _area_choices(request.user, report),
        "levels": [(lvl, exports.LEVEL_LABELS[lvl]) for lvl in REPORT_LEVELS],
        "exports": [
            (fmt.upper(), reverse("dashboard-report:export", kwargs={"fmt": fmt}) + "?" + query)
            for fmt in EXPORTS
        ],
        "snapshot": snapshot,
    }
    return render(request, "dashboard/report.html", context)


# --- exports ----------------------------------------------------------------------------------


@login_required
@require_GET
def report_export(request, fmt: str):
    if fmt not in EXPORTS:
        raise Http404
    _require_viewer(request.user)
    params = _report_params(request)
    report = _build(request, params)
    render_export, content_type = EXPORTS[fmt]
    body = render_export(report)
    filename = f"{report.title}.{fmt}"
    access_log_record(
        user=request.user,
        action=AccessLog.Action.EXPORT,
        label=filename,
        detail={
            "report": "monthly",
            "format": fmt,
            "period": report.period.key(),
            "area": report.area_code,
            "level": report.level or "",
            "as_of": report.data_as_of.isoformat(),
            "rows": len(report.rows),
        },
        request=request,
    )
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# --- drill-down record lists ------------------------------------------------------------------


# A petition of a record list is a values() row of these (record_row reads them) …
PETITION_ROW_FIELDS = ("pk", "receipt_no", "received_at", "case_type", "status", "area_code")
# … and its category's names, joined where rows are read (record_list_rows), never where they are
# counted: a count keeps a join (a month of a district: 220 ms instead of 16 ms). Scalar
# subqueries for the names, as before, ran once per page row, each a scan of the category table
# (the parent's a hash join of two): a page of a district's month at 100,000 cases took 2.0 ms,
# 1.2 ms with the names joined, 0.8 ms without names (issue #9).
PETITION_ROW_NAMES = {
    "category_name": F("category__name"),
    "category_parent": F("category__parent__name"),
}


def record_list_rows(qs: QuerySet) -> QuerySet:
    """scoped_records' rows with what record_row shows beside them: for petitions, the names of
    their category and its parent."""
    if qs.model is Petition:
        return qs.values(*PETITION_ROW_FIELDS, **PETITION_ROW_NAMES)
    return qs


def record_page(qs: QuerySet, number) -> Page:
    """The page `number` of scoped_records' `qs`: its rows read with record_list_rows, counted
    without."""
    return CountedPaginator(record_list_rows(qs), PAGE_SIZE, counted=qs).get_page(number)


def _within(scoped: QuerySet, qs: QuerySet):
    """The records of `qs` in the scoped queryset: the two WHERE clauses ANDed when `qs` is a
    plain one-row-per-record queryset (one statement over the indexed columns), else by id."""
    if not is_grouped(qs) and not qs.query.is_sliced and not qs.query.distinct:
        return scoped & qs.order_by()
    return scoped.filter(pk__in=qs.values("pk"))


def scoped_records(user, qs: QuerySet, *, area_code: str | None = None) -> QuerySet:
    """A figure's records (engine queryset) that the user may see, through the same selectors
    as the rest of the site, ordered newest first. `area_code`: the area figure_records took the
    records from (every record's area code starts with it)."""
    pks = qs.values("pk")
    model = qs.model
    if model is Petition:
        # A petition is in the user's scope when its area is under one of their area grants,
        # OR … (accounts.scoping.petition_scope_q: the report roles are among its area roles).
        # Records all under an area the user's report grants cover are therefore all in scope:
        # the scope's own `area_code LIKE` per row would only repeat the figure's.
        covered = area_code is not None and in_scope(user, area_code)
        return (
            (qs if covered else _within(petition_list(user), qs))
            # Only what record_row shows, as plain rows (no model instance per record; the
            # list's joins would also fetch cell geometry).
            .select_related(None)
            .order_by("-received_at", "-pk")
            .values(*PETITION_ROW_FIELDS)
        )
    if model is RepeatSubmission:
        return (
            _within(
                RepeatSubmission.objects.filter(petition__in=petition_list(user).values("pk")), qs
            )
            .select_related("petition__category__parent")
            .order_by("-received_at", "-pk")
        )
    if model is Visit:
        return _within(visit_list(user), qs).order_by("-received_at", "-pk")
    if model is Dispute:
        return _within(dispute_list(user), qs).order_by("-found_at", "-pk")
    if model is MediationCase:
        return _within(mediation_list(user), qs).order_by("-accepted_at", "-pk")
    if model is Agreement:
        cases = mediation_list(user).values("pk")
        return (
            Agreement.objects.filter(pk__in=pks, case__in=cases)
            .select_related("case")
            .order_by("-reached_at", "-pk")
        )
    if model is GridCell:  # the residents behind per 1,000: geography, no personal data
        return qs.order_by("code")
    raise ValueError(f"no scoped list for {model._meta.label}")


def _local_date(moment: dt.datetime | None) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d") if moment else ""


def _detail_links(user) -> bool:
    """Case pages carry personal data: leaders get the list without links."""
    return scoping.sees_personal_data(user)


_PK_MARK = 987654321  # no other number of the detail URL looks like this


def petition_urls():
    """pk → the petition's detail URL: reverse("petitions:detail") once, not once per row."""
    head, tail = reverse("petitions:detail", args=[_PK_MARK]).split(str(_PK_MARK))
    return lambda pk: f"{head}{int(pk)}{tail}"


def record_rows(objs, user) -> list[dict]:
    """record_row for a page of records: who the user is and the status names are looked up
    once per page, not once per row."""
    links = _detail_links(user)
    statuses = {value: str(label) for value, label in Petition.Status.choices}
    accusation = str(Petition.CaseType.ACCUSATION.label)
    urls = petition_urls()
    return [record_row(obj, user, links=links, statuses=statuses, accusation=accusation,
                       petition_url=urls)
            for obj in objs]  # fmt: skip


def record_row(obj, user, *, links=None, statuses=None, accusation=None, petition_url=None) -> dict:
    """A record as a list row: number, date, category, status, area — never personal data."""
    links = _detail_links(user) if links is None else links
    if isinstance(obj, dict):  # a petition as a record_list_rows() row of scoped_records
        if obj["case_type"] == Petition.CaseType.ACCUSATION and not links:
            category = accusation or str(Petition.CaseType.ACCUSATION.label)
        else:
            category = Category.label(obj["category_name"], obj["category_parent"])
        return {
            "no": obj["receipt_no"],
            "href": (petition_url or petition_urls())(obj["pk"]) if links else "",
            "date": _local_date(obj["received_at"]),
            "category": category,
            "status": statuses[obj["status"]] if statuses else Petition.Status(obj["status"]).label,
            "area": obj["area_code"],
        }
    if isinstance(obj, Petition):
        if obj.case_type == Petition.CaseType.ACCUSATION and not links:
            # links ⇔ the user sees personal data (_detail_links).
            category = accusation or str(obj.get_case_type_display())
        else:
            category = str(obj.category)
        return {
            "no": obj.receipt_no,
            "href": reverse("petitions:detail", args=[obj.pk]) if links else "",
            "date": _local_date(obj.received_at),
            "category": category,
            "status": statuses[obj.status] if statuses else obj.get_status_display(),
            "area": obj.area_code,
        }
    if isinstance(obj, RepeatSubmission):
        return {
            "no": _("%(no)s（重复）") % {"no": obj.petition.receipt_no},
            "href": reverse("petitions:detail", args=[obj.petition_id]) if links else "",
            "date": _local_date(obj.received_at),
            "category": str(obj.petition.category),
            "status": _("重复信访（%(channel)s）") % {"channel": obj.get_channel_display()},
            "area": obj.area_code,
        }
    if isinstance(obj, Visit):
        return {
            "no": _("来访 #%(pk)s") % {"pk": obj.pk},
            "href": "",
            "date": _local_date(obj.received_at),
            "category": _("%(n)s人") % {"n": obj.headcount},
            "status": _("集体访") if obj.is_group else _("个体访"),
            "area": obj.area_code,
        }
    if isinstance(obj, Dispute):
        return {
            "no": _("纠纷 #%(pk)s") % {"pk": obj.pk},
            "href": reverse("mediation:dispute-detail", args=[obj.pk]) if links else "",
            "date": _local_date(obj.found_at),
            "category": obj.get_category_display(),
            "status": obj.get_status_display(),
            "area": obj.area_code,
        }
    if isinstance(obj, MediationCase):
        return {
            "no": obj.case_no,
            "href": reverse("mediation:case-detail", args=[obj.pk]) if links else "",
            "date": _local_date(obj.accepted_at),
            "category": obj.get_type_display(),
            "status": obj.get_status_display(),
            "area": obj.area_code,
        }
    if isinstance(obj, Agreement):
        return {
            "no": obj.case.case_no,
            "href": reverse("mediation:case-detail", args=[obj.case_id]) if links else "",
            "date": _local_date(obj.reached_at),
            "category": obj.get_form_display(),
            "status": _("调解协议"),
            "area": obj.case.area_code,
        }
    if isinstance(obj, GridCell):
        return {
            "no": obj.code,
            "href": "",
            "date": "",
            "category": obj.name,
            "status": _("%(n)s人") % {"n": obj.residents or 0},
            "area": obj.code,
        }
    raise ValueError(f"no list row for {type(obj).__name__}")


# What a figure sums over its records, where it is not their count.
RECORD_SUMS = {
    Visit: ("headcount", gettext_lazy("人次")),
    GridCell: ("residents", gettext_lazy("人")),
}


def _sub_parts(key: str, part: str) -> list[str]:
    """The figure_records parts of a drill-down part: a mixed denominator (repeat_rate's new
    cases + repeats) is listed as one section per record type."""
    parts = figure_parts(key)
    if part in parts:
        return [part]
    if part == "denominator" and FIGURE_DEFS[key].denominator:
        return [p for p in parts if p.startswith("denominator.")]
    raise Http404


def _part_label(key: str, part: str) -> str:
    defn = FIGURE_DEFS[key]
    side, _dot, family = part.partition(".")
    if not defn.denominator:
        text = _("计入的记录")
    elif side == "numerator":
        text = _("分子")
    else:
        text = _("分母")
    if family:
        text = f"{text} · {FAMILIES[family].model._meta.verbose_name}"
    return text


def _with(query, **changes) -> str:
    data = query.copy()
    for k, v in changes.items():
        data[k] = v
    return "?" + data.urlencode()


@login_required
@require_GET
def report_records(request):
    """Exactly the records a figure counts (numerator or denominator) in an area and period,
    as far as the user may see them, paginated."""
    user = request.user
    _require_viewer(user)
    key = request.GET.get("key", "")
    if key not in FIGURE_DEFS:
        raise Http404
    area = request.GET.get("area", "")
    if not area or not in_scope(user, area):
        raise Http404
    period = _period(request.GET.get("period"), last_month())
    part = request.GET.get("part") or "numerator"
    unassigned = request.GET.get("unassigned") or None
    if unassigned is not None and (
        unassigned not in REPORT_LEVELS or LEVELS[unassigned] <= len(area)
    ):
        raise Http404
    as_of = _as_of(request.GET.get("as_of"))
    sections = []
    for sub in _sub_parts(key, part):
        records = figure_records(
            key=key,
            area_code=area,
            period=period,
            as_of=as_of,
            part=sub,
            unassigned_level=unassigned,
        )
        qs = scoped_records(user, records, area_code=area)
        page = record_page(qs, request.GET.get("page"))
        total = None
        if (summed := RECORD_SUMS.get(qs.model)) is not None:
            total = (qs.aggregate(n=Sum(summed[0]))["n"] or 0, str(summed[1]))
        sections.append(
            {
                "part": sub,
                "label": _part_label(key, sub),
                "page": page,
                "rows": record_rows(page, user),
                "sum": total,
            }
        )
    names = exports.area_names([area])
    defn = FIGURE_DEFS[key]
    keep = request.GET.copy()
    keep.pop("page", None)
    context = {
        "tab": "report",
        "defn": defn,
        "area": area,
        "area_name": names.get(area, area),
        "unassigned_label": exports.LEVEL_LABELS.get(unassigned, "") if unassigned else "",
        "period": period,
        "part": part,
        "part_label": _part_label(key, part),
        "as_of": as_of,
        "sections": sections,
        "count": sum(s["page"].paginator.count for s in sections),
        "query": keep.urlencode(),
        "other_parts": [
            (_part_label(key, p), _with(keep, part=p))
            for p in (["numerator", "denominator"] if defn.denominator else [])
            if p != part
        ],
        "back": f"{reverse('dashboard-report:monthly')}?"
        + urlencode({"period": period.key(), "area": area if len(area) < 15 else area[:12]}),
    }
    return render(request, "dashboard/records.html", context)


# --- snapshots --------------------------------------------------------------------------------


def _snapshot_list(user) -> QuerySet[ReportSnapshot]:
    return ReportSnapshot.objects.filter(_scope_q(user)).order_by("-period_start", "area_code")


def _snapshot_get(user, pk: int) -> ReportSnapshot:
    try:
        return _snapshot_list(user).get(pk=pk)
    except ReportSnapshot.DoesNotExist as e:
        raise Http404 from e


def _may_freeze(user) -> bool:
    return bool(scoping.roles(user) & FREEZE_ROLES)


@login_required
@require_GET
def snapshot_index(request):
    user = request.user
    _require_viewer(user)
    qs = _snapshot_list(user)
    period_text = request.GET.get("period") or ""
    if period_text:
        period = _period(period_text, last_month())
        qs = qs.filter(period_start=period.start, period_end=period.end)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "tab": "snapshots",
        "page": page,
        "period": period_text,
        "may_freeze": _may_freeze(user),
        "freeze_default": last_month().key(),
        "query": urlencode({"period": period_text}) if period_text else "",
    }
    return render(request, "dashboard/snapshot_list.html", context)


@login_required
@require_POST
def snapshot_freeze(request):
    """Freeze a past month's report now for the district and streets in the user's scope (an
    area already frozen for that month keeps its first snapshot)."""
    user = request.user
    _require_viewer(user)
    if not _may_freeze(user):
        raise PermissionDenied
    try:
        period = Period.parse(request.POST.get("period", ""))
    except (ValueError, TypeError):
        period = None
    today = timezone.localtime(timezone.now(), TZ).date()
    if period is None or period.kind != "month" or period.end >= today:
        messages.error(request, _("只能冻结已结束月份的月报（格式如 2026-03）。"))
        return redirect("dashboard-report:snapshots")
    areas = [c for c in default_report_areas() if in_scope(user, c)]
    if not areas:
        messages.error(request, _("您的辖区内没有可冻结的区域。"))
        return redirect("dashboard-report:snapshots")
    snaps = freeze_service(period=period, area_codes=areas)
    messages.success(
        request,
        _("%(period)s月报已冻结（%(n)d个区域；已冻结过的保留原快照）。")
        % {"period": period.label(), "n": len(snaps)},
    )
    return redirect(f"{reverse('dashboard-report:snapshots')}?period={period.key()}")


def _part_model(key: str, part: str):
    defn = FIGURE_DEFS[key]
    side, _dot, family = part.partition(".")
    if not family:
        ((family, _n),) = getattr(defn, side)
    return FAMILIES[family].model


def _changed_records(user, snapshot: ReportSnapshot, key: str) -> list[dict]:
    """The records that make a figure differ, per part: added since the freeze / removed."""
    out = []
    for part, change in snapshot_changed_records(snapshot, key).items():
        model = _part_model(key, part)
        for which, pks in (("added", change["added"]), ("removed", change["removed"])):
            if not pks:
                continue
            records = scoped_records(user, model.objects.filter(pk__in=pks))
            out.append(
                {
                    "part": _part_label(key, part),
                    "which": which,
                    "rows": record_rows(record_list_rows(records), user),
                }
            )
    return out


@login_required
@require_GET
def snapshot_detail(request, pk: int):
    """A frozen report beside a fresh run as of now: every figure, the differences marked, and
    for each difference the records that were added or removed since the freeze."""
    user = request.user
    _require_viewer(user)
    snapshot = _snapshot_get(user, pk)
    rows = snapshot_compare(snapshot, changed_only=False)
    period = snapshot.period
    for row in rows:
        common = {"key": row["key"], "area": snapshot.area_code, "period": period}
        row["frozen_href"] = records_url(**common, as_of=snapshot.as_of)
        row["fresh_href"] = records_url(**common)
        kind = FIGURE_DEFS[row["key"]].kind
        row["frozen_text"] = exports.cell_text(row["frozen"]["value"], kind)
        row["fresh_text"] = exports.cell_text(row["fresh"]["value"], kind)
        row["delta_text"] = exports.cell_text(row["delta"], kind) if row["changed"] else ""
        row["records"] = _changed_records(user, snapshot, row["key"]) if row["changed"] else []
    context = {
        "tab": "snapshots",
        "snapshot": snapshot,
        "rows": rows,
        "changed": sum(1 for r in rows if r["changed"]),
        "now": timezone.now(),
        "report_href": f"{reverse('dashboard-report:monthly')}?"
        + urlencode({"period": period.key(), "area": snapshot.area_code}),
    }
    return render(request, "dashboard/snapshot_detail.html", context)
