"""The acknowledgement page on a phone: a headless Chromium with a phone's viewport and touch opens
the link a DingTalk card carried, reads the incident in Chinese, taps the button, and the incident
is acknowledged; tapping the same link again says it was used. No sign-in anywhere.

Needs Debian's chromium (`apt-get install -y chromium`); skipped, saying so, where it is missing."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.support.alerts import Alerts, AlertsFactory
from tests.support.providers import FakeDingTalk, configure, dingtalk_body, serving

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"
)
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync"]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "user_agent": "Mozilla/5.0 (Linux; Android 13; Phone) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36 DingTalk/7.0",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(make_alerts: AlertsFactory) -> Iterator[tuple[Alerts, str]]:
    """The alerts app on a real port (its runtime already runs), its links pointing there."""
    port = _free_port()
    alerts = make_alerts(public_url=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(
        uvicorn.Config(alerts.client.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the alerts server did not start"
        time.sleep(0.05)
    try:
        yield alerts, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_responder_acknowledges_from_the_card_on_a_phone(served: tuple[Alerts, str]):
    alerts, _base = served
    with serving(FakeDingTalk(), "/robot/send") as robot:
        configure(alerts, {"ds-dingtalk": dingtalk_body(robot)})  # type: ignore[arg-type]
        incident = alerts.report("dongshan", village_id=None, place_kind="school", address="中心小学食堂")
        alerts.deliver()
        card = robot.received[0]["markdown"]["text"]  # type: ignore[attr-defined]
    link = re.search(r"\[点此确认收到\]\((http://[^)]+)\)", card)
    assert link is not None

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_context(**PHONE).new_page()
            page.goto(link.group(1))
            assert page.title() == "【食安】Ⅳ级（一般）食品安全事故通报"
            body = page.inner_text("main")
            assert "级别：Ⅳ级（一般）" in body and "东山镇中心小学食堂（学校）" in body and "发病35人" in body
            button = page.locator("button")
            box = button.bounding_box()
            assert box is not None and box["width"] >= 300 and box["height"] >= 44  # a thumb's target
            assert alerts.as_("county", "GET", f"/incidents/{incident['id']}").json()["awaiting_ack"]

            button.tap()
            page.wait_for_selector("text=已确认收到")
            current = alerts.as_("county", "GET", f"/incidents/{incident['id']}").json()
            assert current["status"] == "acknowledged" and current["acknowledged_by"] == "group:ds-dingtalk"

            again = page.goto(link.group(1))
            assert again is not None and again.status == 410 and "已使用" in page.inner_text("main")
        finally:
            browser.close()
