"""Boundary files for the import/validation tests, generated into tmp_path by the tests themselves.

`tm_forward` is an independent Gauss–Krüger (transverse Mercator) forward projection — Krüger's
n-series to n⁴, sub-millimetre within a zone — so that a control point written in EPSG:4549 can
be checked against its known WGS-84 position without trusting GDAL/PROJ to grade themselves.
The lattice mirrors tests/factories.build_hierarchy: two streets, four communities, eight cells.
"""

import json
import math
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

from tests.factories import STEP, X0, Y0

# CGCS2000 ellipsoid (GRS80 differs only in the 11th digit of f).
A = 6378137.0
F = 1 / 298.257222101


def tm_forward(
    lon: float,
    lat: float,
    lon0: float = 120.0,
    k0: float = 1.0,
    fe: float = 500_000.0,
    fn: float = 0.0,
) -> tuple[float, float]:
    """(easting, northing) of a CGCS2000 lon/lat in a transverse Mercator zone (EPSG:4549 by
    default: CM 120°E, k0 = 1, FE 500 000, FN 0)."""
    n = F / (2 - F)
    big_a = A / (1 + n) * (1 + n**2 / 4 + n**4 / 64)
    alpha = [
        n / 2 - 2 * n**2 / 3 + 5 * n**3 / 16 + 41 * n**4 / 180,
        13 * n**2 / 48 - 3 * n**3 / 5 + 557 * n**4 / 1440,
        61 * n**3 / 240 - 103 * n**4 / 140,
        49561 * n**4 / 161280,
    ]
    phi, dlam = math.radians(lat), math.radians(lon - lon0)
    e = 2 * math.sqrt(n) / (1 + n)
    t = math.sinh(math.atanh(math.sin(phi)) - e * math.atanh(e * math.sin(phi)))
    xi = math.atan2(t, math.cos(dlam))
    eta = math.atanh(math.sin(dlam) / math.sqrt(1 + t * t))
    x = eta + sum(a * math.cos(2 * j * xi) * math.sinh(2 * j * eta) for j, a in enumerate(alpha, 1))
    y = xi + sum(a * math.sin(2 * j * xi) * math.cosh(2 * j * eta) for j, a in enumerate(alpha, 1))
    return fe + k0 * big_a * x, fn + k0 * big_a * y


def metres_between(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Distance in metres between two nearby lon/lat points (local ellipsoidal radii)."""
    phi = math.radians((lat1 + lat2) / 2)
    e2 = F * (2 - F)
    w = math.sqrt(1 - e2 * math.sin(phi) ** 2)
    meridian = A * (1 - e2) / w**3
    normal = A / w
    dy = math.radians(lat2 - lat1) * meridian
    dx = math.radians(lon2 - lon1) * normal * math.cos(phi)
    return math.hypot(dx, dy)


def projected_area(ring: list, lon0: float = 120.0) -> float:
    """Area in m² of a lon/lat ring in the Gauss–Krüger zone of lon0 (shoelace formula)."""
    pts = [tm_forward(x, y, lon0) for x, y in ring]
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(pts, pts[1:], strict=False))) / 2


def box(x0: float, y0: float, x1: float, y1: float) -> list:
    """A closed lon/lat ring, counter-clockwise."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def cell_boxes() -> dict[str, tuple[float, float, float, float]]:
    """The eight cells of build_hierarchy by code: (x0, y0, x1, y1)."""
    out = {}
    for si in range(2):
        sx = X0 + si * 2 * STEP
        for ci, cy in enumerate([Y0 + STEP, Y0]):
            for ki in range(2):
                cx = sx + ki * STEP
                code = f"210204{si + 1:03d}{ci + 1:03d}{ki + 1:03d}"
                out[code] = (cx, cy, cx + STEP, cy + STEP)
    return out


def feature(code: str | None, name: str, rings: list, **props) -> dict:
    """A GeoJSON Polygon feature; rings are lists of [x, y]."""
    properties = {"code": code, "name": name, **props}
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "Polygon", "coordinates": rings},
    }


def cell_features(
    boxes: dict | None = None, project: Callable | None = None, **props
) -> list[dict]:
    """One feature per cell box, optionally with every vertex projected (e.g. to EPSG:4549)."""
    out = []
    for code, bounds in sorted((boxes or cell_boxes()).items()):
        ring = box(*bounds)
        if project:
            ring = [list(project(x, y)) for x, y in ring]
        out.append(feature(code, f"网格{code[-3:]}", [ring], **props))
    return out


def write_geojson(path: Path, features: Iterable[dict], srid: int | None = None) -> Path:
    """A FeatureCollection; `srid` adds the (pre-RFC 7946) named-CRS member GDAL honours."""
    doc = {"type": "FeatureCollection", "features": list(features)}
    if srid:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{srid}"}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def ogr2ogr(dst: Path, src: Path, driver: str, *options: str) -> Path:
    """Convert with gdal-bin's ogr2ogr (the tests' Shapefile, GeoPackage and KML come from here)."""
    subprocess.run(
        ["ogr2ogr", "-f", driver, *options, str(dst), str(src)],
        check=True,
        capture_output=True,
    )
    return dst
