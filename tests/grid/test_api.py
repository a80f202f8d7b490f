"""Grid API: locate and GeoJSON layers — exact payloads, 400s in Chinese, query counts."""

import json

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grid.api.serializers import LocateResultSerializer, locate_payload
from grid.coords import wgs84_to_gcj02
from grid.models import GridCell
from grid.services.locate import grid_locate
from tests.api.shapes import error, invalid
from tests.factories import STEP, X0, Y0, GenerationFactory, build_hierarchy, square

LOCATE = reverse("grid-api:locate")


def layer(level: str) -> str:
    return reverse("grid-api:layer", kwargs={"level": level})


@pytest.fixture
def api(client, grid_worker):
    client.force_login(grid_worker)
    return client


# --- locate -------------------------------------------------------------------------------


def test_locate_payload(api, hierarchy, django_assert_max_num_queries):
    cell = hierarchy["cells"]["210204001001001"]
    gen = hierarchy["generation"]
    with django_assert_max_num_queries(3):  # session, user, the lookup
        response = api.get(LOCATE, {"lng": X0 + 0.005, "lat": Y0 + 0.015})
    assert response.status_code == 200
    assert response.json() == {
        "found": True,
        "message": "",
        "cell": {
            "id": cell.pk,
            "code": "210204001001001",
            "name": "测试1街道北社区第1网格",
            "households": 400,
            "residents": 800,
        },
        "community": {"code": "210204001001", "name": "测试1街道北社区"},
        "street": {"code": "210204001", "name": "测试1街道"},
        "district": {"code": "210204", "name": "沙河口区"},
        "generation": {"id": gen.pk, "name": gen.name},
    }


def test_locate_outside(api, hierarchy):
    response = api.get(LOCATE, {"lng": 121.0, "lat": 38.0})
    assert response.status_code == 200
    gen = hierarchy["generation"]
    assert response.json() == {
        "found": False,
        "message": "该位置不在任何网格内",
        "cell": None,
        "community": None,
        "street": None,
        "district": None,
        "generation": {"id": gen.pk, "name": gen.name},
    }


def test_locate_payload_matches_its_documented_serializer(hierarchy):
    """The view builds the payload by hand for speed; it must stay what the schema documents."""
    for point in [(X0 + 0.005, Y0 + 0.015), (121.0, 38.0)]:
        result = grid_locate(point)
        assert locate_payload(result) == LocateResultSerializer(result).data


def test_locate_gcj02_and_date(api, hierarchy):
    lng, lat = wgs84_to_gcj02(X0 + 0.008, Y0 + 0.008)
    response = api.get(LOCATE, {"lng": lng, "lat": lat, "crs": "gcj02", "at": "2099-01-01"})
    assert response.json()["cell"]["code"] == "210204001002001"
    # A datetime whose "+" was not percent-encoded still parses.
    response = api.get(f"{LOCATE}?lng={lng}&lat={lat}&crs=gcj02&at=2099-01-01T09:00:00+08:00")
    assert response.json()["cell"]["code"] == "210204001002001"
    response = api.get(LOCATE, {"lng": lng, "lat": lat, "crs": "gcj02", "at": "2000-01-01"})
    assert response.json()["found"] is False
    assert response.json()["message"] == "该时间没有生效的网格边界版本"


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({}, {"lng": ["请提供经度 lng。"], "lat": ["请提供纬度 lat。"]}),
        ({"lng": "东经121", "lat": "38.9"}, {"lng": ["经度 lng 必须是数字。"]}),
        ({"lng": "121.5", "lat": "91"}, {"lat": ["纬度 lat 必须在 -90 到 90 之间。"]}),
        ({"lng": "-181", "lat": "38.9"}, {"lng": ["经度 lng 必须在 -180 到 180 之间。"]}),
        ({"lng": "nan", "lat": "38.9"}, {"lng": ["经度 lng 必须是数字。"]}),
        ({"lng": "121.5", "lat": "inf"}, {"lat": ["纬度 lat 必须是数字。"]}),
        (
            {"lng": "121.5", "lat": "38.9", "crs": "epsg3857"},
            {"crs": ["不支持的坐标系“epsg3857”，可选：wgs84、gcj02、bd09。"]},
        ),
        (
            {"lng": "121.5", "lat": "38.9", "at": "2024-02-30"},
            {
                "at": [
                    "时间格式无效：请使用 YYYY-MM-DD 或 ISO 8601 日期时间"
                    "（如 2024-06-01T09:00:00+08:00）。"
                ]
            },
        ),
    ],
)
def test_locate_bad_input(api, hierarchy, params, errors):
    response = api.get(LOCATE, params)
    assert response.status_code == 400
    assert response.json() == invalid(errors)


def test_locate_needs_login(client, hierarchy):
    response = client.get(LOCATE, {"lng": X0, "lat": Y0})
    assert response.status_code == 401
    assert response.json() == error("not_authenticated", "身份认证信息未提供。")
    assert response["WWW-Authenticate"] == 'Token realm="api"'


# --- layers -------------------------------------------------------------------------------


def features(response) -> dict:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json; charset=utf-8"
    data = json.loads(response.content)
    assert data["type"] == "FeatureCollection"
    return {f["properties"]["code"]: f for f in data["features"]}


def ring(feature) -> list:
    """The exterior ring of a single-polygon feature, as [[lng, lat], …]."""
    assert feature["geometry"]["type"] == "MultiPolygon"
    return feature["geometry"]["coordinates"][0][0]


def test_cell_layer_payload_and_bbox(api, hierarchy):
    cell = hierarchy["cells"]["210204002002002"]  # the south-east cell
    # A box inside the south-east cell only.
    bbox = f"{X0 + 3.2 * STEP},{Y0 + 0.2 * STEP},{X0 + 3.8 * STEP},{Y0 + 0.8 * STEP}"
    got = features(api.get(layer("cell"), {"bbox": bbox, "zoom": 16}))
    assert list(got) == ["210204002002002"]
    feature = got["210204002002002"]
    assert feature["id"] == cell.pk
    assert feature["properties"] == {
        "id": cell.pk,
        "code": "210204002002002",
        "name": "测试2街道南社区第2网格",
        "level": "cell",
        "parent_code": "210204002002",
        "parent_name": "测试2街道南社区",
        "households": 400,
        "residents": 800,
        "area_m2": None,  # areas_finalize has not run in this fixture
    }
    x0, y0 = X0 + 3 * STEP, Y0
    corners = [(x0, y0), (x0 + STEP, y0), (x0 + STEP, y0 + STEP), (x0, y0 + STEP), (x0, y0)]
    assert len(ring(feature)) == 5
    for (lng, lat), (want_lng, want_lat) in zip(ring(feature), corners, strict=True):
        assert (lng, lat) == pytest.approx((want_lng, want_lat), abs=1e-7)
    # A box across the middle of the district catches the four cells around the centre.
    bbox = f"{X0 + 1.5 * STEP},{Y0 + 0.5 * STEP},{X0 + 2.5 * STEP},{Y0 + 1.5 * STEP}"
    assert sorted(features(api.get(layer("cell"), {"bbox": bbox}))) == [
        "210204001001002",
        "210204001002002",
        "210204002001001",
        "210204002002001",
    ]
    # Without a box: everything.
    assert len(features(api.get(layer("cell")))) == 8


def test_zoom_chooses_simplified_or_full_geometry(api, hierarchy):
    cell = hierarchy["cells"]["210204001001001"]
    x0, y0 = X0, Y0 + STEP
    triangle = ((x0, y0), (x0 + STEP, y0), (x0, y0 + STEP), (x0, y0))
    GridCell.objects.filter(pk=cell.pk).update(
        geom_simple=MultiPolygon(Polygon(triangle), srid=4326), area_m2=961234.567
    )
    for params in ({}, {"zoom": 0}, {"zoom": 14}):
        got = features(api.get(layer("cell"), params))
        assert len(ring(got[cell.code])) == 4, params  # the stored simplified copy
        assert len(ring(got["210204001001002"])) == 5, params  # no copy: falls back to geom
    for zoom in (15, 18):
        got = features(api.get(layer("cell"), {"zoom": zoom}))
        assert len(ring(got[cell.code])) == 5
    assert got[cell.code]["properties"]["area_m2"] == 961234.6


def test_upper_levels_sum_households_and_name_parents(api, hierarchy):
    GridCell.objects.filter(code="210204001001001").update(households=None, residents=100)
    got = features(api.get(layer("community")))
    assert got["210204001001"]["properties"] == {
        "id": hierarchy["communities"]["210204001001"].pk,
        "code": "210204001001",
        "name": "测试1街道北社区",
        "level": "community",
        "parent_code": "210204001",
        "parent_name": "测试1街道",
        "households": 400,  # SUM ignores the unknown count
        "residents": 900,
        "area_m2": None,
    }
    streets = features(api.get(layer("street")))
    assert {
        c: (f["properties"]["households"], f["properties"]["residents"]) for c, f in streets.items()
    } == {
        "210204001": (1200, 2500),
        "210204002": (1600, 3200),
    }
    assert streets["210204002"]["properties"]["parent_name"] == "沙河口区"
    (district,) = features(api.get(layer("district"))).values()
    assert district["properties"]["parent_code"] is None
    assert district["properties"]["parent_name"] is None
    assert district["properties"]["households"] == 2800
    assert district["properties"]["residents"] == 5700


def test_layer_of_another_generation(api, hierarchy):
    draft = build_hierarchy(GenerationFactory())["generation"]
    GridCell.objects.filter(generation=draft, code="210204001001001").update(name="草稿网格")
    got = features(api.get(layer("cell"), {"generation": draft.pk}))
    assert got["210204001001001"]["properties"]["name"] == "草稿网格"
    assert {f["properties"]["name"] for f in features(api.get(layer("cell"))).values()} >= {
        "测试1街道北社区第1网格"
    }


def test_layer_query_count_is_constant(api, hierarchy):
    whole = "121.0,38.0,122.0,39.5"
    one = f"{X0 + 3.2 * STEP},{Y0 + 0.2 * STEP},{X0 + 3.8 * STEP},{Y0 + 0.8 * STEP}"
    counts = {}
    for level, bbox, expected in [
        ("cell", whole, 8),
        ("cell", one, 1),
        ("community", whole, 4),
        ("street", whole, 2),
        ("district", whole, 1),
    ]:
        with CaptureQueriesContext(connection) as ctx:
            assert len(features(api.get(layer(level), {"bbox": bbox}))) == expected
        counts[(level, expected)] = len(ctx.captured_queries)
    assert set(counts.values()) == {3}, counts  # session, user, one query for the layer


def test_layer_query_count_bound(api, hierarchy, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        api.get(layer("community"))


def test_layer_unknown_level_is_404(api, hierarchy):
    assert api.get(layer("province")).status_code == 404


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"bbox": "1,2,3"}, {"bbox": ["bbox 格式应为 minlng,minlat,maxlng,maxlat。"]}),
        ({"bbox": "a,b,c,d"}, {"bbox": ["bbox 格式应为 minlng,minlat,maxlng,maxlat。"]}),
        ({"bbox": "122,38,121,39"}, {"bbox": ["bbox 的最小值必须小于最大值。"]}),
        ({"zoom": "25"}, {"zoom": ["缩放级别必须是 0 到 24 之间的整数。"]}),
        ({"zoom": "high"}, {"zoom": ["缩放级别必须是 0 到 24 之间的整数。"]}),
        ({"generation": "0"}, {"generation": ["版本编号必须是正整数。"]}),
    ],
)
def test_layer_bad_input(api, hierarchy, params, errors):
    response = api.get(layer("cell"), params)
    assert response.status_code == 400
    assert response.json() == invalid(errors)


def test_layer_needs_login(client, hierarchy):
    assert client.get(layer("cell")).status_code == 401


def test_layer_geometry_is_valid_geojson_text(api, hierarchy):
    """The geometry text spliced from the database parses and round-trips the stored polygon."""
    from django.contrib.gis.geos import GEOSGeometry

    got = features(api.get(layer("street"), {"zoom": 15}))
    geom = GEOSGeometry(json.dumps(got["210204001"]["geometry"]), srid=4326)
    assert geom.equals_exact(square(X0, Y0, X0 + 2 * STEP, Y0 + 2 * STEP), tolerance=1e-7)


def test_openapi_schema_documents_the_grid_api(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    locate = paths["/api/v1/grid/locate"]["get"]
    assert {p["name"] for p in locate["parameters"]} == {"lng", "lat", "crs", "at"}
    layer_op = paths["/api/v1/grid/layers/{level}/"]["get"]
    names = {p["name"]: p for p in layer_op["parameters"]}
    # `format` picks the renderer (json or geojson), like Accept: application/geo+json
    assert set(names) == {"level", "bbox", "zoom", "generation", "format"}
    assert names["format"]["schema"]["enum"] == ["geojson", "json"]
    assert names["level"]["schema"]["enum"] == ["cell", "community", "district", "street"]
    assert list(layer_op["responses"]["200"]["content"]) == ["application/geo+json"]
