"""Where notifications go: a channel interface and the channels a deployment can configure.

* `log`: writes the message to the service log (always there; the floor of every chain);
* `webhook`: a JSON POST signed with HMAC-SHA256 (`X-Shian-Signature: sha256=<hex>` over
  `<timestamp>.<body>`, with `X-Shian-Timestamp` so a receiver can refuse replays), retried with
  exponential backoff on network errors, 429 and 5xx;
* `sms`: an adapter for an SMS or instant-messaging provider's HTTP API: a URL, a bearer token
  and a message template (`string.Template` over $message, $target, $level, $incident).

A channel returns one `Attempt` per try; the caller records every one of them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from services.alerts.config import AlertsConfig

log = logging.getLogger("shian.alerts.notify")

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Message:
    notification_id: str
    target: str
    text: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Attempt:
    ok: bool
    duration_ms: float
    status_code: int | None = None
    error: str | None = None


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> list[Attempt]:
        """Deliver once (with the channel's own retries); one Attempt per try, in order."""
        ...


class LogChannel:
    name = "log"

    def send(self, message: Message) -> list[Attempt]:
        log.warning(
            "notify %s: %s", message.target, message.text, extra={"notification": message.notification_id}
        )
        return [Attempt(ok=True, duration_ms=0.0)]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook signature a receiver recomputes: HMAC-SHA256 of `<timestamp>.<body>`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class HttpChannel:
    """POSTs with retries and exponential backoff (base, 2x base, 4x base, ...)."""

    name = "http"

    def __init__(
        self,
        *,
        url: str,
        timeout: float,
        max_attempts: int,
        backoff_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.client = httpx.Client(timeout=timeout, transport=transport)

    def request(self, message: Message) -> tuple[bytes, dict[str, str]]:
        raise NotImplementedError

    def send(self, message: Message) -> list[Attempt]:
        attempts: list[Attempt] = []
        for number in range(self.max_attempts):
            if number:
                self.sleep(self.backoff_seconds * 2 ** (number - 1))
            body, headers = self.request(message)
            started = time.perf_counter()
            try:
                response = self.client.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as error:
                attempts.append(
                    Attempt(ok=False, duration_ms=_ms(started), error=f"{type(error).__name__}: {error}")
                )
                continue
            ok = 200 <= response.status_code < 300
            attempts.append(
                Attempt(
                    ok=ok,
                    duration_ms=_ms(started),
                    status_code=response.status_code,
                    error=None if ok else response.text[:300] or f"HTTP {response.status_code}",
                )
            )
            if ok or response.status_code not in RETRYABLE_STATUS:
                break
        return attempts

    def close(self) -> None:
        self.client.close()


class WebhookChannel(HttpChannel):
    name = "webhook"

    def __init__(self, *, secret: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.secret = secret

    def request(self, message: Message) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(
            {
                "notification_id": message.notification_id,
                "target": message.target,
                "text": message.text,
                **message.payload,
            },
            ensure_ascii=False,
            sort_keys=True,
            default=str,
        ).encode()
        timestamp = str(int(time.time()))
        return body, {
            "Content-Type": "application/json; charset=utf-8",
            "X-Shian-Delivery": message.notification_id,
            "X-Shian-Timestamp": timestamp,
            "X-Shian-Signature": sign(self.secret, timestamp, body),
        }


class SmsChannel(HttpChannel):
    """A provider adapter: `{"to": target, "text": rendered template, "reference": id}`."""

    name = "sms"

    def __init__(self, *, template: str, token: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.template = string.Template(template)
        self.token = token

    def request(self, message: Message) -> tuple[bytes, dict[str, str]]:
        text = self.template.safe_substitute(
            message=message.text,
            target=message.target,
            level=message.payload.get("level", ""),
            incident=message.payload.get("incident_id", ""),
        )
        to = message.target.split(":", 1)[-1]
        body = json.dumps(
            {"to": to, "text": text, "reference": message.notification_id}, ensure_ascii=False
        ).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return body, headers


def build_channels(
    config: AlertsConfig, *, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Channel]:
    """The channels this deployment configured; `log` is always there."""
    channels: dict[str, Channel] = {"log": LogChannel()}
    common = {
        "timeout": config.webhook_timeout_seconds,
        "max_attempts": config.webhook_max_attempts,
        "backoff_seconds": config.webhook_backoff_seconds,
        "sleep": sleep,
    }
    if config.webhook_url and config.webhook_secret:
        channels["webhook"] = WebhookChannel(url=config.webhook_url, secret=config.webhook_secret, **common)
    if config.sms_url:
        channels["sms"] = SmsChannel(
            url=config.sms_url, template=config.sms_template, token=config.sms_token, **common
        )
    return channels


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
