"""Seed the holiday calendar (State Council notices for 2025 and 2026), the SPEC §3 category
taxonomy, and — on PostgreSQL — trigram indexes for Chinese substring search."""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"

# Two-level taxonomy: first level from SPEC §3, with common second-level items.
CATEGORIES = [
    ("01", "城区改造与征收拆迁", ["征收补偿", "回迁安置", "违法拆除"]),
    ("02", "企业改制遗留", ["职工安置", "改制补偿"]),
    ("03", "劳动社保与欠薪", ["拖欠工资", "社会保险", "劳动关系"]),
    ("04", "集资融资", ["非法集资", "民间借贷"]),
    ("05", "物业管理", ["物业服务", "维修资金", "业委会"]),
    ("06", "住房与土地", ["房屋产权", "保障性住房", "土地权属"]),
    ("07", "环境污染", ["噪声污染", "大气污染", "水污染"]),
    ("08", "城市管理", ["违章建筑", "市容环境", "占道经营", "交通设施"]),
    ("09", "医疗卫生", ["医疗纠纷", "公共卫生"]),
    ("10", "教育", ["入学招生", "校园安全"]),
    ("11", "婚姻家庭与邻里", ["婚姻家庭", "邻里纠纷"]),
    ("12", "涉法涉诉", ["诉讼程序", "执行问题"]),
    ("13", "其他", ["其他问题"]),
]
# Accusations against officials are never public; the category of 涉法涉诉 stays public.
PRIVATE = set()


def seed(apps, schema_editor):
    CalendarDay = apps.get_model("petitions", "CalendarDay")
    Category = apps.get_model("petitions", "Category")
    with open(DATA / "cn_public_holidays_2025_2026.csv", encoding="utf-8") as f:
        CalendarDay.objects.bulk_create(
            [
                CalendarDay(date=r["date"], kind=r["kind"], name=r["name"])
                for r in csv.DictReader(f)
            ],
            ignore_conflicts=True,
        )
    for i, (code, name, children) in enumerate(CATEGORIES):
        parent, _ = Category.objects.get_or_create(
            code=code, defaults={"name": name, "sort": i, "is_public": code not in PRIVATE}
        )
        for j, child in enumerate(children):
            Category.objects.get_or_create(
                code=f"{code}{j + 1:02d}", defaults={"name": child, "parent": parent, "sort": j}
            )


def trigram(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # Django's icontains compiles to UPPER(col) LIKE UPPER(%s): index that expression.
    for col in ("summary", "content", "address", "receipt_no"):
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS petition_{col}_trgm ON petitions_petition "
            f"USING gin (UPPER({col}) gin_trgm_ops)"
        )


def untrigram(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for col in ("summary", "content", "address", "receipt_no"):
        schema_editor.execute(f"DROP INDEX IF EXISTS petition_{col}_trgm")


class Migration(migrations.Migration):
    dependencies = [("petitions", "0001_initial")]
    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(trigram, untrigram),
    ]
