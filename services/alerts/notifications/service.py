"""Queueing notifications in the deciding transaction, and delivering them afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.alerts.metrics import AlertsMetrics
from services.alerts.notifications.channels import Attempt, Channel, Message
from services.alerts.notifications.models import Notification, NotificationAttempt
from shared.clock import Clock
from shared.db import Database, claim

LEASE = timedelta(minutes=2)  # a delivery not finished by then (a crash) is taken up again


def enqueue(
    session: Session,
    *,
    now: datetime,
    county_id: str,
    township_id: str | None,
    targets: Sequence[str],
    channels: Sequence[str],
    text: str,
    payload: Mapping[str, Any],
    incident_id: uuid.UUID | None = None,
    alert_id: uuid.UUID | None = None,
    step: int | None = None,
    tier: str | None = None,
) -> int:
    """One notification per target and channel, in the caller's transaction."""
    rows = [
        Notification(
            county_id=county_id,
            township_id=township_id,
            incident_id=incident_id,
            alert_id=alert_id,
            step=step,
            tier=tier,
            channel=channel,
            target=target,
            text=text[:2000],
            payload=dict(payload),
            created_at=now,
        )
        for target in targets
        for channel in channels
    ]
    session.add_all(rows)
    return len(rows)


@dataclass
class DeliveryRun:
    delivered: int = 0
    failed: int = 0


def deliver_pending(
    db: Database,
    channels: Mapping[str, Channel],
    clock: Clock,
    metrics: AlertsMetrics | None = None,
    limit: int = 50,
) -> DeliveryRun:
    """Deliver what is due: claim a batch with a lease, send outside any transaction, then record
    every attempt and the outcome. Two replicas never send the same claimed notification."""
    run = DeliveryRun()
    now = clock.now()
    free = (
        col(Notification.status) == "pending",
        sa.or_(col(Notification.lease_until).is_(None), col(Notification.lease_until) < now),
    )
    with db.session() as session:
        candidates = session.exec(
            select(Notification.id).where(*free).order_by(col(Notification.created_at)).limit(limit)
        ).all()
        claimed = [
            notification_id
            for notification_id in candidates
            if claim(session, Notification, notification_id, *free, lease_until=now + LEASE)
        ]
        batch = [session.get(Notification, notification_id) for notification_id in claimed]
    for notification in batch:
        assert notification is not None
        channel = channels.get(notification.channel)
        message = Message(
            notification_id=str(notification.id),
            target=notification.target,
            text=notification.text,
            payload=notification.payload,
        )
        if channel is None:
            attempts = [
                Attempt(
                    ok=False, duration_ms=0.0, error=f"channel {notification.channel!r} is not configured"
                )
            ]
        else:
            try:
                attempts = channel.send(message)
            except Exception as error:  # a channel bug must not stop the loop; it is recorded
                attempts = [Attempt(ok=False, duration_ms=0.0, error=f"{type(error).__name__}: {error}")]
        delivered = _finish(db, notification, attempts, clock.now(), metrics)
        if delivered:
            run.delivered += 1
        else:
            run.failed += 1
    return run


def _finish(
    db: Database,
    notification: Notification,
    attempts: list[Attempt],
    now: datetime,
    metrics: AlertsMetrics | None,
) -> bool:
    """Write down every attempt and the outcome, in a transaction of its own after the sending,
    which ran outside any transaction; returns whether the notification was delivered."""
    delivered = any(attempt.ok for attempt in attempts)
    with db.session() as session:
        row = session.get(Notification, notification.id)
        assert row is not None
        for attempt in attempts:
            row.attempts += 1
            session.add(
                NotificationAttempt(
                    notification_id=row.id,
                    number=row.attempts,
                    at=now,
                    channel=row.channel,
                    ok=attempt.ok,
                    status_code=attempt.status_code,
                    error=(attempt.error or "")[:1000] or None,
                    duration_ms=attempt.duration_ms,
                )
            )
            if metrics is not None:
                metrics.notification_attempts.labels(row.channel, "ok" if attempt.ok else "error").inc()
        row.status = "delivered" if delivered else "failed"
        row.finished_at = now
        row.lease_until = None
        row.last_error = (
            None if delivered else (attempts[-1].error or "")[:1000] if attempts else "no attempt"
        )
        session.add(row)
    if metrics is not None:
        metrics.notifications.labels(notification.channel, row.status).inc()
    return delivered


def pending_count(session: Session) -> int:
    return int(
        session.execute(
            sa.select(sa.func.count()).select_from(Notification).where(col(Notification.status) == "pending")
        ).scalar_one()
    )


def for_incident(
    session: Session, incident_id: uuid.UUID
) -> list[tuple[Notification, list[NotificationAttempt]]]:
    notifications = session.exec(
        select(Notification)
        .where(col(Notification.incident_id) == incident_id)
        .order_by(col(Notification.created_at))
    ).all()
    ids = [row.id for row in notifications]
    attempts: dict[uuid.UUID, list[NotificationAttempt]] = {i: [] for i in ids}
    if ids:
        for attempt in session.exec(
            select(NotificationAttempt)
            .where(col(NotificationAttempt.notification_id).in_(ids))
            .order_by(col(NotificationAttempt.id))
        ).all():
            attempts[attempt.notification_id].append(attempt)
    return [(row, attempts[row.id]) for row in notifications]
