"""The deployment files in deploy/: each is read by the tool that will read it in production where
that tool is here (nginx, gunicorn, Django's deploy checks, bash), and parsed and checked otherwise
(compose file, systemd units, Dockerfile: no container engine or systemd runs here)."""

import base64
import configparser
import gzip
import http.client
import json
import os
import re
import runpy
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / "production.env.example"


def _env_example() -> tuple[dict[str, str], dict[str, str]]:
    """(active KEY=value lines, commented-out #KEY=value lines) of production.env.example."""
    active, optional = {}, {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if m := re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line):
            assert m[1] not in active, f"{m[1]} set twice"
            active[m[1]] = m[2]
        elif m := re.fullmatch(r"#([A-Z][A-Z0-9_]*)=(.*)", line):
            optional[m[1]] = m[2]
    return active, optional


def _settings_env_names() -> tuple[set[str], set[str]]:
    """(plain variables, secrets read as NAME or NAME_FILE) that config/settings.py reads."""
    text = (ROOT / "config" / "settings.py").read_text(encoding="utf-8")
    plain = set(re.findall(r'\benv(?:\.[a-z_]+)?\(\s*"([A-Z][A-Z0-9_]*)"', text))
    secret = set(re.findall(r'\benv_secret\(\s*"([A-Z][A-Z0-9_]*)"', text))
    return plain, secret


# --- production.env.example ---------------------------------------------------------------------


def test_env_example_names_every_setting_the_app_reads():
    active, optional = _env_example()
    documented = set(active) | set(optional)
    plain, secret = _settings_env_names()
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "ALLOWED_HOSTS", "MAP_BASEMAP"} <= plain
    assert {"SECRET_KEY", "PERSONAL_DATA_INDEX_KEY"} <= secret
    assert plain - documented == set(), "settings read these; add them to production.env.example"
    assert {f"{name}_FILE" for name in secret} - documented == set()
    # Also those the deployment adds: the replica and the backup script's.
    assert optional["DATABASE_REPLICA_URL"].startswith("postgis://")
    assert active["BACKUP_DIR"] == "/var/backups/civicgrid"
    assert active["BACKUP_KEEP_DAYS"] == "14"


def test_env_example_is_production_shaped():
    active, _optional = _env_example()
    assert active["DEBUG"] == "false"
    assert active["DATABASE_URL"].startswith("postgis://")
    assert active["CELERY_BROKER_URL"].startswith("redis://")
    assert active["ALLOWED_HOSTS"] and "*" not in active["ALLOWED_HOSTS"]
    assert active["MAP_BASEMAP"] == "none"
    assert active["SECURE_PROXY_SSL_HEADER"] == "HTTP_X_FORWARDED_PROTO,https"
    assert active["TRUSTED_PROXY_COUNT"] == "1"
    # Secrets only ever come from files.
    _plain, secret = _settings_env_names()
    assert {"SECRET_KEY", "PERSONAL_DATA_INDEX_KEY", "PERSONAL_DATA_KEYS"} <= secret
    for name in secret:
        assert name not in active, f"{name} must not be written in the env file"
    for name in ("SECRET_KEY_FILE", "PERSONAL_DATA_INDEX_KEY_FILE", "PERSONAL_DATA_KEYS_FILE"):
        assert active[name].startswith("/etc/civicgrid/")
    # The systemd EnvironmentFile format: no quotes, no spaces around "=", no inline comments.
    for key, value in active.items():
        assert value == value.strip() and '"' not in value and "'" not in value, key
        assert " #" not in value, key


def test_shell_scripts_read_the_env_example_like_systemd():
    active, _optional = _env_example()
    script = (
        ". deploy/lib.sh && load_env_file deploy/production.env.example && "
        'python3 -c "import json, os; print(json.dumps(dict(os.environ)))"'
    )
    out = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, env={}
    )
    loaded = json.loads(out.stdout)
    assert {k: loaded.get(k) for k in active} == active


@pytest.mark.parametrize(
    ("url", "libpq", "name", "maintenance"),
    [
        (
            "postgis://civicgrid:pw@10.0.0.5:5432/civicgrid",
            "postgresql://civicgrid:pw@10.0.0.5:5432/civicgrid",
            "civicgrid",
            "postgresql://civicgrid:pw@10.0.0.5:5432/postgres",
        ),
        (
            "postgres://u@db/cg_x?sslmode=require",
            "postgresql://u@db/cg_x?sslmode=require",
            "cg_x",
            "postgresql://u@db/postgres?sslmode=require",
        ),
    ],
)
def test_scripts_turn_django_urls_into_libpq_uris(url, libpq, name, maintenance):
    script = '. deploy/lib.sh && u=$(libpq_uri "$1") && echo "$u" && pg_database_name "$u" && pg_maintenance_uri "$u"'
    out = subprocess.run(
        ["bash", "-c", script, "-", url], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.splitlines() == [libpq, name, maintenance]


def test_scripts_refuse_a_spatialite_database(tmp_path):
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": "spatialite:///tmp/x.sqlite3"}
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"")
    for args in ([DEPLOY / "backup.sh"], [DEPLOY / "restore.sh", dump]):
        result = subprocess.run(
            [str(a) for a in args], cwd=ROOT, capture_output=True, text=True, env=env
        )
        assert result.returncode == 1
        assert "DATABASE_URL must be a PostgreSQL URL (postgis://...), not spatialite://..." in (
            result.stderr
        )


def test_scripts_parse_and_are_executable():
    for script in ("backup.sh", "restore.sh", "manage.sh", "lib.sh", "docker-entrypoint.sh"):
        shell = "sh" if script == "docker-entrypoint.sh" else "bash"
        subprocess.run([shell, "-n", str(DEPLOY / script)], check=True)
    for script in ("backup.sh", "restore.sh", "manage.sh", "docker-entrypoint.sh"):
        assert os.access(DEPLOY / script, os.X_OK), f"{script} is not executable"


def _deploy_env_file(tmp_path) -> Path:
    """production.env.example with its secret files made real (fresh keys) and paths in tmp."""
    keys = {
        "SECRET_KEY_FILE": secrets.token_urlsafe(50),
        "PERSONAL_DATA_INDEX_KEY_FILE": secrets.token_urlsafe(32),
        "PERSONAL_DATA_KEYS_FILE": base64.urlsafe_b64encode(os.urandom(32)).decode(),  # Fernet
    }
    paths = {"STATIC_ROOT": tmp_path / "static", "MEDIA_ROOT": tmp_path / "media"}
    for name, value in keys.items():
        paths[name] = tmp_path / name.lower()
        paths[name].write_text(value + "\n")
    lines = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        key = line.split("=", 1)[0]
        lines.append(f"{key}={paths[key]}" if key in paths else line)
    env_file = tmp_path / "civicgrid.env"
    env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return env_file


def _manage_sh(env_file: Path, *args) -> subprocess.CompletedProcess:
    """deploy/manage.sh, as systemd would run the app: only the env file's settings."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(CIVICGRID_ENV_FILE=str(env_file), CIVICGRID_PYTHON=sys.executable)
    return subprocess.run(
        [str(DEPLOY / "manage.sh"), *args],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_django_deploy_checks_pass_with_the_example_env(tmp_path):
    """`manage.py check --deploy` (no database needed) with the production settings: no security
    warning. The env file's DATABASE_URL and broker are read, not contacted."""
    env_file = _deploy_env_file(tmp_path)
    result = _manage_sh(env_file, "check", "--deploy")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "security." not in output, output
    shown = _manage_sh(
        env_file,
        "shell",
        "-c",
        "from django.conf import settings as s; print('SETTINGS', s.DEBUG,"
        " s.DATABASES['default']['ENGINE'], s.SECURE_PROXY_SSL_HEADER,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.STATIC_ROOT)",
    )
    assert shown.returncode == 0, shown.stderr
    line = next(x for x in shown.stdout.splitlines() if x.startswith("SETTINGS "))
    assert line.split()[1:] == [
        "False",
        "django.contrib.gis.db.backends.postgis",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
        "True",
        "True",
        str(tmp_path / "static"),
    ]


# --- gunicorn ------------------------------------------------------------------------------------


def test_gunicorn_config_values(monkeypatch):
    for name in list(os.environ):
        if name.startswith("GUNICORN_") or name == "FORWARDED_ALLOW_IPS":
            monkeypatch.delenv(name)
    conf = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    cpus = os.cpu_count()
    assert conf["bind"] == "127.0.0.1:8001"
    # CPU-bound requests: one single-threaded process per request, taken from one listen queue
    # (issue #9).
    assert (conf["worker_class"], conf["threads"]) == ("sync", 1)
    assert conf["workers"] == min(cpus + 1, 12)
    assert (conf["timeout"], conf["graceful_timeout"]) == (60, 30)
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (10000, 1000)
    assert conf["accesslog"] == "-"
    # Paths only: query strings (searches for names, identity numbers) stay out of the log.
    assert "%(U)s" in conf["access_log_format"]
    assert "%(r)s" not in conf["access_log_format"] and "%(q)s" not in conf["access_log_format"]
    assert "%({x-request-id}i)s" in conf["access_log_format"]
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "4")
    monkeypatch.setenv("GUNICORN_BIND", "0.0.0.0:8001")
    conf = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert (conf["workers"], conf["threads"], conf["bind"]) == (3, 4, "0.0.0.0:8001")
    assert conf["worker_class"] == "gthread"  # threads need the threaded worker
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "sync")
    assert runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["worker_class"] == "sync"


def test_gunicorn_accepts_the_config_and_loads_the_app():
    gunicorn = Path(sys.executable).parent / "gunicorn"
    assert gunicorn.exists(), "gunicorn is a dependency in pyproject.toml"
    result = subprocess.run(
        [
            str(gunicorn),
            "--check-config",
            "--config",
            "deploy/gunicorn.conf.py",
            "config.wsgi:application",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- nginx ---------------------------------------------------------------------------------------

NGINX_PLACEHOLDERS = {
    "CIVICGRID_SERVER_NAME",
    "CIVICGRID_TLS_CERT",
    "CIVICGRID_TLS_KEY",
    "CIVICGRID_UPSTREAM",
    "CIVICGRID_STATIC_ROOT",
    "CIVICGRID_MEDIA_ROOT",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nginx() -> str:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    assert nginx, (
        "nginx is not installed: apt-get install nginx-light (scripts/bootstrap.sh --test)"
    )
    return nginx


@pytest.fixture
def nginx_site(tmp_path):
    """The site file filled in as the README says (envsubst), a self-signed certificate, static
    and media directories, and an nginx.conf that includes the site (paths in tmp)."""
    assert shutil.which("envsubst"), "envsubst is not installed: apt-get install gettext-base"
    assert shutil.which("openssl"), "openssl is not installed: apt-get install openssl"
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=civicgrid.test", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    static, media = tmp_path / "static", tmp_path / "media"
    (static / "grid").mkdir(parents=True)
    (media / "attachments").mkdir(parents=True)
    (static / "grid" / "map.css").write_text(".map { height: 100%; }\n" * 200)
    (media / "attachments" / "letter.txt").write_text("来信原文\n", encoding="utf-8")
    values = {
        "CIVICGRID_SERVER_NAME": "civicgrid.test",
        "CIVICGRID_TLS_CERT": str(cert),
        "CIVICGRID_TLS_KEY": str(key),
        "CIVICGRID_UPSTREAM": "127.0.0.1:9",  # replaced by the live test's upstream
        "CIVICGRID_STATIC_ROOT": str(static),
        "CIVICGRID_MEDIA_ROOT": str(media),
    }
    template = (DEPLOY / "nginx" / "civicgrid.conf").read_text()
    assert set(re.findall(r"\$\{([A-Z_]+)\}", template)) == NGINX_PLACEHOLDERS
    names = " ".join(f"${{{n}}}" for n in sorted(NGINX_PLACEHOLDERS))
    filled = subprocess.run(
        ["envsubst", names], input=template, capture_output=True, text=True, check=True,
        env={**os.environ, **values},
    ).stdout  # fmt: skip
    assert re.search(r"\$\{CIVICGRID_[A-Z_]+\}", filled) is None
    assert "$host$request_uri" in filled and "$proxy_add_x_forwarded_for" in filled
    site = tmp_path / "civicgrid.conf"
    site.write_text(filled)
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read pytest's 0700 tmp dirs
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"""{user}
worker_processes 1;
pid {tmp_path}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {tmp_path}/client_body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {site};
}}
"""
    )
    return {"dir": tmp_path, "site": site, "main": main, "static": static, "media": media}


def test_nginx_accepts_the_site(nginx_site):
    d = nginx_site["dir"]
    result = subprocess.run(
        [_nginx(), "-t", "-p", str(d), "-c", str(nginx_site["main"]), "-e", str(d / "error.log")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_site_text():
    conf = (DEPLOY / "nginx" / "civicgrid.conf").read_text()
    assert "client_max_body_size 25m;" in conf
    gzip_types = re.search(r"gzip_types([^;]+);", conf)[1].split()
    for mime in ("application/json", "application/geo+json", "text/xml", "text/css",
                 "application/javascript"):  # fmt: skip
        assert mime in gzip_types
    assert re.search(r"location /media/ \{\s*internal;", conf)
    assert re.search(
        r"location /static/ \{\s*alias \$\{CIVICGRID_STATIC_ROOT\}/;\s*expires 1y;", conf
    )
    for header in ("Host $host", "X-Forwarded-For $proxy_add_x_forwarded_for",
                   "X-Forwarded-Proto $scheme", "X-Request-ID $request_id"):  # fmt: skip
        assert f"proxy_set_header {header};" in conf


# What SecurityMiddleware sends under production settings (SECURE_HSTS_SECONDS=31536000,
# SECURE_HSTS_INCLUDE_SUBDOMAINS, SECURE_HSTS_PRELOAD): test_hsts_has_one_source checks it.
DJANGO_HSTS = "max-age=31536000; includeSubDomains; preload"


def test_hsts_has_one_source(tmp_path):
    """Django sets HSTS in production; the nginx site neither adds nor hides one, so a response
    carries exactly Django's header (a second nginx copy would disagree on preload)."""
    conf = (DEPLOY / "nginx" / "civicgrid.conf").read_text()
    directives = [line.split("#")[0] for line in conf.splitlines()]
    assert not [d for d in directives if "strict-transport-security" in d.lower()]
    # The header Django's SecurityMiddleware sends under the production env file.
    shown = _manage_sh(
        _deploy_env_file(tmp_path),
        "shell",
        "-c",
        "from django.http import HttpResponse; from django.test import RequestFactory;"
        " from django.middleware.security import SecurityMiddleware;"
        " r = RequestFactory().get('/', secure=True, HTTP_X_FORWARDED_PROTO='https');"
        " print('HSTS', SecurityMiddleware(lambda q: HttpResponse())(r)"
        "['Strict-Transport-Security'])",
    )
    assert shown.returncode == 0, shown.stderr
    line = next(x for x in shown.stdout.splitlines() if x.startswith("HSTS "))
    assert line == f"HSTS {DJANGO_HSTS}"


class _Upstream(BaseHTTPRequestHandler):
    """Stands in for gunicorn: echoes what nginx forwarded, answers with X-Accel-Redirect."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body: bytes, content_type: str, **headers):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/echo":
            seen = {h: self.headers.get(h) for h in (
                "Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-IP", "X-Request-ID")}  # fmt: skip
            body = json.dumps({"seen": seen, "pad": "x" * 4000}).encode()
            # Django's own copy of a header nginx sets: nginx must send only its own. HSTS is
            # Django's alone (as SECURE_HSTS_* make it): nginx passes it through, once.
            self._send(
                200,
                body,
                "application/json",
                X_Frame_Options="SAMEORIGIN",
                Strict_Transport_Security=DJANGO_HSTS,
            )
        elif self.path == "/cells.geojson":
            feature = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [121.5, 38.9]},
            }
            body = json.dumps({"type": "FeatureCollection", "features": [feature] * 200}).encode()
            self._send(200, body, "application/geo+json")
        elif self.path == "/attachment":
            self._send(
                200,
                b"",
                "text/plain; charset=utf-8",
                X_Accel_Redirect="/media/attachments/letter.txt",
                Content_Disposition='attachment; filename="letter.txt"',
            )
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        received = len(self.rfile.read(length))
        self._send(200, str(received).encode(), "text/plain")


@pytest.fixture
def live_nginx(nginx_site):
    """nginx running the site on free ports, in front of the stand-in upstream."""
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    http_port, https_port = _free_port(), _free_port()
    site = nginx_site["site"]
    text = site.read_text().replace("127.0.0.1:9", f"127.0.0.1:{upstream.server_address[1]}")
    text = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)  # IPv6 may be off in test machines
    text = text.replace("listen 80 ", f"listen 127.0.0.1:{http_port} ")
    text = text.replace("listen 443 ", f"listen 127.0.0.1:{https_port} ")
    site.write_text(text)
    d = nginx_site["dir"]
    proc = subprocess.Popen(
        [_nginx(), "-p", str(d), "-c", str(nginx_site["main"]), "-e", str(d / "error.log"),
         "-g", "daemon off;"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.05)
        else:
            pytest.fail("nginx did not start listening")
        yield {"http": http_port, "https": https_port, **nginx_site}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        upstream.shutdown()
        upstream.server_close()


def _https(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)


def _get(port, path, **headers):
    conn = _https(port)
    conn.request("GET", path, headers={"Host": "civicgrid.test", **headers})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


def test_nginx_serves_the_site(live_nginx):
    port = live_nginx["https"]

    # Plain HTTP redirects to HTTPS.
    conn = http.client.HTTPConnection("127.0.0.1", live_nginx["http"], timeout=10)
    conn.request("GET", "/petitions/?q=x", headers={"Host": "civicgrid.test"})
    resp = conn.getresponse()
    assert (resp.status, resp.getheader("Location")) == (
        301,
        "https://civicgrid.test/petitions/?q=x",
    )
    conn.close()

    # Static files: from STATIC_ROOT, cached for a year, compressed.
    resp, body = _get(port, "/static/grid/map.css", **{"Accept-Encoding": "gzip"})
    assert resp.status == 200
    assert resp.getheader("Cache-Control") == "max-age=31536000"
    assert resp.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(body) == (live_nginx["static"] / "grid" / "map.css").read_bytes()
    # HSTS has one source, Django: nginx adds none of its own, not even to static files.
    assert resp.getheader("Strict-Transport-Security") is None

    # Media: never directly ...
    resp, _body = _get(port, "/media/attachments/letter.txt")
    assert resp.status == 404
    # ... only when the application says so, through X-Accel-Redirect.
    resp, body = _get(port, "/attachment")
    assert resp.status == 200
    assert body.decode() == "来信原文\n"
    assert resp.getheader("Content-Disposition") == 'attachment; filename="letter.txt"'
    assert resp.getheader("X-Accel-Redirect") is None

    # Proxied: the forwarded headers, nginx's security headers once each, gzip for JSON.
    resp, body = _get(port, "/echo", **{"Accept-Encoding": "gzip"})
    assert resp.status == 200
    assert resp.getheader("Content-Encoding") == "gzip"
    seen = json.loads(gzip.decompress(body))["seen"]
    assert seen["Host"] == "civicgrid.test"
    assert seen["X-Forwarded-Proto"] == "https"
    assert seen["X-Forwarded-For"] == "127.0.0.1"
    assert seen["X-Real-IP"] == "127.0.0.1"
    assert re.fullmatch(r"[0-9a-f]{32}", seen["X-Request-ID"])
    headers = resp.getheaders()
    assert [v for k, v in headers if k.lower() == "x-frame-options"] == ["DENY"]
    assert [v for k, v in headers if k.lower() == "x-content-type-options"] == ["nosniff"]
    assert [v for k, v in headers if k.lower() == "referrer-policy"] == ["same-origin"]
    assert [v for k, v in headers if k.lower() == "strict-transport-security"] == [DJANGO_HSTS]

    # GeoJSON is compressed too.
    resp, body = _get(port, "/cells.geojson", **{"Accept-Encoding": "gzip"})
    assert resp.getheader("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(body))["type"] == "FeatureCollection"


def test_nginx_upload_limit_is_25_mb(live_nginx):
    port = live_nginx["https"]
    # 2 MB (above nginx's 1 MB default) reaches the application.
    conn = _https(port)
    conn.request(
        "POST", "/upload", body=b"x" * (2 * 1024 * 1024), headers={"Host": "civicgrid.test"}
    )
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (200, str(2 * 1024 * 1024).encode())
    conn.close()
    # Above 25 MB: refused from the Content-Length alone, before the body is sent.
    conn = _https(port)
    conn.putrequest("POST", "/upload", skip_host=True)
    conn.putheader("Host", "civicgrid.test")
    conn.putheader("Content-Length", str(25 * 1024 * 1024 + 1))
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()


# --- systemd -------------------------------------------------------------------------------------


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    assert parser.read(DEPLOY / "systemd" / name, encoding="utf-8") != []
    return parser


@pytest.mark.parametrize(
    ("unit", "command"),
    [
        (
            "civicgrid-web.service",
            "/srv/civicgrid/.venv/bin/gunicorn --config /srv/civicgrid/deploy/gunicorn.conf.py "
            "config.wsgi:application",
        ),
        (
            "civicgrid-worker.service",
            "/srv/civicgrid/.venv/bin/celery -A config worker -Q default,imports,reports",
        ),
        ("civicgrid-beat.service", "/srv/civicgrid/.venv/bin/celery -A config beat"),
    ],
)
def test_systemd_units(unit, command):
    u = _unit(unit)
    assert set(u.sections()) == {"Unit", "Service", "Install"}
    s = u["Service"]
    assert s["ExecStart"].startswith(command)
    assert s["EnvironmentFile"] == "/etc/civicgrid/civicgrid.env"
    assert (s["User"], s["Group"]) == ("civicgrid", "civicgrid")
    assert s["WorkingDirectory"] == "/srv/civicgrid"
    assert s["NoNewPrivileges"] == "true"
    assert s["ProtectSystem"] == "strict"
    assert s["ReadWritePaths"].split() == ["/var/lib/civicgrid", "/srv/civicgrid/var"]
    assert s["PrivateTmp"] == "true"
    assert s["ProtectHome"] == "true"
    assert s["CapabilityBoundingSet"] == ""
    assert s["Restart"] == "on-failure"
    assert u["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in u["Unit"]["After"]
    assert "MemoryDenyWriteExecute" not in s  # WeasyPrint's cffi needs W+X memory


def test_systemd_web_and_beat_specifics():
    web = _unit("civicgrid-web.service")["Service"]
    assert web["Type"] == "notify"  # gunicorn tells systemd when it is ready
    assert web["ExecReload"] == "/bin/kill -s HUP $MAINPID"
    beat = _unit("civicgrid-beat.service")["Service"]
    # ProtectSystem=strict: beat's schedule must be in a writable path.
    assert "--schedule /var/lib/civicgrid/celerybeat-schedule" in beat["ExecStart"]
    worker = _unit("civicgrid-worker.service")["Service"]
    assert worker["KillSignal"] == "SIGTERM"  # Celery's warm shutdown
    assert int(worker["TimeoutStopSec"]) >= 60


def test_systemd_backup_timer():
    service = _unit("civicgrid-backup.service")["Service"]
    assert service["Type"] == "oneshot"
    assert service["ExecStart"] == "/srv/civicgrid/deploy/backup.sh"
    assert service["EnvironmentFile"] == "/etc/civicgrid/civicgrid.env"
    assert service["ReadWritePaths"] == "/var/backups/civicgrid"
    timer = _unit("civicgrid-backup.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 02:30:00"
    assert timer["Timer"]["Persistent"] == "true"


# --- docker compose and the image ----------------------------------------------------------------


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_compose_services_and_images(compose):
    services = compose["services"]
    assert set(services) == {"db", "redis", "web", "worker", "beat", "nginx"}
    assert services["db"]["image"] == "postgis/postgis:15-3.3"
    assert services["redis"]["image"] == "redis:7"
    assert services["nginx"]["image"].startswith("nginx:")
    for name in ("web", "worker", "beat"):
        svc = services[name]
        assert svc["image"] == "civicgrid:latest"
        assert svc["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert (DEPLOY / "Dockerfile").is_file()
    assert services["worker"]["command"][:6] == ["celery", "-A", "config", "worker", "-Q",
                                                 "default,imports,reports"]  # fmt: skip
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert services["web"]["command"][0] == "gunicorn"
    assert "deploy/gunicorn.conf.py" in services["web"]["command"]
    assert set(compose["volumes"]) >= {"pgdata", "redisdata", "media", "static"}


def test_compose_environment(compose):
    services = compose["services"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DEBUG"] == "false"
        assert env["DATABASE_URL"].startswith("postgis://civicgrid:${POSTGRES_PASSWORD")
        assert env["DATABASE_URL"].endswith("@db:5432/civicgrid")
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert env["SECRET_KEY_FILE"] == "/run/secrets/secret_key"
        assert env["PERSONAL_DATA_INDEX_KEY_FILE"] == "/run/secrets/personal_data_index_key"
        assert env["PERSONAL_DATA_KEYS_FILE"] == "/run/secrets/personal_data_keys"
        assert env["MEDIA_ROOT"] == "/var/lib/civicgrid/media"
        assert services[name]["env_file"] == ".env"
        assert set(services[name]["secrets"]) == {
            "secret_key",
            "personal_data_index_key",
            "personal_data_keys",
        }
    web = services["web"]["environment"]
    assert web["GUNICORN_BIND"] == "0.0.0.0:8001"
    assert web["CIVICGRID_MIGRATE_ON_START"] == "1"
    for name in ("worker", "beat"):
        assert "CIVICGRID_MIGRATE_ON_START" not in services[name]["environment"]
    db = services["db"]["environment"]
    assert (db["POSTGRES_DB"], db["POSTGRES_USER"]) == ("civicgrid", "civicgrid")
    nginx = services["nginx"]
    assert nginx["environment"]["CIVICGRID_UPSTREAM"] == "web:8001"
    assert set(nginx["environment"]) >= NGINX_PLACEHOLDERS
    assert (
        "./nginx/civicgrid.conf:/etc/nginx/templates/civicgrid.conf.template:ro" in nginx["volumes"]
    )
    assert "media:/var/lib/civicgrid/media:ro" in nginx["volumes"]
    assert "static:/var/lib/civicgrid/static:ro" in nginx["volumes"]
    assert "media:/var/lib/civicgrid/media" in services["web"]["volumes"]
    assert "media:/var/lib/civicgrid/media" in services["worker"]["volumes"]
    assert "static:/var/lib/civicgrid/static:ro" in services["worker"]["volumes"]


def test_compose_health_and_start_order(compose):
    services = compose["services"]
    for name in ("db", "redis", "web", "worker", "beat", "nginx"):
        assert services[name]["healthcheck"]["test"], name
    healthy = {"condition": "service_healthy"}
    assert services["web"]["depends_on"] == {"db": healthy, "redis": healthy}
    # Worker and beat start once web has migrated the database.
    assert services["worker"]["depends_on"] == {"web": healthy, "redis": healthy}
    assert services["beat"]["depends_on"] == {"web": healthy, "redis": healthy}
    assert services["nginx"]["depends_on"] == {"web": healthy}
    assert services["redis"]["command"][:3] == ["redis-server", "--appendonly", "yes"]
    assert services["nginx"]["ports"] == ["80:80", "443:443"]


def test_compose_web_healthcheck_script_is_valid_python(compose):
    test = compose["services"]["web"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    compile(test[3], "healthcheck", "exec")


def test_dockerfile():
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.splitlines()[3] == "FROM python:3.11-slim-bookworm"
    apt = re.search(r"apt-get install -y --no-install-recommends(.*?)&& rm", text, re.S)[1].split()
    apt = [p for p in apt if p != "\\"]
    for package in ("gdal-bin", "libgeos-c1v5", "libproj25", "libsqlite3-mod-spatialite",
                    "libpango-1.0-0", "libpangoft2-1.0-0", "fonts-noto-cjk", "gettext",
                    "postgresql-client"):  # fmt: skip
        assert package in apt
    # Dependencies from pyproject.toml as scripts/bootstrap.sh reads them; no editable install.
    assert 'tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]' in text
    assert "pip install -r /tmp/requirements.txt" in text
    assert "pip install -e" not in text and "pip install ." not in text
    assert "manage.py compilemessages" in text
    assert "manage.py collectstatic --no-input" in text
    assert "USER civicgrid" in text
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", "var", ".git", "deploy/secrets", "deploy/tls", "deploy/.env"} <= set(ignored)
    # The snippet the Dockerfile runs really lists the project's dependencies.
    snippet = re.search(r"python -c '([^']+)'", text)[1]
    out = subprocess.run(
        [sys.executable, "-c", snippet], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "Django>=5.2,<5.3" in out.stdout.splitlines()
    assert not any(line.startswith("pytest") for line in out.stdout.splitlines())
