"""Generate an N-row historical petition ledger (信访台账) as CSV or XLSX, for tests and benchmarks,
and benchmark its import end to end on PostGIS.

    .venv/bin/python bench/ledger_rows.py 100000 var/ledger-100k.csv [--encoding gb18030]
    .venv/bin/python bench/ledger_rows.py 20000 var/ledger-20k.xlsx [--bad-every 50]
    DATABASE_URL=postgis://postgres@127.0.0.1:5432/cg_ledger_bench \
        .venv/bin/python bench/ledger_rows.py bench [--sizes 10000 100000] [--formats csv xlsx]
                                                    [--celery 100000] [--bad-every 1000]

`bench` (see bench/README.md, "ledger"): for each format and size, a dry run and a commit through
`manage.py ledger_import` in a child process, then (--celery N) one N-row CSV dry run + commit
through a real Celery worker on Redis (queue "imports"), polled like the page's progress bar;
wall time, rows/s and the child's peak RSS (wait4) of each; writes bench/results/ledger-<date>.json.

Rows are written as they are generated (CSV writer, openpyxl write-only workbook), so memory
stays flat whatever N. The columns are those street offices keep (HEADERS); identity numbers carry
valid GB 11643 check digits, dates run back from `--end`, statuses cycle through 已办结 / 办理中 /
已登记 / 已答复, and every 4th row has coordinates inside the test district (tests/factories.py),
the others an address naming one of its communities. `--bad-every K` makes every K-th row invalid
(bad check digit), so a dry run has errors to report. Needs no Django.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

HEADERS = [
    "原编号",
    "登记日期",
    "信访形式",
    "信访人",
    "身份证号",
    "联系电话",
    "住址",
    "反映问题",
    "问题分类",
    "承办单位",
    "办理状态",
    "答复日期",
    "答复意见",
    "经度",
    "纬度",
]
CHANNELS = ["来信", "来访", "网上信访", "电话"]
CATEGORIES = ["物业服务", "维修资金", "噪声污染", "违章建筑", "拖欠工资", "邻里纠纷"]
STATUSES = ["已办结", "办理中", "已登记", "已答复"]
COMMUNITIES = ["测试1街道北社区", "测试1街道南社区", "测试2街道北社区", "测试2街道南社区"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
X0, Y0 = 121.55, 38.90  # the test district's south-west corner (0.04° × 0.02°)


def id_number(rng: random.Random, born: dt.date) -> str:
    first17 = f"210204{born:%Y%m%d}{rng.randrange(1000):03d}"
    check = ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]
    return first17 + check


def ledger_rows(
    n: int,
    *,
    seed: int = 7,
    end: dt.date = dt.date(2025, 12, 31),
    days: int = 700,
    bad_every: int = 0,
    unit: str = "区城建局",
) -> Iterator[list]:
    """N data rows (without the header) in the order of HEADERS."""
    rng = random.Random(seed)
    for i in range(1, n + 1):
        received = end - dt.timedelta(days=i % days)
        status = STATUSES[i % len(STATUSES)]
        replied = status in ("已办结", "已答复")
        reply_on = min(received + dt.timedelta(days=rng.randrange(1, 50)), end)
        ident = id_number(rng, dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000)))
        if bad_every and i % bad_every == 0:
            ident = ident[:17] + ("0" if ident[17] != "0" else "1")
        located = i % 4 == 0
        yield [
            f"TZ-{i:07d}",
            received.isoformat(),
            CHANNELS[i % len(CHANNELS)],
            rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            ident,
            f"13{rng.randrange(10**9):09d}",
            f"{COMMUNITIES[i % len(COMMUNITIES)]}{rng.randrange(1, 200)}号楼{rng.randrange(1, 7)}单元",
            f"反映小区第{i}号问题：物业未按约定履行维修义务，要求尽快处理。",
            CATEGORIES[i % len(CATEGORIES)],
            unit if status != "已登记" else "",
            status,
            reply_on.isoformat() if replied else "",
            "已向信访人解释说明相关政策。" if replied else "",
            f"{X0 + 0.001 + rng.random() * 0.038:.6f}" if located else "",
            f"{Y0 + 0.001 + rng.random() * 0.018:.6f}" if located else "",
        ]


def write_csv(path: str | Path, n: int, *, encoding: str = "utf-8-sig", **kw) -> Path:
    path = Path(path)
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        writer.writerows(ledger_rows(n, **kw))
    return path


def write_xlsx(path: str | Path, n: int, *, title: str | None = None, **kw) -> Path:
    """An XLSX ledger, optionally with a title line above the header (as offices keep them)."""
    import openpyxl

    path = Path(path)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    if title:
        sheet.append([title])
    sheet.append(HEADERS)
    for row in ledger_rows(n, **kw):
        row[1] = dt.date.fromisoformat(row[1])  # dates as Excel dates, as offices type them
        row[11] = dt.date.fromisoformat(row[11]) if row[11] else None
        sheet.append(row)
    book.save(path)
    return path


# --- Benchmark ------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
BENCH_URL = "postgis://postgres@127.0.0.1:5432/cg_ledger_bench"
TARGET_ROWS_PER_S = 350  # 100,000 rows in ≤ 5 minutes


def _bench_env() -> dict:
    import os

    env = dict(os.environ)
    env.setdefault("DATABASE_URL", BENCH_URL)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env["DEBUG"] = "false"  # DEBUG keeps every query in memory
    # Production settings refuse the development keys; the bench's own (its data is made up).
    env.setdefault("PERSONAL_DATA_KEYS", "YmVuY2gtb25seS1sZWRnZXIta2V5LTMyLWJ5dGVzISE=")
    env.setdefault("PERSONAL_DATA_INDEX_KEY", "bench-only-blind-index-key")
    env.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
    # A real broker before Django reads its settings (without one, Celery runs tasks eagerly
    # in-process — the worker would get nothing).
    env.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/3")
    env["PYTHONPATH"] = str(ROOT)
    return env


def _setup_django() -> None:
    import os
    import sys

    os.environ.update(_bench_env())
    # Python put bench/ first on the path (the script's directory): a bench script named like an
    # installed module would shadow it for Django.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
    sys.path.insert(0, str(ROOT))
    import importlib.util

    import django

    # The locate benchmark's database bootstrap, loaded by path (bench/ is no package, and other
    # scripts in it must not shadow installed modules).
    spec = importlib.util.spec_from_file_location("bench_locate", ROOT / "bench" / "locate.py")
    locate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(locate)
    ensure_database = locate.ensure_database

    ensure_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _fixtures():
    """The test district (tests/factories.build_hierarchy, in force since 2020), the handling unit
    the generated rows name, and the importing user."""
    import datetime as dt_

    from django.contrib.auth import get_user_model

    from grid.models import District
    from grid.services.generations import generation_activate
    from petitions.models import Organization
    from tests.factories import build_hierarchy

    if not District.objects.filter(code="210204", name="沙河口区", generation__status="active"):
        h = build_hierarchy()
        generation_activate(generation=h["generation"], at=dt_.datetime(2020, 1, 1, tzinfo=dt_.UTC))
    Organization.objects.get_or_create(name="区城建局", defaults={"kind": "handling_unit"})
    user, _c = get_user_model().objects.get_or_create(username="ledger_bench")
    return user


def _office(label: str):
    """A fresh importing office per run: references are unique per office, so every run
    imports all its rows."""
    import time

    from petitions.models import Organization

    return Organization.objects.create(
        name=f"基准街道办事处 {label} {time.time_ns()}", kind="street_office", area_code="210204001"
    )


class BackendCpu:
    """CPU seconds spent by the PostgreSQL backends serving other processes (the importer or
    the worker) while the block runs: /proc/<pid>/stat of each client backend of the bench
    database, sampled every 0.2 s (the server runs on this machine)."""

    def __enter__(self):
        import os
        import threading

        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid(), current_database()")
            self.own_pid, self.database = cur.fetchone()
        self.ticks: dict[int, int] = {}
        self.hz = os.sysconf("SC_CLK_TCK")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def _poll(self) -> None:
        from django.db import connections

        conn = connections.create_connection("default")  # this thread's own connection
        try:
            while not self.stop.wait(0.2):
                with conn.cursor() as cur:
                    cur.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> ALL(%s) "
                        "AND backend_type = 'client backend'",
                        [self.database, [self.own_pid, conn.connection.get_backend_pid()]],
                    )
                    pids = [pid for (pid,) in cur.fetchall()]
                for pid in pids:
                    try:
                        with open(f"/proc/{pid}/stat") as f:
                            fields = f.read().rsplit(")", 1)[1].split()
                        self.ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
                    except (OSError, IndexError):
                        pass
        finally:
            conn.close()

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.seconds = round(sum(self.ticks.values()) / self.hz, 2)


def _child(args: list[str], log: Path) -> dict:
    """Run a child process; its wall time and peak RSS (from wait4, so only its own)."""
    import os
    import subprocess
    import sys
    import time

    started = time.perf_counter()
    with open(log, "w") as out, BackendCpu() as backend:
        proc = subprocess.Popen(
            [sys.executable, *args], stdout=out, stderr=subprocess.STDOUT, env=_bench_env(),
            cwd=ROOT,
        )  # fmt: skip
        _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(args)} failed, see {log}")
    return {
        "seconds": round(seconds, 2),
        # CPU time of the importing process itself: comparable across runs on a busy machine.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "db_backend_cpu_seconds": backend.seconds,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def _check(office, n: int, bad_every: int, *, committed: bool) -> dict:
    from ledger.models import LedgerImport
    from petitions.models import Petition, PetitionEvent

    imp = LedgerImport.objects.filter(organization=office).order_by("-pk").first()
    bad = n // bad_every if bad_every else 0
    expected_status = "done" if committed else "dry_run_done"
    got = (imp.status, imp.processed_rows, imp.created_count, imp.error_count)
    if got != (expected_status, n, n - bad, bad):
        raise SystemExit(f"unexpected result {got} for {n} rows")
    cases = Petition.objects.filter(registered_by_org=office)
    found = cases.count()
    if found != (n - bad if committed else 0):
        raise SystemExit(f"{found} cases registered for {n} rows")
    events = PetitionEvent.objects.filter(petition__registered_by_org=office).count()
    return {"cases": found, "events": events, "errors": imp.error_count}


def bench_command(path: Path, n: int, bad_every: int, user) -> dict:
    """Dry run, then commit, each through `manage.py ledger_import` in its own process."""
    office = _office(path.name)
    logs = ROOT / "var" / "bench"
    base = ["manage.py", "ledger_import", str(path), "--organization", str(office.pk),
            "--user", user.username, "--max-errors", "3"]  # fmt: skip
    out = {}
    for phase, extra in (("dry_run", []), ("commit", ["--commit"])):
        run = _child([*base, *extra], logs / f"{path.stem}-{phase}.log")
        run["rows_per_s"] = round(n / run["seconds"], 1)
        run.update(_check(office, n, bad_every, committed=phase == "commit"))
        out[phase] = run
        print(f"  {path.name} {phase:8s} {run['seconds']:7.1f} s  {run['rows_per_s']:7.1f} rows/s"
              f"  CPU {run['cpu_seconds']:6.1f} s + db {run['db_backend_cpu_seconds']:5.1f} s"
              f"  peak RSS {run['peak_rss_mb']:6.1f} MB"
              f"  load {run['load_average_after']}", flush=True)  # fmt: skip
    return out


def bench_celery(path: Path, n: int, bad_every: int, user) -> dict:
    """Dry run + commit queued to a real Celery worker (imports queue, Redis), progress polled."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from django.conf import settings

    from ledger import services
    from ledger.models import LedgerImport

    env = _bench_env()
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        raise SystemExit("Celery is eager in this process: set CELERY_BROKER_URL")
    log = open(ROOT / "var" / "bench" / "celery-worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "imports", "-P", "solo",
         "-c", "1", "--without-gossip", "--without-mingle", "-l", "warning"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
    )  # fmt: skip
    office = _office("celery")
    out = {}
    backend = BackendCpu().__enter__()
    try:
        imp = services.ledger_import_file(path=str(path), organization=office, actor=user)
        for phase in ("dry_run", "commit"):
            started = time.perf_counter()
            if phase == "dry_run":
                services.ledger_dry_run_start(ledger_import=imp)
            else:
                services.ledger_commit_start(ledger_import=imp)
            polls, percents = 0, []
            while True:
                time.sleep(1)
                imp.refresh_from_db()
                polls += 1
                percents.append(imp.percent)
                if imp.status != LedgerImport.Status.RUNNING:
                    break
                if time.perf_counter() - started > 1800:
                    raise SystemExit("the worker did not finish within 30 minutes")
            seconds = time.perf_counter() - started
            run = {"seconds": round(seconds, 2), "rows_per_s": round(n / seconds, 1),
                   "polls": polls, "distinct_percentages_seen": len(set(percents))}  # fmt: skip
            run.update(_check(office, n, bad_every, committed=phase == "commit"))
            out[phase] = run
            print(f"  celery {phase:8s} {seconds:7.1f} s  {run['rows_per_s']:7.1f} rows/s  "
                  f"{run['distinct_percentages_seen']} progress values seen", flush=True)  # fmt: skip
    finally:
        worker.send_signal(signal.SIGTERM)
        _pid, _status, usage = os.wait4(worker.pid, 0)
        backend.__exit__(None, None, None)
        log.close()
    out["db_backend_cpu_seconds"] = backend.seconds
    out["worker_peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    out["worker_cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 2)
    print(f"  celery worker peak RSS {out['worker_peak_rss_mb']} MB", flush=True)
    return out


def _environment() -> dict:
    import datetime as dt_
    import os
    import platform

    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT version(), postgis_lib_version()")
        pg, postgis = cur.fetchone()
    return {
        "date": dt_.date.today().isoformat(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": pg.split(" on ")[0],
        "postgis": postgis,
    }


def bench(argv: list[str]) -> None:
    import json
    import time

    parser = argparse.ArgumentParser(prog="ledger_rows.py bench")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--formats", nargs="*", default=["csv", "xlsx"], choices=["csv", "xlsx"],
                        help="none: only the Celery run (the file's other results are kept)")  # fmt: skip
    parser.add_argument("--celery", type=int, default=100_000, help="rows (0: skip)")
    parser.add_argument("--bad-every", type=int, default=1000)
    args = parser.parse_args(argv)
    _setup_django()
    user = _fixtures()
    files = ROOT / "var" / "bench"
    files.mkdir(parents=True, exist_ok=True)
    result = {"environment": _environment(), "target_rows_per_s": TARGET_ROWS_PER_S, "runs": []}
    for fmt in args.formats:
        for n in args.sizes:
            path = files / f"ledger-{n}.{fmt}"
            started = time.perf_counter()
            writer = write_xlsx if fmt == "xlsx" else write_csv
            writer(path, n, bad_every=args.bad_every)
            generated = round(time.perf_counter() - started, 1)
            print(f"{fmt} {n:,} rows ({path.stat().st_size / 2**20:.1f} MB, generated in "
                  f"{generated} s)", flush=True)  # fmt: skip
            run = {"format": fmt, "rows": n, "bytes": path.stat().st_size}
            run.update(bench_command(path, n, args.bad_every, user))
            result["runs"].append(run)
    if args.celery:
        path = write_csv(files / f"ledger-{args.celery}-celery.csv", args.celery,
                         bad_every=args.bad_every)  # fmt: skip
        print(f"celery csv {args.celery:,} rows", flush=True)
        result["celery"] = {"format": "csv", "rows": args.celery}
        result["celery"].update(bench_celery(path, args.celery, args.bad_every, user))
    out = ROOT / "bench" / "results" / f"ledger-{result['environment']['date']}.json"
    if out.exists():  # keep the parts of today's results this run did not redo
        previous = json.loads(out.read_text(encoding="utf-8"))
        result["runs"] = result["runs"] or previous.get("runs", [])
        result.setdefault("celery", previous.get("celery"))
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {out.relative_to(ROOT)}")


def main() -> None:
    import sys

    if sys.argv[1:2] == ["bench"]:
        bench(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("path", help="output file; .xlsx for Excel, anything else for CSV")
    parser.add_argument("--encoding", default="utf-8-sig", help="CSV encoding (gb18030, utf-8…)")
    parser.add_argument("--bad-every", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    kw = {"bad_every": args.bad_every, "seed": args.seed}
    if args.path.endswith(".xlsx"):
        write_xlsx(args.path, args.rows, **kw)
    else:
        write_csv(args.path, args.rows, encoding=args.encoding, **kw)
    print(f"{args.rows} rows → {args.path}")


if __name__ == "__main__":
    main()
