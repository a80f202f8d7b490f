"""The permission matrix's own checks: every URL pattern has a registry entry, the collector
reads the URL conf, and the registry is consistent. The matrix itself runs in
test_matrix_petitions.py and test_matrix_others.py (two modules, so that `-n 2 --dist loadfile`
spreads it over two workers, each building its data once)."""

from tests.permissions.collect import pattern_keys, unregistered, url_patterns
from tests.permissions.registry import EXEMPT, REGISTRY
from tests.permissions.world import ROLES


def test_every_url_pattern_has_a_registry_entry():
    registered = {e.key for e in REGISTRY}
    assert unregistered(url_patterns(), registered, EXEMPT) == [], (
        "URL patterns without a permission-matrix entry (tests/permissions/registry.py)"
    )
    keys = set(pattern_keys(url_patterns(), EXEMPT))
    assert sorted(registered - keys) == [], "registry entries for URL patterns that do not exist"


def test_the_collector_sees_the_url_conf():
    """The meta-test's own check: known patterns are collected with their namespaced names and
    routes, exemptions drop only what they name, and a new pattern shows up as unregistered."""
    patterns = url_patterns()
    assert len(patterns) > 100
    assert ("petitions:detail", "petitions/<int:pk>/") in patterns
    assert ("accounts:audit", "audit/") in patterns
    assert ("petitions-api:action", "api/v1/petitions/<int:pk>/route/") in patterns
    assert any(name.startswith("admin:") for name, _route in patterns)
    keys = pattern_keys(patterns, EXEMPT)
    assert "petitions:detail" in keys
    assert "petitions-api:action@api/v1/petitions/<int:pk>/route/" in keys
    assert not [k for k in keys if k.startswith(("admin:", "set_language"))]
    registered = {e.key for e in REGISTRY}
    new = ("petitions:export-everything", "petitions/export/")
    assert unregistered([*patterns, new], registered, EXEMPT) == ["petitions:export-everything"]
    unnamed = ("", "petitions/secret/")
    assert unregistered([*patterns, unnamed], registered, EXEMPT) == ["@petitions/secret/"]


def test_registry_entries_are_consistent():
    labels = [e.label for e in REGISTRY]
    assert len(labels) == len(set(labels)), "two registry entries with one label"
    for e in REGISTRY:
        assert e.kind in ("object", "list", "page", "public"), e.label
        assert e.method in ("GET", "POST"), e.label
        assert e.allowed() <= set(ROLES), e.label
        if e.denied != 403 or e.override or e.anonymous:
            assert e.why, f"{e.label}: a status other than the rule's needs a reason"
