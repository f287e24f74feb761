"""Acknowledging from a phone: the signed, single-use, short-lived link every message carries (valid
once, expired, tampered, another incident's), SMS replies through the providers' callbacks, and who
may acknowledge at all (a target of the current step or someone above it; others 403)."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlmodel import col, select

from services.alerts.links.models import AckLink
from tests.support.alerts import Alerts, AlertsFactory
from tests.support.county import COUNTY, XISHUI
from tests.support.providers import (
    FakeAliyunSms,
    FakeDingTalk,
    FakeTencentSms,
    aliyun_body,
    configure,
    dingtalk_body,
    serving,
    tencent_body,
)


@pytest.fixture
def dingtalk():  # type: ignore[no-untyped-def]
    with serving(FakeDingTalk(), "/robot/send") as fake:
        yield fake


def links(alerts: Alerts, incident: dict[str, Any]) -> dict[str, str]:
    """Each recipient's link path (`/ack/<incident>/<token>`), as its message carries it."""
    settings = alerts.context.links
    assert settings is not None
    with alerts.runtime.db.read_session() as session:
        rows = session.exec(
            select(AckLink)
            .where(col(AckLink.incident_id) == uuid.UUID(incident["id"]))
            .order_by(col(AckLink.created_at))
        ).all()
        return {row.recipient: f"/ack/{settings.path(row)}" for row in rows}


def state(alerts: Alerts, incident: dict[str, Any]) -> dict[str, Any]:
    return alerts.as_("county", "GET", f"/incidents/{incident['id']}").json()


def timeline(alerts: Alerts, incident: dict[str, Any]) -> list[dict[str, Any]]:
    return alerts.as_("county", "GET", f"/incidents/{incident['id']}/timeline").json()


def test_the_link_in_a_dingtalk_card_shows_a_chinese_page_and_acknowledges_once(
    make_alerts: AlertsFactory, dingtalk: FakeDingTalk
):
    alerts = make_alerts()
    configure(alerts, {"ds-dingtalk": dingtalk_body(dingtalk)})
    incident = alerts.report("dongshan", village_id=None, address="<script>alert(1)</script>")
    alerts.deliver()
    url = re.search(r"\(http://127\.0\.0\.1:\d+(/ack/[^)]+)\)", dingtalk.received[0]["markdown"]["text"])
    assert url is not None
    path = url.group(1)

    page = alerts.client.get(path)  # no bearer token: the link is the credential
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for shown in (
        "【食安】Ⅳ级（一般）食品安全事故通报",
        "发病35人",
        "东山镇",
        '<form method="post">',
        "确认收到",
    ):
        assert shown in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert state(alerts, incident)["awaiting_ack"] is True  # a GET (a chat app's preview) never acknowledges

    confirmed = alerts.client.post(path)
    assert confirmed.status_code == 200 and "已确认收到" in confirmed.text
    current = state(alerts, incident)
    assert current["status"] == "acknowledged" and current["acknowledged_by"] == "group:ds-dingtalk"
    entry = next(e for e in timeline(alerts, incident) if e["kind"] == "acknowledged")
    assert entry["actor"] == "group:ds-dingtalk"
    assert entry["detail"]["via"] == "link" and entry["detail"]["channel"] == "ds-dingtalk"
    (event,) = alerts.events("alert.acknowledged", incident["id"])
    assert event["payload"]["acknowledged_by"] == "group:ds-dingtalk"

    again = alerts.client.post(path)
    assert again.status_code == 410 and "已使用" in again.text
    assert alerts.client.get(path).status_code == 410
    alerts.advance(minutes=119)  # past the deadline, within the progress window
    assert alerts.tick().total == 0  # acknowledged: the county is not told


def test_a_link_expires(alerts: Alerts):
    incident = alerts.report("dongshan", village_id=None)
    path = links(alerts, incident)["role:township_office@qingyun.dongshan"]
    alerts.advance(minutes=240)  # SHIAN_ALERTS_ACK_LINK_MINUTES
    for answer in (alerts.client.get(path), alerts.client.post(path)):
        assert answer.status_code == 410 and "已过期" in answer.text
    assert state(alerts, incident)["awaiting_ack"] is True


def test_a_tampered_link_and_another_incidents_are_refused_alike(alerts: Alerts):
    mine = alerts.report("dongshan", village_id=None)
    other = alerts.report("xishui", village_id=None, township_id=XISHUI)
    path = links(alerts, mine)["role:township_office@qingyun.dongshan"]
    theirs = links(alerts, other)[f"role:township_office@{XISHUI}"]
    _, _, ref, token = path.split("/")
    _, _, other_ref, other_token = theirs.split("/")
    link_id, mac = token.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    forged = {
        "MAC changed": f"/ack/{ref}/{link_id}.{flipped}",
        "another link's MAC": f"/ack/{ref}/{link_id}.{other_token.split('.')[1]}",
        "another link's id": f"/ack/{ref}/{other_token.split('.')[0]}.{mac}",
        "under another incident": f"/ack/{other_ref}/{token}",
        "another incident's link here": f"/ack/{ref}/{other_token}",
        "no MAC": f"/ack/{ref}/{link_id}",
        "unknown id": f"/ack/{ref}/AAAAAAAA.{mac}",
        "the full id of another incident": f"/ack/{other['id']}/{token}",
    }
    for why, forgery in forged.items():
        for method in ("GET", "POST"):
            answer = alerts.client.request(method, forgery)
            assert answer.status_code == 404, (why, method, answer.text)
            assert "链接无效" in answer.text
    for hostile in (f"/ack/{ref}/{'A' * 500}", f"/ack/{ref[:7]}/{token}", f"/ack/{ref}/a%00b.c", "/ack/x/y"):
        assert alerts.client.post(hostile).status_code in (404, 422), hostile
    assert state(alerts, mine)["awaiting_ack"] and state(alerts, other)["awaiting_ack"]
    assert alerts.events("alert.acknowledged") == []
    # the genuine one still works, with the full incident id as well as its first 8 digits
    assert alerts.client.post(f"/ack/{mine['id']}/{token}").status_code == 200


def test_a_link_of_a_step_the_escalation_has_passed_is_refused_403_and_the_county_link_works(alerts: Alerts):
    incident = alerts.report("dongshan", village_id=None)
    township_link = links(alerts, incident)["role:township_office@qingyun.dongshan"]
    alerts.advance(hours=2)
    assert alerts.tick().fired == {"deadline": 1}
    refused = alerts.client.post(township_link)
    assert refused.status_code == 403 and "县食安办" in refused.text
    assert alerts.client.get(township_link).status_code == 403  # the page says so before any tap
    assert state(alerts, incident)["awaiting_ack"] is True
    county_link = links(alerts, incident)[f"role:county_office@{COUNTY}"]
    assert alerts.client.post(county_link).status_code == 200
    assert state(alerts, incident)["acknowledged_by"] == f"role:county_office@{COUNTY}"


def test_two_taps_at_once_acknowledge_once(alerts: Alerts):
    incident = alerts.report("dongshan", village_id=None)
    path = links(alerts, incident)["role:township_office@qingyun.dongshan"]
    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(lambda _: alerts.client.post(path).status_code, range(4)))
    assert codes[0] == 200 and codes[1:] == [410, 410, 410]
    assert len(alerts.events("alert.acknowledged", incident["id"])) == 1


def test_only_a_target_of_the_current_step_or_someone_above_acknowledges_over_the_api(alerts: Alerts):
    severe = alerts.report("dongshan", village_id=None, ill_count=50, place_kind="school")
    assert severe["level"] == "II"  # the county is told at once and is the step that acknowledges
    url = f"/incidents/{severe['id']}/acknowledge"
    for who in ("dongshan", "inspector", "shangcun"):
        assert alerts.as_(who, "POST", url, json={}).status_code == 403, who
    responding = alerts.as_(
        "dongshan", "POST", f"/incidents/{severe['id']}/progress", json={"status": "responding"}
    )
    assert responding.status_code == 403  # progress would acknowledge: the same rule
    assert alerts.as_("xishui", "POST", url, json={}).status_code == 404  # outside its scope at all
    assert state(alerts, severe)["awaiting_ack"] is True and alerts.counts(("incident_timeline",))
    assert alerts.as_("county", "POST", url, json={}).status_code == 200

    minor = alerts.report("dongshan", village_id=None, place_kind="restaurant", address="另一处")
    assert alerts.as_("dongshan", "POST", f"/incidents/{minor['id']}/acknowledge", json={}).status_code == 200
    alerts.advance(hours=3)  # the acknowledgement lapses, then the deadline passes: the county's turn
    alerts.tick()
    alerts.advance(hours=2)
    alerts.tick()
    assert state(alerts, minor)["awaiting_ack"] is True
    assert alerts.as_("dongshan", "POST", f"/incidents/{minor['id']}/acknowledge", json={}).status_code == 403
    assert alerts.as_("county", "POST", f"/incidents/{minor['id']}/acknowledge", json={}).status_code == 200
    entry = [e for e in timeline(alerts, minor) if e["kind"] == "acknowledged"][-1]
    assert entry["actor"] == "county:county-office" and entry["detail"]["via"] == "api"


def test_an_sms_reply_of_1_acknowledges_through_the_tencent_callback(make_alerts: AlertsFactory):
    alerts = make_alerts()
    fake = FakeTencentSms()
    fake.url = "http://127.0.0.1:9/"  # replies need no provider: the callback comes to us
    configure(alerts, {"ds-tencent": tencent_body(fake)}, phones=("+8613800000001",))
    incident = alerts.report("dongshan", village_id=None)
    callback = "/sms-replies/tencent/qingyun/ds-tencent"
    reply = {
        "extend": "",
        "mobile": "13800000001",
        "nationcode": "86",
        "sign": "青云县食安办",
        "time": 1772413200,
    }
    for wrong in ("not-the-secret", "reply-path-secret-0001"):
        assert alerts.client.post(f"{callback}/{wrong}", json={**reply, "text": "1"}).status_code == 404
    assert (
        alerts.client.post(
            "/sms-replies/tencent/qingyun/nope/reply-path-secret-0002", json={**reply, "text": "1"}
        ).status_code
        == 404
    )
    secret = f"{callback}/reply-path-secret-0002"
    for text, who in (("好的收到", "13800000001"), ("1", "13900000009")):  # not 1; not a number we told
        answer = alerts.client.post(secret, json={**reply, "mobile": who, "text": text})
        assert answer.status_code == 200 and answer.json() == {"result": 0, "errmsg": "OK"}
        assert state(alerts, incident)["awaiting_ack"] is True
    assert alerts.client.post(secret, json={"mobile": "1"}).status_code == 422  # no text
    assert alerts.client.post(secret, json={**reply, "text": " 1 "}).json() == {"result": 0, "errmsg": "OK"}
    current = state(alerts, incident)
    assert current["status"] == "acknowledged" and current["acknowledged_by"] == "phone:+86138****0001"
    entry = next(e for e in timeline(alerts, incident) if e["kind"] == "acknowledged")
    assert entry["detail"]["via"] == "sms_reply" and entry["detail"]["channel"] == "ds-tencent"
    # the number's link is used: the page says so
    path = links(alerts, incident)["phone:+8613800000001"]
    assert alerts.client.get(path).status_code == 410


def test_alibaba_cloud_pushes_replies_in_batches(make_alerts: AlertsFactory):
    alerts = make_alerts()
    fake = FakeAliyunSms()
    fake.url = "http://127.0.0.1:9/"
    configure(alerts, {"ds-sms": aliyun_body(fake)}, phones=("+8613800000001",))
    first = alerts.report("dongshan", village_id=None)
    alerts.advance(minutes=1)
    second = alerts.report("xishui", village_id=None, township_id=XISHUI)  # the county chain: same step
    batch = [
        {
            "phone_number": "13800000001",
            "content": "１",
            "send_time": "2026-03-02 09:05:00",
            "sign_name": "青云县食安办",
            "dest_code": "",
            "sequence_id": 1,
        },
        {
            "phone_number": "13800000001",
            "content": "1",
            "send_time": "2026-03-02 09:05:01",
            "sign_name": "青云县食安办",
            "dest_code": "",
            "sequence_id": 2,
        },
    ]
    answer = alerts.client.post("/sms-replies/aliyun/qingyun/ds-sms/reply-path-secret-0001", json=batch)
    assert answer.status_code == 200 and answer.json() == {"code": 0, "msg": "成功"}
    # each 1 acknowledges the newest incident still waiting for that number
    assert state(alerts, second)["acknowledged_by"] == "phone:+86138****0001"
    assert state(alerts, first)["acknowledged_by"] == "phone:+86138****0001"
    # the Alibaba Cloud channel's secret does not open Tencent Cloud's callback
    tencent = {"mobile": "13800000001", "text": "1"}
    assert (
        alerts.client.post(
            "/sms-replies/tencent/qingyun/ds-sms/reply-path-secret-0001", json=tencent
        ).status_code
        == 404
    )
