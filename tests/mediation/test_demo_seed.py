"""The mediation demo data: built through the services on the test hierarchy, covering every
category, risk level and status, the three mediation types, written and oral agreements,
follow-ups and judicial confirmations within 30 days; a rerun changes nothing."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mediation.models import (
    Agreement,
    Dispute,
    FollowUpVisit,
    JudicialConfirmation,
    MediationCase,
    ScreeningRound,
)
from mediation.services.demo import (
    DEMO_SUFFIX,
    mediation_demo_build,
    mediation_demo_clear,
    mediation_demo_exists,
)
from petitions import deadlines
from petitions.models import Organization

TODAY = dt.date(2026, 6, 30)
HORIZON = dt.datetime(2026, 6, 30, 17, 30, tzinfo=deadlines.TZ)
SMALL = {"seed": 11, "months": 4, "today": TODAY, "per_round": (4, 6)}


def _counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (
            ScreeningRound,
            Dispute,
            MediationCase,
            Agreement,
            FollowUpVisit,
            JudicialConfirmation,
        )
    }


@pytest.fixture
def built(hierarchy):
    return mediation_demo_build(**SMALL)


def test_every_category_risk_level_and_status(built):
    assert built["created"] is True
    assert set(built["disputes_by_category"]) == set(Dispute.Category.values)
    assert set(built["disputes_by_risk"]) == set(Dispute.Risk.values)
    assert set(built["disputes_by_status"]) == set(Dispute.Status.values)
    assert sum(built["disputes_by_status"].values()) == built["disputes"] == Dispute.objects.count()
    # 2 streets × 4 months; the running month's rounds stay open.
    assert built["rounds"] == 8
    assert built["rounds_open"] == 2
    assert set(
        ScreeningRound.objects.filter(status="open").values_list("period_start", flat=True)
    ) == {dt.date(2026, 6, 1)}
    assert all(r.name.endswith(DEMO_SUFFIX) for r in ScreeningRound.objects.all())


def test_disputes_lie_in_cells_of_the_active_generation(built, hierarchy):
    disputes = Dispute.objects.select_related("cell", "round", "recorded_by")
    assert disputes.filter(location__isnull=True).count() == 0
    for d in disputes:
        assert d.cell.generation_id == hierarchy["generation"].pk
        assert d.cell.geom.contains(d.location)
        assert d.area_code == d.cell.code
        assert d.cell.code.startswith(d.round.area_code)
        assert d.round.period_start <= deadlines.local_date(d.found_at) <= d.round.period_end
        assert d.found_at <= HORIZON
        assert d.recorded_by.username == f"gw_{d.round.area_code}"
        assert 1 <= len(d.party_names) <= d.party_count


def test_cases_of_all_types_with_realistic_outcomes(built):
    assert set(built["cases_by_type"]) == set(MediationCase.Type.values)
    statuses = built["cases_by_status"]
    assert {"agreed", "terminated", "refused"} <= set(statuses)
    assert statuses.get("accepted", 0) + statuses.get("in_progress", 0) >= 1  # still open
    assert set(built["agreements_by_form"]) == {"written", "oral"}
    committees = set(Organization.objects.filter(kind="committee").values_list("pk", flat=True))
    assert committees == {
        Organization.objects.get(name="测试1街道人民调解委员会").pk,
        Organization.objects.get(name="测试2街道人民调解委员会").pk,
    }
    for case in MediationCase.objects.prefetch_related("parties", "mediators"):
        assert case.committee_id in committees
        assert case.committee.area_code == case.area_code[:9]
        assert case.mediators.exists()
        assert {p.role for p in case.parties.all()} == {"applicant", "respondent"}
        assert case.dispute.status != "found"
        assert case.accepted_at >= case.dispute.found_at
    for case in MediationCase.objects.filter(status="terminated"):
        assert case.other_routes and case.termination_reason
    for case in MediationCase.objects.filter(status="refused"):
        assert case.refused_by in {p.name for p in case.parties.all()}


def test_agreements_follow_ups_and_confirmations(built):
    for a in Agreement.objects.filter(form="written", effective_at__isnull=False):
        assert sorted(a.signed_by) == sorted(p.name for p in a.case.parties.all())
        assert a.sealed_at is not None and a.effective_at >= a.reached_at
    for a in Agreement.objects.filter(form="oral"):
        assert a.effective_at == a.reached_at
    assert (
        Dispute.objects.filter(mediation_cases__agreement__effective_at__isnull=False)
        .exclude(status="resolved")
        .count()
        == 0
    )

    visits = FollowUpVisit.objects.select_related("agreement")
    assert visits.count() == built["follow_ups"] >= 1
    assert "full" in built["follow_ups_by_performance"]
    for visit in visits:
        assert visit.agreement.effective_at <= visit.visited_at <= HORIZON

    confirmations = JudicialConfirmation.objects.select_related("agreement")
    assert confirmations.count() == built["confirmations"] >= 1
    for c in confirmations:
        effective = deadlines.local_date(c.agreement.effective_at)
        assert 0 <= (c.applied_at - effective).days <= 30
        assert c.applied_at <= TODAY
        if c.decided_at is not None:
            assert c.applied_at <= c.decided_at <= TODAY
    assert built["confirmations_max_days"] <= 30


def test_a_rerun_changes_nothing_and_clear_rebuilds_the_same(built):
    before = _counts()
    again = mediation_demo_build(**SMALL)

    assert again["created"] is False
    assert _counts() == before

    assert mediation_demo_clear() > 0
    assert not mediation_demo_exists()
    assert set(_counts().values()) == {0}
    rebuilt = mediation_demo_build(**SMALL)
    assert rebuilt["created"] is True
    assert _counts() == before
    drop = {"seconds", "created", "petition_disputes", "petition_skipped"}
    assert {k: v for k, v in rebuilt.items() if k not in drop} == {
        k: v for k, v in built.items() if k not in drop
    }


def test_open_petitions_about_neighbours_or_property_become_disputes(hierarchy, register):
    petition = register().petition  # 物业服务 (0501), received 2026-03-02, registered
    summary = mediation_demo_build(**SMALL)

    assert summary["petition_disputes"] == 1
    dispute = Dispute.objects.get(source="petition")
    assert dispute.petition == petition
    assert dispute.category == "property_mgmt"
    case = dispute.mediation_cases.get()
    assert case.petition == petition
    assert case.source == "petition_office"
    assert case.agreement.form == "oral"
    notes = petition.events.filter(action="note").values_list("payload__text", flat=True)
    assert len(notes) == 3  # dispute registered, mediation opened, agreement in force

    mediation_demo_clear()
    assert not Dispute.objects.filter(petition=petition).exists()


def test_command_prints_a_summary_and_is_idempotent(hierarchy):
    out = StringIO()
    call_command("mediation_demo", months=2, today=TODAY, stdout=out)
    text = out.getvalue()
    assert "已生成演示排查轮次 4 个（进行中 2 个）" in text
    assert "矛盾纠纷按状态：" in text and "调解案件按类型：" in text

    out = StringIO()
    call_command("mediation_demo", months=2, today=TODAY, stdout=out)
    assert out.getvalue().strip() == "已有演示调解数据，不重复生成（加 --rebuild 重建）。"
    with pytest.raises(CommandError, match="当前生效的不是演示网格版本"):
        call_command("mediation_demo", months=2, today=TODAY, rebuild=True, stdout=StringIO())
