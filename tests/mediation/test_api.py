"""The mediation API: payloads and status codes per role, one POST per action, errors, scope and
query counts (SPEC §4, §6)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Grant, Role
from grid.coords import wgs84_to_gcj02
from mediation.models import Dispute, MediationCase
from petitions import deadlines
from tests.api.shapes import conflict, error, invalid
from tests.factories import UserFactory
from tests.mediation.conftest import CELL, INSIDE, INSIDE_NEIGHBOUR, NEIGHBOUR_CELL, PARTIES

API = "/api/v1/mediation"
GEO_KEYS = {"id", "category", "risk_level", "status", "cell_code"}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def now_minus(**kw) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kw)


def today() -> dt.date:
    return deadlines.local_date(timezone.now())


@pytest.fixture
def district_leader(leader):
    Grant.objects.create(user=leader, role=Role.LEADER, area_code="210204")
    return leader


@pytest.fixture
def other_street_clerk(outsider):
    Grant.objects.create(user=outsider, role=Role.STREET_CLERK, area_code="210204002")
    return outsider


@pytest.fixture
def dispute(record):
    return record(found_at=now_minus(days=3))


def case_body(committee, mediator, **kw) -> dict:
    body = {
        "type": "people",
        "source": "application",
        "committee": committee.pk,
        "summary": "邻里漏水纠纷",
        "parties": PARTIES,
        "mediators": [mediator.pk],
        "accepted_at": now_minus(days=2).isoformat(),
    }
    body.update(kw)
    return body


# --- disputes ----------------------------------------------------------------------------------


def test_record_dispute_lands_in_the_cell_of_the_point(worker):
    body = {
        "category": "neighbour",
        "risk_level": "major",
        "party_count": 2,
        "party_names": ["王甲", "李乙"],
        "description": "楼上漏水，邻里争执",
        "lng": INSIDE[0],
        "lat": INSIDE[1],
        "address": "中山路1号",
    }
    response = client_for(worker).post(f"{API}/disputes/", body, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["cell_code"] == CELL
    assert data["area_code"] == CELL
    assert data["status"] == "found"
    assert data["status_label"] == "已排查发现"
    assert data["risk_level_label"] == "较大"
    assert data["party_names"] == ["王甲", "李乙"]
    assert data["location"] == {"lng": INSIDE[0], "lat": INSIDE[1]}
    assert [e["action"] for e in data["events"]] == ["record"]
    dispute = Dispute.objects.get(pk=data["id"])
    assert dispute.recorded_by == worker
    assert dispute.cell.code == CELL


def test_record_dispute_with_a_gcj02_phone_location(worker):
    lng, lat = wgs84_to_gcj02(*INSIDE_NEIGHBOUR)
    body = {
        "category": "property_mgmt",
        "risk_level": "general",
        "party_count": 1,
        "description": "物业费争议",
        "lng": lng,
        "lat": lat,
        "crs": "gcj02",
    }
    response = client_for(worker).post(f"{API}/disputes/", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["cell_code"] == NEIGHBOUR_CELL


def test_record_dispute_errors_are_keyed_by_field(worker):
    client = client_for(worker)

    response = client.post(f"{API}/disputes/", {"lng": 121.555}, format="json")

    assert response.status_code == 400
    errors = response.json()["error"]["fields"]
    assert set(errors) == {"category", "risk_level", "party_count", "description"}
    assert errors["category"] == ["该字段是必填项。"]

    body = {
        "category": "neighbour",
        "risk_level": "general",
        "party_count": 1,
        "party_names": ["王甲", "李乙"],
        "description": "x",
        "lng": 121.555,
    }
    response = client.post(f"{API}/disputes/", body, format="json")
    assert response.status_code == 400
    assert response.json() == invalid({"lat": ["经度和纬度须同时提供。"]})

    del body["lng"]
    response = client.post(f"{API}/disputes/", body, format="json")
    assert response.status_code == 400
    assert response.json() == invalid({"party_names": ["填写的姓名多于当事人数。"]})


def test_list_and_detail_hide_party_names_from_the_leader(worker, district_leader, dispute):
    for user, sees_names in ((worker, True), (district_leader, False)):
        client = client_for(user)
        listed = client.get(f"{API}/disputes/")
        assert listed.status_code == 200
        page = listed.json()
        assert page["count"] == 1
        (row,) = page["results"]
        assert row["id"] == dispute.pk
        assert row["cell_code"] == CELL
        assert ("party_names" in row) is sees_names
        assert ("address" in row) is sees_names

        detail = client.get(f"{API}/disputes/{dispute.pk}/")
        assert detail.status_code == 200
        assert ("party_names" in detail.json()) is sees_names
        assert ("王甲" in detail.content.decode()) is sees_names


def test_list_filters_and_pagination(worker, record):
    for i in range(3):
        record(category="labour", risk_level="serious", found_at=now_minus(days=i + 1))
    record(category="neighbour", found_at=now_minus(days=5))
    client = client_for(worker)

    page = client.get(f"{API}/disputes/", {"category": "labour", "page_size": 2}).json()
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["next"].endswith("page=2&page_size=2") or "page=2" in page["next"]
    assert {r["category"] for r in page["results"]} == {"labour"}

    assert client.get(f"{API}/disputes/", {"risk_level": "general"}).json()["count"] == 1
    assert client.get(f"{API}/disputes/", {"mine": "true"}).json()["count"] == 4
    bad = client.get(f"{API}/disputes/", {"status": "nope"})
    assert bad.status_code == 400
    assert list(bad.json()["error"]["fields"]) == ["status"]


def test_geojson_has_no_party_data(worker, district_leader, record):
    located = record(found_at=now_minus(days=1))
    record(location=None, area_code=CELL, found_at=now_minus(days=1))  # no point: not on the map

    response = client_for(district_leader).get(f"{API}/disputes/geojson/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    body = response.content.decode()
    assert "王甲" not in body and "李乙" not in body
    data = response.json()
    assert data["type"] == "FeatureCollection"
    (feature,) = data["features"]
    assert feature["id"] == located.pk
    assert set(feature["properties"]) == GEO_KEYS
    assert feature["properties"] == {
        "id": located.pk,
        "category": "neighbour",
        "risk_level": "general",
        "status": "found",
        "cell_code": CELL,
    }
    assert feature["geometry"]["type"] == "Point"
    assert feature["geometry"]["coordinates"] == pytest.approx(list(INSIDE))


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_and_geojson_query_counts_do_not_grow(worker, record):
    for i in range(7):
        record(category="labour", found_at=now_minus(days=i + 1))
    urls = {"/disputes/": f"{API}/disputes/", "/geojson/": f"{API}/disputes/geojson/"}
    few = {key: _count_queries(client_for(worker), url) for key, url in urls.items()}
    for i in range(6):
        record(category="labour", found_at=now_minus(days=i + 10))
    many = {key: _count_queries(client_for(worker), url) for key, url in urls.items()}

    assert many == few
    assert client_for(worker).get(urls["/disputes/"]).json()["count"] == 13


def test_case_list_query_count_does_not_grow(bureau_user, open_case, mediator):
    open_case()
    url = f"{API}/cases/"
    few = _count_queries(client_for(bureau_user), url)
    for _i in range(4):
        open_case()
    many = _count_queries(client_for(bureau_user), url)

    assert many == few
    assert client_for(bureau_user).get(url).json()["count"] == 5


def test_update_and_close_a_dispute(worker, dispute):
    client = client_for(worker)

    response = client.post(
        f"{API}/disputes/{dispute.pk}/update/",
        {"risk_level": "serious", "description": "漏水加剧", "expected_version": 0},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["risk_level"] == "serious"
    assert response.json()["version"] == 1

    stale = client.post(
        f"{API}/disputes/{dispute.pk}/update/",
        {"risk_level": "general", "expected_version": 0},
        format="json",
    )
    assert stale.status_code == 409
    assert stale.json() == conflict("该记录已被他人修改，请刷新后重试。")

    no_route = client.post(f"{API}/disputes/{dispute.pk}/close/", {"outcome": "divert"})
    assert no_route.status_code == 400
    assert no_route.json() == invalid({"diverted_to": ["请选择转入的途径。"]})

    diverted = client.post(
        f"{API}/disputes/{dispute.pk}/close/",
        {"outcome": "divert", "diverted_to": "litigation", "note": "当事人起诉"},
    )
    assert diverted.status_code == 200
    assert diverted.json()["status"] == "diverted"
    assert diverted.json()["diverted_to"] == "litigation"

    again = client.post(f"{API}/disputes/{dispute.pk}/close/", {"outcome": "stabilise"})
    assert again.status_code == 409
    assert again.json() == conflict("当前状态“已转入其他途径”下不能执行此操作。")


def test_out_of_scope_is_404(other_street_clerk, other_mediator, dispute, open_case):
    case = open_case()
    clerk = client_for(other_street_clerk)
    assert clerk.get(f"{API}/disputes/{dispute.pk}/").status_code == 404
    assert clerk.post(f"{API}/disputes/{dispute.pk}/update/", {"description": "x"}).status_code == (
        404
    )
    assert clerk.get(f"{API}/disputes/").json()["count"] == 0
    assert clerk.get(f"{API}/disputes/geojson/").json()["features"] == []
    assert clerk.get(f"{API}/disputes/999999/").status_code == 404

    other = client_for(other_mediator)
    assert other.get(f"{API}/cases/{case.pk}/").status_code == 404
    assert other.post(f"{API}/cases/{case.pk}/refuse/", {"party_name": "王甲"}).status_code == 404
    assert other.get(f"{API}/cases/").json()["count"] == 0


def test_roles_without_the_right_get_403(district_leader, unit_user, dispute, open_case):
    case = open_case()
    leader = client_for(district_leader)
    assert leader.get(f"{API}/cases/{case.pk}/").status_code == 200
    body = {"category": "neighbour", "risk_level": "general", "party_count": 1, "description": "x"}
    forbidden = [
        (f"{API}/disputes/", body),
        (f"{API}/disputes/{dispute.pk}/update/", {"description": "x"}),
        (f"{API}/disputes/{dispute.pk}/close/", {"outcome": "resolve"}),
        (f"{API}/disputes/{dispute.pk}/mediate/", {}),
        (f"{API}/cases/", {}),
        (f"{API}/cases/{case.pk}/refuse/", {"party_name": "王甲"}),
        (f"{API}/cases/{case.pk}/follow-up/", {"performance": "full"}),
        (f"{API}/rounds/", {}),
    ]
    for url, data in forbidden:
        response = leader.post(url, data, format="json")
        assert response.status_code == 403, url
        assert response.json() == error("permission_denied", "您的角色无权执行此操作。")
    unit = client_for(unit_user)
    assert unit.post(f"{API}/disputes/", body, format="json").status_code == 403
    assert unit.get(f"{API}/disputes/").json()["count"] == 0
    assert unit.get(f"{API}/cases/").json()["count"] == 0
    assert unit.get(f"{API}/cases/{case.pk}/").status_code == 404
    assert APIClient().get(f"{API}/disputes/").status_code == 401  # not signed in


def test_case_payload_hides_parties_from_the_leader(district_leader, mediator, open_case):
    case = open_case()
    listed = client_for(district_leader).get(f"{API}/cases/").json()["results"][0]
    assert listed["case_no"] == case.case_no
    assert "parties" not in listed and "refused_by" not in listed
    assert listed["committee"]["name"] == "测试1街道北社区人民调解委员会"

    mine = client_for(mediator).get(f"{API}/cases/{case.pk}/").json()
    assert mine["parties"] == [
        {"role": "applicant", "name": "王甲", "phone": "138****0001", "address": "中山路1号"},
        {"role": "respondent", "name": "李乙", "phone": "138****0002", "address": "中山路2号"},
    ]
    assert mine["mediators"] == [{"id": mediator.pk, "username": "mediator", "name": "mediator"}]
    assert mine["overdue"] is True  # accepted 2026-03-05: the one-month target has passed
    assert mine["target_due"] == "2026-04-05"


# --- the mediation case, one POST per action -------------------------------------------------


def test_case_from_a_dispute_through_agreement_follow_up_and_confirmation(
    worker, bureau_user, mediator, committee, dispute
):
    bureau = client_for(bureau_user)
    opened = bureau.post(
        f"{API}/disputes/{dispute.pk}/mediate/",
        case_body(committee, mediator, mediators=[]),
        format="json",
    )
    assert opened.status_code == 201, opened.content
    case = opened.json()
    pk = case["id"]
    assert case["status"] == "accepted"
    assert case["dispute"] == dispute.pk
    assert case["case_no"].startswith(f"TJ-210204-{today().year}-")
    assert Dispute.objects.get(pk=dispute.pk).status == "in_mediation"

    def act(client, action, body=None, expect=200):
        response = client.post(f"{API}/cases/{pk}/{action}/", body or {}, format="json")
        assert response.status_code == expect, (action, response.content)
        return response.json()

    assert act(bureau, "assign", {"mediators": [mediator.pk]})["mediators"][0]["id"] == mediator.pk
    med = client_for(mediator)
    session = {
        "held_at": now_minus(days=1).isoformat(),
        "place": "社区调解室",
        "attendees": "王甲、李乙、调解员",
        "notes": "双方同意维修",
    }
    data = act(med, "session", session)
    assert data["status"] == "in_progress"
    assert data["sessions"][0]["place"] == "社区调解室"
    agreement = {
        "form": "written",
        "facts": "楼上漏水",
        "terms": "李乙十日内维修并赔偿500元",
        "performance_manner": "现金",
        "performance_deadline": (today() + dt.timedelta(days=10)).isoformat(),
    }
    data = act(med, "agree", agreement)
    assert data["status"] == "agreed"
    assert data["agreement_form"] == "written"
    assert data["agreement"]["effective_at"] is None

    act(med, "sign", {"party_name": "王甲"})
    data = act(med, "sign", {"party_name": "李乙"})
    assert data["agreement"]["signed_by"] == ["王甲", "李乙"]
    assert data["agreement"]["effective_at"] is None
    data = act(med, "seal")
    assert data["agreement"]["effective_at"] is not None
    assert Dispute.objects.get(pk=dispute.pk).status == "resolved"

    data = act(worker_client := client_for(worker), "follow-up", {"performance": "full"})
    assert [f["performance"] for f in data["agreement"]["follow_ups"]] == ["full"]
    assert worker_client.get(f"{API}/cases/{pk}/").status_code == 200

    data = act(
        med, "confirmation-apply", {"applied_at": today().isoformat(), "court": "沙河口区人民法院"}
    )
    assert data["agreement"]["confirmation"]["decision"] == "pending"
    data = act(
        med, "confirmation-decide", {"decision": "confirmed", "decided_at": today().isoformat()}
    )
    assert data["agreement"]["confirmation"] == {
        "id": data["agreement"]["confirmation"]["id"],
        "applied_at": today().isoformat(),
        "court": "沙河口区人民法院",
        "decision": "confirmed",
        "decided_at": today().isoformat(),
    }
    # Events are in time order; the assignment is stamped "now", after the past session.
    actions = sorted(e["action"] for e in data["events"])
    assert actions == sorted(
        [
            "open",
            "assign",
            "session",
            "agree",
            "sign",
            "sign",
            "seal",
            "effective",
            "follow_up",
            "confirm_apply",
            "confirm_decide",
        ]
    )


def test_oral_agreement_refusal_and_termination(mediator, open_case):
    med = client_for(mediator)
    oral, refused, failed = open_case(), open_case(), open_case()

    data = med.post(
        f"{API}/cases/{oral.pk}/agree/",
        {
            "form": "oral",
            "facts": "噪音",
            "terms": "晚十点后不再施工",
            "performance_manner": "即时",
        },
        format="json",
    ).json()
    assert data["status"] == "agreed"
    assert data["agreement"]["effective_at"] is not None
    sealed = med.post(f"{API}/cases/{oral.pk}/seal/")
    assert sealed.status_code == 409
    assert sealed.json() == conflict("口头协议自达成之日起生效，无需签名盖章。")

    data = med.post(f"{API}/cases/{refused.pk}/refuse/", {"party_name": "李乙"}).json()
    assert data["status"] == "refused"
    assert data["refused_by"] == "李乙"
    unknown = med.post(f"{API}/cases/{refused.pk}/refuse/", {"party_name": "赵丙"})
    assert unknown.status_code == 400
    assert unknown.json() == invalid({"party_name": ["请选择本案的当事人。"]})

    data = med.post(
        f"{API}/cases/{failed.pk}/terminate/",
        {"reason": "双方分歧过大", "other_routes": ["litigation", "arbitration"]},
        format="json",
    ).json()
    assert data["status"] == "terminated"
    assert data["other_routes"] == ["litigation", "arbitration"]


def test_forbidden_transitions_are_409(mediator, open_case):
    med = client_for(mediator)
    case = open_case()
    assert med.post(f"{API}/cases/{case.pk}/refuse/", {"party_name": "王甲"}).status_code == 200

    late = med.post(
        f"{API}/cases/{case.pk}/session/",
        {"held_at": now_minus(hours=1).isoformat(), "place": "调解室", "attendees": "王甲"},
        format="json",
    )
    assert late.status_code == 409
    assert late.json() == conflict("当前状态“当事人拒绝调解”下不能执行此操作。")
    no_agreement = med.post(f"{API}/cases/{case.pk}/follow-up/", {"performance": "full"})
    assert no_agreement.status_code == 409
    assert no_agreement.json() == conflict("该案件尚未达成调解协议。")
    assert MediationCase.objects.get(pk=case.pk).status == "refused"


def test_case_open_errors_and_petition_link(bureau_user, mediator, committee, register):
    bureau = client_for(bureau_user)
    body = case_body(committee, mediator, parties=[PARTIES[0]])
    one_party = bureau.post(f"{API}/cases/", body, format="json")
    assert one_party.status_code == 400
    assert one_party.json() == invalid({"parties": ["至少需要一名申请人和一名被申请人。"]})

    bad_role = bureau.post(
        f"{API}/cases/",
        case_body(committee, mediator, parties=[{"role": "judge", "name": "x"}], dispute=999999),
        format="json",
    )
    assert bad_role.status_code == 400
    assert list(bad_role.json()["error"]["fields"]) == ["parties[0].role"]

    unknown = bureau.post(f"{API}/cases/", case_body(committee, mediator, dispute=999999), "json")
    assert unknown.status_code == 400
    assert unknown.json() == invalid({"dispute": ["矛盾纠纷不存在。"]})

    petition = register().petition
    linked = bureau.post(
        f"{API}/cases/",
        case_body(committee, mediator, petition=petition.pk, source="petition_office"),
        format="json",
    )
    assert linked.status_code == 201, linked.content
    assert linked.json()["petition"] == petition.pk
    assert petition.events.filter(action="note").count() == 1


# --- screening rounds ----------------------------------------------------------------------------


def test_rounds_open_list_close_and_a_closed_round_refuses_disputes(bureau_user, worker):
    bureau = client_for(bureau_user)
    body = {
        "name": "本月矛盾纠纷排查",
        "period_start": today().replace(day=1).isoformat(),
        "period_end": today().isoformat(),
        "area_code": "210204001",
    }
    opened = bureau.post(f"{API}/rounds/", body, format="json")
    assert opened.status_code == 201, opened.content
    round_id = opened.json()["id"]
    assert opened.json()["status"] == "open"
    assert client_for(worker).post(f"{API}/rounds/", body, format="json").status_code == 403

    listed = client_for(worker).get(f"{API}/rounds/").json()
    assert [r["id"] for r in listed["results"]] == [round_id]

    dispute = {
        "category": "neighbour",
        "risk_level": "general",
        "party_count": 1,
        "description": "噪音",
        "lng": INSIDE[0],
        "lat": INSIDE[1],
        "round": round_id,
    }
    recorded = client_for(worker).post(f"{API}/disputes/", dispute, format="json")
    assert recorded.status_code == 201
    assert recorded.json()["round"] == round_id

    closed = bureau.post(f"{API}/rounds/{round_id}/close/")
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    refused = client_for(worker).post(f"{API}/disputes/", dispute, format="json")
    assert refused.status_code == 409
    assert refused.json() == conflict("排查轮次“本月矛盾纠纷排查”已经结束，不能再登记纠纷。")
    assert bureau.post(f"{API}/rounds/{round_id}/close/").status_code == 409
    unknown = client_for(worker).post(f"{API}/disputes/", {**dispute, "round": 999999}, "json")
    assert unknown.status_code == 400
    assert unknown.json() == invalid({"round": ["排查轮次不存在。"]})


def test_the_schema_documents_every_endpoint(admin_user):
    response = client_for(admin_user).get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    paths = {p for p in response.json()["paths"] if p.startswith(API)}
    actions = ["assign", "refuse", "session", "agree", "sign", "seal", "terminate"]
    actions += ["follow-up", "confirmation-apply", "confirmation-decide"]
    assert paths == {
        f"{API}/rounds/",
        f"{API}/rounds/{{id}}/close/",
        f"{API}/disputes/",
        f"{API}/disputes/geojson/",
        f"{API}/disputes/{{id}}/",
        f"{API}/disputes/{{id}}/update/",
        f"{API}/disputes/{{id}}/close/",
        f"{API}/disputes/{{id}}/mediate/",
        f"{API}/cases/",
        f"{API}/cases/{{id}}/",
        *(f"{API}/cases/{{id}}/{a}/" for a in actions),
    }


def test_a_user_with_no_grant_sees_nothing(db, dispute):
    nobody = UserFactory(username="nobody")
    client = client_for(nobody)
    assert client.get(f"{API}/disputes/").json()["count"] == 0
    assert client.get(f"{API}/disputes/{dispute.pk}/").status_code == 404


# --- referring a dispute to a committee (人民调解法 第十八条) ----------------------------------

# The screening roles besides the grid worker, each with a grant reaching the disputes of CELL.
REFERRING_GRANTS = {
    Role.ADMIN: "",
    Role.BUREAU: "210204",
    Role.STREET_CLERK: "210204001",
    Role.COMMUNITY_STAFF: "210204001001",
}


def granted(role: str, area_code: str = "") -> object:
    user = UserFactory(username=f"{role}_referrer")
    Grant.objects.create(user=user, role=role, area_code=area_code)
    return user


@pytest.mark.parametrize("role", [*REFERRING_GRANTS, Role.GRID_WORKER])
def test_screening_roles_refer_a_dispute_in_their_scope(role, worker, dispute, committee, mediator):
    user = worker if role == Role.GRID_WORKER else granted(role, REFERRING_GRANTS[role])

    response = client_for(user).post(
        f"{API}/disputes/{dispute.pk}/mediate/", case_body(committee, mediator), format="json"
    )

    assert response.status_code == 201, response.content
    case = MediationCase.objects.get()
    assert response.json()["id"] == case.pk
    assert (case.dispute_id, case.committee_id, case.status) == (
        dispute.pk,
        committee.pk,
        "accepted",
    )
    assert list(case.mediators.all()) == [mediator]
    assert [e.actor for e in case.events.all()] == [user]
    assert Dispute.objects.get(pk=dispute.pk).status == "in_mediation"


def test_mediator_refers_again_a_dispute_its_committee_failed_to_mediate(
    mediator, committee, dispute, open_case
):
    first = open_case(dispute=dispute, accepted_at=now_minus(days=2))
    client = client_for(mediator)
    terminated = client.post(
        f"{API}/cases/{first.pk}/terminate/",
        {"reason": "双方分歧太大", "other_routes": ["litigation"]},
        format="json",
    )
    assert terminated.status_code == 200, terminated.content
    assert Dispute.objects.get(pk=dispute.pk).status == "unresolved"

    response = client.post(
        f"{API}/disputes/{dispute.pk}/mediate/", case_body(committee, mediator), format="json"
    )

    assert response.status_code == 201, response.content
    second = MediationCase.objects.exclude(pk=first.pk).get()
    assert (second.dispute_id, second.committee_id) == (dispute.pk, committee.pk)
    assert Dispute.objects.get(pk=dispute.pk).status == "in_mediation"


def test_referring_is_limited_to_disputes_in_scope_and_active_committees(
    other_street_clerk, clerk, district_leader, mediator, unit_user, unit, committee, dispute
):
    body = case_body(committee, mediator)
    url = f"{API}/disputes/{dispute.pk}/mediate/"
    # Out of scope: 404, whatever the role (the other street's clerk, a committee's mediator
    # without a case of the dispute, a handling unit).
    for user in (other_street_clerk, mediator, unit_user):
        assert client_for(user).post(url, body, format="json").status_code == 404, user
    # The leader sees the dispute but only reads.
    response = client_for(district_leader).post(url, body, format="json")
    assert response.status_code == 403
    assert response.json() == error("permission_denied", "您的角色无权执行此操作。")

    referrer = client_for(clerk)
    response = referrer.post(url, {**body, "committee": unit.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == invalid({"committee": [f"无效主键 “{unit.pk}” － 对象不存在。"]})
    committee.is_active = False
    committee.save(update_fields=["is_active"])
    response = referrer.post(url, body, format="json")
    assert response.status_code == 400
    assert response.json() == invalid({"committee": [f"无效主键 “{committee.pk}” － 对象不存在。"]})
    assert MediationCase.objects.count() == 0
    assert Dispute.objects.get(pk=dispute.pk).status == "found"
