"""Notifications waiting for or done with delivery, and every delivery attempt."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import JSON, Column
from sqlmodel import Field as SQLField

from services.alerts.database import Base
from shared.db import UTCDateTime


class Notification(Base, table=True):
    """One message to one target on one channel. Written in the transaction that decided to notify
    (like an outbox row), delivered afterwards by the notification loop, so no HTTP call ever runs
    inside a database transaction and a crash never loses a message (it may repeat one: the
    notification id travels with it as the receiver's de-duplication key)."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_status_lease", "status", "lease_until"),
        sa.Index("ix_notifications_status_next", "status", "next_attempt_at"),
    )

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str | None = SQLField(default=None, max_length=40, index=True)
    incident_id: uuid.UUID | None = SQLField(default=None, index=True)
    alert_id: uuid.UUID | None = SQLField(default=None, index=True)
    step: int | None = None
    tier: str | None = SQLField(default=None, max_length=20)
    channel: str = SQLField(max_length=40)
    target: str = SQLField(max_length=120)
    text: str = SQLField(max_length=2000)
    payload: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    kind: str = SQLField(default="escalation", max_length=20)  # escalation | reminder | alert | undeliverable
    # pending | delivered | undeliverable (a permanent error) | cancelled (acknowledged, superseded,
    # resolved or past the retry window: `last_error` says which)
    status: str = SQLField(default="pending", max_length=14)
    attempts: int = 0
    rounds: int = 0  # delivery runs that tried it; the retry backoff doubles with each
    next_attempt_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    lease_until: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    finished_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    last_error: str | None = SQLField(default=None, max_length=1000)


class NotificationAttempt(Base, table=True):
    __tablename__ = "notification_attempts"

    id: int | None = SQLField(default=None, primary_key=True)
    notification_id: uuid.UUID = SQLField(foreign_key="notifications.id", index=True)
    number: int
    at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    channel: str = SQLField(max_length=40)
    ok: bool
    status_code: int | None = None
    error: str | None = SQLField(default=None, max_length=1000)
    duration_ms: float


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: float


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    incident_id: uuid.UUID | None
    alert_id: uuid.UUID | None
    step: int | None
    tier: str | None
    channel: str
    kind: str
    target: str
    text: str
    status: str
    attempts: int
    rounds: int
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
    last_error: str | None
    attempt_log: list[AttemptRead] = []


CHANNEL_KINDS = ("dingtalk", "wecom", "aliyun_sms", "tencent_sms", "webhook")
ROBOT_KINDS = frozenset({"dingtalk", "wecom"})
"""Group robots: one message per step to the group, mentioning the step's numbers."""
SMS_KINDS = frozenset({"aliyun_sms", "tencent_sms"})
"""Text messages: one per phone number among the step's targets."""


class ChannelSetup(Base, table=True):
    """A channel a county office configured: which robot or SMS account, and its credentials.
    `options` are shown back; `secrets` never are in full (see `views.mask`)."""

    __tablename__ = "notification_channels"
    audit_entity: ClassVar[str] = "notification_channel"

    county_id: str = SQLField(primary_key=True, max_length=40)
    name: str = SQLField(primary_key=True, max_length=40)
    kind: str = SQLField(max_length=20)
    options: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    secrets: dict[str, str] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1
    updated_by: str = SQLField(max_length=120)
    updated_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))

    @property
    def id(self) -> str:
        return f"{self.county_id}/{self.name}"

    @property
    def township_id(self) -> None:
        """A county's channel belongs to no township (the audit log asks)."""
        return None


# --- what a county office sends to configure a channel --------------------------------------------

Secret = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]
TemplateCode = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]
TemplateKind = Literal["escalation", "reminder", "alert", "undeliverable"]


class _Setup(BaseModel):
    """Secrets may be left out of a change: the stored ones are kept."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        default=None, max_length=300, description="The provider's endpoint; its documented one if none"
    )
    reply_secret: Secret | None = Field(
        default=None,
        description="SMS only: the secret path component of this channel's SMS reply callback URL",
    )

    SECRETS: ClassVar[tuple[str, ...]] = ()

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not (url.startswith("https://") or url.startswith("http://")):
            raise ValueError("an http(s) URL")
        return url


class DingTalkSetup(_Setup):
    kind: Literal["dingtalk"]
    access_token: Secret | None = Field(default=None, description="The robot webhook's access_token")
    secret: Secret | None = Field(default=None, description="The robot's 加签 secret (SEC...)")
    SECRETS: ClassVar[tuple[str, ...]] = ("access_token", "secret")


class WeComSetup(_Setup):
    kind: Literal["wecom"]
    key: Secret | None = Field(default=None, description="The robot webhook's key")
    SECRETS: ClassVar[tuple[str, ...]] = ("key",)


class AliyunSmsSetup(_Setup):
    kind: Literal["aliyun_sms"]
    access_key_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")
    access_key_secret: Secret | None = None
    sign_name: str = Field(min_length=2, max_length=20, description="The approved SMS sign (签名)")
    templates: dict[TemplateKind, TemplateCode] = Field(description="Template code per message kind")
    region: str = Field(default="cn-hangzhou", max_length=40, pattern=r"^[a-z0-9-]+$")
    SECRETS: ClassVar[tuple[str, ...]] = ("access_key_secret", "reply_secret")

    @field_validator("templates")
    @classmethod
    def _escalation_template(cls, templates: dict[str, str]) -> dict[str, str]:
        if "escalation" not in templates:
            raise ValueError("an escalation template at least (the others fall back to it)")
        return templates


class TencentSmsSetup(_Setup):
    kind: Literal["tencent_sms"]
    secret_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")
    secret_key: Secret | None = None
    sdk_app_id: str = Field(min_length=1, max_length=20, pattern=r"^[0-9]+$")
    sign_name: str = Field(min_length=2, max_length=20)
    templates: dict[TemplateKind, TemplateCode] = Field(description="Template id per message kind")
    region: str = Field(default="ap-guangzhou", max_length=40, pattern=r"^[a-z0-9-]+$")
    SECRETS: ClassVar[tuple[str, ...]] = ("secret_key", "reply_secret")

    _escalation_template = AliyunSmsSetup._escalation_template


class WebhookSetup(_Setup):
    kind: Literal["webhook"]
    url: str = Field(max_length=300)
    secret: Secret | None = Field(default=None, description="Signs each POST (X-Shian-Signature)")
    SECRETS: ClassVar[tuple[str, ...]] = ("secret",)


ChannelBody = Annotated[
    DingTalkSetup | WeComSetup | AliyunSmsSetup | TencentSmsSetup | WebhookSetup,
    Field(discriminator="kind"),
]
REQUIRED_SECRETS: dict[str, tuple[str, ...]] = {
    "dingtalk": ("access_token", "secret"),
    "wecom": ("key",),
    "aliyun_sms": ("access_key_secret",),
    "tencent_sms": ("secret_key",),
    "webhook": ("secret",),
}


class ChannelRead(BaseModel):
    county_id: str
    name: str
    kind: str
    options: dict[str, Any]
    secrets: dict[str, str] = Field(description="Each secret masked: its last 4 characters at most")
    version: int
    updated_by: str
    updated_at: datetime
