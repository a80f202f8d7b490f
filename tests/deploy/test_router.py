"""ReplicaRouter: dashboard/report reads go to "replica" when it is configured; writes never do."""

import copy
import threading

import pytest
from django.conf import settings as django_settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from config.routers import REPLICA, ReplicaRouter, use_primary, use_replica
from dashboard.models import ReportSnapshot
from petitions.models import Category, Organization, Petition

router = ReplicaRouter()


@pytest.fixture
def replica_declared(monkeypatch):
    """A "replica" entry in DATABASES, for the router's decisions (no connection is opened)."""
    monkeypatch.setitem(django_settings.DATABASES, REPLICA, {"ENGINE": "declared-only"})


def test_without_a_replica_the_router_leaves_reads_alone():
    assert REPLICA not in django_settings.DATABASES
    assert router.db_for_read(ReportSnapshot) is None
    with use_replica():
        assert router.db_for_read(Petition) is None
    assert router.db_for_write(ReportSnapshot) == "default"


def test_dashboard_reads_go_to_the_replica_other_reads_to_default(replica_declared):
    assert router.db_for_read(ReportSnapshot) == "replica"
    assert router.db_for_read(Petition) == "default"
    assert router.db_for_read(Category) == "default"


def test_use_replica_sends_every_read_to_the_replica(replica_declared):
    with use_replica():
        assert router.db_for_read(Petition) == "replica"
        assert router.db_for_read(Category) == "replica"
        assert router.db_for_read(ReportSnapshot) == "replica"
    assert router.db_for_read(Petition) == "default"


def test_use_primary_wins_over_the_app_rule_and_nests(replica_declared):
    with use_replica():
        with use_primary():
            assert router.db_for_read(ReportSnapshot) == "default"
            assert router.db_for_read(Petition) == "default"
        assert router.db_for_read(Petition) == "replica"
    with use_primary():
        assert router.db_for_read(ReportSnapshot) == "default"
    assert router.db_for_read(ReportSnapshot) == "replica"


def test_use_replica_is_per_thread(replica_declared):
    """gunicorn's gthread workers may serve requests on several threads of one process
    (GUNICORN_THREADS > 1)."""
    seen = {}

    def other_thread():
        seen["other"] = router.db_for_read(Petition)

    with use_replica():
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        seen["here"] = router.db_for_read(Petition)
    assert seen == {"other": "default", "here": "replica"}


def test_writes_relations_and_migrations_stay_on_default(replica_declared):
    with use_replica():
        assert router.db_for_write(ReportSnapshot) == "default"
        assert router.db_for_write(Petition) == "default"
    assert router.allow_relation(Petition(), ReportSnapshot()) is True
    assert router.allow_migrate("default", "petitions") is True
    assert router.allow_migrate("default", "dashboard", model_name="reportsnapshot") is True
    assert router.allow_migrate("replica", "dashboard") is False
    assert router.allow_migrate("replica", "petitions", model_name="petition") is False


@pytest.mark.django_db
def test_reads_inside_a_transaction_stay_on_default(replica_declared):
    """A transaction must read its own writes, which a replica has not seen yet."""
    assert router.db_for_read(ReportSnapshot) == "replica"  # the test's own wrapper doesn't count
    with transaction.atomic():
        assert router.db_for_read(ReportSnapshot) == "default"
        with use_replica():
            assert router.db_for_read(Petition) == "default"
    with use_replica():
        assert router.db_for_read(Petition) == "replica"


# --- Integration: a second connection alias, routed to by the real ORM -------------------------


@pytest.fixture
def replica(db, settings):
    """A "replica" alias: a second connection to the test database, and the router installed."""
    assert REPLICA not in connections.settings
    connections.settings[REPLICA] = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    # connections.settings is settings.DATABASES itself, which is what the router reads.
    assert REPLICA in django_settings.DATABASES
    settings.DATABASE_ROUTERS = ["config.routers.ReplicaRouter"]
    # Connected here, explicitly: Django's test case refuses to open connections lazily for
    # aliases that are not in its `databases`, and this one did not exist when it was set up.
    connections[REPLICA].connect()
    try:
        yield connections[REPLICA]
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]
        django_settings.DATABASES.pop(REPLICA, None)


def _recorder(log: list):
    def wrapper(execute, sql, params, many, context):
        log.append(sql)
        return execute(sql, params, many, context)

    return wrapper


def test_queries_under_use_replica_run_on_the_replica_connection(replica):
    on_default, on_replica = [], []
    # What the second connection sees (committed rows only: the test's own transaction is not
    # visible there, e.g. reference data re-seeded after another test's flush).
    expected_categories = Category.objects.using(REPLICA).count()
    with (
        connections["default"].execute_wrapper(_recorder(on_default)),
        replica.execute_wrapper(_recorder(on_replica)),
    ):
        with use_replica():
            categories = Category.objects.count()
            petitions = list(Petition.objects.filter(status="registered").values_list("pk"))
        snapshots = ReportSnapshot.objects.count()  # dashboard app: replica without asking
        not_routed = Petition.objects.count()
    assert categories == expected_categories
    assert petitions == []
    assert snapshots == 0
    assert not_routed == 0
    assert len(on_replica) == 3
    assert 'FROM "petitions_category"' in on_replica[0]
    assert 'FROM "petitions_petition"' in on_replica[1]
    assert 'FROM "dashboard_reportsnapshot"' in on_replica[2]
    assert len(on_default) == 1
    assert 'FROM "petitions_petition"' in on_default[0]
    # Really a second connection, not the default one under another name.
    assert replica.connection is not None
    assert replica.connection is not connections["default"].connection


def test_writes_under_use_replica_run_on_default(replica):
    on_default, on_replica = [], []
    with (
        connections["default"].execute_wrapper(_recorder(on_default)),
        replica.execute_wrapper(_recorder(on_replica)),
        use_replica(),
    ):
        org = Organization.objects.create(name="区信访局", kind=Organization.Kind.BUREAU)
    assert on_replica == []
    assert any(sql.startswith('INSERT INTO "petitions_organization"') for sql in on_default)
    assert Organization.objects.using("default").filter(pk=org.pk).exists()
