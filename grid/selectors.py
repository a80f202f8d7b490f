"""Reads of the grid that users reach (API, map). Each takes `user`: jurisdiction scoping (a
later issue) narrows the querysets built here, so views never build their own."""

import json

from django.contrib.gis.db.models import MultiPolygonField
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import Polygon
from django.db import connection
from django.db.models import CharField, F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext as _

from grid.models import Community, District, GridCell, Street
from grid.services.locate import LocateResult, generation_filter, grid_locate

LEVEL_MODELS = {"district": District, "street": Street, "community": Community, "cell": GridCell}
# The parent relation of each level, and the path from a cell up to an area of that level.
PARENT = {"district": None, "street": "district", "community": "street", "cell": "community"}
CELL_TO_LEVEL = {
    "district": "community__street__district",
    "street": "community__street",
    "community": "community",
}
# At zoom 15 and above (street level) the full boundary shows; below it the stored simplified copy.
FULL_GEOMETRY_ZOOM = 15
GEOJSON_PRECISION = 7  # decimal places, ~1 cm


def area_list(*, user, level: str, generation: int | None = None) -> QuerySet:
    """Areas of one level in a generation (default: the active one) visible to `user`."""
    try:
        model = LEVEL_MODELS[level]
    except KeyError:
        raise Http404(_("未知的层级“%(level)s”。") % {"level": level}) from None
    if generation is None:
        condition, _ordering = generation_filter(None)
        qs = model.objects.filter(condition)
    else:
        qs = model.objects.filter(generation_id=generation)
    # Every signed-in user sees the whole district until jurisdiction scoping arrives.
    return qs


def _cell_total(level: str, field: str) -> Subquery:
    """Sum of a cell count (households, residents) over the cells inside each area of `level`."""
    path = CELL_TO_LEVEL[level]
    cells = (
        GridCell.objects.filter(**{path: OuterRef("pk")})
        .order_by()
        .values(path)
        .annotate(total=Sum(field))
        .values("total")
    )
    return Subquery(cells, output_field=IntegerField())


def area_layer_get(
    *,
    user,
    level: str,
    bbox: tuple[float, float, float, float] | None = None,
    zoom: int | None = None,
    generation: int | None = None,
) -> str:
    """A GeoJSON FeatureCollection (as text) of one level's areas, built from one query."""
    qs = area_list(user=user, level=level, generation=generation)
    if bbox is not None:
        box = Polygon.from_bbox(bbox)
        box.srid = 4326
        # PostGIS `&&` is a pure index test; SpatiaLite's MbrOverlaps means "partly overlaps"
        # (false for a box inside a polygon's MBR), so there we test intersection instead.
        if connection.vendor == "postgresql":
            qs = qs.filter(geom__bboverlaps=box)
        else:
            qs = qs.filter(geom__intersects=box)
    if zoom is not None and zoom >= FULL_GEOMETRY_ZOOM:
        shape = F("geom")
    else:
        shape = Coalesce("geom_simple", "geom", output_field=MultiPolygonField(srid=4326))
    parent = PARENT[level]
    if level == "cell":
        counts = {"n_households": F("households"), "n_residents": F("residents")}
    else:
        counts = {
            "n_households": _cell_total(level, "households"),
            "n_residents": _cell_total(level, "residents"),
        }
    rows = qs.annotate(
        geojson=AsGeoJSON(shape, precision=GEOJSON_PRECISION),
        up_code=F("parent_code") if parent else Value(None, output_field=CharField()),
        up_name=F(f"{parent}__name") if parent else Value(None, output_field=CharField()),
        **counts,
    ).order_by("code")
    return _feature_collection(
        level,
        rows.values_list(
            "id",
            "code",
            "name",
            "up_code",
            "up_name",
            "n_households",
            "n_residents",
            "area_m2",
            "geojson",
        ),
    )


def _feature_collection(level: str, rows) -> str:
    """Splice the database's GeoJSON geometry text into features without parsing it (building
    GeoJSON in Python cost 4–6× doing it in SQL)."""
    features = []
    for pk, code, name, up_code, up_name, households, residents, area_m2, geometry in rows:
        properties = {
            "id": pk,
            "code": code,
            "name": name,
            "level": level,
            "parent_code": up_code,
            "parent_name": up_name,
            "households": households,
            "residents": residents,
            "area_m2": round(area_m2, 1) if area_m2 is not None else None,
        }
        props = json.dumps(properties, ensure_ascii=False)
        features.append(
            f'{{"type":"Feature","id":{pk:d},"properties":{props},"geometry":{geometry or "null"}}}'
        )
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def gridcell_locate_get(
    *, user, lng: float, lat: float, crs: str = "wgs84", at=None
) -> LocateResult:
    """The cell (and its parents) at a point given in `crs`, as `user` may see it."""
    return grid_locate((lng, lat), crs=crs, at=at)
