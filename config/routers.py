"""Read-replica routing: dashboard and report reads go to "replica" when DATABASE_REPLICA_URL is set.

Writes, migrations and everything else stay on "default". Without a "replica" database the
router says nothing and Django uses "default" as usual.

    with use_replica():            # report code: every read in the block goes to the replica
        figures = figures_for_areas(...)

    with use_primary():            # read what was just written (a replica lags behind)
        snapshots = ReportSnapshot.objects.filter(...)

Both are also decorators: `@use_replica()` on a report view, `@use_primary()` on a service.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
# Apps whose models are only read for statistics: their reads go to the replica by default.
REPLICA_APPS = frozenset({"dashboard"})

# None: decide by app; True: force the replica; False: force the primary. A ContextVar so that
# threads (gunicorn gthread) and async tasks each have their own.
_preference: ContextVar[bool | None] = ContextVar("civicgrid_replica_preference", default=None)


@contextmanager
def use_replica() -> Iterator[None]:
    """Send every read inside the block to the replica (when one is configured)."""
    token = _preference.set(True)
    try:
        yield
    finally:
        _preference.reset(token)


@contextmanager
def use_primary() -> Iterator[None]:
    """Keep every read inside the block on "default", also for REPLICA_APPS models."""
    token = _preference.set(False)
    try:
        yield
    finally:
        _preference.reset(token)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _in_transaction_on_default() -> bool:
    """True inside transaction.atomic() on "default": its reads must see its own writes.

    The atomic blocks a test case wraps around each test (marked _from_testcase, the mark Django
    itself uses to tell them apart for durable=True) don't count.
    """
    blocks = connections[DEFAULT_DB_ALIAS].atomic_blocks
    return any(not getattr(block, "_from_testcase", False) for block in blocks)


class ReplicaRouter:
    """Dashboard/report reads → "replica"; writes, relations, migrations → "default"."""

    def db_for_read(self, model, **hints) -> str | None:
        if not replica_configured():
            return None
        preference = _preference.get()
        if preference is False:
            return DEFAULT_DB_ALIAS
        wanted = preference is True or model._meta.app_label in REPLICA_APPS
        if not wanted or _in_transaction_on_default():
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # The replica is a copy of the primary: rows from either may be related.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS
