"""Boundary import (after MapIt's mapit_import): one level of a boundary file into a draft generation.

Reads GeoJSON, Shapefile (+.prj, or a .zip of one), GeoPackage and KML through GDAL, in any CRS
the file declares or `srid` names (EPSG:4490, the CGCS2000 Gauss–Krüger zones such as EPSG:4549,
…), reprojected to 4326 with traditional GIS axis order (x = easting/longitude), whatever the EPSG
definition says. Each feature is checked on its own (code, geometry, parent) and rejected features
are reported without stopping the good ones; the accepted set is then validated against the
generation in metres. A dry run unless `commit=True`; the report is saved either way.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from django.contrib.gis.gdal import (
    CoordTransform,
    DataSource,
    GDALException,
    SpatialReference,
    SRSException,
)
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from grid.models import Generation, ValidationReport
from grid.services import validation as v
from grid.services.finalize import areas_finalize
from grid.services.generations import generation_create

PARENT_FK = {"street": "district_id", "community": "street_id", "cell": "community_id"}
BATCH_SIZE = 500


class BoundaryImportError(Exception):
    """The file or the request cannot be imported at all (as opposed to a rejected feature)."""


@dataclass
class ImportResult:
    report: ValidationReport
    generation: Generation | None
    created: int
    features: int


@dataclass
class _Row:
    code: str
    name: str
    geom: GEOSGeometry
    parent_id: int | None = None
    parent_code: str = ""
    households: int | None = None
    residents: int | None = None


class _Parents:
    """The parent level of the target generation: by code, and by location (STRtree in 4326)."""

    def __init__(self, level: str, generation: Generation | None):
        self.ids: dict[str, int] = {}
        self.codes: list[str] = []
        geoms = []
        parent_level = v.PARENT_LEVEL.get(level)
        if parent_level and generation is not None:
            model = v.LEVEL_MODELS[parent_level]
            rows = model.objects.filter(generation=generation).order_by("code")
            for pk, code, geom in rows.values_list("pk", "code", "geom"):
                self.ids[code] = pk
                self.codes.append(code)
                geoms.append(bytes(geom.wkb))
        self.geoms = np.asarray(shapely.from_wkb(geoms), dtype=object) if geoms else np.array([])
        self.tree = shapely.STRtree(self.geoms)

    def containing(self, geom: GEOSGeometry) -> str | None:
        """The parent holding the feature's point-on-surface (lowest code if on a shared edge)."""
        point = shapely.point_on_surface(shapely.from_wkb(bytes(geom.wkb)))
        hits = self.tree.query(point, predicate="intersects")
        return min((self.codes[i] for i in hits), default=None)


@dataclass
class _Reader:
    level: str
    fields: dict[str, str | None]
    transform: CoordTransform
    parents: _Parents
    fix_invalid: bool
    findings: list

    def reject(self, rule: str, code: str, message: str) -> None:
        self.findings.append(v.finding(rule, v.ERROR, code, f"{message}{_('该要素未导入。')}"))

    def warn(self, rule: str, code: str, message: str) -> None:
        self.findings.append(v.finding(rule, v.WARNING, code, message))

    def read(self, feature, number: int) -> _Row | None:
        """One feature → a row to write, or None (rejected, with a finding)."""
        code = _text(feature, self.fields["code"])
        if not code:
            self.reject("missing_code", "", _("第 %(n)d 个要素缺少代码。") % {"n": number})
            return None
        geom = self.geometry(feature, code)
        if geom is None:
            return None
        parent = self.parent(code, _text(feature, self.fields["parent"]), geom)
        if parent is None:
            return None
        full_code, parent_code = parent
        row = _Row(code=full_code, name=self.name(feature, full_code), geom=geom)
        if parent_code:
            row.parent_code, row.parent_id = parent_code, self.parents.ids[parent_code]
        row.households = self.count(feature, "households", full_code)
        row.residents = self.count(feature, "residents", full_code)
        return row

    def geometry(self, feature, code: str) -> GEOSGeometry | None:
        """The feature's geometry as a valid MultiPolygon in 4326 (repaired only if asked)."""
        try:
            ogr = feature.geom
        except GDALException:
            self.reject("missing_geometry", code, _("缺少几何。"))
            return None
        try:
            # KML comes as 2.5D, some Shapefiles carry M: boundaries are flat.
            ogr.set_3d(False)
            ogr.set_measured(False)
            ogr.transform(self.transform)
            geom = GEOSGeometry(memoryview(bytes(ogr.wkb)), srid=4326)
        except GDALException as exc:
            self.reject(
                "bad_coordinates", code, _("无法转换坐标：%(e)s。") % {"e": str(exc).rstrip(".")}
            )
            return None
        xmin, ymin, xmax, ymax = geom.extent if not geom.empty else (0, 0, 0, 0)
        if geom.empty or xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90:
            self.reject("bad_coordinates", code, _("坐标超出经纬度范围，坐标系可能不对。"))
            return None
        geom = _multipolygon(geom)
        if geom is None:
            self.reject("unsupported_geometry", code, _("几何不是面（多边形）。"))
            return None
        if geom.valid:
            return geom
        reason = geom.valid_reason
        if not self.fix_invalid:
            message = _("几何无效：%(reason)s（可选择自动修复）。") % {"reason": reason}
            self.reject("invalid_geometry", code, message)
            return None
        fixed = v.polygonal(shapely.make_valid(shapely.from_wkb(bytes(geom.wkb))))
        if fixed.is_empty:
            self.reject("invalid_geometry", code, _("几何无效且无法修复：%(r)s。") % {"r": reason})
            return None
        message = _("几何无效（%(reason)s），已自动修复。") % {"reason": reason}
        self.warn("invalid_geometry", code, message)
        return GEOSGeometry(memoryview(shapely.to_wkb(fixed)), srid=4326)

    def parent(self, code: str, parent_value: str, geom) -> tuple[str, str] | None:
        """(full code, parent code): the parent by `parent_field`, else by the code's prefix, else
        by location. A 3-digit code is a sequence within the parent found that way."""
        if self.level == "district":
            if problem := v.code_problem(code, None, "district"):
                self.reject("code_not_extending_parent", code, problem)
                return None
            return code, ""
        sequence = len(code) == 3 and code.isascii() and code.isdigit()
        if not sequence and (problem := v.code_problem(code, None, self.level)):
            self.reject("code_not_extending_parent", code, problem)
            return None
        wanted = parent_value or ("" if sequence else code[:-3])
        if wanted in self.parents.ids:
            parent_code = wanted
        else:
            parent_code = self.parents.containing(geom)
            if parent_code is None:
                message = _("找不到上级：代码 %(p)s 不存在，位置也不在任何上级范围内。") % {
                    "p": wanted or "-"
                }
                self.reject("missing_parent", code, message)
                return None
        full_code = parent_code + code if sequence else code
        if problem := v.code_problem(full_code, parent_code, self.level):
            if parent_code != wanted:
                problem += _("（上级代码 %(w)s 不存在，按位置位于 %(p)s 内。）") % {
                    "w": wanted or "-",
                    "p": parent_code,
                }
            self.reject("code_not_extending_parent", full_code, problem)
            return None
        if parent_code != wanted:
            message = _("上级代码 %(w)s 不存在，按位置找到上级 %(p)s。") % {
                "w": wanted or "-",
                "p": parent_code,
            }
            self.warn("parent_found_spatially", full_code, message)
        return full_code, parent_code

    def name(self, feature, code: str) -> str:
        name = _text(feature, self.fields["name"])
        if not name:
            self.warn("missing_name", code, _("缺少名称。"))
        elif len(name) > 100:
            self.warn("name_truncated", code, _("名称超过 100 字，已截断。"))
        return name[:100]

    def count(self, feature, role: str, code: str) -> int | None:
        """A non-negative whole number (households, residents), or None with a warning."""
        if not self.fields[role]:
            return None
        value = feature.get(self.fields[role])
        if value is None or value == "":
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if number < 0 or number != int(number):
            message = _("%(field)s 的值“%(value)s”不是非负整数，已忽略。") % {
                "field": self.fields[role],
                "value": value,
            }
            self.warn("bad_number", code, message)
            return None
        return int(number)


def _text(feature, field_name: str | None) -> str:
    """A field as text; integral numbers without '.0' (codes stored in numeric columns)."""
    if not field_name:
        return ""
    value = feature.get(field_name)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _multipolygon(geom: GEOSGeometry) -> MultiPolygon | None:
    """Polygon → MultiPolygon; a collection of polygons is merged; anything else is refused."""
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "Polygon":
        return MultiPolygon(geom, srid=4326)
    polygonal = ("Polygon", "MultiPolygon")
    if geom.geom_type == "GeometryCollection" and all(p.geom_type in polygonal for p in geom):
        polys = [q for part in geom for q in ([part] if part.geom_type == "Polygon" else part)]
        return MultiPolygon(*polys, srid=4326)
    return None


def _open_layer(source: str | Path, layer: str | int | None):
    path = str(source)
    if path.lower().endswith(".zip") and not path.startswith("/vsizip/"):
        path = f"/vsizip/{path}"  # a zipped Shapefile, as uploaded through the admin
    try:
        ds = DataSource(path)
    except GDALException as exc:
        raise BoundaryImportError(_("无法打开文件 %(f)s：%(e)s") % {"f": source, "e": exc}) from exc
    if layer is None:
        layer = 0
    elif isinstance(layer, str) and layer.isdigit() and layer not in [lyr.name for lyr in ds]:
        layer = int(layer)
    try:
        return ds, ds[layer]
    except (IndexError, KeyError, GDALException) as exc:
        names = "、".join(lyr.name for lyr in ds)
        raise BoundaryImportError(
            _("文件中没有图层 %(l)s（有：%(names)s）。") % {"l": layer, "names": names}
        ) from exc


def _source_srs(layer, srid: int | None) -> SpatialReference:
    if srid:
        try:
            return SpatialReference(int(srid))
        except (GDALException, SRSException, ValueError) as exc:
            raise BoundaryImportError(_("未知的坐标系 EPSG:%(s)s。") % {"s": srid}) from exc
    srs = layer.srs
    if srs is None:
        raise BoundaryImportError(_("文件没有坐标系信息（如缺少 .prj），请指定 SRID。"))
    return srs


def _field(layer, wanted: str | None, role: str) -> str | None:
    """The layer's field for a role: exact name, else a unique case-insensitive match."""
    if not wanted:
        return None
    names = list(layer.fields)
    if wanted in names:
        return wanted
    folded = [n for n in names if n.lower() == wanted.lower()]
    if len(folded) == 1:
        return folded[0]
    raise BoundaryImportError(
        _("找不到%(role)s字段“%(f)s”（文件中的字段：%(names)s）。")
        % {"role": role, "f": wanted, "names": "、".join(names) or "-"}
    )


def _existing(level: str, generation: Generation | None) -> tuple[list, list, list]:
    """Codes, parent codes and WKB of the level's areas already in the generation."""
    if generation is None:
        return [], [], []
    columns = ["code", "geom"] + (["parent_code"] if level != "district" else [])
    rows = v.LEVEL_MODELS[level].objects.filter(generation=generation).values_list(*columns)
    rows = list(rows.order_by("code"))
    parent_codes = [r[2] if level != "district" else "" for r in rows]
    return [r[0] for r in rows], parent_codes, [bytes(r[1].wkb) for r in rows]


def _spatial(level: str, rows: list[_Row], generation: Generation | None, parents: _Parents):
    """The spatial rules for the accepted rows, together with the areas already stored."""
    if not rows:
        return []
    codes, parent_codes, wkb = _existing(level, generation)
    new = np.array([False] * len(codes) + [True] * len(rows))
    geoms = np.asarray(shapely.from_wkb(wkb + [bytes(r.geom.wkb) for r in rows]), dtype=object)
    srid = v.metric_srid_for(geoms)
    children = v.AreaSet(
        codes + [r.code for r in rows],
        v.to_metric(geoms, srid),
        parent_codes + [r.parent_code for r in rows],
        new,
    )
    mothers = None
    if level != "district":
        mothers = v.AreaSet(parents.codes, v.to_metric(parents.geoms, srid))
    return v.spatial_findings(children, mothers)


def _duplicates(rows: list[_Row], existing: set[str]) -> tuple[list[_Row], list[dict]]:
    """Drop every copy of a code used twice in the file or already stored (no guessing)."""
    found = v.duplicate_findings([r.code for r in rows], existing)
    for item in found:
        item["message"] += _("该要素未导入。")
    bad = {item["code"] for item in found}
    return [r for r in rows if r.code not in bad], found


def _write(level: str, rows: list[_Row], generation: Generation) -> int:
    model = v.LEVEL_MODELS[level]
    objs = []
    for row in rows:
        extra = {}
        if level != "district":
            extra = {PARENT_FK[level]: row.parent_id, "parent_code": row.parent_code}
        if level == "cell":
            extra.update(households=row.households, residents=row.residents)
        objs.append(
            model(generation=generation, code=row.code, name=row.name, geom=row.geom, **extra)
        )
    # With history rows (accounts/history.py): bulk_create alone sends no signals.
    bulk_create_with_history(objs, model, batch_size=BATCH_SIZE)
    return len(objs)


def _check_target(generation: Generation | None, commit: bool) -> None:
    if commit and generation is not None and generation.status != Generation.Status.DRAFT:
        raise BoundaryImportError(
            _("只能写入草稿版本；版本“%(g)s”的状态是%(s)s。")
            % {"g": generation.name, "s": generation.get_status_display()}
        )


def boundary_import(
    *,
    source: str | Path,
    level: str,
    generation: Generation | None = None,
    generation_name: str = "",
    code_field: str = "code",
    name_field: str = "name",
    parent_field: str | None = None,
    households_field: str | None = None,
    residents_field: str | None = None,
    srid: int | None = None,
    layer: str | int | None = None,
    fix_invalid: bool = False,
    commit: bool = False,
) -> ImportResult:
    """Read one level of boundaries from a file, validate it, and (with commit) write it."""
    if level not in v.CODE_LENGTHS:
        raise BoundaryImportError(_("未知层级：%(l)s。") % {"l": level})
    if level != "cell" and (households_field or residents_field):
        raise BoundaryImportError(_("户数和人口只适用于网格层级。"))
    _check_target(generation, commit)
    _ds, lyr = _open_layer(source, layer)  # keep the DataSource alive while reading
    fields = {
        "code": _field(lyr, code_field, _("代码")),
        "name": _field(lyr, name_field, _("名称")),
        "parent": _field(lyr, parent_field, _("上级代码")),
        "households": _field(lyr, households_field, _("户数")),
        "residents": _field(lyr, residents_field, _("人口")),
    }
    transform = CoordTransform(_source_srs(lyr, srid), SpatialReference(4326))
    parents = _Parents(level, generation)
    reader = _Reader(level, fields, transform, parents, fix_invalid, [])
    rows, features = [], 0
    for number, feature in enumerate(lyr, start=1):
        features = number
        if (row := reader.read(feature, number)) is not None:
            rows.append(row)
    existing = set(_existing(level, generation)[0])
    rows, duplicate_found = _duplicates(rows, existing)
    findings = reader.findings + duplicate_found + _spatial(level, rows, generation, parents)
    source_text = str(source)[-300:]
    if not commit:
        report = v.report_save(
            generation=generation,
            level=level,
            source=source_text,
            committed=False,
            findings=findings,
        )
        return ImportResult(report=report, generation=generation, created=0, features=features)
    with transaction.atomic():
        if generation is None:
            name = generation_name or _("导入 %(f)s") % {"f": Path(str(source)).name}
            generation = generation_create(name=name[:200])
        else:
            generation = Generation.objects.select_for_update().get(pk=generation.pk)
            _check_target(generation, commit)
        created = _write(level, rows, generation)
        report = v.report_save(
            generation=generation,
            level=level,
            source=source_text,
            committed=True,
            findings=findings,
        )
        areas_finalize(generation=generation, levels=[level])
    return ImportResult(report=report, generation=generation, created=created, features=features)
