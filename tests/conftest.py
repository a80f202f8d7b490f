"""Shared fixtures: named users per role (as in CONVENTIONS.md) and a small grid hierarchy."""

import pytest
from django.contrib.auth.models import Group

from tests.factories import UserFactory, build_hierarchy

ROLES = [
    "admin",
    "bureau",
    "street_clerk",
    "community_staff",
    "grid_worker",
    "mediator",
    "handling_unit",
    "leader",
]


def _user(username: str, role: str, **extra):
    user = UserFactory(username=username, **extra)
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    return user


@pytest.fixture
def admin_user(db):
    return _user("admin_user", "admin", is_staff=True, is_superuser=True)


@pytest.fixture
def bureau(db):
    return _user("bureau", "bureau", is_staff=True)


@pytest.fixture
def street_clerk(db):
    return _user("street_clerk", "street_clerk")


@pytest.fixture
def grid_worker(db):
    return _user("grid_worker", "grid_worker")


@pytest.fixture
def leader(db):
    return _user("leader", "leader")


@pytest.fixture
def outsider(db):
    return _user("outsider", "street_clerk")


@pytest.fixture
def hierarchy(db):
    """An active generation with 1 district, 2 streets, 4 communities and 8 cells, in force since
    2020 so that back-dated cases (received in 2025/2026) are placed in it."""
    import datetime as dt

    from grid.services.generations import generation_activate

    h = build_hierarchy()
    generation_activate(generation=h["generation"], at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    h["generation"].refresh_from_db()
    return h


@pytest.fixture(scope="session", autouse=True)
def _require_services(django_db_setup, django_db_blocker):
    """Under `make test` (CIVICGRID_REQUIRE_SERVICES=1) the PostGIS run must really be on PostGIS
    with Redis reachable: a missing service fails the run loudly instead of skipping tests."""
    import os

    if os.environ.get("CIVICGRID_REQUIRE_SERVICES") != "1":
        return
    import redis
    from django.conf import settings
    from django.db import connection

    assert connection.vendor == "postgresql", "make test's PostGIS run is not on PostgreSQL"
    with django_db_blocker.unblock(), connection.cursor() as cur:
        cur.execute("SELECT postgis_lib_version()")
        assert cur.fetchone()[0], "PostGIS is not installed in the test database"
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "CELERY_BROKER_URL must be Redis"
    redis.Redis.from_url(settings.CELERY_BROKER_URL).ping()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's 1M iterations per test user would dominate the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Categories and the holiday calendar are seeded by a migration; a transactional test's
    flush removes them for the tests after it, so put them back where a test uses the database."""
    names = set(request.fixturenames)
    if not (
        names & {"db", "transactional_db", "live_server"}
        or request.node.get_closest_marker("django_db")
    ):
        return
    marker = request.node.get_closest_marker("django_db")
    transactional = (
        "transactional_db" in names
        or "live_server" in names
        or bool(marker and marker.kwargs.get("transaction"))
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    ensure_reference_data()


def ensure_reference_data() -> None:
    """Re-run the (idempotent) seed migration's function when a flush removed its rows."""
    from petitions.models import Category

    if not Category.objects.exists():
        import importlib

        from django.apps import apps

        seed = importlib.import_module("petitions.migrations.0002_seed_calendar_categories_search")
        seed.seed(apps, None)
