"""GCJ-02 / BD-09 ↔ WGS-84 against coordinate pairs published with open implementations.

Vectors:
- googollee/eviltransform, python/test.py and go/transform_test.go (`TESTS`: WGS-84 → GCJ-02 for
  Shanghai, Shenzhen, Beijing; their exact inverse must come back within 0.5 m).
- wandergis/coordtransform, README.md (bd09togcj02, gcj02tobd09, wgs84togcj02 and gcj02towgs84
  at 116.404, 39.915). Its gcj02towgs84 is the one-step approximation, so we only require ours
  to be within a few centimetres of it; our own inverse is checked by round trip.
(eviltransform's BD-09 vectors, `TESTS_bd`, are not used: they disagree with its own formulas by
~40 m, apparently taken from Baidu's service, not produced by the published transform.)
"""

import math

import pytest

from grid.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# (wgs_lng, wgs_lat, gcj_lng, gcj_lat) — eviltransform's lat-first tuples, reordered lng-first.
EVILTRANSFORM = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]


def metres(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """Equirectangular distance; exact enough for sub-metre comparisons."""
    x = math.radians(lng2 - lng1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6371008.8 * math.hypot(x, y)


@pytest.mark.parametrize(("wlng", "wlat", "glng", "glat"), EVILTRANSFORM)
def test_wgs84_to_gcj02_matches_eviltransform(wlng, wlat, glng, glat):
    lng, lat = wgs84_to_gcj02(wlng, wlat)
    assert lng == pytest.approx(glng, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlng", "wlat", "glng", "glat"), EVILTRANSFORM)
def test_gcj02_to_wgs84_matches_eviltransform_exactly(wlng, wlat, glng, glat):
    lng, lat = gcj02_to_wgs84(glng, glat)
    # eviltransform's exact inverse promises 0.5 m; iterating to 1e-7° does far better.
    assert metres(lng, lat, wlng, wlat) < 0.02


def test_coordtransform_readme_vectors():
    assert bd09_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.39762729119315, 39.90865673957631), abs=1e-9
    )
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx(
        (116.41036949371029, 39.92133699351021), abs=1e-9
    )
    assert wgs84_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.41024449916938, 39.91640428150164), abs=1e-9
    )
    one_step = (116.39775550083061, 39.91359571849836)
    lng, lat = gcj02_to_wgs84(116.404, 39.915)
    assert 0.01 < metres(lng, lat, *one_step) < 0.1  # differs from the 1-step, by centimetres
    assert wgs84_to_gcj02(lng, lat) == pytest.approx((116.404, 39.915), abs=1e-7)


def test_bd09_to_wgs84_goes_through_gcj02():
    gcj = bd09_to_gcj02(121.57, 38.92)
    assert bd09_to_wgs84(121.57, 38.92) == gcj02_to_wgs84(*gcj)
    assert to_wgs84(121.57, 38.92, "bd09") == gcj02_to_wgs84(*gcj)


# A lattice over China, including Dalian (the demo district) and points near the box edges.
LATTICE = [
    (lng, lat)
    for lng in (73.0, 87.5, 100.0, 116.4, 121.56, 135.0)
    for lat in (3.0, 22.5, 38.9, 53.0)
]


@pytest.mark.parametrize(("lng", "lat"), LATTICE)
def test_gcj02_round_trip(lng, lat):
    glng, glat = wgs84_to_gcj02(lng, lat)
    assert (glng, glat) != (lng, lat)  # inside China the offset is never zero
    back = gcj02_to_wgs84(glng, glat)
    assert back == pytest.approx((lng, lat), abs=2e-7)
    # and in the other direction: an arbitrary GCJ-02 position maps back onto itself
    assert wgs84_to_gcj02(*gcj02_to_wgs84(lng, lat)) == pytest.approx((lng, lat), abs=1e-7)


@pytest.mark.parametrize(("lng", "lat"), LATTICE)
def test_bd09_round_trip(lng, lat):
    back = bd09_to_wgs84(*wgs84_to_bd09(lng, lat))
    # The published BD-09 inverse (which the vectors above pin down) is itself approximate, to
    # about 0.2 m: far below a cell's size and the metre-level accuracy SPEC §2 asks for.
    assert metres(*back, lng, lat) < 0.25


def test_dalian_offset_is_hundreds_of_metres():
    """Sanity check on magnitude: GCJ-02 shifts Dalian by roughly half a kilometre."""
    lng, lat = 121.56, 38.91
    shift = metres(lng, lat, *wgs84_to_gcj02(lng, lat))
    assert 300 < shift < 800
    assert 800 < metres(lng, lat, *wgs84_to_bd09(lng, lat)) < 1500


@pytest.mark.parametrize(
    ("lng", "lat"),
    [
        (2.3522, 48.8566),
        (139.69, 35.69),
        (-74.0, 40.7),
        (72.0, 30.0),
        (137.9, 40.0),
        (120.0, 0.8),
        (120.0, 55.9),
    ],
)
def test_identity_outside_china(lng, lat):
    assert out_of_china(lng, lat)
    for crs in ("wgs84", "gcj02", "bd09"):
        assert to_wgs84(lng, lat, crs) == (lng, lat)
    assert wgs84_to_gcj02(lng, lat) == (lng, lat)
    assert gcj02_to_bd09(lng, lat) == (lng, lat)


def test_out_of_china_box_edges():
    assert not out_of_china(72.004, 0.8293)
    assert not out_of_china(137.8347, 55.8271)
    assert out_of_china(72.003, 30.0)
    assert out_of_china(100.0, 55.8272)


def test_wgs84_is_identity_and_unknown_crs_refused():
    assert to_wgs84(121.56, 38.91, "wgs84") == (121.56, 38.91)
    with pytest.raises(ValueError, match="不支持的坐标系“epsg3857”"):
        to_wgs84(121.56, 38.91, "epsg3857")
