#!/usr/bin/env python
"""Benchmark point → cell placement on PostGIS, each measure beside the best raw SQL in the same run.

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/civicgrid_bench .venv/bin/python bench/locate.py
        [--points 1000000] [--lookups 2000] [--requests 2000] [--runs 3] [--explain]

(a) grid_assign_cells on N random points vs one raw `UPDATE … FROM` driven from the polygon side;
(b) grid_locate latency in-process vs the same lookup as one raw statement;
(c) GET /api/v1/grid/locate over real HTTP (gunicorn if installed, else runserver), signed in.
Builds the demo district if no generation is active. Writes bench/results/locate-<date>.json.
Targets: bulk ≤ 1.5× raw; grid_locate p95 ≤ 2 ms in-process and ≤ 10 ms over HTTP.
"""

import argparse
import datetime as dt
import http.client
import importlib.util
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgis://postgres@127.0.0.1:5432/civicgrid_bench"
os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory and slows each one down

TARGETS = {"bulk_ratio": 1.5, "locate_p95_ms": 2.0, "http_p95_ms": 10.0}
RAW_UPDATE = """
    UPDATE bench_point p SET cell_id = c.id
    FROM grid_gridcell c
    WHERE c.generation_id = %s AND ST_Intersects(c.geom, p.location)
"""
RAW_LOOKUP = """
    SELECT c.id, c.code, c.name, c.households, c.residents, m.code, m.name, s.code, s.name,
           d.code, d.name
    FROM grid_gridcell c
    JOIN grid_community m ON m.id = c.community_id
    JOIN grid_street s ON s.id = m.street_id
    JOIN grid_district d ON d.id = s.district_id
    WHERE c.generation_id = %s AND ST_Intersects(c.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
    ORDER BY c.code LIMIT 1
"""


def ensure_database() -> None:
    """Create the bench database if it does not exist (PostGIS is added by migrate)."""
    from bench.pg import ensure_database as create

    create(os.environ["DATABASE_URL"], "bench/locate.py (DATABASE_URL)")


def setup_django():
    import django

    ensure_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_model():
    """An unmanaged model over the raw points table, as grid_assign_cells expects."""
    from django.contrib.gis.db import models

    from grid.models import GridCell

    class BenchPoint(models.Model):
        location = models.PointField(srid=4326)
        cell = models.ForeignKey(
            GridCell, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
        )

        class Meta:
            app_label = "grid"
            managed = False
            db_table = "bench_point"

    return BenchPoint


def active_generation():
    from grid.models import Generation, GridCell

    generation = Generation.objects.filter(status=Generation.Status.ACTIVE).first()
    if generation is None:
        from grid.services.demo import grid_demo_build

        print("No active generation: building the demo district (grid_demo_build) …", flush=True)
        generation = grid_demo_build()
    cells = GridCell.objects.filter(generation=generation).count()
    return generation, cells


def q(sql: str, params=None):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.fetchall() if cur.description else cur.rowcount


def district_bbox(generation) -> tuple[float, float, float, float]:
    (row,) = q(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom) AS e FROM grid_district WHERE generation_id = %s) x",
        [generation.pk],
    )
    return tuple(row)


def points_table(n: int, bbox) -> None:
    """bench_point with n uniformly random points in the district's bounding box (reused if the
    same size); loaded in one INSERT … SELECT, then indexed, clustered and analysed."""
    exists = q("SELECT to_regclass('bench_point') IS NOT NULL")[0][0]
    if exists and q("SELECT count(*) FROM bench_point")[0][0] == n:
        return
    print(f"Loading {n:,} random points …", flush=True)
    x0, y0, x1, y1 = bbox
    q("DROP TABLE IF EXISTS bench_point")
    q(
        "CREATE TABLE bench_point (id bigserial PRIMARY KEY, "
        "location geometry(Point, 4326) NOT NULL, cell_id bigint)"
    )
    q("SELECT setseed(0.2026)")
    q(
        "INSERT INTO bench_point (location) SELECT ST_SetSRID(ST_MakePoint("
        "%s + random() * %s, %s + random() * %s), 4326) FROM generate_series(1, %s)",
        [x0, x1 - x0, y0, y1 - y0, n],
    )
    q("CREATE INDEX bench_point_location ON bench_point USING gist (location)")
    # Points near each other on disk make each cell's index probe touch few pages.
    q("CLUSTER bench_point USING bench_point_location")
    q("ANALYZE bench_point")


def reset_points() -> None:
    q("UPDATE bench_point SET cell_id = NULL WHERE cell_id IS NOT NULL")
    q("VACUUM ANALYZE bench_point")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_bulk(generation, runs: int) -> dict:
    from grid.services.locate import grid_assign_cells

    model = bench_model()
    times = {"service": [], "raw": []}
    placed = {}
    for run in range(runs):
        # Alternate which goes first so cache warmth does not favour one side.
        order = ["raw", "service"] if run % 2 == 0 else ["service", "raw"]
        for which in order:
            reset_points()
            if which == "raw":
                times["raw"].append(timed(lambda: q(RAW_UPDATE, [generation.pk])))
            else:
                times["service"].append(
                    timed(lambda: grid_assign_cells(model=model, generation=generation))
                )
            placed[which] = q("SELECT count(cell_id), sum(cell_id) FROM bench_point")[0]
            print(f"  bulk {which:<7} run {run + 1}: {times[which][-1]:.2f} s", flush=True)
    if placed["raw"] != placed["service"]:
        sys.exit(f"bulk results differ: raw {placed['raw']} vs service {placed['service']}")
    service, raw = statistics.median(times["service"]), statistics.median(times["raw"])
    return {
        "service_s": service,
        "raw_s": raw,
        "ratio": service / raw,
        "runs": times,
        "placed": placed["raw"][0],
    }


def percentiles(samples: list[float]) -> dict:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    ms = 1000
    return {
        "p50_ms": cuts[49] * ms,
        "p95_ms": cuts[94] * ms,
        "p99_ms": cuts[98] * ms,
        "mean_ms": statistics.fmean(samples) * ms,
    }


def random_points(bbox, n: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    x0, y0, x1, y1 = bbox
    return [(rng.uniform(x0, x1), rng.uniform(y0, y1)) for _ in range(n)]


def bench_locate(generation, bbox, n: int) -> dict:
    from django.db import connection

    from grid.services.locate import grid_locate

    points = random_points(bbox, n, seed=7)
    for lng, lat in points[:200]:  # warm caches and the connection
        grid_locate((lng, lat))
    service, raw, found = [], [], 0
    for lng, lat in points:
        start = time.perf_counter()
        result = grid_locate((lng, lat))
        service.append(time.perf_counter() - start)
        found += result.found
    with connection.cursor() as cur:
        for lng, lat in points:
            start = time.perf_counter()
            cur.execute(RAW_LOOKUP, [generation.pk, lng, lat])
            cur.fetchone()
            raw.append(time.perf_counter() - start)
    return {"service": percentiles(service), "raw": percentiles(raw), "found": found, "n": n}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "DEBUG": "false"}
    try:
        import gunicorn  # noqa: F401

        # Threaded workers keep the connection alive between requests, as behind a proxy.
        kind = "gunicorn (2 gthread workers × 4 threads, keep-alive)"
        cmd = [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
        cmd += ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread"]
        cmd += ["--threads", "4", "--keep-alive", "5", "--log-level", "warning"]
    except ImportError:
        kind = "manage.py runserver --noreload"
        cmd = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited: {proc.stderr.read().decode(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, kind
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    sys.exit("server did not start within 30 s")


def bench_http(bbox, n: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    user, _ = get_user_model().objects.get_or_create(username="bench")
    client = Client()
    client.force_login(user)  # a real session row the server process can read
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    path = reverse("grid-api:locate")
    port = free_port()
    proc, kind = start_server(port)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        points = random_points(bbox, n, seed=11)

        def get(lng: float, lat: float) -> dict:
            conn.request(
                "GET",
                f"{path}?lng={lng:.7f}&lat={lat:.7f}",
                headers={"Cookie": cookie, "X-Forwarded-Proto": "https"},
            )
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                sys.exit(f"HTTP {response.status}: {body[:300]!r}")
            if response.getheader("Connection", "").lower() == "close":
                conn.close()  # the server closed it (runserver, sync workers): reconnect next time
            return json.loads(body)

        for lng, lat in points[:100]:
            get(lng, lat)
        samples, found = [], 0
        for lng, lat in points:
            start = time.perf_counter()
            found += get(lng, lat)["found"]
            samples.append(time.perf_counter() - start)
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {"server": kind, **percentiles(samples), "found": found, "n": n}


def _load(name: str):
    """bench/<name>.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def explain(generation) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the raw statement and of the service's, rolled back."""
    from django.db import transaction

    from grid.services.locate import assign_statement_postgis

    service_sql, params = assign_statement_postgis(
        bench_model(), "location", "cell", None, generation
    )
    for label, sql, args in [
        ("raw", RAW_UPDATE, [generation.pk]),
        ("service", service_sql, params),
    ]:
        reset_points()
        with transaction.atomic():
            plan = q("EXPLAIN (ANALYZE, BUFFERS) " + sql, args)
            transaction.set_rollback(True)
        print(f"\n--- EXPLAIN {label} ---")
        print("\n".join(row[0] for row in plan))


def environment(cells: int, points: int) -> dict:
    versions = q("SELECT version(), postgis_full_version()")[0]
    return {
        "date": dt.date.today().isoformat(),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": versions[0].split(" on ")[0],
        "postgis": versions[1].split('"')[1],
        "cells": cells,
        "points": points,
    }


def print_table(result: dict) -> None:
    bulk, loc, web = result["bulk"], result["locate"], result["http"]
    env = result["environment"]
    rows = [
        (
            f"bulk placement, {env['points']:,} points",
            f"{bulk['service_s']:.2f} s",
            f"{bulk['raw_s']:.2f} s",
            f"{bulk['ratio']:.2f}×",
            f"≤ {TARGETS['bulk_ratio']}×",
            bulk["ratio"] <= TARGETS["bulk_ratio"],
        )
    ]
    for p in ("p50", "p95", "p99"):
        s, r = loc["service"][f"{p}_ms"], loc["raw"][f"{p}_ms"]
        target = f"≤ {TARGETS['locate_p95_ms']} ms" if p == "p95" else ""
        ok = s <= TARGETS["locate_p95_ms"] if p == "p95" else None
        rows.append((f"grid_locate {p}", f"{s:.3f} ms", f"{r:.3f} ms", f"{s / r:.2f}×", target, ok))
    for p in ("p50", "p95", "p99"):
        s = web[f"{p}_ms"]
        target = f"≤ {TARGETS['http_p95_ms']} ms" if p == "p95" else ""
        ok = s <= TARGETS["http_p95_ms"] if p == "p95" else None
        rows.append((f"HTTP /api/v1/grid/locate {p}", f"{s:.2f} ms", "", "", target, ok))
    head = ("measure", "CivicGrid", "raw SQL", "ratio", "target", "")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(5)]
    print(
        f"\n{env['cells']:,} cells · {env['points']:,} points · {env['postgresql']} · "
        f"PostGIS {env['postgis']} · {env['cpus']} CPUs · HTTP via {web['server']}"
    )
    line = "  ".join(str(h).ljust(w) for h, w in zip(head, widths, strict=False))
    print(line)
    print("-" * len(line))
    for row in rows:
        mark = {True: "ok", False: "MISSED", None: ""}[row[5]]
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + mark)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--explain", action="store_true", help="print the bulk query plans")
    args = parser.parse_args()

    # The production settings, as bench/http_load.py serves them (secrets in files; nginx's
    # X-Forwarded-Proto says the request came over HTTPS): this process signs the session the
    # HTTP client presents, so it and the server must share them.
    tmp = Path(tempfile.mkdtemp(prefix="cg-locate-"))
    os.environ.update(_load("http_load").production_env(tmp, os.environ["DATABASE_URL"]))
    setup_django()
    generation, cells = active_generation()
    bbox = district_bbox(generation)
    points_table(args.points, bbox)
    if args.explain:
        explain(generation)
        return
    result = {"environment": environment(cells, args.points), "targets": TARGETS}
    result["bulk"] = bench_bulk(generation, args.runs)
    result["locate"] = bench_locate(generation, bbox, args.lookups)
    result["http"] = bench_http(bbox, args.requests)
    out = ROOT / "bench" / "results" / f"locate-{result['environment']['date']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_table(result)
    print(f"\nwritten {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
