"""The deadline scheduler: a background loop of the inspection process.

Deadlines live in the database (rectification orders, complaints); the loop checks them at start
and then every `CHECK_SECONDS` by the runtime's clock. Each notice is claimed in the database before
it is emitted, so a restart, a deadline that passed while the service was stopped, or two replicas
checking at once all give exactly one notice per order and deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from services.inspection.complaints import service as complaints
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


async def deadline_loop(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            report = await asyncio.to_thread(check_deadlines, runtime.db, runtime.clock)
            if report.rectification.overdue or report.rectification.escalated:
                log.info("rectification deadlines: %s", report.rectification)
        except Exception:
            log.exception("deadline check failed; retrying at the next check")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=CHECK_SECONDS)
