"""Registration (登记): gap-free receipt numbers, the hashed query code, placing the case in its
grid cell (WGS-84 and GCJ-02 input, points outside every cell), bad input that saves nothing,
double submits, and repeat detection and linking (重复信访)."""

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from grid.coords import wgs84_to_gcj02
from petitions.models import (
    Category,
    Petition,
    Petitioner,
    PetitionEvent,
    ReceiptCounter,
    RepeatSubmission,
)
from petitions.services import workflow as wf
from petitions.services.intake import (
    QUERY_ALPHABET,
    petition_link_repeat,
    petition_repeat_candidates,
    query_code_check,
)
from petitions.validators import id_check_digit
from tests.petitions.conftest import VALID_ID, bj

pytestmark = pytest.mark.django_db

# A point well inside cell 210204001001001 (x 121.55–121.56, y 38.91–38.92).
INSIDE = (121.556, 38.915)
M_PER_DEG_LAT = 111_000  # close enough at 39°N for 150 m vs 300 m
OTHER_ID = "110105198001010016"  # a second valid identity number (check digit 6)


@pytest.fixture
def grid(hierarchy):
    """The test hierarchy, in force since 2024 (cases are received in 2025–2026, before the
    fixture's activation moment; grid_locate uses the boundaries in force on the received date)."""
    from grid.models import Generation

    Generation.objects.filter(pk=hierarchy["generation"].pk).update(activated_at=bj(2024, 1, 1))
    return hierarchy


def _point(lnglat: tuple[float, float]) -> Point:
    return Point(*lnglat, srid=4326)


def _nothing_saved() -> None:
    assert Petition.objects.count() == 0
    assert Petitioner.objects.count() == 0
    assert PetitionEvent.objects.count() == 0
    assert ReceiptCounter.objects.filter(last__gt=0).count() == 0


def test_other_id_fixture_is_valid():
    assert id_check_digit(OTHER_ID[:17]) == OTHER_ID[17]
    assert id_check_digit(VALID_ID[:17]) == "X"


# --- Receipt numbers ------------------------------------------------------------------------


def test_receipt_numbers_are_gap_free_per_year(register):
    first = register().petition
    second = register(received_at=bj(2026, 5, 1, 9)).petition
    older = register(received_at=bj(2025, 12, 31, 23, 59)).petition
    assert first.receipt_no == "XF-210204-2026-000001"
    assert second.receipt_no == "XF-210204-2026-000002"
    assert older.receipt_no == "XF-210204-2025-000001"
    assert (older.district_code, older.year, older.seq) == ("210204", 2025, 1)
    assert dict(ReceiptCounter.objects.values_list("year", "last")) == {2026: 2, 2025: 1}


def test_the_year_is_the_beijing_year(register):
    # 16:30 UTC on 31 Dec 2025 is already 00:30 on 1 Jan 2026 in Beijing.
    p = register(received_at=dt.datetime(2025, 12, 31, 16, 30, tzinfo=dt.UTC)).petition
    assert p.receipt_no == "XF-210204-2026-000001"


@pytest.mark.parametrize("error", [IntegrityError("boom"), RuntimeError("boom")])
def test_a_failed_registration_leaves_nothing_and_gives_its_number_back(
    register, monkeypatch, error
):
    register()  # 000001 exists

    def fail(*args, **kwargs):
        raise error

    with monkeypatch.context() as m:
        m.setattr(Petitioner.objects, "bulk_create", fail)
        with pytest.raises(type(error)):
            register(intake_token="tok-failing")
    assert Petition.objects.count() == 1
    assert Petitioner.objects.count() == 1
    assert PetitionEvent.objects.count() == 1
    assert ReceiptCounter.objects.get(year=2026).last == 1

    again = register(intake_token="tok-failing")
    assert again.created is True
    assert again.petition.receipt_no == "XF-210204-2026-000002"


def test_a_failed_first_registration_of_a_year_leaves_no_counter(register, monkeypatch):
    monkeypatch.setattr(
        Petitioner.objects, "bulk_create", lambda *a, **k: (_ for _ in ()).throw(RuntimeError())
    )
    with pytest.raises(RuntimeError):
        register()
    _nothing_saved()
    assert not ReceiptCounter.objects.exists()


# --- Query code -------------------------------------------------------------------------------


def test_query_code_is_shown_once_and_only_its_hash_is_stored(register):
    reg = register()
    code, p = reg.query_code, reg.petition
    assert len(code) == 8
    assert set(code) <= set(QUERY_ALPHABET)
    p.refresh_from_db()
    for field in Petition._meta.concrete_fields:
        assert code not in str(getattr(p, field.attname)), field.name
    assert len(p.query_code_hash) == 64
    for event in PetitionEvent.objects.filter(petition=p):
        assert code not in str(event.payload)
    assert query_code_check(p, code) is True
    assert query_code_check(p, code.lower()) is True
    assert query_code_check(p, f" {code} ") is True
    assert query_code_check(p, "ABCDEFGH" if code != "ABCDEFGH" else "ABCDEFGJ") is False
    assert query_code_check(p, "") is False


def test_each_case_gets_its_own_code(register):
    a, b = register(), register()
    assert a.query_code != b.query_code
    assert query_code_check(b.petition, a.query_code) is False


# --- Location -----------------------------------------------------------------------------------


def test_point_is_placed_in_its_cell(register, grid):
    p = register(location=INSIDE, address="测试1街道北社区1号楼").petition
    assert p.cell.code == "210204001001001"
    assert p.area_code == "210204001001001"
    assert (round(p.location.x, 6), round(p.location.y, 6)) == INSIDE
    assert p.location.srid == 4326
    event = p.events.get(action="register")
    assert event.payload == {
        "channel": "letter",
        "cell": "210204001001001",
        "located": True,
        "outside_grid": False,
    }


def test_gcj02_input_is_shifted_into_the_same_cell(register, grid):
    gcj = wgs84_to_gcj02(*INSIDE)
    # Taken as WGS-84, the phone-map coordinate would land ~450 m east, in the next cell.
    assert grid["cells"]["210204001001002"].geom.contains(_point(gcj))
    p = register(location=gcj, crs="gcj02").petition
    assert p.cell.code == "210204001001001"
    assert p.area_code == "210204001001001"
    assert abs(p.location.x - INSIDE[0]) < 1e-6
    assert abs(p.location.y - INSIDE[1]) < 1e-6

    raw = register(location=gcj).petition  # the same numbers as WGS-84: the wrong cell
    assert raw.cell.code == "210204001001002"


def test_point_outside_every_cell_is_kept_and_flagged(register, grid):
    p = register(location=(121.30, 38.70)).petition
    assert p.location is not None
    assert (round(p.location.x, 6), round(p.location.y, 6)) == (121.30, 38.70)
    assert p.cell is None
    assert p.area_code == "210204001"  # the registering office's area
    assert p.events.get(action="register").payload["outside_grid"] is True


def test_no_location_means_office_area(register, grid):
    p = register().petition
    assert (p.location, p.cell, p.area_code) == (None, None, "210204001")
    assert p.events.get(action="register").payload["outside_grid"] is False


def test_cell_override_needs_a_reason(register, grid):
    cell = grid["cells"]["210204002002002"]
    with pytest.raises(ValidationError) as exc:
        register(location=INSIDE, cell=cell, cell_override_reason="  ")
    assert exc.value.message_dict == {"cell_override_reason": ["手动指定网格必须说明理由。"]}
    _nothing_saved()

    p = register(location=INSIDE, cell=cell, cell_override_reason="事发地在对面小区").petition
    assert p.cell == cell
    assert p.area_code == "210204002002002"
    assert p.cell_override_reason == "事发地在对面小区"


# --- Bad input and double submits ---------------------------------------------------------------


def test_double_submit_with_one_token_makes_one_case(register):
    first = register(intake_token="form-7f3a")
    second = register(intake_token="form-7f3a")
    assert first.created is True
    assert second.created is False
    assert second.petition.pk == first.petition.pk
    assert second.query_code == ""  # the code is shown once, with the first response
    assert Petition.objects.count() == 1
    assert Petitioner.objects.count() == 1
    assert ReceiptCounter.objects.get().last == 1


def test_wrong_check_digit_is_a_field_error_and_saves_nothing(register):
    bad = VALID_ID[:17] + "1"
    with pytest.raises(ValidationError) as exc:
        register(petitioners=[{"name": "张三", "id_number": bad, "phone": "13812345678"}])
    assert exc.value.message_dict == {
        "petitioners[0].id_number": ["身份证号校验位不正确，请核对。"]
    }
    _nothing_saved()


def test_errors_name_the_row_and_field(register):
    with pytest.raises(ValidationError) as exc:
        register(
            petitioners=[
                {"name": "张三", "id_number": VALID_ID},
                {"name": " ", "id_number": "12345", "phone": "1381234567"},
            ]
        )
    assert exc.value.message_dict == {
        "petitioners[1].name": ["请填写信访人姓名。"],
        "petitioners[1].id_number": ["身份证号格式不正确（应为18位）。"],
        "petitioners[1].phone": ["电话号码格式不正确（11位手机号或带区号的固定电话）。"],
    }
    _nothing_saved()


@pytest.mark.parametrize("phone", ["1381234567", "23812345678", "138-1234-56789", "电话"])
def test_malformed_phone_is_refused(register, phone):
    with pytest.raises(ValidationError) as exc:
        register(petitioners=[{"name": "张三", "phone": phone}])
    assert exc.value.message_dict == {
        "petitioners[0].phone": ["电话号码格式不正确（11位手机号或带区号的固定电话）。"]
    }
    _nothing_saved()


def test_good_input_is_normalised(register):
    p = register(
        petitioners=[
            {"name": " 李四 ", "id_number": VALID_ID.lower(), "phone": "+86 138 1234 5678"},
            {"name": "王五", "phone": "0411-84123456", "is_representative": True},
        ]
    ).petition
    rows = list(p.petitioners.order_by("pk").values_list("name", "id_number", "phone"))
    assert rows == [("李四", VALID_ID, "13812345678"), ("王五", "", "0411-84123456")]
    assert p.petitioners.get(name="李四").id_hash != ""


def test_missing_summary_and_petitioners(register):
    with pytest.raises(ValidationError) as exc:
        register(summary="  ")
    assert exc.value.message_dict == {"summary": ["请填写信访概要。"]}
    with pytest.raises(ValidationError) as exc:
        register(petitioners=[])
    assert exc.value.message_dict == {
        "petitioners": ["请至少填写一名信访人，或勾选“姓名住址不清”。"]
    }
    _nothing_saved()
    anonymous = register(petitioners=[], anonymous=True).petition
    assert anonymous.notify_due is None


# --- Repeat detection and linking ---------------------------------------------------------------

NOW = bj(2026, 3, 10, 9)


def _north(metres: float) -> tuple[float, float]:
    return (INSIDE[0], INSIDE[1] + metres / M_PER_DEG_LAT)


@pytest.fixture
def original(register, grid):
    """An open case: 张三 (VALID_ID), 物业服务, at INSIDE, received 2026-03-02."""
    return register(location=INSIDE).petition


def test_same_petitioner_elsewhere_about_something_else_is_suggested(original):
    found = petition_repeat_candidates(
        id_numbers=[VALID_ID.lower()],
        category=Category.objects.get(code="0301"),  # 拖欠工资
        location=_point((121.585, 38.905)),  # ~2.5 km away
        now=NOW,
    )
    assert found == [(original, ["same_petitioner"])]


def test_same_category_within_200_m_is_suggested(original, register):
    found = petition_repeat_candidates(
        id_numbers=[OTHER_ID], category=original.category, location=_point(_north(150)), now=NOW
    )
    assert found == [(original, ["same_category", "nearby"])]


def test_same_petitioner_same_matter_nearby_ranks_first(original, register):
    neighbour = register(
        location=_north(100), petitioners=[{"name": "李四", "id_number": OTHER_ID}]
    ).petition
    found = petition_repeat_candidates(
        id_numbers=[VALID_ID], category=original.category, location=_point(_north(50)), now=NOW
    )
    assert found == [
        (original, ["same_petitioner", "same_category", "nearby"]),
        (neighbour, ["same_category", "nearby"]),
    ]


def test_same_category_300_m_away_is_not_suggested(original):
    found = petition_repeat_candidates(
        id_numbers=[OTHER_ID], category=original.category, location=_point(_north(300)), now=NOW
    )
    assert found == []


def test_other_category_nearby_is_not_suggested(original):
    found = petition_repeat_candidates(
        id_numbers=[OTHER_ID],
        category=Category.objects.get(
            code="0502"
        ),  # 物业管理 / 维修资金 location=_point(_north(20)), now=NOW
    )
    assert found == []


@pytest.mark.parametrize("status", ["closed", "not_accepted", "replied"])
def test_closed_or_answered_cases_are_not_suggested(original, status):
    Petition.objects.filter(pk=original.pk).update(status=status)
    found = petition_repeat_candidates(
        id_numbers=[VALID_ID], category=original.category, location=_point(INSIDE), now=NOW
    )
    assert found == []


def test_cases_older_than_12_months_are_not_suggested(register, grid):
    old = register(location=INSIDE, received_at=bj(2025, 2, 1, 9)).petition
    recent = register(location=INSIDE, received_at=bj(2025, 3, 20, 9)).petition
    found = petition_repeat_candidates(
        id_numbers=[VALID_ID], category=old.category, location=_point(INSIDE), now=NOW
    )
    assert [p for p, _reasons in found] == [recent]


def test_linking_a_repeat_counts_it_without_a_new_case(original, clerk):
    version = original.version
    repeat = petition_link_repeat(
        petition=original,
        actor=clerk,
        channel="visit",
        received_at=NOW,
        summary="再次来访反映物业不维修",
    )
    assert Petition.objects.count() == 1
    repeat.refresh_from_db()
    assert (repeat.petition, repeat.channel, repeat.summary) == (
        original,
        "visit",
        "再次来访反映物业不维修",
    )
    assert repeat.area_code == "210204001001001"
    assert repeat.registered_by == clerk
    assert original.repeats.count() == 1

    event = original.events.get(action="link_repeat")
    assert (event.actor, event.at, event.from_status, event.to_status) == (
        clerk,
        NOW,
        "registered",
        "registered",
    )
    assert event.payload == {"repeat_id": repeat.pk, "channel": "visit"}
    original.refresh_from_db()
    assert (original.status, original.version) == ("registered", version + 1)


def test_a_closed_case_cannot_take_a_repeat(original, clerk):
    wf.petition_route(
        petition=original, actor=clerk, decision="reject", reason="已进入诉讼程序", now=NOW
    )
    original.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        petition_link_repeat(petition=original, actor=clerk, channel="letter", received_at=NOW)
    assert exc.value.messages == ["该事项已办结，不能作为重复信访关联。"]
    assert RepeatSubmission.objects.count() == 0
    assert not PetitionEvent.objects.filter(action="link_repeat").exists()
