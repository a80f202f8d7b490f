"""Boundary import: formats, CRSs and axis order, dry run/commit, rejections, each validation rule,
and the grid_import command. Fixture files are generated here into tmp_path (fixtures_gen)."""

import io
import time
import zipfile

import pytest
from django.core.management import CommandError, call_command

from grid.models import Community, District, Generation, GridCell, ValidationReport
from grid.services.importer import BoundaryImportError, ImportResult, boundary_import
from grid.services.validation import RULE_LABELS
from tests.factories import STEP, X0, Y0, build_hierarchy
from tests.grid.fixtures_gen import (
    box,
    cell_boxes,
    cell_features,
    feature,
    metres_between,
    ogr2ogr,
    projected_area,
    tm_forward,
    write_geojson,
)

# The validation CRS for this lattice (centre 121.57°E) is the CGCS2000 GK zone of CM 123°E.
CM = 123.0
# A lattice corner used as the control point: stored WGS-84 position must be within 0.5 m.
CONTROL = (X0 + STEP, Y0 + STEP)
C1, C2 = "210204001001001", "210204001001002"  # west and east cell of community 210204001001
M_LON = 1 / 86_650  # ≈ one metre of longitude in degrees at 38.9°N
M_LAT = 1 / 111_030  # ≈ one metre of latitude


@pytest.fixture
def parents(db):
    """A draft generation with district, streets and communities, and no cells yet."""
    h = build_hierarchy()
    GridCell.objects.filter(generation=h["generation"]).delete()
    return h


def run(path, parents, **kw) -> ImportResult:
    kw.setdefault("level", "cell")
    return boundary_import(source=path, generation=parents["generation"], **kw)


def rules(result: ImportResult) -> list[tuple[str, str, str]]:
    return [(f["rule"], f["level"], f["code"]) for f in result.report.findings]


def write_cells(tmp_path, boxes=None, srid=None, project=None, name="cells.geojson", **props):
    return write_geojson(tmp_path / name, cell_features(boxes, project, **props), srid)


def nearest_vertex_m(geom, lon: float, lat: float) -> float:
    return min(metres_between(x, y, lon, lat) for poly in geom for x, y in poly.exterior_ring)


def assert_lattice_positions(generation):
    """Every stored vertex within 0.5 m of its lattice corner, and the control point present."""
    cells = {c.code: c.geom for c in GridCell.objects.filter(generation=generation)}
    assert sorted(cells) == sorted(cell_boxes())
    for code, (x0, y0, x1, y1) in cell_boxes().items():
        for x, y in cells[code][0].exterior_ring:
            expected = min(
                ((x0, y0), (x1, y0), (x1, y1), (x0, y1)),
                key=lambda c, x=x, y=y: (c[0] - x) ** 2 + (c[1] - y) ** 2,
            )
            assert metres_between(x, y, *expected) < 0.5
    assert nearest_vertex_m(cells[C1], *CONTROL) < 0.5


# --- CRS, axis order and formats ---------------------------------------------------------------


def test_gauss_kruger_helper_matches_published_meridian_arc():
    # On the central meridian northing = meridian arc; 0→45° on GRS80 is 4 984 944.378 m.
    easting, northing = tm_forward(120.0, 45.0)
    assert easting == pytest.approx(500_000.0, abs=1e-6)
    assert northing == pytest.approx(4_984_944.378, abs=1e-3)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["geojson", "shapefile"])
@pytest.mark.parametrize("srid", [4490, 4549])
def test_import_reprojects_control_point(tmp_path, parents, srid, fmt):
    project = (lambda x, y: tm_forward(x, y, 120.0)) if srid == 4549 else None
    path = write_cells(tmp_path, srid=srid, project=project)
    if fmt == "shapefile":
        path = ogr2ogr(tmp_path / "cells.shp", path, "ESRI Shapefile", "-lco", "ENCODING=UTF-8")
        assert (tmp_path / "cells.prj").exists()
        assert "Gauss" in (tmp_path / "cells.prj").read_text() or srid == 4490
    result = run(path, parents, commit=True)
    assert result.report.findings == []
    assert (result.features, result.created) == (8, 8)
    assert_lattice_positions(parents["generation"])


@pytest.mark.django_db
def test_control_point_4549_single_vertex(tmp_path, parents):
    """The control point itself, written as EPSG:4549 easting/northing by the independent series."""
    lon, lat = CONTROL
    e, n = tm_forward(lon, lat)
    assert 600_000 < e < 700_000 and 4_300_000 < n < 4_320_000  # easting first, then northing
    path = write_cells(tmp_path, srid=4549, project=tm_forward)
    run(path, parents, commit=True)
    stored = GridCell.objects.get(generation=parents["generation"], code=C1).geom
    assert nearest_vertex_m(stored, lon, lat) < 0.5


@pytest.mark.django_db
def test_shapefile_without_prj_needs_srid(tmp_path, parents):
    src = write_cells(tmp_path, srid=4549, project=tm_forward)
    shp = ogr2ogr(tmp_path / "cells.shp", src, "ESRI Shapefile", "-lco", "ENCODING=UTF-8")
    (tmp_path / "cells.prj").unlink()
    with pytest.raises(BoundaryImportError, match="SRID"):
        run(shp, parents)
    result = run(shp, parents, srid=4549, commit=True)
    assert result.created == 8 and result.report.error_count == 0
    assert_lattice_positions(parents["generation"])


@pytest.mark.django_db
def test_srid_overrides_file_crs(tmp_path, parents):
    # Coordinates are GK metres but the file claims 4326 (GeoJSON's default): --srid wins.
    path = write_cells(tmp_path, project=tm_forward)
    bad = run(path, parents)
    assert {f["rule"] for f in bad.report.findings} == {"bad_coordinates"}
    result = run(path, parents, srid=4549, commit=True)
    assert result.created == 8
    assert_lattice_positions(parents["generation"])


@pytest.mark.django_db
def test_geopackage_import(tmp_path, parents):
    src = write_cells(tmp_path, srid=4549, project=tm_forward, households=420, residents=900)
    gpkg = ogr2ogr(tmp_path / "cells.gpkg", src, "GPKG", "-nln", "wangge")
    result = run(
        gpkg,
        parents,
        layer="wangge",
        households_field="households",
        residents_field="residents",
        commit=True,
    )
    assert result.created == 8 and result.report.findings == []
    assert_lattice_positions(parents["generation"])
    cell = GridCell.objects.get(generation=parents["generation"], code=C1)
    assert (cell.name, cell.households, cell.residents) == ("网格001", 420, 900)


@pytest.mark.django_db
def test_kml_import(tmp_path, parents):
    src = write_cells(tmp_path, srid=4490)
    kml = ogr2ogr(tmp_path / "cells.kml", src, "LIBKML")
    # KML calls the name field "Name"; the field lookup falls back to a case-insensitive match.
    result = run(kml, parents, commit=True)
    assert result.created == 8 and result.report.findings == []
    assert_lattice_positions(parents["generation"])
    assert GridCell.objects.get(generation=parents["generation"], code=C2).name == "网格002"


@pytest.mark.django_db
def test_zipped_shapefile_import(tmp_path, parents):
    src = write_cells(tmp_path, srid=4549, project=tm_forward)
    ogr2ogr(tmp_path / "cells.shp", src, "ESRI Shapefile", "-lco", "ENCODING=UTF-8")
    archive = tmp_path / "cells.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            zf.write(tmp_path / f"cells.{ext}", f"cells.{ext}")
    result = run(archive, parents, commit=True)
    assert result.created == 8
    assert_lattice_positions(parents["generation"])


@pytest.mark.django_db
def test_missing_field_and_layer_are_refused(tmp_path, parents):
    path = write_cells(tmp_path)
    with pytest.raises(BoundaryImportError, match="WGDM"):
        run(path, parents, code_field="WGDM")
    with pytest.raises(BoundaryImportError, match="nope"):
        run(path, parents, layer="nope")
    assert ValidationReport.objects.count() == 0


# --- Dry run, commit, generations ------------------------------------------------------------


@pytest.mark.django_db
def test_dry_run_writes_nothing_but_the_report(tmp_path, parents):
    result = run(write_cells(tmp_path), parents)
    assert (result.features, result.created) == (8, 0)
    assert GridCell.objects.count() == 0
    report = ValidationReport.objects.get()
    assert report == result.report
    assert (report.committed, report.level, report.error_count, report.warning_count) == (
        False,
        "cell",
        0,
        0,
    )
    assert report.generation == parents["generation"]


@pytest.mark.django_db
def test_commit_writes_rows_links_parents_and_finalizes(tmp_path, parents):
    path = write_cells(tmp_path, households=400, residents=800)
    result = run(
        path, parents, households_field="households", residents_field="residents", commit=True
    )
    assert (result.created, result.report.committed) == (8, True)
    assert result.generation == parents["generation"]
    cell = GridCell.objects.get(generation=parents["generation"], code=C1)
    assert cell.community == parents["communities"]["210204001001"]
    assert cell.parent_code == "210204001001"
    assert (cell.households, cell.residents) == (400, 800)
    assert cell.geom.geom_type == "MultiPolygon" and cell.geom.srid == 4326
    # areas_finalize ran: geodesic area and the simplified copy are filled in.
    assert cell.area_m2 == pytest.approx(projected_area(box(*cell_boxes()[C1]), CM), rel=1e-3)
    assert cell.geom_simple is not None


@pytest.mark.django_db
def test_commit_without_generation_creates_a_named_draft(tmp_path):
    district = feature("210204", "沙河口区", [box(X0, Y0, X0 + 4 * STEP, Y0 + 2 * STEP)])
    path = write_geojson(tmp_path / "district.geojson", [district])
    dry = boundary_import(source=path, level="district", generation_name="2025版")
    assert dry.generation is None and dry.report.generation is None
    assert Generation.objects.count() == 0
    result = boundary_import(source=path, level="district", generation_name="2025版", commit=True)
    assert result.generation.name == "2025版"
    assert result.generation.status == Generation.Status.DRAFT
    assert District.objects.get().generation == result.generation
    assert result.report.generation == result.generation


@pytest.mark.django_db
def test_commit_into_active_generation_is_refused(tmp_path, hierarchy):
    path = write_cells(tmp_path)
    with pytest.raises(BoundaryImportError, match="草稿"):
        boundary_import(source=path, level="cell", generation=hierarchy["generation"], commit=True)
    assert GridCell.objects.count() == 8  # the active generation's own cells, untouched
    # A dry run against the active generation is allowed: it writes nothing.
    dry = boundary_import(source=path, level="cell", generation=hierarchy["generation"])
    assert dry.created == 0
    assert {f["rule"] for f in dry.report.findings} == {"duplicate_code"}


@pytest.mark.django_db
def test_parent_field_and_sequence_codes(tmp_path, parents):
    feats = [
        feature(code[-3:], f"网格{code[-3:]}", [box(*b)], community=code[:12])
        for code, b in cell_boxes().items()
    ]
    path = write_geojson(tmp_path / "seq.geojson", feats)
    result = run(path, parents, parent_field="community", commit=True)
    assert result.created == 8 and result.report.findings == []
    assert sorted(GridCell.objects.values_list("code", flat=True)) == sorted(cell_boxes())


@pytest.mark.django_db
def test_parent_found_spatially_is_reported(tmp_path, parents):
    feats = [feature(code[-3:], "", [box(*b)]) for code, b in cell_boxes().items()]
    path = write_geojson(tmp_path / "seq.geojson", feats)
    result = run(path, parents, commit=True)
    assert result.created == 8
    spatial = [f for f in result.report.findings if f["rule"] == "parent_found_spatially"]
    assert len(spatial) == 8 and all(f["level"] == "warning" for f in spatial)
    first = next(f for f in spatial if f["code"] == C1)
    assert "210204001001" in first["message"]
    assert result.report.error_count == 0


@pytest.mark.django_db
def test_rejected_rows_do_not_abort_the_good_ones(tmp_path, parents):
    feats = cell_features()
    feats += [
        feature(None, "无代码", [box(X0, Y0, X0 + STEP, Y0 + STEP)]),
        feature("ABC", "坏代码", [box(X0, Y0, X0 + STEP, Y0 + STEP)]),
        feature("210299001001001", "无上级", [box(100.0, 30.0, 100.01, 30.01)]),
        {
            "type": "Feature",
            "properties": {"code": "210204001001009", "name": "线"},
            "geometry": {"type": "LineString", "coordinates": [[X0, Y0], [X0 + STEP, Y0]]},
        },
        {"type": "Feature", "properties": {"code": "210204001001010"}, "geometry": None},
    ]
    result = run(write_geojson(tmp_path / "mixed.geojson", feats), parents, commit=True)
    assert (result.features, result.created) == (13, 8)
    assert rules(result) == [
        ("missing_code", "error", ""),
        ("code_not_extending_parent", "error", "ABC"),
        ("missing_parent", "error", "210299001001001"),
        ("unsupported_geometry", "error", "210204001001009"),
        ("missing_geometry", "error", "210204001001010"),
    ]
    assert all(f["message"].endswith("该要素未导入。") for f in result.report.findings)
    assert {f["rule"] for f in result.report.findings} <= set(RULE_LABELS)
    assert GridCell.objects.filter(generation=parents["generation"]).count() == 8


@pytest.mark.django_db
def test_fix_invalid_repairs_a_bow_tie(tmp_path, parents):
    x0, y0, x1, y1 = cell_boxes()[C1]
    boxes = cell_boxes()
    feats = [f for f in cell_features(boxes) if f["properties"]["code"] != C1]
    bow_tie = [[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]
    feats.append(feature(C1, "蝴蝶结", [bow_tie]))
    path = write_geojson(tmp_path / "bowtie.geojson", feats)

    refused = run(path, parents)
    assert rules(refused)[0] == ("invalid_geometry", "error", C1)
    assert "Self-intersection" in refused.report.findings[0]["message"]

    fixed = run(path, parents, fix_invalid=True, commit=True)
    assert fixed.created == 8
    assert rules(fixed)[0] == ("invalid_geometry", "warning", C1)
    assert fixed.report.error_count == 1  # the repaired cell leaves half its community uncovered
    assert rules(fixed)[1:] == [("coverage_gap", "error", "210204001001")]
    cell = GridCell.objects.get(generation=parents["generation"], code=C1)
    assert cell.geom.valid and cell.geom.geom_type == "MultiPolygon" and len(cell.geom) == 2
    half = projected_area(box(x0, y0, x1, y1), CM) / 2
    assert fixed.report.findings[1]["area_m2"] == pytest.approx(half, rel=1e-3)


# --- Each validation rule, triggered by a file made to break it --------------------------------


def _grow(boxes: dict, code: str, dx0=0.0, dy0=0.0, dx1=0.0, dy1=0.0) -> dict:
    x0, y0, x1, y1 = boxes[code]
    return {**boxes, code: (x0 + dx0, y0 + dy0, x1 + dx1, y1 + dy1)}


@pytest.mark.django_db
def test_clean_file_gives_zero_findings(tmp_path, parents):
    result = run(write_cells(tmp_path, srid=4549, project=tm_forward), parents)
    assert result.report.findings == []
    assert (result.report.error_count, result.report.warning_count) == (0, 0)


@pytest.mark.django_db
def test_rule_not_within_parent(tmp_path, parents):
    south = "210204001002001"  # southern community's west cell: nothing lies south of it
    boxes = _grow(cell_boxes(), south, dy0=-5 * M_LAT)
    result = run(write_cells(tmp_path, boxes), parents)
    assert rules(result) == [("not_within_parent", "error", south)]
    x0, y0, x1, _y1 = cell_boxes()[south]
    strip = projected_area(box(x0, y0 - 5 * M_LAT, x1, y0), CM)
    assert result.report.findings[0]["area_m2"] == pytest.approx(strip, rel=1e-3)
    assert "210204001002" in result.report.findings[0]["message"]


@pytest.mark.django_db
def test_rule_not_within_parent_tolerates_one_metre(tmp_path, parents):
    boxes = _grow(cell_boxes(), "210204001002001", dy0=-0.5 * M_LAT)
    assert run(write_cells(tmp_path, boxes), parents).report.findings == []


@pytest.mark.django_db
def test_rule_sibling_overlap(tmp_path, parents):
    boxes = _grow(cell_boxes(), C1, dx1=0.001)
    result = run(write_cells(tmp_path, boxes), parents)
    assert rules(result) == [("sibling_overlap", "error", C1)]
    x0, y0, x1, y1 = cell_boxes()[C2]
    overlap = projected_area(box(x0, y0, x0 + 0.001, y1), CM)
    assert result.report.findings[0]["area_m2"] == pytest.approx(overlap, rel=1e-3)
    assert C2 in result.report.findings[0]["message"]


@pytest.mark.django_db
def test_rule_sibling_overlap_ignores_sub_tolerance_area(tmp_path, parents):
    boxes = _grow(cell_boxes(), C1, dx1=0.0005 * M_LON)  # 0.5 mm × 1.1 km ≈ 0.55 m²
    assert run(write_cells(tmp_path, boxes), parents).report.findings == []


@pytest.mark.django_db
def test_rule_coverage_gap(tmp_path, parents):
    boxes = _grow(cell_boxes(), C2, dx1=-0.001)
    result = run(write_cells(tmp_path, boxes), parents)
    assert rules(result) == [("coverage_gap", "error", "210204001001")]
    x0, y0, x1, y1 = cell_boxes()[C2]
    gap = projected_area(box(x1 - 0.001, y0, x1, y1), CM)
    assert result.report.findings[0]["area_m2"] == pytest.approx(gap, rel=1e-3)


@pytest.mark.django_db
def test_rule_coverage_gap_tolerance(tmp_path, parents):
    # 0.5 m short of the community's own edge: digitising noise, like a 0.5 m overshoot.
    edge = _grow(cell_boxes(), C2, dx1=-0.5 * M_LON)
    assert run(write_cells(tmp_path, edge), parents).report.findings == []
    # 0.3 m between two siblings, inside the community: a real gap (≈ 0.3 m × 1.1 km).
    inner = _grow(cell_boxes(), C1, dx1=-0.3 * M_LON)
    result = run(write_cells(tmp_path, inner, name="inner.geojson"), parents)
    assert rules(result) == [("coverage_gap", "error", "210204001001")]
    assert result.report.findings[0]["area_m2"] == pytest.approx(333, rel=0.02)


@pytest.mark.django_db
def test_rule_duplicate_code(tmp_path, parents):
    feats = cell_features()
    feats.append(feature(C1, "重复", [box(*cell_boxes()[C1])]))
    result = run(write_geojson(tmp_path / "dup.geojson", feats), parents, commit=True)
    # Both copies are dropped (no guessing which is right); the hole is then reported.
    assert rules(result) == [
        ("duplicate_code", "error", C1),
        ("coverage_gap", "error", "210204001001"),
    ]
    assert "2 次" in result.report.findings[0]["message"]
    assert result.created == 7
    # Importing the same file again: every code already exists in the draft.
    again = run(write_cells(tmp_path), parents)
    assert [r[0] for r in rules(again)] == ["duplicate_code"] * 7
    assert {r[2] for r in rules(again)} == set(cell_boxes()) - {C1}


@pytest.mark.django_db
def test_rule_code_not_extending_parent(tmp_path, parents):
    feats = cell_features()
    feats += [
        feature("21020400100100", "14位", [box(*cell_boxes()[C1])]),
        feature("2102040010010x1", "非数字", [box(*cell_boxes()[C1])]),
        # Prefix 210204001009 does not exist; the cell lies inside community 210204001001.
        feature("210204001009001", "错前缀", [box(*cell_boxes()[C1])]),
    ]
    result = run(write_geojson(tmp_path / "codes.geojson", feats), parents)
    assert rules(result) == [
        ("code_not_extending_parent", "error", "21020400100100"),
        ("code_not_extending_parent", "error", "2102040010010x1"),
        ("code_not_extending_parent", "error", "210204001009001"),
    ]
    assert "15 位数字" in result.report.findings[0]["message"]
    assert "210204001001" in result.report.findings[2]["message"]


@pytest.mark.django_db
def test_rule_code_not_extending_parent_via_parent_field(tmp_path, parents):
    feats = [feature(C1, "网格", [box(*cell_boxes()[C1])], community="210204001002")]
    result = run(write_geojson(tmp_path / "p.geojson", feats), parents, parent_field="community")
    assert rules(result) == [("code_not_extending_parent", "error", C1)]
    assert "210204001002" in result.report.findings[0]["message"]


@pytest.mark.django_db
def test_two_thousand_cells_import_in_seconds(tmp_path, parents):
    """4 communities × 500 cells (25 × 20): read, reproject, validate (dry run), then commit."""
    feats = []
    for code, community in parents["communities"].items():
        x0, y0, x1, y1 = community.geom.extent
        dx, dy = (x1 - x0) / 25, (y1 - y0) / 20
        for i in range(500):
            col, row = i % 25, i // 25
            ring = box(x0 + col * dx, y1 - (row + 1) * dy, x0 + (col + 1) * dx, y1 - row * dy)
            ring = [list(tm_forward(x, y)) for x, y in ring]
            feats.append(feature(f"{code}{i + 1:03d}", f"网格{i + 1}", [ring]))
    path = write_geojson(tmp_path / "big.geojson", feats, srid=4549)
    started = time.perf_counter()
    result = run(path, parents, commit=True)
    elapsed = time.perf_counter() - started
    assert (result.features, result.created) == (2000, 2000)
    assert result.report.findings == []
    assert elapsed < 20, f"2,000-cell import took {elapsed:.1f} s"


# --- The command -------------------------------------------------------------------------------


def grid_import(*args: str) -> str:
    out = io.StringIO()
    call_command("grid_import", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_command_dry_run_then_commit(tmp_path, parents):
    path = write_cells(tmp_path, srid=4549, project=tm_forward)
    gen = parents["generation"]
    text = grid_import(
        str(path), "--level", "cell", "--code-field", "code", "--name-field", "name",
        "--generation", str(gen.pk),
    )  # fmt: skip
    assert "试运行" in text and "读取 8 个要素" in text and "错误 0 个，警告 0 个" in text
    assert GridCell.objects.count() == 0

    text = grid_import(str(path), "--level", "cell", "--generation", str(gen.pk), "--commit")
    assert "写入 8 个" in text
    assert GridCell.objects.filter(generation=gen).count() == 8
    assert ValidationReport.objects.filter(committed=True).count() == 1


@pytest.mark.django_db
def test_command_prints_findings_and_creates_generation(tmp_path, db):
    district = feature("21020", "短代码", [box(X0, Y0, X0 + 4 * STEP, Y0 + 2 * STEP)])
    ok = feature("210204", "沙河口区", [box(X0, Y0, X0 + 4 * STEP, Y0 + 2 * STEP)])
    path = write_geojson(tmp_path / "d.geojson", [district, ok], srid=4490)
    text = grid_import(str(path), "--level", "district", "--generation-name", "新版", "--commit")
    assert "[错误] code_not_extending_parent 21020:" in text
    gen = Generation.objects.get(name="新版")
    assert f"ID {gen.pk}" in text
    assert list(Community.objects.all()) == []
    assert District.objects.get().generation == gen


@pytest.mark.django_db
def test_command_refuses_commit_into_active_generation(tmp_path, hierarchy):
    path, active = write_cells(tmp_path), hierarchy["generation"]
    with pytest.raises(CommandError, match="草稿"):
        grid_import(str(path), "--level", "cell", "--generation", str(active.pk), "--commit")
    with pytest.raises(CommandError, match="999999"):
        grid_import(str(path), "--level", "cell", "--generation", "999999")
