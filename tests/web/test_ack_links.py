"""An escalation message's acknowledgement link, on the web app's origin (phones reach the web app
only; it relays the page and the tap to alerts), against the whole system as `shian up` starts it.

A county office sets a webhook channel to its own receiver (a real HTTP server here, checking the
signature as services/alerts/README.md documents it) and a township step using it; a village
coordinator reports an incident; the card's `ack_url` is on the web's origin; a phone-sized
chromium opens it without signing in and taps confirm; alerts' timeline says acknowledged via
`link`. The same link again is the used-link page, a tampered token the not-genuine page, and
the relayed pages keep alerts' strict headers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.providers import Fake, Request, serving
from tests.support.web import DEMO_PASSWORD, HECUN_COORDINATOR, PHONE, WebSystem, phone_context

pytestmark = pytest.mark.e2e
RECEIVER_SECRET = "county-receiver-" + "a1b2c3d4e5f6" * 3
ALERTS_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@dataclass
class CountyReceiver(Fake):
    """The county's own endpoint: takes a notification only when its signature is right."""

    secret: str = RECEIVER_SECRET

    def handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        stamp = request.headers.get("x-shian-timestamp", "")
        expected = (
            "sha256="
            + hmac.new(self.secret.encode(), stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
        )
        if not hmac.compare_digest(request.headers.get("x-shian-signature", ""), expected):
            self.refuse("signature")
            return 401, {"error": "signature"}
        self.received.append(json.loads(request.body))
        return 200, {"ok": True}


def token_of(web_system: WebSystem, mobile: str) -> str:
    answer = httpx.post(
        f"{web_system.urls['identity']}/sessions", json={"mobile": mobile, "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["access_token"])


def wait_for(condition: Any, what: str, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"waited {seconds}s for {what}")


def test_a_responder_acknowledges_from_the_link_on_the_web_app(browser: Any, web_system: WebSystem):
    alerts = web_system.urls["alerts"]
    county = {"Authorization": f"Bearer {token_of(web_system, '13800000001')}"}
    coordinator_token = token_of(web_system, HECUN_COORDINATOR)
    coordinator = {"Authorization": f"Bearer {coordinator_token}"}
    me = httpx.get(f"{web_system.urls['identity']}/accounts/me", headers=coordinator).json()
    channel = f"xs-hook-{uuid.uuid4().hex[:6]}"

    with serving(CountyReceiver(), "/shian/notify") as receiver:
        saved = httpx.put(
            f"{alerts}/notification-channels/{channel}",
            headers=county,
            json={"kind": "webhook", "url": receiver.url, "secret": RECEIVER_SECRET},
        )
        assert saved.status_code in (200, 201), saved.text
        policy = httpx.put(
            f"{alerts}/escalation/policies/{me['township_id']}",
            headers=county,
            json={
                "steps": [
                    {
                        "name": "西水乡食安办",
                        "tier": "township",
                        "targets": [{"ref": "role:township_office"}],
                        "channels": [channel, "log"],
                    }
                ]
            },
        )
        assert policy.status_code == 200, policy.text
        reported = httpx.post(
            f"{alerts}/incidents",
            headers=coordinator,
            json={
                "township_id": me["township_id"],
                "village_id": me["village_id"],
                "ill_count": 35,
                "death_count": 0,
                "place_kind": "banquet",
                "description": "喜宴后多人呕吐腹泻",
            },
        )
        assert reported.status_code == 201, reported.text
        incident = reported.json()["id"]
        card = wait_for(lambda: next((m for m in receiver.received if m.get("ack_url")), None), "the card")
        assert receiver.refusals == []

    link = str(card["ack_url"])
    assert link.startswith(f"{web_system.url}/ack/{incident[:8]}/"), link

    context = phone_context(browser, web_system.url)  # a phone that never signed in
    try:
        page = context.new_page()
        opened = page.goto(link)
        assert opened is not None and opened.status == 200
        headers = opened.headers
        assert headers["content-security-policy"] == ALERTS_CSP
        assert headers["referrer-policy"] == "no-referrer" and headers["cache-control"] == "no-store"
        assert headers["x-frame-options"] == "DENY" and "set-cookie" not in headers
        assert "发病35人" in page.inner_text("main")
        before = httpx.get(f"{alerts}/incidents/{incident}", headers=county).json()
        assert before["status"] != "acknowledged"  # opening (or a chat app's preview) never acknowledges

        button = page.locator("button")
        box = button.bounding_box()
        assert box is not None and box["width"] >= 0.7 * PHONE["width"] and box["height"] >= 44  # a thumb's
        with page.expect_navigation():
            button.tap()
        page.wait_for_selector("text=已确认收到")
        assert page.url == link  # the tap went to the web's origin, not to alerts

        current = httpx.get(f"{alerts}/incidents/{incident}", headers=county).json()
        assert current["status"] == "acknowledged", current
        entries = httpx.get(f"{alerts}/incidents/{incident}/timeline", headers=county).json()
        acknowledged = [entry for entry in entries if entry["kind"] == "acknowledged"]
        assert len(acknowledged) == 1 and acknowledged[0]["detail"].get("via") == "link", acknowledged

        again = page.goto(link)
        assert again is not None and again.status == 410 and "已使用" in page.inner_text("main")
    finally:
        context.close()

    # a tampered token (one character of its MAC changed) is alerts' not-genuine page, on the web
    last = link[-1]
    tampered = link[:-1] + ("A" if last != "A" else "B")
    answer = httpx.get(tampered)
    assert answer.status_code == 404 and "链接无效" in answer.text
    assert answer.headers["content-security-policy"] == ALERTS_CSP
    replayed = httpx.post(link)  # no cookie, no CSRF token: refused by the link, not by CSRF
    assert replayed.status_code == 410 and "已使用" in replayed.text
    # a path that is no link alerts could have made: the web's own 404 page, never alerts' 422
    odd = httpx.get(f"{web_system.url}/ack/{incident[:8]}/not%20a%20token")
    assert odd.status_code == 404 and "text/html" in odd.headers["content-type"]


def test_the_link_pages_say_try_again_when_alerts_is_away(web_system: WebSystem):
    """alerts down: the web's Chinese 503 page for the look and for the tap, never a 500, and no
    token in the log; the link works again once alerts is back (404 for this made-up one)."""
    system = web_system.system
    token = f"{'x' * 8}.{'y' * 16}"
    link = f"{web_system.url}/ack/0123abcd/{token}"
    system.kill("alerts")
    try:
        for method in ("GET", "POST"):
            answer = httpx.request(method, link)
            assert answer.status_code == 503, (method, answer.status_code)
            assert "服务暂时不可用" in answer.text and answer.headers["retry-after"] == "5"
            assert answer.headers["referrer-policy"] == "no-referrer"
        logged = system.log_tail("web", 300)
        assert "alerts GET /ack/{incident}/{token}: no answer" in logged
        assert token not in logged  # the link is a credential: never written to a log
    finally:
        system.restart("alerts")
        system.wait_ready(timeout=120)
    back = httpx.get(link)
    assert back.status_code == 404 and "链接无效" in back.text
