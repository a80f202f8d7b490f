"""The chain petition → dispute → mediation → sessions → agreement → petition answered and
closed, through the services of both apps, with the events on all three records."""

import pytest

from mediation.services import cases, screening
from petitions.services import workflow as wf
from tests.mediation.conftest import D
from tests.petitions.conftest import bj

pytestmark = pytest.mark.django_db


def _handling_petition(register, clerk):
    p = register().petition
    return wf.petition_route(petition=p, actor=clerk, decision="accept", now=bj(2026, 3, 3, 9))


def test_petition_to_dispute_to_written_agreement_closes_the_petition(
    register, clerk, mediator, committee
):
    p = _handling_petition(register, clerk)
    d = screening.dispute_from_petition(
        petition=p, actor=clerk, category="property_mgmt", now=bj(2026, 3, 4, 9)
    )
    c = cases.mediation_open(
        actor=mediator,
        type="people",
        source="petition_office",
        committee=committee,
        summary="物业维修纠纷",
        parties=[
            {"role": "applicant", "name": "张三", "phone": "13812345678"},
            {"role": "respondent", "name": "某物业公司"},
        ],
        dispute=d,
        petition=p,
        mediators=[mediator],
        accepted_at=bj(2026, 3, 5, 9),
    )
    assert (c.dispute, c.petition, c.area_code) == (d, p, "210204001")
    d.refresh_from_db()
    assert (d.status, list(d.mediation_cases.all())) == ("in_mediation", [c])
    for held_at in (bj(2026, 3, 6, 14), bj(2026, 3, 9, 14)):
        cases.mediation_session_add(
            case=c, actor=mediator, held_at=held_at, place="社区调解室", attendees="张三、物业经理"
        )
    a = cases.mediation_agree(
        case=c,
        actor=mediator,
        form="written",
        facts="电梯长期失修",
        terms="物业公司于3月31日前修复电梯",
        performance_manner="物业公司组织维修",
        performance_deadline=D(2026, 3, 31),
        reached_at=bj(2026, 3, 10, 10),
    )
    cases.agreement_sign(
        agreement=a, actor=mediator, party_name="张三", now=bj(2026, 3, 10, 10, 30)
    )
    p.refresh_from_db()
    assert p.status == "handling"  # not yet in force: the petition is untouched
    cases.agreement_sign(
        agreement=a, actor=mediator, party_name="某物业公司", now=bj(2026, 3, 10, 11)
    )
    a = cases.agreement_seal(agreement=a, actor=mediator, now=bj(2026, 3, 10, 16))
    assert a.effective_at == bj(2026, 3, 10, 16)

    d.refresh_from_db()
    assert (d.status, d.closed_at) == ("resolved", bj(2026, 3, 10, 16))
    p.refresh_from_db()
    assert (p.status, p.outcome, p.replied_at, p.closed_at) == (
        "closed",
        "support",
        bj(2026, 3, 10, 16),
        bj(2026, 3, 10, 16),
    )
    assert p.reply_text == "经调解达成协议：物业公司于3月31日前修复电梯"
    assert p.documents.filter(kind="opinion").count() == 1

    assert [(e.action, e.from_status, e.to_status) for e in p.events.order_by("pk")] == [
        ("register", "", "registered"),
        ("route_accept", "registered", "handling"),
        ("note", "handling", "handling"),
        ("note", "handling", "handling"),
        ("reply", "handling", "replied"),
        ("close", "replied", "closed"),
    ]
    notes = [e.payload["text"] for e in p.events.filter(action="note").order_by("pk")]
    assert notes == [
        f"已登记为矛盾纠纷（编号{d.pk}），纳入排查调处。",
        f"已转入调解，案号{c.case_no}（测试1街道北社区人民调解委员会）。",
    ]
    assert all(e.actor == mediator for e in p.events.filter(action__in=["reply", "close"]))
    assert [(e.action, e.from_status, e.to_status) for e in d.events.all()] == [
        ("record", "", "found"),
        ("mediate", "found", "in_mediation"),
        ("resolve", "in_mediation", "resolved"),
    ]
    assert d.events.get(action="mediate").payload == {"case": c.pk, "case_no": c.case_no}
    assert [(e.action, e.from_status, e.to_status) for e in c.events.all()] == [
        ("open", "", "accepted"),
        ("session", "accepted", "in_progress"),
        ("session", "in_progress", "in_progress"),
        ("agree", "in_progress", "agreed"),
        ("sign", "agreed", "agreed"),
        ("sign", "agreed", "agreed"),
        ("seal", "agreed", "agreed"),
        ("effective", "agreed", "agreed"),
    ]
    # After the agreement: follow-up and judicial confirmation within 30 days.
    cases.follow_up_record(
        agreement=a, actor=mediator, performance="full", visited_at=bj(2026, 4, 2, 9)
    )
    cases.confirmation_apply(
        agreement=a, actor=mediator, applied_at=D(2026, 4, 9), court="沙河口区人民法院"
    )
    c.refresh_from_db()
    assert (c.status, cases.mediation_is_overdue(c)) == ("agreed", False)


def test_oral_agreement_on_a_petition_not_in_handling_adds_a_note(
    register, clerk, mediator, committee
):
    """A petition not yet routed is not answered by the mediation: its handler gets a note."""
    p = register().petition
    c = cases.mediation_open(
        actor=mediator,
        type="people",
        source="petition_office",
        committee=committee,
        summary="物业维修纠纷",
        parties=[
            {"role": "applicant", "name": "张三"},
            {"role": "respondent", "name": "某物业公司"},
        ],
        petition=p,
        accepted_at=bj(2026, 3, 5, 9),
    )
    assert (c.dispute, c.area_code) == (None, "210204001")
    cases.mediation_agree(
        case=c,
        actor=mediator,
        form="oral",
        facts="电梯失修",
        terms="物业公司当日修复",
        performance_manner="当场履行",
        reached_at=bj(2026, 3, 6, 9),
    )
    p.refresh_from_db()
    assert p.status == "registered"
    assert [e.payload.get("text") for e in p.events.filter(action="note").order_by("pk")] == [
        f"已转入调解，案号{c.case_no}（测试1街道北社区人民调解委员会）。",
        f"调解协议已生效（案号{c.case_no}）：物业公司当日修复",
    ]


def test_termination_on_a_petition_informs_its_handler(register, clerk, mediator, committee):
    p = _handling_petition(register, clerk)
    d = screening.dispute_from_petition(petition=p, actor=clerk, now=bj(2026, 3, 4, 9))
    c = cases.mediation_open(
        actor=mediator,
        type="people",
        source="petition_office",
        committee=committee,
        summary="物业维修纠纷",
        parties=[{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "物业"}],
        dispute=d,  # the petition comes with the dispute
        accepted_at=bj(2026, 3, 5, 9),
    )
    assert c.petition == p
    cases.mediation_terminate(
        case=c, actor=mediator, reason="物业拒不到场", other_routes=["petition", "litigation"]
    )
    d.refresh_from_db()
    p.refresh_from_db()
    assert (d.status, p.status) == ("unresolved", "handling")
    assert p.events.latest("pk").payload["text"] == (
        f"调解终止（案号{c.case_no}）：物业拒不到场。已告知当事人可通过信访、诉讼等途径解决。"
    )


def test_accusations_are_not_mediated(register, mediator, committee):
    from mediation.services.errors import TransitionNotAllowed

    p = register(case_type="accusation").petition
    with pytest.raises(TransitionNotAllowed) as e:
        cases.mediation_open(
            actor=mediator,
            type="people",
            source="petition_office",
            committee=committee,
            summary="x",
            parties=[{"role": "applicant", "name": "甲"}, {"role": "respondent", "name": "乙"}],
            petition=p,
        )
    assert e.value.code == "confidential"
    assert not p.mediation_cases.exists()


def test_texts_stored_in_records_stay_chinese_under_an_english_ui(
    register, clerk, mediator, committee
):
    from django.utils import translation

    p = _handling_petition(register, clerk)
    with translation.override("en"):
        d = screening.dispute_from_petition(petition=p, actor=clerk, now=bj(2026, 3, 4, 9))
        c = cases.mediation_open(
            actor=mediator,
            type="people",
            source="petition_office",
            committee=committee,
            summary="物业维修纠纷",
            parties=[{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "物业"}],
            dispute=d,
            accepted_at=bj(2026, 3, 5, 9),
        )
        cases.mediation_agree(
            case=c,
            actor=mediator,
            form="oral",
            facts="电梯失修",
            terms="物业当日修复",
            performance_manner="当场履行",
            reached_at=bj(2026, 3, 6, 9),
        )
    p.refresh_from_db()
    assert p.reply_text == "经调解达成协议：物业当日修复"
    texts = [e.payload["text"] for e in p.events.filter(action="note").order_by("pk")]
    assert texts[0].startswith("已登记为矛盾纠纷") and texts[1].startswith("已转入调解")
    assert d.events.latest("pk").payload["note"] == f"调解协议生效（案号{c.case_no}）。"
