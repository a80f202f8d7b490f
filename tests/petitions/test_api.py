"""Petitions API: exact payloads, personal data (none in lists, masked in the detail, none for
roles without it), scope (404) and role rights (403), one endpoint per workflow step (200 / 409),
optimistic versions, idempotent registration, field errors, query counts, visits, the schema."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse

from accounts.models import Grant, Role
from grid.models import Generation
from petitions import deadlines
from petitions.models import Petition, PetitionEvent, ReceptionDay, Visit
from petitions.services.intake import query_code_check
from tests.api.shapes import conflict, error, invalid
from tests.factories import X0, Y0, UserFactory
from tests.petitions.conftest import VALID_ID, bj

pytestmark = pytest.mark.django_db

LIST = reverse("petitions-api:list")
REGISTER = reverse("petitions-api:register")
GEOJSON = reverse("petitions-api:geojson")
REPEATS = reverse("petitions-api:repeat-candidates")
VISITS = reverse("petitions-api:visits")
RECEPTION_DAYS = reverse("petitions-api:reception-days")
IN_CELL = (121.555, 38.915)  # inside cell 210204001001001 (X0 + 0.005, Y0 + 0.015)
PERSON = {
    "name": "张三",
    "id_number": VALID_ID,
    "phone": "13812345678",
    "address": "幸福小区3号楼2单元",
}


def detail(pk: int) -> str:
    return reverse("petitions-api:detail", kwargs={"pk": pk})


def action(pk: int, name: str) -> str:
    return reverse("petitions-api:action", kwargs={"pk": pk, "action": name})


def post(client, url, body=None, **headers):
    return client.post(url, json.dumps(body or {}), content_type="application/json", **headers)


def _granted(username: str, role: str, area_code: str):
    user = UserFactory(username=username)
    Grant.objects.create(user=user, role=role, area_code=area_code)
    return user


@pytest.fixture
def api(client, clerk):
    client.force_login(clerk)
    return client


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def boundaries(hierarchy):
    """The test boundaries, in force since 2024 (cases are received in March 2026)."""
    Generation.objects.filter(pk=hierarchy["generation"].pk).update(activated_at=bj(2024, 1, 1))
    return hierarchy


@pytest.fixture
def case(register, boundaries):
    return register(location=IN_CELL, address="幸福小区3号楼", petitioners=[PERSON]).petition


def _list_item(p: Petition) -> dict:
    route_due = dt.date(2026, 3, 17)
    return {
        "id": p.pk,
        "receipt_no": "XF-210204-2026-000001",
        "channel": "letter",
        "source": "own",
        "received_at": "2026-03-02T10:00:00+08:00",
        "case_type": "appeal",
        "category": {"id": p.category_id, "name": "物业服务", "parent": p.category.parent_id},
        "summary": "小区物业不履行维修义务",
        "status": "registered",
        "routing": "",
        "handling_unit": None,
        "cell_code": "210204001001001",
        "area_code": "210204001001001",
        "route_due": "2026-03-17",
        "notify_due": "2026-03-17",
        "objection_due": None,
        "handle_due": None,
        "review_request_due": None,
        "review_due": None,
        "rereview_request_due": None,
        "rereview_due": None,
        "next_deadline": {
            "key": "route_due",
            "date": "2026-03-17",
            "days_left": deadlines.days_left(route_due),
        },
        "replied_at": None,
        "closed_at": None,
        "evaluation": "",
    }


# --- List, detail, personal data -----------------------------------------------------------


def test_list_payload(api, case):
    response = api.get(LIST)
    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [_list_item(case)],
    }


def test_list_has_no_personal_data(api, case):
    text = api.get(LIST).content.decode()
    for secret in ("张三", VALID_ID, "1101", "13812345678", "幸福小区", "138****5678"):
        assert secret not in text
    assert "petitioners" not in text


def test_list_filters_ordering_and_bad_filter(api, register, boundaries):
    first = register(received_at=bj(2026, 3, 1, 9)).petition
    second = register(received_at=bj(2026, 3, 3, 9), channel="visit").petition
    ids = [r["id"] for r in api.get(LIST, {"ordering": "received_at"}).json()["results"]]
    assert ids == [first.pk, second.pk]
    ids = [r["id"] for r in api.get(LIST).json()["results"]]
    assert ids == [second.pk, first.pk]
    assert [r["id"] for r in api.get(LIST, {"channel": "visit"}).json()["results"]] == [second.pk]
    assert api.get(LIST, {"status": ["handling", "closed"]}).json()["count"] == 0
    assert api.get(LIST, {"status": ["registered"]}).json()["count"] == 2
    response = api.get(LIST, {"due_within": "abc", "ordering": "summary"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"due_within", "ordering"}


def test_list_page_size(api, register):
    for _i in range(3):
        register()
    body = api.get(LIST, {"page_size": 2}).json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"].endswith("page=2&page_size=2")


def test_detail_payload_with_masked_petitioners(api, case, clerk):
    response = api.get(detail(case.pk))
    assert response.status_code == 200
    body = response.json()
    register_event = PetitionEvent.objects.get(petition=case)
    assert body == {
        **_list_item(case),
        "content": "",
        "address": "幸福小区3号楼",
        "location": {"type": "Point", "coordinates": [IN_CELL[0], IN_CELL[1]]},
        "petitioners": [
            {
                "name": "张三",
                "id_number": "1101**********002X",
                "phone": "138****5678",
                "is_representative": False,
            }
        ],
        "events": [
            {
                "action": "register",
                "at": "2026-03-02T10:00:00+08:00",
                "actor": clerk.username,
                "from": "",
                "to": "registered",
                "payload": register_event.payload,
            }
        ],
        "documents": [],
        "allowed_actions": ["route", "notify", "note", "relocate", "link-repeat"],
        "version": 0,
    }
    assert register_event.payload == {
        "channel": "letter",
        "cell": "210204001001001",
        "located": True,
        "outside_grid": False,
    }
    text = response.content.decode()
    assert VALID_ID not in text and "13812345678" not in text and "幸福小区3号楼2单元" not in text


@pytest.mark.parametrize("role", [Role.LEADER, Role.GRID_WORKER])
def test_roles_without_personal_data_get_no_petitioners(as_user, case, role):
    client = as_user(_granted("viewer", role, "210204001"))
    body = client.get(detail(case.pk)).json()
    assert body["petitioners"] is None
    assert body["allowed_actions"] == []
    text = client.get(detail(case.pk)).content.decode()
    assert "张三" not in text and "1101" not in text and "138****" not in text


def test_out_of_scope_user_gets_404(as_user, case):
    client = as_user(_granted("other_street", Role.STREET_CLERK, "210204002"))
    assert client.get(detail(case.pk)).status_code == 404
    assert post(client, action(case.pk, "route"), {"decision": "accept"}).status_code == 404
    assert client.get(LIST).json()["count"] == 0
    features = json.loads(client.get(GEOJSON).content)["features"]
    assert features == []


def test_anonymous_is_refused(client, case):
    assert client.get(LIST).status_code == 401
    assert client.get(detail(case.pk)).status_code == 401


@pytest.mark.parametrize("role", [Role.LEADER, Role.GRID_WORKER])
def test_role_without_right_gets_403(as_user, case, role):
    client = as_user(_granted("viewer", role, "210204001"))
    response = post(client, action(case.pk, "route"), {"decision": "accept"})
    assert response.status_code == 403
    assert response.json() == error("permission_denied", "您的角色无权执行此操作。")
    assert Petition.objects.get(pk=case.pk).status == "registered"


def test_clerk_may_not_supervise(api, case):
    response = post(api, action(case.pk, "supervise"), {"reason": "加快办理"})
    assert response.status_code == 403


# --- Workflow steps ----------------------------------------------------------------------


def _step(client, pk, name, body, *, status, event, version=True):
    """POST one step (with the current version); check the status and the new event."""
    before = client.get(detail(pk)).json()
    if version:
        body = {**body, "version": before["version"]}
    response = post(client, action(pk, name), body)
    assert response.status_code == 200, (name, response.json())
    data = response.json()
    assert data["status"] == status, name
    assert data["version"] == before["version"] + 1
    new = [e["action"] for e in data["events"]]
    for old in before["events"]:
        new.remove(old["action"])
    assert new == [event]
    return data


def test_every_step_through_the_api(client, case, clerk, unit, unit_user, bureau_user):
    pk = case.pk
    client.force_login(clerk)
    data = _step(
        client,
        pk,
        "route",
        {"decision": "assign", "unit": unit.pk, "reason": "请依法办理"},
        status="handling",
        event="route_assign",
    )
    assert data["handling_unit"] == {"id": unit.pk, "name": "区城建局"}
    assert data["routing"] == "assign"
    data = _step(client, pk, "notify", {}, status="handling", event="notify")
    assert [d["kind"] for d in data["documents"]] == ["accept_notice"]

    client.force_login(unit_user)
    _step(client, pk, "object", {"reason": "不属本单位职责"}, status="objected", event="object")
    client.force_login(clerk)
    _step(
        client,
        pk,
        "objection-resolve",
        {"uphold": False, "note": "职责明确"},
        status="handling",
        event="objection_dismiss",
    )
    client.force_login(unit_user)
    _step(
        client,
        pk,
        "assign-handler",
        {"handler": unit_user.pk},
        status="handling",
        event="assign_handler",
    )
    _step(client, pk, "note", {"text": "已现场核查"}, status="handling", event="note")
    data = _step(
        client,
        pk,
        "extend",
        {"days": 10, "reason": "需第三方鉴定", "approver": clerk.pk},
        status="handling",
        event="extend",
    )
    assert data["events"][-1]["payload"]["days"] == 10
    data = _step(
        client,
        pk,
        "reply",
        {"outcome": "support", "text": "责成物业限期维修"},
        status="replied",
        event="reply",
    )
    assert data["replied_at"] is not None
    client.force_login(clerk)
    data = _step(
        client, pk, "evaluate", {"evaluation": "satisfied"}, status="replied", event="evaluate"
    )
    assert data["evaluation"] == "satisfied"
    data = _step(client, pk, "close", {}, status="closed", event="close")
    assert data["closed_at"] is not None

    client.force_login(bureau_user)
    _step(
        client,
        pk,
        "review-request",
        {"reason": "对答复不服"},
        status="review_requested",
        event="review_request",
    )
    _step(
        client,
        pk,
        "review-answer",
        {"outcome": "explain", "text": "维持原处理意见"},
        status="reviewed",
        event="review_answer",
    )
    _step(
        client,
        pk,
        "rereview-request",
        {},
        status="rereview_requested",
        event="rereview_request",
    )
    data = _step(client, pk, "hearing", {"days": 5}, status="rereview_requested", event="hearing")
    assert data["events"][-1]["payload"]["days"] == 5
    data = _step(
        client,
        pk,
        "rereview-answer",
        {"outcome": "reject", "text": "复核维持"},
        status="closed",
        event="rereview_answer",
    )
    # The map's view of a closed case (the services refuse a second rating or review).
    assert data["allowed_actions"] == [
        "evaluate",
        "review-request",
        "rereview-request",
        "relocate",
        "link-repeat",
    ]
    assert [e["action"] for e in data["events"]] == [
        "register",
        "route_assign",
        "notify",
        "object",
        "objection_dismiss",
        "assign_handler",
        "note",
        "extend",
        "reply",
        "evaluate",
        "close",
        "review_request",
        "review_answer",
        "rereview_request",
        "hearing",
        "rereview_answer",
    ]


def test_supervise_relocate_and_link_repeat(client, case, clerk, bureau_user):
    pk = case.pk
    client.force_login(bureau_user)
    _step(
        client, pk, "supervise", {"reason": "群众反映强烈"}, status="registered", event="supervise"
    )
    assert case.supervisions.get().reason == "群众反映强烈"
    client.force_login(clerk)
    data = _step(
        client,
        pk,
        "relocate",
        {"cell_code": "210204001001002", "reason": "实际位置在隔壁网格"},
        status="registered",
        event="relocate",
    )
    assert data["cell_code"] == "210204001001002"
    assert data["area_code"] == "210204001001002"
    _step(
        client,
        pk,
        "link-repeat",
        {"channel": "visit", "received_at": "2026-03-09T09:00:00+08:00", "summary": "再次来访"},
        status="registered",
        event="link_repeat",
        version=False,
    )
    repeat = case.repeats.get()
    assert (repeat.channel, repeat.summary) == ("visit", "再次来访")
    assert repeat.received_at == bj(2026, 3, 9, 9)


def test_unknown_cell_and_bad_body_are_400(api, case):
    response = post(api, action(case.pk, "relocate"), {"cell_code": "999", "reason": "x"})
    assert response.status_code == 400
    assert response.json() == invalid({"cell_code": ["现行网格中没有编码为“999”的网格。"]})
    response = post(api, action(case.pk, "route"), {"decision": "maybe"})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["decision"]


def test_forbidden_transition_is_409(api, case):
    response = post(api, action(case.pk, "close"))
    assert response.status_code == 409
    assert response.json() == conflict("当前状态“已登记”下不能执行此操作。")
    assert PetitionEvent.objects.filter(petition=case).count() == 1


def test_service_refusal_is_409(api, case):
    response = post(api, action(case.pk, "route"), {"decision": "reject", "reason": ""})
    assert response.status_code == 409
    assert response.json() == conflict("不予受理必须说明法定理由。")


STALE = conflict("该信访事项已被他人修改，请刷新后重试。")


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("route", {"decision": "accept"}),  # the service checks expected_version itself
        ("note", {"text": "已电话联系"}),  # checked under a row lock around the service
    ],
)
def test_stale_version_is_409(api, case, name, body):
    post(api, action(case.pk, "note"), {"text": "先写一条"})  # version 0 → 1
    response = post(api, action(case.pk, name), {**body, "version": 0})
    assert response.status_code == 409
    assert response.json() == STALE
    assert PetitionEvent.objects.filter(petition=case).count() == 2
    response = post(api, action(case.pk, name), {**body, "version": 1})
    assert response.status_code == 200
    assert response.json()["version"] == 2


# --- Registration ------------------------------------------------------------------------


def _intake(**overrides) -> dict:
    body = {
        "channel": "letter",
        "received_at": "2026-03-02T10:00:00+08:00",
        "case_type": "appeal",
        "category": 0,
        "summary": "小区物业不履行维修义务",
        "content": "楼道漏水多年无人维修",
        "address": "幸福小区3号楼",
        "lng": IN_CELL[0],
        "lat": IN_CELL[1],
        "petitioners": [PERSON],
    }
    body.update(overrides)
    return body


def test_register_then_same_idempotency_key(api, category, boundaries, clerk):
    body = _intake(category=category.pk)
    response = post(api, REGISTER, body, HTTP_IDEMPOTENCY_KEY="key-123")
    assert response.status_code == 201
    created = response.json()
    petition = Petition.objects.get()
    assert set(created) == {"id", "receipt_no", "query_code"}
    assert created["id"] == petition.pk
    assert created["receipt_no"] == "XF-210204-2026-000001"
    assert query_code_check(petition, created["query_code"])
    assert petition.cell.code == "210204001001001"
    assert petition.registered_by == clerk
    assert petition.registered_by_org.area_code == "210204001"
    assert petition.petitioners.get().name == "张三"

    again = post(api, REGISTER, body, HTTP_IDEMPOTENCY_KEY="key-123")
    assert again.status_code == 200
    assert again.json() == {"id": petition.pk, "receipt_no": "XF-210204-2026-000001"}
    assert Petition.objects.count() == 1


def test_register_token_in_body_and_gcj02(api, category, boundaries):
    from grid.coords import wgs84_to_gcj02

    lng, lat = wgs84_to_gcj02(*IN_CELL)
    body = _intake(category=category.pk, lng=lng, lat=lat, crs="gcj02", intake_token="t-1")
    assert post(api, REGISTER, body).status_code == 201
    assert post(api, REGISTER, body).status_code == 200
    petition = Petition.objects.get()
    assert petition.location.x == pytest.approx(IN_CELL[0], abs=1e-5)
    assert petition.cell.code == "210204001001001"


def test_one_users_key_does_not_return_another_users_case(
    api, as_user, category, boundaries, office
):
    assert (
        post(api, REGISTER, _intake(category=category.pk), HTTP_IDEMPOTENCY_KEY="k").status_code
        == 201
    )
    other = _granted("clerk2", Role.STREET_CLERK, "210204001")
    client = as_user(other)
    response = post(client, REGISTER, _intake(category=category.pk), HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 201
    assert Petition.objects.count() == 2


def test_register_bad_id_number_is_400_in_chinese(api, category):
    bad = {**PERSON, "id_number": "110105194912310021"}
    response = post(api, REGISTER, _intake(category=category.pk, petitioners=[bad]))
    assert response.status_code == 400
    assert response.json() == invalid(
        {"petitioners[0].id_number": ["身份证号校验位不正确，请核对。"]}
    )
    assert Petition.objects.count() == 0


def test_register_field_errors(api, category):
    body = _intake(category=category.pk, lat=None, petitioners=[{"name": "李" * 51}])
    del body["channel"]
    response = post(api, REGISTER, body)
    assert response.status_code == 400
    errors = response.json()["error"]["fields"]
    assert set(errors) == {"channel", "lat", "petitioners[0].name"}
    assert errors["channel"] == ["该字段是必填项。"]
    response = post(api, REGISTER, _intake(category=category.pk, summary=" "))
    assert response.json() == invalid({"summary": ["请填写信访概要。"]})


def test_register_needs_the_right(as_user, category):
    client = as_user(_granted("viewer", Role.LEADER, "210204001"))
    response = post(client, REGISTER, _intake(category=category.pk))
    assert response.status_code == 403


# --- Map, repeats -----------------------------------------------------------------------


def test_geojson_payload_and_confidential_cases(api, as_user, case, register):
    accusation = register(location=IN_CELL, case_type="accusation").petition
    register()  # not located: not on the map
    response = api.get(GEOJSON)
    assert response["Content-Type"] == "application/geo+json"
    body = json.loads(response.content)
    assert body["type"] == "FeatureCollection"
    assert [f["id"] for f in body["features"]] == [accusation.pk, case.pk]
    assert body["features"][1] == {
        "type": "Feature",
        "id": case.pk,
        "properties": {
            "id": case.pk,
            "receipt_no": case.receipt_no,
            "status": "registered",
            "case_type": "appeal",
            "category": "物业服务",
            "cell_code": "210204001001001",
        },
        "geometry": {"type": "Point", "coordinates": [IN_CELL[0], IN_CELL[1]]},
    }
    leader = as_user(_granted("viewer", Role.LEADER, "210204001"))
    features = json.loads(leader.get(GEOJSON).content)["features"]
    assert [f["id"] for f in features] == [case.pk]


def test_geojson_bbox_and_filters(api, case):
    inside = api.get(GEOJSON, {"bbox": f"{X0},{Y0},{X0 + 0.01},{Y0 + 0.02}"})
    assert len(json.loads(inside.content)["features"]) == 1
    outside = api.get(GEOJSON, {"bbox": f"{X0 + 0.02},{Y0},{X0 + 0.04},{Y0 + 0.02}"})
    assert json.loads(outside.content)["features"] == []
    closed = api.get(GEOJSON, {"status": "closed"})
    assert json.loads(closed.content)["features"] == []
    bad = api.get(GEOJSON, {"bbox": "1,2,3"})
    assert bad.status_code == 400
    assert bad.json() == invalid({"bbox": ["bbox 格式应为 minlng,minlat,maxlng,maxlat。"]})


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", [LIST, GEOJSON])
def test_query_count_is_constant(api, register, boundaries, url, django_assert_max_num_queries):
    for _i in range(3):
        register(location=IN_CELL)
    with django_assert_max_num_queries(6):
        assert api.get(url).status_code == 200
    few = _count_queries(api, url)
    for _i in range(17):
        register(location=IN_CELL)
    many = _count_queries(api, url)
    assert many == few
    with django_assert_max_num_queries(6):
        assert api.get(url).status_code == 200


def test_repeat_candidates(api, as_user, case, category):
    response = api.get(REPEATS, {"id_number": VALID_ID})
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert response.json()["results"] == [
        {
            "id": case.pk,
            "receipt_no": case.receipt_no,
            "status": "registered",
            "received_at": "2026-03-02T10:00:00+08:00",
            "category": "物业服务",
            "summary": "小区物业不履行维修义务",
            "reasons": ["same_petitioner"],
        }
    ]
    near = api.get(
        REPEATS,
        {"category": category.pk, "lng": IN_CELL[0] + 0.001, "lat": IN_CELL[1]},
    )
    assert [(r["id"], r["reasons"]) for r in near.json()["results"]] == [
        (case.pk, ["same_category", "nearby"])
    ]
    outsider = as_user(_granted("other_street", Role.STREET_CLERK, "210204002"))
    assert outsider.get(REPEATS, {"id_number": VALID_ID}).json()["results"] == []
    assert api.get(REPEATS, {"lng": 121.5}).status_code == 400


# --- Visits and reception days ----------------------------------------------------------


def test_visits_record_list_and_scope(api, as_user, case, clerk, office):
    body = {
        "received_at": "2026-03-02T09:30:00+08:00",
        "headcount": 7,
        "representatives": ["王五", "赵六"],
        "answered_on_spot": True,
        "petitions": [case.pk],
        "notes": "集体访",
    }
    response = post(api, VISITS, body)
    assert response.status_code == 201, response.json()
    visit = Visit.objects.get()
    assert response.json() == {
        "id": visit.pk,
        "received_at": "2026-03-02T09:30:00+08:00",
        "organization": {"id": office.pk, "name": office.name},
        "area_code": "210204001",
        "headcount": 7,
        "is_group": True,
        "representatives": ["王五", "赵六"],
        "reception_officer": clerk.username,
        "reception_day": None,
        "petitions": [{"id": case.pk, "receipt_no": case.receipt_no}],
        "answered_on_spot": True,
        "resolved": False,
        "notes": "集体访",
    }
    listed = api.get(VISITS).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == visit.pk
    url = reverse("petitions-api:visit-detail", kwargs={"pk": visit.pk})
    assert api.get(url).json()["representatives"] == ["王五", "赵六"]

    leader = as_user(_granted("viewer", Role.LEADER, "210204001"))
    assert leader.get(url).json()["representatives"] is None
    assert post(leader, VISITS, body).status_code == 403
    outsider = as_user(_granted("other_street", Role.STREET_CLERK, "210204002"))
    assert outsider.get(VISITS).json()["count"] == 0
    assert outsider.get(url).status_code == 404


def test_visit_errors(api, as_user, case):
    response = post(api, VISITS, {"headcount": 8, "representatives": list("甲乙丙丁戊己")})
    assert response.status_code == 400
    assert response.json() == invalid({"representatives": ["集体访最多推选5名代表。"]})
    outsider = _granted("other_street", Role.STREET_CLERK, "210204002")
    client = as_user(outsider)
    response = post(client, VISITS, {"headcount": 1, "petitions": [case.pk]})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["petitions"]


def test_reception_days(api, as_user, clerk, office):
    leader = UserFactory(username="leader_li", first_name="李", last_name="")
    response = post(
        api,
        RECEPTION_DAYS,
        {"leader": leader.pk, "leader_title": "区长", "date": "2026-03-02", "place": "街道接访室"},
    )
    assert response.status_code == 201, response.json()
    day = ReceptionDay.objects.get()
    expected = {
        "id": day.pk,
        "date": "2026-03-02",
        "place": "街道接访室",
        "leader": {"id": leader.pk, "name": "李"},
        "leader_title": "区长",
        "organization": {"id": office.pk, "name": office.name},
        "notes": "",
        "summary": {"batches": 0, "persons": 0, "answered_on_spot": 0, "resolved": 0},
    }
    assert response.json() == expected
    for headcount, on_spot in [(2, True), (1, False)]:
        body = {
            "received_at": "2026-03-02T10:00:00+08:00",
            "headcount": headcount,
            "answered_on_spot": on_spot,
            "reception_day": day.pk,
        }
        assert post(api, VISITS, body).status_code == 201
    url = reverse("petitions-api:reception-day-detail", kwargs={"pk": day.pk})
    summary = api.get(url).json()["summary"]
    assert summary == {"batches": 2, "persons": 3, "answered_on_spot": 1, "resolved": 0}
    listed = api.get(RECEPTION_DAYS).json()
    assert [d["id"] for d in listed["results"]] == [day.pk]
    outsider = as_user(_granted("other_street", Role.STREET_CLERK, "210204002"))
    assert outsider.get(url).status_code == 404
    assert outsider.get(RECEPTION_DAYS).json()["count"] == 0


# --- Schema -----------------------------------------------------------------------------


def test_schema_has_no_warnings_for_these_views():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    patterns = [
        path("api/v1/petitions/", include("petitions.api.urls")),
        path("track/", include("petitions.track_urls")),
    ]
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    assert dict(GENERATOR_STATS._warn_cache) == {}
    assert dict(GENERATOR_STATS._error_cache) == {}
    paths = schema["paths"]
    assert "/api/v1/petitions/{id}/objection-resolve/" in paths
    assert set(paths["/api/v1/petitions/"]) == {"get", "post"}
    assert "/track/api/" in paths
    steps = [p for p in paths if p.startswith("/api/v1/petitions/{id}/") and p.count("/") == 6]
    assert len(steps) == 18
