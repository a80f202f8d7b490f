"""Failure safety against the real services (PostgreSQL, Redis, a real Celery worker) — no mocks.

Failures are injected the way they happen in production, without stopping the shared servers:
a broker URL nobody listens on, a PL/pgSQL trigger raising a serialization failure mid-transaction,
row locks held by a second connection, and pg_terminate_backend on the request's own backend.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import pytest
from celery import signals
from django.db import close_old_connections, connection
from django.test import Client
from django.utils import timezone

from notifications.models import Notification
from petitions.models import Petition, PetitionEvent, SupervisionOrder
from petitions.services.errors import Conflict
from petitions.services.sweeps import deadline_sweep
from petitions.services.workflow import petition_route
from petitions.tasks import deadline_sweep_task
from tests.ops.conftest import (
    CLOSED_BROKER_URL,
    bj,
    broker,
    pg_connect,
    real_worker,
    wait_for,
)

pytestmark = [pytest.mark.postgis_only, pytest.mark.django_db(transaction=True)]


def _notes(**kw) -> list[tuple[str, str, int]]:
    return list(
        Notification.objects.filter(**kw)
        .order_by("target_id", "recipient__username")
        .values_list("recipient__username", "verb", "target_id")
    )


def _run_threads(target, n: int = 2) -> list:
    """Run `target()` in n threads started together; each closes its own DB connection."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = ("ok", target())
        except Exception as e:  # recorded, asserted by the test
            results[i] = ("error", e)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results


def _waiting_on_locks(cur) -> int:
    """Backends of the test database waiting for a lock (a fresh look: pg_stat_activity is
    otherwise a snapshot for the whole transaction)."""
    cur.execute("SELECT pg_stat_clear_snapshot()")
    cur.execute(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return cur.fetchone()[0]


# --- (a) Redis down during intake ---------------------------------------------------------------


def test_broker_outage_saves_the_case_and_the_work_is_done_when_it_returns(
    register, bureau_user, caplog
):
    just_now = timezone.now() - dt.timedelta(minutes=1)
    with broker(CLOSED_BROKER_URL), caplog.at_level(logging.WARNING):
        started = time.monotonic()
        lost = register(case_type="accusation", received_at=just_now)
        elapsed = time.monotonic() - started
    # The registration committed and answered within seconds; the failed enqueue was logged.
    assert lost.created and Petition.objects.filter(pk=lost.petition.pk).exists()
    assert elapsed < 15
    assert [r.name for r in caplog.records if "not enqueued" in r.getMessage()] == [
        "civicgrid.petitions.hooks"
    ]
    assert not Notification.objects.exists()

    with real_worker():
        # The broker is back: a new registration's side effects run on the worker at once …
        fresh = register(case_type="accusation", received_at=just_now, summary="举报某单位")
        wait_for(lambda: Notification.objects.filter(target_id=fresh.petition.pk).exists())
        assert not Notification.objects.filter(target_id=lost.petition.pk).exists()
        # … and the lost one is found by the next sweep (as beat sends it every 15 minutes).
        deadline_sweep_task.delay()
        wait_for(lambda: Notification.objects.filter(target_id=lost.petition.pk).exists())
    assert _notes() == [
        ("bureau", "new_accusation", lost.petition.pk),
        ("bureau", "new_accusation", fresh.petition.pk),
    ]


# --- (b) A task failing mid-run -----------------------------------------------------------------


FAIL_ONCE = """
CREATE SEQUENCE ops_fail_once;
CREATE FUNCTION ops_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The sweep has already inserted its supervision order in this transaction.
    IF NEW.action = 'escalate' AND nextval('ops_fail_once') = 1 THEN
        RAISE EXCEPTION 'injected failure after partial work' USING ERRCODE = '40001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ops_fail_once BEFORE INSERT ON petitions_petitionevent
    FOR EACH ROW EXECUTE FUNCTION ops_fail_once();
"""
DROP_FAIL_ONCE = """
DROP TRIGGER IF EXISTS ops_fail_once ON petitions_petitionevent;
DROP FUNCTION IF EXISTS ops_fail_once();
DROP SEQUENCE IF EXISTS ops_fail_once;
"""


def test_task_failing_mid_run_leaves_nothing_and_succeeds_on_retry(register, bureau_user):
    p = register().petition  # received 2026-03-02: long overdue
    attempts: list[str] = []
    retried = threading.Event()

    def on_retry(**kw):
        attempts.append(str(kw.get("reason")))
        retried.set()

    signals.task_retry.connect(on_retry, weak=False)
    side = pg_connect()
    try:
        with side.cursor() as cur:
            cur.execute(FAIL_ONCE)
        with real_worker():
            deadline_sweep_task.delay()
            assert retried.wait(20), "the task was not retried"
            # Between the failure and the retry (2 s later): the order inserted before the
            # failure was rolled back with everything else.
            assert not SupervisionOrder.objects.exists()
            assert not PetitionEvent.objects.filter(action="escalate").exists()
            assert not Notification.objects.exists()
            wait_for(lambda: SupervisionOrder.objects.filter(kind="escalation").exists())
        with side.cursor() as cur:
            cur.execute("SELECT last_value FROM ops_fail_once")
            assert cur.fetchone()[0] == 2  # two attempts: the failed one and the retry
    finally:
        signals.task_retry.disconnect(on_retry)
        with side.cursor() as cur:
            cur.execute(DROP_FAIL_ONCE)
        side.close()
    assert len(attempts) == 1 and "injected failure after partial work" in attempts[0]
    order = SupervisionOrder.objects.get()
    assert (order.petition_id, order.deadline, order.due_date) == (
        p.pk,
        "route_due",
        dt.date(2026, 3, 17),
    )
    assert PetitionEvent.objects.filter(action="escalate").count() == 1
    assert _notes() == [("bureau", "escalation", p.pk)]


# --- (c) Two workers racing on one deadline ----------------------------------------------------


SLOW_ORDERS = """
CREATE FUNCTION ops_slow_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(0.5);  -- hold the new order uncommitted while the other sweep arrives
    RETURN NULL;
END $$;
CREATE TRIGGER ops_slow_orders AFTER INSERT ON petitions_supervisionorder
    FOR EACH STATEMENT EXECUTE FUNCTION ops_slow_orders();
"""
DROP_SLOW_ORDERS = """
DROP TRIGGER IF EXISTS ops_slow_orders ON petitions_supervisionorder;
DROP FUNCTION IF EXISTS ops_slow_orders();
"""


@pytest.fixture
def slow_orders():
    side = pg_connect()
    with side.cursor() as cur:
        cur.execute(SLOW_ORDERS)
    yield
    with side.cursor() as cur:
        cur.execute(DROP_SLOW_ORDERS)
    side.close()


def test_two_threads_racing_the_sweep_send_one_escalation(
    register, bureau_user, office, clerk, slow_orders
):
    office.head = clerk
    office.save(update_fields=["head"])
    p = register().petition
    threads, results = _run_threads(lambda: deadline_sweep(now=bj(2026, 3, 18, 9)))
    for t in threads:
        t.join(30)
    assert [kind for kind, _r in results] == ["ok", "ok"], results
    assert sorted(r["escalations"] for _k, r in results) == [0, 1]
    assert sorted(r["notified"] for _k, r in results) == [0, 2]
    assert SupervisionOrder.objects.filter(petition=p, kind="escalation").count() == 1
    assert PetitionEvent.objects.filter(action="escalate").count() == 1
    assert _notes() == [("bureau", "escalation", p.pk), ("street_clerk", "escalation", p.pk)]


def test_two_real_workers_racing_send_one_escalation(register, bureau_user, slow_orders):
    p = register().petition
    done: list[dict] = []

    def on_done(sender=None, retval=None, **kw):
        if sender is not None and sender.name == deadline_sweep_task.name:
            done.append(retval)

    signals.task_postrun.connect(on_done, weak=False)
    try:
        with real_worker(pool="threads", concurrency=2):
            deadline_sweep_task.delay()
            deadline_sweep_task.delay()
            wait_for(lambda: len(done) == 2, timeout=30)
    finally:
        signals.task_postrun.disconnect(on_done)
    assert sorted(r["escalations"] for r in done) == [0, 1]
    assert SupervisionOrder.objects.filter(petition=p).count() == 1
    assert _notes() == [("bureau", "escalation", p.pk)]


# --- (d) Two clerks acting on one case at once --------------------------------------------------


def test_two_clerks_at_once_one_wins_the_other_gets_a_conflict(register, clerk):
    p = register(received_at=timezone.now() - dt.timedelta(hours=1)).petition
    version = p.version
    holder = pg_connect()
    holder.autocommit = False
    try:
        with holder.cursor() as cur:
            # Someone holds the case row: both clerks' steps queue up behind the lock.
            cur.execute("SELECT id FROM petitions_petition WHERE id = %s FOR UPDATE", [p.pk])
            decisions = iter(["accept", "reject"])
            lock = threading.Lock()

            def act():
                with lock:
                    decision = next(decisions)
                petition = Petition.objects.get(pk=p.pk)
                return decision, petition_route(
                    petition=petition,
                    actor=clerk,
                    decision=decision,
                    reason="不属于信访事项" if decision == "reject" else "",
                    expected_version=version,
                )

            threads, results = _run_threads(act)
            wait_for(lambda: _waiting_on_locks(cur) == 2)
        holder.commit()
    finally:
        holder.close()
    for t in threads:
        t.join(30)
    outcomes = sorted(kind for kind, _r in results)
    assert outcomes == ["error", "ok"], results
    (winner,) = [r for kind, r in results if kind == "ok"]
    (error,) = [r for kind, r in results if kind == "error"]
    assert isinstance(error, Conflict)
    assert error.messages == ["该信访事项已被他人修改，请刷新后重试。"]
    decision, _p = winner
    p.refresh_from_db()
    assert p.version == version + 1
    assert p.routing == decision
    assert p.status == ("handling" if decision == "accept" else "not_accepted")
    assert PetitionEvent.objects.filter(petition=p, action__startswith="route_").count() == 1


# --- (e) The database restarting during a request -----------------------------------------------


def test_database_restart_during_a_request_gives_an_error_page_then_recovers(
    register, clerk, settings
):
    from notifications.services import notification_send

    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    p = register().petition
    notification_send(
        recipients=[clerk],
        verb="reminder",
        text="即将到期。",
        target_kind="petition",
        target_id=p.pk,
        target_url=f"/petitions/{p.pk}/",
    )
    client = Client(raise_request_exception=False)
    client.force_login(clerk)

    def request():
        # The test client skips the request_started/finished signals that make a WSGI server
        # recycle connections; send them as gunicorn would.
        close_old_connections()
        try:
            return client.get("/notifications/")
        finally:
            close_old_connections()

    assert request().status_code == 200
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        before = cur.fetchone()[0]

    side = pg_connect()
    side.autocommit = False
    killed: list[int] = []

    def restart_during_the_request():
        with side.cursor() as cur:
            # Blocks the page's query mid-request, then "restarts" that backend (only ours: the
            # shared server keeps running for everyone else).
            cur.execute("LOCK TABLE notifications_notification IN ACCESS EXCLUSIVE MODE")
            started.set()
            wait_for(lambda: _waiting_on_locks(cur) == 1)
            cur.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            killed.extend(pid for pid, ok in cur.fetchall() if ok)
        side.rollback()

    started = threading.Event()
    killer = threading.Thread(target=restart_during_the_request)
    killer.start()
    started.wait(10)
    try:
        failed = request()
    finally:
        killer.join(30)
        side.close()
    assert killed == [before]
    assert failed.status_code == 500
    assert "Server Error (500)" in failed.content.decode()

    recovered = request()
    assert recovered.status_code == 200
    assert "即将到期。" in recovered.content.decode()
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] != before
