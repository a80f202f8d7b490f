"""Fixtures for the API contract tests: a bureau user with a token, and seeded records (the
petition and mediation fixtures are reused)."""

import pytest
from rest_framework.test import APIClient

from petitions.models import Organization
from tests.mediation.conftest import *  # noqa: F403 — register, record, open_case, bureau_user, …
from tests.mediation.conftest import INSIDE, bj


@pytest.fixture
def bureau_office(db):
    return Organization.objects.create(
        name="区信访局", kind=Organization.Kind.BUREAU, area_code="210204"
    )


@pytest.fixture
def bureau_token(bureau_user, bureau_office):
    """The key of a token for the district bureau user (granted the whole district)."""
    from api.services import api_token_issue

    _token, key = api_token_issue(user=bureau_user, name="测试对接")
    return key


def token_client(key: str, scheme: str = "Bearer") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    return client


@pytest.fixture
def seeded(hierarchy, register, record, open_case, district_round, bureau_user, clerk):
    """Petitions, disputes, mediation cases, a screening round, a visit and a reception day."""
    from petitions.services.visits import reception_day_create, visit_record
    from tests.petitions.conftest import VALID_ID  # noqa: F401 — the petitioner of register()

    petitions = [
        register(received_at=bj(2026, 3, day, 10), location=INSIDE).petition for day in (2, 3, 4)
    ]
    petitions.append(register(received_at=bj(2026, 3, 5, 10), channel="visit").petition)
    disputes = [record(risk_level=level) for level in ("general", "major", "serious")]
    cases = [open_case(dispute=disputes[0]), open_case(summary="相邻通行纠纷")]
    office = Organization.objects.get(name="测试1街道办事处")
    day = reception_day_create(
        actor=clerk,
        leader=bureau_user,
        date=bj(2026, 3, 6, 9).date(),
        place="街道信访接待室",
        organization=office,
    )
    visit = visit_record(
        actor=clerk,
        organization=office,
        received_at=bj(2026, 3, 6, 10),
        headcount=1,
        representatives=[],
        answered_on_spot=True,
        petitions=petitions[3:],
        reception_day=day,
    )
    return {
        "petitions": petitions,
        "disputes": disputes,
        "cases": cases,
        "round": district_round,
        "reception_day": day,
        "visit": visit,
    }


@pytest.fixture
def district_leader_token(leader):
    """A token for a district leader (reads only)."""
    from accounts.models import Grant, Role
    from api.services import api_token_issue

    Grant.objects.create(user=leader, role=Role.LEADER, area_code="210204")
    return api_token_issue(user=leader, name="领导查看")[1]
