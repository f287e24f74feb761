"""The deadline scheduler: a background loop of the inspection process.

Deadlines live in the database (rectification orders, complaints); the loop checks them at start
and then every `InspectionConfig.check_seconds` by the runtime's clock. Each notice is claimed in
the database before it is emitted, so a restart, a deadline that passed while the service was
stopped, or two replicas checking at once all give exactly one notice per order and deadline. After
each check the supervision gauges (overdue orders, grading coverage) are recomputed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from services.inspection.complaints import service as complaints
from services.inspection.config import InspectionConfig
from services.inspection.metrics import InspectionMetrics
from services.inspection.rectification import service as rectification
from shared.clock import Clock, local_today
from shared.db import Database
from shared.service import BackgroundLoop, ServiceRuntime, periodic

log = logging.getLogger("shian.inspection.deadlines")


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


def tick(runtime: ServiceRuntime, metrics: InspectionMetrics) -> DeadlineReport:
    """One check: the notices first, then the gauges (a failure of the gauges loses no notice)."""
    report = check_deadlines(runtime.db, runtime.clock)
    if report.rectification.overdue or report.rectification.escalated:
        log.info("rectification deadlines: %s", report.rectification)
    try:
        metrics.refresh(runtime.db, runtime.clock)
    except Exception:
        log.exception("supervision metrics not refreshed; retrying at the next check")
    return report


def deadline_loop(config: InspectionConfig) -> BackgroundLoop:
    """The scheduler as a runtime loop. Its gauges are made on the registry of the runtime it runs
    in, when it starts, and removed when it ends, so a runtime started again reports them once."""

    async def loop(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        metrics = InspectionMetrics(runtime.registry)
        checking = periodic(
            "inspection deadline check", config.check_seconds, lambda running: tick(running, metrics)
        )
        try:
            await checking(runtime, stop)
        finally:
            metrics.unregister(runtime.registry)

    return loop
