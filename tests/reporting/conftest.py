"""The reporting tests run the four services (`county`, tests/support/fixtures/county.py) on a
clock pinned at tests.support.county.START, so every figure that depends on the date is the same
on any day; `known` is the county of tests/support/reporting.py built on that date."""

from __future__ import annotations

import pytest

from shared.clock import ManualClock
from tests.support.county import START
from tests.support.reporting import Known, build
from tests.support.services import County


@pytest.fixture
def county_clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def known(county: County, county_clock: ManualClock) -> Known:
    return build(county, county_clock)
