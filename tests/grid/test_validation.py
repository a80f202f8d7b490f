"""generation_validate on stored boundaries: each rule broken on purpose, the clean case, the
metric projection, the text format, and 2,000 cells in seconds."""

import time

import numpy as np
import pytest
import shapely
from django.contrib.gis.geos import MultiPolygon, Polygon

from grid.models import District, GridCell, ValidationReport
from grid.services.generations import ActivationRefused, generation_activate
from grid.services.validation import (
    code_problem,
    duplicate_findings,
    generation_validate,
    metric_srid,
    report_format,
    to_metric,
)
from tests.factories import STEP, X0, Y0, build_hierarchy, square
from tests.grid.fixtures_gen import box, cell_boxes, projected_area, tm_forward

CM = 123.0  # the lattice's validation zone: CGCS2000 GK CM 123°E (EPSG:4550)
C1, C2 = "210204001001001", "210204001001002"


def rules(report: ValidationReport) -> list[tuple[str, str, str]]:
    return [(f["rule"], f["level"], f["code"]) for f in report.findings]


def set_cell(h, code, x0, y0, x1, y1):
    GridCell.objects.filter(generation=h["generation"], code=code).update(
        geom=square(x0, y0, x1, y1)
    )


@pytest.fixture
def h(db):
    return build_hierarchy()


def test_clean_hierarchy_has_zero_findings(h):
    report = generation_validate(generation=h["generation"])
    assert report.findings == []
    assert (report.error_count, report.warning_count, report.level) == (0, 0, "")
    assert report.committed is True and report.generation == h["generation"]
    assert ValidationReport.objects.get() == report


def test_rule_invalid_geometry(h):
    x0, y0, x1, y1 = cell_boxes()[C1]
    bow_tie = Polygon(((x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)), srid=4326)
    GridCell.objects.filter(code=C1).update(geom=MultiPolygon(bow_tie, srid=4326))
    report = generation_validate(generation=h["generation"])
    # The other rules still run on the repaired shape: two triangles leave half the cell open.
    assert rules(report) == [
        ("invalid_geometry", "error", C1),
        ("coverage_gap", "error", "210204001001"),
    ]
    assert "Self-intersection" in report.findings[0]["message"]
    half = projected_area(box(x0, y0, x1, y1), CM) / 2
    assert report.findings[1]["area_m2"] == pytest.approx(half, rel=1e-3)


def test_rule_not_within_parent(h):
    x0, y0, x1, y1 = cell_boxes()[C1]  # north-west cell: 0.001° north is outside everything
    set_cell(h, C1, x0, y0, x1, y1 + 0.001)
    report = generation_validate(generation=h["generation"])
    assert rules(report) == [("not_within_parent", "error", C1)]
    strip = projected_area(box(x0, y1, x1, y1 + 0.001), CM)
    assert report.findings[0]["area_m2"] == pytest.approx(strip, rel=1e-3)


def test_rule_sibling_overlap(h):
    x0, y0, x1, y1 = cell_boxes()[C1]
    set_cell(h, C1, x0, y0, x1 + 0.002, y1)  # 0.002° into its sibling C2
    report = generation_validate(generation=h["generation"])
    assert rules(report) == [("sibling_overlap", "error", C1)]
    assert report.findings[0]["message"].split()[1] == C2
    overlap = projected_area(box(x1, y0, x1 + 0.002, y1), CM)
    assert report.findings[0]["area_m2"] == pytest.approx(overlap, rel=1e-3)


def test_rule_sibling_overlap_across_parents(h):
    # Every area of one level is checked against every other: cells of neighbouring
    # communities must not overlap either (here C2 also leaves its community).
    x0, y0, x1, y1 = cell_boxes()[C2]
    set_cell(h, C2, x0, y0, x1 + 0.001, y1)
    report = generation_validate(generation=h["generation"])
    assert rules(report) == [
        ("not_within_parent", "error", C2),
        ("sibling_overlap", "error", C2),
    ]
    assert report.findings[1]["message"].split()[1] == "210204002001001"
    overlap = projected_area(box(x1, y0, x1 + 0.001, y1), CM)
    assert report.findings[1]["area_m2"] == pytest.approx(overlap, rel=1e-3)
    assert report.findings[0]["area_m2"] == pytest.approx(overlap, rel=1e-3)


def test_rule_sibling_overlap_between_districts(h):
    # The top level has no parent, but its areas still must not overlap.
    District.objects.create(
        generation=h["generation"],
        code="210211",
        name="甘井子区",
        geom=square(X0 - 0.01, Y0, X0 + 0.001, Y0 + 2 * STEP),
    )
    report = generation_validate(generation=h["generation"])
    assert rules(report) == [("sibling_overlap", "error", "210204")]
    overlap = projected_area(box(X0, Y0, X0 + 0.001, Y0 + 2 * STEP), CM)
    assert report.findings[0]["area_m2"] == pytest.approx(overlap, rel=1e-3)


def test_rule_coverage_gap_at_every_level(h):
    gen = h["generation"]
    x0, y0, x1, y1 = cell_boxes()[C2]
    set_cell(h, C2, x0, y0, x1 - 0.001, y1)  # cell level: community 210204001001 not covered
    # Street level: the district's east street stops 0.002° short of the district's east edge.
    street = h["streets"]["210204002"]
    sx0, sy0, sx1, sy1 = street.geom.extent
    type(street).objects.filter(pk=street.pk).update(geom=square(sx0, sy0, sx1 - 0.002, sy1))
    report = generation_validate(generation=gen)
    # Findings come level by level: streets in the district, communities in streets, cells.
    assert rules(report) == [
        ("coverage_gap", "error", "210204"),
        # The shrunken street no longer holds its communities entirely.
        ("not_within_parent", "error", "210204002001"),
        ("not_within_parent", "error", "210204002002"),
        ("coverage_gap", "error", "210204001001"),
    ]
    district_gap = projected_area(box(sx1 - 0.002, sy0, sx1, sy1), CM)
    assert report.findings[0]["area_m2"] == pytest.approx(district_gap, rel=1e-3)
    cell_gap = projected_area(box(x1 - 0.001, y0, x1, y1), CM)
    assert report.findings[3]["area_m2"] == pytest.approx(cell_gap, rel=1e-3)


def test_parent_without_children_is_not_a_gap(h):
    GridCell.objects.filter(community__code="210204002002").delete()
    assert generation_validate(generation=h["generation"]).findings == []


def test_errors_block_activation_until_forced(h):
    x0, y0, x1, y1 = cell_boxes()[C1]
    set_cell(h, C1, x0, y0, x1 + 0.002, y1)
    generation_validate(generation=h["generation"])
    with pytest.raises(ActivationRefused):
        generation_activate(generation=h["generation"])
    generation_activate(generation=h["generation"], force=True, reason="先上线，再修边界")
    event = h["generation"].events.get(action="activate")
    assert event.forced is True


# --- Rules that the database already enforces (checked at import; kept for old data) ---------


@pytest.mark.parametrize(
    ("code", "parent", "level", "ok"),
    [
        ("210204", None, "district", True),
        ("21020", None, "district", False),
        ("210204001", "210204", "street", True),
        ("210205001", "210204", "street", False),
        ("210204001001001", "210204001001", "cell", True),
        ("21020400100100", "210204001001", "cell", False),
        ("2102040010010０1", "210204001001", "cell", False),  # a full-width digit
        ("210204001002001", "210204001001", "cell", False),
    ],
)
def test_code_problem(code, parent, level, ok):
    assert (code_problem(code, parent, level) is None) is ok


def test_duplicate_findings():
    found = duplicate_findings(["1", "2", "2", "3"], existing={"3"})
    assert [(f["rule"], f["code"]) for f in found] == [
        ("duplicate_code", "2"),
        ("duplicate_code", "3"),
    ]
    assert "2 次" in found[0]["message"] and "已有" in found[1]["message"]


# --- Metric CRS, format, speed ---------------------------------------------------------------


def test_metric_srid_picks_the_gauss_kruger_zone():
    assert metric_srid(120.2, 39.0) == 4549  # CM 120°E
    assert metric_srid(121.57, 38.9) == 4550  # CM 123°E: Shahekou lies east of 121.5°
    assert metric_srid(116.4, 39.9) == 4548  # Beijing, CM 117°E
    assert metric_srid(2.35, 48.85) == 32631  # outside China: UTM


def test_to_metric_is_a_real_transverse_mercator():
    lon, lat = 121.5833, 38.9167
    (point,) = to_metric(np.array([shapely.Point(lon, lat)], dtype=object), 4549)
    e, n = tm_forward(lon, lat, 120.0)
    assert point.x == pytest.approx(e, abs=0.001) and point.y == pytest.approx(n, abs=0.001)


def test_report_format(h):
    x0, y0, x1, y1 = cell_boxes()[C1]
    set_cell(h, C1, x0, y0, x1 + 0.002, y1)
    report = generation_validate(generation=h["generation"])
    text = report_format(report)
    assert f"校验报告 #{report.pk}" in text
    assert "层级：全部" in text and "错误 1 个，警告 0 个。" in text
    assert f"[错误] sibling_overlap {C1}: 与 {C2} 重叠" in text


def test_two_thousand_cells_validate_in_seconds(h):
    gen = h["generation"]
    GridCell.objects.filter(generation=gen).delete()
    cells = []
    for code, community in h["communities"].items():
        x0, y0, x1, y1 = community.geom.extent
        dx, dy = (x1 - x0) / 25, (y1 - y0) / 20
        for i in range(500):
            col, row = i % 25, i // 25
            geom = square(x0 + col * dx, y1 - (row + 1) * dy, x0 + (col + 1) * dx, y1 - row * dy)
            cells.append(
                GridCell(
                    generation=gen,
                    community=community,
                    parent_code=code,
                    code=f"{code}{i + 1:03d}",
                    name=f"网格{i + 1}",
                    geom=geom,
                )
            )
    GridCell.objects.bulk_create(cells)
    started = time.perf_counter()
    report = generation_validate(generation=gen)
    elapsed = time.perf_counter() - started
    assert report.findings == []
    assert elapsed < 10, f"validating 2,000 cells took {elapsed:.1f} s"
