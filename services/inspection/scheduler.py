"""The deadline scheduler: a background loop of the inspection process.

Deadlines live in the database (rectification orders, complaints); the loop checks them at start
and then every `CHECK_SECONDS` by the runtime's clock. Each notice is claimed in the database before
it is emitted, so a restart, a deadline that passed while the service was stopped, or two replicas
checking at once all give exactly one notice per order and deadline. After each check the
supervision gauges (overdue orders, grading coverage) are recomputed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from services.inspection.complaints import service as complaints
from services.inspection.metrics import InspectionMetrics
from services.inspection.rectification import service as rectification
from shared.clock import Clock, local_today
from shared.db import Database
from shared.service import ServiceRuntime

log = logging.getLogger("shian.inspection.deadlines")

CHECK_SECONDS = 60.0


@dataclass(frozen=True)
class DeadlineReport:
    rectification: rectification.DeadlineRun
    complaints: complaints.MissedRun


def check_deadlines(db: Database, clock: Clock) -> DeadlineReport:
    now = clock.now()
    today = local_today(clock)
    return DeadlineReport(
        rectification=rectification.check_deadlines(db, today=today, now=now),
        complaints=complaints.check_deadlines(db, today=today, now=now),
    )


@dataclass
class Scheduler:
    """The background loop; `metrics` is bound once the runtime (and its registry) exists."""

    metrics: InspectionMetrics | None = None

    def tick(self, db: Database, clock: Clock) -> DeadlineReport:
        report = check_deadlines(db, clock)
        if report.rectification.overdue or report.rectification.escalated:
            log.info("rectification deadlines: %s", report.rectification)
        if self.metrics is not None:
            try:
                self.metrics.refresh(db, clock)
            except Exception:
                log.exception("supervision metrics not refreshed; retrying at the next check")
        return report

    async def __call__(self, runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.tick, runtime.db, runtime.clock)
            except Exception:
                log.exception("deadline check failed; retrying at the next check")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=CHECK_SECONDS)


deadline_loop = Scheduler()
"""The loop without metrics, for a spec used on its own; `app.create` binds a metered one."""
