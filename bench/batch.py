#!/usr/bin/env python
"""Batch benchmarks on PostGIS: time and peak memory of the work that runs without a user waiting.

    .venv/bin/python bench/batch.py --db postgis://postgres@127.0.0.1:5432/cg_bench_quick
        [--points 1000000] [--runs 3] [--ledger-rows 100000] [--only locate,ledger,…] [--json out]

- locate: bulk placement of N random points (bench/locate.py's measure: grid_assign_cells beside
  the raw `UPDATE … FROM`, median of --runs, alternating order);
- lookup: bench/locate.py's single-point measures — grid_locate in-process beside the same lookup
  as one raw statement, and GET /api/v1/grid/locate over HTTP (gunicorn), p50/p95/p99;
- ledger: importing an N-row ledger CSV (bench/ledger_rows.py writes it) with
  `manage.py ledger_import --commit` as the bureau; the imported petitions are deleted afterwards;
- snapshot: freezing last month's official report for the city (every district and street;
  dashboard.services.snapshot_freeze) after removing that month's snapshots;
- asof: regenerating a past month's report as of 5 days after its end (figures_for_areas with
  as_of), for the second month of the data and for the last month — a month's report must cost
  the same whatever history came before it (the ratio late/early is printed).

Each task runs in a fresh child process; its peak RSS is the kernel's high-water mark of that
process (VmHWM, read by the child when its task is done — not ru_maxrss, which Linux carries over
from the forking parent across exec), and the peak anonymous memory of its PostgreSQL backend is
sampled every 50 ms from /proc (the database does the set-based work). Memory must stay flat as rows grow: compare modes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The project root instead of bench/ (a module there could shadow an installed package).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

DEFAULT_DB = "postgis://postgres@127.0.0.1:5432/cg_bench_quick"
TASKS = ["locate", "lookup", "ledger", "snapshot", "asof"]
BENCH_ORG_USER = "bench_bureau"


def load_bench_module(name: str):
    """bench/<name>.py as a module (bench/ is not a package and is kept off sys.path)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setup_django(db_url: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ["DEBUG"] = "false"  # no query log in memory; the development keys stay allowed
    os.environ.setdefault("SECRET_KEY", "bench-batch-" + "x" * 50)
    os.environ.setdefault("PERSONAL_DATA_INDEX_KEY", "bench-batch-index-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("PERSONAL_DATA_KEYS", dev_fernet_key())
    import django

    django.setup()


def dev_fernet_key() -> str:
    """The development personal-data key (config/settings.py derives it from the development
    SECRET_KEY); the dataset's rows were written under it, so the batch keeps reading them."""
    import base64
    import hashlib

    secret = "dev-only-insecure-key-change-me-in-production-0123456789"
    digest = hashlib.sha256(f"civicgrid-personal-data:{secret}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


class BackendPeak:
    """Samples the anonymous RSS of this connection's PostgreSQL backend (same host) until
    stopped; `peak_mb` is the largest sample."""

    def __init__(self):
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            self.pid = cur.fetchone()[0]
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        try:
            text = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return  # the database runs elsewhere (or the backend is gone): nothing to sample
        for line in text.splitlines():
            if line.startswith("RssAnon:"):
                self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._sample()

    def __enter__(self):
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024


# --- the tasks (each runs in its own child process) -----------------------------------------


def task_locate(args) -> dict:
    locate = load_bench_module("locate")
    generation, cells = locate.active_generation()
    bbox = locate.district_bbox(generation)
    start = time.perf_counter()
    locate.points_table(args.points, bbox)
    load_s = time.perf_counter() - start
    with BackendPeak() as backend:
        bulk = locate.bench_bulk(generation, args.runs)
    return {
        "rows": args.points,
        "cells": cells,
        "seconds": bulk["service_s"],
        "raw_s": bulk["raw_s"],
        "ratio": bulk["ratio"],
        "placed": bulk["placed"],
        "points_load_s": load_s,
        "backend_peak_mb": backend.peak_mb,
    }


def bench_port() -> int:
    """A free port in the bench's range 8100–8199 (locate.py would take any free port)."""
    import socket

    for port in range(8100, 8200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    sys.exit("no free port in 8100–8199")


def task_lookup(args) -> dict:
    locate = load_bench_module("locate")
    locate.free_port = bench_port
    # locate.py's client speaks plain HTTP without nginx's X-Forwarded-Proto, so its server runs
    # without the HTTPS redirect (a supported setting); bench/http_load.py keeps the redirect on.
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    generation, cells = locate.active_generation()
    bbox = locate.district_bbox(generation)
    with BackendPeak() as backend:
        lookups = locate.bench_locate(generation, bbox, args.lookups)
        web = locate.bench_http(bbox, args.lookups)
    return {
        "rows": args.lookups,
        "cells": cells,
        "seconds": None,
        "locate": lookups,
        "http": web,
        "backend_peak_mb": backend.peak_mb,
    }


def task_ledger(args) -> dict:
    """Runs `manage.py ledger_import` in this process (call_command), so this process's peak RSS
    is the import's."""
    from django.core.management import call_command

    from ledger.models import LedgerImport

    org_id = bureau_organization_id()
    before = LedgerImport.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with BackendPeak() as backend, open(os.devnull, "w") as quiet:
        start = time.perf_counter()
        call_command(
            "ledger_import",
            args.ledger_file,
            organization=org_id,
            user=BENCH_ORG_USER,
            commit=True,
            stdout=quiet,
        )
        seconds = time.perf_counter() - start
    imp = LedgerImport.objects.filter(pk__gt=before).order_by("-pk").first()
    return {
        "rows": args.ledger_rows,
        "seconds": seconds,
        "rows_per_s": args.ledger_rows / seconds,
        "import_id": imp.pk if imp else None,
        "created": imp.created_count if imp else None,
        "skipped": imp.skipped_count if imp else None,
        "errors": imp.error_count if imp else None,
        "backend_peak_mb": backend.peak_mb,
    }


def task_snapshot(args) -> dict:
    from dashboard.models import ReportSnapshot
    from dashboard.services import default_report_areas, snapshot_freeze
    from dashboard.tasks import last_month

    period = last_month()
    codes = default_report_areas()
    ReportSnapshot.objects.filter(period_start=period.start, period_end=period.end).delete()
    with BackendPeak() as backend:
        start = time.perf_counter()
        frozen = snapshot_freeze(period=period, area_codes=codes)
        seconds = time.perf_counter() - start
    return {
        "period": str(period),
        "areas": len(codes),
        "snapshots": len(frozen),
        "seconds": seconds,
        "backend_peak_mb": backend.peak_mb,
    }


def data_months() -> tuple:
    """(second month of the data, last complete month): the months the as-of task regenerates."""
    from django.db.models import Max, Min

    from dashboard.stats import TZ, Period
    from petitions.models import Petition

    span = Petition.objects.aggregate(first=Min("received_at"), last=Max("received_at"))
    if span["first"] is None:
        sys.exit("the bench database has no petitions")
    first = span["first"].astimezone(TZ).date()
    last = span["last"].astimezone(TZ).date()
    early = Period.containing_month(Period.month(first.year, first.month).end + dt.timedelta(1))
    late = Period.month(last.year, last.month)
    if last < late.end:  # the last month is not complete: take the one before
        late = late.previous()
    return early, late


def task_asof(args) -> dict:
    from dashboard.services import default_report_areas
    from dashboard.stats import TZ, figures_for_areas

    codes = default_report_areas()
    out = {"areas": len(codes)}
    months = dict(zip(("early", "late"), data_months(), strict=True))
    with BackendPeak() as backend:
        # Twice each, alternating, best of two: the first call also warms caches.
        for label, period in [*months.items(), *months.items()]:
            as_of = dt.datetime.combine(
                period.end + dt.timedelta(days=5), dt.time(23, 59), tzinfo=TZ
            )
            start = time.perf_counter()
            figures = figures_for_areas(area_codes=codes, period=period, as_of=as_of)
            seconds = time.perf_counter() - start
            if label in out and out[label]["seconds"] <= seconds:
                continue
            out[label] = {
                "period": str(period),
                "as_of": as_of.isoformat(),
                "seconds": seconds,
                "petitions_total": figures[codes[0]]["petitions_total"].value,
            }
    out["seconds"] = out["late"]["seconds"]
    out["late_over_early"] = out["late"]["seconds"] / out["early"]["seconds"]
    out["backend_peak_mb"] = backend.peak_mb
    return out


def bureau_organization_id() -> int:
    from petitions.models import Organization

    org = Organization.objects.filter(kind=Organization.Kind.BUREAU).order_by("pk").first()
    if org is None:
        sys.exit("the bench database has no district petition bureau (Organization kind bureau)")
    return org.pk


def ensure_bench_user() -> None:
    from django.contrib.auth import get_user_model

    get_user_model().objects.get_or_create(username=BENCH_ORG_USER)


def write_ledger(path: Path, rows: int) -> dict:
    """An N-row ledger CSV from bench/ledger_rows.py, fitted to the bench dataset: its rows name
    the test district's communities and unit, so the address names a community of the dataset,
    the located rows (every 4th) get a point inside one of its cells, and the handling unit is
    one of its units. Streamed row by row, like ledger_rows.write_csv."""
    import csv
    import random

    from django.db import connection

    from grid.models import Community
    from grid.services.generations import generation_at
    from petitions.models import Organization

    ledger_rows = load_bench_module("ledger_rows")
    generation = generation_at()
    names = list(
        Community.objects.filter(generation=generation)
        .order_by("code")
        .values_list("name", flat=True)
    )
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid_gridcell "
            "WHERE generation_id = %s ORDER BY code LIMIT 500) x",
            [generation.pk],
        )
        points = cur.fetchall()
    unit = (
        Organization.objects.filter(kind=Organization.Kind.HANDLING_UNIT, is_active=True)
        .order_by("pk")
        .values_list("name", flat=True)
        .first()
    )
    if not names or not points or unit is None:
        sys.exit("the bench dataset has no communities, cells or handling unit for the ledger")
    rng = random.Random(7)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(ledger_rows.HEADERS)
        for i, row in enumerate(ledger_rows.ledger_rows(rows, unit=unit)):
            row[6] = f"{names[i % len(names)]}{rng.randrange(1, 200)}号楼{rng.randrange(1, 7)}单元"
            if row[13]:
                x, y = points[i % len(points)]
                row[13], row[14] = f"{x:.6f}", f"{y:.6f}"
            writer.writerow(row)
    return {"unit": unit, "communities": len(names)}


# What a ledger import writes to and its cleanup deletes from.
VACUUMED = (
    "petitions_petition",
    "petitions_petitioner",
    "petitions_petitionevent",
    "ledger_ledgerrow",
    "ledger_ledgerimport",
)


def ledger_cleanup(import_id: int | None) -> dict:
    """Delete what the ledger benchmark imported, so the dataset stays as generated — vacuumed,
    as the generator leaves it: otherwise autovacuum of the case tables (22 million events at
    5,000,000 cases) starts during the request benchmarks and its CPU and I/O are counted there."""
    from django.db import connection

    from ledger.models import LedgerImport, LedgerRow
    from petitions.models import Petition

    if import_id is None:
        return {"removed": 0}
    ids = LedgerRow.objects.filter(ledger_import_id=import_id).values("petition_id")
    removed, _by_model = Petition.objects.filter(pk__in=ids).delete()
    LedgerImport.objects.filter(pk=import_id).delete()
    start = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) " + ", ".join(VACUUMED))
    return {"removed": removed, "vacuum_s": round(time.perf_counter() - start, 1)}


# --- the parent: one child per task, its peak RSS from the kernel -----------------------------


def run_child(task: str, args, extra: list[str]) -> dict:
    out = Path(tempfile.mkstemp(prefix=f"cg-batch-{task}-", suffix=".json")[1])
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--db", args.db]
    cmd += ["--points", str(args.points), "--runs", str(args.runs), "--lookups", str(args.lookups)]
    cmd += ["--ledger-rows", str(args.ledger_rows), "--json", str(out), *extra]
    done = subprocess.run(cmd, cwd=ROOT, check=False)
    if done.returncode != 0:
        sys.exit(f"batch task {task} failed (exit {done.returncode})")
    result = json.loads(out.read_text())
    out.unlink()
    return result


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(args) -> dict:
    only = [t for t in args.only.split(",") if t] or TASKS
    setup_django(args.db)
    ensure_bench_user()
    results: dict = {}
    for task in TASKS:
        if task not in only:
            continue
        extra: list[str] = []
        ledger_file = None
        if task == "ledger":
            ledger_file = Path(tempfile.mkstemp(prefix="cg-ledger-", suffix=".csv")[1])
            write_ledger(ledger_file, args.ledger_rows)
            extra = ["--ledger-file", str(ledger_file)]
        print(f"  batch {task} …", flush=True)
        try:
            results[task] = run_child(task, args, extra)
        finally:
            if ledger_file is not None:
                ledger_file.unlink(missing_ok=True)
        if task == "ledger":
            cleanup = ledger_cleanup(results[task]["import_id"])
            results[task]["cleanup_removed"] = cleanup["removed"]
            results[task]["cleanup_vacuum_s"] = cleanup.get("vacuum_s")
        r = results[task]
        took = f"{r['seconds']:8.2f} s" if r["seconds"] is not None else " " * 10
        print(
            f"  batch {task:<8} {took}  peak RSS {r['peak_rss_mb']:7.1f} MB  "
            f"backend {r['backend_peak_mb']:7.1f} MB",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lookups", type=int, default=2000, help="grid_locate and HTTP calls")
    parser.add_argument("--ledger-rows", type=int, default=100_000)
    parser.add_argument("--ledger-file", help=argparse.SUPPRESS)
    parser.add_argument("--only", default="", help="comma-separated: " + ",".join(TASKS))
    parser.add_argument("--child", choices=TASKS, help=argparse.SUPPRESS)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    if args.child:
        setup_django(args.db)
        result = globals()[f"task_{args.child}"](args)
        result["peak_rss_mb"] = peak_rss_mb()
    else:
        result = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
