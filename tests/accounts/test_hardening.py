"""Hardening (SPEC §7): login throttling with lockout, the login log, password rules, the idle
session timeout, CSP without inline script (and the pages still work with it), CSRF everywhere, and
production settings that pass `manage.py check --deploy`."""

import base64
import collections
import datetime as dt
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db.models import F
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authentication import SessionAuthentication
from rest_framework.views import APIView

from accounts.audit import client_ip
from accounts.middleware import MARK
from accounts.models import AuthLog

pytest_plugins = ["tests.browser"]

PASSWORD = "pw-for-tests-1"  # tests.factories.UserFactory's
BASE_DIR = Path(settings.BASE_DIR)


def _login(client, username, password, **extra):
    return client.post(reverse("grid:login"), {"username": username, "password": password}, **extra)


def _log() -> list[tuple]:
    return list(
        AuthLog.objects.order_by("pk").values_list("action", "username", "user__username", "ip")
    )


# --- Login throttling ---------------------------------------------------------------------------


def test_five_failures_lock_the_username_and_address_out_for_30_minutes(client, street_clerk):
    for attempt in range(1, 5):
        response = _login(client, "street_clerk", f"wrong-{attempt}")
        assert response.status_code == 200
        assert "用户名或密码不正确，请重试。" in response.content.decode()
    # The fifth failure locks the pair out at once.
    response = _login(client, "street_clerk", "wrong-5")
    assert response.status_code == 429
    assert "登录已锁定" in response.content.decode()

    # The sixth attempt, with the right password, is refused and signs nobody in.
    response = _login(client, "street_clerk", PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "连续 5 次登录失败，该账户在本机的登录已被暂时锁定。" in html
    assert "请 30 分钟后再试，或联系系统管理员解锁。" in html
    assert client.get(reverse("grid:map")).status_code == 302

    counts = collections.Counter(action for action, *_ in _log())
    assert counts == {"failed": 5, "lockout": 2}
    lockouts = AuthLog.objects.filter(action="lockout")
    assert {(r.username, r.user_id, r.ip) for r in lockouts} == {
        ("street_clerk", street_clerk.pk, "127.0.0.1")
    }
    assert AccessAttempt.objects.get().failures_since_start == 5


def test_lockout_is_per_address_and_ends_after_the_cool_off(client, street_clerk):
    for attempt in range(5):
        _login(client, "street_clerk", f"wrong-{attempt}")
    assert _login(client, "street_clerk", PASSWORD).status_code == 429

    # The same account from another address is not locked out.
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert _login(other, "street_clerk", PASSWORD).status_code == 302

    # 30 minutes after the last failure the pair may try again.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - dt.timedelta(minutes=31))
    response = _login(client, "street_clerk", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("grid:home")
    assert AuthLog.objects.filter(action="login").values_list("ip", flat=True).count() == 2
    assert set(AuthLog.objects.filter(action="login").values_list("ip", flat=True)) == {
        "10.1.2.3",
        "127.0.0.1",
    }


def test_the_admin_login_form_is_throttled_too(client, admin_user):
    for attempt in range(5):
        client.post(
            reverse("admin:login"), {"username": "admin_user", "password": f"wrong-{attempt}"}
        )
    response = client.post(reverse("admin:login"), {"username": "admin_user", "password": PASSWORD})
    assert response.status_code == 429
    assert client.get(reverse("admin:index")).status_code == 302
    assert collections.Counter(a for a, *_ in _log()) == {"failed": 5, "lockout": 2}


def test_axes_runs_in_the_test_suite():
    assert settings.AXES_ENABLED is True
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert (
        5,
        dt.timedelta(minutes=30),
    ) == (settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


# --- The login log ------------------------------------------------------------------------------


def test_failed_and_successful_logins_and_logouts_are_logged_with_address_and_browser(
    client, street_clerk
):
    agent = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux) TestBrowser/1.0"}
    assert (
        _login(client, "street_clerk", "wrong", REMOTE_ADDR="192.0.2.10", **agent).status_code
        == 200
    )
    assert _login(client, "nobody", "wrong", REMOTE_ADDR="192.0.2.11", **agent).status_code == 200
    assert (
        _login(client, "street_clerk", PASSWORD, REMOTE_ADDR="192.0.2.10", **agent).status_code
        == 302
    )
    assert client.post(reverse("grid:logout"), REMOTE_ADDR="192.0.2.10").status_code == 302

    assert _log() == [
        ("failed", "street_clerk", "street_clerk", "192.0.2.10"),
        ("failed", "nobody", None, "192.0.2.11"),
        ("login", "street_clerk", "street_clerk", "192.0.2.10"),
        ("logout", "street_clerk", "street_clerk", "192.0.2.10"),
    ]
    agents = list(AuthLog.objects.order_by("pk").values_list("user_agent", flat=True))
    assert agents == [agent["HTTP_USER_AGENT"]] * 3 + [""]
    first = AuthLog.objects.order_by("pk").first()
    assert abs((timezone.now() - first.at).total_seconds()) < 60


def test_a_long_user_agent_is_cut_to_the_column(client, street_clerk):
    _login(client, "street_clerk", "wrong", HTTP_USER_AGENT="x" * 1000)
    assert AuthLog.objects.get().user_agent == "x" * 255


def test_client_address_behind_trusted_proxies(settings):
    factory = RequestFactory()
    request = factory.get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.7"
    )
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "127.0.0.1"  # X-Forwarded-For is not trusted by default
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.7"  # what the one trusted proxy saw
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "198.51.100.9"
    settings.TRUSTED_PROXY_COUNT = 3  # fewer hops than proxies: fall back to the socket
    assert client_ip(request) == "127.0.0.1"
    junk = factory.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip")
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(junk) is None


def test_lockout_counts_the_address_the_trusted_proxy_saw(client, street_clerk, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for attempt in range(5):
        _login(client, "street_clerk", f"wrong-{attempt}", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert (
        _login(client, "street_clerk", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code
        == 429
    )
    # Another client behind the same proxy is not locked out.
    response = _login(client, "street_clerk", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert response.status_code == 302
    assert set(AuthLog.objects.values_list("ip", flat=True)) == {"203.0.113.7", "203.0.113.8"}


# --- Passwords and sessions ---------------------------------------------------------------------


def test_passwords_need_ten_characters(db):
    with pytest.raises(ValidationError) as error:
        validate_password("Kx7#mQ2p!")
    assert [e.code for e in error.value.error_list] == ["password_too_short"]
    validate_password("Kx7#mQ2p!z")
    with pytest.raises(ValidationError) as error:
        validate_password("1234567890")
    assert {e.code for e in error.value.error_list} == {
        "password_too_common",
        "password_entirely_numeric",
    }


def _expires_in(key: str) -> float:
    return (Session.objects.get(pk=key).expire_date - timezone.now()).total_seconds()


def _age_mark(client, seconds: int) -> None:
    """Pretend the session's last refresh was `seconds` ago."""
    session = client.session
    session[MARK] -= seconds
    session.save()


def test_sessions_end_after_30_idle_minutes(client, street_clerk):
    assert (settings.SESSION_COOKIE_AGE, settings.SESSION_REFRESH_SECONDS) == (1800, 60)
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
    client.force_login(street_clerk)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert 1790 < _expires_in(key) <= 1800

    # Within a minute of the last refresh a request writes nothing.
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + dt.timedelta(minutes=10))
    response = client.get(reverse("grid:home"))
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert 590 < _expires_in(key) <= 600

    # Later, the next request pushes the end back to 30 minutes from now.
    _age_mark(client, 61)
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + dt.timedelta(minutes=10))
    response = client.get(reverse("grid:home"))
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert (cookie.value, cookie["max-age"], cookie["httponly"], cookie["samesite"]) == (
        key,
        1800,
        True,
        "Lax",
    )
    assert 1790 < _expires_in(key) <= 1800

    # 30 idle minutes later the session is gone.
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get(reverse("grid:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("grid:login"))


def test_a_refresh_costs_no_query_until_due(client, street_clerk, django_assert_num_queries):
    client.force_login(street_clerk)
    client.get(reverse("grid:home"))
    with django_assert_num_queries(2):  # the session and the user, no write
        assert client.get(reverse("grid:login")).status_code == 302  # signed in already


def test_logging_out_does_not_revive_the_session(client, street_clerk):
    client.force_login(street_clerk)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    _age_mark(client, 61)
    client.post(reverse("grid:logout"))
    assert not Session.objects.filter(pk=key).exists()
    assert not Session.objects.exists()


# --- Content-Security-Policy --------------------------------------------------------------------


def _csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}


BASE_POLICY = {
    "default-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


def test_map_page_has_a_csp_with_a_nonce_and_no_unsafe_inline(client, street_clerk, hierarchy):
    client.force_login(street_clerk)
    response = client.get(reverse("grid:map"))
    assert response.status_code == 200
    policy = _csp(response)
    [nonce] = re.findall(r'<script nonce="([^"]+)">', response.content.decode())
    assert len(base64.b64decode(nonce)) >= 16
    assert policy == {**BASE_POLICY, "script-src": ["'self'", f"'nonce-{nonce}'"]}
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    # A new nonce for every response.
    again = re.findall(
        r'<script nonce="([^"]+)">', client.get(reverse("grid:map")).content.decode()
    )
    assert again != [nonce]


def test_pages_without_inline_script_allow_only_own_scripts(client, db):
    response = client.get(reverse("grid:login"))
    assert _csp(response) == {**BASE_POLICY, "script-src": ["'self'"]}
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_admin_map_widget_gets_the_nonce(admin_client, hierarchy):
    cell = hierarchy["cells"]["210204001001001"]
    response = admin_client.get(reverse("admin:grid_gridcell_change", args=[cell.pk]))
    nonces = set(re.findall(r'<script nonce="([^"]*)">', response.content.decode()))
    assert len(nonces) == 1 and "" not in nonces
    assert _csp(response)["script-src"] == ["'self'", f"'nonce-{nonces.pop()}'"]


# --- CSRF ---------------------------------------------------------------------------------------

# The one view that may skip CSRF: Open311's POST, authenticated by api_key (no cookies).
CSRF_EXEMPT_ALLOWED = {"open311.views.requests"}
# API authentication that never reads a cookie (the /api/v1/ token, issue #8).
HEADER_AUTH = {"api.authentication.ApiTokenAuthentication"}


def _views(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _views(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def test_no_view_skips_csrf_except_open311_post():
    exempt = []
    for route, callback in _views(get_resolver().url_patterns):
        if not getattr(callback, "csrf_exempt", False):
            continue
        cls = getattr(callback, "cls", None)
        if cls is not None and issubclass(cls, APIView):
            # DRF exempts its views from the middleware and enforces CSRF in SessionAuthentication,
            # the only way API requests may ride on the session cookie; the API token is read
            # from the Authorization header only, which a cross-site form cannot set.
            for auth in cls.authentication_classes:
                name = f"{auth.__module__}.{auth.__name__}"
                assert issubclass(auth, SessionAuthentication) or name in HEADER_AUTH, (route, auth)
            continue
        exempt.append(f"{callback.__module__}.{callback.__name__}")
    assert set(exempt) == CSRF_EXEMPT_ALLOWED


def test_project_code_names_csrf_exempt_once():
    found = []
    for path in BASE_DIR.rglob("*.py"):
        rel = path.relative_to(BASE_DIR)
        if rel.parts[0] in {".venv", "var", "tests", "node_modules"}:
            continue
        if "@csrf_exempt" in path.read_text(encoding="utf-8"):
            found.append(str(rel))
    assert found == ["open311/views.py"]


def test_forms_without_a_token_are_refused(db, street_clerk):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("grid:login"), {"username": "street_clerk", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert not AuthLog.objects.exists()


# --- Production settings (DEBUG=false), in a fresh interpreter ---------------------------------


# Settings the tests set themselves, and the variable tests/browser.py sets while Chromium runs
# (pytest-django runs the browser test before these non-database tests).
NOT_INHERITED = (
    "SECURE_",
    "SESSION_",
    "AXES_",
    "MAP_",
    "SECRET_KEY",
    "PERSONAL_DATA",
    "ALLOWED_HOSTS",
    "DEBUG",
    "TRUSTED_PROXY",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def _production_env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_INHERITED)}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="example.org",
        PERSONAL_DATA_INDEX_KEY="x",
        PERSONAL_DATA_KEYS=base64.urlsafe_b64encode(os.urandom(32)).decode(),
    )
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=180
    )


def test_check_deploy_is_clean_under_production_settings():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (1 silenced)."
    assert "WARNING" not in result.stderr


def test_production_refuses_the_development_secret_key():
    env = _production_env()
    del env["SECRET_KEY"]
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG=false"
        in result.stderr
    )


PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(HTTP_HOST="example.org")
plain = client.get("/accounts/login/")
tls = client.get("/accounts/login/", secure=True)
proxied = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
csrf = tls.cookies[settings.CSRF_COOKIE_NAME]
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "tls": tls.status_code,
    "proxied": proxied.status_code,
    "hsts": tls.get("Strict-Transport-Security"),
    "csp": tls.get("Content-Security-Policy"),
    "frame": tls.get("X-Frame-Options"),
    "referrer": tls.get("Referrer-Policy"),
    "csrf_cookie": [bool(csrf["secure"]), csrf["samesite"]],
    "session_cookie": [settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY,
                       settings.SESSION_COOKIE_AGE, settings.SESSION_REFRESH_SECONDS],
}))
"""


def test_production_responses_are_https_only_with_hsts_and_secure_cookies():
    env = _production_env(SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https")
    result = _run(["-c", PROBE], env)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["plain"] == [301, "https://example.org/accounts/login/"]
    assert (seen["tls"], seen["proxied"]) == (200, 200)
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"
    policy = {d.split()[0]: d.split()[1:] for d in seen["csp"].split(";") if d.strip()}
    assert policy == {**BASE_POLICY, "script-src": ["'self'"]}
    assert (seen["frame"], seen["referrer"]) == ("DENY", "same-origin")
    assert seen["csrf_cookie"] == [True, "Lax"]
    assert seen["session_cookie"] == [True, True, 1800, 60]


SETTINGS_PROBE = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({
    "img_src": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"],
    "session_age": settings.SESSION_COOKIE_AGE,
    "axes": settings.AXES_ENABLED,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
}))
"""


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {"img_src": ["'self'", "data:"], "session_age": 1800, "axes": True}),
        (
            {"MAP_BASEMAP": "tianditu", "MAP_TIANDITU_KEY": "k3y"},
            {"img_src": ["'self'", "data:", "https://*.tianditu.gov.cn"]},
        ),
        ({"MAP_BASEMAP": "tianditu"}, {"img_src": ["'self'", "data:"]}),  # no key: no tiles
        (
            {
                "MAP_BASEMAP": "xyz",
                "MAP_TILE_URL": "https://{s}.tiles.intranet:8443/{z}/{x}/{y}.png",
            },
            {"img_src": ["'self'", "data:", "https://*.tiles.intranet:8443"]},
        ),
        (
            {"MAP_BASEMAP": "xyz", "MAP_TILE_URL": "/tiles/{z}/{x}/{y}.png"},
            {"img_src": ["'self'", "data:"]},
        ),
        (
            {"SESSION_IDLE_SECONDS": "600", "AXES_ENABLED": "false"},
            {"session_age": 600, "axes": False},
        ),
        ({"SECURE_SSL_REDIRECT": "false"}, {"ssl_redirect": False}),
    ],
    ids=[
        "defaults",
        "tianditu",
        "tianditu-no-key",
        "xyz-host",
        "xyz-relative",
        "env",
        "no-redirect",
    ],
)
def test_settings_follow_the_environment(env, expected):
    result = _run(["-c", SETTINGS_PROBE], _production_env(**env))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert {k: seen[k] for k in expected} == expected


# --- The pages still work in a browser with the policy on ---------------------------------------


@pytest.mark.browser
@pytest.mark.urls("tests.accounts.urls")
def test_pages_raise_no_csp_violation_in_the_browser(
    transactional_db, browser_page, browser_login, hierarchy, admin_user
):
    page = browser_page
    violations = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    browser_login(page, admin_user)
    cell = hierarchy["cells"]["210204001001001"]
    page.goto("/map/")
    page.wait_for_selector('#gridmap[data-state="ready"][data-level="street"]')
    for url in [
        "/",
        "/petitions/",
        "/petitions/new/",
        "/mediation/",
        "/audit/",
        "/accounts/login/",
        reverse("admin:grid_gridcell_change", args=[cell.pk]),
    ]:
        assert page.goto(url).status == 200, url
        page.wait_for_load_state("networkidle")
    page.goto(reverse("admin:grid_gridcell_change", args=[cell.pk]))
    page.wait_for_selector(".leaflet-container .leaflet-overlay-pane path")
    assert violations == []
    assert page.js_errors == []
    assert page.blocked_requests == []
