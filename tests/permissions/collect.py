"""Every URL pattern of the project, read from the URL conf (django.urls.get_resolver())."""

from __future__ import annotations

from collections import Counter

from django.urls import URLPattern, URLResolver, get_resolver


def url_patterns(resolver=None, prefix: str = "", namespace: str = "") -> list[tuple[str, str]]:
    """(name, route) of every pattern, names with their namespaces ("petitions:detail")."""
    found = []
    for p in (resolver or get_resolver()).url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            found += url_patterns(p, route, ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
            found.append((name, route))
    return found


def pattern_keys(patterns: list[tuple[str, str]], exempt: dict[str, str]) -> list[str]:
    """The registry key of every pattern not exempt: its name, or name@route for a name that
    several patterns share (the petition API's one route per workflow step)."""
    counts = Counter(name for name, _route in patterns)
    keys = []
    for name, route in patterns:
        if any(
            route.startswith(prefix) or route.lstrip("^").startswith(prefix) for prefix in exempt
        ):
            continue
        keys.append(f"{name}@{route}" if counts[name] > 1 or not name else name)
    return keys


def unregistered(patterns, registry_keys: set[str], exempt: dict[str, str]) -> list[str]:
    """Keys of the patterns that have no registry entry (a new endpoint without a scope test)."""
    return sorted(set(pattern_keys(patterns, exempt)) - registry_keys)
