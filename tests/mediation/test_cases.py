"""Mediation cases: every allowed and forbidden transition, opening, refusal (第十七条),
termination (第二十六条), written vs oral agreements (第二十九、三十条), follow-ups, the 30-day
judicial confirmation window (第三十三条) and the one-month target."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from mediation.models import (
    MEDIATION_TRANSITIONS,
    Agreement,
    FollowUpVisit,
    JudicialConfirmation,
    MediationCase,
    MediationEvent,
    MediationStatus,
)
from mediation.services import cases
from mediation.services.errors import Conflict, TransitionNotAllowed
from petitions.models import Organization
from tests.mediation.conftest import PARTIES, D
from tests.petitions.conftest import bj

pytestmark = pytest.mark.django_db


# --- The transition map ---------------------------------------------------------------------------

AGREEMENT_ACTIONS = {"sign", "follow_up", "confirm_apply", "confirm_decide"}


def _at_status(c: MediationCase, status: str, action: str) -> MediationCase:
    """Put a case into a status directly, with the agreement the action needs (test setup)."""
    MediationCase.objects.filter(pk=c.pk).update(status=status)
    if action in AGREEMENT_ACTIONS:
        a = Agreement.objects.create(
            case=c,
            form="written",
            facts="漏水",
            terms="甲方赔偿乙方2000元",
            performance_manner="一次性支付",
            reached_at=bj(2026, 3, 10, 9),
            effective_at=None if action == "sign" else bj(2026, 3, 10, 9),
            signed_by=[] if action == "sign" else ["王甲", "李乙"],
            sealed_at=None if action == "sign" else bj(2026, 3, 10, 9),
        )
        if action == "confirm_decide":
            JudicialConfirmation.objects.create(
                agreement=a, applied_at=D(2026, 3, 12), court="沙河口区人民法院"
            )
    c.refresh_from_db()
    return c


def _call(action: str, c: MediationCase, actor):
    now = bj(2026, 3, 12, 10)
    calls = {
        "assign": lambda: cases.mediation_assign(case=c, actor=actor, mediators=[actor]),
        "refuse": lambda: cases.mediation_refuse(case=c, actor=actor, party_name="李乙", now=now),
        "session": lambda: cases.mediation_session_add(
            case=c, actor=actor, held_at=now, place="社区调解室", attendees="王甲、李乙"
        ),
        "agree": lambda: cases.mediation_agree(
            case=c,
            actor=actor,
            form="written",
            facts="漏水",
            terms="甲方赔偿乙方2000元",
            performance_manner="一次性支付",
            reached_at=now,
        ),
        "terminate": lambda: cases.mediation_terminate(
            case=c, actor=actor, reason="双方分歧过大", other_routes=["litigation"], now=now
        ),
        "sign": lambda: cases.agreement_sign(
            agreement=Agreement.objects.get(case=c), actor=actor, party_name="王甲", now=now
        ),
        "follow_up": lambda: cases.follow_up_record(
            agreement=Agreement.objects.get(case=c), actor=actor, performance="full", visited_at=now
        ),
        "confirm_apply": lambda: cases.confirmation_apply(
            agreement=Agreement.objects.get(case=c),
            actor=actor,
            applied_at=D(2026, 3, 12),
            court="沙河口区人民法院",
        ),
        "confirm_decide": lambda: cases.confirmation_decide(
            confirmation=JudicialConfirmation.objects.get(agreement__case=c),
            actor=actor,
            decision="confirmed",
            decided_at=D(2026, 3, 20),
        ),
    }
    return calls[action]()


CASES = [(action, status) for action in MEDIATION_TRANSITIONS for status in MediationStatus.values]


@pytest.mark.parametrize(("action", "status"), CASES)
def test_mediation_transition_map_is_enforced(action, status, open_case, mediator):
    c = _at_status(open_case(), status, action)
    allowed, to_status = MEDIATION_TRANSITIONS[action]
    events_before = c.events.count()
    if status not in allowed:
        with pytest.raises(TransitionNotAllowed):
            _call(action, c, mediator)
        c.refresh_from_db()
        assert (c.status, c.version) == (status, 0)
        assert c.events.count() == events_before
        return
    _call(action, c, mediator)
    c.refresh_from_db()
    assert c.status == (to_status or status)
    event = c.events.latest("pk")
    assert (event.action, event.from_status, event.to_status) == (action, status, c.status)
    assert event.actor == mediator
    assert (c.events.count(), c.version) == (events_before + 1, 1)


def test_seal_is_checked_as_sign(open_case, mediator):
    c = _at_status(open_case(), "terminated", "sign")
    with pytest.raises(TransitionNotAllowed):
        cases.agreement_seal(agreement=c.agreement, actor=mediator)
    c = _at_status(open_case(), "agreed", "sign")
    cases.agreement_seal(agreement=c.agreement, actor=mediator, now=bj(2026, 3, 11, 9))
    event = c.events.latest("pk")
    assert (event.action, event.from_status, event.to_status) == ("seal", "agreed", "agreed")


# --- Opening ---------------------------------------------------------------------------------------


def test_open_numbers_cases_and_sets_the_one_month_target(open_case, mediator, committee):
    c = open_case()
    assert (c.case_no, c.status, c.area_code) == (
        "TJ-210204-2026-00001",
        "accepted",
        "210204001001",
    )
    assert (c.target_due, c.accepted_at, c.committee) == (
        D(2026, 4, 5),
        bj(2026, 3, 5, 9),
        committee,
    )
    assert list(c.mediators.all()) == [mediator]
    assert [(p.role, p.name, p.phone) for p in c.parties.order_by("pk")] == [
        ("applicant", "王甲", "13800000001"),
        ("respondent", "李乙", "13800000002"),
    ]
    event = c.events.get()
    assert (event.action, event.from_status, event.to_status, event.at) == (
        "open",
        "",
        "accepted",
        bj(2026, 3, 5, 9),
    )
    assert open_case().case_no == "TJ-210204-2026-00002"
    # One calendar month, clamped to the month's end; numbering restarts each year.
    assert open_case(accepted_at=bj(2026, 1, 31, 9)).target_due == D(2026, 2, 28)
    assert open_case(accepted_at=bj(2024, 1, 31, 9)).target_due == D(2024, 2, 29)
    assert open_case(accepted_at=bj(2025, 12, 31, 23, 30)).target_due == D(2026, 1, 31)
    assert open_case(accepted_at=bj(2025, 12, 15, 9)).case_no == "TJ-210204-2025-00002"


def test_open_checks_its_input(open_case, unit):
    with pytest.raises(ValidationError) as e:
        open_case(
            type="family",
            source="rumour",
            summary=" ",
            parties=[{"role": "applicant", "name": "王甲"}, {"role": "judge", "name": ""}],
        )
    assert e.value.message_dict == {
        "type": ["请选择调解类型。"],
        "source": ["请选择案件来源。"],
        "summary": ["请填写纠纷简要情况。"],
        "parties[1].role": ["请选择当事人身份（申请人或被申请人）。"],
        "parties[1].name": ["请填写当事人姓名或名称。"],
    }
    with pytest.raises(ValidationError) as e:
        open_case(parties=[PARTIES[0]])
    assert e.value.message_dict == {"parties": ["至少需要一名申请人和一名被申请人。"]}
    with pytest.raises(ValidationError) as e:
        open_case(parties=[*PARTIES, {"role": "respondent", "name": "李乙"}])
    assert e.value.message_dict == {"parties[2].name": ["当事人姓名重复，请加以区分。"]}
    with pytest.raises(ValidationError) as e:
        open_case(committee=unit)  # 人民调解 only by a people's mediation committee
    assert e.value.message_dict == {"committee": ["人民调解应由人民调解委员会受理。"]}
    assert open_case(committee=unit, type="administrative").committee == unit
    with pytest.raises(ValidationError) as e:
        open_case(accepted_at=bj(2099, 1, 1, 9))
    assert e.value.message_dict == {"accepted_at": ["时间不能晚于当前时间。"]}
    assert MediationCase.objects.count() == 1


def test_open_without_dispute_or_area_uses_the_district(open_case, mediator):
    committee = Organization.objects.create(name="区人民调解委员会", kind="committee")
    assert open_case(committee=committee).area_code == "210204"


def test_assign_replaces_the_mediators(open_case, mediator, other_mediator):
    c = open_case()
    c = cases.mediation_assign(case=c, actor=mediator, mediators=[other_mediator, mediator])
    assert set(c.mediators.all()) == {mediator, other_mediator}
    assert c.events.latest("pk").payload == {"mediators": [other_mediator.pk, mediator.pk]}
    with pytest.raises(ValidationError) as e:
        cases.mediation_assign(case=c, actor=mediator, mediators=[])
    assert e.value.message_dict == {"mediators": ["请至少指定一名调解员。"]}
    with pytest.raises(Conflict):
        cases.mediation_assign(case=c, actor=mediator, mediators=[mediator], expected_version=0)


def test_sessions_move_the_case_in_progress(open_case, mediator):
    c = open_case()
    s = cases.mediation_session_add(
        case=c,
        actor=mediator,
        held_at=bj(2026, 3, 6, 14),
        place="社区调解室",
        attendees=["王甲", "李乙", "调解员"],
        notes="双方陈述",
    )
    c.refresh_from_db()
    assert (c.status, s.attendees, s.case) == ("in_progress", "王甲、李乙、调解员", c)
    event = c.events.latest("pk")
    assert (event.action, event.at, event.payload) == (
        "session",
        bj(2026, 3, 6, 14),
        {"session": s.pk},
    )
    cases.mediation_session_add(
        case=c, actor=mediator, held_at=bj(2026, 3, 8, 14), place="现场", attendees="王甲"
    )
    assert c.sessions.count() == 2
    with pytest.raises(ValidationError) as e:
        cases.mediation_session_add(
            case=c, actor=mediator, held_at=bj(2026, 3, 4, 14), place="", attendees=""
        )
    assert e.value.message_dict == {"place": ["请填写调解地点。"]}
    with pytest.raises(ValidationError) as e:
        cases.mediation_session_add(
            case=c, actor=mediator, held_at=bj(2026, 3, 4, 14), place="现场", attendees="王甲"
        )
    assert e.value.message_dict == {"held_at": ["调解时间不能早于受理日期。"]}


# --- Refusal and termination ---------------------------------------------------------------------


def test_refusal_ends_the_case_and_the_dispute_is_unresolved(open_case, record, mediator):
    d = record()
    c = open_case(dispute=d)
    d.refresh_from_db()
    assert d.status == "in_mediation"
    with pytest.raises(ValidationError) as e:
        cases.mediation_refuse(case=c, actor=mediator, party_name="路人丙")
    assert e.value.message_dict == {"party_name": ["请选择本案的当事人。"]}
    c = cases.mediation_refuse(case=c, actor=mediator, party_name="李乙", now=bj(2026, 3, 6, 9))
    assert (c.status, c.refused_by, c.concluded_at) == ("refused", "李乙", bj(2026, 3, 6, 9))
    assert c.events.latest("pk").payload == {"party_name": "李乙"}
    d.refresh_from_db()
    assert (d.status, d.closed_at) == ("unresolved", None)
    event = d.events.latest("pk")
    assert (event.action, event.from_status, event.to_status, event.at) == (
        "fail",
        "in_mediation",
        "unresolved",
        bj(2026, 3, 6, 9),
    )
    assert event.payload["note"] == f"当事人李乙拒绝调解（案号{c.case_no}）。"
    # The dispute may be mediated again later (unresolved → in_mediation).
    assert open_case(dispute=d).dispute == d


def test_termination_needs_a_reason_and_another_route(open_case, record, mediator):
    d = record()
    c = open_case(dispute=d)
    with pytest.raises(ValidationError) as e:
        cases.mediation_terminate(case=c, actor=mediator, reason="分歧过大", other_routes=[])
    assert e.value.message_dict == {"other_routes": ["请至少选择一种告知当事人的其他途径。"]}
    with pytest.raises(ValidationError) as e:
        cases.mediation_terminate(case=c, actor=mediator, reason=" ", other_routes=["litigation"])
    assert e.value.message_dict == {"reason": ["请填写终止调解的原因。"]}
    with pytest.raises(ValidationError) as e:
        cases.mediation_terminate(case=c, actor=mediator, reason="x", other_routes=["决斗"])
    assert e.value.message_dict == {"other_routes": ["未知的途径：决斗"]}
    c = cases.mediation_terminate(
        case=c,
        actor=mediator,
        reason="双方分歧过大",
        other_routes=["诉讼", "arbitration", "行政", "litigation"],
        now=bj(2026, 3, 20, 9),
    )
    assert (c.status, c.termination_reason, c.concluded_at) == (
        "terminated",
        "双方分歧过大",
        bj(2026, 3, 20, 9),
    )
    assert c.other_routes == ["litigation", "arbitration", "administrative"]
    d.refresh_from_db()
    assert d.status == "unresolved"
    assert d.events.latest("pk").payload["note"] == (
        f"调解终止（案号{c.case_no}）：双方分歧过大。已告知当事人可通过诉讼、仲裁、行政处理等途径解决。"
    )


def test_a_dispute_settled_elsewhere_is_left_alone(open_case, record, mediator, worker):
    from mediation.services.screening import dispute_close

    d = record()
    c = open_case(dispute=d)
    dispute_close(dispute=d, actor=worker, outcome="divert", diverted_to="litigation")
    cases.mediation_terminate(case=c, actor=mediator, reason="已起诉", other_routes=["litigation"])
    d.refresh_from_db()
    assert d.status == "diverted"


# --- Agreements --------------------------------------------------------------------------------------


def _agree(c, actor, form="written", reached_at=None, **kw):
    return cases.mediation_agree(
        case=c,
        actor=actor,
        form=form,
        facts="楼上漏水致楼下受损",
        terms="王甲赔偿李乙2000元",
        performance_manner="现金一次性支付",
        performance_deadline=kw.pop("performance_deadline", D(2026, 3, 31)),
        reached_at=reached_at or bj(2026, 3, 10, 10),
        **kw,
    )


def test_oral_agreement_is_effective_when_reached(open_case, record, mediator):
    d = record()
    c = open_case(dispute=d)
    a = _agree(c, mediator, form="oral", reached_at=bj(2026, 3, 10, 10))
    assert (a.form, a.reached_at, a.effective_at) == (
        "oral",
        bj(2026, 3, 10, 10),
        bj(2026, 3, 10, 10),
    )
    c.refresh_from_db()
    assert (c.status, c.concluded_at) == ("agreed", bj(2026, 3, 10, 10))
    assert [(e.action, e.from_status, e.to_status) for e in c.events.all()] == [
        ("open", "", "accepted"),
        ("agree", "accepted", "agreed"),
        ("effective", "agreed", "agreed"),
    ]
    assert c.events.latest("pk").payload == {
        "agreement": a.pk,
        "form": "oral",
        "confirmation_due": "2026-04-09",
    }
    d.refresh_from_db()
    assert (d.status, d.closed_at) == ("resolved", bj(2026, 3, 10, 10))
    with pytest.raises(TransitionNotAllowed) as e:
        cases.agreement_sign(agreement=a, actor=mediator, party_name="王甲")
    assert e.value.code == "oral"
    with pytest.raises(TransitionNotAllowed) as e:
        cases.agreement_seal(agreement=a, actor=mediator)
    assert e.value.code == "oral"


def test_written_agreement_needs_every_signature_and_the_seal(open_case, record, mediator):
    d = record()
    c = open_case(dispute=d, parties=[*PARTIES, {"role": "respondent", "name": "张丙"}])
    a = _agree(c, mediator)
    assert (a.effective_at, a.signed_by, a.sealed_at) == (None, [], None)
    a = cases.agreement_sign(
        agreement=a, actor=mediator, party_name="王甲", now=bj(2026, 3, 10, 11)
    )
    a = cases.agreement_sign(agreement=a, actor=mediator, party_name="李乙", now=bj(2026, 3, 11, 9))
    a = cases.agreement_seal(agreement=a, actor=mediator, now=bj(2026, 3, 11, 10))
    # Sealed, but 张丙 has not signed: not in force, the dispute is still being mediated.
    assert (a.signed_by, a.sealed_at, a.effective_at) == (
        ["王甲", "李乙"],
        bj(2026, 3, 11, 10),
        None,
    )
    assert cases.agreement_unsigned(a) == ["张丙"]
    assert cases.confirmation_due(a) is None
    d.refresh_from_db()
    assert d.status == "in_mediation"
    with pytest.raises(TransitionNotAllowed) as e:
        cases.follow_up_record(agreement=a, actor=mediator, performance="full")
    assert e.value.code == "not_effective"
    with pytest.raises(TransitionNotAllowed) as e:
        cases.confirmation_apply(
            agreement=a, actor=mediator, applied_at=D(2026, 3, 12), court="法院"
        )
    assert e.value.code == "not_effective"
    with pytest.raises(TransitionNotAllowed) as e:
        cases.agreement_sign(agreement=a, actor=mediator, party_name="李乙")
    assert e.value.code == "signed"
    with pytest.raises(TransitionNotAllowed) as e:
        cases.agreement_seal(agreement=a, actor=mediator)
    assert e.value.code == "sealed"
    with pytest.raises(ValidationError) as e:
        cases.agreement_sign(agreement=a, actor=mediator, party_name="路人丁")
    assert e.value.message_dict == {"party_name": ["签名人不是本案当事人。"]}
    # The last signature after the seal: effective at the signature.
    a = cases.agreement_sign(
        agreement=a, actor=mediator, party_name="张丙", now=bj(2026, 3, 12, 15)
    )
    assert a.effective_at == bj(2026, 3, 12, 15)
    d.refresh_from_db()
    assert (d.status, d.closed_at) == ("resolved", bj(2026, 3, 12, 15))
    c.refresh_from_db()
    assert [e.action for e in c.events.all()] == [
        "open",
        "agree",
        "sign",
        "sign",
        "seal",
        "sign",
        "effective",
    ]


def test_written_agreement_signed_by_all_waits_for_the_seal(open_case, mediator):
    c = open_case()
    a = _agree(c, mediator)
    a = cases.agreement_sign(
        agreement=a, actor=mediator, party_name="李乙", now=bj(2026, 3, 10, 11)
    )
    a = cases.agreement_sign(
        agreement=a, actor=mediator, party_name="王甲", now=bj(2026, 3, 10, 12)
    )
    assert (a.signed_by, a.effective_at) == (["李乙", "王甲"], None)
    a = cases.agreement_seal(agreement=a, actor=mediator, now=bj(2026, 3, 13, 9))
    assert a.effective_at == bj(2026, 3, 13, 9)  # the seal came last


def test_sign_and_seal_not_before_the_agreement(open_case, mediator):
    a = _agree(open_case(), mediator, reached_at=bj(2026, 3, 10, 10))
    with pytest.raises(ValidationError) as e:
        cases.agreement_sign(agreement=a, actor=mediator, party_name="王甲", now=bj(2026, 3, 10, 9))
    assert e.value.message_dict == {"now": ["签名、盖章时间不能早于协议达成时间。"]}


def test_agreement_checks_its_input(open_case, mediator):
    c = open_case()
    with pytest.raises(ValidationError) as e:
        cases.mediation_agree(
            case=c,
            actor=mediator,
            form="telepathic",
            facts="",
            terms=" ",
            performance_manner="",
            performance_deadline=D(2026, 3, 1),
            reached_at=bj(2026, 3, 10, 10),
        )
    assert e.value.message_dict == {
        "form": ["请选择协议形式（书面或口头）。"],
        "facts": ["请填写纠纷主要事实与争议事项。"],
        "terms": ["请填写协议内容。"],
        "performance_manner": ["请填写履行方式。"],
        "performance_deadline": ["履行期限不能早于协议达成日期。"],
    }
    with pytest.raises(ValidationError) as e:
        _agree(c, mediator, reached_at=bj(2026, 3, 1, 10))
    assert e.value.message_dict == {"reached_at": ["达成时间不能早于受理日期。"]}
    assert not Agreement.objects.exists()


# --- Follow-ups ----------------------------------------------------------------------------------


def test_follow_ups_only_for_an_effective_agreement(open_case, mediator, worker):
    a = _agree(open_case(), mediator, form="oral", reached_at=bj(2026, 3, 10, 10))
    f = cases.follow_up_record(
        agreement=a,
        actor=worker,
        performance="partial",
        notes="已付1000元",
        visited_at=bj(2026, 3, 20, 10),
    )
    assert (f.performance, f.visitor, f.agreement, f.visited_at) == (
        "partial",
        worker,
        a,
        bj(2026, 3, 20, 10),
    )
    cases.follow_up_record(agreement=a, actor=worker, performance="full")
    assert list(a.follow_ups.values_list("performance", flat=True)) == ["partial", "full"]
    event = MediationEvent.objects.filter(action="follow_up").first()
    assert (event.at, event.payload) == (
        bj(2026, 3, 20, 10),
        {"follow_up": f.pk, "performance": "partial"},
    )
    with pytest.raises(ValidationError) as e:
        cases.follow_up_record(
            agreement=a, actor=worker, performance="full", visited_at=bj(2026, 3, 9, 10)
        )
    assert e.value.message_dict == {"visited_at": ["回访时间不能早于协议生效时间。"]}
    with pytest.raises(ValidationError) as e:
        cases.follow_up_record(agreement=a, actor=worker, performance="mostly")
    assert e.value.message_dict == {"performance": ["请选择履行情况。"]}
    assert FollowUpVisit.objects.count() == 2


def test_follow_up_on_a_written_agreement_not_yet_effective_is_refused(open_case, mediator):
    a = _agree(open_case(), mediator)
    with pytest.raises(TransitionNotAllowed) as e:
        cases.follow_up_record(agreement=a, actor=mediator, performance="full")
    assert e.value.messages == ["调解协议尚未生效。"]
    assert not FollowUpVisit.objects.exists()
    assert not MediationEvent.objects.filter(action="follow_up").exists()


# --- Judicial confirmation: 30 days from the agreement taking effect ---------------------------------


@pytest.mark.parametrize(
    ("applied_at", "ok"),
    [(D(2026, 3, 10), True), (D(2026, 4, 9), True), (D(2026, 4, 10), False)],
)
def test_confirmation_window_for_an_oral_agreement(applied_at, ok, open_case, mediator):
    a = _agree(open_case(), mediator, form="oral", reached_at=bj(2026, 3, 10, 10))
    assert cases.confirmation_due(a) == D(2026, 4, 9)  # day 30
    if not ok:
        with pytest.raises(TransitionNotAllowed) as e:
            cases.confirmation_apply(
                agreement=a, actor=mediator, applied_at=applied_at, court="沙河口区人民法院"
            )
        assert e.value.code == "window_closed"
        assert e.value.messages == [
            "司法确认应自调解协议生效之日起三十日内申请，期限已于2026-04-09届满。"
        ]
        assert not JudicialConfirmation.objects.exists()
        return
    j = cases.confirmation_apply(
        agreement=a, actor=mediator, applied_at=applied_at, court="沙河口区人民法院"
    )
    assert (j.applied_at, j.court, j.decision, j.agreement) == (
        applied_at,
        "沙河口区人民法院",
        "pending",
        a,
    )


def test_confirmation_window_counts_beijing_days_for_a_written_agreement(open_case, mediator):
    c = open_case()
    a = _agree(c, mediator, reached_at=bj(2026, 3, 10, 10))
    cases.agreement_sign(agreement=a, actor=mediator, party_name="王甲", now=bj(2026, 3, 10, 11))
    cases.agreement_sign(agreement=a, actor=mediator, party_name="李乙", now=bj(2026, 3, 10, 12))
    # Sealed at 00:30 Beijing time on 11 March (still 10 March in UTC).
    a = cases.agreement_seal(agreement=a, actor=mediator, now=bj(2026, 3, 11, 0, 30))
    assert a.effective_at == bj(2026, 3, 11, 0, 30)
    assert cases.confirmation_due(a) == D(2026, 4, 10)
    with pytest.raises(TransitionNotAllowed):
        cases.confirmation_apply(
            agreement=a, actor=mediator, applied_at=D(2026, 4, 11), court="法院"
        )
    with pytest.raises(ValidationError) as e:  # before the agreement took effect
        cases.confirmation_apply(
            agreement=a, actor=mediator, applied_at=D(2026, 3, 10), court="法院"
        )
    assert e.value.message_dict == {"applied_at": ["申请日期不能早于协议生效日期。"]}
    j = cases.confirmation_apply(
        agreement=a, actor=mediator, applied_at=D(2026, 4, 10), court="沙河口区人民法院"
    )
    with pytest.raises(TransitionNotAllowed) as e:  # once per agreement
        cases.confirmation_apply(
            agreement=a, actor=mediator, applied_at=D(2026, 4, 1), court="法院"
        )
    assert e.value.code == "once"
    with pytest.raises(ValidationError) as e:
        cases.confirmation_decide(
            confirmation=j, actor=mediator, decision="confirmed", decided_at=D(2026, 4, 9)
        )
    assert e.value.message_dict == {"decided_at": ["裁定日期不能早于申请日期。"]}
    with pytest.raises(ValidationError) as e:
        cases.confirmation_decide(
            confirmation=j, actor=mediator, decision="pending", decided_at=D(2026, 4, 20)
        )
    assert e.value.message_dict == {"decision": ["请选择确认有效或不予确认。"]}
    j = cases.confirmation_decide(
        confirmation=j, actor=mediator, decision="confirmed", decided_at=D(2026, 4, 20)
    )
    assert (j.decision, j.decided_at) == ("confirmed", D(2026, 4, 20))
    with pytest.raises(TransitionNotAllowed) as e:
        cases.confirmation_decide(
            confirmation=j, actor=mediator, decision="rejected", decided_at=D(2026, 4, 21)
        )
    assert e.value.code == "decided"
    assert [e.action for e in c.events.all()][-2:] == ["confirm_apply", "confirm_decide"]


# --- The one-month target ------------------------------------------------------------------------


def test_overdue_is_a_flag_not_a_block(open_case, mediator):
    c = open_case(accepted_at=bj(2026, 1, 31, 9))
    assert c.target_due == D(2026, 2, 28)
    assert cases.mediation_is_overdue(c, today=D(2026, 2, 28)) is False
    assert cases.mediation_is_overdue(c, today=D(2026, 3, 1)) is True
    assert cases.mediation_is_overdue(c) is True  # today (the clock) is long past
    cases.mediation_session_add(
        case=c, actor=mediator, held_at=bj(2026, 3, 2, 9), place="调解室", attendees="王甲、李乙"
    )
    _agree(MediationCase.objects.get(pk=c.pk), mediator, form="oral", reached_at=bj(2026, 3, 3, 9))
    c.refresh_from_db()
    assert (c.status, cases.mediation_is_overdue(c, today=D(2026, 3, 4))) == ("agreed", False)


def test_add_month():
    assert cases.add_month(D(2026, 3, 5)) == D(2026, 4, 5)
    assert cases.add_month(D(2026, 3, 31)) == D(2026, 4, 30)
    assert cases.add_month(D(2026, 12, 31)) == D(2027, 1, 31)
    assert cases.add_month(D(2028, 1, 30)) == D(2028, 2, 29)
    assert isinstance(cases.add_month(dt.date(2026, 1, 1)), dt.date)
