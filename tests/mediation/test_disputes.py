"""Screening rounds and disputes: every allowed and forbidden dispute transition, placement in
the grid (incl. GCJ-02 input), closed rounds, updates with version checks, petition links."""

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError

from grid.coords import wgs84_to_gcj02
from mediation.models import DISPUTE_TRANSITIONS, Dispute, DisputeEvent, DisputeStatus
from mediation.services import cases, screening
from mediation.services.errors import Conflict, TransitionNotAllowed
from petitions.services import errors as petition_errors
from petitions.services import workflow as wf
from tests.mediation.conftest import CELL, INSIDE, INSIDE_NEIGHBOUR, NEIGHBOUR_CELL, PARTIES, D
from tests.petitions.conftest import bj

pytestmark = pytest.mark.django_db


# --- The transition map ---------------------------------------------------------------------------


def _at_status(d: Dispute, status: str) -> Dispute:
    """Put a dispute into a status directly (test setup only)."""
    Dispute.objects.filter(pk=d.pk).update(
        status=status, diverted_to="litigation" if status == "diverted" else ""
    )
    d.refresh_from_db()
    return d


def _call(action: str, d: Dispute, actor, committee):
    now = bj(2026, 3, 6, 10)
    if action == "update":
        return screening.dispute_update(dispute=d, actor=actor, description="双方再次争吵")
    if action == "mediate":
        return cases.mediation_open(
            actor=actor,
            type="people",
            source="own_initiative",
            committee=committee,
            summary="邻里纠纷",
            parties=PARTIES,
            dispute=d,
            accepted_at=now,
        )
    if action == "reopen":
        return screening.dispute_reopen(dispute=d, actor=actor, reason="矛盾反弹", now=now)
    return screening.dispute_close(
        dispute=d, actor=actor, outcome=action, diverted_to="arbitration", now=now
    )


CASES = [(action, status) for action in DISPUTE_TRANSITIONS for status in DisputeStatus.values]


@pytest.mark.parametrize(("action", "status"), CASES)
def test_dispute_transition_map_is_enforced(action, status, record, worker, committee):
    d = _at_status(record(), status)
    allowed, to_status = DISPUTE_TRANSITIONS[action]
    events_before = d.events.count()
    if status not in allowed:
        with pytest.raises(TransitionNotAllowed):
            _call(action, d, worker, committee)
        d.refresh_from_db()
        assert d.status == status
        assert d.events.count() == events_before
        assert d.mediation_cases.count() == 0
        return
    _call(action, d, worker, committee)
    d.refresh_from_db()
    assert d.status == (to_status or status)
    event = d.events.latest("pk")
    assert (event.action, event.from_status, event.to_status) == (action, status, d.status)
    assert event.actor == worker
    assert d.events.count() == events_before + 1
    assert d.version == 1


def test_close_outcomes_set_closed_at_and_route(record, worker):
    d = screening.dispute_close(
        dispute=record(), actor=worker, outcome="stabilise", now=bj(2026, 3, 6, 10)
    )
    assert (d.status, d.closed_at, d.diverted_to) == ("stabilised", None, "")
    d = screening.dispute_close(
        dispute=d,
        actor=worker,
        outcome="divert",
        diverted_to="litigation",
        note="当事人已起诉",
        now=bj(2026, 3, 7, 10),
    )
    assert (d.status, d.closed_at, d.diverted_to) == ("diverted", bj(2026, 3, 7, 10), "litigation")
    assert d.events.latest("pk").payload == {
        "outcome": "divert",
        "diverted_to": "litigation",
        "note": "当事人已起诉",
    }
    d = screening.dispute_reopen(dispute=d, actor=worker, reason="判决后仍有争执")
    assert (d.status, d.closed_at, d.diverted_to) == ("found", None, "")


def test_close_checks_its_input(record, worker):
    d = record()
    with pytest.raises(ValidationError) as e:
        screening.dispute_close(dispute=d, actor=worker, outcome="divert")
    assert e.value.message_dict == {"diverted_to": ["请选择转入的途径。"]}
    with pytest.raises(ValidationError) as e:
        screening.dispute_close(dispute=d, actor=worker, outcome="forget")
    assert e.value.message_dict == {"outcome": ["请选择化解结果。"]}
    with pytest.raises(ValidationError) as e:
        screening.dispute_reopen(dispute=d, actor=worker, reason=" ")
    assert e.value.message_dict == {"reason": ["请说明重新排查的原因。"]}
    assert d.events.count() == 1


def test_errors_are_the_petitions_error_classes_too(record, worker):
    """Views that already handle the petitions' errors handle these as well."""
    d = screening.dispute_close(dispute=record(), actor=worker, outcome="resolve")
    with pytest.raises(petition_errors.TransitionNotAllowed) as e:
        screening.dispute_close(dispute=d, actor=worker, outcome="resolve")
    assert e.value.messages == ["当前状态“已化解”下不能执行此操作。"]
    assert isinstance(e.value, ValidationError)


# --- Recording: placement in the grid ---------------------------------------------------------


def test_record_places_the_point_in_its_cell(record, worker, hierarchy):
    d = record()
    assert (d.cell.code, d.area_code, d.status, d.source) == (CELL, CELL, "found", "screening")
    assert (d.location.x, d.location.y, d.location.srid) == (*INSIDE, 4326)
    assert d.recorded_by == worker and d.version == 0
    event = d.events.get()
    assert (event.action, event.from_status, event.to_status) == ("record", "", "found")
    assert event.payload == {
        "source": "screening",
        "category": "neighbour",
        "risk_level": "general",
        "round": None,
        "cell": CELL,
        "petition": None,
    }
    assert record(location=INSIDE_NEIGHBOUR).cell.code == NEIGHBOUR_CELL
    assert record(location=Point(*INSIDE, srid=4326)).cell.code == CELL


def test_record_converts_gcj02_input(record):
    wgs = (121.5575, 38.9175)  # inside CELL
    gcj = wgs84_to_gcj02(*wgs)  # ~450 m east: inside the neighbouring cell if taken as WGS-84
    assert record(location=gcj, crs="wgs84").cell.code == NEIGHBOUR_CELL
    d = record(location=gcj, crs="gcj02")
    assert d.cell.code == CELL
    assert d.location.x == pytest.approx(wgs[0], abs=1e-7)
    assert d.location.y == pytest.approx(wgs[1], abs=1e-7)


def test_record_found_before_any_boundaries_uses_todays(record):
    """Historical screening records entered later are placed with the boundaries in force now."""
    d = record(found_at=bj(2024, 3, 2, 10))
    assert (d.cell.code, d.found_at) == (CELL, bj(2024, 3, 2, 10))
    assert d.events.get().at == bj(2024, 3, 2, 10)


def test_record_without_a_cell_falls_back_to_area_round_district(record, district_round):
    outside = (121.70, 38.95)
    d = record(location=outside, area_code="210204002")
    assert (d.cell, d.area_code) == (None, "210204002")
    d = record(location=outside, round=district_round)
    assert (d.cell, d.area_code, d.round) == (None, "210204", district_round)
    d = record(location=None, address="中山路1号")
    assert (d.cell, d.location, d.area_code) == (None, None, "210204")


def test_record_in_an_open_round_and_a_closed_round_refuses(record, district_round, bureau_user):
    d = record(round=district_round)
    assert d.round == district_round and d.events.get().payload["round"] == district_round.pk
    r = screening.round_close(round=district_round, actor=bureau_user, now=bj(2026, 4, 1, 9))
    assert (r.status, r.closed_at) == ("closed", bj(2026, 4, 1, 9))
    with pytest.raises(TransitionNotAllowed) as e:
        record(round=district_round)
    assert e.value.code == "round_closed"
    assert e.value.messages == ["排查轮次“2026年3月矛盾纠纷排查”已经结束，不能再登记纠纷。"]
    assert Dispute.objects.count() == 1
    with pytest.raises(TransitionNotAllowed):
        screening.round_close(round=district_round, actor=bureau_user)


def test_record_reports_every_field_error(record):
    with pytest.raises(ValidationError) as e:
        record(
            category="gossip",
            party_count=0,
            description=" ",
            risk_level="huge",
            address="地" * 201,
        )
    assert e.value.message_dict == {
        "category": ["请选择纠纷类别。"],
        "party_count": ["当事人数至少为1。"],
        "description": ["请填写纠纷情况。"],
        "risk_level": ["请选择风险等级（一般、较大、重大）。"],
        "address": ["不能超过200个字。"],
    }
    with pytest.raises(ValidationError) as e:
        record(party_count=1, party_names=["王甲", "李乙"])
    assert e.value.message_dict == {"party_names": ["填写的姓名多于当事人数。"]}
    with pytest.raises(ValidationError) as e:
        record(location=(121.55, 38.9), crs="baidu")
    assert e.value.message_dict == {"crs": ["不支持的坐标系。"]}
    with pytest.raises(ValidationError) as e:
        record(location=(500, 38.9))
    assert e.value.message_dict == {"location": ["位置坐标无效。"]}
    with pytest.raises(ValidationError) as e:
        record(found_at=bj(2099, 1, 1, 9))
    assert e.value.message_dict == {"found_at": ["时间不能晚于当前时间。"]}
    with pytest.raises(ValidationError) as e:
        record(area_code="21", location=None)
    assert e.value.message_dict == {"area_code": ["区域代码格式不正确。"]}
    assert Dispute.objects.count() == 0


def test_record_accepts_names_as_text(record):
    d = record(party_count=30, party_names="王甲、李乙\n张丙", risk_level="serious")
    assert (d.party_names, d.party_count, d.risk_level) == (["王甲", "李乙", "张丙"], 30, "serious")


def test_round_open_checks_its_input(bureau_user):
    with pytest.raises(ValidationError) as e:
        screening.round_open(
            actor=bureau_user,
            name="",
            period_start=D(2026, 3, 31),
            period_end=D(2026, 3, 1),
            area_code="2102",
        )
    assert e.value.message_dict == {
        "name": ["请填写排查轮次名称。"],
        "period_end": ["结束日期不能早于开始日期。"],
        "area_code": ["请选择排查区域。"],
    }


# --- Updating ------------------------------------------------------------------------------------


def test_update_records_what_changed_and_checks_the_version(record, worker):
    d = record()
    d = screening.dispute_update(
        dispute=d,
        actor=worker,
        expected_version=0,
        risk_level="major",
        party_count=3,
        party_names=["王甲", "李乙", "张丙"],
        description="漏水扩大，三户争执",
    )
    assert (d.risk_level, d.party_count, d.version) == ("major", 3, 1)
    assert d.party_names == ["王甲", "李乙", "张丙"]
    event = d.events.latest("pk")
    # Names and free text are not copied into the event.
    assert event.payload == {
        "fields": ["description", "party_count", "party_names", "risk_level"],
        "risk_level": ["general", "major"],
        "party_count": [2, 3],
    }
    with pytest.raises(Conflict) as e:
        screening.dispute_update(dispute=d, actor=worker, expected_version=0, address="新地址")
    assert e.value.messages == ["该记录已被他人修改，请刷新后重试。"]
    with pytest.raises(ValidationError) as e:
        screening.dispute_update(dispute=d, actor=worker, party_count=2)  # 3 names on record
    assert e.value.message_dict == {"party_names": ["填写的姓名多于当事人数。"]}
    with pytest.raises(TypeError):
        screening.dispute_update(dispute=d, actor=worker, status="resolved")
    d.refresh_from_db()
    assert (d.version, d.address, d.status) == (1, "", "found")


# --- From a petition -------------------------------------------------------------------------------


def test_dispute_from_petition_links_back_with_a_note(register, clerk, hierarchy):
    petition = register(
        location=INSIDE,
        address="中山路1号",
        content="物业拒不维修",
        cell=hierarchy["cells"][CELL],
        cell_override_reason="现场核实",
    ).petition
    d = screening.dispute_from_petition(
        petition=petition, actor=clerk, risk_level="major", category="property_mgmt"
    )
    assert (d.source, d.petition, d.status, d.risk_level) == (
        "petition",
        petition,
        "found",
        "major",
    )
    assert (d.cell.code, d.area_code, d.address) == (CELL, CELL, "中山路1号")
    assert (d.party_count, d.party_names) == (1, ["张三"])
    assert d.description == "小区物业不履行维修义务\n物业拒不维修"
    assert d.events.get().payload["petition"] == petition.pk
    note = petition.events.latest("pk")
    assert (note.action, note.payload["text"]) == (
        "note",
        f"已登记为矛盾纠纷（编号{d.pk}），纳入排查调处。",
    )
    assert list(petition.disputes.all()) == [d]
    with pytest.raises(TransitionNotAllowed) as e:  # one open dispute per petition
        screening.dispute_from_petition(petition=petition, actor=clerk)
    assert e.value.code == "exists"


def test_dispute_from_a_closed_petition_adds_no_note(register, clerk):
    p = register().petition
    p = wf.petition_route(petition=p, actor=clerk, decision="accept", now=bj(2026, 3, 3, 9))
    p = wf.petition_reply(
        petition=p, actor=clerk, outcome="explain", text="已解释", now=bj(2026, 3, 4, 9)
    )
    p = wf.petition_close(petition=p, actor=clerk, now=bj(2026, 3, 4, 10))
    events = p.events.count()
    d = screening.dispute_from_petition(petition=p, actor=clerk)
    assert (d.category, d.risk_level, d.area_code) == ("other", "general", "210204001")
    assert p.events.count() == events


def test_accusations_do_not_become_disputes(register, clerk):
    p = register(case_type="accusation").petition
    with pytest.raises(TransitionNotAllowed) as e:
        screening.dispute_from_petition(petition=p, actor=clerk)
    assert e.value.code == "confidential"
    assert DisputeEvent.objects.count() == 0
