"""Notifications: a signed webhook against a real HTTP server on 127.0.0.1 (retried with backoff),
the SMS adapter, and every attempt recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.alerts.notifications.channels import HttpChannel, Message, SmsChannel, WebhookChannel, sign
from services.alerts.notifications.service import DeliveryRun
from tests.support.alerts import AlertsFactory
from tests.support.county import START

SECRET = "webhook-secret-for-tests"


@dataclass
class Receiver:
    """A local HTTP endpoint answering with the scripted statuses, then 200; it keeps what came."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            code = state.statuses.pop(0) if state.statuses else 200
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"ok" if code == 200 else b"try later")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_escalations_go_out_as_signed_webhooks_retried_and_recorded(
    make_alerts: AlertsFactory, receiver: Receiver
):
    alerts = make_alerts(
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        webhook_backoff_seconds=0.01,
        default_channels=["webhook", "log"],
    )
    receiver.statuses = [503, 500]  # the first two tries of the first notification fail
    incident = alerts.report("dongshan", village_id=None)
    run = alerts.deliver()
    assert (run.delivered, run.failed) == (2, 0)  # township office: webhook and log

    assert len(receiver.received) == 3
    headers, body = receiver.received[-1]
    assert headers["x-shian-signature"] == sign(SECRET, headers["x-shian-timestamp"], body)
    expected = (
        "sha256="
        + hmac.new(
            SECRET.encode(), headers["x-shian-timestamp"].encode() + b"." + body, hashlib.sha256
        ).hexdigest()
    )
    assert headers["x-shian-signature"] == expected
    payload = json.loads(body)
    assert (
        payload["incident_id"] == incident["id"]
        and payload["tier"] == "township"
        and payload["level"] == "IV"
    )
    assert payload["target"] == "role:township_office@qingyun.dongshan"
    assert f"/ack/{incident['id'][:8]}/" in payload["ack_url"]  # the office's acknowledgement link
    assert headers["x-shian-delivery"] == payload["notification_id"]

    notifications = alerts.as_("dongshan", "GET", f"/incidents/{incident['id']}/notifications").json()
    webhook = next(n for n in notifications if n["channel"] == "webhook")
    assert webhook["status"] == "delivered" and webhook["attempts"] == 3
    assert [(a["ok"], a["status_code"]) for a in webhook["attempt_log"]] == [
        (False, 503),
        (False, 500),
        (True, 200),
    ]
    log = next(n for n in notifications if n["channel"] == "log")
    assert log["status"] == "delivered" and log["attempts"] == 1
    assert alerts.deliver().delivered == 0  # nothing is sent twice

    metrics = alerts.client.get("/metrics").text
    assert 'shian_notification_attempts_total{channel="webhook",outcome="error"} 2.0' in metrics
    assert 'shian_notifications_total{channel="webhook",outcome="delivered"} 1.0' in metrics


def test_a_failing_webhook_is_retried_from_the_database_with_backoff_until_acknowledged(
    make_alerts: AlertsFactory, receiver: Receiver
):
    config = {
        "webhook_url": receiver.url,
        "webhook_secret": SECRET,
        "webhook_backoff_seconds": 0.0,
        "webhook_max_attempts": 3,
        "default_channels": ["webhook"],
    }
    alerts = make_alerts(**config)
    receiver.statuses = [500] * 100
    incident = alerts.report("dongshan", village_id=None)
    run = alerts.deliver()
    assert (run.failed, run.undeliverable) == (1, 0)

    def notification() -> dict:
        (row,) = alerts.as_("dongshan", "GET", f"/incidents/{incident['id']}/notifications").json()
        return row

    first = notification()
    assert (first["status"], first["attempts"], first["rounds"]) == ("pending", 3, 1)
    assert datetime.fromisoformat(first["next_attempt_at"]) == START + timedelta(seconds=30)
    alerts.advance(seconds=29)
    assert alerts.deliver() == DeliveryRun() and len(receiver.received) == 3  # not due yet

    # another process on the same database (a restart, a replica) takes the retry up at its time
    replica = make_alerts(**config)
    replica.clock.set(START + timedelta(seconds=30))
    assert replica.deliver().failed == 1 and len(receiver.received) == 6
    second = notification()
    assert (second["attempts"], second["rounds"]) == (6, 2)
    assert datetime.fromisoformat(second["next_attempt_at"]) == START + timedelta(seconds=90)  # doubled
    assert alerts.deliver() == DeliveryRun()  # the first process at 29 s: nothing is due

    # acknowledged: the retry due next is cancelled, never sent
    acknowledged = alerts.as_("dongshan", "POST", f"/incidents/{incident['id']}/acknowledge", json={})
    assert acknowledged.status_code == 200
    replica.clock.set(START + timedelta(minutes=5))
    assert replica.deliver().cancelled == 1 and len(receiver.received) == 6
    last = notification()
    assert last["status"] == "cancelled" and last["last_error"] == "acknowledged by township:ds-office"
    assert replica.deliver() == DeliveryRun()


def test_the_backoff_is_capped():
    from services.alerts.notifications.service import Delivery
    from services.alerts.notifications.setup import ChannelBook

    delivery = Delivery(book=ChannelBook({}, {}), retry_seconds=30, retry_max_seconds=900)
    assert [delivery.backoff(n).total_seconds() for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]


def test_a_client_error_is_not_retried(receiver: Receiver):
    receiver.statuses = [400]
    sleeps: list[float] = []
    channel = WebhookChannel(
        url=receiver.url, secret=SECRET, timeout=2, max_attempts=4, backoff_seconds=1, sleep=sleeps.append
    )
    attempts = channel.send(Message(notification_id="n1", target="person:x", text="t"))
    assert [(a.ok, a.status_code) for a in attempts] == [(False, 400)] and sleeps == []


def test_backoff_doubles_and_a_dead_endpoint_is_recorded_per_try():
    sleeps: list[float] = []
    channel = HttpChannel(
        url="http://127.0.0.1:9/unreachable",
        timeout=0.5,
        max_attempts=4,
        backoff_seconds=0.5,
        sleep=sleeps.append,
    )
    channel.request = lambda message: (b"{}", {})  # type: ignore[method-assign]
    attempts = channel.send(Message(notification_id="n1", target="person:x", text="t"))
    assert len(attempts) == 4 and not any(a.ok for a in attempts)
    assert all(a.error and "Connect" in a.error for a in attempts)
    assert sleeps == [0.5, 1.0, 2.0]


def test_the_sms_adapter_renders_the_providers_template(receiver: Receiver):
    channel = SmsChannel(
        url=receiver.url,
        template="【食安】$level级 $message",
        token="provider-token",
        timeout=2,
        max_attempts=1,
        backoff_seconds=0,
    )
    attempts = channel.send(
        Message(
            notification_id="n7",
            target="phone:+8613800000001",
            text="请确认",
            payload={"level": "IV", "incident_id": "abc"},
        )
    )
    assert attempts[0].ok
    headers, body = receiver.received[0]
    assert headers["authorization"] == "Bearer provider-token"
    assert json.loads(body) == {"to": "+8613800000001", "text": "【食安】IV级 请确认", "reference": "n7"}


def test_an_unconfigured_channel_is_a_recorded_failure(alerts_with_sms_step):  # type: ignore[no-untyped-def]
    alerts, incident = alerts_with_sms_step
    assert alerts.deliver().failed == 1
    (notification,) = [
        n
        for n in alerts.as_("dongshan", "GET", f"/incidents/{incident['id']}/notifications").json()
        if n["channel"] == "sms"
    ]
    assert notification["status"] == "undeliverable" and "not configured" in notification["last_error"]
    assert len(notification["attempt_log"]) == 1
    (alert,) = alerts.as_("dongshan", "GET", "/alerts").json()["items"]
    assert alert["kind"] == "notification_undeliverable" and "「sms」无法送达" in alert["summary"]
    assert "138****0009" in alert["summary"] and "13800000009" not in alert["summary"]


@pytest.fixture
def alerts_with_sms_step(make_alerts: AlertsFactory):  # type: ignore[no-untyped-def]
    alerts = make_alerts()
    alerts.as_(
        "county",
        "PUT",
        "/escalation/policies/qingyun",
        json={
            "steps": [
                {
                    "name": "乡镇",
                    "tier": "township",
                    "targets": [{"ref": "phone:+8613800000009"}],
                    "channels": ["sms"],
                }
            ]
        },
    )
    return alerts, alerts.report("dongshan", village_id=None)


def test_a_notice_that_waited_out_an_outage_is_not_sent_once_acknowledged(
    make_alerts: AlertsFactory, receiver: Receiver
):
    alerts = make_alerts(webhook_url=receiver.url, webhook_secret=SECRET, default_channels=["webhook"])
    incident = alerts.report("dongshan", village_id=None)
    alerts.advance(minutes=10)  # the delivery loop was down meanwhile
    assert (
        alerts.as_("dongshan", "POST", f"/incidents/{incident['id']}/acknowledge", json={}).status_code == 200
    )
    run = alerts.deliver()
    assert (run.cancelled, run.delivered) == (1, 0) and receiver.received == []
    (notification,) = alerts.as_("dongshan", "GET", f"/incidents/{incident['id']}/notifications").json()
    assert notification["status"] == "cancelled" and notification["attempts"] == 0
    assert notification["last_error"] == "acknowledged by township:ds-office"
