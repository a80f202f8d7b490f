"""The services the suite runs against are the real ones, and the Celery app talks to its broker."""

import os

import pytest
from django.conf import settings
from django.db import connection


@pytest.mark.django_db
def test_database_is_spatial():
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT ST_AsText(ST_GeomFromText('POINT(121.5 38.9)', 4326))")
        else:
            cur.execute("SELECT AsText(GeomFromText('POINT(121.5 38.9)', 4326))")
        assert cur.fetchone()[0] == "POINT(121.5 38.9)"


def test_celery_broker_round_trip():
    """With a broker configured, Celery's own connection reaches Redis and can publish/consume."""
    from config.celery import app

    if not settings.CELERY_BROKER_URL:
        assert settings.CELERY_TASK_ALWAYS_EAGER is True
        assert os.environ.get("CIVICGRID_REQUIRE_SERVICES") != "1"
        return
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)
        queue = conn.SimpleQueue("civicgrid-selftest")
        queue.put({"hello": "网格"})
        message = queue.get(timeout=5)
        assert message.payload == {"hello": "网格"}
        message.ack()
        queue.clear()
        queue.close()
