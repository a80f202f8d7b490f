"""Fixtures for petition tests: offices, units, categories, and a registration helper."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Grant, Role
from petitions.models import Category, Organization
from petitions.services.intake import petition_register

BJ = ZoneInfo("Asia/Shanghai")
VALID_ID = "11010519491231002X"  # the GB 11643 standard's own example


def bj(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BJ)


@pytest.fixture
def office(db):
    return Organization.objects.create(
        name="测试1街道办事处", kind=Organization.Kind.STREET_OFFICE, area_code="210204001"
    )


@pytest.fixture
def unit(db):
    return Organization.objects.create(name="区城建局", kind=Organization.Kind.HANDLING_UNIT)


@pytest.fixture
def discipline(db):
    return Organization.objects.create(name="区纪委监委", kind=Organization.Kind.DISCIPLINE)


@pytest.fixture
def category(db):
    return Category.objects.get(code="0501")  # 物业管理 / 物业服务 (seeded by migration)


@pytest.fixture
def clerk(street_clerk, office):
    Grant.objects.create(user=street_clerk, role=Role.STREET_CLERK, area_code="210204001")
    return street_clerk


@pytest.fixture
def bureau_user(bureau):
    Grant.objects.create(user=bureau, role=Role.BUREAU, area_code="210204")
    return bureau


@pytest.fixture
def unit_user(db, unit):
    from tests.factories import UserFactory

    user = UserFactory(username="unit_user")
    Grant.objects.create(user=user, role=Role.HANDLING_UNIT, organization=unit)
    return user


@pytest.fixture
def register(clerk, office, category):
    """register(**overrides) → Registered, received by default 2026-03-02 10:00 Beijing time."""

    def _register(**kw):
        args = {
            "actor": clerk,
            "organization": office,
            "channel": "letter",
            "case_type": "appeal",
            "category": category,
            "summary": "小区物业不履行维修义务",
            "received_at": bj(2026, 3, 2, 10, 0),
            "petitioners": [{"name": "张三", "id_number": VALID_ID, "phone": "13812345678"}],
        }
        args.update(kw)
        return petition_register(**args)

    return _register
