"""Tencent Cloud SMS (腾讯云短信): `SendSms` of sms.tencentcloudapi.com, API 2021-01-11, signed with
TC3-HMAC-SHA256 as Tencent Cloud documents it (签名方法 v3):

    CanonicalRequest = "POST\\n/\\n\\n" + "content-type:application/json; charset=utf-8\\n"
                       + "host:<host>\\n" + "x-tc-action:sendsms\\n" + "\\n"
                       + "content-type;host;x-tc-action\\n" + hex(sha256(body))
    StringToSign     = "TC3-HMAC-SHA256\\n" + timestamp + "\\n" + f"{date}/sms/tc3_request\\n"
                       + hex(sha256(CanonicalRequest))
    key              = hmac(hmac(hmac("TC3" + SecretKey, date), "sms"), "tc3_request")
    Authorization    = "TC3-HMAC-SHA256 Credential=<SecretId>/<date>/sms/tc3_request, "
                       "SignedHeaders=content-type;host;x-tc-action, "
                       "Signature=" + hex(hmac(key, StringToSign))

with `date` the UTC date of the timestamp. The answer's `Response.SendStatusSet[].Code` is `Ok` per
number, or `Response.Error.Code` for the whole request. Template variables are positional.
The official SDK (tencentcloud-sdk-python-sms with -common) installs cleanly; this is the request
it makes, on the service's httpx client, so each try is timed, retried and recorded like every
other channel's and the provider's codes are read in one place.
"""

from __future__ import annotations

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

ENDPOINT = "https://sms.tencentcloudapi.com/"
SERVICE = "sms"
VERSION = "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host;x-tc-action"
PERMANENT_PREFIXES = (
    "InvalidParameterValue.IncorrectPhoneNumber",
    "FailedOperation.PhoneNumberInBlacklist",
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "FailedOperation.MissingTemplateToModify",
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
    "InvalidParameterValue.TemplateParameterFormatError",
    "AuthFailure.SecretIdNotFound",
    "AuthFailure.SignatureFailure",
    "AuthFailure.InvalidSecretId",
)
"""Codes no retry will change (a bad or blacklisted number, an unapproved template or sign, wrong
credentials). Limits (LimitExceeded.*) and an empty package pass with time and are retried."""


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def authorization(
    *, secret_id: str, secret_key: str, host: str, action: str, body: bytes, timestamp: int
) -> str:
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    canonical = (
        f"POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\nx-tc-action:{action.lower()}\n\n"
        f"{SIGNED_HEADERS}\n{hashlib.sha256(body).hexdigest()}"
    )
    scope = f"{date}/{SERVICE}/tc3_request"
    string_to_sign = (
        f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), SERVICE), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, "
        f"Signature={signature}"
    )


def to_e164(target: str) -> str:
    """`phone:13800000001` or `phone:+8613800000001` -> `+8613800000001`."""
    number = target.split(":", 1)[-1]
    return number if number.startswith("+") else f"+86{number}"


class TencentSms(HttpChannel):
    name = "tencent_sms"

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        templates: dict[str, str],
        region: str = "ap-guangzhou",
        url: str = ENDPOINT,
        clock: Callable[[], float] = time.time,
        **kwargs: Any,
    ) -> None:
        super().__init__(url=url, **kwargs)
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.templates = templates
        self.region = region
        self.clock = clock
        self.host = urllib.parse.urlsplit(url).netloc

    def request(self, message: Message) -> tuple[bytes, dict[str, str]]:
        values = render.sms_parameters(message.kind, message.text, message.payload, link=message.link_path)
        body = json.dumps(
            {
                "PhoneNumberSet": [to_e164(message.target)],
                "SmsSdkAppId": self.sdk_app_id,
                "SignName": self.sign_name,
                "TemplateId": self.templates.get(message.kind) or self.templates["escalation"],
                "TemplateParamSet": list(values.values()),
                "SessionContext": message.notification_id,
            },
            ensure_ascii=False,
        ).encode()
        timestamp = int(self.clock())
        return body, {
            "Authorization": authorization(
                secret_id=self.secret_id,
                secret_key=self.secret_key,
                host=self.host,
                action="SendSms",
                body=body,
                timestamp=timestamp,
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": self.host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": VERSION,
            "X-TC-Region": self.region,
        }

    def interpret(self, response: httpx.Response) -> Verdict:
        try:
            answer = response.json()["Response"]
        except (ValueError, KeyError, TypeError):
            return (
                super().interpret(response)
                if response.status_code != 200
                else Verdict(ok=False, error=f"unreadable answer: {response.text[:200]}")
            )
        error = answer.get("Error")
        if error:
            code = str(error.get("Code", ""))
        else:
            statuses = answer.get("SendStatusSet") or [{}]
            code = str(statuses[0].get("Code", ""))
            error = statuses[0]
            if code == "Ok":
                return Verdict(ok=True)
        text = f"{code}: {error.get('Message', '')}"[:300]
        return Verdict(ok=False, retryable=not code.startswith(PERMANENT_PREFIXES), error=text)
