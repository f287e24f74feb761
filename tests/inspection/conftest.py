"""The inspection service on its own, in-process (tests/support/inspection.py): its app on the test
Redis, SQLite under tmp and a manual clock pinned at START, the demo county's places fed to its
inbox. The cross-service tests take `county` (tests/support/fixtures/county.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.county import START, place_events
from tests.support.inspection import Inspection, running


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def inspection(settings: Settings, clock: ManualClock) -> Iterator[Inspection]:
    with running(settings, clock) as system:
        for event in place_events():
            system.feed(event, township_id=None)
        yield system
