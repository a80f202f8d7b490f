"""Reporting periods (inclusive local dates in Asia/Shanghai) and 同比/环比."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

TZ = ZoneInfo("Asia/Shanghai")


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def local_midnight(day: dt.date) -> dt.datetime:
    """The aware instant a local (Beijing) date starts."""
    return dt.datetime.combine(day, dt.time(), tzinfo=TZ)


@dataclass(frozen=True)
class Period:
    """A reporting period: local dates `start`..`end`, both inclusive."""

    start: dt.date
    end: dt.date

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError("period end before start")

    # --- construction ------------------------------------------------------------------------

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(dt.date(year, month, 1), _month_end(year, month))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        if not 1 <= quarter <= 4:
            raise ValueError("quarter must be 1..4")
        first = 3 * (quarter - 1) + 1
        return cls(dt.date(year, first, 1), _month_end(year, first + 2))

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31))

    @classmethod
    def containing_month(cls, day: dt.date) -> Period:
        return cls.month(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Period:
        """ "2026-03" (month), "2026-Q1" (quarter), "2026" (year) or "2026-03-01..2026-03-15"."""
        text = text.strip()
        if ".." in text:
            a, b = text.split("..", 1)
            return cls(dt.date.fromisoformat(a), dt.date.fromisoformat(b))
        if "-Q" in text.upper():
            y, q = text.upper().split("-Q", 1)
            return cls.quarter(int(y), int(q))
        if len(text) == 4:
            return cls.year(int(text))
        y, m = text.split("-", 1)
        return cls.month(int(y), int(m))

    # --- kind --------------------------------------------------------------------------------

    @property
    def months(self) -> int | None:
        """Whole calendar months covered (1, 3, 12 …), or None for a custom range of days."""
        if self.start.day != 1 or self.end != _month_end(self.end.year, self.end.month):
            return None
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    @property
    def kind(self) -> str:
        m = self.months
        if m == 1:
            return "month"
        if m == 3 and self.start.month in (1, 4, 7, 10):
            return "quarter"
        if m == 12 and self.start.month == 1:
            return "year"
        return "range"

    # --- neighbours ----------------------------------------------------------------------------

    def previous(self) -> Period:
        """The period just before (环比 base): previous month / quarter / year, or for a custom
        range the same number of days ending the day before."""
        m = self.months
        if m:
            y, mo = _add_months(self.start.year, self.start.month, -m)
            ey, emo = _add_months(self.end.year, self.end.month, -m)
            return Period(dt.date(y, mo, 1), _month_end(ey, emo))
        days = (self.end - self.start).days + 1
        return Period(self.start - dt.timedelta(days=days), self.start - dt.timedelta(days=1))

    def same_last_year(self) -> Period:
        """The same period a year earlier (同比 base); month ends stay month ends (Feb 29)."""
        if self.months:
            return Period(
                self.start.replace(year=self.start.year - 1),
                _month_end(self.end.year - 1, self.end.month),
            )

        def back(d: dt.date) -> dt.date:
            try:
                return d.replace(year=d.year - 1)
            except ValueError:  # 29 February
                return d.replace(year=d.year - 1, day=28)

        return Period(back(self.start), back(self.end))

    def year_to_date(self) -> Period:
        """1 January of the end's year to the end (年度累计)."""
        return Period(dt.date(self.end.year, 1, 1), self.end)

    def months_back(self, count: int) -> list[Period]:
        """`count` months ending with the month of this period's end, oldest first."""
        out = []
        for back in range(count - 1, -1, -1):
            y, m = _add_months(self.end.year, self.end.month, -back)
            out.append(Period.month(y, m))
        return out

    # --- instants ----------------------------------------------------------------------------

    @property
    def start_at(self) -> dt.datetime:
        """The first instant of the period (local midnight of `start`)."""
        return local_midnight(self.start)

    @property
    def end_before(self) -> dt.datetime:
        """The first instant after the period (local midnight after `end`), exclusive."""
        return local_midnight(self.end + dt.timedelta(days=1))

    # --- text --------------------------------------------------------------------------------

    def key(self) -> str:
        """Machine form, accepted by `Period.parse`."""
        kind = self.kind
        if kind == "month":
            return f"{self.start:%Y-%m}"
        if kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if kind == "year":
            return str(self.start.year)
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def label(self) -> str:
        kind = self.kind
        if kind == "month":
            return _("%(y)d年%(m)d月") % {"y": self.start.year, "m": self.start.month}
        if kind == "quarter":
            return _("%(y)d年第%(q)d季度") % {
                "y": self.start.year,
                "q": (self.start.month - 1) // 3 + 1,
            }
        if kind == "year":
            return _("%(y)d年") % {"y": self.start.year}
        return _("%(a)s至%(b)s") % {"a": self.start.isoformat(), "b": self.end.isoformat()}

    def __str__(self) -> str:
        return self.key()


def change(x_now, x_base) -> float | None:
    """同比 / 环比: (x − base) ÷ base as a fraction; None ("—") when either is missing or the
    base is 0. Accepts numbers or Figures (their values)."""
    x_now = getattr(x_now, "value", x_now)
    x_base = getattr(x_base, "value", x_base)
    if x_now is None or x_base is None or x_base == 0:
        return None
    return (x_now - x_base) / x_base
