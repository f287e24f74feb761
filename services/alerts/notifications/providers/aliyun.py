"""Alibaba Cloud SMS (阿里云短信服务): `SendSms` of dysmsapi 2017-05-25, RPC style, signed with
HMAC-SHA1 as Alibaba Cloud documents its RPC signature (signature version 1.0):

1. every parameter but `Signature`, sorted by name, each name and value percent-encoded per RFC
   3986 (upper-case hex; `~` kept; space `%20`, `*` `%2A`), joined `name=value` with `&`;
2. `StringToSign = "POST&" + percent("/") + "&" + percent(that query)`;
3. `Signature = base64(hmac_sha1(AccessKeySecret + "&", StringToSign))`.

The parameters go as a form body. The answer is `{"Code": "OK", ...}` or an error code; the
template (`TemplateCode`, one per message kind) was approved with the sign (`SignName`) beforehand.
The official SDK (alibabacloud_dysmsapi20170525 4.6) installs, with sixteen more packages (the Tea
runtime, aiohttp, APScheduler, websocket-client ...) for this one call; this is the same request,
with the same signature, on the service's httpx client, so each try is timed, retried and recorded
like every other channel's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from services.alerts.notifications import render
from services.alerts.notifications.channels import HttpChannel, Message, Verdict

ENDPOINT = "https://dysmsapi.aliyuncs.com/"
PERMANENT = {
    "isv.MOBILE_NUMBER_ILLEGAL": "手机号码格式错误 (bad number)",
    "isv.MOBILE_COUNT_OVER_LIMIT": "手机号码数量超过限制",
    "isv.SMS_TEMPLATE_ILLEGAL": "模板不合法 (template not approved)",
    "isv.SMS_SIGNATURE_ILLEGAL": "签名不合法 (sign name not approved)",
    "isv.TEMPLATE_MISSING_PARAMETERS": "模板缺少变量",
    "isv.INVALID_PARAMETERS": "参数异常",
    "isv.OUT_OF_SERVICE": "业务停机",
    "isv.ACCOUNT_NOT_EXISTS": "账户不存在",
    "InvalidAccessKeyId.NotFound": "AccessKeyId 不存在",
    "SignatureDoesNotMatch": "签名不匹配",
}
"""Codes no retry will change. Flow control (isv.BUSINESS_LIMIT_CONTROL, isv.DAY_LIMIT_CONTROL) and
an empty balance (isv.AMOUNT_NOT_ENOUGH) pass with time: those are retried."""


def percent(value: str) -> str:
    return urllib.parse.quote(value, safe="~")


def signature(secret: str, parameters: dict[str, str], method: str = "POST") -> str:
    query = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(parameters.items()))
    string_to_sign = f"{method}&{percent('/')}&{percent(query)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def to_mainland(target: str) -> str:
    """`phone:+8613800000001` -> `13800000001` (Alibaba Cloud's mainland numbers carry no +86)."""
    number = target.split(":", 1)[-1]
    return number.removeprefix("+86").removeprefix("0086")


class AliyunSms(HttpChannel):
    name = "aliyun_sms"

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        templates: dict[str, str],
        region: str = "cn-hangzhou",
        url: str = ENDPOINT,
        clock: Callable[[], float] = time.time,
        **kwargs: Any,
    ) -> None:
        super().__init__(url=url, **kwargs)
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.templates = templates
        self.region = region
        self.clock = clock

    def parameters(self, message: Message) -> dict[str, str]:
        template = self.templates.get(message.kind) or self.templates["escalation"]
        values = render.sms_parameters(message.kind, message.text, message.payload, link=message.link_path)
        parameters = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": message.notification_id,
            "PhoneNumbers": to_mainland(message.target),
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": template,
            "TemplateParam": json.dumps(values, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock())),
            "Version": "2017-05-25",
        }
        parameters["Signature"] = signature(self.access_key_secret, parameters)
        return parameters

    def request(self, message: Message) -> tuple[bytes, dict[str, str]]:
        body = urllib.parse.urlencode(self.parameters(message), quote_via=urllib.parse.quote)
        return body.encode(), {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}

    def interpret(self, response: httpx.Response) -> Verdict:
        try:
            answer = response.json()
            code = str(answer.get("Code", ""))
        except (ValueError, AttributeError):
            return (
                super().interpret(response)
                if response.status_code != 200
                else Verdict(ok=False, error=f"unreadable answer: {response.text[:200]}")
            )
        if response.status_code == 200 and code == "OK":
            return Verdict(ok=True)
        error = f"{code or response.status_code}: {answer.get('Message', '')}"[:300]
        if code in PERMANENT:
            return Verdict(ok=False, retryable=False, error=f"{error} ({PERMANENT[code]})")
        return Verdict(ok=False, error=error)
