"""The matrix's data, built once per module inside one outer transaction: every test runs in a
savepoint of it (pytest-django's `db`), so a POST that changes a case is undone before the next
test, and the module's data is rolled back at its end."""

import pytest
from django.db import transaction

from tests.conftest import ensure_reference_data
from tests.permissions.world import ROLES, build_world


def _session(user) -> str:
    """A signed-in session for `user`, made once per module: force_login per test would write a
    session, a login-log row and last_login for each of the matrix's ~2,000 requests."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            ensure_reference_data()
            world = build_world()
            world.sessions = {role: _session(world.users[role]) for role in ROLES[1:]}
            yield world
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
