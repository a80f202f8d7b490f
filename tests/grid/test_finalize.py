import pytest

from grid.services.finalize import areas_finalize
from tests.factories import build_hierarchy


@pytest.mark.django_db
def test_finalize_sets_simplified_geometry_and_area():
    h = build_hierarchy()
    areas_finalize(generation=h["generation"])
    cell = h["cells"]["210204001001001"]
    cell.refresh_from_db()
    # 0.01° × 0.01° at 38.91°N ≈ 866 m × 1110 m
    assert cell.area_m2 == pytest.approx(961_000, rel=0.01)
    assert cell.geom_simple is not None and cell.geom_simple.geom_type == "MultiPolygon"
    assert cell.geom_simple.equals_exact(cell.geom, tolerance=1e-9)
