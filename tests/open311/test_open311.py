"""Open311 GeoReport v2 endpoints in JSON and XML, against the spec's field lists."""

import datetime as dt
import json
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache

from open311.models import PartnerRequest, ServiceAttribute
from open311.services import partner_create
from petitions.models import Category, Organization, Petition, Petitioner
from petitions.services.intake import petition_register

BJ = ZoneInfo("Asia/Shanghai")
SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
INSIDE = {"lat": "38.9052", "long": "121.5551"}  # inside cell 210204001002001 (hierarchy fixture)


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


@pytest.fixture
def org(db):
    return Organization.objects.create(name="区信访局", kind="bureau", area_code="210204")


@pytest.fixture
def partner(org):
    return partner_create(name="12345热线", organization=org, kind="hotline")


@pytest.fixture
def noise_attr(db):
    cat = Category.objects.get(code="0701")  # 环境污染 / 噪声污染
    return ServiceAttribute.objects.create(
        category=cat,
        code="period",
        datatype="singlevaluelist",
        required=True,
        description="噪声时段",
        order=1,
        values=[{"key": "day", "name": "白天"}, {"key": "night", "name": "夜间"}],
    )


def _post(client, key, fmt="json", **extra):
    data = {
        "api_key": key,
        "service_code": "0501",
        "description": "小区电梯长期故障\n详情……",
        "first_name": "三",
        "last_name": "张",
        "phone": "13812345678",
        **INSIDE,
    }
    data.update(extra)
    return client.post(f"/open311/v2/requests.{fmt}", data)


def test_discovery_both_formats(client, db):
    r = client.get("/open311/v2/discovery.json")
    body = r.json()
    assert r.status_code == 200 and body["endpoints"][0]["formats"] == [
        "text/xml",
        "application/json",
    ]
    x = client.get("/open311/v2/discovery.xml")
    assert x["Content-Type"].startswith("text/xml")
    root = ET.fromstring(x.content)
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == [
        "text/xml",
        "application/json",
    ]


def test_services_list_public_categories_only(client, noise_attr):
    Category.objects.filter(code="1201").update(is_public=False)
    services = client.get("/open311/v2/services.json").json()
    codes = {s["service_code"] for s in services}
    assert "0501" in codes and "1201" not in codes
    assert all(set(s) == SERVICE_FIELDS for s in services)
    noise = next(s for s in services if s["service_code"] == "0701")
    assert noise["metadata"] is True and noise["group"] == "环境污染"
    root = ET.fromstring(client.get("/open311/v2/services.xml").content)
    assert root.tag == "services" and root.find("service/service_code") is not None


def test_service_definition(client, noise_attr):
    d = client.get("/open311/v2/services/0701.json").json()
    assert d["service_code"] == "0701"
    assert d["attributes"][0] == {
        "variable": True,
        "code": "period",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": "",
        "order": 1,
        "description": "噪声时段",
        "values": [{"key": "day", "name": "白天"}, {"key": "night", "name": "夜间"}],
    }
    root = ET.fromstring(client.get("/open311/v2/services/0701.xml").content)
    assert root.findtext("attributes/attribute/values/value/key") == "day"
    assert client.get("/open311/v2/services/9999.json").status_code == 404


def test_post_round_trip_json_and_xml(client, hierarchy, partner):
    p, key = partner
    r = _post(client, key)
    assert r.status_code == 201
    [item] = r.json()
    rid = item["service_request_id"]
    petition = Petition.objects.get(receipt_no=rid)
    assert petition.cell.code == "210204001002001"
    assert (petition.channel, petition.source) == ("phone", "hotline")
    assert PartnerRequest.objects.get(petition=petition).partner == p
    assert Petitioner.objects.get(petition=petition).name == "张三"
    got = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert set(got) == REQUEST_FIELDS
    assert got["status"] == "open" and got["service_code"] == "0501"
    assert got["requested_datetime"].endswith("+08:00")
    # snapped to the 0.001° grid; no personal data anywhere
    assert (got["lat"], got["long"]) == (38.905, 121.555)
    text = json.dumps(got, ensure_ascii=False)
    for secret in ("张三", "13812345678", "详情"):
        assert secret not in text
    x = client.get(f"/open311/v2/requests/{rid}.xml")
    root = ET.fromstring(x.content)
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == rid


def test_post_xml_response(client, hierarchy, partner):
    _, key = partner
    r = _post(client, key, fmt="xml")
    assert r.status_code == 201
    root = ET.fromstring(r.content)
    assert root.findtext("request/service_request_id").startswith("XF-210204-")


def test_post_errors(client, hierarchy, partner, noise_attr):
    _, key = partner
    r = _post(client, "wrong-key")
    assert r.status_code == 403 and r.json()[0]["code"] == 403
    r = _post(client, key, service_code="")
    assert r.status_code == 400
    assert _post(client, key, service_code="9999").status_code == 404
    r = _post(client, key, lat="", long="", address_string="")
    assert r.status_code == 400 and "address_string" in r.json()[0]["description"]
    r = _post(client, key, service_code="0701")  # required attribute missing
    assert r.status_code == 400 and "period" in r.json()[0]["description"]
    r = _post(client, key, service_code="0701", **{"attribute[period]": "evening"})
    assert r.status_code == 400
    r = _post(client, key, phone="12345")
    assert r.status_code == 400 and "电话" in r.json()[0]["description"]
    x = _post(client, "wrong-key", fmt="xml")
    assert ET.fromstring(x.content).findtext("error/code") == "403"
    assert Petition.objects.count() == 0
    r = _post(client, key, service_code="0701", **{"attribute[period]": "night"})
    assert r.status_code == 201
    assert PartnerRequest.objects.get().attributes == {"period": "night"}


def test_address_only_post_is_kept_without_cell(client, hierarchy, partner):
    _, key = partner
    r = _post(client, key, lat="", long="", address_string="星海湾街道某小区3号楼")
    assert r.status_code == 201
    p = Petition.objects.get()
    assert p.cell is None and p.address == "星海湾街道某小区3号楼"


def test_batch_partner_gets_token(client, hierarchy, org):
    _, key = partner_create(name="城市App", organization=org, batch=True)
    [item] = _post(client, key).json()
    assert "service_request_id" not in item and len(item["token"]) == 32
    t = client.get(f"/open311/v2/tokens/{item['token']}.json").json()[0]
    assert t["service_request_id"] == Petition.objects.get().receipt_no
    assert client.get("/open311/v2/tokens/nope.json").status_code == 404


def test_rate_limit(client, hierarchy, org):
    _, key = partner_create(name="限流测试", organization=org, posts_per_hour=2)
    assert _post(client, key).status_code == 201
    assert _post(client, key).status_code == 201
    assert _post(client, key).status_code == 429


def _register(category_code="0501", case_type="appeal", received=None):
    org = Organization.objects.get_or_create(
        name="测试1街道办事处", kind="street_office", area_code="210204001"
    )[0]
    return petition_register(
        actor=None,
        organization=org,
        channel="letter",
        case_type=case_type,
        category=Category.objects.get(code=category_code),
        summary="公开概要",
        received_at=received or dt.datetime(2026, 10, 1, 9, tzinfo=BJ),
        petitioners=[{"name": "李四"}],
        location=(121.5551, 38.9052),
    ).petition


def test_get_requests_filters_and_90_day_cap(client, hierarchy):
    a = _register(received=dt.datetime(2026, 10, 1, 9, tzinfo=BJ))
    b = _register(category_code="0801", received=dt.datetime(2026, 10, 20, 9, tzinfo=BJ))
    _register(case_type="accusation", received=dt.datetime(2026, 10, 5, 9, tzinfo=BJ))
    Petition.objects.filter(pk=b.pk).update(status="closed")
    base = "/open311/v2/requests.json?start_date=2026-09-15T00:00:00%2B08:00&end_date=2026-11-01T00:00:00Z"
    ids = [r["service_request_id"] for r in client.get(base).json()]
    assert ids == [b.receipt_no, a.receipt_no]  # the accusation is never public
    assert [r["service_request_id"] for r in client.get(base + "&status=open").json()] == [
        a.receipt_no
    ]
    assert [r["status"] for r in client.get(base + "&status=closed").json()] == ["closed"]
    assert [r["service_request_id"] for r in client.get(base + "&service_code=0801").json()] == [
        b.receipt_no
    ]
    assert [
        r["service_request_id"]
        for r in client.get(
            f"/open311/v2/requests.json?service_request_id={a.receipt_no},{b.receipt_no}"
        ).json()
    ] == [b.receipt_no, a.receipt_no]
    assert len(client.get(base + "&page_size=1&page=2").json()) == 1
    r = client.get(
        "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z"
    )
    assert r.status_code == 400 and "90" in r.json()[0]["description"]
    assert client.get("/open311/v2/requests.json?start_date=2026-01-01").status_code == 400
    assert client.get("/open311/v2/requests.json?status=pending").status_code == 400
    acc = Petition.objects.get(case_type="accusation")
    assert client.get(f"/open311/v2/requests/{acc.receipt_no}.json").status_code == 404
    assert client.get("/open311/v2/requests.json?jurisdiction_id=110101").status_code == 404


def test_list_query_count_constant(client, hierarchy, django_assert_max_num_queries):
    for _ in range(3):
        _register()
    url = "/open311/v2/requests.json?start_date=2026-09-15T00:00:00Z&end_date=2026-11-01T00:00:00Z"
    with django_assert_max_num_queries(3):
        assert len(client.get(url).json()) == 3
    for _ in range(10):
        _register()
    with django_assert_max_num_queries(3):
        assert len(client.get(url).json()) == 13


def test_admin_issues_a_key_once(admin_client, org):
    from open311.models import Partner

    r = admin_client.post(
        "/admin/open311/partner/add/",
        {
            "name": "区融媒体App",
            "kind": "app",
            "organization": org.pk,
            "is_active": "on",
            "posts_per_hour": 120,
        },
        follow=True,
    )
    assert r.status_code == 200
    partner = Partner.objects.get(name="区融媒体App")
    shown = [str(m) for m in r.context["messages"]]
    key = shown[0].split("：")[1].split("（")[0]
    assert key.startswith(partner.key_prefix) and key not in partner.key_hash
    from open311.services import partner_authenticate

    assert partner_authenticate(key) == partner
