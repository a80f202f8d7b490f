"""Every /api/v1/ list: the one pagination ({count, next, previous, results}, page and page_size
capped at 200), `ordering=` from a whitelist per resource (ties broken by id, so a descending
order is the exact reverse), clear 400s, GeoJSON lists paged as valid FeatureCollections, and
all of it documented in the schema."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from api.pagination import ApiPagination
from mediation.models import Dispute, MediationCase, ScreeningRound
from mediation.services import screening
from petitions.models import Organization, Petition, ReceptionDay, Visit
from petitions.services.visits import reception_day_create, visit_record
from tests.api.conftest import token_client
from tests.api.shapes import invalid
from tests.mediation.conftest import bj

pytestmark = pytest.mark.django_db

# url name, model, a whitelisted field, the default ordering (None: the selector's own)
LISTS = [
    ("petitions-api:list", Petition, "received_at", "-received_at"),
    ("petitions-api:visits", Visit, "received_at", "-received_at"),
    ("petitions-api:reception-days", ReceptionDay, "date", "-date"),
    ("mediation-api:round-list", ScreeningRound, "period_start", None),
    ("mediation-api:dispute-list", Dispute, "found_at", "-found_at"),
    ("mediation-api:case-list", MediationCase, "accepted_at", "-accepted_at"),
]
WHITELISTS = {
    "petitions-api:list": {"received_at", "route_due", "handle_due"},
    "petitions-api:visits": {"received_at", "headcount"},
    "petitions-api:reception-days": {"date"},
    "mediation-api:round-list": {"period_start", "opened_at"},
    "mediation-api:dispute-list": {"found_at", "closed_at"},
    "mediation-api:case-list": {"accepted_at", "target_due", "case_no"},
}


@pytest.fixture
def lists(seeded, clerk, bureau_user, bureau_token, open_case):
    """At least three records of every listed kind, visible to the district bureau."""
    office = Organization.objects.get(name="测试1街道办事处")
    for day in (9, 12):
        reception_day_create(
            actor=clerk,
            leader=bureau_user,
            date=dt.date(2026, 3, day),
            place="接待室",
            organization=office,
        )
        visit_record(
            actor=clerk,
            organization=office,
            received_at=bj(2026, 3, day, 15),
            headcount=day - 7,
            representatives=[],
            answered_on_spot=False,
        )
    for month in (4, 5):
        screening.round_open(
            actor=bureau_user,
            name=f"2026年{month}月排查",
            period_start=dt.date(2026, month, 1),
            period_end=dt.date(2026, month, 28),
            area_code="210204",
            now=bj(2026, month, 1, 9),
        )
    open_case(summary="房屋租赁纠纷", accepted_at=bj(2026, 3, 7, 9))
    return token_client(bureau_token)


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize(("name", "model", "field", "default"), LISTS)
def test_ordering_whitelist_and_default(lists, name, model, field, default):
    url = reverse(name)
    expected = [o.pk for o in sorted(model.objects.all(), key=lambda o: (getattr(o, field), o.pk))]
    assert len(expected) >= 3
    assert _ids(lists.get(url, {"ordering": field})) == expected
    assert _ids(lists.get(url, {"ordering": f"-{field}"})) == expected[::-1]
    if default is not None:
        assert _ids(lists.get(url)) == _ids(lists.get(url, {"ordering": default}))
    bad = lists.get(url, {"ordering": "id; drop table"})
    assert bad.status_code == 400
    assert bad.json() == invalid({"ordering": ["不支持按“id; drop table”排序。"]})


@pytest.mark.parametrize(("name", "model", "field", "default"), LISTS)
def test_one_pagination(lists, name, model, field, default):
    url = reverse(name)
    total = model.objects.count()
    first = lists.get(url, {"page_size": 2, "ordering": field}).json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == total
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert "page=2" in first["next"] and "page_size=2" in first["next"]
    second = lists.get(first["next"]).json()
    assert second["previous"] is not None
    assert [r["id"] for r in first["results"] + second["results"]] == _ids(
        lists.get(url, {"ordering": field})
    )[:4]
    assert lists.get(url, {"page": 99}).status_code == 404


def test_page_size_is_capped(lists, monkeypatch):
    assert ApiPagination.max_page_size == 200
    monkeypatch.setattr(ApiPagination, "max_page_size", 2)
    for name, _model, _field, _default in LISTS:
        assert len(_ids(lists.get(reverse(name), {"page_size": 1000}))) == 2, name


def test_repeat_candidates_are_paged(lists, seeded):
    from tests.petitions.conftest import VALID_ID

    url = reverse("petitions-api:repeat-candidates")
    response = lists.get(url, {"id_number": VALID_ID, "page_size": 2}).json()
    assert response["count"] == 4
    assert len(response["results"]) == 2
    assert "page=2" in response["next"]


@pytest.mark.parametrize(
    ("name", "located"),
    [("petitions-api:geojson", 3), ("mediation-api:dispute-geojson", 3)],
)
def test_geojson_lists_page_as_valid_feature_collections(lists, name, located):
    url = reverse(name)
    whole = json.loads(lists.get(url).content)
    asked = lists.get(url, HTTP_ACCEPT="application/geo+json")
    assert asked.status_code == 200
    assert asked["Content-Type"].startswith("application/geo+json")
    assert json.loads(asked.content) == whole
    assert set(whole) == {"type", "features"}
    assert whole["type"] == "FeatureCollection"
    assert len(whole["features"]) == located
    page = json.loads(lists.get(url, {"page_size": 2}).content)
    assert page["type"] == "FeatureCollection"
    assert (page["count"], page["previous"]) == (located, None)
    assert "page=2" in page["next"]
    assert [f["id"] for f in page["features"]] == [f["id"] for f in whole["features"]][:2]
    assert all(
        f["type"] == "Feature" and f["geometry"]["type"] == "Point" for f in page["features"]
    )
    last = json.loads(lists.get(page["next"]).content)
    assert last["next"] is None
    assert [f["id"] for f in last["features"]] == [f["id"] for f in whole["features"]][2:]


def test_schema_documents_paging_ordering_and_filters(client):
    schema = client.get("/api/schema/?format=json").json()
    for name, _model, _field, default in LISTS:
        path = reverse(name)
        params = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert {"page", "page_size", "ordering"} <= set(params), path
        allowed = WHITELISTS[name] | {f"-{f}" for f in WHITELISTS[name]}
        assert set(params["ordering"]["schema"]["enum"]) == allowed, path
        if default:
            assert params["ordering"]["schema"]["default"] == default
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        ref = ok["schema"]["$ref"].rsplit("/", 1)[1]
        assert set(schema["components"]["schemas"][ref]["properties"]) == {
            "count",
            "next",
            "previous",
            "results",
        }
    petitions = {p["name"] for p in schema["paths"]["/api/v1/petitions/"]["get"]["parameters"]}
    assert {"status", "channel", "category", "area", "received_from", "overdue", "q"} <= petitions
    for path in ("/api/v1/petitions/geojson/", "/api/v1/mediation/disputes/geojson/"):
        params = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert {"page", "page_size"} <= params
