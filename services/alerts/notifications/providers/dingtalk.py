"""DingTalk (钉钉) custom group robot: a markdown card, signed with the robot's secret.

The signature, as DingTalk documents it for "加签" robots: `sign = urlencode(base64(hmac_sha256(
secret, f"{timestamp}\\n{secret}")))`, with `timestamp` in milliseconds, both sent as query
parameters beside `access_token`; DingTalk refuses a timestamp more than an hour off its clock.
The answer is HTTP 200 with `{"errcode": 0, "errmsg": "ok"}`, or an error code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx

from services.alerts.notifications import render
from services.alerts.notifications.channels import HttpChannel, Message, Verdict

ENDPOINT = "https://oapi.dingtalk.com/robot/send"
PERMANENT = {
    310000: "签名、关键词或IP不符 (sign not match / keyword / ip)",
    300001: "access_token 不存在 (robot removed)",
    400102: "机器人已停用 (robot disabled)",
    430101: "含有不安全的外链",
}
"""Codes no retry will change: the robot is gone, or its secret, keyword or IP list refuses us."""


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's robot signature for this millisecond timestamp, URL-encoded as it is sent."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


class DingTalkRobot(HttpChannel):
    name = "dingtalk"

    def __init__(
        self,
        *,
        access_token: str,
        secret: str,
        url: str = ENDPOINT,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        **kwargs: Any,
    ) -> None:
        super().__init__(url=url, **kwargs)
        self.access_token = access_token
        self.secret = secret
        self.clock_ms = clock_ms

    def request(self, message: Message) -> tuple[bytes, dict[str, str]]:
        card = {
            "msgtype": "markdown",
            "markdown": {
                "title": render.title(message.kind, message.payload),
                "text": render.markdown(
                    message.kind, message.text, message.payload, link=message.link, mobiles=message.mobiles
                ),
            },
            "at": {"atMobiles": list(message.mobiles), "isAtAll": False},
        }
        body = json.dumps(card, ensure_ascii=False).encode()
        return body, {"Content-Type": "application/json; charset=utf-8"}

    def endpoint(self, message: Message) -> str:
        timestamp = self.clock_ms()
        # the sign is URL-encoded by DingTalk's recipe; the other values need no escaping
        token = urllib.parse.quote(self.access_token, safe="")
        return f"{self.url}?access_token={token}&timestamp={timestamp}&sign={sign(self.secret, timestamp)}"

    def interpret(self, response: httpx.Response) -> Verdict:
        if response.status_code != 200:
            return super().interpret(response)
        try:
            answer = response.json()
            code = int(answer.get("errcode", -1))
        except (ValueError, TypeError, AttributeError):
            return Verdict(ok=False, error=f"unreadable answer: {response.text[:200]}")
        if code == 0:
            return Verdict(ok=True)
        error = f"errcode {code}: {answer.get('errmsg', '')}"[:300]
        if code in PERMANENT:
            return Verdict(ok=False, retryable=False, error=f"{error} ({PERMANENT[code]})")
        return Verdict(ok=False, error=error)  # rate limited (410100, 130101), busy (-1): later
