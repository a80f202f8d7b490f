"""Fixtures for background work: petition fixtures, eager Celery, a real broker and worker,
raw PostgreSQL connections for failure injection, and an SMS sender that records."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings

from config.celery import app as celery_app
from notifications.sms import SmsSender

# The petition fixtures (office, unit, category, clerk, bureau_user, unit_user, register …).
from tests.petitions.conftest import (  # noqa: F401
    VALID_ID,
    bj,
    bureau_user,
    category,
    clerk,
    discipline,
    office,
    register,
    unit,
    unit_user,
)

# The real Redis of the PostGIS run (make test-postgis sets CELERY_BROKER_URL); db 5 otherwise.
TEST_BROKER_URL = (
    settings.CELERY_BROKER_URL
    if settings.CELERY_BROKER_URL.startswith("redis://")
    else "redis://127.0.0.1:6379/5"
)
CLOSED_BROKER_URL = "redis://127.0.0.1:6390/0"  # nothing listens there: "Redis is down"
QUEUES = ("default", "imports", "reports")


class RecordingSmsSender(SmsSender):
    """A real SmsSender implementation that keeps what it sent (selected by settings)."""

    sent: list[tuple[int, str]] = []

    def send(self, *, user, text: str) -> None:
        type(self).sent.append((user.pk, text))


class FailingSmsSender(SmsSender):
    def send(self, *, user, text: str) -> None:
        raise ConnectionRefusedError("SMS gateway unreachable")


@pytest.fixture
def sms_outbox(settings) -> list[tuple[int, str]]:
    settings.NOTIFICATIONS_SMS_SENDER = "tests.ops.conftest.RecordingSmsSender"
    RecordingSmsSender.sent = []
    return RecordingSmsSender.sent


@pytest.fixture
def head(db, unit, unit_user):  # noqa: F811 (the imported fixtures)
    """The handling unit's head is its unit user (a HANDLING_UNIT grant: sees the unit's cases)."""
    unit.head = unit_user
    unit.save(update_fields=["head"])
    unit_user.email = "head@example.org"
    unit_user.save(update_fields=["email"])
    return unit_user


def _reset_pools(app) -> None:
    """Close the connection and producer pools (kombu keeps them in global registries, keyed by
    broker) so that the next publish connects to the broker now configured."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker(url: str, app=celery_app) -> Iterator:
    """Publish through the broker at `url` (tasks are no longer eager) inside the block."""
    # The read/write URLs, because Celery prefers the CELERY_BROKER_URL environment variable
    # (set for the PostGIS run) over broker_url.
    keys = ("broker_url", "broker_read_url", "broker_write_url", "task_always_eager")
    saved = {k: app.conf.get(k) for k in keys}
    app.conf.update(
        broker_url=url, broker_read_url=url, broker_write_url=url, task_always_eager=False
    )
    _reset_pools(app)
    try:
        yield app
    finally:
        app.conf.update(saved)
        _reset_pools(app)


@pytest.fixture
def celery_eager() -> Iterator:
    """Tasks run in-process (as in the embedded demo) whatever broker the run is configured with."""
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield celery_app
    celery_app.conf.task_always_eager = saved


def purge_queues(app) -> None:
    with app.connection_for_write() as conn:
        for name in QUEUES:
            conn.default_channel.queue_purge(name)


@contextmanager
def real_worker(app=celery_app, *, pool: str = "solo", concurrency: int = 1) -> Iterator:
    """A real Celery worker (celery.contrib.testing) consuming the real Redis broker in a thread.

    The queues are purged first: other tests publish tasks that nobody consumed."""
    from celery.contrib.testing.worker import start_worker

    app.conf.worker_hijack_root_logger = False  # keep pytest's log capture
    with broker(TEST_BROKER_URL, app):
        purge_queues(app)
        with start_worker(
            app,
            pool=pool,
            concurrency=concurrency,
            perform_ping_check=False,
            shutdown_timeout=30,
        ) as worker:
            yield worker


def wait_for(condition: Callable[[], object], timeout: float = 20.0, step: float = 0.05):
    """Poll until `condition()` is truthy (the worker runs in another thread); fail loudly."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s: {condition}")


def pg_connect():
    """A second, raw connection to the test database (for locks, triggers, terminations)."""
    import psycopg2
    from django.db import connection

    s = connection.settings_dict
    conn = psycopg2.connect(
        dbname=s["NAME"],
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
    )
    conn.autocommit = True
    return conn
