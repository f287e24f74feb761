"""The scheduler: durable timers checked every tick by the service's clock.

Timers are rows (`escalation_timers`). Each tick claims every due, live timer with a conditional
UPDATE (fired_at IS NULL) and acts on it in the same transaction, so a timer fires once whatever
happens: a restart after a deadline fires it at the first tick (late by at most one tick from the
moment the service is back), a crash mid-way rolls the claim back with its effects, and two
replicas never both fire it. The tick also refreshes the gauges of open incidents and alerts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.alerts.escalation import service as escalation
from services.alerts.escalation.models import EscalationTimer
from services.alerts.incidents.lifecycle import OPEN_STATUSES
from services.alerts.incidents.models import Incident
from services.alerts.metrics import AlertsMetrics
from services.alerts.notifications import service as notifications
from services.alerts.signals.models import Alert
from shared.catalogue.alerts import LEVEL_ORDER
from shared.clock import Clock
from shared.db import Database, claim


@dataclass
class TickReport:
    fired: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.fired.values())


def tick(db: Database, clock: Clock, escalator: escalation.Escalator, *, limit: int = 500) -> TickReport:
    """Fire every timer due by now, one transaction per timer (one incident's decision)."""
    report = TickReport()
    now = clock.now()
    with db.session() as session:
        due = session.exec(
            select(EscalationTimer.id)
            .where(
                col(EscalationTimer.fired_at).is_(None),
                col(EscalationTimer.cancelled_at).is_(None),
                col(EscalationTimer.due_at) <= now,
            )
            .order_by(col(EscalationTimer.due_at))
            .limit(limit)
        ).all()
    for timer_id in due:
        with db.session() as session:
            live = (col(EscalationTimer.fired_at).is_(None), col(EscalationTimer.cancelled_at).is_(None))
            if not claim(session, EscalationTimer, timer_id, *live, fired_at=now):
                continue
            timer = session.get(EscalationTimer, timer_id)
            assert timer is not None
            outcome = escalation.fire(session, escalator, timer, now=now)
            report.fired[outcome] = report.fired.get(outcome, 0) + 1
            if escalator.metrics is not None:
                escalator.metrics.timer_lateness.observe(max((now - timer.due_at).total_seconds(), 0.0))
    if escalator.metrics is not None:
        with db.read_session() as session:
            refresh_gauges(session, escalator.metrics)
            escalator.metrics.timers_overdue.set(overdue_timers(session, now))
        escalator.metrics.last_tick.set(time.time())
    return report


def overdue_timers(session: Session, now: datetime) -> int:
    """Live timers that should have fired by `now` (0 unless ticks fall behind or fail)."""
    return int(
        session.execute(
            sa.select(sa.func.count())
            .select_from(EscalationTimer)
            .where(
                col(EscalationTimer.fired_at).is_(None),
                col(EscalationTimer.cancelled_at).is_(None),
                col(EscalationTimer.due_at) < now,
            )
        ).scalar_one()
    )


def refresh_gauges(session: Session, metrics: AlertsMetrics) -> None:
    open_by_level = dict.fromkeys(LEVEL_ORDER, 0)
    awaiting = dict.fromkeys(LEVEL_ORDER, 0)
    rows = session.execute(
        sa.select(col(Incident.level), col(Incident.awaiting_ack), sa.func.count())
        .where(col(Incident.status).in_(OPEN_STATUSES))
        .group_by(col(Incident.level), col(Incident.awaiting_ack))
    ).all()
    for level, waiting, count in rows:
        open_by_level[level] = open_by_level.get(level, 0) + count
        if waiting:
            awaiting[level] = awaiting.get(level, 0) + count
    for level, count in open_by_level.items():
        metrics.open_incidents.labels(level).set(count)
        metrics.awaiting_acknowledgement.labels(level).set(awaiting[level])
    alerts: dict[str, int] = dict(
        session.execute(
            sa.select(col(Alert.kind), sa.func.count())
            .where(col(Alert.status) == "open")
            .group_by(col(Alert.kind))
        ).all()
    )
    metrics.alert_kinds_labelled.update(alerts)
    for kind in metrics.alert_kinds_labelled:  # a kind with no open alert left falls back to 0
        metrics.open_alerts.labels(kind).set(alerts.get(kind, 0))
    metrics.notifications_pending.set(notifications.pending_count(session))
