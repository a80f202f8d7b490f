"""Visit log (来访登记) and leader reception days (领导接访日): 第二十条 rules and the reported figures."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from petitions.models import Organization, ReceptionDay, Visit
from petitions.services.visits import (
    reception_day_create,
    reception_day_summary,
    visit_record,
    visit_totals,
)
from tests.petitions.conftest import bj

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(clerk, office):
    def _visit(**kw):
        args = {
            "actor": clerk,
            "organization": office,
            "received_at": bj(2026, 3, 2, 9, 30),
            "headcount": 1,
            "representatives": [],
            "answered_on_spot": False,
        }
        args.update(kw)
        return visit_record(**args)

    return _visit


@pytest.fixture
def day(clerk, leader, office):
    return reception_day_create(
        actor=clerk,
        leader=leader,
        leader_title="区长",
        date=dt.date(2026, 3, 2),
        place="区信访接待大厅",
        organization=office,
    )


def _errors(exc: pytest.ExceptionInfo) -> dict:
    return exc.value.message_dict


def test_single_visitor_recorded_with_officer_and_area(visit, clerk, register):
    petition = register().petition
    v = visit(notes="反映物业问题", petitions=[petition], answered_on_spot=True)
    v.refresh_from_db()
    assert v.headcount == 1
    assert v.representatives == []
    assert v.reception_officer == clerk
    assert v.area_code == "210204001"
    assert v.answered_on_spot is True
    assert v.resolved is False
    assert v.notes == "反映物业问题"
    assert list(v.petitions.all()) == [petition]
    assert v.reception_day is None


def test_area_code_falls_back_to_district_for_district_wide_units(visit, settings):
    settings.CIVICGRID_DISTRICT_CODE = "210204"
    bureau_org = Organization.objects.create(name="区信访局", kind=Organization.Kind.BUREAU)
    assert visit(organization=bureau_org).area_code == "210204"


def test_group_of_more_than_five_names_one_to_five_representatives(visit):
    v = visit(headcount=30, representatives=[" 李四 ", "王五", "", "赵六", "钱七", "孙八"])
    assert v.representatives == ["李四", "王五", "赵六", "钱七", "孙八"]
    assert v.is_group is True


def test_group_of_more_than_five_without_representatives_is_refused(visit):
    with pytest.raises(ValidationError) as exc:
        visit(headcount=6, representatives=["  "])
    assert _errors(exc) == {"representatives": ["5人以上的集体访应推选1至5名代表。"]}
    assert Visit.objects.count() == 0


def test_five_people_need_no_representatives(visit):
    assert visit(headcount=5, representatives=[]).representatives == []


def test_more_than_five_representatives_is_refused(visit):
    with pytest.raises(ValidationError) as exc:
        visit(headcount=40, representatives=["甲", "乙", "丙", "丁", "戊", "己"])
    assert _errors(exc) == {"representatives": ["集体访最多推选5名代表。"]}
    assert Visit.objects.count() == 0


def test_more_representatives_than_visitors_is_refused(visit):
    with pytest.raises(ValidationError) as exc:
        visit(headcount=2, representatives=["甲", "乙", "丙"])
    assert _errors(exc) == {"representatives": ["代表人数不能多于来访人数。"]}


@pytest.mark.parametrize("headcount", [0, -3, None, "3", True])
def test_headcount_must_be_a_positive_integer(visit, headcount):
    with pytest.raises(ValidationError) as exc:
        visit(headcount=headcount)
    assert _errors(exc) == {"headcount": ["来访人数至少为1人。"]}
    assert Visit.objects.count() == 0


def test_naive_time_is_refused(visit):
    with pytest.raises(ValidationError) as exc:
        visit(received_at=dt.datetime(2026, 3, 2, 9, 30))
    assert _errors(exc) == {"received_at": ["来访时间必须带时区。"]}


def test_reception_day_created(day, leader, office):
    day.refresh_from_db()
    assert (day.leader, day.leader_title, day.date, day.place, day.organization) == (
        leader,
        "区长",
        dt.date(2026, 3, 2),
        "区信访接待大厅",
        office,
    )


def test_reception_day_needs_leader_date_and_place(clerk, office):
    with pytest.raises(ValidationError) as exc:
        reception_day_create(actor=clerk, leader=None, date=None, place=" ", organization=office)
    assert _errors(exc) == {
        "leader": ["请选择接访领导。"],
        "date": ["请填写接访日期。"],
        "place": ["请填写接访地点。"],
    }
    assert ReceptionDay.objects.count() == 0


def test_visit_on_a_reception_day_must_be_on_that_day(visit, day):
    # 23:30 UTC on 1 March is 07:30 on 2 March in Beijing: the same local day.
    ok = visit(reception_day=day, received_at=dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC))
    assert ok.reception_day == day
    with pytest.raises(ValidationError) as exc:
        visit(reception_day=day, received_at=bj(2026, 3, 3, 9))
    assert _errors(exc) == {"received_at": ["来访时间不在该领导接访日当天。"]}


def test_empty_reception_day_summary_is_zero(day, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert reception_day_summary(day) == {
            "batches": 0,
            "persons": 0,
            "answered_on_spot": 0,
            "resolved": 0,
        }


def test_reception_day_summary_matches_the_seed_report(
    day, visit, leader, office, django_assert_num_queries
):
    """接待群众 87 批 191 人次，当场答复 51 件，结案息访 46 件 (SPEC §3 seed report)."""
    # 87 batches: 6 group visits (91 people, each naming 5 representatives), 19 pairs, 62 singles.
    groups = [20, 18, 15, 14, 12, 12]
    headcounts = groups + [2] * 19 + [1] * 62  # 91 + 38 + 62 = 191 people, 6 + 19 + 62 = 87
    assert (len(headcounts), sum(headcounts)) == (87, 191)
    for i, n in enumerate(headcounts):
        visit(
            reception_day=day,
            received_at=bj(2026, 3, 2, 8) + dt.timedelta(minutes=5 * i),
            headcount=n,
            representatives=[f"代表{i}-{k}" for k in range(5)] if n > 5 else [],
            answered_on_spot=i < 51,  # the first 51 batches
            resolved=i >= 41,  # the last 46 batches
        )
    # Another day's visit and a visit without a reception day do not count.
    other = ReceptionDay.objects.create(
        leader=leader, date=dt.date(2026, 3, 9), place="街道", organization=office
    )
    visit(reception_day=other, received_at=bj(2026, 3, 9, 9), headcount=3, answered_on_spot=True)
    visit(headcount=4, resolved=True)

    with django_assert_num_queries(1):
        summary = reception_day_summary(day)
    assert summary == {"batches": 87, "persons": 191, "answered_on_spot": 51, "resolved": 46}
    assert reception_day_summary(day.pk) == summary
    assert visit_totals(Visit.objects.all()) == {
        "batches": 89,
        "persons": 198,
        "answered_on_spot": 52,
        "resolved": 47,
    }
