"""Generate an N-row historical petition ledger (信访台账) as CSV or XLSX, for tests and benchmarks.

    .venv/bin/python bench/ledger_rows.py 100000 var/ledger-100k.csv [--encoding gb18030]
    .venv/bin/python bench/ledger_rows.py 20000 var/ledger-20k.xlsx [--bad-every 50]

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


def main() -> None:
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
