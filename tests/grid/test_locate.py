"""grid_locate (inside, shared edges, holes, outside, past dates, GCJ-02/BD-09 input) and the
set-based grid_assign_cells, on PostGIS and SpatiaLite."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.db import models
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import connection

from grid.coords import wgs84_to_bd09, wgs84_to_gcj02
from grid.models import GridCell, ValidationReport
from grid.services.generations import generation_activate
from grid.services.locate import LocateResult, grid_assign_cells, grid_locate
from tests.factories import STEP, X0, Y0, GenerationFactory, build_hierarchy, square

SH = ZoneInfo("Asia/Shanghai")
# Cell NW of street 001 (x ∈ [X0, X0+STEP], y ∈ [Y0+STEP, Y0+2·STEP]) and its neighbours.
NW = "210204001001001"


def codes(result: LocateResult) -> tuple:
    return (
        result.cell.code,
        result.community.code,
        result.street.code,
        result.district.code,
    )


def test_inside_returns_cell_and_parents_in_one_query(hierarchy, django_assert_num_queries):
    with django_assert_num_queries(1):
        result = grid_locate((X0 + 0.005, Y0 + 0.015))
        # Parents come from the same query (select_related), not extra lookups.
        assert codes(result) == (NW, "210204001001", "210204001", "210204")
        assert result.generation == hierarchy["generation"]
        # Every non-geometry field arrives converted (datetimes aware, booleans) and cached.
        gen = hierarchy["generation"]
        assert (result.generation.name, result.generation.status) == (gen.name, "active")
        assert result.generation.activated_at == gen.activated_at
        assert result.generation.is_demo is False
        assert result.cell.generation is result.generation
        assert result.cell.community.street.district is result.district
        assert result.cell.parent_code == "210204001001"
    assert result.found is True
    assert result.message == ""
    assert result.cell.households == 400
    assert result.community.name == "测试1街道北社区"


def test_accepts_geos_points_in_other_srids(hierarchy):
    assert grid_locate(Point(X0 + 0.005, Y0 + 0.015, srid=4326)).cell.code == NW
    web_mercator = Point(X0 + 0.005, Y0 + 0.015, srid=4326).transform(3857, clone=True)
    assert grid_locate(web_mercator).cell.code == NW


def test_shared_edge_picks_lowest_code(hierarchy):
    # On the edge between the two cells of community 210204001001 …
    for _ in range(3):
        assert grid_locate((X0 + STEP, Y0 + 1.5 * STEP)).cell.code == NW
    # … and at the corner shared by four cells in two streets.
    corner = grid_locate((X0 + 2 * STEP, Y0 + STEP))
    assert codes(corner) == ("210204001001002", "210204001001", "210204001", "210204")
    # A point on the district's outer boundary still belongs to the one cell there.
    assert grid_locate((X0, Y0 + 1.5 * STEP)).cell.code == NW


def test_hole_is_outside_unless_another_cell_fills_it(hierarchy):
    cell = hierarchy["cells"]["210204002001001"]  # x ∈ [X0+2·STEP, X0+3·STEP], north row
    x0, y0 = X0 + 2 * STEP, Y0 + STEP
    outer = ((x0, y0), (x0 + STEP, y0), (x0 + STEP, y0 + STEP), (x0, y0 + STEP), (x0, y0))
    hole = [(x0 + 0.003, y0 + 0.003), (x0 + 0.007, y0 + 0.003), (x0 + 0.007, y0 + 0.007),
            (x0 + 0.003, y0 + 0.007), (x0 + 0.003, y0 + 0.003)]  # fmt: skip
    cell.geom = MultiPolygon(Polygon(outer, hole), srid=4326)
    cell.save(update_fields=["geom"])

    in_hole = (x0 + 0.005, y0 + 0.005)
    result = grid_locate(in_hole)
    assert result.found is False
    assert result.message == "该位置不在任何网格内"
    assert grid_locate((x0 + 0.001, y0 + 0.005)).cell.code == "210204002001001"

    GridCell.objects.create(
        generation=cell.generation,
        community=cell.community,
        parent_code=cell.community.code,
        code="210204002001003",
        name="飞地网格",
        geom=MultiPolygon(Polygon(hole), srid=4326),
    )
    assert grid_locate(in_hole).cell.code == "210204002001003"


def test_outside_every_cell(hierarchy, django_assert_num_queries):
    with django_assert_num_queries(1):
        result = grid_locate((121.0, 38.0))
    assert result == LocateResult(
        found=False, generation=hierarchy["generation"], message="该位置不在任何网格内"
    )


def test_no_generation_in_force(db, django_assert_num_queries):
    build_hierarchy()  # a draft only: nothing active
    with django_assert_num_queries(1):
        result = grid_locate((X0 + 0.005, Y0 + 0.015))
    assert result == LocateResult(found=False, message="该时间没有生效的网格边界版本")


def _activate(generation, at):
    ValidationReport.objects.create(generation=generation, committed=True)
    generation_activate(generation=generation, at=at)
    generation.refresh_from_db()
    return generation


@pytest.fixture
def two_generations(db):
    """Generation 1 active from 2024-01-01 10:00; generation 2 from 2024-06-01 09:00 (Beijing),
    in which the boundary between NW and its east neighbour moved east by half a cell."""
    first = build_hierarchy(GenerationFactory(name="2024年初版"))["generation"]
    _activate(first, dt.datetime(2024, 1, 1, 10, 0, tzinfo=SH))
    h2 = build_hierarchy(GenerationFactory(name="2024年6月调整版"))
    west, east = h2["cells"][NW], h2["cells"]["210204001001002"]
    west.geom = square(X0, Y0 + STEP, X0 + 1.5 * STEP, Y0 + 2 * STEP)
    east.geom = square(X0 + 1.5 * STEP, Y0 + STEP, X0 + 2 * STEP, Y0 + 2 * STEP)
    west.save(update_fields=["geom"])
    east.save(update_fields=["geom"])
    second = _activate(h2["generation"], dt.datetime(2024, 6, 1, 9, 0, tzinfo=SH))
    first.refresh_from_db()
    return first, second


MOVED = (X0 + 1.2 * STEP, Y0 + 1.5 * STEP)  # east cell before the change, west cell after


@pytest.mark.parametrize(
    ("at", "expected_generation", "expected_cell"),
    [
        (None, 1, NW),
        (dt.date(2024, 5, 31), 0, "210204001001002"),
        # A date means the end of that day: the change activated that morning applies.
        (dt.date(2024, 6, 1), 1, NW),
        (dt.datetime(2024, 6, 1, 8, 59, tzinfo=SH), 0, "210204001001002"),
        (dt.datetime(2024, 6, 1, 9, 0, tzinfo=SH), 1, NW),
        (dt.datetime(2024, 6, 1, 0, 59, tzinfo=dt.UTC), 0, "210204001001002"),  # 08:59 Beijing
        (dt.date(2024, 1, 1), 0, "210204001001002"),
    ],
)
def test_locate_at_past_moments(two_generations, at, expected_generation, expected_cell):
    result = grid_locate(MOVED, at=at)
    assert result.cell.code == expected_cell
    assert result.generation == two_generations[expected_generation]
    assert result.cell.generation_id == two_generations[expected_generation].pk


def test_locate_in_a_given_generation(two_generations, django_assert_num_queries):
    first, second = two_generations
    with django_assert_num_queries(1):
        result = grid_locate(MOVED, at=first)
    assert (result.cell.code, result.generation) == ("210204001001002", first)
    assert grid_locate(MOVED, at=second).cell.code == NW
    assert first.status == "retired"


def test_locate_before_any_generation(two_generations):
    result = grid_locate(MOVED, at=dt.date(2023, 12, 31))
    assert result == LocateResult(found=False, message="该时间没有生效的网格边界版本")


def test_naive_datetime_is_refused(two_generations):
    with pytest.raises(ValueError, match="时区"):
        grid_locate(MOVED, at=dt.datetime(2024, 6, 1, 9, 0))


@pytest.mark.parametrize(("crs", "convert"), [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_consumer_map_coordinates_locate_into_the_right_cell(hierarchy, crs, convert):
    # A WGS-84 position in the south-west cell; its GCJ-02/BD-09 coordinates, read as WGS-84,
    # would land several hundred metres away in another cell.
    wgs = (X0 + 0.008, Y0 + 0.008)
    shifted = convert(*wgs)
    assert grid_locate(wgs).cell.code == "210204001002001"
    assert grid_locate(shifted).cell.code != "210204001002001"
    assert grid_locate(shifted, crs=crs).cell.code == "210204001002001"
    assert grid_locate(Point(*shifted, srid=4326), crs=crs).cell.code == "210204001002001"


def test_unknown_crs_is_refused(hierarchy):
    with pytest.raises(ValueError, match="不支持的坐标系"):
        grid_locate((X0, Y0), crs="cgcs2000")


# --- Bulk assignment ---------------------------------------------------------------------------


class LocatedThing(models.Model):
    """Stand-in for a petition: a point and the cell it falls in (table made by the fixture)."""

    location = models.PointField(srid=4326)
    cell = models.ForeignKey(
        GridCell, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    label = models.CharField(max_length=30)

    class Meta:
        app_label = "grid"
        managed = False
        db_table = "test_located_thing"


@pytest.fixture
def things_table(transactional_db):
    # Schema changes need to run outside the test transaction on SQLite, hence transactional_db.
    with connection.schema_editor() as editor:
        editor.create_model(LocatedThing)
    yield LocatedThing
    with connection.schema_editor() as editor:
        editor.delete_model(LocatedThing)


POINTS = {
    "inside_nw": (X0 + 0.005, Y0 + 0.015),
    "edge": (X0 + STEP, Y0 + 1.5 * STEP),
    "corner": (X0 + 2 * STEP, Y0 + STEP),
    "south_east": (X0 + 3.5 * STEP, Y0 + 0.5 * STEP),
    "outside": (121.0, 38.0),
    "was_placed_now_outside": (121.9, 38.5),
}


def test_assign_cells_places_every_row(things_table, hierarchy):
    cells = hierarchy["cells"]
    for label, (lng, lat) in POINTS.items():
        LocatedThing.objects.create(
            label=label,
            location=Point(lng, lat, srid=4326),
            # stale values must be overwritten or cleared
            cell=cells["210204002002002"] if label in ("edge", "was_placed_now_outside") else None,
        )
    placed = grid_assign_cells(model=LocatedThing)
    assert placed == 4
    got = dict(LocatedThing.objects.values_list("label", "cell__code"))
    assert got == {
        "inside_nw": NW,
        "edge": NW,  # lowest code on a shared edge, as grid_locate
        "corner": "210204001001002",
        "south_east": "210204002002002",
        "outside": None,
        "was_placed_now_outside": None,
    }
    # Idempotent.
    assert grid_assign_cells(model=LocatedThing) == 4
    assert dict(LocatedThing.objects.values_list("label", "cell__code")) == got


def test_assign_cells_limited_to_a_queryset_and_a_generation(things_table, two_generations):
    first, second = two_generations
    for label in ("a", "b"):
        LocatedThing.objects.create(label=label, location=Point(*MOVED, srid=4326))
    scope = LocatedThing.objects.filter(label="a")
    assert grid_assign_cells(model=LocatedThing, queryset=scope, generation=first) == 1
    rows = {t.label: t.cell for t in LocatedThing.objects.select_related("cell")}
    assert rows["b"] is None
    assert (rows["a"].code, rows["a"].generation_id) == ("210204001001002", first.pk)
    # Default: the active generation, where the moved boundary puts the point in the west cell.
    assert grid_assign_cells(model=LocatedThing) == 2
    rows = {t.label: t.cell for t in LocatedThing.objects.select_related("cell")}
    assert {(c.code, c.generation_id) for c in rows.values()} == {(NW, second.pk)}


def test_assign_cells_is_one_statement(things_table, hierarchy, django_assert_max_num_queries):
    LocatedThing.objects.create(label="x", location=Point(*POINTS["inside_nw"], srid=4326))
    gen = hierarchy["generation"]
    # PostGIS: one UPDATE … FROM statement. SpatiaLite: the UPDATE, then a COUNT of placed rows.
    with django_assert_max_num_queries(1 if connection.vendor == "postgresql" else 2):
        assert grid_assign_cells(model=LocatedThing, generation=gen) == 1
