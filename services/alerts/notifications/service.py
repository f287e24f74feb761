"""Queueing notifications in the deciding transaction, and delivering them afterwards until they
are delivered, found undeliverable, or no longer needed.

Delivery does not give up on a failure that may pass (a network error, a 5xx, a provider's rate
limit): the notification stays `pending` with `next_attempt_at` set by a doubling backoff, in the
database, so a restart or another replica takes it up at that time (claimed with a lease, as the
escalation timers are claimed). Retries stop when the incident's step is acknowledged, when a
newer notification to the same recipient on the same channel supersedes it, when the incident is
closed, or (for an alert's notification) when the alert is resolved or its retry window passes.
A provider's permanent answer (a bad number, a removed robot) makes it `undeliverable`, and the
township office hears of that as an alert.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.alerts.incidents.models import Incident
from services.alerts.links import tokens as links
from services.alerts.links.models import AckLink
from services.alerts.metrics import AlertsMetrics
from services.alerts.notifications.channels import Attempt, Message, mask_phones
from services.alerts.notifications.models import ROBOT_KINDS, SMS_KINDS, Notification, NotificationAttempt
from services.alerts.notifications.setup import ChannelBook, kinds_of
from services.alerts.signals.models import Alert
from shared.clock import Clock, to_local
from shared.db import Database, claim

log = logging.getLogger("shian.alerts.notify")

LEASE = timedelta(minutes=2)
"""A claimed notification not finished by then (its process died) is taken up again; longer when
the channels' settings allow a longer send (`Delivery.lease`)."""
ASKS_ACKNOWLEDGEMENT = frozenset({"escalation", "reminder"})


def phones(targets: Sequence[str]) -> list[str]:
    return [target for target in targets if target.startswith("phone:")]


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
    kind: str = "escalation",
    link_settings: links.LinkSettings | None = None,
) -> int:
    """The notifications of one decision, in the caller's transaction: for a group robot one to
    the group (mentioning the targets' numbers), for SMS one per phone number among the targets,
    for the others one per target. Each that asks for an acknowledgement gets its own link."""
    kinds = kinds_of(session, county_id, channels)
    numbers = [target.split(":", 1)[1] for target in phones(targets)]
    rows: list[Notification] = []
    for channel in channels:
        channel_kind = kinds.get(channel)
        if channel_kind in ROBOT_KINDS:
            recipients, extra = [f"group:{channel}"], {"mobiles": numbers}
        elif channel_kind in SMS_KINDS:
            recipients, extra = phones(targets), {}
        else:
            recipients, extra = list(targets), {}
        rows.extend(
            Notification(
                county_id=county_id,
                township_id=township_id,
                incident_id=incident_id,
                alert_id=alert_id,
                step=step,
                tier=tier,
                channel=channel,
                kind=kind,
                target=target,
                text=text[:2000],
                payload={**payload, **extra},
                created_at=now,
            )
            for target in recipients
        )
    session.add_all(rows)
    if link_settings is not None and incident_id is not None and kind in ASKS_ACKNOWLEDGEMENT:
        for row in rows:
            links.issue(
                session,
                link_settings,
                incident_id=incident_id,
                notification_id=row.id,
                step=step or 0,
                recipient=row.target,
                channel=row.channel,
                now=now,
            )
    return len(rows)


Undeliverable = Callable[[Session, Notification, str, datetime], None]


@dataclass
class Delivery:
    """What the delivery loop needs: the channels, the links, the retry schedule, and what to do
    when a notification cannot be delivered at all (raise an alert: see signals.service)."""

    book: ChannelBook
    links: links.LinkSettings | None = None
    metrics: AlertsMetrics | None = None
    retry_seconds: float = 30.0
    retry_max_seconds: float = 900.0
    alert_retry_window: timedelta = timedelta(hours=24)
    on_undeliverable: Undeliverable | None = None
    lease: timedelta = LEASE

    def backoff(self, rounds: int) -> timedelta:
        """After the n-th failed run: base, 2 x base, 4 x base, ... up to the cap."""
        return timedelta(seconds=min(self.retry_seconds * 2 ** max(rounds - 1, 0), self.retry_max_seconds))


@dataclass
class DeliveryRun:
    delivered: int = 0
    failed: int = 0  # tried and not delivered this run (retried later, or undeliverable)
    undeliverable: int = 0
    cancelled: int = 0


@dataclass(frozen=True)
class _Claimed:
    notification: Notification
    message: Message | None  # None: the channel is not configured
    channel: Any


def _why_stop(session: Session, row: Notification, delivery: Delivery, now: datetime) -> str | None:
    """Whether sending is no longer wanted, and why (None: send it). Checked before the first try
    too: a notice that waited out an outage must not ask to acknowledge what is acknowledged."""
    if row.incident_id is not None:
        incident = session.get(Incident, row.incident_id)
        if incident is None or incident.status == "closed":
            return "incident closed"
        if (
            not incident.awaiting_ack
            and incident.acknowledged_at is not None
            and incident.acknowledged_at >= row.created_at
        ):
            return f"acknowledged by {incident.acknowledged_by}"
        newer = session.exec(
            select(Notification.id).where(
                col(Notification.incident_id) == row.incident_id,
                col(Notification.channel) == row.channel,
                col(Notification.target) == row.target,
                col(Notification.created_at) > row.created_at,
            )
        ).first()
        if newer is not None:
            return "superseded by a newer notification"
    elif row.alert_id is not None:
        alert = session.get(Alert, row.alert_id)
        if alert is None or alert.status != "open":
            return "alert no longer open"
        if row.rounds and now - row.created_at > delivery.alert_retry_window:
            return "retry window passed"
    return None


def _link_for(
    session: Session, delivery: Delivery, row: Notification, now: datetime
) -> tuple[str | None, str | None]:
    """The recipient's acknowledgement link (URL, and the part after `/ack/`); one that expired
    while the notification was retried is extended."""
    if delivery.links is None or row.kind not in ASKS_ACKNOWLEDGEMENT:
        return None, None
    link = session.exec(select(AckLink).where(col(AckLink.notification_id) == row.id)).first()
    if link is None or link.used_at is not None:
        return None, None
    if link.expires_at <= now:
        link.expires_at = now + timedelta(minutes=delivery.links.minutes)
        session.add(link)
    return delivery.links.url(link), delivery.links.path(link)


BATCH = 16
"""Notifications claimed and sent at once per run (each in a thread of its own); a full batch is
followed by the next at once."""


def deliver_pending(db: Database, delivery: Delivery, clock: Clock, limit: int = BATCH) -> DeliveryRun:
    """Deliver what is due: claim a batch with a lease, send outside any transaction, then record
    every attempt and the outcome. Two replicas never send the same claimed notification."""
    run = DeliveryRun()
    now = clock.now()
    free = (
        col(Notification.status) == "pending",
        sa.or_(col(Notification.lease_until).is_(None), col(Notification.lease_until) < now),
        sa.or_(col(Notification.next_attempt_at).is_(None), col(Notification.next_attempt_at) <= now),
    )
    batch: list[_Claimed] = []
    with db.session() as session:
        candidates = session.exec(
            select(Notification.id)
            .where(*free)
            .order_by(sa.func.coalesce(col(Notification.next_attempt_at), col(Notification.created_at)))
            .limit(limit)
        ).all()
        for notification_id in candidates:
            if not claim(session, Notification, notification_id, *free, lease_until=now + delivery.lease):
                continue
            row = session.get(Notification, notification_id)
            assert row is not None
            stop = _why_stop(session, row, delivery, now)
            if stop is not None:
                row.status, row.last_error, row.finished_at, row.lease_until = "cancelled", stop, now, None
                session.add(row)
                run.cancelled += 1
                if delivery.metrics is not None:
                    delivery.metrics.notifications.labels(row.channel, "cancelled").inc()
                continue
            channel = delivery.book.get(session, row.county_id, row.channel)
            url, path = _link_for(session, delivery, row, now)
            message = Message(
                notification_id=str(row.id),
                target=row.target,
                text=row.text,
                payload=row.payload,
                kind=row.kind,
                link=url,
                link_path=path,
                mobiles=tuple(row.payload.get("mobiles") or ()),
            )
            batch.append(_Claimed(row, message, channel))

    def send(claimed: _Claimed) -> str:
        row, channel = claimed.notification, claimed.channel
        if channel is None:
            attempts = [
                Attempt(
                    ok=False,
                    duration_ms=0.0,
                    error=f"channel {row.channel!r} is not configured",
                    permanent=True,
                )
            ]
        else:
            try:
                assert claimed.message is not None
                attempts = channel.send(claimed.message)
            except Exception as error:  # a channel bug must not stop the loop; it is recorded
                attempts = [Attempt(ok=False, duration_ms=0.0, error=f"{type(error).__name__}: {error}")]
        return _finish(db, delivery, row, attempts, clock.now())

    # at once, so a dead robot's timeouts do not hold the SMS behind it; the batch is no larger
    # than the pool, so a run lasts one send's worst case, well inside the lease
    if len(batch) > 1:
        with ThreadPoolExecutor(max_workers=len(batch), thread_name_prefix="notify") as pool:
            outcomes = list(pool.map(send, batch))
    else:
        outcomes = [send(claimed) for claimed in batch]
    for outcome in outcomes:
        if outcome == "delivered":
            run.delivered += 1
        else:
            run.failed += 1
            run.undeliverable += outcome == "undeliverable"
    return run


def _finish(
    db: Database, delivery: Delivery, notification: Notification, attempts: list[Attempt], now: datetime
) -> str:
    """Write down every attempt and the outcome, in a transaction of its own after the sending,
    which ran outside any transaction; returns the notification's status."""
    metrics = delivery.metrics
    delivered = any(attempt.ok for attempt in attempts)
    permanent = not delivered and bool(attempts) and attempts[-1].permanent
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
                    error=mask_phones(attempt.error or "")[:1000] or None,
                    duration_ms=attempt.duration_ms,
                )
            )
            if metrics is not None:
                metrics.notification_attempts.labels(row.channel, "ok" if attempt.ok else "error").inc()
        row.rounds += 1
        row.lease_until = None
        error = mask_phones((attempts[-1].error or "") if attempts else "no attempt")[:1000]
        if delivered:
            row.status, row.finished_at, row.last_error, row.next_attempt_at = "delivered", now, None, None
        elif permanent:
            row.status, row.finished_at, row.last_error, row.next_attempt_at = (
                "undeliverable",
                now,
                error,
                None,
            )
            if delivery.on_undeliverable is not None:
                delivery.on_undeliverable(session, row, error, now)
        else:
            row.last_error = error
            row.next_attempt_at = now + delivery.backoff(row.rounds)
        session.add(row)
        status = row.status
    if not delivered:
        retry = row.next_attempt_at
        outcome = f"retry at {to_local(retry):%H:%M:%S}" if retry and not permanent else status
        log.warning(
            "notification %s on %s to %s: %s (%s)",
            row.id,
            row.channel,
            mask_phones(row.target),
            outcome,
            error,
        )
    if metrics is not None:
        metrics.notifications.labels(row.channel, status if status != "pending" else "retrying").inc()
    return status


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
