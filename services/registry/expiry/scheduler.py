"""The expiry scan as a background loop of the registry process, and as a one-off for the CLI.

The loop scans once at start and again whenever the local date (Asia/Shanghai, by the runtime's
clock) changes. The `expiry_notices` table makes every run safe to repeat, so a restart, a missed
day or a manual run from the CLI never announces a fact twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date

from services.registry.database import infra
from services.registry.expiry.service import ScanResult, scan
from shared.clock import SYSTEM_CLOCK, Clock, local_today
from shared.db import Database
from shared.service import ServiceRuntime
from shared.settings import Settings

log = logging.getLogger("shian.registry.expiry")

CHECK_SECONDS = 60.0  # how often the loop looks at the date


async def expiry_loop(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    last: date | None = None
    while not stop.is_set():
        today = local_today(runtime.clock)
        if today != last:
            try:
                await asyncio.to_thread(scan, runtime.db, today=today)
                last = today
            except Exception:
                log.exception("expiry scan of %s failed; retrying at the next check", today)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=CHECK_SECONDS)


def run_scan(
    settings: Settings, *, clock: Clock = SYSTEM_CLOCK, warning_days: int | None = None
) -> ScanResult:
    """One scan against the registry's database, outside the service (the CLI). Events wait in the
    outbox until the service's relay publishes them."""
    db = Database(
        settings.database_url("registry"), infra=infra, stream=settings.stream("registry"), service="registry"
    )
    try:
        return scan(db, today=local_today(clock), warning_days=warning_days)
    finally:
        db.dispose()
