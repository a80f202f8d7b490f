"""The permission matrix (tests/permissions/matrix.py) for mediation, dashboard, ledger, notifications, grid, Open311, audit, API docs."""

import pytest

from tests.permissions.matrix import cases, check


@pytest.mark.parametrize(("endpoint", "role", "scope"), cases(("petitions", "track"), exclude=True))
def test_permission_matrix(world, db, client, endpoint, role, scope):
    check(world, client, endpoint, role, scope)
