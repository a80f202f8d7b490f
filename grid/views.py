"""HTML pages of the grid app: the home page and the map of the active generation.

The map page carries no inline script of its own: its configuration (API URL, basemap, extent,
translated strings) goes into a `json_script` element that grid/static/grid/map.js reads, so the
page keeps working under a strict Content-Security-Policy.
"""

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.gis.db.models import Extent
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from grid.models import Community, District, Generation, GridCell, Street
from grid.services.generations import generation_at

# Levels the map can show, outermost first (the district is a single polygon: not worth a layer).
MAP_LEVELS = ["street", "community", "cell"]

TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/%(layer)s_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=%(layer)s&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk=%(key)s"
)


def basemap_layers() -> list[dict]:
    """Tile layers for the configured basemap (MAP_BASEMAP); empty means a plain background.

    Each layer is {"name", "url", "options"} as Leaflet's L.tileLayer takes them. Tianditu's
    vec_w/cva_w are EPSG:3857 tiles, Leaflet's default CRS, so no projection plugin is needed.
    """
    kind = settings.MAP_BASEMAP
    if kind == "tianditu" and settings.MAP_TIANDITU_KEY:
        options = {
            "subdomains": "01234567",
            "maxZoom": 18,
            "attribution": _("天地图"),
        }
        key = settings.MAP_TIANDITU_KEY
        return [
            {
                "name": _("天地图矢量"),
                "url": TIANDITU_URL % {"layer": "vec", "key": key},
                "options": options,
            },
            {
                "name": _("天地图注记"),
                "url": TIANDITU_URL % {"layer": "cva", "key": key},
                "options": options,
            },
        ]
    if kind == "xyz" and settings.MAP_TILE_URL:
        return [
            {
                "name": _("底图"),
                "url": settings.MAP_TILE_URL,
                "options": {"maxZoom": 19, "attribution": settings.MAP_TILE_ATTRIBUTION},
            }
        ]
    return []


def generation_extent(generation: Generation) -> list[float] | None:
    """[minlng, minlat, maxlng, maxlat] of a generation's outermost level that has areas."""
    for model in (District, Street, Community, GridCell):
        extent = model.objects.filter(generation=generation).aggregate(e=Extent("geom"))["e"]
        if extent:
            return list(extent)
    return None


def map_strings() -> dict[str, str]:
    """Translated strings map.js shows (JS has no gettext of its own here)."""
    return {
        "code": _("代码"),
        "name": _("名称"),
        "parent": _("上级"),
        "households": _("户数"),
        "residents": _("人口"),
        "area": _("面积"),
        "km2": _("平方公里"),
        "loading": _("加载中…"),
        "loaded": _("已显示 %(n)s 个区域"),
        "error": _("边界加载失败，请稍后重试。"),
        "unknown": _("—"),
        "street": _("街道"),
        "community": _("社区"),
        "cell": _("网格"),
    }


class HomeView(LoginRequiredMixin, TemplateView):
    """Start page: links to the map and (for staff) the admin; later issues add their pages."""

    template_name = "grid/home.html"
    login_url = reverse_lazy("grid:login")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["generation"] = generation_at()
        return context


class MapView(LoginRequiredMixin, TemplateView):
    """The map of the active generation: street, community and cell layers from the layers API."""

    template_name = "grid/map.html"
    login_url = reverse_lazy("grid:login")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        generation = generation_at()
        context["generation"] = generation
        context["levels"] = [(level, map_strings()[level]) for level in MAP_LEVELS]
        context["map_config"] = {
            # map.js puts the level in place of the placeholder.
            "layerUrl": reverse("grid-api:layer", kwargs={"level": "LEVEL"}),
            "levels": MAP_LEVELS,
            "initialLevel": "street",
            "hasGeneration": generation is not None,
            "extent": generation_extent(generation) if generation else None,
            "basemap": basemap_layers(),
            "strings": map_strings(),
        }
        return context
