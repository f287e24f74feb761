"""The expiry scan as a background loop of the registry process, and as a one-off for the CLI.

The loop looks at the local date (Asia/Shanghai, by the runtime's clock) every
`expiry_check_seconds` (RegistryConfig): it scans at start and again once the date has changed
since the last scan that succeeded, so a failed scan is tried again at the next look. The
`expiry_notices` table makes every run safe to repeat, so a restart, a missed day or a manual run
from the CLI never announces a fact twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from services.registry.database import infra
from services.registry.expiry.service import ScanResult, scan
from shared.clock import SYSTEM_CLOCK, Clock, local_today
from shared.db import Database
from shared.service import BackgroundLoop, ServiceRuntime, periodic
from shared.settings import Settings


def expiry_loop(every: float) -> BackgroundLoop:
    """The daily scan, looking at the date every `every` seconds; one loop per app."""
    return periodic("expiry scan", every, _once_a_day())


def _once_a_day() -> Callable[[ServiceRuntime], None]:
    scanned: date | None = None  # the local day of the last scan that succeeded

    def work(runtime: ServiceRuntime) -> None:
        nonlocal scanned
        today = local_today(runtime.clock)
        if today != scanned:
            scan(runtime.db, today=today)
            scanned = today

    return work


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
