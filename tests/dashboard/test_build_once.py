"""A missing dashboard entry is built once however many requests miss it together (issue #9):
the others wait for the builder's result; if the builder fails, a waiter builds it itself."""

import threading
import time

import pytest
from django.core.cache import cache

from dashboard import selectors


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def _run_together(n, target):
    results, errors = [None] * n, []
    start = threading.Barrier(n)

    def run(i):
        start.wait()
        try:
            results[i] = target()
        except Exception as e:  # noqa: BLE001 — collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


def test_concurrent_misses_build_once_and_share_the_result():
    calls = []

    def build():
        calls.append(1)
        time.sleep(0.3)
        return {"figures": [1, 2, 3]}

    results, errors = _run_together(6, lambda: selectors._build_once("k:one", build))
    assert errors == []
    assert len(calls) == 1
    assert results == [{"figures": [1, 2, 3]}] * 6
    assert cache.get("k:one") == {"figures": [1, 2, 3]}
    assert cache.get("k:one:building") is None


def test_a_failed_builder_leaves_no_lock_and_a_waiter_builds_it():
    calls = []

    def build():
        calls.append(1)
        time.sleep(0.2)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return "built"

    results, errors = _run_together(2, lambda: selectors._build_once("k:two", build))
    assert [str(e) for e in errors] == ["database went away"]
    assert "built" in results
    assert len(calls) == 2
    assert cache.get("k:two") == "built"
    assert cache.get("k:two:building") is None


def test_a_lone_miss_builds_without_waiting(monkeypatch):
    slept = []
    monkeypatch.setattr(selectors.time, "sleep", slept.append)
    assert selectors._build_once("k:three", lambda: 42) == 42
    assert slept == []
    assert cache.get("k:three") == 42
