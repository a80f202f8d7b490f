#!/usr/bin/env python
"""`make bench`: the whole benchmark suite on one dataset mode, one results file, one table.

    .venv/bin/python bench/run.py [--mode quick|default|scale] [--db URL] [--duration 15]
        [--clients 1,10,50] [--skip stats,batch,requests] [--districts 10] [--cells 20000]
    .venv/bin/python bench/run.py --growth        # the modes' last results side by side

Steps: create and migrate the mode's database (cg_bench_<mode>), generate or reuse its dataset
(bench/dataset.py, idempotent), then run bench/stats.py, bench/batch.py (bulk locating through
bench/locate.py, grid_locate and HTTP locate, the ledger import through bench/ledger_rows.py, the
monthly snapshot, as-of regeneration) and bench/http_load.py (gunicorn + wrk), each in its own
process. Writes bench/results/<date>-<mode>.json and prints one table; the growth table compares
the last results of every mode found in bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
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

PY = sys.executable
RESULTS = HERE / "results"
MODES = ["quick", "default", "scale"]
PETITIONS = {"quick": 100_000, "default": 1_000_000, "scale": 5_000_000}
LOCATE_POINTS = 1_000_000
LEDGER_ROWS = 100_000
# Growth rules (rows grow 10× from quick to default, 5× from default to scale):
# "linear" figures may grow at most linearly in rows (exponent ≤ 1.15, noise allowed);
# "flat" figures (paginated pages, one case, fixed-size batches, memory) may grow at most 1.5×.
LINEAR_EXPONENT = 1.15
FLAT_FACTOR = 1.5


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, check=False, **kw)


def ensure_database(url: str) -> None:
    from bench.pg import ensure_database as create

    create(url, "make bench")


def json_step(name: str, cmd: list[str], results: dict, timings: dict) -> dict | None:
    """Run one benchmark script with --json into a temporary file; its result or None."""
    out = Path(tempfile.mkstemp(prefix=f"cg-bench-{name}-", suffix=".json")[1])
    start = time.perf_counter()
    done = sh([*cmd, "--json", str(out)])
    timings[name] = time.perf_counter() - start
    try:
        if done.returncode != 0 or not out.read_text().strip():
            results[name] = {"error": f"exit {done.returncode}"}
            return None
        results[name] = json.loads(out.read_text())
        return results[name]
    finally:
        out.unlink(missing_ok=True)


def dataset_step(url: str, args, timings: dict) -> dict:
    cmd = [PY, "bench/dataset.py", "--db", url, "--mode", args.mode, "--json"]
    cmd += ["--districts", str(args.districts), "--cells", str(args.cells)]
    start = time.perf_counter()
    done = sh(cmd, capture_output=True, text=True)
    timings["dataset"] = time.perf_counter() - start
    sys.stdout.write(done.stdout[-3000:])
    if done.returncode != 0:
        sys.exit(f"bench/dataset.py failed:\n{done.stderr[-3000:]}")
    line = next((x for x in reversed(done.stdout.splitlines()) if x.strip().startswith("{")), "{}")
    return json.loads(line)


def environment(url: str) -> dict:
    import psycopg2

    conn = psycopg2.connect(url.replace("postgis://", "postgresql://"))
    with conn.cursor() as cur:
        cur.execute("SELECT version(), postgis_lib_version()")
        pg, postgis = cur.fetchone()
    conn.close()
    return {
        "date": dt.date.today().isoformat(),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": pg.split(" on ")[0],
        "postgis": postgis,
        "loadavg_start": os.getloadavg()[0],
    }


# --- figures: every number of a run, flat, with its growth kind and target -----------------------


def fig(value, unit: str, kind: str, target: str = "", ok: bool | None = None) -> dict:
    return {"value": value, "unit": unit, "kind": kind, "target": target, "ok": ok}


def batch_figures(batch: dict) -> dict:
    out = {}
    if loc := batch.get("locate"):
        out[f"locate {loc['rows']:,} points: grid_assign_cells"] = fig(
            loc["seconds"], "s", "linear", f"≤ 1.5× raw ({loc['raw_s']:.2f} s)", loc["ratio"] <= 1.5
        )
        out["locate: ratio to raw UPDATE … FROM"] = fig(loc["ratio"], "×", "flat", "≤ 1.5")
        out["locate: peak RSS (Python)"] = fig(loc["peak_rss_mb"], "MB", "flat")
        out["locate: peak backend memory"] = fig(loc["backend_peak_mb"], "MB", "flat")
    if lk := batch.get("lookup"):
        p95 = lk["locate"]["service"]["p95_ms"]
        out["grid_locate p95 (in-process)"] = fig(p95, "ms", "flat", "≤ 2 ms", p95 <= 2.0)
        raw = lk["locate"]["raw"]["p95_ms"]
        out["grid_locate p95 ratio to raw lookup"] = fig(p95 / raw, "×", "flat", "≤ 1.5")
        http = lk["http"]["p95_ms"]
        out["HTTP /api/v1/grid/locate p95"] = fig(http, "ms", "flat", "≤ 10 ms", http <= 10.0)
    if led := batch.get("ledger"):
        out[f"ledger import {led['rows']:,} rows"] = fig(led["seconds"], "s", "flat")
        out["ledger import: rows/s"] = fig(led["rows_per_s"], "rows/s", "flat")
        out["ledger import: peak RSS"] = fig(led["peak_rss_mb"], "MB", "flat")
        out["ledger import: peak backend memory"] = fig(led["backend_peak_mb"], "MB", "flat")
    if snap := batch.get("snapshot"):
        out[f"monthly snapshot ({snap['areas']} areas)"] = fig(snap["seconds"], "s", "linear")
        out["monthly snapshot: peak RSS"] = fig(snap["peak_rss_mb"], "MB", "flat")
    if asof := batch.get("asof"):
        out["as-of report, early month"] = fig(asof["early"]["seconds"], "s", "linear")
        out["as-of report, last month"] = fig(asof["late"]["seconds"], "s", "linear")
        ratio = asof["late_over_early"]
        out["as-of: last month ÷ early month"] = fig(
            ratio, "×", "flat", "≤ 1.5 (no growth with history)", ratio <= 1.5
        )
        out["as-of: peak RSS"] = fig(asof["peak_rss_mb"], "MB", "flat")
    return out


def request_figures(req: dict) -> dict:
    out = {}
    for name, scenario in req.items():
        if not isinstance(scenario, dict) or "clients" not in scenario:
            continue
        target = scenario["target_p95_ms"]
        # Lists are paginated and a case page shows one case: flat. The map and the report
        # aggregate a month: they may grow with the month's rows.
        kind = "linear" if name in ("choropleth", "drilldown", "report") else "flat"
        for c, r in scenario["clients"].items():
            key = f"{scenario['label']} @{c}"
            at_target = int(c) == 10
            ok = (r["p95_ms"] <= target and r["failed"] == 0) if at_target else None
            out[f"{key} p95"] = fig(
                r["p95_ms"], "ms", kind, f"≤ {target} ms" if at_target else "", ok
            )
            if "server_p95_ms" in r:
                # gunicorn's own durations: the raw latency of every request, without wrk's
                # coordinated-omission correction (bench/README.md, requests).
                out[f"{key} server p95"] = fig(r["server_p95_ms"], "ms", kind)
            out[f"{key} p50"] = fig(r["p50_ms"], "ms", kind)
            out[f"{key} p99"] = fig(r["p99_ms"], "ms", kind)
            out[f"{key} req/s"] = fig(r["rps"], "req/s", "throughput")
            out[f"{key} failed"] = fig(r["failed"], "", "count", "0", r["failed"] == 0)
            if "app_cpu_ms" in r and at_target:
                # CPU per request: the figure the other load on a shared machine distorts least.
                cpu = r["app_cpu_ms"] + r["db_cpu_ms"]
                out[f"{scenario['label']} CPU/request (app + db)"] = fig(cpu, "ms", kind)
    return out


def stats_figures(stats: dict) -> dict:
    """bench/stats.py's measures, each beside its hand-written SQL (target: ratio ≤ 1.5)."""
    out = {}
    measures = [("report", stats.get("report")), ("choropleth", stats.get("choropleth"))]
    measures += [("drill-down records", stats.get("records"))]
    measures += [(f"choropleth {i + 2}", m) for i, m in enumerate(stats.get("choropleth_more", []))]
    for label, m in measures:
        if not isinstance(m, dict) or "ratio" not in m:
            continue
        out[f"stats {label}: CivicGrid"] = fig(m["engine_ms"], "ms", "linear")
        out[f"stats {label}: raw SQL"] = fig(m["sql_ms"], "ms", "linear")
        out[f"stats {label}: ratio"] = fig(m["ratio"], "×", "flat", "≤ 1.5", m["ratio"] <= 1.5)
    if isinstance(c := stats.get("choropleth"), dict) and "gzip_bytes" in c:
        ok = c["gzip_bytes"] <= 1_500_000
        out["stats choropleth: gzipped"] = fig(c["gzip_bytes"], "bytes", "linear", "≤ 1.5 MB", ok)
    if isinstance(r := stats.get("replay"), dict) and "replay_ms" in r:
        out["stats report by event replay (as-of)"] = fig(r["replay_ms"], "ms", "linear")
    return out


def stats_step(url: str, args, result: dict, timings: dict) -> None:
    """bench/stats.py, its result in a temporary file; it reuses the dataset only when it
    is asked for the same spec, so the city's --districts/--cells go along when it takes them."""
    script = HERE / "stats.py"
    if not script.exists():
        result["stats"] = {"error": "bench/stats.py is not there"}
        return
    cmd = [PY, "bench/stats.py", "--db", url, "--mode", args.mode]
    takes = "--districts" in sh([PY, str(script), "--help"], capture_output=True, text=True).stdout
    if takes:
        cmd += ["--districts", str(args.districts), "--cells", str(args.cells)]
    elif (args.districts, args.cells) != (1, 2000):
        # It would reload the dataset with its default spec (1 district, 2,000 cells).
        result["stats"] = {"error": "bench/stats.py takes no --districts/--cells"}
        return
    # Its result comes back in a file named here (json_step): its own default name carries the
    # date of Django's time zone (Beijing), not this process's date for eight hours of the day.
    json_step("stats", cmd, result, timings)


# --- output ------------------------------------------------------------------------------------


def fmt(value, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    else:
        text = f"{value:,}"
    return f"{text} {unit}".strip()


def print_table(result: dict) -> None:
    env, figures = result["environment"], result["figures"]
    data = result.get("dataset", {})
    print(
        f"\n== make bench, mode {result['mode']}: {data.get('counts', data) or ''}\n"
        f"   {env['cpus']} CPUs · {env['postgresql']} · PostGIS {env['postgis']} · "
        f"load average {env['loadavg_start']:.1f} at start, {env.get('loadavg_end', 0):.1f} at end"
    )
    rows = [(k, fmt(f["value"], f["unit"]), f["target"], f["ok"]) for k, f in figures.items()]
    rows = [r for r in rows if not r[0].endswith(("p50", "p99"))]  # in the JSON; table: p95
    widths = [max(len(str(r[i])) for r in rows) for i in range(3)]
    for name, value, target, ok in rows:
        mark = {True: "ok", False: "MISSED", None: ""}[ok]
        print(f"  {name:<{widths[0]}}  {value:>{widths[1]}}  {target:<{widths[2]}}  {mark}")
    missed = [k for k, f in figures.items() if f["ok"] is False]
    print(f"\n  {len(missed)} target(s) missed" + (": " + "; ".join(missed) if missed else ""))


def latest_results() -> dict[str, dict]:
    found = {}
    for mode in MODES:
        files = sorted(RESULTS.glob(f"*-{mode}.json"))
        if files:
            found[mode] = json.loads(files[-1].read_text())
    return found


def growth(found: dict[str, dict]) -> list[dict]:
    """Every figure of every mode side by side, with a flag where it grows too fast."""
    modes = [m for m in MODES if m in found]
    names: list[str] = []
    for m in modes:
        names += [n for n in found[m]["figures"] if n not in names]
    table = []
    for name in names:
        row = {"figure": name, "values": {}, "flag": ""}
        kind = unit = None
        for m in modes:
            f = found[m]["figures"].get(name)
            if f:
                row["values"][m] = f["value"]
                kind, unit = f["kind"], f["unit"]
        row["unit"], row["kind"] = unit, kind
        for a, b in zip(modes, modes[1:], strict=False):
            va, vb = row["values"].get(a), row["values"].get(b)
            if not isinstance(va, int | float) or not isinstance(vb, int | float) or va <= 0:
                continue
            rows_factor = PETITIONS[b] / PETITIONS[a]
            if (
                kind == "linear"
                and vb / va > 1
                and math.log(vb / va) / math.log(rows_factor) > (LINEAR_EXPONENT)
            ):
                row["flag"] = f"faster than linear ({a}→{b}: ×{vb / va:.1f} for ×{rows_factor:g})"
            elif kind == "flat" and vb / va > FLAT_FACTOR:
                row["flag"] = f"should stay flat ({a}→{b}: ×{vb / va:.1f})"
        table.append(row)
    return table


def print_growth(found: dict[str, dict]) -> list[dict]:
    table = growth(found)
    modes = [m for m in MODES if m in found]
    print("\n== Growth: " + " | ".join(f"{m} ({PETITIONS[m]:,} petitions)" for m in modes))
    width = max((len(r["figure"]) for r in table), default=10)
    for r in table:
        if r["figure"].endswith(("p50", "p99")):
            continue
        cells = "  ".join(f"{fmt(r['values'].get(m), r['unit'] or ''):>14}" for m in modes)
        print(f"  {r['figure']:<{width}}  {cells}  {r['flag']}")
    flagged = [r for r in table if r["flag"]]
    print(f"\n  {len(flagged)} figure(s) flagged")
    return table


def markdown(found: dict[str, dict]) -> str:
    """The growth table as Markdown, for bench/README.md (p50/p99 and req/s stay in the JSON)."""
    modes = [m for m in MODES if m in found]
    lines = [
        "| figure | " + " | ".join(f"{m} ({PETITIONS[m]:,})" for m in modes) + " | target | |",
        "|---|" + "---:|" * len(modes) + "---|---|",
    ]
    for r in growth(found):
        if r["figure"].endswith(("p50", "p99")):
            continue
        last = found[modes[-1]]["figures"].get(r["figure"]) or {}
        mark = {True: "ok", False: "**missed**", None: ""}[last.get("ok")]
        flag = f" ⚠ {r['flag']}" if r["flag"] else ""
        cells = " | ".join(fmt(r["values"].get(m), r["unit"] or "") for m in modes)
        lines.append(f"| {r['figure']} | {cells} | {last.get('target', '')} | {mark}{flag} |")
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=MODES, default="default")
    parser.add_argument("--db", help="default: postgis://postgres@127.0.0.1:5432/cg_bench_<mode>")
    parser.add_argument("--duration", type=int, default=15, help="seconds per request scenario")
    parser.add_argument("--clients", default="1,10,50")
    # dataset.py's defaults: the city of issue #9; one district is --districts 1 --cells 2000.
    parser.add_argument("--districts", type=int, default=10)
    parser.add_argument("--cells", type=int, default=20000)
    parser.add_argument("--skip", default="", help="comma-separated: stats,batch,requests")
    parser.add_argument("--growth", action="store_true", help="only print the growth table")
    parser.add_argument("--markdown", action="store_true", help="the growth table as Markdown")
    args = parser.parse_args()
    if args.growth:
        print_growth(latest_results())
        return
    if args.markdown:
        print(markdown(latest_results()))
        return
    skip = set(filter(None, args.skip.split(",")))
    url = args.db or f"postgis://postgres@127.0.0.1:5432/cg_bench_{args.mode}"
    os.environ["DATABASE_URL"] = url

    ensure_database(url)
    timings: dict = {}
    start = time.perf_counter()
    if sh([PY, "manage.py", "migrate", "-v", "0"], env={**os.environ}).returncode != 0:
        sys.exit("migrate failed")
    timings["migrate"] = time.perf_counter() - start
    result: dict = {"mode": args.mode, "database": url.rsplit("/", 1)[-1]}
    result["environment"] = environment(url)
    result["dataset"] = dataset_step(url, args, timings)

    if "stats" not in skip:
        stats_step(url, args, result, timings)
    if "batch" not in skip:
        cmd = [PY, "bench/batch.py", "--db", url, "--points", str(LOCATE_POINTS)]
        cmd += ["--ledger-rows", str(LEDGER_ROWS)]
        json_step("batch", cmd, result, timings)
    if "requests" not in skip:
        cmd = [PY, "bench/http_load.py", "--db", url, "--duration", str(args.duration)]
        cmd += ["--clients", args.clients]
        json_step("requests", cmd, result, timings)

    # A skipped step keeps its section from the mode's last results (marked), so one benchmark
    # can be re-run after a fix without losing the others from the table.
    previous = latest_results().get(args.mode, {})
    for step in skip & {"stats", "batch", "requests"}:
        if isinstance(previous.get(step), dict) and "error" not in previous[step]:
            # A section reused twice keeps the time it was measured.
            started = previous["environment"]["started"]
            result[step] = {"reused_from": started, **previous[step]}
    result["environment"]["loadavg_end"] = os.getloadavg()[0]
    result["timings_s"] = timings
    figures = {}
    if isinstance(result.get("stats"), dict) and "error" not in result["stats"]:
        figures.update(stats_figures(result["stats"]))
    if isinstance(result.get("batch"), dict) and "error" not in result["batch"]:
        figures.update(batch_figures(result["batch"]))
    if isinstance(result.get("requests"), dict) and "error" not in result["requests"]:
        figures.update(request_figures(result["requests"]))
    result["figures"] = figures
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{result['environment']['date']}-{args.mode}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_table(result)
    errors = [k for k in ("stats", "batch", "requests") if "error" in (result.get(k) or {})]
    if errors:
        print("  failed steps: " + ", ".join(f"{k} ({result[k]['error']})" for k in errors))
    print(f"\nwritten {out.relative_to(ROOT)}  (total {sum(timings.values()) / 60:.1f} min)")
    if len(latest_results()) > 1:
        print_growth(latest_results())


if __name__ == "__main__":
    main()
