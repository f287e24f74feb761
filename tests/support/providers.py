"""Local fakes of the notification providers' HTTP APIs: real HTTP servers on 127.0.0.1 that check
each request the way the provider documents it and answer the way the provider does.

Each fake recomputes the signature with its own code written from the provider's documentation
(not the service's), so a request signed wrongly is refused here as the provider would refuse it:

* DingTalk robot: `access_token`, `timestamp` (ms, within an hour) and `sign` =
  urlencode(base64(hmac_sha256(secret, f"{timestamp}\\n{secret}"))) in the query; a markdown body;
  `errcode` 310000 for a bad signature, 300001 for an unknown token (a removed robot).
* WeCom robot: `key` in the query (93000 when unknown); `{"msgtype": "markdown", "markdown":
  {"content": ...}}` of at most 4096 bytes.
* Alibaba Cloud SMS: the RPC signature (HMAC-SHA1 over the sorted, RFC 3986-encoded parameters),
  a timestamp within 15 minutes, a nonce never seen before; `isv.MOBILE_NUMBER_ILLEGAL` for a
  number that is not a mainland mobile.
* Tencent Cloud SMS: TC3-HMAC-SHA256 over the canonical request of the signed headers, a
  timestamp within 5 minutes; `InvalidParameterValue.IncorrectPhoneNumber` per bad number.

`script` queues answers to give instead (an HTTP status, or a provider error code), to test
retries and permanent failures; `received` keeps every accepted message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tests.support.county import COUNTY

if TYPE_CHECKING:
    from tests.support.alerts import Alerts

MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Fake:
    """A provider: `handle` answers one request with (HTTP status, JSON answer)."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)  # accepted messages
    requests: list[Request] = field(default_factory=list)  # everything that came
    script: list[Any] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # why a request was refused (for asserts)
    seen: threading.Event = field(default_factory=threading.Event)

    def handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def refuse(self, why: str) -> None:
        self.refusals.append(why)


@contextmanager
def serving(fake: Fake, path: str) -> Iterator[Fake]:
    """Serve a fake on a free port of 127.0.0.1 until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            split = urllib.parse.urlsplit(self.path)
            request = Request(
                path=split.path,
                query={
                    k: v[0] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()
                },
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(int(self.headers.get("Content-Length") or 0)),
            )
            fake.requests.append(request)
            status, answer = fake.handle(request)
            body = json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            fake.seen.set()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _scripted(fake: Fake) -> Any:
    return fake.script.pop(0) if fake.script else None


# --- DingTalk --------------------------------------------------------------------------------------


@dataclass
class FakeDingTalk(Fake):
    access_token: str = "ding-robot-token"
    secret: str = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
    keyword: str | None = None  # a robot's security keyword, if it has one
    removed: bool = False
    arrivals: list[float] = field(default_factory=list)  # perf_counter at each accepted message

    def handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        scripted = _scripted(self)
        if isinstance(scripted, int) and scripted >= 400:
            return scripted, {}
        if self.removed or request.query.get("access_token") != self.access_token:
            self.refuse("token")
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        try:
            timestamp = int(request.query["timestamp"])
        except (KeyError, ValueError):
            self.refuse("timestamp missing")
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        if abs(time.time() * 1000 - timestamp) > 3600 * 1000:
            self.refuse("timestamp off by more than an hour")
            return 200, {"errcode": 310000, "errmsg": "sign not match, timestamp is invalid"}
        mac = hmac.new(self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256).digest()
        # parse_qs decoded the query once: what is left is the base64 text DingTalk computes
        if request.query.get("sign") != base64.b64encode(mac).decode():
            self.refuse("sign")
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        message = json.loads(request.body)
        markdown = message.get("markdown") or {}
        if (
            message.get("msgtype") != "markdown"
            or not isinstance(markdown.get("title"), str)
            or not isinstance(markdown.get("text"), str)
            or not isinstance((message.get("at") or {}).get("atMobiles", []), list)
        ):
            self.refuse("shape")
            return 200, {"errcode": 40035, "errmsg": "缺少参数 json"}
        if self.keyword is not None and self.keyword not in markdown["text"] + markdown["title"]:
            self.refuse("keyword")
            return 200, {"errcode": 310000, "errmsg": "keywords not in content"}
        if isinstance(scripted, int):  # an error code the robot gives (rate limit 410100, ...)
            return 200, {"errcode": scripted, "errmsg": "scripted"}
        self.arrivals.append(time.perf_counter())
        self.received.append(message)
        return 200, {"errcode": 0, "errmsg": "ok"}


# --- WeCom -----------------------------------------------------------------------------------------


@dataclass
class FakeWeCom(Fake):
    key: str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    removed: bool = False

    def handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        scripted = _scripted(self)
        if isinstance(scripted, int) and scripted >= 400:
            return scripted, {}
        if self.removed or request.query.get("key") != self.key:
            self.refuse("key")
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        message = json.loads(request.body)
        content = (message.get("markdown") or {}).get("content")
        if message.get("msgtype") != "markdown" or not isinstance(content, str) or not content:
            self.refuse("shape")
            return 200, {"errcode": 44004, "errmsg": "empty content"}
        if len(content.encode()) > 4096:
            self.refuse("too long")
            return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        if isinstance(scripted, int):
            return 200, {"errcode": scripted, "errmsg": "scripted"}
        self.received.append(message)
        return 200, {"errcode": 0, "errmsg": "ok"}


# --- Alibaba Cloud SMS -----------------------------------------------------------------------------


def _rfc3986(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


@dataclass
class FakeAliyunSms(Fake):
    access_key_id: str = "LTAI5tFakeKeyId0001"
    access_key_secret: str = "fake-aliyun-secret-0123456789abcdef"
    sign_name: str = "青云县食安办"
    templates: tuple[str, ...] = ("SMS_400000001", "SMS_400000002", "SMS_400000003", "SMS_400000004")
    nonces: set[str] = field(default_factory=set)

    def handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        scripted = _scripted(self)
        if isinstance(scripted, int):
            return scripted, {}
        form = {
            k: v[0] for k, v in urllib.parse.parse_qs(request.body.decode(), keep_blank_values=True).items()
        }
        request_id = str(uuid.uuid4())
        given = form.pop("Signature", "")
        canonical = "&".join(f"{_rfc3986(k)}={_rfc3986(form[k])}" for k in sorted(form))
        string_to_sign = "POST&%2F&" + _rfc3986(canonical)
        expected = base64.b64encode(
            hmac.new(f"{self.access_key_secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
        ).decode()
        if form.get("AccessKeyId") != self.access_key_id:
            self.refuse("key id")
            return 404, {
                "Code": "InvalidAccessKeyId.NotFound",
                "Message": "Specified access key is not found.",
            }
        if given != expected:
            self.refuse("signature")
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched."}
        fixed = {
            "Action": "SendSms",
            "Version": "2017-05-25",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "Format": "JSON",
        }
        if any(form.get(k) != v for k, v in fixed.items()):
            self.refuse("parameters")
            return 400, {"Code": "InvalidParameter", "Message": "bad common parameters"}
        stamp = datetime.strptime(form.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs((datetime.now(UTC) - stamp).total_seconds()) > 900:
            self.refuse("timestamp")
            return 400, {"Code": "InvalidTimeStamp.Expired", "Message": "timestamp expired"}
        nonce = form.get("SignatureNonce", "")
        if not nonce or nonce in self.nonces:
            self.refuse("nonce")
            return 400, {"Code": "SignatureNonceUsed", "Message": "nonce used"}
        self.nonces.add(nonce)
        if form.get("SignName") != self.sign_name or form.get("TemplateCode") not in self.templates:
            self.refuse("template")
            return 200, {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "模板不合法", "RequestId": request_id}
        try:
            parameters = json.loads(form.get("TemplateParam", ""))
        except ValueError:
            parameters = None
        if not isinstance(parameters, dict) or any(len(str(v)) > 35 for v in parameters.values()):
            self.refuse("template parameters")
            return 200, {
                "Code": "isv.INVALID_JSON_PARAM",
                "Message": "JSON参数不合法",
                "RequestId": request_id,
            }
        if not MAINLAND_MOBILE.match(form.get("PhoneNumbers", "")):
            self.refuse("number")
            return 200, {
                "Code": "isv.MOBILE_NUMBER_ILLEGAL",
                "Message": "非法手机号",
                "RequestId": request_id,
            }
        if isinstance(scripted, str):
            return 200, {"Code": scripted, "Message": "scripted", "RequestId": request_id}
        self.received.append({**form, "TemplateParam": parameters})
        return 200, {"Code": "OK", "Message": "OK", "BizId": uuid.uuid4().hex[:20], "RequestId": request_id}


# --- Tencent Cloud SMS -----------------------------------------------------------------------------


@dataclass
class FakeTencentSms(Fake):
    secret_id: str = "AKIDfakeTencentSecretId0001"
    secret_key: str = "fake-tencent-secret-key-0123456789"
    sdk_app_id: str = "1400000001"
    sign_name: str = "青云县食安办"
    templates: tuple[str, ...] = ("1000001", "1000002", "1000003", "1000004")

    def handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        scripted = _scripted(self)
        if isinstance(scripted, int):
            return scripted, {}
        request_id = str(uuid.uuid4())

        def error(code: str, message: str) -> tuple[int, dict[str, Any]]:
            self.refuse(code)
            return 200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}

        match = re.fullmatch(
            r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/sms/tc3_request, "
            r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
            request.headers.get("authorization", ""),
        )
        if match is None:
            return error("AuthFailure.InvalidAuthorization", "Authorization is invalid")
        secret_id, date, signed_headers, signature = match.groups()
        if secret_id != self.secret_id:
            return error("AuthFailure.SecretIdNotFound", "SecretId not found")
        timestamp = int(request.headers.get("x-tc-timestamp", "0"))
        if abs(time.time() - timestamp) > 300:
            return error("AuthFailure.SignatureExpire", "signature expired")
        if date != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d"):
            return error("AuthFailure.SignatureFailure", "credential date is not the timestamp's")
        names = signed_headers.split(";")
        if not {"content-type", "host"} <= set(names):
            return error("AuthFailure.SignatureFailure", "content-type and host must be signed")
        canonical_headers = "".join(
            f"{name}:{request.headers.get(name, '').strip().lower()}\n" for name in names
        )
        canonical = "\n".join(
            ["POST", "/", "", canonical_headers, signed_headers, hashlib.sha256(request.body).hexdigest()]
        )
        string_to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                str(timestamp),
                f"{date}/sms/tc3_request",
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )

        def sign(key: bytes, text: str) -> bytes:
            return hmac.new(key, text.encode(), hashlib.sha256).digest()

        key = sign(sign(sign(("TC3" + self.secret_key).encode(), date), "sms"), "tc3_request")
        if hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest() != signature:
            return error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        if (
            request.headers.get("x-tc-action") != "SendSms"
            or request.headers.get("x-tc-version") != "2021-01-11"
        ):
            return error("InvalidAction", "action or version")
        body = json.loads(request.body)
        if body.get("SmsSdkAppId") != self.sdk_app_id:
            return error("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verify fail")
        if body.get("SignName") != self.sign_name or body.get("TemplateId") not in self.templates:
            return error("FailedOperation.TemplateIncorrectOrUnapproved", "template unapproved")
        parameters = body.get("TemplateParamSet")
        if not isinstance(parameters, list) or not all(isinstance(p, str) for p in parameters):
            return error("InvalidParameterValue.TemplateParameterFormatError", "TemplateParamSet")
        statuses = []
        for number in body.get("PhoneNumberSet") or []:
            good = number.startswith("+86") and MAINLAND_MOBILE.match(number[3:])
            code = scripted if isinstance(scripted, str) and good else "Ok" if good else None
            code = code or "InvalidParameterValue.IncorrectPhoneNumber"
            if code != "Ok":
                self.refuse(code)
            statuses.append(
                {
                    "SerialNo": uuid.uuid4().hex,
                    "PhoneNumber": number,
                    "Fee": 1,
                    "Code": code,
                    "Message": "send success" if code == "Ok" else "scripted or bad number",
                    "SessionContext": body.get("SessionContext", ""),
                    "IsoCode": "CN",
                }
            )
        if statuses and all(s["Code"] == "Ok" for s in statuses):
            self.received.append(body)
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}


# --- a county that uses them ----------------------------------------------------------------------

PHONES = ("+8613800000001", "+8613900000002")


def dingtalk_body(fake: FakeDingTalk, **changes: Any) -> dict[str, Any]:
    return {
        "kind": "dingtalk",
        "url": fake.url,
        "access_token": fake.access_token,
        "secret": fake.secret,
        **changes,
    }


def wecom_body(fake: FakeWeCom) -> dict[str, Any]:
    return {"kind": "wecom", "url": fake.url, "key": fake.key}


def aliyun_body(fake: FakeAliyunSms) -> dict[str, Any]:
    return {
        "kind": "aliyun_sms",
        "url": fake.url,
        "access_key_id": fake.access_key_id,
        "access_key_secret": fake.access_key_secret,
        "sign_name": fake.sign_name,
        "templates": dict(
            zip(("escalation", "reminder", "alert", "undeliverable"), fake.templates, strict=True)
        ),
        "reply_secret": "reply-path-secret-0001",
    }


def tencent_body(fake: FakeTencentSms) -> dict[str, Any]:
    return {
        "kind": "tencent_sms",
        "url": fake.url,
        "secret_id": fake.secret_id,
        "secret_key": fake.secret_key,
        "sdk_app_id": fake.sdk_app_id,
        "sign_name": fake.sign_name,
        "templates": dict(
            zip(("escalation", "reminder", "alert", "undeliverable"), fake.templates, strict=True)
        ),
        "reply_secret": "reply-path-secret-0002",
    }


def configure(
    alerts: Alerts,
    channels: dict[str, dict[str, Any]],
    *,
    phones: tuple[str, ...] = PHONES,
    also: tuple[str, ...] = (),
) -> None:
    """The county's channels, and a chain whose township step uses them and names `phones`."""
    for name, body in channels.items():
        answer = alerts.as_("county", "PUT", f"/notification-channels/{name}", json=body)
        assert answer.status_code == 200, answer.text
    policy = {
        "steps": [
            {
                "name": "乡镇食安办",
                "tier": "township",
                "targets": [{"ref": "role:township_office"}, *({"ref": f"phone:{p}"} for p in phones)],
                "channels": [*channels, *also],
            },
            {"name": "县食安办", "tier": "county", "targets": [{"ref": "role:county_office"}]},
        ]
    }
    assert alerts.as_("county", "PUT", f"/escalation/policies/{COUNTY}", json=policy).status_code == 200


def notifications(alerts: Alerts, incident: dict[str, Any]) -> list[dict[str, Any]]:
    return alerts.as_("county", "GET", f"/incidents/{incident['id']}/notifications").json()
