"""Schemathesis against our own OpenAPI schema: every /api/v1/ operation, called in-process
through the WSGI application as the district bureau user with a token, on seeded data (a grid
hierarchy, petitions, a visit and a reception day, a screening round, disputes and mediation
cases). Fails on any 5xx, any response that does not match its documented schema, and any status
code the schema does not list for the operation.

Every operation runs three ways: valid inputs on the seeded records' ids, valid inputs with
generated ids, and invalid inputs (negative mode). Deterministic (derandomized, no example
database) and bounded: EXAMPLES cases per operation and way, one seeding for all of them."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgis_only]

EXAMPLES = 6
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def _keep_test_connection():
    """The WSGI handler closes "old" connections when a request starts and ends, which would be
    the test's own transaction; django.test.Client switches this off the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _operations():
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    operations = [r.ok() for r in schema.include(path_regex=r"^/api/v1/").get_all_operations()]
    return sorted(operations, key=lambda op: (op.path, op.method))


def _seeded_path_parameters(operation, seeded) -> dict | None:
    """Path parameters naming a seeded record (so that details and actions reach real ones)."""
    path = operation.path
    if "{code}" in path:
        return {"code": "210204001"}
    if "{id}" not in path:
        return None
    for prefix, record in [
        ("/api/v1/petitions/visits/", seeded["visit"]),
        ("/api/v1/petitions/reception-days/", seeded["reception_day"]),
        ("/api/v1/petitions/", seeded["petitions"][0]),
        ("/api/v1/mediation/rounds/", seeded["round"]),
        ("/api/v1/mediation/disputes/", seeded["disputes"][1]),
        ("/api/v1/mediation/cases/", seeded["cases"][0]),
    ]:
        if path.startswith(prefix):
            return {"id": record.pk}
    raise AssertionError(f"no seeded record for {path}")


def _run(operation, mode, headers, path_parameters) -> str | None:
    """Run one operation in one mode; the failure report, or None."""
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @HYPOTHESIS
    @given(case=strategy)
    def check(case):
        # A savepoint per call: a request that failed in the database (a 5xx, reported) must
        # not leave the test's transaction aborted for the operations after it.
        savepoint = transaction.savepoint()
        response = case.call(headers=headers)
        if response.status_code >= 500:
            transaction.savepoint_rollback(savepoint)
        else:
            transaction.savepoint_commit(savepoint)
        case.validate_response(response, checks=CHECKS)

    try:
        check()
    except FailureGroup as failures:
        return f"{operation.method.upper()} {operation.path} ({mode.value}): {failures}"
    return None


def test_every_operation_conforms_to_the_schema(seeded, bureau_token, _keep_test_connection):
    headers = {"Authorization": f"Bearer {bureau_token}"}
    operations = _operations()
    assert len(operations) >= 55  # every /api/v1/ operation, not a filtered few
    failures = []
    for operation in operations:
        seeded_ids = _seeded_path_parameters(operation, seeded)
        runs = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        if seeded_ids:
            runs.insert(0, (GenerationMode.POSITIVE, seeded_ids))
        for mode, path_parameters in runs:
            failure = _run(operation, mode, headers, path_parameters)
            if failure:
                failures.append(failure)
    assert not failures, "\n\n".join(failures)
