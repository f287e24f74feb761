"""Reporting periods: the standard ones, any range, and the period before each (unit tests)."""

from __future__ import annotations

from datetime import date

import pytest

from services.reporting.statistics.periods import date_range, parse_period, resolve
from shared.errors import DomainError


@pytest.mark.parametrize(
    ("code", "first", "last", "label", "previous"),
    [
        ("2026-H1", date(2026, 1, 1), date(2026, 6, 30), "2026年上半年", "2025-H2"),
        ("2026-H2", date(2026, 7, 1), date(2026, 12, 31), "2026年下半年", "2026-H1"),
        ("2026", date(2026, 1, 1), date(2026, 12, 31), "2026年", "2025"),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), "2026年第一季度", "2025-Q4"),
        ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31), "2024年第一季度", "2023-Q4"),
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), "2026年第四季度", "2026-Q3"),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "2024年2月", "2024-01"),
        ("2026-01", date(2026, 1, 1), date(2026, 1, 31), "2026年1月", "2025-12"),
    ],
)
def test_standard_periods(code, first, last, label, previous):
    period = parse_period(code)
    assert (period.first, period.last, period.label, period.previous().code) == (first, last, label, previous)
    assert period.query() == {"period": code}


def test_a_range_and_the_range_before_it():
    period = date_range(date(2026, 3, 10), date(2026, 3, 19))
    assert period.days == 10
    before = period.previous()
    assert (before.first, before.last) == (date(2026, 2, 28), date(2026, 3, 9))
    assert period.label == "2026年3月10日至2026年3月19日"
    assert period.query() == {"from": "2026-03-10", "to": "2026-03-19"}
    assert [m for m in date_range(date(2026, 1, 20), date(2026, 3, 5)).months()] == [
        (date(2026, 1, 20), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 5)),
    ]


def test_a_running_period_takes_its_end_state_today():
    period = parse_period("2026-H2").at(date(2026, 9, 15))
    assert period.end == date(2026, 9, 15)
    assert parse_period("2026-H1").at(date(2026, 9, 15)).end == date(2026, 6, 30)


@pytest.mark.parametrize(
    ("period", "first", "last", "field"),
    [
        ("2026-H3", None, None, "period"),
        ("2026-13", None, None, "period"),
        ("1999", None, None, "period"),
        ("2026", date(2026, 1, 1), None, "period"),
        (None, None, None, "from"),
        (None, date(2026, 1, 1), None, "to"),
        (None, date(2026, 2, 1), date(2026, 1, 1), "to"),
        (None, date(2000, 1, 1), date(2026, 1, 1), "to"),
    ],
)
def test_bad_periods_name_the_field(period, first, last, field):
    with pytest.raises(DomainError) as raised:
        resolve(period, first, last)
    assert raised.value.field == field


def test_the_place_and_period_parameters_resolve_to_a_period_as_of_the_clocks_today():
    from datetime import UTC, datetime

    from services.reporting.statistics.params import PlacePeriodQuery
    from shared.clock import ManualClock

    clock = ManualClock(datetime(2026, 3, 1, 20, 0, tzinfo=UTC))  # 2026-03-02 in the county
    asked = PlacePeriodQuery(place_id="qingyun", code="2026-H1")
    assert asked.period(clock) == parse_period("2026-H1").at(date(2026, 3, 2))
    assert asked.period().as_of is None
    ranged = PlacePeriodQuery(place_id="qingyun", first=date(2026, 1, 1), last=date(2026, 1, 31))
    assert ranged.period_if_any() == date_range(date(2026, 1, 1), date(2026, 1, 31))
    assert PlacePeriodQuery(place_id="qingyun").period_if_any() is None  # the export: everything
    with pytest.raises(DomainError) as refused:
        PlacePeriodQuery(place_id="qingyun").period()
    assert refused.value.field == "from"
