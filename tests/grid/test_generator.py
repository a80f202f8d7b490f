"""The grid generator: exact coverage, no overlaps or slivers, codes in reading order."""

import math
from itertools import combinations

import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon
from django.core.management import CommandError, call_command

from grid.models import (
    Community,
    District,
    Generation,
    GridAssignment,
    GridCell,
    Street,
)
from grid.services.finalize import areas_finalize
from grid.services.generations import generation_activate
from grid.services.generator import (
    RESIDENTS_PER_HOUSEHOLD,
    GeneratorRefused,
    grid_generate,
    metres_per_degree,
)
from tests.factories import GenerationFactory, UserFactory, square

LON0, LAT0 = 121.56, 38.90
# An L-shaped community with a notch, a re-entrant arm and a hole (a park), in metres.
OUTLINE_M = [
    (0, 0), (1200, 0), (1250, 350), (600, 420), (650, 900), (1300, 1050), (900, 1500),
    (-100, 1250), (80, 700), (0, 0),
]  # fmt: skip
HOLE_M = [(150, 150), (380, 150), (380, 330), (150, 330), (150, 150)]
TARGET = 60_000.0


def _lonlat(ring):
    kx, ky = metres_per_degree(LAT0)
    return [(LON0 + x / kx, LAT0 + y / ky) for x, y in ring]


def metric_area(geom: GEOSGeometry) -> float:
    """Area in m² in EPSG:4549 of a geometry computed in 4326 (overlay first, then measure).

    Densified to ~1 m first: a straight 4326 edge reprojected vertex by vertex bows by mm over
    hundreds of metres, which would turn the two sides of a 1e-12° sliver into m² of area."""
    if geom.empty or geom.dims < 2:
        return 0.0
    dense = shapely.segmentize(shapely.from_wkb(bytes(geom.wkb)), 1e-5)
    return GEOSGeometry(memoryview(shapely.to_wkb(dense)), srid=4326).transform(4549, True).area


@pytest.fixture
def community(db) -> Community:
    """A draft generation whose district, street and community share one irregular outline."""
    generation = GenerationFactory()
    geom = MultiPolygon(Polygon(_lonlat(OUTLINE_M), _lonlat(HOLE_M), srid=4326), srid=4326)
    district = District.objects.create(
        generation=generation, code="210204", name="沙河口区", geom=geom
    )
    street = Street.objects.create(
        generation=generation, district=district, parent_code="210204", code="210204017",
        name="星海湾街道", geom=geom,
    )  # fmt: skip
    found = Community.objects.create(
        generation=generation, street=street, parent_code=street.code, code="210204017001",
        name="星海社区居委会", geom=geom,
    )  # fmt: skip
    areas_finalize(generation=generation, levels=["community"])
    found.refresh_from_db()
    return found


def _cells(community: Community) -> list[GridCell]:
    return list(GridCell.objects.filter(community=community).order_by("code"))


def test_cells_cover_the_community_exactly(community):
    cells = grid_generate(community=community, target_area_m2=TARGET, seed=3)

    assert cells == _cells(community)
    expected = round(community.area_m2 / TARGET)
    assert 2 <= len(cells) <= expected
    union = cells[0].geom
    for cell in cells[1:]:
        union = union.union(cell.geom)
    assert metric_area(union.sym_difference(community.geom)) < 1.0
    # Geodesic areas: a cell edge runs geodesically between its own nodes, so sums differ by ppm.
    assert sum(c.area_m2 for c in cells) == pytest.approx(community.area_m2, rel=1e-5)
    for a, b in combinations(cells, 2):
        assert metric_area(a.geom.intersection(b.geom)) <= 0.01, (a.code, b.code)
    threshold = 0.25 * community.area_m2 / expected
    assert min(c.area_m2 for c in cells) >= threshold
    for cell in cells:
        assert cell.geom.valid and cell.geom.geom_type == "MultiPolygon"
        assert cell.geom_simple is not None
        assert cell.households is None and cell.residents is None


def test_generated_cells_pass_validation(community):
    grid_generate(community=community, target_area_m2=TARGET, seed=3)

    # Activation validates the whole generation and refuses on any error.
    generation = generation_activate(generation=community.generation)
    report = generation.reports.order_by("-created_at", "-pk").first()
    assert (report.error_count, report.warning_count) == (0, 0)


def test_codes_are_consecutive_in_reading_order(community):
    cells = grid_generate(community=community, target_area_m2=TARGET, seed=3)

    assert [c.code for c in cells] == [f"210204017001{i:03d}" for i in range(1, len(cells) + 1)]
    assert {c.parent_code for c in cells} == {"210204017001"}
    assert cells[0].name == "星海社区第1网格"
    # Rows are bands of centroid latitude √(area / cells) high from the community's north edge;
    # west→east within a row.
    _kx, ky = metres_per_degree(community.geom.centroid.y)
    band = math.sqrt(sum(c.area_m2 for c in cells) / len(cells)) / ky
    north = community.geom.extent[3]
    rows = {c.code: math.floor((north - c.geom.centroid.y) / band) for c in cells}
    expected = sorted(cells, key=lambda c: (rows[c.code], c.geom.centroid.x))
    assert [c.code for c in cells] == [c.code for c in expected]
    assert len(set(rows.values())) >= 3


def test_target_households_sets_the_count_and_splits_households_by_area(community):
    cells = grid_generate(community=community, target_households=400, households=4_000, seed=1)

    assert len(cells) == 10
    assert sum(c.households for c in cells) == 4_000
    total_area = sum(c.area_m2 for c in cells)
    for cell in cells:
        assert abs(cell.households - 4_000 * cell.area_m2 / total_area) < 1.5
        assert cell.residents == round(cell.households * RESIDENTS_PER_HOUSEHOLD)


def test_regenerating_replaces_the_cells(community, db):
    first = grid_generate(community=community, target_area_m2=TARGET, seed=3)
    worker = UserFactory(username="gw")
    GridAssignment.objects.create(user=worker, cell=first[0], is_lead=True)
    other = Community.objects.create(
        generation=community.generation, street=community.street, parent_code="210204017",
        code="210204017002", name="邻社区", geom=square(121.60, 38.95, 121.61, 38.96),
    )  # fmt: skip
    grid_generate(community=other, target_area_m2=TARGET)
    others_before = sorted(GridCell.objects.filter(community=other).values_list("pk", flat=True))

    second = grid_generate(community=community, target_area_m2=TARGET * 3, seed=3)

    assert len(second) < len(first)
    assert _cells(community) == second
    assert not GridCell.objects.filter(pk__in=[c.pk for c in first]).exists()
    assert not GridAssignment.objects.exists()
    others_after = sorted(GridCell.objects.filter(community=other).values_list("pk", flat=True))
    assert others_after == others_before


def test_refuses_an_active_generation(community):
    generation_activate(generation=community.generation)
    community.refresh_from_db()
    assert community.generation.status == Generation.Status.ACTIVE

    with pytest.raises(GeneratorRefused):
        grid_generate(community=community, target_area_m2=TARGET)
    assert not GridCell.objects.exists()


def test_refuses_missing_or_conflicting_targets(community):
    with pytest.raises(GeneratorRefused):
        grid_generate(community=community)
    with pytest.raises(GeneratorRefused):
        grid_generate(community=community, target_area_m2=TARGET, target_households=400)
    with pytest.raises(GeneratorRefused):
        grid_generate(community=community, target_households=400)
    assert not GridCell.objects.exists()


def test_refuses_a_generation_without_the_community(community):
    draft = Generation.objects.create(name="新草稿")
    with pytest.raises(GeneratorRefused):
        grid_generate(community=community, generation=draft, target_area_m2=TARGET)


def test_command_generates_cells(community, capsys):
    call_command(
        "grid_generate", "--community", "210204017001", "--target-households", "500",
        "--households", "3000",
    )  # fmt: skip

    cells = _cells(community)
    assert len(cells) == 6
    assert sum(c.households for c in cells) == 3_000
    assert "210204017001001" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("grid_generate", "--community", "210204099001", "--target-area", "1000")
