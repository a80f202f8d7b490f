"""Ledger import (信访台账): mapping suggestions, the dry run's per-row report, the commit into
petitions at the ledger's dates, idempotent re-runs, CSV encodings, XLSX, resuming a stuck run,
the command line, and memory on a 100,000-row file."""

import csv
import datetime as dt
import io
import json
import resource

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from bench.ledger_rows import write_csv
from ledger import services
from ledger.models import LedgerImport, LedgerRow, LedgerRowError
from ledger.places import AddressPlaces
from ledger.rows import mapping_suggest, parse_date, ref_from_hash
from petitions.models import Category, Petition, Petitioner, PetitionEvent
from tests.petitions.conftest import VALID_ID, bj

pytestmark = pytest.mark.django_db

BAD_CHECK = VALID_ID[:-1] + "1"  # wrong GB 11643 check digit
OTHER_ID = "210204198001010019"  # valid
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
    "事项类型",
    "承办单位",
    "办理状态",
    "答复日期",
    "答复意见",
    "经度",
    "纬度",
]
MAPPING = {
    "external_ref": "原编号",
    "received_date": "登记日期",
    "channel": "信访形式",
    "name": "信访人",
    "id_number": "身份证号",
    "phone": "联系电话",
    "address": "住址",
    "summary": "反映问题",
    "category": "问题分类",
    "case_type": "事项类型",
    "handling_unit": "承办单位",
    "status": "办理状态",
    "reply_date": "答复日期",
    "reply_text": "答复意见",
    "longitude": "经度",
    "latitude": "纬度",
}


def row(**kw) -> list[str]:
    """A good ledger row (closed case in cell 210204001001001), with overrides by field key."""
    values = {
        "external_ref": "TZ-001",
        "received_date": "2025-03-03",
        "channel": "来信",
        "name": "张三",
        "id_number": VALID_ID,
        "phone": "13812345678",
        "address": "",
        "summary": "小区物业不履行维修义务",
        "category": "物业服务",
        "case_type": "",
        "handling_unit": "区城建局",
        "status": "已办结",
        "reply_date": "2025-03-20",
        "reply_text": "已督促物业公司维修。",
        "longitude": "121.555",
        "latitude": "38.915",
    }
    values.update(kw)
    return [values[k] for k in MAPPING]


BLANK = [""] * len(HEADERS)
# The file of the dry-run and commit tests: rows 2–4 and 18–19 good, the others each bad.
ROWS = [
    row(),  # 2
    row(  # 3: handling, placed by address (no coordinates)
        external_ref="TZ-002",
        received_date="2025/4/1",
        channel="来访",
        name="李四",
        id_number=OTHER_ID,
        phone="0411-84561234",
        address="大连市测试2街道南社区5号楼",
        status="办理中",
        reply_date="",
        reply_text="",
        longitude="",
        latitude="",
    ),
    row(  # 4: registered, anonymous letter without a reference
        external_ref="",
        received_date="2025年5月6日",
        name="",
        id_number="",
        phone="",
        summary="匿名反映噪声扰民",
        category="噪声污染",
        handling_unit="",
        status="已登记",
        reply_date="",
        reply_text="",
        longitude="",
        latitude="",
    ),
    row(external_ref="TZ-005", received_date="2024-13-45"),  # 5
    row(external_ref="TZ-006", channel="飞鸽传书"),  # 6
    row(external_ref="TZ-007", id_number=BAD_CHECK),  # 7
    row(external_ref="TZ-008", phone="12345"),  # 8
    row(external_ref="TZ-009", category="外星人"),  # 9
    row(external_ref="TZ-010", handling_unit="区宇宙局"),  # 10
    row(external_ref="TZ-011", status="搁置"),  # 11
    row(external_ref="TZ-012", reply_date=""),  # 12
    row(external_ref="TZ-013", reply_date="2025-03-01"),  # 13
    row(external_ref="TZ-001", name="王五"),  # 14: duplicate reference
    row(external_ref="TZ-015", received_date="2099-01-01", status="已登记", reply_date=""),  # 15
    BLANK,  # 16: ignored
    row(external_ref="TZ-017", id_number="12345", phone="999"),  # 17: two errors
    row(  # 18: replied, first-level category, same-day reply
        external_ref="TZ-018",
        received_date="2025-06-02",
        category="物业管理",
        status="已答复",
        reply_date="2025-06-02",
        longitude="",
        latitude="",
    ),
    row(  # 19: not accepted, category written as parent/child
        external_ref="TZ-019",
        category="城市管理/违章建筑",
        status="不予受理",
        handling_unit="",
        reply_date="",
        reply_text="属于诉讼程序解决事项",
        longitude="",
        latitude="",
    ),
    row(external_ref="TZ-020", case_type="检举控告类"),  # 20: accusation to a non-discipline unit
]
GOOD_ROWS = [2, 3, 4, 18, 19]
EXPECTED_ERRORS = [
    (5, "received_date", "登记日期无法识别（应为如 2024-05-06 的日期）。"),
    (6, "channel", "未知的信访形式“飞鸽传书”。"),
    (7, "id_number", "身份证号校验位不正确，请核对。"),
    (8, "phone", "电话号码格式不正确（11位手机号或带区号的固定电话）。"),
    (9, "category", "未知的问题分类“外星人”。"),
    (10, "handling_unit", "未知的承办单位“区宇宙局”。"),
    (11, "status", "未知的办理状态“搁置”。"),
    (12, "reply_date", "办理状态为“已办结”，但缺少答复日期。"),
    (13, "reply_date", "答复日期早于登记日期。"),
    (14, "external_ref", "编号与第2行重复。"),
    (15, "received_date", "登记日期晚于今天。"),
    (17, "id_number", "身份证号格式不正确（应为18位）。"),
    (17, "phone", "电话号码格式不正确（11位手机号或带区号的固定电话）。"),
    (20, "handling_unit", "检举控告类事项只能转送纪检监察机关。"),
]
ERROR_ROWS = len({r for r, _f, _m in EXPECTED_ERRORS})


def csv_bytes(rows, *, encoding="utf-8-sig", headers=HEADERS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, *, title=None, headers=HEADERS) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(headers)
    for r in rows:
        sheet.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def grid(hierarchy):
    return hierarchy


@pytest.fixture
def upload(office, clerk, unit, discipline, grid):
    """upload(content, name=…) → a mapped LedgerImport of the office, uploaded by the clerk."""

    def _upload(content: bytes, name="台账.csv", mapping=None, crs="wgs84") -> LedgerImport:
        imp = services.ledger_upload(
            organization=office,
            upload=SimpleUploadedFile(name, content),
            actor=clerk,
            crs=crs,
        )
        return services.ledger_map(ledger_import=imp, mapping=mapping or MAPPING)

    return _upload


def run(imp: LedgerImport, *, commit: bool) -> LedgerImport:
    return services.ledger_run_now(ledger_import=imp, commit=commit)


def errors(imp: LedgerImport, phase: str) -> list[tuple]:
    return list(
        LedgerRowError.objects.filter(ledger_import=imp, phase=phase)
        .order_by("row_number", "pk")
        .values_list("row_number", "field", "reason")
    )


# --- Mapping and values ----------------------------------------------------------------------------


def test_mapping_is_suggested_from_common_chinese_headers():
    headers = [
        "序号",
        "编号",
        "来信来访日期",
        "信访方式",
        "信访人姓名",
        "身份证号码（18位）",
        "联系电话",
        "家庭住址",
        "内容摘要",
        "问题类别",
        "承办单位",
        "办理情况",
        "办结日期",
        "处理结果",
        "经度",
        "纬度",
        "备注",
    ]
    assert mapping_suggest(headers) == {
        "external_ref": "编号",
        "id_number": "身份证号码（18位）",
        "phone": "联系电话",
        "reply_date": "办结日期",
        "reply_text": "处理结果",
        "longitude": "经度",
        "latitude": "纬度",
        "received_date": "来信来访日期",
        "channel": "信访方式",
        "name": "信访人姓名",
        "address": "家庭住址",
        "category": "问题类别",
        "handling_unit": "承办单位",
        "status": "办理情况",
        "summary": "内容摘要",
    }


def test_mapping_suggestion_reads_keywords_and_uses_each_column_once():
    headers = ["登记日期", "信访形式", "信访人", "信访人身份证号", "信访人联系电话", "住址",
               "反映问题", "问题分类", "答复日期", "原编号", "日期"]  # fmt: skip
    assert mapping_suggest(headers) == {
        "external_ref": "原编号",
        "id_number": "信访人身份证号",
        "phone": "信访人联系电话",
        "reply_date": "答复日期",
        "received_date": "登记日期",
        "channel": "信访形式",
        "name": "信访人",
        "address": "住址",
        "category": "问题分类",
        "summary": "反映问题",
    }


def test_the_mapping_needs_the_required_columns(upload):
    imp = upload(csv_bytes([row()]))
    with pytest.raises(Exception) as e:
        services.ledger_map(
            ledger_import=imp, mapping={"received_date": "登记日期", "summary": "无此列"}
        )
    assert e.value.message_dict == {
        "channel": ["必须指定这一列。"],
        "category": ["必须指定这一列。"],
        "summary": ["文件中没有“无此列”这一列。"],
    }


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2025-03-03", dt.date(2025, 3, 3)),
        ("2025/3/3", dt.date(2025, 3, 3)),
        ("2025.03.03", dt.date(2025, 3, 3)),
        ("2025年3月3日", dt.date(2025, 3, 3)),
        ("２０２５年３月３日", dt.date(2025, 3, 3)),
        ("20250303", dt.date(2025, 3, 3)),
        ("2025-03-03 14:20", dt.date(2025, 3, 3)),
        ("45719", dt.date(2025, 3, 3)),  # Excel day number
        (45719.0, dt.date(2025, 3, 3)),
        (dt.datetime(2025, 3, 3, 0, 0), dt.date(2025, 3, 3)),
        ("2025-02-30", None),
        ("三月三日", None),
        ("12", None),
    ],
)
def test_ledger_dates(value, expected):
    assert parse_date(value) == expected


def test_addresses_are_placed_by_community_or_street_names(grid):
    places = AddressPlaces()
    assert places.match("大连市测试2街道南社区5号楼") == "210204002002"
    assert places.match("测试1街道北社区") == "210204001001"
    assert places.match("测试1街道北3号") == "210204001001"  # name without 社区
    assert places.match("测试2街道中山路12号") == "210204002"
    assert places.match("测试2 街道 北社区") == "210204002001"  # spaces ignored
    assert places.match("中山区人民路1号") is None
    assert places.match("") is None


# --- Dry run -----------------------------------------------------------------------------------------


def test_dry_run_reports_every_bad_row_and_writes_nothing(upload):
    imp = upload(csv_bytes(ROWS))
    assert imp.total_rows == len(ROWS)

    imp = run(imp, commit=False)

    assert imp.status == LedgerImport.Status.DRY_RUN_DONE
    assert errors(imp, "dry_run") == EXPECTED_ERRORS
    assert (imp.created_count, imp.skipped_count, imp.error_count) == (5, 0, ERROR_ROWS)
    assert imp.processed_rows == imp.total_rows == len(ROWS)
    assert Petition.objects.count() == 0
    assert LedgerRow.objects.count() == 0
    raw = LedgerRowError.objects.get(ledger_import=imp, row_number=7).raw_value
    assert raw == BAD_CHECK  # kept (encrypted at rest) for the report, shown masked


def test_dry_run_can_be_repeated_and_the_mapping_changed(upload):
    imp = run(upload(csv_bytes(ROWS)), commit=False)
    imp = services.ledger_map(ledger_import=imp, mapping={**MAPPING, "phone": ""})
    assert imp.status == LedgerImport.Status.MAPPED
    imp = run(imp, commit=False)
    assert [e for e in errors(imp, "dry_run") if e[1] == "phone"] == []
    assert LedgerRowError.objects.filter(ledger_import=imp).count() == len(EXPECTED_ERRORS) - 2


# --- Commit ------------------------------------------------------------------------------------------


def test_commit_registers_good_rows_at_the_ledger_dates_and_reports_bad_ones(
    upload, office, unit, clerk
):
    imp = upload(csv_bytes(ROWS))
    imp = run(run(imp, commit=False), commit=True)

    assert imp.status == LedgerImport.Status.DONE
    assert (imp.created_count, imp.skipped_count, imp.error_count) == (5, 0, ERROR_ROWS)
    assert errors(imp, "commit") == EXPECTED_ERRORS
    assert not imp.file  # the clear-text file is deleted once imported
    refs = dict(LedgerRow.objects.values_list("row_number", "petition__receipt_no"))
    assert sorted(refs) == GOOD_ROWS

    closed = Petition.objects.get(ledger_rows__external_ref="TZ-001")
    assert closed.status == Petition.Status.CLOSED
    assert closed.received_at == bj(2025, 3, 3, 9, 0)
    assert closed.accepted_at == bj(2025, 3, 4, 9, 0)
    assert closed.replied_at == bj(2025, 3, 20, 16, 0)
    assert closed.closed_at == bj(2025, 3, 20, 17, 0)
    assert closed.outcome == Petition.Outcome.EXPLAIN
    assert closed.reply_text == "已督促物业公司维修。"
    assert closed.handling_unit == unit
    assert closed.cell.code == closed.area_code == "210204001001001"
    assert (closed.source, closed.channel, closed.case_type) == ("own", "letter", "appeal")
    assert closed.registered_by_org == office and closed.registered_by == clerk
    assert closed.category.code == "0501"
    assert list(closed.events.values_list("action", "at")) == [
        ("register", bj(2025, 3, 3, 9, 0)),
        ("route_accept", bj(2025, 3, 4, 9, 0)),
        ("reply", bj(2025, 3, 20, 16, 0)),
        ("close", bj(2025, 3, 20, 17, 0)),
    ]
    person = closed.petitioners.get()
    assert (person.name, person.id_number, person.phone) == ("张三", VALID_ID, "13812345678")

    handling = Petition.objects.get(ledger_rows__external_ref="TZ-002")
    assert handling.status == Petition.Status.HANDLING
    assert handling.received_at == bj(2025, 4, 1, 9, 0)
    assert handling.channel == "visit"
    assert handling.cell is None and handling.location is None
    assert handling.area_code == "210204002002"  # from the address's community
    assert handling.events.get(action="register").payload["area_from_address"] == "210204002002"

    ref = ref_from_hash(dt.date(2025, 5, 6), "", "", "匿名反映噪声扰民")
    anonymous = Petition.objects.get(ledger_rows__external_ref=ref)
    assert anonymous.status == Petition.Status.REGISTERED
    assert anonymous.anonymous and not anonymous.petitioners.exists()
    assert anonymous.area_code == office.area_code
    assert anonymous.category.code == "0701"

    replied = Petition.objects.get(ledger_rows__external_ref="TZ-018")
    assert replied.status == Petition.Status.REPLIED
    assert replied.category == Category.objects.get(code="05")
    # Replied the same day: accepted an hour after receipt, before the reply.
    assert (replied.accepted_at, replied.replied_at) == (
        bj(2025, 6, 2, 10, 0),
        bj(2025, 6, 2, 16, 0),
    )

    rejected = Petition.objects.get(ledger_rows__external_ref="TZ-019")
    assert rejected.status == Petition.Status.NOT_ACCEPTED
    assert rejected.routing_reason == "属于诉讼程序解决事项"
    assert rejected.routed_at == bj(2025, 3, 4, 9, 0)
    assert rejected.category.code == "0801"

    # Receipt numbers follow the ledger's years, gap-free, in file order.
    assert sorted(refs.values()) == [f"XF-210204-2025-{n:06d}" for n in range(1, 6)]


def test_rerunning_the_same_file_creates_no_duplicates(upload):
    run(upload(csv_bytes(ROWS)), commit=True)
    people = Petitioner.objects.count()

    again = run(upload(csv_bytes(ROWS)), commit=False)
    # Row 14 repeats TZ-001's reference, imported before now: skipped like row 2.
    assert (again.created_count, again.skipped_count) == (0, 6)
    again = run(again, commit=True)

    assert (again.created_count, again.skipped_count, again.error_count) == (0, 6, ERROR_ROWS - 1)
    assert errors(again, "commit") == [e for e in EXPECTED_ERRORS if e[0] != 14]
    assert Petition.objects.count() == 5
    assert Petitioner.objects.count() == people
    assert LedgerRow.objects.count() == 5


def test_a_fixed_row_is_imported_on_the_next_run(upload):
    run(upload(csv_bytes(ROWS)), commit=True)
    fixed = [*ROWS[:4], row(external_ref="TZ-006", channel="来访")]
    imp = run(upload(csv_bytes(fixed)), commit=True)
    assert (imp.created_count, imp.skipped_count, imp.error_count) == (1, 3, 1)
    assert Petition.objects.get(ledger_rows__external_ref="TZ-006").channel == "visit"


REFUSE_SQL = {
    # A trigger stands for any row the database refuses (a constraint added later, bad data).
    "postgresql": [
        """CREATE FUNCTION refuse_second() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN IF NEW.summary = '第二行' THEN RAISE EXCEPTION 'refused'; END IF;
           RETURN NEW; END $$""",
        """CREATE TRIGGER refuse_second BEFORE INSERT ON petitions_petition
           FOR EACH ROW EXECUTE FUNCTION refuse_second()""",
    ],
    "sqlite": [
        """CREATE TRIGGER refuse_second BEFORE INSERT ON petitions_petition
           WHEN NEW.summary = '第二行' BEGIN SELECT RAISE(ABORT, 'refused'); END""",
    ],
}


def test_a_row_the_database_refuses_is_reported_and_the_others_go_on(upload):
    from django.db import connection

    with connection.cursor() as cur:
        for sql in REFUSE_SQL[connection.vendor]:
            cur.execute(sql)
    rows = [
        row(external_ref="A", summary="第一行"),
        row(external_ref="B", summary="第二行"),
        row(external_ref="C", summary="第三行"),
    ]
    imp = run(upload(csv_bytes(rows)), commit=True)

    assert (imp.created_count, imp.error_count) == (2, 1)
    assert errors(imp, "commit") == [(3, "status", "数据库拒绝保存这一行，请联系管理员。")]
    assert sorted(Petition.objects.values_list("summary", flat=True)) == ["第一行", "第三行"]
    # The refused row gave its receipt number back; each good case has all four events.
    assert sorted(Petition.objects.values_list("seq", flat=True)) == [1, 2]
    assert PetitionEvent.objects.count() == 8
    assert LedgerRow.objects.count() == 2


# --- Files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding, detected", [("gb18030", "gb18030"), ("utf-8-sig", "utf-8-sig"),
                                                ("utf-8", "utf-8")])  # fmt: skip
def test_csv_encodings(upload, encoding, detected):
    imp = upload(csv_bytes(ROWS, encoding=encoding))
    assert (imp.encoding, imp.headers, imp.header_row) == (detected, HEADERS, 1)
    assert mapping_suggest(imp.headers) == MAPPING
    imp = run(imp, commit=True)
    assert errors(imp, "commit") == EXPECTED_ERRORS
    assert Petition.objects.get(ledger_rows__external_ref="TZ-002").petitioners.get().name == "李四"


def test_gb18030_is_detected_past_the_first_megabyte(upload):
    """A GBK character first met on row 8,002 still decides the encoding (the whole file is
    checked, not its beginning)."""
    headers = ["ref", "date", "channel", "name", "summary", "category"]
    mapping = dict(zip(["external_ref", "received_date", "channel", "name", "summary",
                        "category"], headers, strict=True))  # fmt: skip
    rows = [[f"F{i}", "2025-01-02", "letter", "", "a" * 150, "0501"] for i in range(8000)]
    content = csv_bytes([*rows, ["LAST", "2025-01-02", "letter", "欧阳", "b", "0501"]],
                        encoding="gb18030", headers=headers)  # fmt: skip
    assert content[: 2**20].isascii() and len(content) > 2**20
    imp = run(upload(content, mapping=mapping), commit=False)
    assert (imp.encoding, imp.created_count, imp.error_count) == ("gb18030", 8001, 0)


def test_xlsx_with_a_title_line_and_excel_dates(upload, unit):
    rows = [row(), row(external_ref="TZ-002", received_date="", status="办理中", reply_date="")]
    rows[0][1] = dt.datetime(2025, 3, 3)  # an Excel date cell
    rows[0][12] = dt.datetime(2025, 3, 20)
    rows[0][0] = 1001  # a numeric reference
    content = xlsx_bytes(rows, title="2025年信访台账（测试1街道）")
    imp = upload(content, name="台账.xlsx")
    assert (imp.format, imp.header_row, imp.headers, imp.total_rows) == ("xlsx", 2, HEADERS, 2)
    imp = run(imp, commit=True)
    assert errors(imp, "commit") == [(4, "received_date", "登记日期为空。")]
    p = Petition.objects.get(ledger_rows__external_ref="1001")
    assert (p.received_at, p.closed_at) == (bj(2025, 3, 3, 9, 0), bj(2025, 3, 20, 17, 0))


def test_old_xls_and_garbage_are_refused(upload):
    with pytest.raises(Exception) as e:
        upload(b"\xd0\xcf\x11\xe0" + b"\0" * 100, name="台账.xls")
    assert e.value.message_dict == {
        "file": ["旧版 .xls 文件无法读取，请在 Excel 中另存为 .xlsx 或 CSV 后再上传。"]
    }
    with pytest.raises(Exception) as e:
        upload(b"PK\x03\x04not a zip", name="台账.xlsx")
    assert e.value.message_dict["file"][0].startswith("无法读取 Excel 文件：")


def test_coordinates_in_gcj02_are_converted(upload):
    from grid.coords import wgs84_to_gcj02

    lng, lat = wgs84_to_gcj02(121.575, 38.905)  # cell 210204002002001 in WGS-84
    rows = [row(longitude=f"{lng:.7f}", latitude=f"{lat:.7f}")]
    run(upload(csv_bytes(rows), crs="gcj02"), commit=True)
    assert Petition.objects.get().cell.code == "210204002002001"


# --- Progress, resume --------------------------------------------------------------------------------


class Killed(BaseException):
    """Stands for the worker being killed: not an Exception, so nothing catches it."""


def test_a_killed_run_keeps_whole_batches_and_the_sweep_resumes_it(
    upload, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "COMMIT_BATCH_SIZE", 4)
    rows = [row(external_ref=f"R{i:02d}", summary=f"第{i}件") for i in range(10)]
    imp = upload(csv_bytes(rows))
    real = services.bulk_create_batch
    calls = {"n": 0}

    def bulk(*args, **kw):
        calls["n"] += 1
        outcome = real(*args, **kw)
        if calls["n"] == 2:  # the second batch's cases are written, its commit never comes
            assert Petition.objects.count() == 8
            raise Killed
        return outcome

    monkeypatch.setattr(services, "bulk_create_batch", bulk)
    with pytest.raises(Killed):
        run(imp, commit=True)
    imp.refresh_from_db()
    assert (imp.status, imp.processed_rows, imp.created_count) == ("running", 4, 4)
    assert Petition.objects.count() == 4  # the killed batch left nothing behind
    assert PetitionEvent.objects.count() == 16 and LedgerRow.objects.count() == 4

    assert services.ledger_resume_stuck() == []  # heartbeat still fresh
    LedgerImport.objects.filter(pk=imp.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(minutes=11)
    )
    monkeypatch.setattr(services, "bulk_create_batch", real)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.ledger_resume_stuck() == [imp.pk]
    # one re-enqueue of the import (the other callbacks are the registrations' own side effects)
    assert sum("ledger_run_task" in repr(c) for c in callbacks) == 1
    imp.refresh_from_db()
    assert (imp.status, imp.processed_rows, imp.created_count) == ("done", 10, 10)
    assert sorted(Petition.objects.values_list("summary", flat=True)) == sorted(
        f"第{i}件" for i in range(10)
    )
    # Numbers gap-free: the killed batch gave its block back.
    assert sorted(Petition.objects.values_list("seq", flat=True)) == list(range(1, 11))
    assert services.ledger_resume_stuck() == []


def test_a_run_that_lost_its_import_to_another_run_stops(upload, monkeypatch):
    monkeypatch.setattr(services, "COMMIT_BATCH_SIZE", 2)
    imp = upload(csv_bytes([row(external_ref=f"R{i}") for i in range(4)]))

    def progress(current):
        # Another (resumed) run moved the import on meanwhile.
        LedgerImport.objects.filter(pk=current.pk).update(processed_rows=3)

    imp = services.ledger_run_now(ledger_import=imp, commit=True, on_progress=progress)
    assert imp.status == "running" and imp.processed_rows == 3
    assert Petition.objects.count() == 2  # the first batch only


def test_a_failure_is_recorded_and_the_commit_continues_from_there(upload, monkeypatch):
    monkeypatch.setattr(services, "COMMIT_BATCH_SIZE", 3)
    imp = upload(csv_bytes([row(external_ref=f"R{i}") for i in range(7)]))
    real = services.bulk_create_batch
    calls = {"n": 0}

    def bulk(*args, **kw):
        calls["n"] += 1
        outcome = real(*args, **kw)
        if calls["n"] == 2:
            raise RuntimeError("数据库连接中断")
        return outcome

    monkeypatch.setattr(services, "bulk_create_batch", bulk)
    imp = run(imp, commit=True)
    assert (imp.status, imp.processed_rows) == ("failed", 3)
    assert "数据库连接中断" in imp.failure
    assert imp.file  # kept for the retry

    imp = services.ledger_run_now(ledger_import=imp, commit=True)
    assert (imp.status, imp.processed_rows, imp.created_count) == ("done", 7, 7)
    assert Petition.objects.count() == 7


def test_progress_is_reported_per_batch(upload, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 3)
    imp = upload(csv_bytes([row(external_ref=f"R{i}") for i in range(7)]))
    seen = []
    services.ledger_run_now(
        ledger_import=imp,
        commit=False,
        on_progress=lambda i: seen.append(
            (i.processed_rows, i.percent, i.heartbeat_at is not None)
        ),
    )
    assert seen == [(3, 42, True), (6, 85, True), (7, 100, True)]


# --- Command line ------------------------------------------------------------------------------------


def test_command_dry_run_prints_progress_and_the_error_report(tmp_path, office, unit, grid):
    path = tmp_path / "台账.csv"
    path.write_bytes(csv_bytes(ROWS))
    out = io.StringIO()
    call_command("ledger_import", str(path), organization=office.pk, stdout=out)
    text = out.getvalue()
    assert "\r[" + "#" * 30 + "] 100%  19/19 行  新建 5  跳过 0  错误 13" in text
    assert "已试导入：可导入 5 行，已导入过（跳过） 0 行，有错误 13 行。" in text
    assert "  第 7 行  身份证号：身份证号校验位不正确，请核对。" in text
    assert "  第 14 行  原编号：编号与第2行重复。" in text
    assert Petition.objects.count() == 0


def test_command_commit_with_a_mapping(tmp_path, office, unit, grid, clerk):
    path = tmp_path / "台账.csv"
    headers = ["编号", "日期", "方式", "事由", "类别"]
    path.write_bytes(
        csv_bytes([["A1", "2025-01-02", "来信", "反映问题甲", "邻里纠纷"]], headers=headers)
    )
    mapping = {
        "external_ref": "编号",
        "received_date": "日期",
        "channel": "方式",
        "summary": "事由",
        "category": "类别",
    }
    out = io.StringIO()
    call_command(
        "ledger_import",
        str(path),
        organization=office.pk,
        mapping=json.dumps(mapping, ensure_ascii=False),
        user=clerk.username,
        commit=True,
        stdout=out,
    )
    assert "已完成：新建 1 行，已导入过（跳过） 0 行，有错误 0 行。" in out.getvalue()
    p = Petition.objects.get()
    assert (p.summary, p.anonymous, p.registered_by) == ("反映问题甲", True, clerk)


def test_command_refuses_a_mapping_without_required_columns(tmp_path, office, grid):
    from django.core.management.base import CommandError

    path = tmp_path / "台账.csv"
    path.write_bytes(csv_bytes([["x"]], headers=["备注"]))
    with pytest.raises(CommandError) as e:
        call_command("ledger_import", str(path), organization=office.pk, stdout=io.StringIO())
    assert "登记日期：必须指定这一列。" in str(e.value)


# --- Memory ------------------------------------------------------------------------------------------


def _rss() -> int:
    """The process's current resident set size, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def test_a_100k_row_csv_dry_runs_in_bounded_memory(tmp_path, office, unit, grid):
    """Streamed reading: the resident memory, sampled after every batch, and the process's peak
    RSS grow by less than 100 MB over a 100,000-row (17 MB) file. (RSS rather than tracemalloc:
    tracing every allocation made the run three times slower.)"""
    path = write_csv(tmp_path / "100k.csv", 100_000, bad_every=1000)
    assert path.stat().st_size > 15 * 2**20
    with open(path, "rb") as f:
        imp = services.ledger_upload(
            organization=office, upload=SimpleUploadedFile("100k.csv", f.read()), actor=None
        )
    imp = services.ledger_map(ledger_import=imp, mapping=imp.mapping)
    assert imp.total_rows == 100_000
    baseline, peak_before = _rss(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    samples = []

    imp = services.ledger_run_now(
        ledger_import=imp, commit=False, on_progress=lambda _imp: samples.append(_rss())
    )

    peak_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before  # KiB
    assert (imp.status, imp.processed_rows) == ("dry_run_done", 100_000)
    assert (imp.created_count, imp.error_count) == (99_900, 100)
    assert len(samples) == 200
    assert max(samples) - baseline < 100 * 2**20, (
        f"RSS grew {(max(samples) - baseline) / 2**20:.0f} MB"
    )
    assert peak_growth < 100 * 1024, f"peak RSS grew {peak_growth / 1024:.0f} MB"
    assert Petition.objects.count() == 0
