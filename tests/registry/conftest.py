"""The registry on its own, in-process (tests/support/registry.py): its app on the test Redis,
SQLite under tmp, a manual clock pinned at START and the demo county loaded. Tests that need the
other services take `county` (tests/support/fixtures/county.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.county import START
from tests.support.registry import Registry, running_registry


@pytest.fixture
def registry(settings: Settings) -> Iterator[Registry]:
    with running_registry(settings, ManualClock(START)) as system:
        yield system
