"""Settings of the alerts service only (SHIAN_ALERTS_* variables), and its clock.

The shared `Settings` hold what every service needs; these are the alerts service's own knobs:
how often the scheduler looks for due timers, and where notifications go.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.clock import SYSTEM_CLOCK, Clock
from shared.settings import Settings, weak_secret_reason


class OffsetClock:
    """The system clock moved by a fixed offset: a test and simulation aid, so that a test can run
    the service as a real process and put it hours ahead (a restart after a deadline) without
    waiting. Refused in production (see `AlertsConfig`)."""

    def __init__(self, offset: timedelta, base: Clock = SYSTEM_CLOCK) -> None:
        self.offset = offset
        self.base = base

    def now(self) -> datetime:
        return self.base.now() + self.offset


class AlertsConfig(BaseSettings):
    """The alerts service's settings, validated at start."""

    model_config = SettingsConfigDict(env_prefix="SHIAN_ALERTS_", extra="ignore", hide_input_in_errors=True)

    env: str = Field(default="development", validation_alias=AliasChoices("SHIAN_ENV", "env"))
    tick_seconds: float = Field(default=5.0, gt=0, le=60, description="Scheduler tick: checks due timers")
    notify_seconds: float = Field(default=1.0, gt=0, le=60, description="Notification delivery poll")
    notify_on_commit: bool = Field(
        default=True,
        description="Deliver at once after a commit that decided to notify, not only at the poll",
    )
    default_channels: list[str] = Field(default_factory=lambda: ["log"])

    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=4, ge=1, le=10)
    webhook_backoff_seconds: float = Field(default=0.5, ge=0)

    sms_url: str | None = None  # the provider's HTTP API
    sms_token: str | None = None  # sent as a bearer token
    sms_template: str = "[食安] $message"  # string.Template over $message, $target, $level, $incident, $link

    retry_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="First wait before a failed notification is tried again"
    )
    retry_max_seconds: float = Field(default=900.0, gt=0, le=86400, description="Longest wait between tries")
    alert_retry_hours: float = Field(
        default=24.0,
        gt=0,
        description="How long an alert's notification is retried (an incident's: until acknowledged)",
    )

    public_url: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="Where phones reach this service (or the web app in front of it); with it, every "
        "message that asks for an acknowledgement carries a link",
    )
    ack_link_key: str | None = Field(default=None, description="HMAC key of the acknowledgement links")
    ack_link_minutes: int = Field(default=240, ge=5, le=24 * 60, description="How long a link works")

    clock_offset_seconds: float | None = Field(
        default=None,
        validation_alias=AliasChoices("SHIAN_CLOCK_OFFSET_SECONDS", "clock_offset_seconds"),
        description="Test/simulation aid: run the service's clock this far from the system clock",
    )

    @model_validator(mode="after")
    def _no_shifted_clock_in_production(self) -> AlertsConfig:
        if self.env == "production" and self.clock_offset_seconds is not None:
            raise ValueError("SHIAN_CLOCK_OFFSET_SECONDS is a test aid and is refused in production")
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("SHIAN_ALERTS_WEBHOOK_SECRET is needed to sign webhook notifications")
        if self.env == "production" and self.public_url:
            if not self.public_url.startswith("https://"):
                raise ValueError("SHIAN_ALERTS_PUBLIC_URL must be https in production")
            reason = weak_secret_reason(self.ack_link_key) if self.ack_link_key else "is not set"
            if reason:
                raise ValueError(f"SHIAN_ALERTS_ACK_LINK_KEY {reason}")
        return self

    def longest_send(self) -> timedelta:
        """How long one notification's send may take at worst: every try timing out, with the
        backoff between them. A claim's lease outlasts it, so no replica sends a card twice."""
        tries = self.webhook_max_attempts
        waits = self.webhook_backoff_seconds * (2 ** (tries - 1) - 1)
        return timedelta(seconds=tries * self.webhook_timeout_seconds + waits)

    def link_key(self, settings: Settings) -> bytes:
        """The links' HMAC key: the configured one, else (development, test) one derived from the
        token signing key, so links work out of the box and survive a restart."""
        if self.ack_link_key:
            return self.ack_link_key.encode()
        return hmac.new(
            settings.signing_key().encode(), b"shian alerts acknowledgement links", hashlib.sha256
        ).digest()

    def clock(self) -> Clock:
        if self.clock_offset_seconds is None:
            return SYSTEM_CLOCK
        return OffsetClock(timedelta(seconds=self.clock_offset_seconds))
