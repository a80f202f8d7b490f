"""Split a community into grid cells of a target area or household count (SPEC §2).

Method: seed points spread evenly inside the community (k-means on random samples, i.e. Lloyd
relaxation), a Voronoi diagram of the seeds, and the community's boundary plus the Voronoi edges
noded together and polygonized. Every cell is a union of faces of that one arrangement, so
neighbouring cells share exactly the same vertices: no gaps, no overlaps by construction. Cells
smaller than `sliver_ratio` × the target area are merged into the neighbour with the longest
shared border.

Geometry is worked in metres in a *local affine frame* (longitude and latitude scaled by the
WGS-84 metres per degree at the community's centre), not in a Gauss–Krüger CRS such as
EPSG:4549: an affine map keeps straight edges straight both ways, so a vertex placed on a
community edge in metres is still on that edge in 4326. Through EPSG:4549 a 500 m edge bows by
~4 mm, leaving ~1 m² slivers between cells and their community. Areas in the affine frame are
within 0.01 % of geodesic over a community; stored areas come from `areas_finalize` (geodesic).
"""

import math
from dataclasses import dataclass

import numpy as np
import shapely
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from grid.models import Community, Generation, GridCell
from grid.services.finalize import areas_finalize

# Average persons per household, ≈ the urban figure of the 2020 census for Liaoning; a placeholder
# until real resident counts are imported per cell.
RESIDENTS_PER_HOUSEHOLD = 2.5
MAX_CELLS = 999  # the 3-digit cell sequence of a 15-digit code
_WGS84_A = 6_378_137.0
_WGS84_E2 = 0.006_694_379_990_14


class GeneratorRefused(Exception):
    """Raised when cells cannot be generated (not a draft, bad targets, too many cells)."""


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude at a latitude, on the WGS-84 ellipsoid."""
    s2 = math.sin(math.radians(lat)) ** 2
    meridional = _WGS84_A * (1 - _WGS84_E2) / (1 - _WGS84_E2 * s2) ** 1.5
    normal = _WGS84_A / math.sqrt(1 - _WGS84_E2 * s2)
    rad = math.pi / 180
    return normal * math.cos(math.radians(lat)) * rad, meridional * rad


@dataclass(frozen=True)
class LocalFrame:
    """An affine lon/lat ↔ metres map around (lon0, lat0); straight edges stay straight."""

    lon0: float
    lat0: float
    kx: float
    ky: float

    @classmethod
    def around(cls, lon: float, lat: float) -> "LocalFrame":
        kx, ky = metres_per_degree(lat)
        return cls(lon, lat, kx, ky)

    def to_metres(self, geom: shapely.Geometry) -> shapely.Geometry:
        origin, scale = np.array([self.lon0, self.lat0]), np.array([self.kx, self.ky])
        return shapely.transform(geom, lambda c: (c - origin) * scale)

    def to_degrees(self, geom: shapely.Geometry) -> shapely.Geometry:
        origin, scale = np.array([self.lon0, self.lat0]), np.array([self.kx, self.ky])
        return shapely.transform(geom, lambda c: c / scale + origin)

    def from_geos(self, geom: GEOSGeometry) -> shapely.Geometry:
        return self.to_metres(shapely.from_wkb(bytes(geom.wkb)))

    def to_geos(self, geom: shapely.Geometry) -> MultiPolygon:
        """Metres → a 4326 MultiPolygon for storage."""
        out = GEOSGeometry(memoryview(shapely.to_wkb(self.to_degrees(geom))), srid=4326)
        return out if out.geom_type == "MultiPolygon" else MultiPolygon(out, srid=4326)


# --- geometry (metres) ------------------------------------------------------------------------


def points_inside(poly: shapely.Geometry, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` uniformly random points inside a polygon (rejection sampling on its bounds)."""
    minx, miny, maxx, maxy = poly.bounds
    fill = max(poly.area / max((maxx - minx) * (maxy - miny), 1e-9), 0.01)
    shapely.prepare(poly)
    found: list[np.ndarray] = []
    have = 0
    while have < count:
        batch = rng.uniform((minx, miny), (maxx, maxy), size=(int((count - have) / fill) + 64, 2))
        batch = batch[shapely.contains_xy(poly, batch[:, 0], batch[:, 1])]
        found.append(batch)
        have += len(batch)
    return np.concatenate(found)[:count]


def _nearest(points: np.ndarray, sites: np.ndarray) -> np.ndarray:
    # |p − s|² = |p|² − 2p·s + |s|²; |p|² does not change the argmin, and a matrix product is
    # ~10× faster than broadcasting the differences.
    # Chunked so that a large k never builds a huge points × sites matrix at once.
    norms = (sites**2).sum(axis=1)
    return np.concatenate(
        [
            (norms - 2 * chunk @ sites.T).argmin(axis=1)
            for chunk in np.split(points, range(8192, len(points), 8192))
        ]
    )


def kmeans_seeds(
    poly: shapely.Geometry, k: int, rng: np.random.Generator, iterations: int = 30
) -> np.ndarray:
    """k evenly spread seed points inside a polygon: k-means++ then Lloyd steps on samples."""
    samples = points_inside(poly, min(max(60 * k, 2000), 30_000), rng)
    centers = [samples[rng.integers(len(samples))]]
    d2 = ((samples - centers[0]) ** 2).sum(axis=1)
    for _i in range(1, k):
        pick = samples[rng.choice(len(samples), p=d2 / d2.sum())]
        centers.append(pick)
        d2 = np.minimum(d2, ((samples - pick) ** 2).sum(axis=1))
    sites = np.array(centers)
    labels = None
    for _i in range(iterations):
        previous, labels = labels, _nearest(samples, sites)
        if previous is not None and np.array_equal(previous, labels):
            break
        counts = np.bincount(labels, minlength=k)
        filled = counts > 0
        for axis in (0, 1):
            sums = np.bincount(labels, weights=samples[:, axis], minlength=k)
            sites[filled, axis] = sums[filled] / counts[filled]
    # A centroid can fall outside a concave polygon: move it to the nearest sample inside.
    outside = ~shapely.contains_xy(poly, sites[:, 0], sites[:, 1])
    if outside.any():
        sites[outside] = samples[_nearest(sites[outside], samples)]
    return np.unique(sites, axis=0)


def faces_inside(poly: shapely.Geometry, lines: shapely.Geometry) -> np.ndarray:
    """The faces of the arrangement of the polygon's boundary and `lines` that lie inside it.

    One noding of all linework means adjacent faces share identical vertices."""
    noded = shapely.union_all([poly.boundary, lines])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    inner = shapely.get_coordinates(shapely.point_on_surface(faces))
    shapely.prepare(poly)
    return faces[shapely.contains_xy(poly, inner[:, 0], inner[:, 1])]


def regions_by_site(
    faces: np.ndarray, sites: np.ndarray, weights: np.ndarray | None = None
) -> list[shapely.Geometry | None]:
    """Union the faces per site, each face going to the site of least (power) distance."""
    inner = shapely.get_coordinates(shapely.point_on_surface(faces))
    d2 = ((inner[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2)
    labels = (d2 - (weights if weights is not None else 0)).argmin(axis=1)
    return [
        shapely.union_all(faces[labels == i]) if (labels == i).any() else None
        for i in range(len(sites))
    ]


def voronoi_regions(poly: shapely.Geometry, sites: np.ndarray) -> list[shapely.Geometry | None]:
    """The polygon partitioned by the Voronoi diagram of the sites (one region per site)."""
    if len(sites) == 1:
        return [poly]
    frame = shapely.box(*poly.bounds).buffer(poly.length)
    edges = shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=frame, only_edges=True)
    return regions_by_site(faces_inside(poly, edges), sites)


def best_neighbour(pieces: list[shapely.Geometry], i: int) -> int:
    """The piece sharing the longest border with piece i (the nearest one for an island)."""
    others = [j for j in range(len(pieces)) if j != i]
    geoms = np.array([pieces[j] for j in others])
    shared = shapely.length(shapely.intersection(shapely.boundary(geoms), pieces[i].boundary))
    if shared.max() > 1e-6:
        return others[int(shared.argmax())]
    return others[int(shapely.distance(geoms, pieces[i]).argmin())]


def reading_order(pieces: list[shapely.Geometry], north: float, band: float) -> list[int]:
    """Indices in reading order: rows of height `band` from `north` by centroid, west→east."""
    xy = shapely.get_coordinates(shapely.centroid(np.array(pieces)))
    rows = np.floor((north - xy[:, 1]) / band)
    return sorted(range(len(pieces)), key=lambda i: (rows[i], xy[i, 0], xy[i, 1]))


def cells_partition(
    poly: shapely.Geometry, *, count: int, sliver_ratio: float = 0.25, seed: int = 0
) -> list[shapely.Geometry]:
    """Split a polygon (metres) into about `count` cells covering it exactly, in reading order.

    Rows are bands about one cell high — √(area / cells) — counted from the polygon's north
    edge by cell centroid; cells are numbered row by row, west→east within a row."""
    rng = np.random.default_rng(seed)
    target = poly.area / count
    regions = voronoi_regions(poly, kmeans_seeds(poly, count, rng)) if count > 1 else [poly]
    pieces = [p for r in regions if r is not None for p in shapely.get_parts(r)]
    while len(pieces) > 1:
        areas = shapely.area(np.array(pieces))
        small = int(areas.argmin())
        if areas[small] >= sliver_ratio * target:
            break
        into = best_neighbour(pieces, small)
        pieces[into] = shapely.union(pieces[into], pieces[small])
        del pieces[small]
    band = math.sqrt(poly.area / len(pieces))
    return [pieces[i] for i in reading_order(pieces, poly.bounds[3], band)]


# --- households and rows ----------------------------------------------------------------------


def households_split(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to `weights` summing to `total` (largest remainder)."""
    quotas = np.array(weights, dtype=float) / sum(weights) * total
    shares = np.floor(quotas).astype(int)
    for i in np.argsort(-(quotas - shares), kind="stable")[: total - int(shares.sum())]:
        shares[i] += 1
    return [int(s) for s in shares]


def cell_name(community_name: str, number: int) -> str:
    """A cell's default name, e.g. 泰安社区第3网格 (stored data, in the source language)."""
    return f"{community_name.removesuffix('居委会')}第{number}网格"


def cells_rows(
    *,
    generation: Generation,
    community: Community,
    geoms: list[MultiPolygon],
    areas: list[float],
    households: int | None,
) -> list[GridCell]:
    """Unsaved GridCell rows for a community's cells, coded 001, 002, … in the given order."""
    if len(geoms) > MAX_CELLS:
        raise GeneratorRefused(_("一个社区最多 %(n)d 个网格。") % {"n": MAX_CELLS})
    shares = households_split(households, areas) if households is not None else None
    return [
        GridCell(
            generation=generation,
            community=community,
            parent_code=community.code,
            code=f"{community.code}{number:03d}",
            name=cell_name(community.name, number),
            geom=geom,
            households=shares[number - 1] if shares else None,
            residents=round(shares[number - 1] * RESIDENTS_PER_HOUSEHOLD) if shares else None,
        )
        for number, geom in enumerate(geoms, start=1)
    ]


# --- service ----------------------------------------------------------------------------------


def _target_count(
    area: float,
    target_area_m2: float | None,
    target_households: int | None,
    households: int | None,
) -> int:
    if (target_area_m2 is None) == (target_households is None):
        raise GeneratorRefused(_("请指定目标网格面积或目标户数（二选一）。"))
    if target_area_m2 is not None:
        if target_area_m2 <= 0:
            raise GeneratorRefused(_("目标网格面积必须大于 0。"))
        count = max(1, round(area / target_area_m2))
    else:
        if not target_households or target_households <= 0 or not households:
            raise GeneratorRefused(_("按户数划分时须给出社区总户数和大于 0 的目标户数。"))
        count = math.ceil(households / target_households)
    if count > MAX_CELLS:
        raise GeneratorRefused(
            _("将生成 %(count)d 个网格，超过上限 %(n)d。") % {"count": count, "n": MAX_CELLS}
        )
    return count


def _community_in(community: Community, generation: Generation | None) -> Community:
    generation = generation or community.generation
    if generation.status != Generation.Status.DRAFT:
        raise GeneratorRefused(
            _("只能在草稿版本中生成网格（该版本状态：%(s)s）。")
            % {"s": generation.get_status_display()}
        )
    if community.generation_id == generation.pk:
        return community
    found = Community.objects.filter(generation=generation, code=community.code).first()
    if found is None:
        raise GeneratorRefused(
            _("版本 %(g)s 中没有社区 %(c)s。") % {"g": generation.pk, "c": community.code}
        )
    return found


def grid_generate(
    *,
    community: Community,
    generation: Generation | None = None,
    target_area_m2: float | None = None,
    target_households: int | None = None,
    households: int | None = None,
    sliver_ratio: float = 0.25,
    seed: int = 0,
) -> list[GridCell]:
    """Replace a community's cells in a draft generation with generated ones covering it."""
    if not 0 <= sliver_ratio < 1:
        raise GeneratorRefused(_("碎片比例须在 0 到 1 之间。"))
    if households is not None and households < 0:
        raise GeneratorRefused(_("户数不能为负。"))
    community = _community_in(community, generation)
    centre = community.geom.centroid
    frame = LocalFrame.around(centre.x, centre.y)
    poly = frame.from_geos(community.geom)
    count = _target_count(poly.area, target_area_m2, target_households, households)
    pieces = cells_partition(poly, count=count, sliver_ratio=sliver_ratio, seed=seed)
    rows = cells_rows(
        generation=community.generation,
        community=community,
        geoms=[frame.to_geos(p) for p in pieces],
        areas=[p.area for p in pieces],
        households=households,
    )
    with transaction.atomic():
        GridCell.objects.filter(generation=community.generation, community=community).delete()
        bulk_create_with_history(rows, GridCell)  # with history rows (accounts/history.py)
        areas_finalize(generation=community.generation, levels=["cell"])
    return list(GridCell.objects.filter(community=community).order_by("code"))
