"""Fixtures for dispute and mediation tests: committees, mediators, a grid worker with cells, and
helpers that open rounds, record disputes and open cases (the petition fixtures are reused)."""

import datetime as dt

import pytest

from accounts.models import Grant, Role
from grid.models import GridAssignment
from mediation.services import cases, screening
from petitions.models import Organization
from tests.factories import UserFactory
from tests.petitions.conftest import *  # noqa: F403 — office, unit, clerk, register, bj, …
from tests.petitions.conftest import bj

D = dt.date
CELL = "210204001001001"  # x 121.55–121.56, y 38.91–38.92 (tests/factories.py lattice)
NEIGHBOUR_CELL = "210204001001002"  # same community, east of CELL
INSIDE = (121.555, 38.915)  # a WGS-84 point inside CELL
INSIDE_NEIGHBOUR = (121.565, 38.915)
PARTIES = [
    {"role": "applicant", "name": "王甲", "phone": "13800000001", "address": "中山路1号"},
    {"role": "respondent", "name": "李乙", "phone": "13800000002", "address": "中山路2号"},
]


@pytest.fixture
def committee(db):
    return Organization.objects.create(
        name="测试1街道北社区人民调解委员会",
        kind=Organization.Kind.COMMITTEE,
        area_code="210204001001",
    )


@pytest.fixture
def other_committee(db):
    return Organization.objects.create(
        name="测试2街道北社区人民调解委员会",
        kind=Organization.Kind.COMMITTEE,
        area_code="210204002001",
    )


@pytest.fixture
def mediator(db, committee):
    user = UserFactory(username="mediator")
    Grant.objects.create(user=user, role=Role.MEDIATOR, organization=committee)
    return user


@pytest.fixture
def other_mediator(db, other_committee):
    user = UserFactory(username="other_mediator")
    Grant.objects.create(user=user, role=Role.MEDIATOR, organization=other_committee)
    return user


@pytest.fixture
def worker(grid_worker, hierarchy):
    """A grid worker on CELL only (granted the whole community, but disputes go by cells)."""
    Grant.objects.create(user=grid_worker, role=Role.GRID_WORKER, area_code="210204001001")
    GridAssignment.objects.create(user=grid_worker, cell=hierarchy["cells"][CELL], is_lead=True)
    return grid_worker


@pytest.fixture
def district_round(bureau_user):
    return screening.round_open(
        actor=bureau_user,
        name="2026年3月矛盾纠纷排查",
        period_start=D(2026, 3, 1),
        period_end=D(2026, 3, 31),
        area_code="210204",
        now=bj(2026, 3, 1, 9),
    )


@pytest.fixture
def record(worker):
    """record(**overrides) → Dispute found by the grid worker in CELL."""

    def _record(**kw):
        args = {
            "actor": worker,
            "category": "neighbour",
            "party_count": 2,
            "party_names": ["王甲", "李乙"],
            "description": "楼上漏水，邻里争执",
            "risk_level": "general",
            "location": INSIDE,
        }
        args.update(kw)
        return screening.dispute_record(**args)

    return _record


@pytest.fixture
def open_case(mediator, committee):
    """open_case(**overrides) → MediationCase accepted 2026-03-05 09:00 by the committee."""

    def _open(**kw):
        args = {
            "actor": mediator,
            "type": "people",
            "source": "application",
            "committee": committee,
            "summary": "邻里漏水纠纷",
            "parties": PARTIES,
            "mediators": [mediator],
            "accepted_at": bj(2026, 3, 5, 9),
        }
        args.update(kw)
        return cases.mediation_open(**args)

    return _open
