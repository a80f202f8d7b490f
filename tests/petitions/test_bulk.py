"""Bulk registration (petitions.services.bulk): the invariants of the single-case intake, kept for
thousands of cases per transaction — numbers, encryption, placing, deadlines, events, errors,
idempotency, concurrency and flat memory."""

import datetime as dt
import threading
import tracemalloc
from dataclasses import replace

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from accounts.crypto import decrypt_text
from petitions.models import (
    Document,
    Organization,
    Petition,
    Petitioner,
    PetitionEvent,
    ReceiptCounter,
)
from petitions.selectors_people import petitioner_find
from petitions.services import bulk
from petitions.services import workflow as wf
from petitions.services.bulk import BulkPetition, bulk_create_batch, bulk_create_petitions
from petitions.services.intake import petition_register
from tests.petitions.conftest import VALID_ID, bj

pytestmark = pytest.mark.django_db

OTHER_ID = "210204198001010019"
IN_CELL = (121.555, 38.915)  # cell 210204001001001
OUTSIDE = (121.70, 38.95)  # east of the test district


@pytest.fixture
def office2(db):
    """A second office of the same street: same district, its own references."""
    return Organization.objects.create(
        name="测试1街道办事处（二）", kind=Organization.Kind.STREET_OFFICE, area_code="210204001"
    )


def person(name="张三", id_number=VALID_ID, phone="13812345678", **kw) -> dict:
    return {"name": name, "id_number": id_number, "phone": phone, **kw}


def case(category, ref="B-1", **kw) -> BulkPetition:
    args = {
        "ref": ref,
        "received_at": bj(2025, 3, 3, 9, 0),
        "channel": "letter",
        "case_type": "appeal",
        "category": category,
        "summary": "小区物业不履行维修义务",
        "petitioners": (person(),),
    }
    args.update(kw)
    return BulkPetition(**args)


def histories(unit, discipline):
    """(name, BulkPetition overrides) covering every path the bulk history can take."""
    return [
        ("registered", {}),
        ("anonymous", {"petitioners": (), "anonymous": True, "location": None}),
        ("outside", {"location": OUTSIDE}),
        (
            "accepted",
            {"routing": "accept", "routed_at": bj(2025, 3, 4, 9, 0), "unit": unit},
        ),
        (
            "accepted_by_office",
            {"routing": "accept", "routed_at": bj(2025, 3, 20, 9, 0)},  # late: on_time False
        ),
        (
            "forwarded",
            {"routing": "forward", "routed_at": bj(2025, 3, 4, 9, 0), "unit": unit},
        ),
        (
            "rejected",
            {"routing": "reject", "routed_at": bj(2025, 3, 5, 9, 0), "routing_reason": "属诉讼"},
        ),
        (
            "replied",
            {
                "routing": "accept",
                "routed_at": bj(2025, 3, 4, 9, 0),
                "unit": unit,
                "replied_at": bj(2025, 3, 20, 16, 0),
                "outcome": "support",
                "reply_text": "已督促物业公司维修。",
            },
        ),
        (
            "closed_late",
            {
                "routing": "assign",
                "routed_at": bj(2025, 3, 4, 9, 0),
                "unit": unit,
                "replied_at": bj(2025, 6, 20, 16, 0),  # past the 60 days
                "outcome": "explain",
                "reply_text": "已解释说明。",
                "closed_at": bj(2025, 6, 20, 17, 0),
            },
        ),
        (
            "accusation",
            {
                "case_type": "accusation",
                "routing": "forward",
                "routed_at": bj(2025, 3, 4, 9, 0),
                "unit": discipline,
            },
        ),
        (
            "group",
            {
                "petitioners": (
                    person(is_representative=True),
                    person("李四", OTHER_ID, "0411-84561234", address="测试1街道北社区"),
                ),
                "channel": "visit",
                "source": "leader_reception",
                "content": "详细内容",
                "address": "大连市测试1街道",
            },
        ),
    ]


def single_path(row: BulkPetition, *, actor, organization) -> Petition:
    """The same input through petition_register and the workflow services, one at a time."""
    p = petition_register(
        actor=actor,
        organization=organization,
        channel=row.channel,
        case_type=row.case_type,
        category=row.category,
        summary=row.summary,
        content=row.content,
        received_at=row.received_at,
        source=row.source,
        location=row.location,
        address=row.address,
        petitioners=list(row.petitioners),
        anonymous=row.anonymous,
    ).petition
    if row.routing:
        p = wf.petition_route(
            petition=p,
            actor=actor,
            decision=row.routing,
            unit=row.unit,
            reason=row.routing_reason,
            now=row.routed_at,
        )
    if row.replied_at:
        p = wf.petition_reply(
            petition=p, actor=actor, outcome=row.outcome, text=row.reply_text, now=row.replied_at
        )
    if row.closed_at:
        p = wf.petition_close(petition=p, actor=actor, now=row.closed_at)
    return Petition.objects.get(pk=p.pk)


# Fields that differ between any two registrations by construction.
OWN = {"id", "receipt_no", "seq", "query_code_hash", "intake_token", "registered_by_org",
       "created_at", "updated_at"}  # fmt: skip


def state(p: Petition) -> dict:
    fields = {f.attname: getattr(p, f.attname) for f in p._meta.concrete_fields}
    fields = {k: v for k, v in fields.items() if k.removesuffix("_id") not in OWN}
    own_unit = p.handling_unit_id == p.registered_by_org_id  # the two paths' offices differ
    if own_unit:
        fields["handling_unit_id"] = "registering office"
    fields["location"] = p.location.coords if p.location else None
    events = [
        (e.action, e.at, e.actor_id, e.from_status, e.to_status,
         {**e.payload, "unit": "registering office"} if own_unit and "unit" in e.payload
         else e.payload)
        for e in p.events.order_by("at", "pk")
    ]  # fmt: skip
    people = [
        (x.name, x.id_number, x.id_hash, x.phone, x.phone_hash, x.address, x.is_representative)
        for x in p.petitioners.order_by("pk")
    ]
    return {"fields": fields, "events": events, "people": people}


def test_bulk_gives_each_case_exactly_what_the_single_case_path_gives(
    hierarchy, office, office2, clerk, category, unit, discipline
):
    rows = []
    for i, (name, overrides) in enumerate(histories(unit, discipline)):
        overrides = {"location": IN_CELL, **overrides}
        rows.append(case(category, ref=name, row=i + 2, **overrides))
    singles = [single_path(r, actor=clerk, organization=office) for r in rows]

    result = bulk_create_petitions(rows, organization=office2, actor=clerk, batch_size=4)

    assert (result.created, result.skipped, result.failed, result.batches) == (len(rows), 0, 0, 3)
    for row, single in zip(rows, singles, strict=True):
        made = Petition.objects.get(intake_token=bulk.external_token(office2.pk, row.ref))
        assert state(made) == state(single), row.ref
    # Spot checks of what was compared, so the comparison cannot be vacuous.
    closed = Petition.objects.get(intake_token=bulk.external_token(office2.pk, "closed_late"))
    assert (closed.status, closed.version, closed.cell.code) == ("closed", 3, "210204001001001")
    assert closed.handle_due == dt.date(2025, 5, 3) and closed.objection_due is not None
    assert [e.payload.get("on_time") for e in closed.events.order_by("at")] == [
        None, True, False, False]  # fmt: skip
    outside = Petition.objects.get(intake_token=bulk.external_token(office2.pk, "outside"))
    assert (outside.cell, outside.area_code) == (None, "210204001")
    assert outside.events.get().payload == {
        "channel": "letter", "cell": None, "located": True, "outside_grid": True}  # fmt: skip


def test_opinions_are_written_on_request_like_petition_reply(
    hierarchy, office, office2, clerk, category, unit
):
    row = case(
        category,
        unit=unit,
        routing="accept",
        routed_at=bj(2025, 3, 4, 9, 0),
        replied_at=bj(2025, 3, 20, 16, 0),
        outcome="support",
        reply_text="已督促物业公司维修。",
    )
    single = single_path(row, actor=clerk, organization=office)
    bulk_create_petitions([row], organization=office2, actor=clerk)
    assert Document.objects.count() == 1  # the bulk path writes none unless asked
    bulk_create_petitions([replace(row, ref="B-2")], organization=office2, actor=clerk,
                          documents=True)  # fmt: skip

    made = Petition.objects.get(intake_token=bulk.external_token(office2.pk, "B-2"))
    mine, theirs = made.documents.get(), single.documents.get()
    assert (
        (mine.kind, mine.event.action) == (theirs.kind, theirs.event.action) == ("opinion", "reply")
    )
    assert mine.html.replace(made.receipt_no, "№") == theirs.html.replace(single.receipt_no, "№")


def test_receipt_numbers_come_in_gap_free_blocks_per_year(
    hierarchy, office, clerk, category, register
):
    register(received_at=bj(2025, 1, 2, 10, 0))  # XF-210204-2025-000001 through the intake form
    rows = [
        case(category, ref="a", received_at=bj(2025, 2, 1, 9)),
        case(category, ref="b", received_at=bj(2024, 12, 31, 23, 30)),
        case(category, ref="bad", summary=""),  # rejected: takes no number
        case(category, ref="c", received_at=bj(2025, 2, 2, 9)),
        # 2024-12-31 16:30 UTC is 2025-01-01 00:30 in Beijing: a 2025 case.
        case(category, ref="d", received_at=dt.datetime(2024, 12, 31, 16, 30, tzinfo=dt.UTC)),
    ]
    result = bulk_create_petitions(rows, organization=office, actor=clerk, batch_size=3)

    assert (result.created, result.failed) == (4, 1)
    numbers = dict(
        Petition.objects.values_list("summary", "receipt_no").filter(intake_token__isnull=True)
    )
    assert numbers == {"小区物业不履行维修义务": "XF-210204-2025-000001"}
    by_ref = {
        ref: Petition.objects.get(intake_token=bulk.external_token(office.pk, ref)).receipt_no
        for ref in "abcd"
    }
    assert by_ref == {
        "a": "XF-210204-2025-000002",
        "b": "XF-210204-2024-000001",
        "c": "XF-210204-2025-000003",
        "d": "XF-210204-2025-000004",
    }
    assert dict(ReceiptCounter.objects.values_list("year", "last")) == {2024: 1, 2025: 4}
    # The intake form continues after the block.
    assert register().petition.receipt_no == "XF-210204-2026-000001"
    assert register(received_at=bj(2025, 5, 1, 9)).petition.receipt_no == "XF-210204-2025-000005"


def test_personal_data_is_encrypted_and_found_through_the_blind_index(
    hierarchy, office, clerk, category
):
    rows = [case(category, ref="p1", petitioners=(person(phone="+86 138 1234 5678"),))]
    bulk_create_petitions(rows, organization=office, actor=clerk)

    with connection.cursor() as cur:
        cur.execute("SELECT id_number, phone, id_hash, phone_hash FROM petitions_petitioner")
        id_token, phone_token, id_hash, phone_hash = cur.fetchone()
    assert VALID_ID not in id_token and "1381234" not in phone_token
    # Normalised as the intake form does, then encrypted.
    assert (decrypt_text(id_token), decrypt_text(phone_token)) == (VALID_ID, "13812345678")
    assert len(id_hash) == len(phone_hash) == 64
    assert [p.name for p in petitioner_find(clerk, id_number=VALID_ID.lower())] == ["张三"]
    assert [p.name for p in petitioner_find(clerk, phone="13812345678")] == ["张三"]


def test_bad_rows_are_reported_per_row_and_the_good_ones_are_created(
    hierarchy, office, clerk, category, unit, discipline
):
    rows = [
        case(category, ref="ok-1", row=2),
        case(category, ref="naive", row=3, received_at=dt.datetime(2025, 3, 3, 9)),
        case(category, ref="future", row=4, received_at=bj(2099, 1, 1, 9)),
        case(category, ref="id", row=5, petitioners=(person(id_number=VALID_ID[:-1] + "1"),)),
        case(category, ref="nobody", row=6, petitioners=()),
        case(category, ref="reject", row=7, routing="reject", routed_at=bj(2025, 3, 4, 9)),
        case(category, ref="early", row=8, routing="accept", routed_at=bj(2025, 3, 2, 9)),
        case(
            category,
            ref="reply",
            row=9,
            replied_at=bj(2025, 3, 20, 9),
            reply_text="x",
            outcome="support",
        ),  # fmt: skip
        case(
            category,
            ref="accusation",
            row=10,
            case_type="accusation",
            routing="forward",
            routed_at=bj(2025, 3, 4, 9),
            unit=unit,
        ),  # fmt: skip
        case(category, ref="ok-1", row=11),  # the same reference again
        replace(
            case(category, ref="kinds", row=12, channel="pigeon", case_type="?"), category=None
        ),
        case(category, ref="ok-2", row=13, location=IN_CELL),
    ]
    result = bulk_create_petitions(rows, organization=office, actor=clerk)

    assert (result.created, result.skipped, result.failed) == (2, 0, 10)
    assert [(e.row, e.field, e.reason) for e in result.errors] == [
        (3, "received_at", "收到时间必须带时区。"),
        (4, "received_at", "收到时间不能晚于当前时间。"),
        (5, "petitioners[0].id_number", "身份证号校验位不正确，请核对。"),
        (6, "petitioners", "请至少填写一名信访人，或勾选“姓名住址不清”。"),
        (7, "routing_reason", "不予受理必须说明法定理由。"),
        (8, "routed_at", "处理时间早于收到时间。"),
        (9, "replied_at", "尚未受理的事项不能答复。"),
        (10, "unit", "检举控告类事项只能转送纪检监察机关。"),
        (11, "ref", "外部编号与第2行重复。"),
        (12, "channel", "请选择信访形式。"),
        (12, "case_type", "请选择事项类型。"),
        (12, "category", "请选择问题分类。"),
    ]
    assert Petition.objects.count() == 2
    assert sorted(Petition.objects.values_list("seq", flat=True)) == [1, 2]


def test_a_batch_the_database_refuses_is_retried_row_by_row(hierarchy, office, clerk, category):
    from tests.ledger.test_ledger import REFUSE_SQL

    with connection.cursor() as cur:
        for sql in REFUSE_SQL[connection.vendor]:
            cur.execute(sql)
    rows = [
        case(category, ref="1", row=2, summary="第一行"),
        case(category, ref="2", row=3, summary="第二行"),
        case(category, ref="3", row=4, summary="第三行"),
    ]
    result = bulk_create_petitions(rows, organization=office, actor=clerk)

    assert (result.created, result.failed) == (2, 1)
    assert [(e.row, e.ref, e.field, e.reason) for e in result.errors] == [
        (3, "2", "", "数据库拒绝保存这一行，请联系管理员。")
    ]
    assert sorted(Petition.objects.values_list("seq", flat=True)) == [1, 2]
    assert Petitioner.objects.count() == 2 and PetitionEvent.objects.count() == 2


def test_a_rerun_skips_what_was_created(hierarchy, office, office2, clerk, category):
    rows = [case(category, ref=f"R{i}", location=IN_CELL) for i in range(5)]
    first = bulk_create_petitions(rows, organization=office, actor=clerk, batch_size=2)
    again = bulk_create_petitions(rows, organization=office, actor=clerk, batch_size=2)

    assert (first.created, first.skipped) == (5, 0)
    assert (again.created, again.skipped, again.failed) == (0, 5, 0)
    assert Petition.objects.count() == 5 and Petitioner.objects.count() == 5
    assert ReceiptCounter.objects.get().last == 5
    # References are per office: another office's R0 is another case.
    other = bulk_create_petitions(rows[:1], organization=office2, actor=clerk)
    assert (other.created, Petition.objects.count()) == (1, 6)


def test_the_points_of_a_batch_are_placed_in_one_statement(hierarchy, office, clerk, category):
    def located(n: int, start: int) -> list[BulkPetition]:
        return [
            case(category, ref=f"L{start + i}", location=(121.551 + i * 0.0035, 38.905))
            for i in range(n)
        ]

    bulk_create_batch(located(1, 0), organization=office, actor=clerk)  # warm the counter row
    with CaptureQueriesContext(connection) as one:
        bulk_create_batch(located(1, 100), organization=office, actor=clerk)
    with CaptureQueriesContext(connection) as many:
        bulk_create_batch(located(10, 200), organization=office, actor=clerk)
    if connection.vendor == "postgresql":
        # known refs, placing, counter lock + bump, 3 inserts (1 row or 10)
        assert len(many.captured_queries) == len(one.captured_queries) == 8
    cells = [
        Petition.objects.get(intake_token=bulk.external_token(office.pk, f"L{200 + i}")).cell.code
        for i in range(10)
    ]
    assert cells == ["210204001002001"] * 3 + ["210204001002002"] * 3 + [
        "210204002002001"] * 3 + ["210204002002002"]  # fmt: skip


def test_the_side_effects_of_accusations_start_after_commit(
    hierarchy, office, clerk, category, discipline, monkeypatch, django_capture_on_commit_callbacks
):
    started = []
    monkeypatch.setattr(bulk, "on_registered", started.append)
    rows = [case(category, ref="a"), case(category, ref="b", case_type="accusation")]
    with django_capture_on_commit_callbacks(execute=True):
        bulk_create_petitions(rows, organization=office, actor=clerk)
        assert started == []
    assert started == [Petition.objects.get(case_type="accusation").pk]


@pytest.mark.postgis_only
@pytest.mark.django_db(transaction=True)
def test_two_importers_at_once_share_the_numbers_without_gaps_or_duplicates(
    hierarchy, office, office2, clerk, category
):
    errors = []

    def work(org, prefix):
        try:
            rows = (case(category, ref=f"{prefix}{i}") for i in range(120))
            bulk_create_petitions(rows, organization=org, actor=clerk, batch_size=20)
        except Exception as e:  # reported to the main thread
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=a) for a in ((office, "A"), (office2, "B"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    seqs = sorted(Petition.objects.filter(year=2025).values_list("seq", flat=True))
    assert seqs == list(range(1, 241))
    assert ReceiptCounter.objects.get(year=2025).last == 240
    # Each importer's block of a batch is contiguous (numbers taken 20 at a time).
    for org in (office, office2):
        mine = sorted(Petition.objects.filter(registered_by_org=org).values_list("seq", flat=True))
        assert len(mine) == 120
        assert all(mine[i + 19] - mine[i] == 19 for i in range(0, 120, 20))


def _peak(n: int, office, clerk, category) -> int:
    rows = (case(category, ref=f"M{n}-{i}", summary=f"第{i}件") for i in range(n))
    tracemalloc.start()
    try:
        result = bulk_create_petitions(rows, organization=office, actor=clerk, batch_size=200)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.created == n
    return peak


def test_memory_stays_flat_in_the_number_of_rows(hierarchy, office, clerk, category, settings):
    settings.DEBUG = False  # DEBUG keeps every query's text
    small = _peak(400, office, clerk, category)
    large = _peak(4000, office, clerk, category)
    assert large < small * 1.5, (small, large)
