"""Working-day arithmetic with China's holiday calendar (the complaint deadlines)."""

from __future__ import annotations

from datetime import date

import pytest

from services.inspection.complaints.working_days import china_calendar


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        # National Day 2025: 1-8 October off, Saturday 11 October worked
        (date(2025, 9, 29), 7, date(2025, 10, 15)),
        (date(2025, 9, 29), 15, date(2025, 10, 27)),
        # Spring Festival 2026: 15-23 February off, Saturdays 14 and 28 February worked
        (date(2026, 2, 13), 7, date(2026, 3, 2)),
        # Labour Day 2026: 1-5 May off, Saturday 9 May worked
        (date(2026, 4, 30), 3, date(2026, 5, 8)),
        (date(2026, 4, 30), 4, date(2026, 5, 9)),
        # an ordinary fortnight: weekends only
        (date(2026, 3, 2), 7, date(2026, 3, 11)),
        # received on a holiday: counting starts after it
        (date(2025, 10, 3), 1, date(2025, 10, 9)),
    ],
)
def test_deadlines_count_working_days_across_public_holidays(received: date, days: int, due: date):
    assert china_calendar().add_working_days(received, days) == due


def test_adjusted_saturdays_are_working_days_and_holiday_weekdays_are_not():
    calendar = china_calendar()
    assert calendar.is_working_day(date(2025, 10, 11))  # a Saturday worked for National Day
    assert not calendar.is_working_day(date(2025, 10, 6))  # a Monday off
    assert calendar.holidays.get(date(2026, 2, 17)) == "春节"
    assert not calendar.is_working_day(date(2026, 3, 7))  # an ordinary Saturday


def test_the_calendar_covers_2025_to_2027_and_marks_unpublished_years():
    calendar = china_calendar()
    assert {2025, 2026, 2027} <= calendar.years
    assert calendar.provisional_years == frozenset({2027})
    assert calendar.holidays.get(date(2027, 10, 1)) == "国庆节"
