"""The channels a county configures, each against a local fake of its provider's HTTP API that
checks the signature and the message as the provider documents them (tests/support/providers.py):
DingTalk and WeCom group robots, Alibaba Cloud and Tencent Cloud SMS. Content in Chinese with the
levels' Chinese labels, numbers masked in logs, secrets never shown back, a provider's permanent
error turned into an alert to the township office."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from services.alerts.notifications.channels import Message
from services.alerts.notifications.providers.dingtalk import DingTalkRobot
from tests.support.alerts import AlertsFactory
from tests.support.providers import (
    FakeAliyunSms,
    FakeDingTalk,
    FakeTencentSms,
    FakeWeCom,
    aliyun_body,
    configure,
    dingtalk_body,
    notifications,
    serving,
    tencent_body,
    wecom_body,
)


@pytest.fixture
def dingtalk() -> Iterator[FakeDingTalk]:
    with serving(FakeDingTalk(), "/robot/send") as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with serving(FakeWeCom(), "/cgi-bin/webhook/send") as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def aliyun() -> Iterator[FakeAliyunSms]:
    with serving(FakeAliyunSms(), "/") as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def tencent() -> Iterator[FakeTencentSms]:
    with serving(FakeTencentSms(), "/") as fake:
        yield fake  # type: ignore[misc]


def test_dingtalk_gets_a_signed_markdown_card_in_chinese_mentioning_the_step(
    make_alerts: AlertsFactory, dingtalk: FakeDingTalk
):
    alerts = make_alerts(webhook_backoff_seconds=0)
    configure(alerts, {"ds-dingtalk": dingtalk_body(dingtalk)})
    incident = alerts.report("dongshan", village_id=None, address="东山镇中心小学食堂", place_kind="school")
    assert alerts.deliver().delivered == 1
    assert dingtalk.refusals == []
    (message,) = dingtalk.received
    assert message["msgtype"] == "markdown"
    assert message["at"] == {"atMobiles": ["+8613800000001", "+8613900000002"], "isAtAll": False}
    title, text = message["markdown"]["title"], message["markdown"]["text"]
    assert title == "【食安】Ⅳ级（一般）食品安全事故通报"
    assert "**级别**：Ⅳ级（一般）" in text
    assert "**地点**：东山镇东山镇中心小学食堂（学校）" in text
    assert "**人数**：发病35人，住院0人，死亡0人" in text
    assert "**通知**：乡镇食安办（新上报）" in text
    assert "**请于03月02日11:00前确认**" in text  # two hours after 09:00 Beijing time
    assert re.search(
        r"\[点此确认收到\]\(http://127\.0\.0\.1:\d+/ack/" + incident["id"][:8] + r"/[\w-]{8}\.[\w-]{16}\)",
        text,
    )
    assert text.endswith("@+8613800000001 @+8613900000002")
    assert not re.search(r"(?<![Ⅳ\w])(I{1,3}|IV|below_IV)(?!\w)", title + text)  # labels, never codes
    (notification,) = notifications(alerts, incident)
    assert notification["target"] == "group:ds-dingtalk" and notification["kind"] == "escalation"
    assert notification["status"] == "delivered"


def test_dingtalk_refuses_a_wrong_secret_a_stale_timestamp_and_a_missing_keyword(dingtalk: FakeDingTalk):
    def robot(**options: Any) -> DingTalkRobot:
        settings = {"access_token": dingtalk.access_token, "secret": dingtalk.secret, **options}
        return DingTalkRobot(url=dingtalk.url, timeout=2, max_attempts=3, backoff_seconds=0, **settings)

    message = Message(notification_id="n1", target="group:g", text="[食安] 测试", kind="alert")
    (wrong,) = robot(secret="SEC-not-the-robots").send(message)
    assert not wrong.ok and wrong.permanent and "310000" in (wrong.error or "")
    two_hours_ago = robot(clock_ms=lambda: int((__import__("time").time() - 7200) * 1000))
    (stale,) = two_hours_ago.send(message)
    assert stale.permanent and dingtalk.refusals[-1] == "timestamp off by more than an hour"
    dingtalk.keyword = "食安"
    assert robot().send(message)[0].ok  # the keyword is in every card's title
    dingtalk.keyword = "不存在的关键词"
    assert robot().send(message)[0].permanent and dingtalk.refusals[-1] == "keyword"
    dingtalk.keyword = None
    dingtalk.script = [410100, 503]  # sent too fast, then a gateway error: both pass with time
    attempts = robot().send(message)
    assert [(a.ok, a.permanent) for a in attempts] == [(False, False), (False, False), (True, False)]


def test_wecom_gets_its_markdown_and_a_removed_robot_is_undeliverable_and_raises_an_alert(
    make_alerts: AlertsFactory, wecom: FakeWeCom
):
    alerts = make_alerts(webhook_backoff_seconds=0)
    configure(alerts, {"ds-wecom": wecom_body(wecom)})
    alerts.report("dongshan", village_id=None)
    assert alerts.deliver().delivered == 1
    (message,) = wecom.received
    assert set(message) == {"msgtype", "markdown"} and set(message["markdown"]) == {"content"}
    content = message["markdown"]["content"]
    assert content.startswith("### 【食安】Ⅳ级（一般）食品安全事故通报")
    assert "[点此确认收到](http://127.0.0.1:" in content

    wecom.removed = True  # the group removed its robot
    incident = alerts.report("xishui", village_id=None, township_id="qingyun.xishui")
    run = alerts.deliver()
    assert run.undeliverable == 1 and wecom.refusals == ["key"]
    (failed,) = notifications(alerts, incident)
    assert failed["status"] == "undeliverable" and "93000" in failed["last_error"]
    assert failed["next_attempt_at"] is None
    raised = alerts.as_("xishui", "GET", "/alerts").json()["items"]
    (alert,) = [a for a in raised if a["kind"] == "notification_undeliverable"]
    assert "企业微信群机器人「ds-wecom」无法送达" in alert["summary"] and "93000" in alert["summary"]
    (event,) = alerts.events("alert.raised")
    assert (
        event["payload"]["kind"] == "notification_undeliverable" and event["township_id"] == "qingyun.xishui"
    )
    assert alerts.as_("dongshan", "GET", "/alerts").json()["items"] == []  # the other township's
    # the alert reaches the office in the log, never again through the robot that failed
    alerts.deliver()
    assert len(wecom.requests) == 2


def test_aliyun_sms_is_signed_templated_per_kind_and_masks_numbers_in_logs(
    make_alerts: AlertsFactory, aliyun: FakeAliyunSms, caplog: pytest.LogCaptureFixture
):
    alerts = make_alerts(webhook_backoff_seconds=0)
    configure(alerts, {"ds-sms": aliyun_body(aliyun)}, also=("log",))
    caplog.set_level(logging.INFO)
    incident = alerts.report("dongshan", village_id=None)
    assert alerts.deliver().delivered == 5  # two numbers by SMS; the office and both in the log
    assert aliyun.refusals == []
    first, second = sorted(aliyun.received, key=lambda sent: sent["PhoneNumbers"])  # sent at once
    assert [first["PhoneNumbers"], second["PhoneNumbers"]] == ["13800000001", "13900000002"]
    assert first["TemplateCode"] == "SMS_400000001" and first["SignName"] == "青云县食安办"
    parameters = first["TemplateParam"]
    assert list(parameters) == ["level", "place", "ill", "deadline", "link"]
    assert parameters["level"] == "Ⅳ级（一般）" and parameters["ill"] == "35"
    assert parameters["deadline"] == "03月02日11:00"
    assert parameters["link"].startswith(incident["id"][:8] + "/") and len(parameters["link"]) <= 35
    assert first["OutId"] != second["OutId"]

    # below IV stays with the township, which is reminded with the reminder template; flow
    # control on the way is retried, not given up
    minor = alerts.report("dongshan", village_id=None, ill_count=5, place_kind="restaurant")
    aliyun.script = ["isv.BUSINESS_LIMIT_CONTROL"] * 8  # every try of this run, for both numbers
    alerts.deliver()
    limited = [
        n for n in notifications(alerts, minor) if n["channel"] == "ds-sms" and n["status"] == "pending"
    ]
    assert len(limited) == 2 and all(
        n["last_error"].startswith("isv.BUSINESS_LIMIT_CONTROL") for n in limited
    )
    alerts.advance(hours=2)
    assert alerts.tick().fired == {"deadline": 1, "reminder": 1}  # the first goes to the county
    alerts.deliver()
    reminders = [m for m in aliyun.received if m["TemplateCode"] == "SMS_400000002"]
    assert len(reminders) == 2 and reminders[0]["TemplateParam"]["level"] == "Ⅳ级以下"
    superseded = [n for n in notifications(alerts, minor) if n["status"] == "cancelled"]
    assert [(n["last_error"], n["attempts"]) for n in superseded] == [
        ("superseded by a newer notification", 4)
    ] * 2
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "138****0001" in logged or "139****0002" in logged
    for number in ("13800000001", "13900000002"):
        assert number not in logged
        assert number not in json.dumps([n["last_error"] for n in notifications(alerts, minor)])


def test_an_illegal_number_at_aliyun_is_undeliverable_and_the_township_is_told(
    make_alerts: AlertsFactory, aliyun: FakeAliyunSms
):
    alerts = make_alerts(webhook_backoff_seconds=0)
    configure(alerts, {"ds-sms": aliyun_body(aliyun)}, phones=("+8612345",))
    incident = alerts.report("dongshan", village_id=None)
    assert alerts.deliver().undeliverable == 1
    (notification,) = notifications(alerts, incident)
    assert notification["status"] == "undeliverable"
    assert notification["last_error"].startswith("isv.MOBILE_NUMBER_ILLEGAL")
    (alert,) = alerts.as_("dongshan", "GET", "/alerts").json()["items"]
    assert alert["kind"] == "notification_undeliverable" and "阿里云短信「ds-sms」" in alert["summary"]
    # the same number failing again counts on the open alert instead of raising another
    alerts.report("dongshan", village_id=None, place_kind="restaurant", address="另一家")
    alerts.deliver()
    (alert,) = alerts.as_("dongshan", "GET", "/alerts").json()["items"]
    assert alert["occurrences"] == 2


def test_tencent_sms_is_signed_with_tc3_and_its_parameters_are_positional(
    make_alerts: AlertsFactory, tencent: FakeTencentSms
):
    alerts = make_alerts(webhook_backoff_seconds=0)
    configure(alerts, {"ds-tencent": tencent_body(tencent)}, phones=("13800000001", "+8612"))
    incident = alerts.report("dongshan", village_id=None)
    run = alerts.deliver()
    assert (run.delivered, run.undeliverable) == (1, 1)
    assert tencent.refusals == ["InvalidParameterValue.IncorrectPhoneNumber"]
    (sent,) = tencent.received
    assert sent["PhoneNumberSet"] == ["+8613800000001"] and sent["TemplateId"] == "1000001"
    level, place, ill, deadline, link = sent["TemplateParamSet"]
    assert (level, place, ill, deadline) == ("Ⅳ级（一般）", "东山镇", "35", "03月02日11:00")
    assert link.startswith(incident["id"][:8] + "/") and len(link) == 34
    by_target = {n["target"]: n for n in notifications(alerts, incident)}
    assert by_target["phone:13800000001"]["status"] == "delivered"
    assert by_target["phone:+8612"]["status"] == "undeliverable"

    # a wrong secret key is refused by the fake's own TC3 check: undeliverable, not retried forever
    alerts.as_(
        "county",
        "PUT",
        "/notification-channels/ds-tencent",
        json={**tencent_body(tencent), "secret_key": "x" * 20},
    )
    alerts.report("xishui", village_id=None, township_id="qingyun.xishui")
    assert alerts.deliver().undeliverable >= 1
    assert "AuthFailure.SignatureFailure" in tencent.refusals


def test_channel_secrets_are_never_shown_back_and_only_the_county_configures(
    make_alerts: AlertsFactory, dingtalk: FakeDingTalk
):
    alerts = make_alerts(webhook_backoff_seconds=0)
    put = alerts.as_("county", "PUT", "/notification-channels/ds-dingtalk", json=dingtalk_body(dingtalk))
    assert put.status_code == 200
    for answer in (
        put.json(),
        alerts.as_("county", "GET", "/notification-channels/ds-dingtalk").json(),
        alerts.as_("county", "GET", "/notification-channels").json()[0],
    ):
        assert answer["secrets"] == {"access_token": "****oken", "secret": "****abcd"}
        assert dingtalk.secret not in json.dumps(answer) and dingtalk.access_token not in json.dumps(answer)
    # a change without the secrets keeps them: the robot still accepts our signature
    kept = alerts.as_(
        "county", "PUT", "/notification-channels/ds-dingtalk", json={"kind": "dingtalk", "url": dingtalk.url}
    )
    assert kept.status_code == 200 and kept.json()["version"] == 2
    audit = alerts.counts(("audit_log",))["audit_log"]
    assert audit >= 2
    for who in ("dongshan", "inspector", "shangcun", "ops"):
        assert alerts.as_(who, "GET", "/notification-channels").status_code == 403
        assert (
            alerts.as_(who, "PUT", "/notification-channels/x", json=dingtalk_body(dingtalk)).status_code
            == 403
        )
    refused = {
        "bad name": ("Has Space", dingtalk_body(dingtalk)),
        "builtin": ("log", dingtalk_body(dingtalk)),
        "no secret": ("fresh", {"kind": "dingtalk", "url": dingtalk.url}),
        "not http": ("fresh", dingtalk_body(dingtalk, url="ftp://robot")),
        "token in the URL": ("fresh", dingtalk_body(dingtalk, url=dingtalk.url + "?access_token=x")),
        "unknown kind": ("fresh", {"kind": "pager"}),
        "no template": ("fresh", {**aliyun_body(FakeAliyunSms()), "templates": {"alert": "SMS_1"}}),
    }
    for why, (name, body) in refused.items():
        answer = alerts.as_("county", "PUT", f"/notification-channels/{name}", json=body)
        assert answer.status_code == 422, (why, answer.text)
    changed_kind = alerts.as_(
        "county", "PUT", "/notification-channels/ds-dingtalk", json={"kind": "wecom", "key": "a-wecom-key"}
    )
    assert changed_kind.status_code == 409
    assert alerts.as_("county", "DELETE", "/notification-channels/ds-dingtalk").status_code == 204
    assert alerts.as_("county", "GET", "/notification-channels/ds-dingtalk").status_code == 404


@pytest.mark.parametrize("provider", ["dingtalk", "wecom", "aliyun_sms", "tencent_sms"])
def test_every_provider_retries_a_passing_failure_at_the_next_round_and_masks_numbers(
    make_alerts: AlertsFactory, provider: str, caplog: pytest.LogCaptureFixture
):
    fake, path, body = {
        "dingtalk": (FakeDingTalk(), "/robot/send", dingtalk_body),
        "wecom": (FakeWeCom(), "/cgi-bin/webhook/send", wecom_body),
        "aliyun_sms": (FakeAliyunSms(), "/", aliyun_body),
        "tencent_sms": (FakeTencentSms(), "/", tencent_body),
    }[provider]
    with serving(fake, path):
        alerts = make_alerts(webhook_backoff_seconds=0, webhook_max_attempts=2)
        configure(alerts, {"ch": body(fake)}, phones=("+8613800000001",))  # type: ignore[operator]
        caplog.set_level(logging.INFO)
        fake.script = [503, 502]  # both tries of the first round: the provider's gateway is down
        incident = alerts.report("dongshan", village_id=None)
        assert alerts.deliver().failed == 1 and fake.received == []
        (waiting,) = notifications(alerts, incident)
        assert waiting["status"] == "pending" and waiting["attempts"] == 2
        assert [a["status_code"] for a in waiting["attempt_log"]] == [503, 502]
        alerts.advance(seconds=30)
        assert alerts.deliver().delivered == 1 and len(fake.received) == 1
        (sent,) = notifications(alerts, incident)
        assert (sent["status"], sent["attempts"], sent["rounds"]) == ("delivered", 3, 2)
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert "13800000001" not in logged
        assert "retry at" in logged
