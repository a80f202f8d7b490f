"""CACHE_URL makes every process share one Redis cache (rate limits, dashboard layers)."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
CACHE_URL = "redis://127.0.0.1:6379/15"

# Runs in the services run (real Redis); the embedded subset has no shared cache to test.
pytestmark = pytest.mark.postgis_only


def _django(code: str, **extra_env) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **extra_env)
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup()\n{code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_without_cache_url_each_process_has_its_own_memory_cache():
    out = _django(
        "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])",
        CACHE_URL="",
    )
    assert out == "django.core.cache.backends.locmem.LocMemCache"


def test_cache_url_is_one_redis_cache_shared_by_processes():
    redis.Redis.from_url(CACHE_URL).ping()
    key = f"shared-{uuid.uuid4().hex}"
    backend = _django(
        "from django.conf import settings; from django.core.cache import cache\n"
        f"cache.add({key!r}, 0, 60); cache.incr({key!r}); cache.incr({key!r})\n"
        "print(settings.CACHES['default']['BACKEND'])",
        CACHE_URL=CACHE_URL,
    )
    assert backend == "django.core.cache.backends.redis.RedisCache"
    # A second process (another gunicorn worker or web node) sees the count and adds to it.
    seen = _django(
        f"from django.core.cache import cache; print(cache.incr({key!r}))", CACHE_URL=CACHE_URL
    )
    assert seen == "3"
    # Keys carry the project prefix, so the Redis database can be shared with other uses.
    client = redis.Redis.from_url(CACHE_URL)
    assert client.exists(f"civicgrid:1:{key}") == 1
    client.delete(f"civicgrid:1:{key}")
