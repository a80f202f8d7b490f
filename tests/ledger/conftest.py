"""Fixtures of the ledger tests: those of the petition tests (offices, units, categories, the
clerk), the test grid, and Celery running tasks in-process whatever broker the run names."""

import pytest

from config.celery import app as celery_app
from tests.petitions.conftest import (  # noqa: F401
    bureau_user,
    category,
    clerk,
    discipline,
    office,
    unit,
)


@pytest.fixture(autouse=True)
def _celery_eager():
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploaded ledgers go to a temporary MEDIA_ROOT, not var/media."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
