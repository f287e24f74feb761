"""Raising alerts from other services' events: de-duplicated, grouped, and suppressed while an open
incident about the same business or banquet already explains them.

Suppression only ever applies to these alerts, never to an incident: an incident is the higher
level, so nothing it causes can silence it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.alerts.directory import service as directory
from services.alerts.escalation import service as escalation
from services.alerts.escalation.models import Step
from services.alerts.incidents.lifecycle import OPEN_STATUSES
from services.alerts.incidents.models import Incident
from services.alerts.notifications import service as notifications
from services.alerts.notifications.channels import mask_phones
from services.alerts.notifications.models import Notification
from services.alerts.notifications.setup import kinds_of
from services.alerts.signals.models import Alert, AlertGroup
from shared import changes
from shared.auth import Principal, Role, load_in_scope
from shared.catalogue.alerts import AlertKind, AlertRaised, AlertResolved
from shared.catalogue.inspection import ComplaintDeadlineMissed, InspectionCompleted, RectificationOverdue
from shared.catalogue.registry import (
    BanquetGuidanceDue,
    BanquetLate,
    CertificateExpired,
    LicenceExpired,
)
from shared.errors import Conflict
from shared.events import Envelope, EventPayload

SYSTEM_ACTOR = "system:alerts"


@dataclass(frozen=True)
class Raise:
    kind: AlertKind
    subject: str
    group_key: str
    summary: str
    business_id: uuid.UUID | None = None
    banquet_id: uuid.UUID | None = None
    village_id: str | None = None


def _explaining_incident(session: Session, county_id: str, wanted: Raise) -> Incident | None:
    conditions = []
    if wanted.business_id is not None:
        conditions.append(col(Incident.business_id) == wanted.business_id)
    if wanted.banquet_id is not None:
        conditions.append(col(Incident.banquet_id) == wanted.banquet_id)
    if not conditions:
        return None
    return session.exec(
        select(Incident)
        .where(
            col(Incident.county_id) == county_id,
            col(Incident.status).in_(OPEN_STATUSES),
            sa.or_(*conditions),
        )
        .order_by(col(Incident.reported_at))
    ).first()


def raise_alert(session: Session, envelope: Envelope, wanted: Raise) -> Alert:
    """Raise, or count a repeat of, an alert; in the inbox transaction of the causing event."""
    return _raise(
        session,
        county_id=envelope.county_id,
        township_id=envelope.township_id,
        wanted=wanted,
        now=envelope.occurred_at,
        source_id=envelope.event_id,
    )


def _raise(
    session: Session,
    *,
    county_id: str,
    township_id: str | None,
    wanted: Raise,
    now: datetime,
    source_id: uuid.UUID,
    channels: list[str] | None = None,
) -> Alert:
    existing = session.exec(
        select(Alert).where(
            Alert.county_id == county_id,
            Alert.kind == wanted.kind,
            Alert.subject == wanted.subject,
            col(Alert.status).in_(("open", "suppressed")),
        )
    ).first()
    if existing is not None:
        return _count_repeat(session, existing, source_id, now)
    if township_id is None and wanted.business_id is not None:
        known = directory.get(session, wanted.business_id)
        township_id = known.township_id if known else None
    incident = _explaining_incident(session, county_id, wanted)
    alert = Alert(
        county_id=county_id,
        township_id=township_id,
        village_id=wanted.village_id,
        kind=wanted.kind,
        subject=wanted.subject,
        group_key=wanted.group_key,
        business_id=wanted.business_id,
        banquet_id=wanted.banquet_id,
        summary=wanted.summary[:500],
        status="suppressed" if incident else "open",
        suppressed_by_incident=incident.id if incident else None,
        source_event_id=source_id,
        first_seen_at=now,
        last_seen_at=now,
    )
    session.add(alert)
    session.flush()
    changes.record(
        session,
        alert,
        actor=SYSTEM_ACTOR,
        action="alert.raised",
        detail={
            "kind": alert.kind,
            "subject": alert.subject,
            "status": alert.status,
            "source_event_id": str(source_id),
        },
        event=AlertRaised(
            alert_id=alert.id,
            kind=wanted.kind,
            subject=alert.subject,
            business_id=alert.business_id,
            summary=alert.summary,
            source_event_id=source_id,
            suppressed_by_incident=alert.suppressed_by_incident,
        ),
        occurred_at=now,
        correlation_id=source_id,
    )
    if incident is None:
        _notify(session, alert, now, channels=channels)
    return alert


def _count_repeat(session: Session, alert: Alert, source_id: uuid.UUID, now: datetime) -> Alert:
    """The same event again while the alert is open: counted, not raised anew."""
    alert.occurrences += 1
    alert.last_seen_at = max(alert.last_seen_at, now)
    session.add(alert)
    changes.record(
        session,
        alert,
        actor=SYSTEM_ACTOR,
        action="alert.repeated",
        detail={"source_event_id": str(source_id), "occurrences": alert.occurrences},
    )
    return alert


def _township_step(session: Session, county_id: str, township_id: str | None, now: datetime) -> Step | None:
    steps, _source, _policy = escalation.policy_for(
        session, county_id=county_id, township_id=township_id, now=now
    )
    return next((step for step in steps if step.tier == "township"), None)


def _notify(session: Session, alert: Alert, now: datetime, *, channels: list[str] | None = None) -> None:
    """Tell the township office (and the village coordinator, for a banquet), on the channels the
    township step of the chain in force names, else in the log; its phone numbers by SMS."""
    township_step = _township_step(session, alert.county_id, alert.township_id, now)
    if channels is None:
        channels = (township_step.channels if township_step else None) or ["log"]
    targets = [f"role:township_office@{alert.township_id or alert.county_id}"]
    if township_step is not None:
        targets += [t.ref for t in township_step.targets if t.ref.startswith("phone:")]
    if alert.village_id and alert.kind.startswith("banquet"):
        targets.append(f"role:village_coordinator@{alert.village_id}")
    notifications.enqueue(
        session,
        now=now,
        county_id=alert.county_id,
        township_id=alert.township_id,
        targets=targets,
        channels=channels,
        text=f"[食安] 预警 {alert.summary}",
        alert_id=alert.id,
        tier="township",
        kind="undeliverable" if alert.kind == "notification_undeliverable" else "alert",
        payload={"alert_id": str(alert.id), "kind": alert.kind, "subject": alert.subject},
    )


def suppress_for_incident(session: Session, incident: Incident, now: datetime) -> int:
    """An open incident about a business or banquet explains the open alerts about it."""
    conditions = []
    if incident.business_id is not None:
        conditions.append(col(Alert.business_id) == incident.business_id)
    if incident.banquet_id is not None:
        conditions.append(col(Alert.banquet_id) == incident.banquet_id)
    if not conditions:
        return 0
    alerts = session.exec(
        select(Alert).where(
            Alert.county_id == incident.county_id, Alert.status == "open", sa.or_(*conditions)
        )
    ).all()
    for alert in alerts:
        alert.status = "suppressed"
        alert.suppressed_by_incident = incident.id
        session.add(alert)
        changes.record(
            session,
            alert,
            actor=SYSTEM_ACTOR,
            action="alert.suppressed",
            detail={"incident_id": str(incident.id)},
        )
    return len(alerts)


def release_for_incident(session: Session, incident: Incident) -> int:
    """A closed incident no longer explains anything: what it suppressed is open again."""
    alerts = session.exec(
        select(Alert).where(Alert.suppressed_by_incident == incident.id, Alert.status == "suppressed")
    ).all()
    for alert in alerts:
        alert.status = "open"
        session.add(alert)
        changes.record(
            session,
            alert,
            actor=SYSTEM_ACTOR,
            action="alert.released",
            detail={"incident_id": str(incident.id)},
        )
    return len(alerts)


# --- the events that raise alerts -----------------------------------------------------------------


def _stop_order(p: InspectionCompleted) -> Raise | None:
    if p.action != "stop_operating":
        return None
    business = f"business:{p.business_id}"
    summary = f"检查不符合, 责令立即停止生产经营 ({p.inspected_on})"
    return Raise("stop_operating", f"inspection:{p.inspection_id}", business, summary, p.business_id)


def _overdue_order(p: RectificationOverdue) -> Raise:
    summary = f"限期整改逾期: {p.item_code} ({p.severity}), 期限 {p.deadline}"
    return Raise(
        "rectification_overdue", f"order:{p.order_id}", f"business:{p.business_id}", summary, p.business_id
    )


def _expired_certificate(p: CertificateExpired) -> Raise:
    summary = f"健康证过期: {p.staff_name} ({p.expires_on})"
    subject = f"certificate:{p.certificate_id}"
    return Raise("certificate_expired", subject, f"business:{p.business_id}", summary, p.business_id)


def _expired_licence(p: LicenceExpired) -> Raise:
    summary = f"许可证过期: {p.licence_kind} {p.number} ({p.expires_on})"
    subject = f"licence:{p.business_id}:{p.licence_kind}:{p.number}"
    return Raise("licence_expired", subject, f"business:{p.business_id}", summary, p.business_id)


def _late_banquet(p: BanquetLate) -> Raise:
    banquet = f"banquet:{p.banquet_id}"
    summary = f"宴席未按时备案: {p.host} {p.held_on} {p.people}人"
    return Raise("banquet_late", banquet, banquet, summary, banquet_id=p.banquet_id, village_id=p.village_id)


def _banquet_needing_guidance(p: BanquetGuidanceDue) -> Raise:
    banquet = f"banquet:{p.banquet_id}"
    summary = f"大型宴席需现场指导: {p.host} {p.held_on} {p.people}人"
    return Raise(
        "banquet_guidance_due", banquet, banquet, summary, banquet_id=p.banquet_id, village_id=p.village_id
    )


def _missed_complaint_deadline(p: ComplaintDeadlineMissed) -> Raise:
    summary = f"投诉举报处理超期 ({p.deadline_kind}, 应于 {p.due_on})"
    subject = f"complaint:{p.complaint_id}:{p.deadline_kind}"
    return Raise("complaint_deadline_missed", subject, f"complaint:{p.complaint_id}", summary, p.business_id)


RAISED_BY: dict[type[EventPayload], Callable[[Any], Raise | None]] = {
    InspectionCompleted: _stop_order,
    RectificationOverdue: _overdue_order,
    CertificateExpired: _expired_certificate,
    LicenceExpired: _expired_licence,
    BanquetLate: _late_banquet,
    BanquetGuidanceDue: _banquet_needing_guidance,
    ComplaintDeadlineMissed: _missed_complaint_deadline,
}
"""The events that raise an alert short of an incident, each with the alert it raises (or None)."""


def on_undeliverable(session: Session, notification: Notification, error: str, now: datetime) -> None:
    """A notification the provider will never deliver (a bad number, a removed robot): an alert to
    the township office, on the stream (`alert.raised`) and in `GET /alerts`, told on its other
    channels (never the one that failed) and in the log. One open alert per channel and recipient;
    a failure to deliver that alert's own notice raises nothing more."""
    if notification.kind == "undeliverable":
        return
    recipient = mask_phones(notification.target)
    kind = kinds_of(session, notification.county_id, [notification.channel]).get(notification.channel, "")
    what = f"{CHANNEL_NAMES.get(kind, '通知渠道')}「{notification.channel}」"
    summary = f"{what}无法送达{recipient}：{error}"
    county_id, township_id = notification.county_id, notification.township_id
    wanted = Raise(
        kind="notification_undeliverable",
        subject=f"notification:{notification.channel}:{recipient}"[:120],
        group_key=f"channel:{notification.channel}"[:120],
        summary=summary,
    )
    step = _township_step(session, county_id, township_id, now)
    others = [name for name in ((step.channels if step else None) or []) if name != notification.channel]
    _raise(
        session,
        county_id=county_id,
        township_id=township_id,
        wanted=wanted,
        now=now,
        source_id=notification.id,
        channels=["log", *[name for name in others if name != "log"]],
    )


CHANNEL_NAMES = {
    "dingtalk": "钉钉群机器人",
    "wecom": "企业微信群机器人",
    "aliyun_sms": "阿里云短信",
    "tencent_sms": "腾讯云短信",
    "webhook": "Webhook",
    "sms": "短信",
    "log": "日志",
}


def on_signal(session: Session, envelope: Envelope, payload: EventPayload) -> None:
    """Raise the alert an event of `RAISED_BY` calls for."""
    wanted = RAISED_BY[type(payload)](payload)
    if wanted is not None:
        raise_alert(session, envelope, wanted)


# --- reading and resolving ------------------------------------------------------------------------


def scope_condition(principal: Principal) -> sa.ColumnElement[bool]:
    return principal.scope(Alert)


def list_alerts(
    *,
    session: Session,
    principal: Principal,
    status: str | None,
    kind: str | None,
    group_key: str | None,
    offset: int,
    limit: int,
) -> tuple[list[Alert], int]:
    """The latest seen first; one page of them, and how many there are in all."""
    conditions = [scope_condition(principal)]
    if status:
        conditions.append(col(Alert.status) == status)
    if kind:
        conditions.append(col(Alert.kind) == kind)
    if group_key:
        conditions.append(col(Alert.group_key) == group_key)
    total = session.exec(select(sa.func.count()).select_from(Alert).where(*conditions)).one()
    query = (
        select(Alert).where(*conditions).order_by(col(Alert.last_seen_at).desc()).offset(offset).limit(limit)
    )
    return list(session.exec(query).all()), int(total)


def groups(*, session: Session, principal: Principal) -> list[AlertGroup]:
    """Open alerts grouped by what they are about (a business, a banquet, a complaint)."""
    rows = session.execute(
        sa.select(
            col(Alert.group_key),
            col(Alert.township_id),
            col(Alert.kind),
            col(Alert.occurrences),
            col(Alert.last_seen_at),
        ).where(scope_condition(principal), col(Alert.status) == "open")
    ).all()
    grouped: dict[tuple[str, str | None], AlertGroup] = {}
    for key, township, kind, occurrences, last_seen in rows:
        group = grouped.setdefault(
            (key, township),
            AlertGroup(
                group_key=key, township_id=township, alerts=0, occurrences=0, kinds=[], last_seen_at=last_seen
            ),
        )
        group.alerts += 1
        group.occurrences += occurrences
        group.kinds = sorted({*group.kinds, kind})
        group.last_seen_at = max(group.last_seen_at, last_seen)
    return sorted(grouped.values(), key=lambda group: (-group.alerts, group.group_key))


def resolve(
    *, session: Session, principal: Principal, alert_id: uuid.UUID, note: str | None, now: datetime
) -> Alert:
    principal.ensure_role(Role.county, Role.township)
    alert = load_in_scope(session, principal, Alert, alert_id)
    if alert.status == "resolved":
        raise Conflict("status", "the alert is already resolved")
    alert.status = "resolved"
    alert.resolved_at = now
    alert.resolved_by = principal.actor
    session.add(alert)
    changes.record(
        session,
        alert,
        actor=principal.actor,
        action="alert.resolved",
        detail={"note": note},
        event=AlertResolved(
            alert_id=alert.id,
            kind=alert.kind,
            subject=alert.subject,
            note=note,
            occurrences=alert.occurrences,
        ),
        occurred_at=now,
    )
    session.commit()
    return alert
