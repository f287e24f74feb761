"""Acknowledging from a phone: through a message's link, or by answering an SMS with `1`.

Both run the same checks as an acknowledgement over the API, in one transaction with the incident
row locked: the incident awaits an acknowledgement (else 409), the link's recipient is a target of
the step the escalation has reached or of one above it (else 403), and the link is used once (a
conditional UPDATE of `used_at`, so two taps at once acknowledge once). The timeline and the audit
line say who (the recipient, its number masked) and through which channel.
"""

from __future__ import annotations

import hmac
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from services.alerts.escalation import service as escalation
from services.alerts.incidents import commands, lifecycle
from services.alerts.incidents.models import Incident
from services.alerts.links import tokens
from services.alerts.links.models import AckLink
from services.alerts.links.tokens import LinkRefused, LinkSettings
from services.alerts.notifications import render
from services.alerts.notifications.channels import mask_phones
from services.alerts.notifications.models import SMS_KINDS, ChannelSetup
from shared.clock import to_local
from shared.db import claim
from shared.errors import Conflict

log = logging.getLogger("shian.alerts.links")

YES = frozenset({"1", "１"})  # a half-width or a full-width one, as phones' keyboards send it


@dataclass(frozen=True)
class LinkView:
    """What the page shows before the confirm button."""

    link: AckLink
    incident: Incident
    title: str
    lines: list[str]
    refusal: LinkRefused | None  # the link is genuine but cannot acknowledge (done, or escalated past)


def _incident(session: Session, incident_id: uuid.UUID, *, for_update: bool) -> Incident:
    query = select(Incident).where(col(Incident.id) == incident_id)
    if for_update:
        query = query.with_for_update()
    incident = session.exec(query).first()
    if incident is None:
        raise tokens.INVALID
    return incident


def _refusal(incident: Incident, link: AckLink) -> LinkRefused | None:
    try:
        lifecycle.check_acknowledgement(incident)
    except Conflict:
        who = mask_phones(incident.acknowledged_by or "")
        if incident.status == "closed":
            return LinkRefused(409, "此事故已结案，无需确认。")
        return LinkRefused(409, f"此事故已由 {who} 确认，无需重复确认。")
    tier = escalation.step_tier(incident, link.step)
    if not escalation.may_acknowledge(incident, tier=tier, person=link.recipient):
        step = escalation.current_step(incident)
        reached = step.name if step else "上级"
        return LinkRefused(403, f"事故已上报至{reached}，此链接不能再确认。请联系{reached}。")
    return None


def view(session: Session, settings: LinkSettings, incident_ref: str, token: str, now: datetime) -> LinkView:
    """Read a link without using it: chat apps fetch a link's page to preview it, so GET must never
    acknowledge."""
    link = tokens.verify(session, settings, incident_ref, token, now)
    incident = _incident(session, link.incident_id, for_update=False)
    payload = {"level": incident.level}
    where = escalation.place_label(session, incident)
    lines = [
        f"级别：{render.level_label(payload)}",
        f"地点：{where}（{render.PLACE_KINDS.get(incident.place_kind, '其他场所')}）",
        f"人数：发病{incident.ill_count}人，住院{incident.hospitalised_count}人，死亡{incident.death_count}人",
        f"上报时间：{to_local(incident.reported_at):%m月%d日%H:%M}",
        f"通知对象：{mask_phones(link.recipient)}",
    ]
    return LinkView(link, incident, render.title("escalation", payload), lines, _refusal(incident, link))


def acknowledge(
    session: Session,
    settings: LinkSettings,
    incident_ref: str,
    token: str,
    now: datetime,
    escalator: escalation.Escalator,
    *,
    via: str = "link",
) -> Incident:
    link = tokens.verify(session, settings, incident_ref, token, now)
    return _acknowledge(session, link, now, escalator, via=via)


def _acknowledge(
    session: Session, link: AckLink, now: datetime, escalator: escalation.Escalator, *, via: str
) -> Incident:
    incident = _incident(session, link.incident_id, for_update=True)
    refusal = _refusal(incident, link)
    if refusal is not None:
        raise refusal
    if not claim(session, AckLink, link.id, col(AckLink.used_at).is_(None), used_at=now, used_via=via):
        raise LinkRefused(410, "此链接已使用过。每条链接只能确认一次。")
    commands.acknowledge_as(
        session,
        incident,
        actor=mask_phones(link.recipient),
        now=now,
        note=None,
        via=via,
        channel=link.channel,
        escalator=escalator,
    )
    return incident


# --- SMS replies ----------------------------------------------------------------------------------


def reply_channel(session: Session, county_id: str, channel: str, secret: str) -> ChannelSetup:
    """The SMS channel a reply callback names, if the secret path component is its own (404 else:
    the same for a wrong secret as for a channel that does not exist)."""
    setup = session.get(ChannelSetup, (county_id, channel))
    expected = setup.secrets.get("reply_secret") if setup is not None and setup.kind in SMS_KINDS else None
    if setup is None or not expected or not hmac.compare_digest(expected.encode(), secret.encode()):
        raise tokens.INVALID
    return setup


def _mainland(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def on_reply(
    session: Session,
    setup: ChannelSetup,
    *,
    mobile: str,
    text: str,
    now: datetime,
    escalator: escalation.Escalator,
) -> str:
    """One SMS answer: `1` acknowledges the newest open link sent to that number by this county;
    returns what happened (for the log; the provider is always told the reply was received)."""
    number = _mainland(mobile)
    masked = mask_phones(number)
    if text.strip() not in YES:
        log.info("SMS reply from %s ignored: not 1", masked)
        return "ignored"
    link = session.exec(
        select(AckLink)
        .join(Incident, col(Incident.id) == col(AckLink.incident_id))
        .where(
            col(Incident.county_id) == setup.county_id,
            col(AckLink.recipient).in_([f"phone:{number}", f"phone:+86{number}"]),
            col(AckLink.used_at).is_(None),
            col(AckLink.expires_at) > now,
            col(Incident.awaiting_ack).is_(True),
        )
        .order_by(col(AckLink.created_at).desc())
    ).first()
    if link is None:
        log.info("SMS reply 1 from %s: no open link for that number", masked)
        return "no_link"
    try:
        _acknowledge(session, link, now, escalator, via="sms_reply")
    except LinkRefused as refused:
        log.info("SMS reply 1 from %s refused: %s", masked, refused.message)
        return f"refused:{refused.status}"
    return "acknowledged"
