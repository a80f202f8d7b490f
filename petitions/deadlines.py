"""Every statutory due date, from the table in SPEC §3 (《信访工作条例》2022), in one place.

Conventions (stated once, used everywhere):
- All dates are local dates in Asia/Shanghai; an aware datetime is converted before its date is
  taken (a letter received at 00:30 Beijing time on the 1st is received on the 1st, whatever UTC says).
- A period of N days "from" an event starts the day after it (民法典 第二百零一条): the due date is
  event date + N, and the case is on time if the step happens on or before that date.
- Calendar days, except the objection period of 5 *working* days (第二十三条), which counts
  Monday–Friday, skipping public holidays and counting adjusted weekend workdays (调休), from the
  admin-editable CalendarDay table.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from django.utils import timezone

logger = logging.getLogger("civicgrid.deadlines")

TZ = ZoneInfo("Asia/Shanghai")

ROUTE_DAYS = 15  # 第二十二条: decide within 15 days of receipt
NOTIFY_DAYS = 15  # 第二十三条: written notice within 15 days of receipt
OBJECTION_WORKING_DAYS = (
    5  # 第二十三条: a wrongly routed case may be objected to within 5 working days
)
HANDLE_DAYS = 60  # 第三十四条: handled within 60 days of acceptance
MAX_EXTENSION_DAYS = 30  # 第三十四条: one extension of at most 30 days
REVIEW_REQUEST_DAYS = 30  # 第三十五条: review requested within 30 days of the written reply
REVIEW_ANSWER_DAYS = 30  # 第三十五条: answered within 30 days of the request
REREVIEW_REQUEST_DAYS = 30  # 第三十六条
REREVIEW_ANSWER_DAYS = 30  # 第三十六条: hearing time excluded


def local_date(moment: dt.datetime | dt.date) -> dt.date:
    """The Asia/Shanghai calendar date of an aware datetime (a date is returned as is)."""
    if isinstance(moment, dt.datetime):
        if timezone.is_naive(moment):
            raise ValueError("naive datetime: deadlines need timezone-aware datetimes")
        return moment.astimezone(TZ).date()
    return moment


def add_days(start: dt.datetime | dt.date, days: int) -> dt.date:
    """Calendar-day period: the due date `days` after the start's local date."""
    return local_date(start) + dt.timedelta(days=days)


def _calendar(start: dt.date, end: dt.date) -> dict[dt.date, str]:
    from petitions.models import CalendarDay

    return dict(CalendarDay.objects.filter(date__range=(start, end)).values_list("date", "kind"))


def is_working_day(day: dt.date, calendar: dict[dt.date, str] | None = None) -> bool:
    """Monday–Friday unless a public holiday; a weekend day is working if it is an adjusted workday."""
    kind = (calendar if calendar is not None else _calendar(day, day)).get(day)
    if kind == "holiday":
        return False
    if kind == "workday":
        return True
    return day.weekday() < 5


def add_working_days(start: dt.datetime | dt.date, days: int) -> dt.date:
    """The `days`-th working day after the start's local date."""
    day = local_date(start)
    # Long holidays (春节, 国庆) span at most 9 days; 3 weeks of calendar covers 5 working days.
    calendar = _calendar(day, day + dt.timedelta(days=days * 3 + 21))
    warn_if_calendar_unknown(day + dt.timedelta(days=days * 2 + 14))
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if is_working_day(day, calendar):
            counted += 1
    return day


def calendar_last_year() -> int | None:
    """The last year the holiday calendar knows (None when empty)."""
    from petitions.models import CalendarDay

    last = CalendarDay.objects.order_by("-date").values_list("date", flat=True).first()
    return last.year if last else None


def warn_if_calendar_unknown(day: dt.date) -> bool:
    """Log (and return True) when a working-day count reaches past the known calendar."""
    last = calendar_last_year()
    if last is None or day.year > last:
        logger.warning(
            "holiday calendar ends in %s but a deadline reaches %s: add the State Council's "
            "schedule for %s in the admin (节假日安排)",
            last,
            day,
            day.year,
        )
        return True
    return False


# --- The statute table, one function per deadline --------------------------------------------


def route_due(received_at: dt.datetime) -> dt.date:
    return add_days(received_at, ROUTE_DAYS)


def notify_due(received_at: dt.datetime) -> dt.date:
    return add_days(received_at, NOTIFY_DAYS)


def objection_due(routed_at: dt.datetime) -> dt.date:
    return add_working_days(routed_at, OBJECTION_WORKING_DAYS)


def handle_due(accepted_at: dt.datetime, extension_days: int = 0) -> dt.date:
    if not 0 <= extension_days <= MAX_EXTENSION_DAYS:
        raise ValueError("extension must be between 0 and 30 days")
    return add_days(accepted_at, HANDLE_DAYS + extension_days)


def review_request_due(replied_at: dt.datetime) -> dt.date:
    return add_days(replied_at, REVIEW_REQUEST_DAYS)


def review_due(review_requested_at: dt.datetime) -> dt.date:
    return add_days(review_requested_at, REVIEW_ANSWER_DAYS)


def rereview_request_due(reviewed_at: dt.datetime) -> dt.date:
    return add_days(reviewed_at, REREVIEW_REQUEST_DAYS)


def rereview_due(rereview_requested_at: dt.datetime, hearing_days: int = 0) -> dt.date:
    """Hearing time is not counted (第三十六条): the due date moves by the hearing's days."""
    return add_days(rereview_requested_at, REREVIEW_ANSWER_DAYS + hearing_days)


def days_left(due: dt.date, now: dt.datetime | None = None) -> int:
    """Days until a due date (0 = due today, negative = overdue), by Beijing calendar date."""
    return (due - local_date(now or timezone.now())).days


# The case columns next_deadline reads (besides status, is_final and reviewed_at): lists that load
# only some columns (.only()) load these.
DEADLINE_FIELDS = (
    "route_due",
    "handle_due",
    "review_due",
    "rereview_due",
    "review_request_due",
    "rereview_request_due",
)


def next_deadline(petition) -> tuple[str, dt.date] | None:
    """The next statutory deadline the case is waiting on, as (label key, date)."""
    s = petition.status
    if s == "registered":
        return ("route_due", petition.route_due)
    if s in ("handling", "objected"):
        return ("handle_due", petition.handle_due) if petition.handle_due else None
    if s == "review_requested":
        return ("review_due", petition.review_due)
    if s == "rereview_requested":
        return ("rereview_due", petition.rereview_due)
    if s == "replied" or (
        s == "closed"
        and not petition.is_final
        and petition.review_request_due
        and not petition.reviewed_at
    ):
        return ("review_request_due", petition.review_request_due)
    if s == "reviewed":
        return ("rereview_request_due", petition.rereview_request_due)
    return None
