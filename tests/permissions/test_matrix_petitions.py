"""The permission matrix (tests/permissions/matrix.py) for the petitions' pages and API, and the public tracking pages."""

import pytest

from tests.permissions.matrix import cases, check


@pytest.mark.parametrize(("endpoint", "role", "scope"), cases(("petitions", "track")))
def test_permission_matrix(world, db, client, endpoint, role, scope):
    check(world, client, endpoint, role, scope)
