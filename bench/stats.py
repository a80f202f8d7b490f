#!/usr/bin/env python
"""Benchmark the statistics on PostGIS, each measure beside the best hand-written SQL for the same
result, in the same run (issue #6 item 7).

    .venv/bin/python bench/stats.py [--db postgis://postgres@127.0.0.1:5432/cg_bench]
        [--mode quick|default|scale] [--districts 10] [--cells 20000] [--runs 5]
        [--period 2026-10] [--more] [--explain]

Loads (or reuses) the dataset of bench/dataset.py (default mode: 1,000,000 petitions, 200,000
disputes, 50,000 mediation cases, the city's ~20,000 cells, 24 months; --districts/--cells as there; the
measures are of the first district), then times, as the median of --runs
warm runs (one warm-up first; CivicGrid and SQL runs alternate):

(a) report: the monthly report of the district and all its streets (exports.report_build: every
    SPEC §5 figure, plus the previous month and the same month last year for 同比/环比) vs one
    GROUP BY per figure family and period over the indexed columns;
(b) choropleth: GET /api/v1/dashboard/choropleth/?level=cell through the real stack in-process
    (session, DRF, scope, Redis cache cleared before each run so the layer is computed) vs one
    statement building the same FeatureCollection in the database (json_agg + ST_AsGeoJSON);
    response bytes and gzipped bytes are reported; also the cached response time;
(c) drill-down: the record list of 信访总量 for the district (what GET /dashboard/report/records/
    reads: the engine's records within the user's scope, the count and the first page of 50 as
    list rows) vs the page and the count as two hand-written statements; the whole HTML view is
    timed beside them for information.

Each pair is checked to return the same numbers (every count of every area; every cell's
numerator and denominator; the first page's ids and the count) — the run fails otherwise.
The event-replay (as-of) path of the same report is timed beside the fast path for information.
Writes bench/results/stats-<date>.json. Targets: every ratio ≤ 1.5; choropleth ≤ 300 ms and
≤ 1.5 MB gzipped. `--explain` prints EXPLAIN (ANALYZE, BUFFERS) of every engine query instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project root instead of bench/ (a module there could shadow an installed package).
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from bench import dataset  # noqa: E402

TARGETS = {"ratio": 1.5, "choropleth_ms": 300.0, "choropleth_gzip_bytes": 1_500_000}
OPEN_DISPUTE = ("found", "in_mediation", "stabilised", "unresolved")
CLOSING = ("close", "rereview_answer")


# --- hand-written SQL: one GROUP BY per figure family ------------------------------------------
# Each returns rows (bucket, count, …) in the order of the family's count names (families.py),
# bucket = substr(area code, 1, L). %(s)s/%(e)s: the period's first instant / the instant after
# it; %(start)s/%(end)s its dates; %(ytd)s 1 January; %(prefix)s the district code and `%`,
# %(code)s the district code. 信访总量's rows by `left(area_code, 6) = %(code)s`: the expression of
# the index petition_district_received, which the engine uses too (the best SQL on the same
# indexes; the measures are of a district).

BASELINE = {
    "intake": """
        SELECT substr(area_code, 1, %(L)s), count(*) FROM petitions_petition
        WHERE received_at >= %(s)s AND received_at < %(e)s AND left(area_code, 6) = %(code)s
        GROUP BY 1""",
    "routing": """
        SELECT substr(area_code, 1, %(L)s), count(*),
               count(*) FILTER (WHERE (routed_at AT TIME ZONE 'Asia/Shanghai')::date <= route_due)
        FROM petitions_petition
        WHERE received_at >= %(s)s - interval '15 days' AND received_at < %(e)s - interval '15 days'
          AND route_due BETWEEN %(start)s AND %(end)s AND area_code LIKE %(prefix)s
        GROUP BY 1""",
    "closure": """
        SELECT substr(area_code, 1, %(L)s),
               count(*) FILTER (WHERE accepted_at >= %(s)s),
               count(*) FILTER (WHERE accepted_at >= %(s)s AND status IN ('closed', 'not_accepted')),
               count(*) FILTER (WHERE accepted_at >= %(ytd)s),
               count(*) FILTER (WHERE accepted_at >= %(ytd)s AND status IN ('closed', 'not_accepted'))
        FROM petitions_petition
        WHERE accepted_at >= LEAST(%(s)s, %(ytd)s) AND accepted_at < %(e)s
          AND area_code LIKE %(prefix)s
        GROUP BY 1""",
    "on_time": """
        SELECT substr(p.area_code, 1, %(L)s), count(DISTINCT p.id),
               count(DISTINCT p.id) FILTER (
                   WHERE (e.at AT TIME ZONE 'Asia/Shanghai')::date <= p.handle_due)
        FROM petitions_petitionevent e JOIN petitions_petition p ON p.id = e.petition_id
        WHERE e.action IN ('close', 'rereview_answer') AND e.at >= %(s)s AND e.at < %(e)s
          AND p.area_code LIKE %(prefix)s
        GROUP BY 1""",
    "evaluation": """
        SELECT substr(area_code, 1, %(L)s), count(*),
               count(*) FILTER (WHERE evaluation IN ('satisfied', 'basic'))
        FROM petitions_petition
        WHERE evaluated_at >= %(s)s AND evaluated_at < %(e)s AND area_code LIKE %(prefix)s
        GROUP BY 1""",
    "repeats": """
        SELECT substr(area_code, 1, %(L)s), count(*) FROM petitions_repeatsubmission
        WHERE received_at >= %(s)s AND received_at < %(e)s AND area_code LIKE %(prefix)s
        GROUP BY 1""",
    "visits": """
        SELECT substr(area_code, 1, %(L)s), count(*), count(*) FILTER (WHERE headcount >= 5),
               sum(headcount)
        FROM petitions_visit
        WHERE received_at >= %(s)s AND received_at < %(e)s AND area_code LIKE %(prefix)s
        GROUP BY 1""",
    # The status at the start and at the end of P from the events (the last one before each);
    # a dispute resolved or diverted before P (closed_at: its last step) is in no base.
    "disputes": """
        SELECT substr(area_code, 1, %(L)s), count(*), count(*) FILTER (WHERE found_at >= %(s)s),
               count(*) FILTER (WHERE le = ler), count(*) FILTER (WHERE le = ler OR le = les),
               count(*) FILTER (WHERE le = les)
        FROM (
            SELECT d.id, d.area_code, d.found_at,
                   max(x.id) FILTER (WHERE x.at < %(s)s) AS ls,
                   max(x.id) FILTER (WHERE x.at < %(s)s AND x.to_status IN %(open)s) AS lso,
                   max(x.id) FILTER (WHERE x.at < %(e)s) AS le,
                   max(x.id) FILTER (WHERE x.at < %(e)s AND x.to_status = 'resolved') AS ler,
                   max(x.id) FILTER (WHERE x.at < %(e)s AND x.to_status = 'stabilised') AS les
            FROM mediation_dispute d JOIN mediation_disputeevent x ON x.dispute_id = d.id
            WHERE d.found_at < %(e)s AND d.area_code LIKE %(prefix)s
              AND NOT (d.status IN ('resolved', 'diverted') AND d.closed_at < %(s)s)
            GROUP BY d.id
        ) t
        WHERE found_at >= %(s)s OR ls IS NULL OR ls = lso
        GROUP BY 1""",
    "disputes_found": """
        SELECT substr(area_code, 1, %(L)s), count(*) FROM mediation_dispute
        WHERE found_at >= %(s)s AND found_at < %(e)s AND area_code LIKE %(prefix)s
        GROUP BY 1""",
    "mediation": """
        SELECT substr(area_code, 1, %(L)s), count(*), count(*) FILTER (WHERE status = 'agreed')
        FROM mediation_mediationcase
        WHERE concluded_at >= %(s)s AND concluded_at < %(e)s AND area_code LIKE %(prefix)s
        GROUP BY 1""",
    "agreements": """
        SELECT substr(c.area_code, 1, %(L)s), count(*), count(*) FILTER (WHERE latest = latest_full)
        FROM (SELECT agreement_id, max(visited_at) AS latest,
                     max(visited_at) FILTER (WHERE performance = 'full') AS latest_full
              FROM mediation_followupvisit
              WHERE visited_at >= %(s)s AND visited_at < %(e)s GROUP BY 1) f
        JOIN mediation_agreement a ON a.id = f.agreement_id
        JOIN mediation_mediationcase c ON c.id = a.case_id
        WHERE c.area_code LIKE %(prefix)s
        GROUP BY 1""",
    "cells": """
        SELECT substr(c.code, 1, %(L)s), sum(c.residents) FROM grid_gridcell c
        JOIN grid_generation g ON g.id = c.generation_id AND g.status = 'active'
        WHERE c.code LIKE %(prefix)s
        GROUP BY 1""",
}


def sql_params(period, prefix: str, length: int) -> dict:
    from dashboard.stats.periods import local_midnight

    return {
        "s": period.start_at,
        "e": period.end_before,
        "start": period.start,
        "end": period.end,
        "ytd": local_midnight(period.year_to_date().start),
        "prefix": prefix + "%",
        "code": prefix,
        "L": length,
        "open": OPEN_DISPUTE,
    }


def q(sql: str, params=None):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def baseline_counts(families: set[str], period, prefix: str, codes: list[str]) -> dict:
    """{code: {(family, name): n}} from the hand-written statements, rolled up to each code."""
    from dashboard.stats.families import FAMILIES

    length = max(len(c) for c in codes)
    params = sql_params(period, prefix, length)
    out: dict[str, dict] = {c: {} for c in codes}
    for name in sorted(families):
        names = FAMILIES[name].names()
        rows = q(BASELINE[name], params)
        for code in codes:
            for i, n in enumerate(names):
                out[code][(name, n)] = sum(
                    int(r[i + 1] or 0) for r in rows if r[0] and r[0].startswith(code)
                )
    return out


# --- timing ------------------------------------------------------------------------------------


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return (time.perf_counter() - t0) * 1000, result


def pair(engine, raw, runs: int, before=None) -> dict:
    """Median ms of `runs` warm runs of each, alternating; the last results of both."""
    for fn in (engine, raw):  # warm-up
        if before:
            before()
        fn()
    times: dict[str, list[float]] = {"engine": [], "sql": []}
    results = {}
    for _i in range(runs):
        for key, fn in (("engine", engine), ("sql", raw)):
            if before:
                before()
            ms, results[key] = timed(fn)
            times[key].append(ms)
    e, s = statistics.median(times["engine"]), statistics.median(times["sql"])
    return {
        "engine_ms": round(e, 1),
        "sql_ms": round(s, 1),
        "ratio": round(e / s, 2),
        "engine_runs_ms": [round(t, 1) for t in times["engine"]],
        "sql_runs_ms": [round(t, 1) for t in times["sql"]],
        "_results": results,
    }


# --- (a) the monthly report --------------------------------------------------------------------


def bench_report(district: str, period, runs: int) -> dict:
    from dashboard import exports
    from dashboard.stats import FIGURE_DEFS, active_generation, child_codes
    from dashboard.stats.engine import make_figure

    generation = active_generation()
    streets = child_codes(district, "street", generation)
    codes = [district, *streets]
    all_families = set().union(*(d.families() for d in FIGURE_DEFS.values()))
    compared = set().union(*(FIGURE_DEFS[k].families() for k in exports.COMPARED))
    plan = [(period, all_families), (period.previous(), compared),
            (period.same_last_year(), compared)]  # fmt: skip

    def engine():
        return exports.report_build(area_code=district, period=period, level="street")

    def raw():
        return [baseline_counts(fams, p, district, codes) for p, fams in plan]

    result = pair(engine, raw, runs)
    report = result.pop("_results")["engine"]
    counts = raw()
    mismatches = []
    rows = {r.code: r for r in report.rows if not r.unassigned_level}
    for (p, _fams), base in zip(plan, counts, strict=True):
        keys = list(FIGURE_DEFS) if p == period else exports.COMPARED
        for code in codes:
            which = (
                rows[code].figures if p == period
                else rows[code].previous if p == period.previous() else rows[code].last_year
            )  # fmt: skip
            for key in keys:
                want = make_figure(FIGURE_DEFS[key], base[code], {})
                got = which[key]
                if (got.numerator, got.denominator) != (want.numerator, want.denominator):
                    mismatches.append(
                        f"{p} {code} {key}: engine {got.numerator}/{got.denominator}, "
                        f"sql {want.numerator}/{want.denominator}"
                    )
    result["areas"] = len(codes)
    result["same_numbers"] = not mismatches
    result["mismatches"] = mismatches[:20]
    return result


def bench_replay(district: str, period, runs: int) -> dict:
    """The same figures (current period) by event replay vs the fast path (information only)."""
    from dashboard.stats import active_generation, child_codes, figures_for_areas

    codes = [district, *child_codes(district, "street", active_generation())]

    def fast():
        return figures_for_areas(area_codes=codes, period=period)

    def replay():
        return figures_for_areas(area_codes=codes, period=period, replay=True)

    result = pair(replay, fast, runs)
    got = result.pop("_results")
    a, b = got["engine"], got["sql"]
    same = all(
        (a[c][k].numerator, a[c][k].denominator) == (b[c][k].numerator, b[c][k].denominator)
        for c in codes
        for k in a[c]
    )
    return {
        "replay_ms": result["engine_ms"],
        "fast_ms": result["sql_ms"],
        "replay_over_fast": result["ratio"],
        "same_numbers": same,
    }


# --- (b) the choropleth ------------------------------------------------------------------------


def choropleth_sql(figure: str, period, prefix: str) -> tuple[str, dict]:
    """One statement: the families' per-cell counts as CTEs, the FeatureCollection by json_agg."""
    from dashboard.stats import FIGURE_DEFS
    from dashboard.stats.families import FAMILIES

    defn = FIGURE_DEFS[figure]
    ctes, joins = [], []
    for name in sorted(defn.families()):
        cols = ", ".join(f"n{i}" for i in range(len(FAMILIES[name].names())))
        ctes.append(f"f_{name} (a, {cols}) AS ({BASELINE[name]})")
        joins.append(f"LEFT JOIN f_{name} ON f_{name}.a = c.code")

    def term_sum(terms) -> str:
        parts = [f"COALESCE(f_{f}.n{FAMILIES[f].names().index(n)}, 0)" for f, n in terms]
        return " + ".join(parts) if parts else "NULL"

    num, den = term_sum(defn.numerator), term_sum(defn.denominator)
    if defn.kind == "count":
        value = num
    else:
        scale = 100 if defn.kind == "rate" else 1000
        value = f"CASE WHEN ({den}) = 0 THEN NULL ELSE round(({num}) * {scale}.0 / ({den}), 2) END"
    sql = f"""
        WITH {", ".join(ctes)}
        SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(
            json_build_object('type', 'Feature', 'id', c.id,
                'properties', json_build_object('code', c.code, 'name', c.name,
                    'value', {value}, 'numerator', {num},
                    'denominator', {den if defn.denominator else "NULL"}),
                'geometry', ST_AsGeoJSON(COALESCE(c.geom_simple, c.geom), 6)::json)
            ORDER BY c.code))::text
        FROM grid_gridcell c
        JOIN grid_generation g ON g.id = c.generation_id AND g.status = 'active'
        {" ".join(joins)}
        WHERE c.code LIKE %(prefix)s
    """
    return sql, sql_params(period, prefix, 15)


def bench_choropleth(client, figure: str, district: str, period, runs: int) -> dict:
    from django.core.cache import cache

    url = "/api/v1/dashboard/choropleth/"
    query = {"level": "cell", "figure": figure, "period": period.key()}
    sql, params = choropleth_sql(figure, period, district)

    def engine():
        response = client.get(url, query, secure=True)
        if response.status_code != 200:
            raise SystemExit(f"choropleth: HTTP {response.status_code}: {response.content[:300]}")
        return response.content

    def raw():
        return q(sql, params)[0][0].encode()

    result = pair(engine, raw, runs, before=cache.clear)
    got = result.pop("_results")
    body, base = got["engine"], got["sql"]
    cached = [timed(engine)[0] for _i in range(runs)]  # cache filled by the last run
    mine, theirs = json.loads(body), json.loads(base)
    a = {f["properties"]["code"]: f["properties"] for f in mine["features"]}
    b = {f["properties"]["code"]: f["properties"] for f in theirs["features"]}
    mismatches = [
        code
        for code in sorted(set(a) | set(b))
        if code not in a
        or code not in b
        or (a[code]["numerator"], a[code]["denominator"])
        != (b[code]["numerator"], b[code]["denominator"])
    ]
    result.update(
        figure=figure,
        features=len(a),
        bytes=len(body),
        gzip_bytes=len(gzip.compress(body, 6)),
        sql_bytes=len(base),
        sql_gzip_bytes=len(gzip.compress(base, 6)),
        cached_ms=round(statistics.median(cached), 1),
        same_numbers=not mismatches,
        mismatches=mismatches[:20],
    )
    return result


# --- (c) the drill-down record list ------------------------------------------------------------

PAGE_ROWS_SQL = """
    SELECT p.id, p.receipt_no, p.received_at, c.name, pc.name, p.case_type, p.status, p.area_code
    FROM petitions_petition p
    JOIN petitions_category c ON c.id = p.category_id
    LEFT JOIN petitions_category pc ON pc.id = c.parent_id
    WHERE p.received_at >= %(s)s AND p.received_at < %(e)s AND left(p.area_code, 6) = %(code)s
    ORDER BY p.received_at DESC, p.id DESC LIMIT 50
"""
COUNT_SQL = """
    SELECT count(*) FROM petitions_petition
    WHERE received_at >= %(s)s AND received_at < %(e)s AND left(area_code, 6) = %(code)s
"""


def bench_records(client, user, area: str, period, runs: int) -> dict:
    """The list's data (what the view reads: the engine's records within the user's scope, the
    count and the first page as list rows) vs the page and the count by hand; the whole HTML
    view (template included) is timed beside them for information."""
    from dashboard.stats import figure_records
    from dashboard.views_report import record_page, record_rows, scoped_records

    url = "/dashboard/report/records/"
    query = {"key": "petitions_total", "area": area, "period": period.key()}
    params = sql_params(period, area, 15)

    def engine():
        records = figure_records(key="petitions_total", area_code=area, period=period)
        page = record_page(scoped_records(user, records, area_code=area), 1)
        return [o["pk"] for o in page], page.paginator.count, record_rows(page, user)

    def raw():
        return q(PAGE_ROWS_SQL, params), q(COUNT_SQL, params)[0][0]

    def view():
        response = client.get(url, query, secure=True)
        if response.status_code != 200:
            raise SystemExit(f"records: HTTP {response.status_code}")
        return response.content

    result = pair(engine, raw, runs)
    got = result.pop("_results")
    ids, count, _rows = got["engine"]
    want_rows, want_count = got["sql"]
    view()
    result.update(
        area=area,
        count=count,
        view_ms=round(statistics.median(timed(view)[0] for _i in range(runs)), 1),
        same_numbers=ids == [r[0] for r in want_rows] and count == want_count,
    )
    return result


# --- setup -------------------------------------------------------------------------------------


def bench_user(district: str):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.models import Grant, Role

    user, _created = get_user_model().objects.get_or_create(
        username="bench_bureau", defaults={"is_staff": True}
    )
    user.groups.add(Group.objects.get_or_create(name=Role.BUREAU)[0])
    Grant.objects.get_or_create(user=user, role=Role.BUREAU, area_code=district, organization=None)
    return user


def explain(district: str, period) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dashboard.stats import FIGURE_KEYS, active_generation, child_codes, figures_for_areas

    codes = [district, *child_codes(district, "street", active_generation())]
    with CaptureQueriesContext(connection) as ctx:
        figures_for_areas(area_codes=codes, period=period, keys=FIGURE_KEYS)
    for query in ctx.captured_queries:
        print("=" * 100)
        print(query["sql"][:400])
        for (line,) in q("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"]):
            print(line)


def environment(spec: dict) -> dict:
    return {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": q("SHOW server_version")[0][0],
        "postgis": q("SELECT PostGIS_Lib_Version()")[0][0],
        "dataset": spec,
        "counts": dataset.counts(),
    }


def print_table(result: dict) -> None:
    rows = [
        ("monthly report, district + streets", result["report"]),
        (f"cell choropleth ({result['choropleth']['figure']})", result["choropleth"]),
        *[(f"cell choropleth ({c['figure']})", c) for c in result.get("choropleth_more", [])],
        ("drill-down list, page 1 + count", result["records"]),
    ]
    print(f"{'measure':<44} {'CivicGrid':>10} {'raw SQL':>10} {'ratio':>6}  same")
    for label, r in rows:
        same = "yes" if r["same_numbers"] else "NO"
        print(
            f"{label:<44} {r['engine_ms']:>8.1f}ms {r['sql_ms']:>8.1f}ms {r['ratio']:>5.2f}×  {same}"
        )
    c = result["choropleth"]
    print(
        f"choropleth response: {c['bytes']:,} bytes, {c['gzip_bytes']:,} gzipped; "
        f"cached {c['cached_ms']} ms"
    )
    print(f"drill-down HTML view (template included): {result['records']['view_ms']} ms")
    r = result["replay"]
    print(
        f"report figures by event replay: {r['replay_ms']} ms vs fast path {r['fast_ms']} ms "
        f"({r['replay_over_fast']}×, same numbers: {r['same_numbers']})"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default=dataset.DEFAULT_URL)
    p.add_argument("--mode", choices=sorted(dataset.MODES), default="default")
    p.add_argument("--districts", type=int, default=10, help="as bench/dataset.py")
    p.add_argument("--cells", type=int, default=20000, help="as bench/dataset.py")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--period", help="month to report (default: the last month of the data)")
    p.add_argument("--explain", action="store_true")
    p.add_argument("--more", action="store_true", help="also time rate choropleths")
    p.add_argument(
        "--json", help="write the result here instead of bench/results/stats-<date>.json"
    )
    args = p.parse_args()
    os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/4")
    spec = dataset.build_spec(
        dataset.parser().parse_args(
            ["--mode", args.mode, "--districts", str(args.districts), "--cells", str(args.cells)]
        )
    )
    dataset.setup_django(args.db)
    loaded = dataset.ensure_dataset(spec)
    print(f"dataset {loaded['status']}: {json.dumps(loaded['counts'])}", file=sys.stderr)

    from django.conf import settings
    from django.test import Client

    from dashboard.stats import Period
    from grid.models import District, Generation

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    end = dt.date.fromisoformat(spec["end"])
    period = (
        Period.parse(args.period)
        if args.period
        else Period.containing_month(end - dt.timedelta(days=1))
    )
    district = (
        District.objects.filter(generation__status=Generation.Status.ACTIVE)
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    if args.explain:
        explain(district, period)
        return
    user = bench_user(district)
    client = Client()
    client.force_login(user)
    result = {
        "date": dt.date.today().isoformat(),
        "period": period.key(),
        "district": district,
        "runs": args.runs,
        "targets": TARGETS,
        "environment": environment(spec),
    }
    print("(a) monthly report …", file=sys.stderr)
    result["report"] = bench_report(district, period, args.runs)
    result["replay"] = bench_replay(district, period, max(1, args.runs // 2))
    print("(b) choropleth …", file=sys.stderr)
    result["choropleth"] = bench_choropleth(client, "petitions_total", district, period, args.runs)
    if args.more:
        result["choropleth_more"] = [
            bench_choropleth(client, key, district, period, args.runs)
            for key in ("closure_rate", "resolution_rate")
        ]
    print("(c) drill-down …", file=sys.stderr)
    result["records"] = bench_records(client, user, district, period, args.runs)
    measures = [result["report"], result["choropleth"], result["records"],
                *result.get("choropleth_more", [])]  # fmt: skip
    c = result["choropleth"]
    result["met"] = {
        "ratios": all(m["ratio"] <= TARGETS["ratio"] for m in measures),
        "choropleth_ms": c["engine_ms"] <= TARGETS["choropleth_ms"],
        "choropleth_gzip": c["gzip_bytes"] <= TARGETS["choropleth_gzip_bytes"],
        "same_numbers": all(m["same_numbers"] for m in measures),
    }
    out = (
        Path(args.json)
        if args.json
        else ROOT / "bench" / "results" / f"stats-{result['date']}.json"
    )
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    print_table(result)
    print(f"written {out}; targets met: {result['met']}")
    if not result["met"]["same_numbers"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
