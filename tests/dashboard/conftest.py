"""A hand-built dataset where every SPEC §5 figure for March 2026 has a value computed by hand.

Built with the real services (petitions intake + workflow, visits, dispute screening, mediation
cases), then every write timestamp (`recorded_at`, `created_at`) is set to the business time so
that "as of" a date means what it would have meant had everything been entered on time.

Areas (tests/factories.build_hierarchy; every cell 800 residents):

    district 210204
      street A 210204001: community A1 …001001 (cells A1a …001001001, A1b …001001002)
                          community A2 …001002 (cells A2a …001002001, A2b …001002002)
      street B 210204002: community B1 …002001 (cells B1a, B1b), community B2 …002002 (B2a, B2b)

Petitions (cell; received; steps) — "SA" = attached to street A only (no location):
  p1  A1a  03-02  accept 03-05, reply 03-20, close 03-21, evaluate 03-22 满意
  p2  A1a  03-03  accept 03-25 (late); repeats r1 03-15, r2 03-28
  p3  A1a  03-20  assign 03-22, objection 03-24 upheld 03-25, accept again 04-02
  p4  A1b  03-01  reject 03-10
  p5  A2a  03-10  not routed; repeat r4 04-03
  p6  B1a  03-05  forward 03-20 23:30 (on the due date), reply 04-10, close 04-12, evaluate 04-13
  p7  B1a  03-05  accept 03-21 00:30 (a day late in Beijing, same UTC date); repeat r3 03-29
  p8  SA   03-12  accept 03-13, reply 03-25, close 03-26, evaluate 03-27 不满意, review 04-05
  p9  B2a  03-31 23:30, accept 03-31 23:50
  p10 B2a  04-01 00:30 (April in Beijing, 31 March in UTC)
  p11 A1a  02-10  accept 02-12, reply 02-28, close 03-02, evaluate 03-03 基本满意
  p12 A1a  2025-03-05  accept 2025-03-06, reply 2025-03-20, close 2025-04-02
  p13 A1b  02-20  accept 02-25, reply 03-15, close 03-16, evaluate 03-17 不满意
  p14 A2a  2025-12-20  accept 12-22 (due 02-20), extend 10 d (due 03-02), reply 03-03, close 03-04
  p15 A2b  2025-12-20  accept 12-22, extend 30 d (due 03-22), reply 03-18, close 03-19,
           evaluate 03-20 满意
  p16 B1b  2025-10-08  accept 10-10 (due 12-09), reply 11-20, review 12-01/12-25,
           re-review 2026-01-10, re-review answer 03-05 (closes)
Visits: v1 SA 03-03 ×1; v2 SA 03-10 ×7; v3 A1 (community office) 03-12 ×5; v4 SB 03-31 23:00 ×2;
        v5 SB 04-01 00:10 ×3
Disputes: d1 A1a found 02-10 resolved 03-05; d2 A1a 02-15 stabilised 02-20; d3 A1a 03-08 open;
          d4 A1b 01-05 resolved 01-20; d5 A1b 03-12 resolved 03-20 reopened 03-25;
          d6 B1a 03-15 diverted 03-18; d7 B1a 02-01 failed 02-10 resolved 04-02;
          d8 B2a 04-01 00:30; d9 SA 03-20 stabilised 03-25; d10 A2a 03-31 23:00 resolved 23:30
Mediation: m1 A1a open 03-01 oral agreement 03-10, follow-ups 03-20 full, 03-28 none;
           m2 A1a open 03-02 terminated 03-15; m3 B1a open 02-20 refused 03-03;
           m4 B1a open 03-05 written agreement 03-20 (signed, sealed 03-21), follow-ups 03-30
              partial, 04-05 full;
           m5 A2a open 03-20 agreed 04-02; m6 A1b open 02-01 agreed 02-10, follow-ups 03-05
              partial, 03-25 full
"""

from types import SimpleNamespace

import pytest
from django.db.models import F

from grid.models import Generation
from mediation.models import Agreement, Dispute, DisputeEvent, MediationCase, MediationEvent
from mediation.services import cases as med
from mediation.services import screening
from petitions.models import Organization, Petition, PetitionEvent, RepeatSubmission, Visit
from petitions.services import workflow as wf
from petitions.services.intake import petition_link_repeat
from petitions.services.visits import visit_record
from tests.factories import UserFactory
from tests.petitions.conftest import (  # noqa: F401 — fixtures used by the dataset
    bj,
    category,
    clerk,
    office,
    register,
    unit,
)

D = "210204"
A, B = "210204001", "210204002"
A1, A2, B1, B2 = A + "001", A + "002", B + "001", B + "002"
A1a, A1b, A2a, A2b = A1 + "001", A1 + "002", A2 + "001", A2 + "002"
B1a, B1b, B2a, B2b = B1 + "001", B1 + "002", B2 + "001", B2 + "002"


@pytest.fixture(autouse=True)
def _empty_report_cache():
    # The report and map caches are keyed by the data version (the highest ids), and ids restart
    # after a rolled-back test on SQLite: never let one test's cache serve another.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def normalise_write_times() -> None:
    """Pretend every record was written when it happened (as-of reports read write times)."""
    PetitionEvent.objects.update(recorded_at=F("at"))
    Petition.objects.update(created_at=F("received_at"))
    RepeatSubmission.objects.update(created_at=F("received_at"))
    DisputeEvent.objects.update(recorded_at=F("at"))
    Dispute.objects.update(created_at=F("found_at"))
    MediationEvent.objects.update(recorded_at=F("at"))
    MediationCase.objects.update(created_at=F("accepted_at"))
    Visit.objects.update(created_at=F("received_at"))


@pytest.fixture
def dataset(hierarchy, register, clerk, office, unit):  # noqa: F811
    # Boundaries in force since 2020, so that intake places 2025–26 submissions in their cells.
    Generation.objects.filter(pk=hierarchy["generation"].pk).update(activated_at=bj(2020, 1, 1))
    cells = hierarchy["cells"]
    approver = UserFactory(username="approver")

    def at(code):
        c = cells[code].geom.centroid
        return (c.x, c.y)

    def reg(code, when):
        kw = {"received_at": when}
        if code:
            kw["location"] = at(code)
        return register(**kw).petition

    def fresh(p):
        return Petition.objects.get(pk=p.pk)

    def route(p, decision, when, **kw):
        if decision in ("forward", "assign"):
            kw["unit"] = unit
        if decision == "reject":
            kw["reason"] = "已进入诉讼程序"
        return wf.petition_route(petition=fresh(p), actor=clerk, decision=decision, now=when, **kw)

    def reply(p, when):
        return wf.petition_reply(
            petition=fresh(p), actor=clerk, outcome="explain", text="答复", now=when
        )

    def close(p, when):
        return wf.petition_close(petition=fresh(p), actor=clerk, now=when)

    def evaluate(p, value, when):
        return wf.petition_evaluate(petition=fresh(p), evaluation=value, now=when)

    p = {}
    p[1] = reg(A1a, bj(2026, 3, 2, 10))
    route(p[1], "accept", bj(2026, 3, 5, 9))
    reply(p[1], bj(2026, 3, 20, 9))
    close(p[1], bj(2026, 3, 21, 9))
    evaluate(p[1], "satisfied", bj(2026, 3, 22, 9))

    p[2] = reg(A1a, bj(2026, 3, 3, 10))
    r1 = petition_link_repeat(
        petition=fresh(p[2]), actor=clerk, channel="visit", received_at=bj(2026, 3, 15, 9)
    )
    route(p[2], "accept", bj(2026, 3, 25, 9))
    r2 = petition_link_repeat(
        petition=fresh(p[2]), actor=clerk, channel="letter", received_at=bj(2026, 3, 28, 9)
    )

    p[3] = reg(A1a, bj(2026, 3, 20, 10))
    route(p[3], "assign", bj(2026, 3, 22, 9))
    wf.petition_object(
        petition=fresh(p[3]), actor=clerk, reason="不属本单位职责", now=bj(2026, 3, 24, 9)
    )
    wf.petition_objection_resolve(
        petition=fresh(p[3]), actor=clerk, uphold=True, now=bj(2026, 3, 25, 9)
    )
    route(p[3], "accept", bj(2026, 4, 2, 9))

    p[4] = reg(A1b, bj(2026, 3, 1, 10))
    route(p[4], "reject", bj(2026, 3, 10, 9))

    p[5] = reg(A2a, bj(2026, 3, 10, 10))
    r4 = petition_link_repeat(
        petition=fresh(p[5]), actor=clerk, channel="phone", received_at=bj(2026, 4, 3, 9)
    )

    p[6] = reg(B1a, bj(2026, 3, 5, 10))
    route(p[6], "forward", bj(2026, 3, 20, 23, 30))
    reply(p[6], bj(2026, 4, 10, 9))
    close(p[6], bj(2026, 4, 12, 9))
    evaluate(p[6], "satisfied", bj(2026, 4, 13, 9))

    p[7] = reg(B1a, bj(2026, 3, 5, 11))
    route(p[7], "accept", bj(2026, 3, 21, 0, 30))
    r3 = petition_link_repeat(
        petition=fresh(p[7]), actor=clerk, channel="visit", received_at=bj(2026, 3, 29, 9)
    )

    p[8] = reg(None, bj(2026, 3, 12, 10))
    route(p[8], "accept", bj(2026, 3, 13, 9))
    reply(p[8], bj(2026, 3, 25, 9))
    close(p[8], bj(2026, 3, 26, 9))
    evaluate(p[8], "unsatisfied", bj(2026, 3, 27, 9))
    wf.petition_review_request(petition=fresh(p[8]), actor=clerk, now=bj(2026, 4, 5, 9))

    p[9] = reg(B2a, bj(2026, 3, 31, 23, 30))
    route(p[9], "accept", bj(2026, 3, 31, 23, 50))

    p[10] = reg(B2a, bj(2026, 4, 1, 0, 30))

    p[11] = reg(A1a, bj(2026, 2, 10, 10))
    route(p[11], "accept", bj(2026, 2, 12, 9))
    reply(p[11], bj(2026, 2, 28, 9))
    close(p[11], bj(2026, 3, 2, 9))
    evaluate(p[11], "basic", bj(2026, 3, 3, 9))

    p[12] = reg(A1a, bj(2025, 3, 5, 10))
    route(p[12], "accept", bj(2025, 3, 6, 9))
    reply(p[12], bj(2025, 3, 20, 9))
    close(p[12], bj(2025, 4, 2, 9))

    p[13] = reg(A1b, bj(2026, 2, 20, 10))
    route(p[13], "accept", bj(2026, 2, 25, 9))
    reply(p[13], bj(2026, 3, 15, 9))
    close(p[13], bj(2026, 3, 16, 9))
    evaluate(p[13], "unsatisfied", bj(2026, 3, 17, 9))

    p[14] = reg(A2a, bj(2025, 12, 20, 10))
    route(p[14], "accept", bj(2025, 12, 22, 9))
    wf.petition_extend(
        petition=fresh(p[14]),
        actor=clerk,
        days=10,
        reason="案情复杂",
        approver=approver,
        now=bj(2026, 2, 10, 9),
    )
    reply(p[14], bj(2026, 3, 3, 9))
    close(p[14], bj(2026, 3, 4, 9))

    p[15] = reg(A2b, bj(2025, 12, 20, 11))
    route(p[15], "accept", bj(2025, 12, 22, 9))
    wf.petition_extend(
        petition=fresh(p[15]),
        actor=clerk,
        days=30,
        reason="需要现场核查",
        approver=approver,
        now=bj(2026, 2, 15, 9),
    )
    reply(p[15], bj(2026, 3, 18, 9))
    close(p[15], bj(2026, 3, 19, 9))
    evaluate(p[15], "satisfied", bj(2026, 3, 20, 9))

    p[16] = reg(B1b, bj(2025, 10, 8, 10))
    route(p[16], "accept", bj(2025, 10, 10, 9))
    reply(p[16], bj(2025, 11, 20, 9))
    wf.petition_review_request(petition=fresh(p[16]), actor=clerk, now=bj(2025, 12, 1, 9))
    wf.petition_review_answer(
        petition=fresh(p[16]),
        actor=clerk,
        outcome="explain",
        text="复查意见",
        now=bj(2025, 12, 25, 9),
    )
    wf.petition_rereview_request(petition=fresh(p[16]), actor=clerk, now=bj(2026, 1, 10, 9))
    wf.petition_rereview_answer(
        petition=fresh(p[16]),
        actor=clerk,
        outcome="explain",
        text="复核意见",
        now=bj(2026, 3, 5, 9),
    )

    # --- visits ---------------------------------------------------------------------------
    community_a1 = Organization.objects.create(
        name="测试1北社区居委会", kind="community", area_code=A1
    )
    office_b = Organization.objects.create(
        name="测试2街道办事处", kind="street_office", area_code=B
    )

    def visit(org, when, headcount, reps=()):
        return visit_record(
            actor=clerk, organization=org, received_at=when, headcount=headcount,
            representatives=list(reps), answered_on_spot=False,
        )  # fmt: skip

    v = {
        1: visit(office, bj(2026, 3, 3, 9), 1),
        2: visit(office, bj(2026, 3, 10, 9), 7, ["甲", "乙"]),
        3: visit(community_a1, bj(2026, 3, 12, 9), 5),
        4: visit(office_b, bj(2026, 3, 31, 23), 2),
        5: visit(office_b, bj(2026, 4, 1, 0, 10), 3),
    }

    # --- disputes -------------------------------------------------------------------------
    def dispute(code, when, area_code=""):
        return screening.dispute_record(
            actor=clerk, category="neighbour", party_count=2, party_names=["甲", "乙"],
            description="邻里纠纷", risk_level="general", found_at=when,
            location=at(code) if code else None, area_code=area_code,
        )  # fmt: skip

    def settle(d, outcome, when, **kw):
        return screening.dispute_close(dispute=d, actor=clerk, outcome=outcome, now=when, **kw)

    d = {}
    d[1] = dispute(A1a, bj(2026, 2, 10, 9))
    settle(d[1], "resolve", bj(2026, 3, 5, 9))
    d[2] = dispute(A1a, bj(2026, 2, 15, 9))
    settle(d[2], "stabilise", bj(2026, 2, 20, 9))
    d[3] = dispute(A1a, bj(2026, 3, 8, 9))
    d[4] = dispute(A1b, bj(2026, 1, 5, 9))
    settle(d[4], "resolve", bj(2026, 1, 20, 9))
    d[5] = dispute(A1b, bj(2026, 3, 12, 9))
    settle(d[5], "resolve", bj(2026, 3, 20, 9))
    screening.dispute_reopen(dispute=d[5], actor=clerk, reason="再次发生", now=bj(2026, 3, 25, 9))
    d[6] = dispute(B1a, bj(2026, 3, 15, 9))
    settle(d[6], "divert", bj(2026, 3, 18, 9), diverted_to="litigation")
    d[7] = dispute(B1a, bj(2026, 2, 1, 9))
    settle(d[7], "fail", bj(2026, 2, 10, 9))
    settle(d[7], "resolve", bj(2026, 4, 2, 9))
    d[8] = dispute(B2a, bj(2026, 4, 1, 0, 30))
    d[9] = dispute(None, bj(2026, 3, 20, 9), area_code=A)
    settle(d[9], "stabilise", bj(2026, 3, 25, 9))
    d[10] = dispute(A2a, bj(2026, 3, 31, 23))
    settle(d[10], "resolve", bj(2026, 3, 31, 23, 30))

    # --- mediation ------------------------------------------------------------------------
    committees = {
        code: Organization.objects.create(name=f"{code}调解小组", kind="committee", area_code=code)
        for code in (A1a, A1b, A2a, B1a)
    }
    parties = [{"role": "applicant", "name": "甲"}, {"role": "respondent", "name": "乙"}]

    def case(code, when):
        return med.mediation_open(
            actor=clerk, type="people", source="application", committee=committees[code],
            summary="邻里纠纷调解", parties=parties, accepted_at=when,
        )  # fmt: skip

    def agree(c, form, when):
        return med.mediation_agree(
            case=c, actor=clerk, form=form, facts="事实", terms="条款",
            performance_manner="当场履行", reached_at=when,
        )  # fmt: skip

    def follow(a, performance, when):
        a = Agreement.objects.get(pk=a.pk)
        return med.follow_up_record(
            agreement=a, actor=clerk, performance=performance, visited_at=when
        )

    m = {}
    m[1] = case(A1a, bj(2026, 3, 1, 9))
    a1 = agree(m[1], "oral", bj(2026, 3, 10, 9))
    follow(a1, "full", bj(2026, 3, 20, 9))
    follow(a1, "none", bj(2026, 3, 28, 9))
    m[2] = case(A1a, bj(2026, 3, 2, 9))
    med.mediation_terminate(
        case=m[2],
        actor=clerk,
        reason="双方分歧过大",
        other_routes=["litigation"],
        now=bj(2026, 3, 15, 9),
    )
    m[3] = case(B1a, bj(2026, 2, 20, 9))
    med.mediation_refuse(case=m[3], actor=clerk, party_name="乙", now=bj(2026, 3, 3, 9))
    m[4] = case(B1a, bj(2026, 3, 5, 9))
    a4 = agree(m[4], "written", bj(2026, 3, 20, 9))
    med.agreement_sign(agreement=a4, actor=clerk, party_name="甲", now=bj(2026, 3, 20, 10))
    med.agreement_sign(agreement=a4, actor=clerk, party_name="乙", now=bj(2026, 3, 21, 9))
    a4 = med.agreement_seal(agreement=a4, actor=clerk, now=bj(2026, 3, 21, 10))
    follow(a4, "partial", bj(2026, 3, 30, 9))
    follow(a4, "full", bj(2026, 4, 5, 9))
    m[5] = case(A2a, bj(2026, 3, 20, 9))
    agree(m[5], "oral", bj(2026, 4, 2, 9))
    m[6] = case(A1b, bj(2026, 2, 1, 9))
    a6 = agree(m[6], "oral", bj(2026, 2, 10, 9))
    follow(a6, "partial", bj(2026, 3, 5, 9))
    follow(a6, "full", bj(2026, 3, 25, 9))

    normalise_write_times()
    return SimpleNamespace(
        h=hierarchy,
        p={k: Petition.objects.get(pk=x.pk) for k, x in p.items()},
        r={1: r1, 2: r2, 3: r3, 4: r4},
        v=v,
        d=d,
        m=m,
        agreements={1: a1, 4: a4, 6: a6},
        clerk=clerk,
        unit=unit,
    )


# An instant after everything above was written (and before the real clock of any test run).
AFTER_ALL = bj(2026, 6, 1, 0, 0)
# When the monthly task freezes March: 01:00 Beijing time on 1 April.
FREEZE = bj(2026, 4, 1, 1, 0)
