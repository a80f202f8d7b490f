"""The map dashboard: choropleth GeoJSON (values equal the engine's, classes, query count, cache
and its invalidation), scope (404 outside the grants), the area panel (同比/环比, trend, links),
case markers and heat points (no 检举控告 for leaders, no personal data), the page, and the
"history on today's boundaries" switch across a boundary change."""

import json
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Grant, Role
from dashboard import selectors
from dashboard.selectors import class_breaks, class_of, data_version, today_supported
from dashboard.stats import FIGURE_DEFS, FIGURE_KEYS, Period, change, figures_for_areas, trend
from grid.models import GridCell
from grid.services.generations import generation_activate
from tests.dashboard.conftest import A1, A2, A, A1a, A1b, A2a, A2b, B, B1a, B1b, B2a, B2b, D
from tests.factories import GenerationFactory, UserFactory, build_hierarchy
from tests.petitions.conftest import bj

pytestmark = pytest.mark.django_db

MARCH = Period.month(2026, 3)
CELLS = [A1a, A1b, A2a, A2b, B1a, B1b, B2a, B2b]
CHOROPLETH = reverse("dashboard-api:choropleth")
MARKERS = reverse("dashboard-api:markers")
HEAT = reverse("dashboard-api:heat")
# Session handling (saved on every request) and the backends' spatial version checks.
NOT_OURS = re.compile(r"django_session|SAVEPOINT|rttopo_version|postgis_lib_version", re.I)


def area_url(code: str) -> str:
    return reverse("dashboard-api:area", kwargs={"code": code})


@pytest.fixture(autouse=True)
def _empty_cache():
    # Ids restart after a rolled-back test on SQLite: never let one test's cache serve another.
    cache.clear()
    yield
    cache.clear()


def _user(username: str, role: str, code: str):
    user = UserFactory(username=username)
    Grant.objects.create(user=user, role=role, area_code=code)
    return user


@pytest.fixture
def bureau_user(db):
    return _user("dash_bureau", Role.BUREAU, D)


@pytest.fixture
def leader_a(db):
    return _user("dash_leader_a", Role.LEADER, A)


def get_json(client, user, url, **params):
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def choropleth(client, user, **params):
    params = {"period": "2026-03", **params}
    return get_json(client, user, CHOROPLETH, **params)


def by_code(collection) -> dict:
    return {f["properties"]["code"]: f["properties"] for f in collection["features"]}


# --- choropleth -----------------------------------------------------------------------------


def test_choropleth_has_the_levels_areas_with_value_parts_and_class(client, dataset, bureau_user):
    data = choropleth(client, bureau_user, figure="petitions_total", level="cell")
    assert data["type"] == "FeatureCollection"
    assert [f["properties"]["code"] for f in data["features"]] == CELLS
    props = by_code(data)
    # p1 p2 p3 in A1a, p4 A1b, p5 A2a, p6 p7 B1a, p9 B2a (tests/dashboard/conftest.py).
    assert {c: p["value"] for c, p in props.items()} == {
        A1a: 3,
        A1b: 1,
        A2a: 1,
        A2b: 0,
        B1a: 2,
        B1b: 0,
        B2a: 1,
        B2b: 0,
    }
    assert props[A1a] == {
        "code": A1a,
        "name": "测试1街道北社区第1网格",
        "level": "cell",
        "parent_code": A1,
        "parent_name": "测试1街道北社区",
        "child_level": None,
        "value": 3,
        "display": "3",
        "numerator": 3,
        "denominator": None,
        "class": 3,
    }
    # Quantiles over [0,0,0,1,1,1,2,3]: the 1/5 quantile is 0; of [1,1,1,2,3] the 1/4 is 1; of
    # [2,3] the 1/3 is 2; of [3] the 1/2 is 3.
    assert data["legend"]["breaks"] == [0, 1, 2, 3]
    assert {c: p["class"] for c, p in props.items()} == {
        A1a: 3,
        A1b: 1,
        A2a: 1,
        A2b: 0,
        B1a: 2,
        B1b: 0,
        B2a: 1,
        B2b: 0,
    }
    assert [(k["label"], k["count"]) for k in data["legend"]["classes"]] == [
        ("0", 3),
        ("1", 3),
        ("2", 1),
        ("3", 1),
    ]
    assert data["figure"]["key"] == "petitions_total"
    assert data["period"] == {"key": "2026-03", "label": "2026年3月"}
    assert data["boundaries"] == "recorded"
    geometry = data["features"][0]["geometry"]
    assert geometry["type"] == "MultiPolygon"
    assert geometry["coordinates"][0][0][0] == [121.55, 38.91]


def test_a_rate_without_base_has_no_value_and_no_class(client, dataset, bureau_user):
    props = by_code(choropleth(client, bureau_user, figure="repeat_rate", level="cell"))
    assert (props[A2b]["value"], props[A2b]["display"], props[A2b]["class"]) == (None, "—", None)
    assert (props[A2b]["numerator"], props[A2b]["denominator"]) == (0, 0)
    assert (props[A1a]["value"], props[A1a]["numerator"], props[A1a]["denominator"]) == (40.0, 2, 5)


@pytest.mark.parametrize("level", ["street", "community", "cell"])
def test_choropleth_values_equal_the_engines(client, dataset, bureau_user, level):
    for key in FIGURE_KEYS:
        props = by_code(choropleth(client, bureau_user, figure=key, level=level))
        engine = figures_for_areas(area_codes=list(props), period=MARCH, keys=[key])
        for code, p in props.items():
            fig = engine[code][key]
            assert (p["value"], p["numerator"], p["denominator"], p["display"]) == (
                fig.value,
                fig.numerator,
                fig.denominator,
                fig.display,
            ), (key, code)


def test_children_of_a_parent(client, dataset, bureau_user):
    data = choropleth(client, bureau_user, level="community", parent=A)
    assert [f["properties"]["code"] for f in data["features"]] == [A1, A2]
    assert [f["properties"]["value"] for f in data["features"]] == [4, 1]
    assert data["parent"] == A
    cells = choropleth(client, bureau_user, level="cell", parent=A2)
    assert [f["properties"]["code"] for f in cells["features"]] == [A2a, A2b]


@pytest.mark.postgis_only
@pytest.mark.parametrize(
    ("level", "parent", "prefixes"),
    [("street", None, [D]), ("community", None, [D]), ("cell", None, [D]), ("cell", A, [A])],
)
def test_the_one_statement_choropleth_equals_the_portable_one(dataset, level, parent, prefixes):
    """PostgreSQL builds the layer in one statement; it is the portable path's collection (the
    engine's figures, legend, classes, names, parents, geometry) for every figure."""
    for key in FIGURE_KEYS:
        one = selectors._choropleth_one_statement(key, MARCH, level, parent, prefixes)
        portable = selectors._choropleth_portable(key, MARCH, level, parent, prefixes, False)
        assert json.loads(one) == json.loads(portable), (key, level)


def test_query_count_does_not_depend_on_the_number_of_areas(client, dataset, bureau_user):
    client.force_login(bureau_user)
    counts, ours = {}, {}
    for level in ("street", "community", "cell"):
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(
                CHOROPLETH, {"figure": "closure_rate", "level": level, "period": "2026-03"}
            )
        assert response.status_code == 200
        counts[level] = len(ctx.captured_queries)
        ours[level] = [q["sql"] for q in ctx.captured_queries if not NOT_OURS.search(q["sql"])]
    assert counts["street"] == counts["community"] == counts["cell"]
    if connection.vendor == "postgresql":
        # The user, their grants, the data version, then ONE statement: the areas with the
        # closure family's counts (a CTE) and their geometry.
        assert len(ours["cell"]) == 4, ours["cell"]
        assert 'LEFT JOIN f0 ON f0."_b"' in ours["cell"][-1]
    else:
        # The user, their grants, the data version, the areas, the closure family, the geometry.
        assert len(ours["cell"]) == 6, ours["cell"]


def test_a_cache_hit_returns_the_same_and_a_write_changes_version_and_payload(
    client, dataset, bureau_user, register
):
    client.force_login(bureau_user)
    params = {"figure": "petitions_total", "level": "street", "period": "2026-03"}
    with CaptureQueriesContext(connection) as first:
        one = client.get(CHOROPLETH, params).content
    with CaptureQueriesContext(connection) as second:
        two = client.get(CHOROPLETH, params).content
    assert one == two
    # A hit reads only the user, their grants and the data version.
    hit = [q["sql"] for q in second.captured_queries if not NOT_OURS.search(q["sql"])]
    assert len(hit) == 3, hit
    miss = [q["sql"] for q in first.captured_queries if not NOT_OURS.search(q["sql"])]
    # The user, grants, data version, then on PostgreSQL one statement (the areas, the intake
    # family's counts and the geometry), elsewhere the areas, the intake family, the geometry.
    assert len(miss) == (4 if connection.vendor == "postgresql" else 6), miss
    assert "grid_street" not in " ".join(hit)
    before = data_version()
    cell = GridCell.objects.get(code=B2b, generation__status="active").geom.centroid
    register(received_at=bj(2026, 3, 20, 10), location=(cell.x, cell.y))
    assert data_version() != before
    three = json.loads(client.get(CHOROPLETH, params).content)
    assert [f["properties"]["value"] for f in json.loads(one)["features"]] == [6, 3]
    assert [f["properties"]["value"] for f in three["features"]] == [6, 4]


def test_bad_parameters_are_400(client, dataset, bureau_user):
    client.force_login(bureau_user)
    for params in (
        {"figure": "nope"},
        {"level": "district"},
        {"level": "street", "parent": A},  # not below the parent
        {"period": "March"},
        {"figure": "visits_batches", "boundaries": "today"},  # visits have no location
    ):
        response = client.get(CHOROPLETH, params)
        assert response.status_code == 400, params


# --- scope ----------------------------------------------------------------------------------


def test_a_street_leader_sees_only_their_street(client, dataset, leader_a):
    assert list(by_code(choropleth(client, leader_a, level="street"))) == [A]
    assert list(by_code(choropleth(client, leader_a, level="community"))) == [A1, A2]
    assert list(by_code(choropleth(client, leader_a, level="cell"))) == [A1a, A1b, A2a, A2b]
    client.force_login(leader_a)
    for url, params in (
        (CHOROPLETH, {"level": "community", "parent": B}),
        (CHOROPLETH, {"level": "cell", "parent": B1a[:12]}),
        (area_url(B), {}),
        (area_url(B1a), {}),
        (area_url(D), {}),  # the district is above their grant
        (MARKERS, {"area": B}),
        (HEAT, {"area": B}),
    ):
        assert client.get(url, params).status_code == 404, (url, params)


def test_users_without_a_dashboard_grant_see_nothing(client, dataset):
    worker = _user("dash_worker", Role.GRID_WORKER, A1a)
    client.force_login(worker)
    assert client.get(CHOROPLETH, {"level": "cell"}).status_code == 404
    assert client.get(area_url(A1a)).status_code == 404
    assert client.get(MARKERS).status_code == 404
    assert client.get(reverse("dashboard:map")).status_code == 403


def test_an_admin_sees_every_district(client, dataset, admin_user):
    assert list(by_code(choropleth(client, admin_user, level="street"))) == [A, B]


def test_the_same_scope_shares_the_cache_and_another_scope_does_not(
    client, dataset, bureau_user, leader_a
):
    choropleth(client, bureau_user, level="community")
    assert list(by_code(choropleth(client, leader_a, level="community"))) == [A1, A2]


# --- area panel -----------------------------------------------------------------------------


def test_area_panel(client, dataset, bureau_user):
    data = get_json(client, bureau_user, area_url(A), period="2026-03", figure="petitions_total")
    assert (data["code"], data["name"], data["level"], data["child_level"]) == (
        A,
        "测试1街道",
        "street",
        "community",
    )
    assert data["parent"] == {"code": D, "name": "沙河口区"}
    assert data["breadcrumb"] == [
        {"code": D, "name": "沙河口区", "level": "district"},
        {"code": A, "name": "测试1街道", "level": "street"},
    ]
    rows = {r["key"]: r for r in data["figures"]}
    assert list(rows) == FIGURE_KEYS
    total = rows["petitions_total"]
    # March 6 (p1–p5, p8); February 2 (p11, p13); March 2025 1 (p12).
    assert (total["value"], total["previous"], total["last_year"]) == (6, "2", "1")
    assert (total["mom"], total["yoy"]) == (2.0, 5.0)
    assert total["links"] == {
        "numerator": "/dashboard/report/records/?key=petitions_total&area=210204001"
        "&period=2026-03&part=numerator"
    }
    assert set(rows["repeat_rate"]["links"]) == {
        "numerator",
        "denominator.intake",
        "denominator.repeats",
    }
    # Every figure's 同比/环比 is the engine's change() of the same figures.
    for period, field in ((MARCH.previous(), "mom"), (MARCH.same_last_year(), "yoy")):
        base = figures_for_areas(area_codes=[A], period=period)[A]
        now = figures_for_areas(area_codes=[A], period=MARCH)[A]
        for key in FIGURE_KEYS:
            assert rows[key][field] == change(now[key], base[key]), (key, field)
    assert data["trend"]["labels"] == [m.key() for m in MARCH.months_back(12)]
    assert data["trend"]["values"] == [0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 6]
    engine = trend(key="petitions_total", area_code=A, end_period=MARCH)
    assert data["trend"]["values"] == [f.value for _m, f in engine]


def test_a_leaders_panel_breadcrumb_starts_at_their_grant(client, dataset, leader_a):
    data = get_json(client, leader_a, area_url(A1a), period="2026-03")
    assert [c["code"] for c in data["breadcrumb"]] == [A, A1, A1a]
    assert data["child_level"] is None
    top = get_json(client, leader_a, area_url(A), period="2026-03")
    assert top["parent"] is None  # the district is not theirs


# --- markers and heat -----------------------------------------------------------------------


@pytest.fixture
def located(hierarchy, register):
    """Three located petitions in March 2026 (one 检举控告) and one in street B."""
    cells = hierarchy["cells"]

    def at(code):
        c = cells[code].geom.centroid
        return (c.x, c.y)

    return {
        "appeal": register(received_at=bj(2026, 3, 3, 9), location=at(A1a)).petition,
        "accusation": register(
            received_at=bj(2026, 3, 4, 9), location=at(A2a), case_type="accusation"
        ).petition,
        "b": register(received_at=bj(2026, 3, 5, 9), location=at(B1a)).petition,
        "april": register(received_at=bj(2026, 4, 5, 9), location=at(A1b)).petition,
        "unlocated": register(received_at=bj(2026, 3, 6, 9)).petition,
    }


def test_markers_leave_out_accusations_for_a_leader(client, located, leader_a, bureau_user):
    data = get_json(client, leader_a, MARKERS, period="2026-03")
    assert [f["properties"]["receipt_no"] for f in data["features"]] == [
        located["appeal"].receipt_no
    ]
    assert set(data["features"][0]["properties"]) == {
        "id",
        "receipt_no",
        "label",
        "status",
        "status_label",
    }
    assert data["truncated"] is False
    seen = get_json(client, bureau_user, MARKERS, period="2026-03")
    assert sorted(f["id"] for f in seen["features"]) == sorted(
        located[k].pk for k in ("appeal", "accusation", "b")
    )
    client.force_login(bureau_user)
    body = client.get(MARKERS, {"period": "2026-03"}).content.decode()
    assert "张三" not in body and "13812345678" not in body
    only_a = get_json(client, bureau_user, MARKERS, period="2026-03", area=A)
    assert len(only_a["features"]) == 2


def test_heat_points_are_the_same_cases_without_properties(client, located, leader_a):
    data = get_json(client, leader_a, HEAT, period="2026-03")
    assert len(data["features"]) == 1
    assert data["features"][0]["properties"] == {}
    c = located["appeal"].location
    assert data["features"][0]["geometry"]["coordinates"] == [round(c.x, 6), round(c.y, 6)]


def test_markers_in_a_bbox_and_dispute_markers(client, dataset, bureau_user):
    data = get_json(client, bureau_user, MARKERS, period="2026-03", kind="disputes")
    # d3 d5 (A1), d6 (B1a), d10 (A2a) found in March with a location; d9 has none.
    assert len(data["features"]) == 4
    assert set(data["features"][0]["properties"]) == {"id", "label", "status", "status_label"}
    west = get_json(
        client, bureau_user, MARKERS, period="2026-03", kind="disputes",
        bbox="121.55,38.90,121.57,38.92",
    )  # fmt: skip
    assert len(west["features"]) == 3


# --- page -----------------------------------------------------------------------------------


def test_the_page_carries_its_configuration(client, dataset, leader_a):
    client.force_login(leader_a)
    response = client.get(reverse("dashboard:map"), {"period": "2026-03", "figure": "closure_rate"})
    assert response.status_code == 200
    config = response.context["dashboard_config"]
    assert config["initial"] == {
        "figure": "closure_rate", "period": "2026-03", "level": "community",
        "boundaries": "recorded",
    }  # fmt: skip
    assert config["levels"] == ["street", "community", "cell"]
    assert config["roots"] == [{"code": A, "name": "测试1街道", "level": "street"}]
    assert config["extent"] == pytest.approx([121.55, 38.90, 121.57, 38.92])
    body = response.content.decode()
    assert 'id="dashboard-config"' in body and "dashboard/dashboard.js" in body
    assert "<script>" not in body.replace("<script nonce", "")  # no inline script of ours


def test_the_page_needs_a_login(client):
    response = client.get(reverse("dashboard:map"))
    assert response.status_code == 302


# --- history on today's boundaries ----------------------------------------------------------


def test_today_equals_recorded_while_the_boundaries_have_not_changed(client, dataset, bureau_user):
    for key in FIGURE_KEYS:
        if not today_supported(key):
            continue
        recorded = by_code(choropleth(client, bureau_user, figure=key, level="cell"))
        today = by_code(
            choropleth(client, bureau_user, figure=key, level="cell", boundaries="today")
        )
        assert today == recorded, key
    assert sorted(k for k in FIGURE_KEYS if not today_supported(k)) == [
        "agreement_performance_rate", "collective_visits", "mediation_success_rate",
        "visits_batches", "visits_persons",
    ]  # fmt: skip


@pytest.fixture
def redrawn(hierarchy, register):
    """A petition made in cell A1a; then a new generation where A1a and A1b swap their shapes."""
    c = hierarchy["cells"][A1a].geom.centroid
    petition = register(received_at=bj(2026, 3, 10, 9), location=(c.x, c.y)).petition
    assert petition.area_code == A1a
    new = build_hierarchy(GenerationFactory())
    first, second = new["cells"][A1a], new["cells"][A1b]
    first.geom, second.geom = second.geom, first.geom
    first.save(update_fields=["geom"])
    second.save(update_fields=["geom"])
    generation_activate(generation=new["generation"], at=bj(2026, 4, 15))
    return petition


def test_the_switch_moves_a_record_whose_cell_was_redrawn(client, redrawn, bureau_user):
    recorded = by_code(choropleth(client, bureau_user, level="cell"))
    today = by_code(choropleth(client, bureau_user, level="cell", boundaries="today"))
    assert (recorded[A1a]["value"], recorded[A1b]["value"]) == (1, 0)
    assert (today[A1a]["value"], today[A1b]["value"]) == (0, 1)
    assert today[A1b]["numerator"] == 1
    # Totals above the redrawn cells do not change.
    assert (
        by_code(choropleth(client, bureau_user, level="community", boundaries="today"))[A1]["value"]
        == 1
    )
    panel = get_json(client, bureau_user, area_url(A1b), period="2026-03", boundaries="today")
    rows = {r["key"]: r for r in panel["figures"]}
    assert rows["petitions_total"]["value"] == 1
    assert rows["petitions_total"]["links"] == {}  # record lists follow recorded boundaries
    assert "visits_batches" not in rows
    assert panel["trend"]["values"][-1] == 1


def test_today_figures_in_one_query_per_family(redrawn):
    with CaptureQueriesContext(connection) as ctx:
        found = selectors.figures_today(area_codes=[A1a, A1b], period=MARCH, keys=["closure_rate"])
    assert len(ctx.captured_queries) == 2  # the active generation, the closure family
    assert found[A1b]["closure_rate"].denominator == 0


# --- class breaks ---------------------------------------------------------------------------


def test_class_breaks():
    assert class_breaks([]) == []
    assert class_breaks([5.0]) == [5.0]
    assert class_breaks(list(range(1, 11))) == [2, 4, 6, 8, 10]
    # Many zeros: 0 is a class of its own, the other values still fill four classes.
    assert class_breaks([0] * 20 + [1, 2, 3, 4, 5, 6, 7, 8]) == [0, 2, 4, 6, 8]
    assert class_breaks([3, 3, 3]) == [3]
    legend = selectors.legend([0, 0, 0.5, 1.25, 2.0, 2.5, None], "rate")
    assert [(k["label"], k["count"]) for k in legend["classes"]] == [
        ("0.00", 2),
        ("0.50", 1),
        ("1.25", 1),
        ("2.00", 1),
        ("2.50", 1),
    ]
    assert legend["no_data"]["count"] == 1
    assert [k["color"] for k in legend["classes"]] == selectors.PALETTE
    wide = selectors.legend([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "count")
    assert [k["label"] for k in wide["classes"]] == ["1 – 2", "3 – 4", "5 – 6", "7 – 8", "9 – 10"]
    assert class_of(None, [1, 2]) is None
    assert [class_of(v, [2, 4, 6, 8, 10]) for v in (1, 2, 3, 10)] == [0, 0, 1, 4]
    assert selectors.legend([1, None, 3], "rate")["no_data"]["count"] == 1


def test_figure_meta_is_translated_text():
    meta = selectors.figure_meta("per_1000")
    assert meta["label"] == str(FIGURE_DEFS["per_1000"].label)
    assert meta["today"] is True
