"""Time as the county sees it: stored in UTC, reasoned about in Asia/Shanghai.

Code that decides by time (deadlines, escalations, expiry scans) takes a `Clock` so that tests can
set and advance it; `SystemClock` is the real one. A running service's clock is `runtime.clock`.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told (tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)


SYSTEM_CLOCK = SystemClock()


def now() -> datetime:
    return datetime.now(UTC)


def local_today(clock: Clock = SYSTEM_CLOCK) -> date:
    return clock.now().astimezone(LOCAL_ZONE).date()


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_ZONE)
