"""The data the permission matrix runs against, built once per test module.

Two streets of the test district (tests/factories.build_hierarchy): street 001 holds the IN-scope
object of every kind, street 002 the OUT-of-scope one. Each role of SPEC §6 has one user whose
grants reach street 001 only (the bureau and the admin reach both):

  street_clerk    STREET_CLERK 210204001          community_staff  COMMUNITY_STAFF 210204001001
  grid_worker     GRID_WORKER 210204001001 + the cell 210204001001001
  mediator        MEDIATOR of committee A (210204001001)
  handling_unit   HANDLING_UNIT of unit A (the in-scope petition is assigned to unit A)
  leader          LEADER 210204001                bureau  BUREAU 210204     admin  superuser + ADMIN

Every object is written through the services the pages use, with fixed, distinctive texts
(MARK_IN / MARK_OUT) that the list, GeoJSON and export checks look for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Grant, Role

BJ = ZoneInfo("Asia/Shanghai")
VALID_ID = "11010519491231002X"
CELL_IN = "210204001001001"
CELL_OUT = "210204002001001"
POINT_IN = (121.555, 38.915)  # inside CELL_IN
POINT_OUT = (121.575, 38.915)  # inside CELL_OUT
MARK_IN = "甲街道权限矩阵事项"
MARK_OUT = "乙街道权限矩阵事项"
ROLES = [
    "anonymous",
    "admin",
    "bureau",
    "street_clerk",
    "community_staff",
    "grid_worker",
    "mediator",
    "handling_unit",
    "leader",
]


def bj(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BJ)


def ago(days: float) -> dt.datetime:
    """A moment `days` before now: the cases are recent, so no statutory deadline has passed."""
    from django.utils import timezone

    return timezone.now() - dt.timedelta(days=days)


@dataclass
class World:
    users: dict = field(default_factory=dict)
    orgs: dict = field(default_factory=dict)
    # kind → {"in": obj, "out": obj}
    objects: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    sessions: dict = field(default_factory=dict)  # role → session key (tests/permissions/conftest)

    def obj(self, kind: str, scope: str):
        return self.objects[kind][scope]

    def pair(self, kind: str, inside, outside) -> None:
        self.objects[kind] = {"in": inside, "out": outside}


def _user(username: str, **extra):
    # No password: the matrix signs in with force_login (a PBKDF2 hash per user costs ~0.3 s).
    user = get_user_model().objects.create(username=username, **extra)
    return user


def build_world() -> World:
    from grid.models import GridAssignment
    from grid.services.generations import generation_activate
    from petitions.models import Organization
    from tests.factories import build_hierarchy

    w = World()
    h = build_hierarchy()
    generation_activate(generation=h["generation"], at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    w.objects["hierarchy"] = h
    org = Organization.objects.create
    kinds = Organization.Kind
    w.orgs = {
        "bureau": org(name="区信访局", kind=kinds.BUREAU, area_code="210204"),
        "office_in": org(name="测试1街道办事处", kind=kinds.STREET_OFFICE, area_code="210204001"),
        "office_out": org(name="测试2街道办事处", kind=kinds.STREET_OFFICE, area_code="210204002"),
        "community_in": org(
            name="测试1街道北社区居委会", kind=kinds.COMMUNITY, area_code="210204001001"
        ),
        "unit_in": org(name="区城建局", kind=kinds.HANDLING_UNIT),
        "unit_out": org(name="区水务局", kind=kinds.HANDLING_UNIT),
        "committee_in": org(
            name="测试1街道北社区人民调解委员会", kind=kinds.COMMITTEE, area_code="210204001001"
        ),
        "committee_out": org(
            name="测试2街道北社区人民调解委员会", kind=kinds.COMMITTEE, area_code="210204002001"
        ),
    }
    u = w.users
    u["admin"] = _user("m_admin", is_staff=True, is_superuser=True)
    Grant.objects.create(user=u["admin"], role=Role.ADMIN)
    for role, area in (
        ("bureau", "210204"),
        ("street_clerk", "210204001"),
        ("community_staff", "210204001001"),
        ("grid_worker", "210204001001"),
        ("leader", "210204001"),
    ):
        u[role] = _user(f"m_{role}", is_staff=role == "bureau")
        Grant.objects.create(user=u[role], role=role, area_code=area)
    GridAssignment.objects.create(user=u["grid_worker"], cell=h["cells"][CELL_IN], is_lead=True)
    u["mediator"] = _user("m_mediator")
    Grant.objects.create(
        user=u["mediator"], role=Role.MEDIATOR, organization=w.orgs["committee_in"]
    )
    u["handling_unit"] = _user("m_handling_unit")
    Grant.objects.create(
        user=u["handling_unit"], role=Role.HANDLING_UNIT, organization=w.orgs["unit_in"]
    )
    # The out-of-scope side's own staff (they create street 002's records).
    u["clerk_out"] = _user("m_clerk_out")
    Grant.objects.create(user=u["clerk_out"], role=Role.STREET_CLERK, area_code="210204002")
    u["worker_out"] = _user("m_worker_out")
    Grant.objects.create(user=u["worker_out"], role=Role.GRID_WORKER, area_code="210204002001")
    GridAssignment.objects.create(user=u["worker_out"], cell=h["cells"][CELL_OUT], is_lead=True)
    u["mediator_out"] = _user("m_mediator_out")
    Grant.objects.create(
        user=u["mediator_out"], role=Role.MEDIATOR, organization=w.orgs["committee_out"]
    )
    _petitions(w)
    _mediation(w)
    _others(w)
    return w


def _petitions(w: World) -> None:
    from petitions.models import Category
    from petitions.services import workflow as wf
    from petitions.services.intake import petition_register
    from petitions.services.visits import reception_day_create, visit_record

    category = Category.objects.get(code="0501")
    w.extra["category"] = category
    for scope, clerk, office, unit, point, mark in (
        ("in", "street_clerk", "office_in", "unit_in", POINT_IN, MARK_IN),
        ("out", "clerk_out", "office_out", "unit_out", POINT_OUT, MARK_OUT),
    ):
        actor = w.users[clerk]
        registered = petition_register(
            actor=actor,
            organization=w.orgs[office],
            channel="letter",
            case_type="appeal",
            category=category,
            summary=mark,
            received_at=ago(4),
            location=point,
            petitioners=[{"name": "张三", "id_number": VALID_ID, "phone": "13812345678"}],
        )
        p = registered.petition
        # A second case left at "registered", for the routing step.
        fresh = petition_register(
            actor=actor,
            organization=w.orgs[office],
            channel="visit",
            case_type="appeal",
            category=category,
            summary=f"{mark}（待受理）",
            received_at=ago(4),
            location=point,
            petitioners=[{"name": "李四", "id_number": VALID_ID, "phone": "13812345679"}],
        ).petition
        p = wf.petition_route(
            petition=p,
            actor=actor,
            decision="assign",
            unit=w.orgs[unit],
            now=ago(3),
        )
        p = wf.petition_notify(petition=p, actor=actor, now=ago(2))
        w.objects.setdefault("petition", {})[scope] = p
        w.objects.setdefault("petition_registered", {})[scope] = fresh
        w.objects.setdefault("document", {})[scope] = p.documents.order_by("pk").first()
        w.objects.setdefault("petitioner", {})[scope] = p.petitioners.get()
        day = reception_day_create(
            actor=actor,
            leader=w.users["leader"],
            # The local (Beijing) date, as the service compares it: UTC's is a day behind
            # from 16:00 UTC.
            date=timezone.localdate(ago(1)),
            place=f"{mark}接待室",
            organization=w.orgs[office],
            leader_title="街道主任",
        )
        visit = visit_record(
            actor=actor,
            organization=w.orgs[office],
            received_at=ago(1),
            headcount=3,
            representatives=["王五"],
            answered_on_spot=True,
            petitions=[p],
            reception_day=day,
            notes=mark,
        )
        w.objects.setdefault("reception_day", {})[scope] = day
        w.objects.setdefault("visit", {})[scope] = visit


PARTIES = [
    {"role": "applicant", "name": "王甲", "phone": "13800000001", "address": "中山路1号"},
    {"role": "respondent", "name": "李乙", "phone": "13800000002", "address": "中山路2号"},
]


def _mediation(w: World) -> None:
    from mediation.services import cases, screening

    for scope, worker, mediator, committee, point, area, mark in (
        ("in", "grid_worker", "mediator", "committee_in", POINT_IN, "210204001", MARK_IN),
        (
            "out",
            "worker_out",
            "mediator_out",
            "committee_out",
            POINT_OUT,
            "210204002",
            MARK_OUT,
        ),
    ):
        rnd = screening.round_open(
            actor=w.users["admin"],
            name=f"{mark}排查",
            period_start=timezone.localdate(ago(10)),
            period_end=timezone.localdate(ago(-20)),
            area_code=area,
            now=ago(10),
        )
        dispute = screening.dispute_record(
            actor=w.users[worker],
            category="neighbour",
            party_count=2,
            party_names=["王甲", "李乙"],
            description=mark,
            risk_level="general",
            location=point,
            round=rnd,
        )
        # A second dispute of the cell, with no case: the one update/close/mediate act on.
        free = screening.dispute_record(
            actor=w.users[worker],
            category="neighbour",
            party_count=2,
            party_names=["王丙", "李丁"],
            description=f"{mark}（待化解）",
            risk_level="general",
            location=point,
            round=rnd,
        )

        def open_case(summary, dispute=None, mediator=mediator, committee=committee):
            return cases.mediation_open(
                actor=w.users[mediator],
                type="people",
                source="application",
                committee=w.orgs[committee],
                summary=summary,
                parties=PARTIES,
                dispute=dispute,
                mediators=[w.users[mediator]],
                accepted_at=ago(3),
            )

        agreed = open_case(mark, dispute)
        cases.mediation_agree(
            case=agreed,
            actor=w.users[mediator],
            form="oral",
            facts="漏水",
            terms="甲方赔偿乙方2000元",
            performance_manner="一次性支付",
            reached_at=ago(2),
        )
        ended = open_case(f"{mark}（终止）")
        cases.mediation_terminate(
            case=ended,
            actor=w.users[mediator],
            reason="双方分歧过大",
            other_routes=["litigation"],
            now=ago(2),
        )
        active = open_case(f"{mark}（调解中）")
        w.objects.setdefault("round", {})[scope] = rnd
        w.objects.setdefault("dispute", {})[scope] = dispute
        w.objects.setdefault("dispute_free", {})[scope] = free
        w.objects.setdefault("case", {})[scope] = active
        w.objects.setdefault("case_agreed", {})[scope] = agreed
        w.objects.setdefault("case_ended", {})[scope] = ended


def _others(w: World) -> None:
    from dashboard.models import ReportSnapshot
    from grid.models import Generation
    from ledger.models import LedgerImport
    from notifications.models import Notification

    for scope, office, area in (
        ("in", "office_in", "210204001"),
        ("out", "office_out", "210204002"),
    ):
        w.objects.setdefault("ledger", {})[scope] = LedgerImport.objects.create(
            organization=w.orgs[office],
            original_name=f"{area}台账.csv",
            format=LedgerImport.Format.CSV,
            created_by=w.users["admin"],
        )
        w.objects.setdefault("snapshot", {})[scope] = ReportSnapshot.objects.create(
            period_start=dt.date(2026, 2, 1),
            period_end=dt.date(2026, 2, 28),
            area_code=area,
            area_name=area,
            generation=Generation.objects.get(status="active"),
            as_of=bj(2026, 3, 1),
            figures={},
        )
    # Each role's own notification (in) and somebody else's (out).
    notes = {}
    for role in ROLES[1:]:
        # About a record the recipient sees (notifications of records out of sight are hidden).
        target = w.obj("dispute", "in") if role == "mediator" else w.obj("petition", "in")
        mine = Notification.objects.create(
            recipient=w.users[role],
            verb=Notification.Verb.values[0],
            target_kind="dispute" if role == "mediator" else "petition",
            target_id=target.pk,
            target_url="/petitions/",
            reason="本人通知",
            text="本人通知",
        )
        notes[role] = mine
    other = Notification.objects.create(
        recipient=w.users["clerk_out"],
        verb=Notification.Verb.values[0],
        target_kind="petition",
        target_id=w.obj("petition", "out").pk,
        target_url="/petitions/",
        reason=MARK_OUT,
        text=MARK_OUT,
    )
    w.objects["notification"] = {"in": notes, "out": other}
