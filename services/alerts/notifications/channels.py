"""Where notifications go: a channel interface and the channels a deployment can configure.

* `log`: writes the message to the service log (always there; the floor of every chain);
* `webhook`: a JSON POST signed with HMAC-SHA256 (`X-Shian-Signature: sha256=<hex>` over
  `<timestamp>.<body>`, with `X-Shian-Timestamp` so a receiver can refuse replays), retried with
  exponential backoff on network errors, 429 and 5xx;
* `sms`: an adapter for a generic SMS gateway's HTTP API: a URL, a bearer token and a message
  template (`string.Template` over $message, $target, $level, $incident, $link).

DingTalk, WeCom, Alibaba Cloud and Tencent Cloud SMS are in `providers/`; a county configures them
(`setup.py`). The webhook's JSON carries `ack_url`, the recipient's acknowledgement link, if any.

A channel returns one `Attempt` per try; the caller records every one of them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

log = logging.getLogger("shian.alerts.notify")

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Message:
    """One notification as a channel sends it. `kind` picks an SMS template (escalation, reminder,
    alert, undeliverable); `link` is the recipient's acknowledgement page, if any; `mobiles` are
    the step's phone numbers a group robot mentions."""

    notification_id: str
    target: str
    text: str
    payload: dict[str, Any] = field(default_factory=dict)
    kind: str = "escalation"
    link: str | None = None
    link_path: str | None = None  # the link after `/ack/`, for an SMS template that fixes the rest
    mobiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attempt:
    """One try. `permanent` marks an answer that no retry will change (a bad number, a removed
    robot, a refused signature): the notification is undeliverable and the township is told."""

    ok: bool
    duration_ms: float
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> list[Attempt]:
        """Deliver once (with the channel's own retries); one Attempt per try, in order."""
        ...


class LogChannel:
    name = "log"

    def send(self, message: Message) -> list[Attempt]:
        log.warning(
            "notify %s: %s",
            mask_phones(message.target),
            mask_phones(message.text),
            extra={"notification": message.notification_id},
        )
        return [Attempt(ok=True, duration_ms=0.0)]


_PHONE = re.compile(r"(?<!\d)(\+?86)?(1\d{2})(\d{4})(\d{4})(?!\d)")


def mask_phones(text: str) -> str:
    """Every mainland mobile number in a text masked as 138****0001 (log lines, recorded errors):
    enough for an office to tell its people apart, not enough to call them."""
    return _PHONE.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}****{m.group(4)}", text)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook signature a receiver recomputes: HMAC-SHA256 of `<timestamp>.<body>`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    retryable: bool = True
    error: str | None = None


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
        """The body and headers of one try (signed afresh for each, as timestamps move)."""
        raise NotImplementedError

    def endpoint(self, message: Message) -> str:
        """Where this try goes (a robot's signature travels in the query string)."""
        return self.url

    def interpret(self, response: httpx.Response) -> Verdict:
        """What the answer means; a provider that answers 200 with an error code overrides this."""
        if 200 <= response.status_code < 300:
            return Verdict(ok=True)
        return Verdict(
            ok=False,
            retryable=response.status_code in RETRYABLE_STATUS,
            error=response.text[:300] or f"HTTP {response.status_code}",
        )

    def send(self, message: Message) -> list[Attempt]:
        attempts: list[Attempt] = []
        for number in range(self.max_attempts):
            if number:
                self.sleep(self.backoff_seconds * 2 ** (number - 1))
            body, headers = self.request(message)
            url = self.endpoint(message)
            started = time.perf_counter()
            try:
                response = self.client.post(url, content=body, headers=headers)
            except httpx.HTTPError as error:
                attempts.append(
                    Attempt(ok=False, duration_ms=_ms(started), error=f"{type(error).__name__}: {error}")
                )
                continue
            verdict = self.interpret(response)
            attempts.append(
                Attempt(
                    ok=verdict.ok,
                    duration_ms=_ms(started),
                    status_code=response.status_code,
                    error=None
                    if verdict.ok
                    else mask_phones(verdict.error or f"HTTP {response.status_code}"),
                    permanent=not verdict.ok and not verdict.retryable,
                )
            )
            if verdict.ok or not verdict.retryable:
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
                **({"ack_url": message.link} if message.link else {}),
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
            link=message.link or "",
        )
        to = message.target.split(":", 1)[-1]
        body = json.dumps(
            {"to": to, "text": text, "reference": message.notification_id}, ensure_ascii=False
        ).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return body, headers


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
