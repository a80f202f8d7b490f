#!/usr/bin/env python
"""Request benchmarks through the real stack: gunicorn with the production settings, driven by wrk.

    .venv/bin/python bench/http_load.py --db postgis://postgres@127.0.0.1:5432/cg_bench_quick
        [--duration 15] [--clients 1,10,50] [--only intake,case_list,…] [--json out.json]

The server is `gunicorn -c deploy/gunicorn.conf.py` (3 sync workers on 2 CPUs)
with DEBUG=false and fresh secrets written to a temporary directory and passed as *_FILE variables,
as deploy/production.env.example does. The only departure from production is that wrk talks plain
HTTP to 127.0.0.1 where nginx would terminate TLS: wrk sends `X-Forwarded-Proto: https` exactly as
nginx does and the server trusts it through SECURE_PROXY_SSL_HEADER, which is the production
setting (deploy/CHECKLIST.md). So SECURE_SSL_REDIRECT, secure cookies and HSTS stay on, and the
CSRF check sees an https origin (wrk sends `Origin: https://127.0.0.1:<port>`).

Sessions are real rows: a district-bureau user (lists, case pages, dashboard, report) and a
street clerk (intake) are signed in with the server's SECRET_KEY; the CSRF cookie and token come
from a real GET of the intake form. Every scenario runs for --duration seconds at each client
count; a response other than the expected status (302 for the intake POST, 200 for the rest) is a
failure, as are socket errors and timeouts (30 s). Petitions the intake POST registered are
deleted afterwards (intake_token 'bench-…'), so the dataset stays as generated.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import http.client
import json
import math
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The project root instead of bench/ (a module there could shadow an installed package).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

DEFAULT_DB = "postgis://postgres@127.0.0.1:5432/cg_bench_quick"
REDIS_URL = "redis://127.0.0.1:6379/5"  # the bench's own Redis database (cache and broker)
LUA = HERE / "wrk.lua"
TIMEOUT_S = 30
# (name, label, p95 target at 10 clients in ms). The drill-down is the list of the records a
# figure counts (SPEC §5), a paginated list: the lists' 150 ms.
# The intake runs last: it writes thousands of cases, which changes the data version the report
# cache is keyed on and sets off autovacuum of the case tables, whose CPU would be counted
# against the scenarios after it (the Open311 list showed 24 instead of 6 ms of database CPU).
SCENARIOS = [
    ("case_list", "case list, filtered", 150),
    ("case_page", "case page", 150),
    ("choropleth", "cell choropleth GeoJSON", 300),
    ("drilldown", "dashboard drill-down (records)", 150),
    ("report", "monthly report page", 300),
    ("open311", "Open311 requests.json", 150),
    ("intake", "intake POST /petitions/new/", 150),
]
TARGET_CLIENTS = 10


def production_env(tmp: Path, db_url: str) -> dict[str, str]:
    """The production settings for this run: DEBUG off, secrets in files (mode 0600)."""

    def secret_file(name: str, value: str) -> str:
        path = tmp / name
        path.write_text(value + "\n", encoding="utf-8")
        path.chmod(0o600)
        return str(path)

    from cryptography.fernet import Fernet

    # Rows the dataset generator wrote under the development settings were encrypted with the key
    # derived from the development SECRET_KEY (config/settings.py); it is kept as a decrypt-only
    # second key, exactly as during a key rotation, so case pages can show those petitioners.
    dev_secret = "dev-only-insecure-key-change-me-in-production-0123456789"
    dev_key = base64.urlsafe_b64encode(
        hashlib.sha256(f"civicgrid-personal-data:{dev_secret}".encode()).digest()
    ).decode()
    keys = f"{Fernet.generate_key().decode()},{dev_key}"
    return {
        "DEBUG": "false",
        "DATABASE_URL": db_url,
        "CACHE_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY_FILE": secret_file("secret_key", secrets.token_urlsafe(50)),
        "PERSONAL_DATA_INDEX_KEY_FILE": secret_file("index_key", secrets.token_urlsafe(32)),
        "PERSONAL_DATA_KEYS_FILE": secret_file("data_keys", keys),
        # nginx terminates TLS in production and says so in this header (deploy/CHECKLIST.md).
        "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    }


def free_port() -> int:
    """A free port in the bench's range 8100–8199."""
    for port in range(8100, 8200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    sys.exit("no free port in 8100–8199")


def start_gunicorn(env: dict, port: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
    cmd += ["config.wsgi:application"]
    server_env = {**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    server_env["GUNICORN_LOG_LEVEL"] = "warning"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=server_env, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"gunicorn exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    sys.exit("gunicorn did not start within 60 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def bench_users():
    """(bureau, clerk): the district-bureau user of the first district and a street clerk of a
    street that has a street office, created once per database (bench_bureau, bench_clerk)."""
    from django.contrib.auth import get_user_model

    from accounts.models import Grant, Role
    from grid.models import District
    from grid.services.generations import generation_at
    from petitions.models import Organization

    district = District.objects.filter(generation=generation_at()).order_by("code").first()
    office = (
        Organization.objects.filter(
            kind=Organization.Kind.STREET_OFFICE,
            is_active=True,
            area_code__startswith=district.code if district else "-",
        )
        .order_by("area_code")
        .first()
    )
    if district is None or office is None:
        sys.exit("the bench database has no active district with a street office")
    users = []
    for username, role, area in (
        ("bench_bureau", Role.BUREAU, district.code),
        ("bench_clerk", Role.STREET_CLERK, office.area_code),
    ):
        user, _created = get_user_model().objects.get_or_create(username=username)
        Grant.objects.get_or_create(user=user, role=role, area_code=area)
        users.append(user)
    return users


def session_cookie(user) -> str:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)  # a real session row, signed with the server's SECRET_KEY
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class Http:
    """A tiny client speaking to gunicorn the way nginx forwards a browser's request."""

    def __init__(self, port: int, cookie: str):
        self.port, self.cookie = port, cookie

    def headers(self) -> dict[str, str]:
        return {
            "Host": f"127.0.0.1:{self.port}",
            "X-Forwarded-Proto": "https",
            "Cookie": self.cookie,
        }

    def get(self, path: str) -> tuple[int, dict, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)
        conn.request("GET", path, headers=self.headers())
        response = conn.getresponse()
        body = response.read().decode("utf-8", errors="replace")
        conn.close()
        return response.status, response.headers, body


def csrf_for_intake(client: Http) -> tuple[str, str, str]:
    """(csrf cookie, form token, intake form HTML) from a real GET of the intake page."""
    from django.conf import settings

    status, headers, body = client.get("/petitions/new/")
    if status != 200:
        sys.exit(f"GET /petitions/new/ answered {status}: {body[:300]}")
    name = settings.CSRF_COOKIE_NAME
    cookie = next(
        (c.split(";")[0] for c in headers.get_all("Set-Cookie") or [] if c.startswith(name + "=")),
        None,
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if cookie is None or token is None:
        sys.exit("the intake page set no CSRF cookie or token")
    return cookie, html.unescape(token.group(1)), body


def intake_body(form_html: str, csrf_token: str) -> str:
    """The intake POST as the form sends it: a located, non-anonymous letter with one petitioner.
    confirmed_new=1 is the clerk's "register as new" after the repeat suggestions, so every
    request registers a case (the suggestion search itself is not measured here)."""
    from urllib.parse import urlencode

    category = re.search(r'<select name="category"[^>]*>.*?<option value="(\d+)"', form_html, re.S)
    if category is None:
        sys.exit("the intake form offers no category")
    fields = {
        "csrfmiddlewaretoken": csrf_token,
        "intake_token": "{token}",
        "channel": "letter",
        "source": "own",
        "received_at": time.strftime("%Y-%m-%dT%H:%M"),
        "case_type": "appeal",
        "category": category.group(1),
        "summary": "小区电梯长期停运，要求物业尽快维修",
        "content": "压测登记：居民反映电梯停运已两周。",
        "address": "测试小区1号楼",
        "lng": "{lng}",
        "lat": "{lat}",
        "crs": "wgs84",
        "confirmed_new": "1",
        "petitioners-TOTAL_FORMS": "1",
        "petitioners-INITIAL_FORMS": "0",
        "petitioners-MIN_NUM_FORMS": "0",
        "petitioners-MAX_NUM_FORMS": "50",
        "petitioners-0-name": "王建国",
        "petitioners-0-id_number": "{id}",
        "petitioners-0-phone": "13800138000",
        "petitioners-0-address": "测试小区1号楼2单元",
    }
    # {placeholders} stay literal for wrk.lua to fill per request.
    return urlencode(fields, safe="{}")


def scenario_paths(bureau, period: str) -> dict[str, list[str]]:
    """The GET paths of each scenario, chosen from the data in the bureau's scope."""
    import random

    from accounts.scoping import petition_scope_q
    from petitions.models import Petition

    district = bureau.grants.exclude(area_code="").order_by("area_code").first().area_code
    street = (
        Petition.objects.filter(area_code__startswith=district)
        .exclude(area_code="")
        .values_list("area_code", flat=True)
        .first()
    )
    street = (street or district)[:9]
    scoped = Petition.objects.filter(petition_scope_q(bureau))
    low = scoped.order_by("pk").values_list("pk", flat=True).first()
    high = scoped.order_by("-pk").values_list("pk", flat=True).first()
    if low is None:
        sys.exit("the bench database has no petitions in the bureau's scope")
    rng = random.Random(2026)
    picks = [rng.randint(low, high) for _ in range(2000)]
    pages = list(scoped.filter(pk__in=picks).values_list("pk", flat=True)[:200])
    return {
        "case_list": [f"/petitions/?status=handling&area={street}"],
        "case_page": [f"/petitions/{pk}/" for pk in pages],
        "choropleth": [f"/api/v1/dashboard/choropleth/?level=cell&period={period}"],
        "drilldown": [
            f"/dashboard/report/records/?key=petitions_total&area={street}&period={period}"
        ],
        "report": [f"/dashboard/report/?period={period}&area={district}"],
        "open311": ["/open311/v2/requests.json"],
    }


def check_paths(client: Http, paths: dict[str, list[str]]) -> None:
    """Each scenario answers 200 once before it is measured (a broken page is no benchmark)."""
    for name, group in paths.items():
        status, _h, body = client.get(group[0])
        if status != 200:
            sys.exit(f"{name}: GET {group[0]} answered {status}: {body[:500]}")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> list[str] | None:
    """Fields 3… of /proc/<pid>/stat (after the command name, which may hold spaces)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def cpu_ticks(master: int, db_name: str) -> tuple[int, dict[int, int]]:
    """CPU clock ticks used so far by the app (gunicorn master, its live workers and the workers
    it has reaped) and by each PostgreSQL backend connected to the bench database. The machine
    is shared, so CPU time per request is the figure other load distorts least."""
    app, db = 0, {}
    for pid in (p.name for p in Path("/proc").iterdir() if p.name.isdigit()):
        fields = _stat(pid)
        if fields is None:
            continue
        used = int(fields[11]) + int(fields[12])  # utime + stime
        if int(pid) == master:
            # A reaped worker's whole life moves into cutime/cstime as it leaves the live sum,
            # so the difference of two samples is still the time used between them.
            app += used + int(fields[13]) + int(fields[14])
        elif int(fields[1]) == master:
            app += used
        else:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if cmd.startswith(b"postgres: ") and f" {db_name} ".encode() in cmd:
                db[int(pid)] = used
    return app, db


def cpu_ms_per_request(before, after, requests: int) -> tuple[float, float]:
    """(app, db) CPU ms per request between two cpu_ticks samples. A backend that closed in
    between (CONN_MAX_AGE, worker recycling) loses its last ticks: db is a slight undercount."""
    app = after[0] - before[0]
    db = sum(ticks - before[1].get(pid, 0) for pid, ticks in after[1].items())
    scale = 1000 / CLOCK_TICKS / max(requests, 1)
    return app * scale, db * scale


def settle(master: int, db_name: str, limit_s: float = 180) -> float:
    """Wait until the server has finished the requests wrk left queued when it stopped (at 50
    clients a slow page keeps the workers busy long after), so they do not slow the next run:
    until app and database together use under 5 % of a CPU for a second. Returns the wait."""
    start = time.monotonic()
    before = cpu_ticks(master, db_name)
    while time.monotonic() - start < limit_s:
        time.sleep(1)
        after = cpu_ticks(master, db_name)
        app, db = cpu_ms_per_request(before, after, 1)
        if app + db < 50:  # ms of CPU in the last second
            break
        before = after
    return time.monotonic() - start


def wrk(port: int, clients: int, duration: int, env: dict) -> dict:
    cmd = ["wrk", "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{duration}s"]
    cmd += ["--timeout", f"{TIMEOUT_S}s", "--latency", "-s", str(LUA), f"http://127.0.0.1:{port}"]
    out = subprocess.run(
        cmd, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        sys.exit(f"wrk failed ({out.returncode}): {out.stdout[-1000:]} {out.stderr[-1000:]}")
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = result["requests"] / result["duration_s"] if result["duration_s"] else 0.0
    return result


ACCESS_MS = re.compile(r'" \d{3} \S+ (\d+)ms ')


def server_times(log: Path, offset: int) -> dict:
    """Percentiles of the time gunicorn itself logged for each request of the run (its access
    log's duration field, from the request read to the response written): the server's side of
    wrk's latency, which also holds the wait in the listen queue and in wrk itself."""
    with open(log, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", errors="replace")
    times = sorted(int(m.group(1)) for m in ACCESS_MS.finditer(text))
    if not times:
        return {}

    def pct(p: float) -> float:
        return float(times[min(len(times) - 1, math.ceil(p / 100 * len(times)) - 1)])

    return {
        "server_requests": len(times),
        "server_p50_ms": pct(50),
        "server_p95_ms": pct(95),
        "server_p99_ms": pct(99),
        "server_max_ms": float(times[-1]),
    }


def delete_bench_petitions() -> int:
    from petitions.models import Petition

    doomed = Petition.objects.filter(intake_token__startswith="bench-")
    count = doomed.count()
    doomed.delete()
    return count


# What the request benchmarks write to: the intake's cases, petitioners, events, notices and
# receipt counters (deleted again afterwards), and the sessions every request updates.
WRITTEN = (
    "petitions_petition",
    "petitions_petitioner",
    "petitions_petitionevent",
    "petitions_document",
    "petitions_receiptcounter",
    "django_session",
)


def vacuum_written() -> float:
    """VACUUM (ANALYZE) what the request benchmarks write, before they start and after their
    cleanup; the seconds it took. Without it every run inherits the dead rows of the runs before
    (where autovacuum is off, as on the CI machines' PostgreSQL: after eight runs, 13,331 dead
    petitioner rows beside none alive and 13,465 dead session rows beside 46, and the intake's
    p95 at ten clients went 140 → 178 ms), or autovacuum cleans them up during a later scenario
    and its CPU is counted there."""
    from django.db import connection

    start = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) " + ", ".join(WRITTEN))
    return round(time.perf_counter() - start, 2)


def run(db_url: str, duration: int, clients: list[int], only: list[str]) -> dict:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: scripts/bootstrap.sh --bench")
    tmp = Path(tempfile.mkdtemp(prefix="cg-bench-"))
    env = production_env(tmp, db_url)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from dashboard.tasks import last_month

    period = str(last_month())
    from django.conf import settings

    db_name = settings.DATABASES["default"]["NAME"]
    bureau, clerk = bench_users()
    paths = scenario_paths(bureau, period)
    # A dead intake row left by an interrupted run goes too.
    delete_bench_petitions()
    vacuum_before = vacuum_written()
    port = free_port()
    log = tmp / "gunicorn.log"
    proc = start_gunicorn(env, port, log)
    results: dict = {
        "server": "gunicorn -c deploy/gunicorn.conf.py",
        "period": period,
        "vacuum_before_s": vacuum_before,
    }
    try:
        staff = Http(port, session_cookie(bureau))
        check_paths(staff, paths)
        clerk_session = session_cookie(clerk)
        csrf_cookie, csrf_token, form_html = csrf_for_intake(Http(port, clerk_session))
        bbox = intake_bbox()
        base_headers = f"X-Forwarded-Proto: https\nOrigin: https://127.0.0.1:{port}"
        for name, label, target in SCENARIOS:
            if only and name not in only:
                continue
            if name == "intake":
                scenario_env = {
                    "BENCH_PATHS": "/petitions/new/",
                    "BENCH_METHOD": "POST",
                    "BENCH_EXPECT": "302",
                    "BENCH_BODY": intake_body(form_html, csrf_token),
                    "BENCH_BBOX": ",".join(f"{v:.6f}" for v in bbox),
                    "BENCH_HEADERS": f"{base_headers}\nCookie: {clerk_session}; {csrf_cookie}",
                }
            else:
                scenario_env = {
                    "BENCH_PATHS": "\n".join(paths[name]),
                    "BENCH_HEADERS": f"{base_headers}\nCookie: {staff.cookie}",
                }
            rows = {}
            for c in clients:
                before = cpu_ticks(proc.pid, db_name)
                offset = log.stat().st_size
                rows[str(c)] = r = wrk(port, c, duration, scenario_env)
                after = cpu_ticks(proc.pid, db_name)
                r.update(server_times(log, offset))
                r["app_cpu_ms"], r["db_cpu_ms"] = cpu_ms_per_request(before, after, r["requests"])
                r["settle_s"] = settle(proc.pid, db_name)
                r["loadavg"] = os.getloadavg()[0]
                print(
                    f"  {name:<11} c={c:<3} {r['rps']:7.1f} req/s  p50 {r['p50_ms']:7.1f}  "
                    f"p95 {r['p95_ms']:7.1f}  p99 {r['p99_ms']:7.1f} ms  failed {r['failed']}  "
                    f"CPU/request app {r['app_cpu_ms']:.1f} + db {r['db_cpu_ms']:.1f} ms  "
                    f"server p95 {r.get('server_p95_ms', 0):.0f} ms  "
                    f"load {r['loadavg']:.1f}"
                    + (f" ({r['unexpected'].strip()})" if r["unexpected"] else ""),
                    flush=True,
                )
            results[name] = {"label": label, "target_p95_ms": target, "clients": rows}
    finally:
        stop(proc)
        removed = delete_bench_petitions()
        print(f"  removed {removed} petitions registered by the intake benchmark", flush=True)
        results["vacuum_after_s"] = vacuum_written()
        server_errors = [x for x in log.read_text(errors="replace").splitlines() if "Error" in x]
        results["server_error_lines"] = server_errors[:20]
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def intake_bbox() -> tuple[float, float, float, float]:
    """The active generation's district extent (random intake locations fall in it)."""
    from django.db import connection

    from grid.services.generations import generation_at

    generation = generation_at()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM grid_district WHERE generation_id = %s) x",
            [generation.pk],
        )
        return tuple(cur.fetchone())


def verdicts(results: dict) -> list[tuple[str, int, float, float, int, str]]:
    """(scenario, clients, req/s, p95, failures, verdict) rows; the verdict only at 10 clients."""
    rows = []
    for name, _label, target in SCENARIOS:
        for c, r in results.get(name, {}).get("clients", {}).items():
            verdict = ""
            if int(c) == TARGET_CLIENTS:
                met = r["p95_ms"] <= target and r["failed"] == 0
                verdict = f"≤ {target} ms " + ("ok" if met else "MISSED")
            rows.append((name, int(c), r["rps"], r["p95_ms"], r["failed"], verdict))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--duration", type=int, default=15, help="seconds per scenario and load")
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    only = [x for x in args.only.split(",") if x]
    results = run(args.db, args.duration, clients, only)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
