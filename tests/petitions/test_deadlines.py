"""Every statutory deadline, to the day (SPEC §3; 《信访工作条例》2022)."""

import datetime as dt

import pytest

from petitions import deadlines
from petitions.models import CalendarDay
from tests.petitions.conftest import bj

UTC = dt.UTC
D = dt.date


def test_route_and_notify_due_15_calendar_days_from_receipt():
    assert deadlines.route_due(bj(2026, 3, 2, 10)) == D(2026, 3, 17)
    assert deadlines.notify_due(bj(2026, 3, 2, 10)) == D(2026, 3, 17)


def test_month_end_and_year_end():
    assert deadlines.route_due(bj(2026, 1, 31, 9)) == D(2026, 2, 15)
    assert deadlines.handle_due(bj(2026, 12, 15, 9)) == D(2027, 2, 13)
    assert deadlines.route_due(bj(2026, 12, 31, 23, 59)) == D(2027, 1, 15)


def test_leap_day():
    # 2028 is a leap year: 60 days from 2028-01-01 lands on 2028-03-01 (29 days in February).
    assert deadlines.handle_due(bj(2028, 1, 1, 9)) == D(2028, 3, 1)
    assert deadlines.route_due(bj(2028, 2, 14, 9)) == D(2028, 2, 29)
    assert deadlines.review_due(bj(2028, 2, 29, 9)) == D(2028, 3, 30)


def test_midnight_beijing_vs_utc():
    # 2026-01-31 16:30 UTC is already 2026-02-01 00:30 in Beijing: the receipt date is Feb 1.
    received = dt.datetime(2026, 1, 31, 16, 30, tzinfo=UTC)
    assert deadlines.local_date(received) == D(2026, 2, 1)
    assert deadlines.route_due(received) == D(2026, 2, 16)
    # 15:59 UTC is still Jan 31 23:59 in Beijing.
    assert deadlines.route_due(dt.datetime(2026, 1, 31, 15, 59, tzinfo=UTC)) == D(2026, 2, 15)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        deadlines.route_due(dt.datetime(2026, 3, 2, 10))


def test_handling_60_days_and_extension_up_to_30():
    accepted = bj(2026, 3, 10, 15)
    assert deadlines.handle_due(accepted) == D(2026, 5, 9)
    assert deadlines.handle_due(accepted, 30) == D(2026, 6, 8)
    assert deadlines.handle_due(accepted, 10) == D(2026, 5, 19)
    with pytest.raises(ValueError):
        deadlines.handle_due(accepted, 31)


def test_review_and_rereview_windows_with_hearing_excluded():
    assert deadlines.review_request_due(bj(2026, 5, 1, 9)) == D(2026, 5, 31)
    assert deadlines.review_due(bj(2026, 5, 20, 9)) == D(2026, 6, 19)
    assert deadlines.rereview_request_due(bj(2026, 6, 19, 9)) == D(2026, 7, 19)
    assert deadlines.rereview_due(bj(2026, 7, 1, 9)) == D(2026, 7, 31)
    assert deadlines.rereview_due(bj(2026, 7, 1, 9), hearing_days=3) == D(2026, 8, 3)


@pytest.mark.django_db
def test_objection_five_working_days_over_a_plain_week():
    # Routed Wed 2026-03-04: Thu 5, Fri 6, Mon 9, Tue 10, Wed 11.
    assert deadlines.objection_due(bj(2026, 3, 4, 10)) == D(2026, 3, 11)


@pytest.mark.django_db
def test_objection_across_national_day_with_adjusted_workdays():
    # Routed Fri 2026-09-18. Sat 19 rest; Sun 20 is an adjusted workday (1);
    # Mon 21 (2), Tue 22 (3), Wed 23 (4), Thu 24 (5) → due Thu 24.
    assert deadlines.objection_due(bj(2026, 9, 18, 10)) == D(2026, 9, 24)
    # Routed Wed 2026-09-30: Oct 1–7 holidays; Thu Oct 8 (1), Fri 9 (2),
    # Sat 10 adjusted workday (3), Mon 12 (4), Tue 13 (5).
    assert deadlines.objection_due(bj(2026, 9, 30, 10)) == D(2026, 10, 13)


@pytest.mark.django_db
def test_objection_across_spring_festival_2026():
    # Routed Fri 2026-02-13. Sat 14 is an adjusted workday (春节调休上班) → (1);
    # 15–23 holidays; Tue 24 (2), Wed 25 (3), Thu 26 (4), Fri 27 (5).
    assert CalendarDay.objects.filter(date=D(2026, 2, 14), kind="workday").exists()
    assert deadlines.objection_due(bj(2026, 2, 13, 10)) == D(2026, 2, 27)


@pytest.mark.django_db
def test_calendar_is_editable_and_warns_past_last_known_year(caplog):
    assert deadlines.calendar_last_year() == 2026
    with caplog.at_level("WARNING", logger="civicgrid.deadlines"):
        assert deadlines.objection_due(bj(2027, 1, 4, 10)) == D(2027, 1, 11)
    assert "2027" in caplog.text
    # An administrator adds a 2027 holiday: the count follows it.
    CalendarDay.objects.create(date=D(2027, 1, 5), kind="holiday", name="测试假日")
    assert deadlines.objection_due(bj(2027, 1, 4, 10)) == D(2027, 1, 12)


def test_days_left_uses_beijing_date():
    due = D(2026, 3, 17)
    assert deadlines.days_left(due, now=dt.datetime(2026, 3, 16, 16, 1, tzinfo=UTC)) == 0
    assert deadlines.days_left(due, now=dt.datetime(2026, 3, 17, 16, 1, tzinfo=UTC)) == -1
