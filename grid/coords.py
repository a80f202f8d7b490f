"""Consumer-map coordinates (GCJ-02, BD-09) to WGS-84, converted once at the edge (SPEC §2).

GCJ-02 is WGS-84 plus a published, non-invertible-in-closed-form offset (metres to hundreds of
metres); BD-09 is Baidu's further offset on top of GCJ-02. The forward formulas are the widely
reproduced ones (Krasovsky ellipsoid constants, as in googollee/eviltransform and
wandergis/coordtransform). The inverse GCJ-02 → WGS-84 is found by iterating the forward
transform, because the usual one-step approximation is off by 1–2 m, enough to put a point on the
wrong side of a cell edge. Outside China's bounding box the offset is zero by definition.
"""

import math

from django.utils.translation import gettext as _

CRS_CHOICES = ("wgs84", "gcj02", "bd09")

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 formula uses
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0
_TOLERANCE_DEG = 1e-7  # ~1 cm; the iteration converges to this in 2–4 steps
_MAX_ITERATIONS = 30


def out_of_china(lng: float, lat: float) -> bool:
    """True outside the rough bounding box in which the GCJ-02 offset applies."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _offset_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2 / 3
    return ret


def _offset_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    return ret


def _gcj_delta(lng: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 offset (dlng, dlat) in degrees at a WGS-84 position."""
    dlat = _offset_lat(lng - 105.0, lat - 35.0)
    dlng = _offset_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlng, dlat


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """WGS-84 → GCJ-02 (the forward, closed-form direction)."""
    if out_of_china(lng, lat):
        return lng, lat
    dlng, dlat = _gcj_delta(lng, lat)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """GCJ-02 → WGS-84 by fixed-point iteration of the forward transform (to < 1e-7°)."""
    if out_of_china(lng, lat):
        return lng, lat
    # Start from the one-step approximation, then correct by the residual of the forward
    # transform; the offset varies slowly, so each step shrinks the error ~1000-fold.
    dlng, dlat = _gcj_delta(lng, lat)
    wlng, wlat = lng - dlng, lat - dlat
    for _step in range(_MAX_ITERATIONS):
        glng, glat = wgs84_to_gcj02(wlng, wlat)
        elng, elat = glng - lng, glat - lat
        if abs(elng) < _TOLERANCE_DEG and abs(elat) < _TOLERANCE_DEG:
            break
        wlng, wlat = wlng - elng, wlat - elat
    return wlng, wlat


def gcj02_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    """GCJ-02 → BD-09 (Baidu's offset on top of GCJ-02)."""
    if out_of_china(lng, lat):
        return lng, lat
    z = math.hypot(lng, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """BD-09 → GCJ-02 (the published inverse; accurate to centimetres)."""
    if out_of_china(lng, lat):
        return lng, lat
    x, y = lng - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def bd09_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """BD-09 → WGS-84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lng, lat))


def wgs84_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    """WGS-84 → BD-09 (through GCJ-02); used by tests and demo data."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lng, lat))


def to_wgs84(lng: float, lat: float, crs: str = "wgs84") -> tuple[float, float]:
    """Convert a position given in `crs` (wgs84 | gcj02 | bd09) to WGS-84."""
    if crs == "wgs84":
        return lng, lat
    if crs == "gcj02":
        return gcj02_to_wgs84(lng, lat)
    if crs == "bd09":
        return bd09_to_wgs84(lng, lat)
    raise ValueError(_("不支持的坐标系“%(crs)s”，可选：wgs84、gcj02、bd09。") % {"crs": crs})
