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

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.web import (
    DEMO_PASSWORD,
    DONGSHAN_OFFICE,
    SHANGCUN_COORDINATOR,
    WebSystem,
    check_accessibility,
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
    from tests.support.web import http_signed_in

    coordinator = http_signed_in(web_system.url, SHANGCUN_COORDINATOR)
    assert coordinator.get("/incidents").status_code == 403
    assert coordinator.get("/incidents/stream").status_code == 403
    incident = report(web_system, 2, "腹泻", "other")
    xishui = http_signed_in(web_system.url, XISHUI_OFFICE)
    assert xishui.get(f"/incidents/{incident['id']}").status_code == 404
    assert xishui.get("/incidents/not-an-id").status_code == 404
    assert httpx.get(f"{web_system.url}/incidents/stream", follow_redirects=False).status_code == 303
