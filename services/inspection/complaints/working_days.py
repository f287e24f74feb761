"""Working-day arithmetic with China's holiday calendar (shipped as data in `data/holidays.yaml`).

A working day is Monday to Friday, except a public holiday, plus the weekend days declared working
days (调休上班). Deadlines "within n working days" count from the day after the start day, so a
complaint received on Monday 29 September 2025 is due to be accepted on Wednesday 15 October 2025:
30 Sep, then the National Day week off, then 9, 10, 11 (a Saturday worked), 13, 14, 15 October.
Outside the years the calendar covers, weekdays are working days.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml

DATA = Path(__file__).parent / "data" / "holidays.yaml"


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: dict[date, str]
    working_days: dict[date, str]
    years: frozenset[int]
    provisional_years: frozenset[int]

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: date, count: int) -> date:
        """The day on which `count` working days after `start` have passed."""
        day = start
        remaining = count
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


@functools.cache
def china_calendar(path: Path = DATA) -> WorkingCalendar:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    holidays: dict[date, str] = {}
    working: dict[date, str] = {}
    years: set[int] = set()
    provisional: set[int] = set()
    for year in raw["years"]:
        years.add(int(year["year"]))
        if year.get("provisional"):
            provisional.add(int(year["year"]))
        for holiday in year["holidays"]:
            for day in _days(holiday["from"], holiday["to"]):
                holidays[day] = holiday["name"]
        for adjusted in year.get("working_days") or ():
            working[adjusted["date"]] = adjusted["name"]
    overlap = set(holidays) & set(working)
    if overlap:
        raise ValueError(f"days both holiday and working day: {sorted(overlap)}")
    return WorkingCalendar(holidays, working, frozenset(years), frozenset(provisional))
