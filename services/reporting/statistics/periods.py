"""Reporting periods: the standard ones (H1, H2, year, quarter, month) and any date range, each
with the period before it, for comparison."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from shared.errors import Invalid

_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?P<part>H[12]|Q[1-4]|\d{2}))?$")
_QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


@dataclass(frozen=True)
class Period:
    """An inclusive range of local days, and the code it was asked by (`2026-H1`, or a range)."""

    code: str
    first: date
    last: date
    as_of: date | None = None  # today, while the period is still running

    @property
    def end(self) -> date:
        """The day a state at the period's end is taken on: its last day, or today if earlier."""
        return min(self.last, self.as_of) if self.as_of else self.last

    def at(self, today: date) -> Period:
        return replace(self, as_of=today)

    @property
    def field(self) -> str:
        """The query parameter the period came from, to name in an error about it."""
        return "period" if _PATTERN.match(self.code) else "to"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        """How a Chinese report names the period (2026年上半年, 2026年第二季度, ...)."""
        match = _PATTERN.match(self.code)
        if not match:
            return f"{_day(self.first)}至{_day(self.last)}"
        year, part = match["year"], match["part"]
        if part is None:
            return f"{year}年"
        if part == "H1":
            return f"{year}年上半年"
        if part == "H2":
            return f"{year}年下半年"
        if part.startswith("Q"):
            return f"{year}年{_QUARTER_NAMES[int(part[1])]}"
        return f"{year}年{int(part)}月"

    def previous(self) -> Period:
        """The period before: the previous half, quarter, month or year; for a range, the range
        of the same length that ends the day before it starts."""
        match = _PATTERN.match(self.code)
        if match:
            year, part = int(match["year"]), match["part"]
            if part is None:
                return parse_period(str(year - 1))
            if part in ("H1", "H2"):
                return parse_period(f"{year - 1}-H2" if part == "H1" else f"{year}-H1")
            if part.startswith("Q"):
                quarter = int(part[1])
                return parse_period(f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}")
            month = int(part)
            return parse_period(f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}")
        last = self.first - timedelta(days=1)
        return date_range(last - timedelta(days=self.days - 1), last)

    def months(self) -> list[tuple[date, date]]:
        """The calendar months the period touches, each clipped to the period."""
        result = []
        cursor = self.first.replace(day=1)
        while cursor <= self.last:
            following = _add_month(cursor)
            result.append((max(cursor, self.first), min(following - timedelta(days=1), self.last)))
            cursor = following
        return result

    def query(self) -> dict[str, str]:
        """The query parameters that ask for this period again (for links)."""
        if _PATTERN.match(self.code):
            return {"period": self.code}
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _add_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def parse_period(code: str) -> Period:
    match = _PATTERN.match(code.strip())
    if not match:
        raise Invalid("period", "use YYYY, YYYY-H1, YYYY-H2, YYYY-Q1..Q4 or YYYY-MM")
    year, part = int(match["year"]), match["part"]
    if not 2000 <= year <= 2100:
        raise Invalid("period", "the year must be between 2000 and 2100")
    if part is None:
        first, last = date(year, 1, 1), date(year, 12, 31)
    elif part == "H1":
        first, last = date(year, 1, 1), date(year, 6, 30)
    elif part == "H2":
        first, last = date(year, 7, 1), date(year, 12, 31)
    elif part.startswith("Q"):
        quarter = int(part[1])
        first = date(year, 3 * quarter - 2, 1)
        last = _add_month(date(year, 3 * quarter, 1)) - timedelta(days=1)
    else:
        month = int(part)
        if not 1 <= month <= 12:
            raise Invalid("period", "the month must be 01 to 12")
        first = date(year, month, 1)
        last = _add_month(first) - timedelta(days=1)
    return Period(code=code.strip(), first=first, last=last)


MAX_RANGE_DAYS = 3660


def date_range(first: date, last: date) -> Period:
    if last < first:
        raise Invalid("to", "the period ends before it starts")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise Invalid("to", f"a period is at most {MAX_RANGE_DAYS} days")
    return Period(code=f"{first.isoformat()}..{last.isoformat()}", first=first, last=last)


def resolve(period: str | None, first: date | None, last: date | None) -> Period:
    """The period a request asks for: `period`, or both `from` and `to` (not both kinds)."""
    if period is not None:
        if first is not None or last is not None:
            raise Invalid("period", "give either period or from/to, not both")
        return parse_period(period)
    if first is None:
        raise Invalid("from", "give a period (e.g. 2026-H1) or from and to")
    if last is None:
        raise Invalid("to", "give the last day of the period")
    return date_range(first, last)
