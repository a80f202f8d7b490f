"""The map dashboard page (/dashboard/): a choropleth of one figure for one period, drill-down by
click, a side panel with the area's figures and trend, case markers and a heat layer.

No inline script (CSP): the page's configuration goes into a json_script element that
dashboard/static/dashboard/dashboard.js reads; every layer comes from the dashboard API.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.gis.db.models import Extent
from django.core.exceptions import PermissionDenied
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from dashboard.api import current_month
from dashboard.selectors import (
    LEVEL_MODELS,
    NO_DATA_COLOR,
    Scope,
    dashboard_scope,
    figure_meta,
    level_of,
    marker_kind,
)
from dashboard.stats import FIGURE_DEFS, FIGURE_KEYS, Period
from grid.models import Generation
from grid.services.generations import generation_at
from grid.views import basemap_layers

LEVEL_LABELS = {
    "district": _("区"),
    "street": _("街道"),
    "community": _("社区"),
    "cell": _("网格"),
}


def dashboard_strings() -> dict[str, str]:
    """Translated strings dashboard.js shows (JS has no gettext of its own here)."""
    return {
        "loading": _("加载中…"),
        "loaded": _("已显示 %(n)s 个区域"),
        "error": _("数据加载失败，请稍后重试。"),
        "empty": _("辖区内没有可显示的区域。"),
        "all": _("全部辖区"),
        "noData": _("—"),
        "legendTitle": _("图例"),
        "trendTitle": _("近12个月趋势"),
        "figure": _("指标"),
        "value": _("本期"),
        "mom": _("环比"),
        "yoy": _("同比"),
        "previous": _("上期"),
        "lastYear": _("去年同期"),
        "numerator": _("分子"),
        "denominator": _("分母"),
        "records": _("查看明细"),
        "denominatorParts": _("分母明细："),
        "drill": _("点击区域查看下一级"),
        "todayNote": _(
            "按现行边界回溯：有位置的记录按今天生效的网格边界重新归属；没有位置的记录（来访、"
            "调解案件、协议履行）不能回溯，相应指标不可选；此时数字不链接明细（明细按记录时的边界）。"
        ),
        "markersTruncated": _("案件点位过多，仅显示前 %(n)s 个，请放大地图或下钻。"),
        "petition": _("信访事项"),
        "dispute": _("矛盾纠纷"),
        "up": _("上升"),
        "down": _("下降"),
        "flat": _("持平"),
        "intake": _("新信访事项"),
        "repeats": _("重复信访"),
        "residents": _("常住人口"),
    }


def _roots(scope: Scope) -> list[dict]:
    """The user's scope areas (code, name, level) in the active generation."""
    out = []
    for code in scope.roots:
        model = LEVEL_MODELS[level_of(code)]
        name = (
            model.objects.filter(generation__status=Generation.Status.ACTIVE, code=code)
            .values_list("name", flat=True)
            .first()
        )
        if name is not None:
            out.append({"code": code, "name": name, "level": level_of(code)})
    return out


def _extent(roots: list[dict]) -> list[float] | None:
    """[minlng, minlat, maxlng, maxlat] around the user's scope areas."""
    boxes = []
    for root in roots:
        model = LEVEL_MODELS[root["level"]]
        box = model.objects.filter(
            generation__status=Generation.Status.ACTIVE, code=root["code"]
        ).aggregate(e=Extent("geom"))["e"]
        if box:
            boxes.append(box)
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes)]  # fmt: skip


def _period(text: str | None) -> Period:
    try:
        return Period.parse(text) if text else current_month()
    except (ValueError, TypeError):
        return current_month()


class DashboardMapView(LoginRequiredMixin, TemplateView):
    template_name = "dashboard/map.html"
    login_url = reverse_lazy("grid:login")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        scope = dashboard_scope(self.request.user)
        if not scope.roots:
            raise PermissionDenied(_("您没有查看统计看板的权限。"))
        query = self.request.GET
        figure = query.get("figure") if query.get("figure") in FIGURE_DEFS else "petitions_total"
        levels = scope.levels()
        level = query.get("level") if query.get("level") in levels else scope.level()
        period = _period(query.get("period"))
        roots = _roots(scope)
        figures = [figure_meta(key) for key in FIGURE_KEYS]
        context.update(
            generation=generation_at(),
            figures=figures,
            figure=figure,
            period=period,
            levels=[(lv, LEVEL_LABELS[lv]) for lv in levels],
            level=level,
            roots=roots,
        )
        context["dashboard_config"] = {
            "urls": {
                "choropleth": reverse("dashboard-api:choropleth"),
                # dashboard.js puts the area code in place of the placeholder.
                "area": reverse("dashboard-api:area", kwargs={"code": "000000"}),
                "markers": reverse("dashboard-api:markers"),
                "heat": reverse("dashboard-api:heat"),
            },
            "figures": figures,
            "markerKinds": {key: marker_kind(key) for key in FIGURE_KEYS},
            "levels": levels,
            "levelLabels": {k: str(v) for k, v in LEVEL_LABELS.items()},
            "initial": {
                "figure": figure,
                "period": period.key(),
                "level": level,
                "boundaries": "recorded",
            },
            "roots": roots,
            "extent": _extent(roots),
            "basemap": basemap_layers(),
            "noDataColor": NO_DATA_COLOR,
            "strings": dashboard_strings(),
        }
        return context
