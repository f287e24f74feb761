"""Journey 4: the responder's incident console, in a real headless chromium against the whole
system (`shian up --demo`).

东山镇's office has the console open on a desk (1366x900) and 西水乡's office has its own open; a
village coordinator of 东山镇 reports an incident through alerts' API; the row appears in 东山镇's
console within 2 s without a reload (server-sent events from the web process's own consumer group),
with its level in words and colour, its age, the escalation step and the countdown; 西水乡's
console never gets it. Then, through the incident's page: acknowledge, progress, a note, a count
update and closing with the cause, each seen in the timeline (the acknowledgement with how it came),
and every notification with its attempts. The console works on a phone too. axe-core finds no
serious or critical violation on any page.
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.providers import FakeDingTalk, FakeWeCom, dingtalk_body, serving, wecom_body
from tests.support.web import (
    DEMO_PASSWORD,
    DONGSHAN_OFFICE,
    SHANGCUN_COORDINATOR,
    WebSystem,
    check_accessibility,
    http_signed_in,
    phone_context,
    sign_in,
)

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)
XISHUI_OFFICE = "13800000101"  # 西水乡's office (services/identity/demo.py)
CONSOLE = {"width": 1366, "height": 900}


def api_token(web_system: WebSystem, mobile: str) -> str:
    answer = httpx.post(
        f"{web_system.urls['identity']}/sessions", json={"mobile": mobile, "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["access_token"])


def report(web_system: WebSystem, ill: int, description: str, place_kind: str) -> dict[str, Any]:
    """A village coordinator of 上村 reports, as the village pages do, through alerts' API (each
    test at another kind of place: reports of one village and place are grouped into one)."""
    token = api_token(web_system, SHANGCUN_COORDINATOR)
    me = httpx.get(f"{web_system.urls['identity']}/accounts/me", headers={"Authorization": f"Bearer {token}"})
    account = me.json()
    answer = httpx.post(
        f"{web_system.urls['alerts']}/incidents",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "township_id": account["township_id"],
            "village_id": account["village_id"],
            "place_kind": place_kind,
            "ill_count": ill,
            "description": description,
            "reporter_kind": "village_coordinator",
        },
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def desk(browser: Any, web_system: WebSystem, mobile: str) -> tuple[Any, Any]:
    context = browser.new_context(
        base_url=web_system.url, viewport=CONSOLE, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    sign_in(page, mobile)
    page.goto("/incidents")
    expect(page.locator("#live-status")).to_have_text("实时更新已连接。")
    return context, page


def test_a_reported_incident_appears_live_and_is_handled_to_closing(
    browser: Any, web_system: WebSystem
) -> None:
    dongshan_context, console = desk(browser, web_system, DONGSHAN_OFFICE)
    xishui_context, other = desk(browser, web_system, XISHUI_OFFICE)
    try:
        check_accessibility(console)
        other_rows = other.locator("#incident-rows > li").count()

        started = time.monotonic()
        incident = report(web_system, 12, "饭店午餐后多人腹泻", "restaurant")
        row = console.locator(f"#incident-{incident['id']}")
        expect(row).to_be_visible(timeout=2_000)
        assert time.monotonic() - started < 2.5  # the report's own round trip included
        assert console.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload
        expect(row).to_contain_text("Ⅳ级以下")
        expect(row).to_contain_text("发病 12 人")
        expect(row).to_contain_text("当前通知：")
        expect(row.locator(".countdown")).to_contain_text("还剩")
        expect(row.locator(".lv")).to_have_class("lv lv-below_IV")
        check_accessibility(console)

        # 西水乡's console: still connected, and the incident of 东山镇 never reached it
        expect(other.locator("#live-status")).to_have_text("实时更新已连接。")
        other.wait_for_timeout(1_000)
        assert other.locator(f"#incident-{incident['id']}").count() == 0
        assert other.locator("#incident-rows > li").count() == other_rows

        # the incident's page: acknowledge, and the timeline says how it came
        row.locator("a").click()
        console.wait_for_url(f"**/incidents/{incident['id']}")
        expect(console.get_by_role("heading", name="通知发送情况")).to_be_visible()
        expect(console.locator("#incident-live table")).to_contain_text("已发送")
        check_accessibility(console)
        console.get_by_label("备注").first.fill("已派人赶赴现场")
        console.get_by_role("button", name="确认响应").click()
        expect(console.get_by_role("status").first).to_contain_text("已确认响应")
        timeline = console.locator("ol.timeline")
        expect(timeline).to_contain_text("已响应")
        expect(timeline).to_contain_text("在系统中确认")

        console.get_by_label("新的状态").select_option("responding")
        console.get_by_role("button", name="更新进展").click()
        expect(timeline).to_contain_text("已响应 → 处置中")

        console.get_by_label("备注内容").fill("已封存剩余饭菜送检")
        console.get_by_role("button", name="添加备注").click()
        expect(timeline).to_contain_text("已封存剩余饭菜送检")

        # a refused count: the field is named in Chinese and what was typed stays
        console.get_by_label("发病人数").fill("14")
        console.get_by_label("住院人数").fill("20")
        console.get_by_role("button", name="更新人数").click()
        expect(console.get_by_role("alert")).to_contain_text("住院人数")
        expect(console.get_by_label("发病人数")).to_have_value("14")
        console.get_by_label("住院人数").fill("3")
        console.get_by_role("button", name="更新人数").click()
        expect(timeline).to_contain_text("现：发病 14 人，住院 3 人")
        check_accessibility(console)

        console.get_by_label("事故原因").fill("凉拌菜被沙门氏菌污染")
        console.get_by_role("button", name="结案").click()
        expect(timeline).to_contain_text("原因：凉拌菜被沙门氏菌污染")
        check_accessibility(console)

        # what alerts now holds
        token = api_token(web_system, DONGSHAN_OFFICE)
        held = httpx.get(
            f"{web_system.urls['alerts']}/incidents/{incident['id']}",
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert held["status"] == "closed" and held["cause"] == "凉拌菜被沙门氏菌污染"
        assert (held["ill_count"], held["hospitalised_count"]) == (14, 3)
        kinds = [
            entry["kind"]
            for entry in httpx.get(
                f"{web_system.urls['alerts']}/incidents/{incident['id']}/timeline",
                headers={"Authorization": f"Bearer {token}"},
            ).json()
        ]
        for kind in ("acknowledged", "status_changed", "note", "counts_updated", "closed"):
            assert kinds.count(kind) >= 1, kinds

        # closed: gone from the open console
        console.goto("/incidents")
        assert console.locator(f"#incident-{incident['id']}").count() == 0
    finally:
        dongshan_context.close()
        xishui_context.close()


def test_the_console_works_on_a_phone(browser: Any, web_system: WebSystem) -> None:
    context = phone_context(browser, web_system.url)
    page = context.new_page()
    try:
        sign_in(page, DONGSHAN_OFFICE)
        page.get_by_role("link", name="事件处置").click()
        page.wait_for_url("**/incidents")
        expect(page.locator("#live-status")).to_have_text("实时更新已连接。")
        incident = report(web_system, 4, "单位食堂午餐后腹痛", "canteen")
        row = page.locator(f"#incident-{incident['id']}")
        expect(row).to_be_visible(timeout=2_000)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, width  # nothing wider than the phone
        check_accessibility(page)
        row.locator("a").click()
        page.wait_for_url(f"**/incidents/{incident['id']}")
        check_accessibility(page)
    finally:
        context.close()


def test_a_village_coordinator_and_another_townships_office_get_no_console(web_system: WebSystem) -> None:
    coordinator = http_signed_in(web_system.url, SHANGCUN_COORDINATOR)
    assert coordinator.get("/incidents").status_code == 403
    assert coordinator.get("/incidents/stream").status_code == 403
    incident = report(web_system, 2, "腹泻", "other")
    xishui = http_signed_in(web_system.url, XISHUI_OFFICE)
    assert xishui.get(f"/incidents/{incident['id']}").status_code == 404
    assert xishui.get("/incidents/not-an-id").status_code == 404
    assert httpx.get(f"{web_system.url}/incidents/stream", follow_redirects=False).status_code == 303


HECUN_COORDINATOR = "13800010100"  # 西水乡 河村


def test_the_timeline_names_the_channel_of_an_acknowledgement_and_every_attempt_its_retry_state(
    browser: Any, web_system: WebSystem
) -> None:
    """西水乡's chain tells a DingTalk group (whose card carries the acknowledgement link), a WeCom
    robot that was removed (undeliverable at once) and a second DingTalk robot answering 500 (failed,
    waiting for its next try). The robot's link acknowledges; 西水乡's open incident page shows it
    live, with the channel, and each notification's state and attempts in Chinese."""
    county = {"Authorization": f"Bearer {api_token(web_system, '13800000001')}"}
    alerts = web_system.urls["alerts"]
    group, busy, removed = FakeDingTalk(), FakeDingTalk(access_token="busy-robot"), FakeWeCom(removed=True)
    with (
        serving(group, "/robot/send"),
        serving(busy, "/robot/send"),
        serving(removed, "/cgi-bin/webhook/send"),
    ):
        busy.script = [500] * 50
        for name, body in (
            ("xishui-dingtalk", dingtalk_body(group)),
            ("xishui-busy", dingtalk_body(busy)),
            ("xishui-wecom", wecom_body(removed)),
        ):
            answer = httpx.put(f"{alerts}/notification-channels/{name}", headers=county, json=body)
            assert answer.status_code == 200, answer.text
        policy = {
            "steps": [
                {
                    "name": "西水乡食安办",
                    "tier": "township",
                    "targets": [{"ref": "role:township_office"}],
                    "channels": ["xishui-dingtalk", "xishui-busy", "xishui-wecom", "log"],
                },
                {"name": "县食安办", "tier": "county", "targets": [{"ref": "role:county_office"}]},
            ]
        }
        answer = httpx.put(f"{alerts}/escalation/policies/qingyun.xishui", headers=county, json=policy)
        assert answer.status_code == 200, answer.text

        token = api_token(web_system, HECUN_COORDINATOR)
        me = httpx.get(
            f"{web_system.urls['identity']}/accounts/me", headers={"Authorization": f"Bearer {token}"}
        )
        answer = httpx.post(
            f"{alerts}/incidents",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "township_id": me.json()["township_id"],
                "village_id": me.json()["village_id"],
                "place_kind": "school",
                "ill_count": 6,
                "description": "学校午餐后多名学生呕吐",
            },
        )
        assert answer.status_code == 201, answer.text
        incident = answer.json()

        context, page = desk(browser, web_system, XISHUI_OFFICE)
        try:
            page.goto(f"/incidents/{incident['id']}")
            expect(page.locator("#live-status")).to_have_text("实时更新已连接。")
            table = page.locator("#incident-live table")
            expect(table).to_contain_text("已发送", timeout=20_000)
            expect(table).to_contain_text("无法送达", timeout=20_000)
            expect(table).to_contain_text("发送失败，等待重试", timeout=20_000)
            expect(table).to_contain_text("失败（HTTP 500）")
            expect(table).to_contain_text("xishui-wecom")
            check_accessibility(page)

            assert group.seen.wait(10)
            found = re.search(
                r"\(http://127\.0\.0\.1:\d+(/ack/[^)]+)\)", group.received[0]["markdown"]["text"]
            )
            assert found is not None
            tapped = httpx.post(f"{alerts}{found.group(1)}")  # the button of the link's page
            assert tapped.status_code == 200, tapped.text

            timeline = page.locator("ol.timeline")
            expect(timeline).to_contain_text("通过通知消息中的链接确认", timeout=2_000)  # live
            expect(timeline).to_contain_text("渠道：xishui-dingtalk")
            expect(timeline).to_contain_text("群（xishui-dingtalk）")
            assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
            expect(table).to_contain_text("已停止重试", timeout=60_000)  # no retry after the ack
            check_accessibility(page)
        finally:
            context.close()
            restored = {
                "steps": [
                    {
                        "name": "西水乡食安办",
                        "tier": "township",
                        "targets": [{"ref": "role:township_office"}],
                        "channels": ["log"],
                    },
                    {"name": "县食安办", "tier": "county", "targets": [{"ref": "role:county_office"}]},
                ]
            }
            httpx.put(f"{alerts}/escalation/policies/qingyun.xishui", headers=county, json=restored)


def position_of(page: str) -> str:
    found = re.search(r'data-after="([0-9]+-[0-9]+)"', page)
    assert found is not None
    return found.group(1)


def read_events(http: httpx.Client, after: str, until: Any, seconds: float = 15) -> str:
    """The event stream as a browser reconnecting with `Last-Event-ID: after` reads it."""
    seen = ""
    deadline = time.monotonic() + seconds
    with http.stream("GET", "/incidents/stream", headers={"Last-Event-ID": after}) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        for chunk in answer.iter_text():
            seen += chunk
            if until(seen) or time.monotonic() > deadline:
                break
    return seen


def test_a_reconnecting_console_gets_what_it_missed_and_connections_are_bounded(
    web_system: WebSystem,
) -> None:
    """Last-Event-ID: the incidents changed since are sent at once; more connections of one user
    than allowed are refused 429 (the page then says to reload)."""
    http = http_signed_in(web_system.url, DONGSHAN_OFFICE)
    page = http.get("/incidents").text
    after = position_of(page)
    incident = report(web_system, 3, "小吃店晚餐后腹泻", "market")
    # the outbox relay publishes just after the commit: wait until the stream holds the report
    deadline = time.monotonic() + 10
    while position_of(http.get("/incidents").text) == after and time.monotonic() < deadline:
        time.sleep(0.1)
    seen = read_events(http, after, until=lambda text: "event: position" in text)
    assert "event: incident" in seen and f"incident-{incident['id']}" in seen
    positions = re.findall(r"^id: ([0-9]+-[0-9]+)$", seen, re.M)
    assert positions and positions[-1] > after

    # 西水乡's office reconnecting from the same point gets no row of 东山镇's incident
    xishui = http_signed_in(web_system.url, XISHUI_OFFICE)
    seen = read_events(xishui, after, until=lambda text: "event: position" in text)
    assert incident["id"] not in seen and "event: incident" not in seen

    # a hostile Last-Event-ID is ignored, not passed to Redis
    with http.stream("GET", "/incidents/stream", headers={"Last-Event-ID": "0-0) OR 1"}) as answer:
        assert answer.status_code == 200
        first = next(answer.iter_text())
        assert first.startswith("retry:")

    # at most six live connections per user (SHIAN_WEB_LIVE_MAX_PER_USER): the next is refused
    with contextlib.ExitStack() as streams:
        codes = []
        for _ in range(7):
            answer = streams.enter_context(http.stream("GET", "/incidents/stream"))
            codes.append(answer.status_code)
            if answer.status_code == 429:
                break
        assert codes[-1] == 429 and answer.headers["Retry-After"] == "30", codes
        assert set(codes[:-1]) <= {200}
    # closed again: a new one is taken (the server notices the closed ones within moments)
    deadline = time.monotonic() + 10
    while True:
        with http.stream("GET", "/incidents/stream") as answer:
            if answer.status_code == 200 or time.monotonic() > deadline:
                break
        time.sleep(0.2)
    assert answer.status_code == 200


def test_a_note_sent_twice_at_once_is_recorded_once_and_hostile_input_is_refused_in_words(
    web_system: WebSystem,
) -> None:
    """The form's Idempotency-Key (made when the page was rendered) makes a double tap, or a
    retry after a lost answer, one note; bad input is a 422 page naming the field, never a 500."""
    from concurrent.futures import ThreadPoolExecutor

    incident = report(web_system, 5, "家庭聚餐后呕吐", "banquet")
    http = http_signed_in(web_system.url, DONGSHAN_OFFICE)
    page = http.get(f"/incidents/{incident['id']}").text
    note_form = page[page.index('action="/incidents/' + incident["id"] + '/notes"') :]
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', note_form)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert key is not None and csrf is not None
    form = {"csrf_token": csrf.group(1), "idempotency_key": key.group(1), "text": "同一条备注"}

    def send(_: int) -> int:
        return http.post(f"/incidents/{incident['id']}/notes", data=form).status_code

    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(send, range(4)))
    assert set(codes) == {303}, codes
    token = api_token(web_system, DONGSHAN_OFFICE)
    entries = httpx.get(
        f"{web_system.urls['alerts']}/incidents/{incident['id']}/timeline",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert [e["detail"].get("text") for e in entries if e["kind"] == "note"] == ["同一条备注"]

    base = {"csrf_token": csrf.group(1), "idempotency_key": "abcdef0123456789"}
    refused = http.post(f"/incidents/{incident['id']}/counts", data={**base, "ill_count": "十二"})
    assert refused.status_code == 422 and "发病人数：请填写整数" in refused.text
    assert 'value="十二"' in refused.text
    refused = http.post(f"/incidents/{incident['id']}/progress", data={**base, "status": "closed"})
    assert refused.status_code == 422 and "新的状态：请从选项中选择" in refused.text
    refused = http.post(f"/incidents/{incident['id']}/close", data={**base, "cause": "x" * 2001})
    assert refused.status_code == 422 and "事故原因：太长了，最多 2000 个字" in refused.text
    refused = http.post(f"/incidents/{incident['id']}/notes", data={**base, "text": "<script>1</script>"})
    assert refused.status_code == 303  # kept as text; shown escaped
    shown = http.get(f"/incidents/{incident['id']}").text
    assert "<script>1</script>" not in shown and "&lt;script&gt;1&lt;/script&gt;" in shown
    assert http.post(f"/incidents/{incident['id']}/notes", data={"text": "无令牌"}).status_code == 403
