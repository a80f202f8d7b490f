"""The permission matrix (SPEC §6, issue #5): every URL of our apps × every role × an in-scope
and an out-of-scope object, generated from the URL conf through tests/permissions/registry.py.

- anonymous: the login redirect (pages) or DRF's refusal (API: 401 with a token scheme, else 403);
- out of scope: 404, never 403, never the record's data;
- in scope without the right: `denied` (403);
- lists, GeoJSON, exports and counts: the in-scope record shown to the roles that reach it, the
  out-of-scope record's texts in no response of a role that does not reach it.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.settings import api_settings

from tests.permissions.registry import REGISTRY, Endpoint
from tests.permissions.world import MARK_OUT, ROLES


def anonymous_api_status() -> int:
    """DRF answers an anonymous request 401 when its first authentication class names a scheme
    (WWW-Authenticate: Token, Bearer …), 403 with session authentication alone."""
    classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES
    header = classes[0]().authenticate_header(RequestFactory().get("/")) if classes else None
    return 401 if header else 403


def expected_status(e: Endpoint, role: str, scope: str) -> int:
    if e.kind == "public":
        return e.override.get(role, e.ok)
    if role == "anonymous":
        return e.anonymous or (anonymous_api_status() if e.api else 302)
    if role in e.override:
        return e.override[role]
    if e.kind == "object" and not e.reaches(role, scope):
        return 404
    return e.ok if role in e.allowed() else e.denied


def _forms(text: str) -> tuple[str, ...]:
    """The text as it appears in HTML or UTF-8 JSON, and as \\u-escaped JSON."""
    return (text, json.dumps(text)[1:-1])


def _shows(body: str, text: str) -> bool:
    return any(form in body for form in _forms(text))


def _request(client, e: Endpoint, world, role: str, scope: str):
    url = reverse(e.name, kwargs=e.kwargs(world, role, scope) or None)
    query = e.query(world, role, scope)
    if e.method == "GET":
        return client.get(url, query)
    if query:
        url = f"{url}?{urlencode(query)}"
    body = e.body(world, role, scope)
    if e.api:
        return client.post(url, json.dumps(body), content_type="application/json")
    return client.post(url, body)


def _excerpt(body: str) -> str:
    """The page's message without the chrome, for a failure report."""
    main = re.search(r"<main[^>]*>(.*?)</main>", body, re.S)
    text = re.sub(r"<[^>]+>", " ", main[1] if main else body)
    return re.sub(r"\s+", " ", text).strip()[:300]


def _body(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode("utf-8", "replace")


def check(world, client, endpoint: Endpoint, role: str, scope: str) -> None:
    """One cell of the matrix: `role` asks for `endpoint` on the `scope` object."""
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    if endpoint.kind == "public":
        cache.clear()  # the public pages' rate limits count in the cache: start afresh
    response = _request(client, endpoint, world, role, scope)
    body = _body(response)
    expected = expected_status(endpoint, role, scope)
    assert response.status_code == expected, (
        f"{role}/{scope}: {response.status_code} (expected {expected}) {_excerpt(body)}"
    )
    if role == "anonymous" and expected == 302:
        assert response["Location"].startswith(
            reverse(settings.LOGIN_URL) if ":" in settings.LOGIN_URL else settings.LOGIN_URL
        )
    if endpoint.kind != "public" and not endpoint.reaches(role, "out"):
        assert not _shows(body, MARK_OUT), "an out-of-scope record's text is in the response"
    if endpoint.kind == "list" and endpoint.marker and role in endpoint.allowed():
        shown = _shows(body, endpoint.marker(world))
        assert shown == (role in endpoint.sees), f"in-scope record shown: {shown}"


def cases(prefixes: tuple[str, ...], *, exclude: bool = False) -> list:
    """pytest params (endpoint, role, scope) of the registry entries whose URL name starts with
    one of `prefixes` (or, with exclude, with none of them)."""
    return [
        pytest.param(endpoint, role, scope, id=f"{endpoint.label}-{role}-{scope}")
        for endpoint in REGISTRY
        if endpoint.name.startswith(prefixes) != exclude
        for role in ROLES
        for scope in ("in", "out")
    ]
