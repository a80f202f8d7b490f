"""The demo district: the real codes and names of 沙河口区 with generated geometry, and demo logins.

No open source gives street or community boundaries for the district (grid/data/SOURCES.md), so
the geometry is made up: an irregular outline inside the district's bounding box, split into the
7 streets (a power diagram — Voronoi with weights — sized by each street's number of communities),
each street into its communities (Voronoi), each community into cells by the generator. Every
level is cut from the same linework in one metric frame, so children cover their parent exactly.
The generation is flagged `is_demo` and says so in its name and description.
"""

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import shapely
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from grid.models import Community, District, Generation, GridAssignment, GridCell, Street
from grid.services.finalize import areas_finalize
from grid.services.generations import generation_activate
from grid.services.generator import (
    LocalFrame,
    best_neighbour,
    cells_partition,
    cells_rows,
    faces_inside,
    kmeans_seeds,
    points_inside,
    reading_order,
    regions_by_site,
    voronoi_regions,
)

DIVISIONS_CSV = Path(__file__).resolve().parent.parent / "data" / "shahekou_divisions.csv"
# WGS-84 bounding box of the district (approximate, grid/data/SOURCES.md).
BBOX = (121.528, 38.859, 121.600, 38.948)
TARGET_CELLS = 1500
HOUSEHOLDS_PER_CELL = (300, 500)  # local practice, SPEC §2
# Rough relative positions (0 = west/south, 1 = east/north) of each street's seed in the bbox, so
# the made-up map is not absurd; the real boundaries are unknown to us.
STREET_LAYOUT = {
    "210204006": (0.55, 0.85),  # 春柳
    "210204008": (0.25, 0.55),  # 马栏
    "210204009": (0.55, 0.55),  # 南沙河口
    "210204010": (0.2, 0.2),  # 黑石礁
    "210204011": (0.3, 0.85),  # 李家
    "210204017": (0.7, 0.2),  # 星海湾
    "210204018": (0.8, 0.65),  # 西安路
}
DEMO_PASSWORD = "demo-{role}-2026"  # a demo: deterministic and printed by grid_demo


def divisions_load(path: Path = DIVISIONS_CSV) -> dict:
    """The CSV as {"district": row, "streets": [rows], "communities": {street code: [rows]}}."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    streets = sorted((r for r in rows if r["level"] == "street"), key=lambda r: r["code"])
    communities: dict[str, list[dict]] = {s["code"]: [] for s in streets}
    for row in sorted((r for r in rows if r["level"] == "community"), key=lambda r: r["code"]):
        communities[row["parent_code"]].append(row)
    (district,) = (r for r in rows if r["level"] == "district")
    return {"district": district, "streets": streets, "communities": communities}


# --- generated geometry (metres in one LocalFrame) --------------------------------------------


def district_outline(frame: LocalFrame, rng: np.random.Generator) -> shapely.Polygon:
    """An irregular star-shaped outline filling the bounding box (a few random harmonics)."""
    theta = np.linspace(0, 2 * math.pi, 96, endpoint=False)
    radius = np.ones_like(theta)
    for m in range(2, 7):
        radius += rng.uniform(0.02, 0.09) * np.cos(m * theta + rng.uniform(0, 6.3))
    radius *= rng.uniform(0.97, 1.03, size=theta.shape)
    xy = np.column_stack([radius * np.cos(theta), radius * np.sin(theta)])
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    lo = frame.to_metres(shapely.Point(BBOX[0], BBOX[1]))
    hi = frame.to_metres(shapely.Point(BBOX[2], BBOX[3]))
    # Stretch into the box, 0.5 % inside each edge; an affine stretch keeps it simple and valid.
    scale = np.array([(hi.x - lo.x) / (x1 - x0), (hi.y - lo.y) / (y1 - y0)]) * 0.995
    mid = np.array([(lo.x + hi.x) / 2, (lo.y + hi.y) / 2])
    return shapely.Polygon((xy - [(x0 + x1) / 2, (y0 + y1) / 2]) * scale + mid)


def power_regions(
    poly: shapely.Geometry, sites: np.ndarray, weights: np.ndarray
) -> list[shapely.Geometry | None]:
    """The polygon cut by the power diagram of weighted sites (every radical line, one noding)."""
    reach = poly.length + float(np.abs(sites).max()) + float(np.sqrt(np.abs(weights).max()))
    lines = []
    for i in range(len(sites)):
        for j in range(i + 1, len(sites)):
            normal = sites[j] - sites[i]
            offset = (normal @ (sites[j] + sites[i]) - weights[j] + weights[i]) / 2
            foot = normal * offset / (normal @ normal)
            along = np.array([-normal[1], normal[0]]) / math.hypot(*normal) * reach * 4
            lines.append(shapely.LineString([foot - along, foot + along]))
    return regions_by_site(faces_inside(poly, shapely.MultiLineString(lines)), sites, weights)


def single_part(regions: list[shapely.Geometry | None]) -> list[shapely.Geometry]:
    """One polygon per region: detached fragments join the neighbour with the longest border."""
    pieces, owner = [], []
    for i, region in enumerate(regions):
        if region is None:
            raise RuntimeError(f"region {i} is empty")
        parts = sorted(shapely.get_parts(region), key=lambda p: -p.area)
        pieces += parts
        owner += [i] + [-1] * (len(parts) - 1)
    while -1 in owner:
        small = min((k for k, o in enumerate(owner) if o == -1), key=lambda k: pieces[k].area)
        into = best_neighbour(pieces, small)
        pieces[into] = shapely.union(pieces[into], pieces[small])
        del pieces[small], owner[small]
    return [pieces[owner.index(i)] for i in range(len(regions))]


def streets_partition(
    outline: shapely.Polygon, frame: LocalFrame, sizes: dict[str, int], rng: np.random.Generator
) -> dict[str, shapely.Geometry]:
    """Split the outline into streets with areas roughly proportional to `sizes`.

    Capacity-constrained power diagram on random samples: each site's weight grows while its
    share of samples is below target, and sites drift to the centroid of what they hold."""
    codes = sorted(sizes)
    share = np.array([sizes[c] for c in codes], dtype=float)
    share /= share.sum()
    samples = points_inside(outline, 10_000, rng)
    lo = frame.to_metres(shapely.Point(BBOX[0], BBOX[1]))
    hi = frame.to_metres(shapely.Point(BBOX[2], BBOX[3]))
    sites = np.array(
        [
            [lo.x + fx * (hi.x - lo.x), lo.y + fy * (hi.y - lo.y)]
            for fx, fy in (STREET_LAYOUT[c] for c in codes)
        ]
    )
    weights = np.zeros(len(codes))
    for step in range(120):
        # Power distance |p − s|² − w without the |p|² term, which does not change the argmin.
        labels = ((sites**2).sum(axis=1) - 2 * samples @ sites.T - weights).argmin(axis=1)
        got = np.bincount(labels, minlength=len(codes)) / len(samples)
        weights += 0.5 * (share - got) * outline.area
        if step < 60:
            for i in np.flatnonzero(got):
                sites[i] += 0.5 * (samples[labels == i].mean(axis=0) - sites[i])
    return dict(zip(codes, single_part(power_regions(outline, sites, weights)), strict=True))


def communities_partition(
    street: shapely.Geometry, count: int, rng: np.random.Generator
) -> list[shapely.Geometry]:
    """Split a street into `count` communities (Voronoi of k-means seeds), in reading order."""
    for _attempt in range(5):
        sites = kmeans_seeds(street, count, rng)
        regions = voronoi_regions(street, sites) if len(sites) == count else [None]
        if all(r is not None for r in regions):
            pieces = single_part(regions)
            band = math.sqrt(street.area / count)
            return [pieces[i] for i in reading_order(pieces, street.bounds[3], band)]
    raise RuntimeError(f"could not seed {count} distinct communities")


def vertices_shared(geoms: list[shapely.Geometry], finest: list[shapely.Geometry]) -> list:
    """Each geometry with every vertex of `finest` that lies on its edges inserted.

    A border between two communities carries the nodes of the cells on both sides; without them
    in both rings, any reprojection that is not affine (e.g. to EPSG:4549 for validation) bends
    the two copies of the border differently and shows metre-square overlaps that are not there.
    Every coarser vertex is also a vertex of some cell, so the cells' vertices are all we need."""
    points = shapely.points(np.unique(shapely.get_coordinates(np.array(finest)), axis=0))
    tree = shapely.STRtree(points)
    out = []
    for geom in geoms:
        near = points[tree.query(geom.envelope.buffer(1.0))]
        out.append(shapely.snap(geom, shapely.multipoints(near), 1e-6))
    return out


# --- the build --------------------------------------------------------------------------------


def demo_geometry(seed: int, divisions: dict) -> dict:
    """Generated geometry in metres: {"frame", "district", "streets": {code: geom},
    "communities": {code: geom}, "cells": {community code: [geoms in reading order]},
    "households": {community code: n}}."""
    rng = np.random.default_rng(seed)
    frame = LocalFrame.around((BBOX[0] + BBOX[2]) / 2, (BBOX[1] + BBOX[3]) / 2)
    outline = district_outline(frame, rng)
    sizes = {code: len(rows) for code, rows in divisions["communities"].items()}
    streets = streets_partition(outline, frame, sizes, rng)
    communities = {}
    for code, listed in divisions["communities"].items():
        parts = communities_partition(streets[code], len(listed), rng)
        communities.update(zip((c["code"] for c in listed), parts, strict=True))
    target = outline.area / TARGET_CELLS
    cells, households = {}, {}
    for number, (code, geom) in enumerate(sorted(communities.items())):
        count = max(1, round(geom.area / target))
        cells[code] = cells_partition(geom, count=count, seed=seed + number)
        households[code] = round(count * rng.uniform(*HOUSEHOLDS_PER_CELL))
    finest = [c for group in cells.values() for c in group]
    every = iter(
        vertices_shared([outline, *streets.values(), *communities.values(), *finest], finest)
    )
    return {
        "frame": frame,
        "district": next(every),
        "streets": {code: next(every) for code in streets},
        "communities": {code: next(every) for code in communities},
        "cells": {code: [next(every) for _c in group] for code, group in cells.items()},
        "households": households,
    }


def _hierarchy_write(generation: Generation, divisions: dict, geo: dict) -> None:
    """Write the district, streets, communities and cells (one bulk insert per level)."""
    to_geos = geo["frame"].to_geos
    row = divisions["district"]
    district = District.objects.create(
        generation=generation, code=row["code"], name=row["name"], geom=to_geos(geo["district"])
    )
    # bulk_create_with_history: one history row per area (accounts/history.py).
    streets = bulk_create_with_history(
        [
            Street(
                generation=generation,
                district=district,
                parent_code=district.code,
                code=s["code"],
                name=s["name"],
                geom=to_geos(geo["streets"][s["code"]]),
            )
            for s in divisions["streets"]
        ],
        Street,
    )
    communities = bulk_create_with_history(
        [
            Community(
                generation=generation,
                street=street,
                parent_code=street.code,
                code=c["code"],
                name=c["name"],
                geom=to_geos(geo["communities"][c["code"]]),
            )
            for street in streets
            for c in divisions["communities"][street.code]
        ],
        Community,
    )
    cells = []
    for community in communities:
        pieces = geo["cells"][community.code]
        cells += cells_rows(
            generation=generation,
            community=community,
            geoms=[to_geos(p) for p in pieces],
            areas=[p.area for p in pieces],
            households=geo["households"][community.code],
        )
    bulk_create_with_history(cells, GridCell, batch_size=500)


def grid_demo_build(*, seed: int = 2026) -> Generation:
    """Build, validate and activate the demo generation of 沙河口区 (generated geometry)."""
    divisions = divisions_load()
    geo = demo_geometry(seed, divisions)
    with transaction.atomic():
        generation = Generation.objects.create(
            name=_("沙河口区演示网格（生成边界）"),
            description=_(
                "演示用生成边界，非真实行政区划边界。街道、社区的代码和名称取自国家统计局"
                "《2023年统计用区划代码》；边界、网格和户数均由程序生成，仅供演示。"
            ),
            is_demo=True,
        )
        _hierarchy_write(generation, divisions, geo)
        areas_finalize(generation=generation)
        # Activation validates the whole generation and stores the report (refusing on errors).
        # The demo boundaries are "in force" since before the seeded history (24 months of
        # cases), so back-dated demo cases are placed in them.
        since = timezone.now() - dt.timedelta(days=3 * 366)
        return generation_activate(generation=generation, at=since)


def demo_generation_active() -> Generation | None:
    """The active generation if it is the demo one."""
    return Generation.objects.filter(status=Generation.Status.ACTIVE, is_demo=True).first()


# --- demo logins ------------------------------------------------------------------------------


def _roles() -> list[tuple[str, str, dict]]:
    return [
        ("admin", _("系统管理员"), {"is_staff": True, "is_superuser": True}),
        ("bureau", _("区信访局"), {"is_staff": True}),
        ("street_clerk", _("街道接待员（星海湾街道）"), {}),
        ("community_staff", _("社区工作者"), {}),
        ("grid_worker", _("网格员"), {}),
        ("mediator", _("调解员"), {}),
        ("handling_unit", _("承办单位"), {}),
        ("leader", _("领导"), {}),
    ]


def demo_users_create(*, generation: Generation | None = None) -> list[tuple[str, str, str]]:
    """One demo login per role, in a Group named by the role; returns (username, password, role).

    Idempotent: passwords are reset to the demo ones. The grid worker gets three cells of the
    demo generation (lead on the first). Groups stand in until role grants exist."""
    user_model = get_user_model()
    generation = generation or demo_generation_active()
    logins = []
    with transaction.atomic():
        for role, label, flags in _roles():
            user, _created = user_model.objects.get_or_create(username=role)
            password = DEMO_PASSWORD.format(role=role)
            user.set_password(password)
            user.first_name = label[:150]
            user.is_active = True
            for flag, value in flags.items():
                setattr(user, flag, value)
            user.save()
            user.groups.add(Group.objects.get_or_create(name=role)[0])
            logins.append((role, password, label))
            if role == "grid_worker" and generation is not None:
                _worker_assign(user, generation)
    return logins


def _worker_assign(user, generation: Generation) -> None:
    """Assign the demo grid worker to the first three cells of 星海湾街道 (lead on the first)."""
    cells = list(
        GridCell.objects.filter(generation=generation, code__startswith="210204017").order_by(
            "code"
        )[:3]
    )
    for number, cell in enumerate(cells):
        lead = number == 0 and not cell.assignments.filter(is_lead=True).exclude(user=user).exists()
        GridAssignment.objects.update_or_create(user=user, cell=cell, defaults={"is_lead": lead})
