"""WeCom (企业微信) group robot: a markdown message to the robot's webhook.

`POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY` with `{"msgtype": "markdown",
"markdown": {"content": ...}}`; the key in the URL is the robot's only credential. The answer is
`{"errcode": 0, "errmsg": "ok"}` or an error code: 93000 is an invalid key (the robot was removed).
WeCom's markdown mentions people by WeCom user id only (`<@userid>`), not by mobile number, so
the step's numbers are not mentioned here; they hear of it by SMS.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import httpx

from services.alerts.notifications import render
from services.alerts.notifications.channels import HttpChannel, Message, Verdict

ENDPOINT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
PERMANENT = {
    93000: "机器人 key 无效 (invalid webhook key: robot removed)",
    93008: "机器人不在群内 (robot not in the group)",
    40058: "消息内容不合规 (invalid content)",
    44004: "消息内容为空 (empty content)",
}
MAX_BYTES = 4096  # WeCom refuses markdown content longer than 4096 bytes (UTF-8)


class WeComRobot(HttpChannel):
    name = "wecom"

    def __init__(self, *, key: str, url: str = ENDPOINT, **kwargs: Any) -> None:
        super().__init__(url=url, **kwargs)
        self.key = key

    def request(self, message: Message) -> tuple[bytes, dict[str, str]]:
        content = render.markdown(message.kind, message.text, message.payload, link=message.link, mobiles=())
        content = content.encode()[:MAX_BYTES].decode(errors="ignore")
        body = json.dumps({"msgtype": "markdown", "markdown": {"content": content}}, ensure_ascii=False)
        return body.encode(), {"Content-Type": "application/json; charset=utf-8"}

    def endpoint(self, message: Message) -> str:
        return f"{self.url}?key={urllib.parse.quote(self.key, safe='')}"

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
        return Verdict(ok=False, error=error)  # 45009 too many messages, -1 busy: later
