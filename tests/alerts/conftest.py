"""The alerts service on its own, in-process (tests/support/alerts.py): its app on the test Redis,
SQLite under tmp and a manual clock pinned at START, the demo county's places fed to its inbox."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from services.alerts.app import SPEC, create
from services.alerts.config import AlertsConfig
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.alerts import Alerts, AlertsFactory
from tests.support.county import START, place_events
from tests.support.harness import running_service


@pytest.fixture
def make_alerts(settings: Settings) -> Iterator[AlertsFactory]:
    """Start the service (once per test) with optional AlertsConfig overrides."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> Alerts:
            config = AlertsConfig(
                **{
                    "env": "test",
                    "tick_seconds": 60,
                    "notify_seconds": 60,
                    "notify_on_commit": False,
                    **overrides,
                }
            )
            system = stack.enter_context(
                running_service(Alerts, SPEC, create, settings, ManualClock(START), config=config)
            )
            for event in place_events():
                system.feed(event, township_id=event.place_id if event.level == "township" else None)
            return system

        yield start


@pytest.fixture
def alerts(make_alerts: AlertsFactory) -> Alerts:
    return make_alerts()
