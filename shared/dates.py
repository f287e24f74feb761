"""Dates and times a client may send: within a sane range, and times with their zone.

Date arithmetic near `date.max` (a deadline of 9999-12-31 plus a week, a period's end plus a day)
overflows and was answered 500; no record of this system lies before the People's Republic or after
this century, so accepted dates are bounded where they come in, and the answer is a 422 naming the
field. A time without a zone is ambiguous (Beijing or UTC?) and is refused the same way.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST = date(1949, 10, 1)
LATEST = date(2100, 12, 31)
RANGE = f"between {EARLIEST.isoformat()} and {LATEST.isoformat()}"


def _day(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be {RANGE}")
    return value


def _moment(value: datetime) -> datetime:
    if not EARLIEST <= value.date() <= LATEST:  # its own local day: no arithmetic that could overflow
        raise ValueError(f"must be {RANGE}")
    return value


Day = Annotated[date, AfterValidator(_day)]
"""A calendar date within the accepted range."""

Moment = Annotated[AwareDatetime, AfterValidator(_moment)]
"""An instant with its time zone (ISO 8601 with an offset), within the accepted range."""
