"""Signed, single-use, short-lived acknowledgement links.

A link is `<public URL>/ack/<incident>/<token>`: `<incident>` the first 8 hex digits of the
incident's id (as messages quote it), the token `<link id>.<mac>`: the id (48 random bits) names an
`ack_links` row (incident, step, recipient, expiry), the MAC is HMAC-SHA256 with the key from the
settings (`SHIAN_ALERTS_ACK_LINK_KEY`) over the id and those columns, cut to 96 bits. A token
whose row is missing, whose MAC does not match, or that is sent under another incident is refused
the same way (404); an expired one or a used one says so (410). Nothing in the database is enough
to forge a link, and a link cannot be edited into another incident's or step's.

The part after `/ack/` is 34 characters, within the 35 an SMS template variable may hold at
Alibaba Cloud: an SMS template carries the fixed `https://<host>/ack/` and the variable the rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from services.alerts.links.models import AckLink


@dataclass(frozen=True)
class LinkSettings:
    """Links are issued whatever the settings (an SMS reply acknowledges through its recipient's
    link); messages carry them when `base_url`, where phones reach the service, is known."""

    key: bytes
    base_url: str | None = None
    minutes: int = 240

    def path(self, link: AckLink) -> str:
        """The link after `<public URL>/ack/` (what an SMS template's variable holds)."""
        return f"{str(link.incident_id)[:REF]}/{token(self, link)}"

    def url(self, link: AckLink) -> str | None:
        if self.base_url is None:
            return None
        return f"{self.base_url.rstrip('/')}/ack/{self.path(link)}"


class LinkRefused(Exception):
    """Why a link does not acknowledge: said to the person holding the phone, in Chinese."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


REF = 8
INVALID = LinkRefused(404, "链接无效。请使用通知中的完整链接。")


def _mac(settings: LinkSettings, link: AckLink) -> str:
    signed = "|".join(
        (
            link.id,
            str(link.incident_id),
            str(link.step),
            link.recipient,
            str(int(link.expires_at.timestamp())),
        )
    )
    digest = hmac.new(settings.key, signed.encode(), hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token(settings: LinkSettings, link: AckLink) -> str:
    return f"{link.id}.{_mac(settings, link)}"


def issue(
    session: Session,
    settings: LinkSettings,
    *,
    incident_id: uuid.UUID,
    notification_id: uuid.UUID | None,
    step: int,
    recipient: str,
    channel: str,
    now: datetime,
) -> AckLink:
    """A new link, in the caller's transaction (the one that decided to notify)."""
    link = AckLink(
        id=secrets.token_urlsafe(6),
        incident_id=incident_id,
        notification_id=notification_id,
        step=step,
        recipient=recipient,
        channel=channel,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.minutes),
    )
    session.add(link)
    return link


def verify(session: Session, settings: LinkSettings, incident_ref: str, value: str, now: datetime) -> AckLink:
    """The link this token stands for, if it is genuine, this incident's, unexpired and unused."""
    link_id, dot, mac = value.partition(".")
    if not dot or len(link_id) > 24 or len(mac) > 32:
        raise INVALID
    link = session.get(AckLink, link_id)
    if (
        link is None
        or not hmac.compare_digest(mac, _mac(settings, link))
        or len(incident_ref) < REF
        or not str(link.incident_id).startswith(incident_ref.lower())
    ):
        raise INVALID
    if link.used_at is not None:
        raise LinkRefused(410, "此链接已使用过。每条链接只能确认一次。")
    if link.expires_at <= now:
        raise LinkRefused(410, "此链接已过期。请登录系统确认，或等待下一条通知。")
    return link
