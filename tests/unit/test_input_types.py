"""The shared input types (paging, dates, times) and the rule lookup's error for a date before the
first row of a table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pytest
from pydantic import BaseModel, ValidationError

from shared.dates import Day, Moment
from shared.errors import DomainError
from shared.rules import NoRuleInForce, dated_by, rule_in_force


class Dated(BaseModel):
    day: Day | None = None
    moment: Moment | None = None


@pytest.mark.parametrize("day", ["1949-10-01", "2026-06-30", "2100-12-31"])
def test_days_in_range_are_accepted(day: str):
    assert Dated(day=day).day == date.fromisoformat(day)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("day", "1949-09-30"),
        ("day", "2101-01-01"),
        ("day", "9999-12-31"),
        ("moment", "0001-01-01T00:00:00+14:00"),
        ("moment", "9999-12-31T23:59:59-12:00"),
        ("moment", "2026-06-01T12:00:00"),  # no zone
    ],
)
def test_out_of_range_or_naive_is_an_error_on_the_field(field: str, value: str):
    with pytest.raises(ValidationError) as raised:
        Dated(**{field: value})
    assert raised.value.errors()[0]["loc"] == (field,)


def test_a_moment_keeps_its_zone():
    assert Dated(moment="2026-06-01T12:00:00+08:00").moment == datetime.fromisoformat(
        "2026-06-01T12:00:00+08:00"
    )


@dataclass(frozen=True)
class Row:
    region: str
    effective_from: date


TABLE = [Row("default", date(2015, 10, 1)), Row("qingyun", date(2020, 1, 1))]


def test_a_day_before_the_table_names_the_field_that_carried_it():
    with pytest.raises(NoRuleInForce) as raised:
        rule_in_force(TABLE, region="qingyun", on=date(2001, 1, 1), what="sample")
    assert isinstance(raised.value, LookupError)  # callers that caught LookupError still do
    with pytest.raises(DomainError) as answered, dated_by("held_on"):
        rule_in_force(TABLE, region="qingyun", on=date(2001, 1, 1), what="sample")
    assert answered.value.field == "held_on"
    assert (
        answered.value.reason == "no sample rule is in force on 2001-01-01; the rules apply from 2015-10-01"
    )
    assert rule_in_force(TABLE, region="qingyun", on=date(2016, 1, 1), what="sample").region == "default"
