"""Journey 2: an inspector on a phone (360x740) in headless chromium, online and offline, against
the whole system started as `shian up --demo` starts it.

Signs in to the worklist (what is due by the risk-level frequency), opens a business (licences,
staff certificates, open orders, grade history), records its checklist with a failed key item and
a photo, sees the verdict in Chinese before submitting (the inspection service's own rules), and
finds the record in the business's grade history. Offline: the worklist, the business and its
checklist open from the service worker's cache, the checklist is queued in IndexedDB with its
idempotency key and sent when the network returns, once; an answer lost on the way and the send
repeated still leave one inspection. axe-core on every page.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from services.web.labels import now_beijing, zh
from tests.support.web import (
    DEMO_PASSWORD,
    DONGSHAN_INSPECTOR,
    DONGSHAN_OFFICE,
    WebSystem,
    check_accessibility,
    phone_context,
    sign_in,
)

pytestmark = pytest.mark.e2e
expect.set_options(timeout=20_000)  # htmx and queue round trips on a loaded 2-core machine
PHOTO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
BUSINESS_LINK = re.compile(r"/inspector/businesses/([0-9a-f-]{36})$")


@pytest.fixture
def api(web_system: WebSystem) -> httpx.Client:
    """The inspection service, asked directly as the same inspector: what the service holds."""
    answer = httpx.post(
        f"{web_system.urls['identity']}/sessions",
        json={"mobile": DONGSHAN_INSPECTOR, "password": DEMO_PASSWORD},
    )
    assert answer.status_code == 201, answer.text
    token = answer.json()["access_token"]
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        yield client


def as_office(web_system: WebSystem, method: str, service: str, path: str, body: dict[str, Any]) -> None:
    """What the township office records of a business (its particulars are theirs to keep)."""
    answer = httpx.post(
        f"{web_system.urls['identity']}/sessions", json={"mobile": DONGSHAN_OFFICE, "password": DEMO_PASSWORD}
    )
    token = answer.json()["access_token"]
    done = httpx.request(
        method, f"{web_system.urls[service]}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert done.status_code in (200, 201), done.text


def inspections_of(api: httpx.Client, web_system: WebSystem, business_id: str) -> list[dict[str, Any]]:
    answer = api.get(f"{web_system.urls['inspection']}/inspections", params={"business_id": business_id})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def worklist_businesses(page: Any) -> list[str]:
    """The ids of the businesses on the worklist, in its order."""
    ids = []
    for href in page.locator("[data-worklist] a").evaluate_all("links => links.map(l => l.pathname)"):
        found = BUSINESS_LINK.search(href)
        if found and found.group(1) not in ids:
            ids.append(found.group(1))
    return ids


def fill_checklist(page: Any, *, photo: bool) -> None:
    """The first key item fails with a note; every other item passes."""
    key_item = page.locator("fieldset.item-check.key").first
    key_item.get_by_label("不符合", exact=True).check()
    key_item.get_by_role("textbox").fill("冷库内发现过期原料")
    page.get_by_role("button", name="其余未勾选项均为“符合”").click()
    page.get_by_label("检查意见").fill("已当场责令下架过期原料")
    if photo:
        page.get_by_label(re.compile("现场照片")).set_input_files(
            files=[{"name": "cold-store.png", "mimeType": "image/png", "buffer": PHOTO}]
        )


def queued(page: Any) -> int:
    return int(
        page.evaluate(
            """() => new Promise((resolve, reject) => {
                 const open = indexedDB.open("shian-inspector", 1);
                 open.onupgradeneeded = () => open.result.createObjectStore("queue", {keyPath: "key"});
                 open.onsuccess = () => {
                   const request = open.result.transaction("queue").objectStore("queue").count();
                   request.onsuccess = () => { open.result.close(); resolve(request.result); };
                   request.onerror = () => reject(request.error);
                 };
                 open.onerror = () => reject(open.error);
               })"""
        )
    )


def test_an_inspector_records_a_checklist_sees_the_verdict_first_and_then_the_grade_history(
    browser: Any, web_system: WebSystem, api: httpx.Client
) -> None:
    context = phone_context(browser, web_system.url)
    page = context.new_page()
    try:
        sign_in(page, DONGSHAN_INSPECTOR)
        assert page.url.endswith("/inspector")
        expect(page.get_by_role("heading", name="检查任务")).to_be_visible()
        expect(page.locator("[data-worklist]")).to_contain_text("计划检查")
        check_accessibility(page)

        business_id = worklist_businesses(page)[0]
        before = len(inspections_of(api, web_system, business_id))
        today = now_beijing().date()
        as_office(
            web_system,
            "PUT",
            "registry",
            f"/businesses/{business_id}/licences/food_permit",
            {
                "number": "JY13301020099001",
                "issued_on": str(today - timedelta(days=400)),
                "expires_on": str(today + timedelta(days=20)),
            },
        )
        as_office(
            web_system,
            "POST",
            "registry",
            f"/businesses/{business_id}/staff",
            {
                "name": "赵厨师",
                "position": "厨师",
                "certificate": {"number": "JK2025001", "issued_on": str(today - timedelta(days=400))},
            },
        )
        page.locator(f'[data-worklist] a[data-business="{business_id}"]').first.click()
        page.wait_for_url(f"**/inspector/businesses/{business_id}")
        for heading in ("证照", "从业人员健康证", "未完成的整改", "历次检查与动态等级"):
            expect(page.get_by_role("heading", name=heading)).to_be_visible()
        expect(page.get_by_role("list", name="证照")).to_contain_text("食品经营许可证 JY13301020099001")
        expect(page.get_by_role("list", name="从业人员健康证")).to_contain_text("赵厨师（厨师）")
        expect(page.get_by_role("list", name="从业人员健康证")).to_contain_text("已过期")
        check_accessibility(page)

        page.get_by_role("link", name="开始检查").click()
        page.wait_for_url(f"**/inspector/businesses/{business_id}/inspect")
        expect(page.locator("fieldset.item-check.key").first).to_contain_text("★ 关键项")
        fill_checklist(page, photo=True)
        verdict = page.locator("#verdict")
        expect(verdict).to_contain_text("检查结果")
        expect(verdict).to_contain_text("不符合的关键项")
        shown = verdict.inner_text()
        assert re.search(r"[a-z]_[a-z]", shown) is None, f"a code on the page: {shown}"
        check_accessibility(page)

        page.get_by_role("button", name="提交检查记录").click()
        page.wait_for_url(re.compile(r"/inspector/inspections/[0-9a-f-]{36}\?recorded=1$"))
        expect(page.get_by_role("status").first).to_contain_text("检查记录已提交")
        check_accessibility(page)

        held = inspections_of(api, web_system, business_id)
        assert len(held) == before + 1
        record = held[0]
        assert page.url.split("/inspector/inspections/")[1].startswith(record["id"])
        failed = [item for item in record["items"] if item["result"] == "fail"]
        assert len(failed) == 1 and failed[0]["key"] and failed[0]["note"] == "冷库内发现过期原料"
        assert len(record["attachments"]) == 1 and record["attachments"][0]["content_type"] == "image/png"
        # the verdict shown before submitting is the one recorded
        assert zh(record["outcome"], "outcome") in shown
        assert zh(record["action"], "action") in shown
        assert f"{record['score']:.1f} 分" in shown

        page.get_by_role("link", name=re.compile("^返回")).click()
        page.wait_for_url(f"**/inspector/businesses/{business_id}")
        history = page.locator("[data-grades]")
        for _ in range(30):  # the registry learns of the inspection from its event
            if history.count() and zh(record["outcome"], "outcome") in history.first.inner_text():
                break
            page.wait_for_timeout(500)
            page.reload()
        expect(history).to_contain_text(zh(record["outcome"], "outcome"))
        expect(history.locator(f'a[href="/inspector/inspections/{record["id"]}"]')).to_be_visible()
        # the failed key item is now an open rectification order on the business's page
        expect(page.get_by_role("list", name="未完成的整改")).to_contain_text("关键项")
    finally:
        context.close()


def test_a_checklist_recorded_offline_is_sent_once_when_the_network_returns(
    browser: Any, web_system: WebSystem, api: httpx.Client
) -> None:
    context = phone_context(browser, web_system.url)
    page = context.new_page()
    try:
        sign_in(page, DONGSHAN_INSPECTOR)
        page.evaluate("async () => { await navigator.serviceWorker.ready; }")
        for _ in range(40):  # the worker claims the open page once it is active
            if page.evaluate("() => navigator.serviceWorker.controller !== null"):
                break
            page.wait_for_timeout(250)
        assert page.evaluate("() => navigator.serviceWorker.controller !== null")
        business_id = worklist_businesses(page)[1]
        before = len(inspections_of(api, web_system, business_id))
        page.goto(f"/inspector/businesses/{business_id}")
        page.goto(f"/inspector/businesses/{business_id}/inspect")
        expect(page.get_by_role("button", name="提交检查记录")).to_be_visible()

        context.set_offline(True)
        # the worklist, the business and its checklist open from this phone's cache
        page.goto("/inspector")
        expect(page.get_by_role("heading", name="检查任务")).to_be_visible()
        page.locator(f'[data-worklist] a[data-business="{business_id}"]').first.click()
        expect(page.get_by_role("link", name="开始检查")).to_be_visible()
        check_accessibility(page)
        page.get_by_role("link", name="开始检查").click()
        expect(page.get_by_role("button", name="提交检查记录")).to_be_visible()
        fill_checklist(page, photo=True)
        expect(page.locator("#verdict")).to_contain_text("网络不可用")
        page.get_by_role("button", name="提交检查记录").click()
        expect(page.locator("#queue-status")).to_contain_text("检查记录已保存在本机")
        check_accessibility(page)
        assert queued(page) == 1
        assert len(inspections_of(api, web_system, business_id)) == before

        context.set_offline(False)
        page.wait_for_url(re.compile(r"/inspector/inspections/[0-9a-f-]{36}"), timeout=30_000)
        expect(page.get_by_role("heading", name=re.compile("检查记录"))).to_be_visible()
        assert queued(page) == 0
        held = inspections_of(api, web_system, business_id)
        assert len(held) == before + 1
        assert len(held[0]["attachments"]) == 1
        # and it stays one: nothing is left to send again
        page.goto("/inspector")
        page.wait_for_timeout(3000)
        assert len(inspections_of(api, web_system, business_id)) == before + 1
    finally:
        context.close()


def test_a_send_whose_answer_is_lost_is_sent_again_and_records_once(
    browser: Any, web_system: WebSystem, api: httpx.Client
) -> None:
    # without the service worker, so that the route below sees the page's own request
    context = browser.new_context(
        base_url=web_system.url,
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        service_workers="block",
    )
    page = context.new_page()
    sent: list[bytes] = []

    def lose_the_first_answer(route: Any) -> None:
        sent.append(route.request.post_data_buffer or b"")
        if len(sent) == 1:
            answer = route.fetch(max_redirects=0)  # the server records it...
            assert answer.status == 303, answer.text()
            route.abort("connectionreset")  # ...and the phone never hears back
        else:
            route.continue_()

    try:
        sign_in(page, DONGSHAN_INSPECTOR)
        business_id = worklist_businesses(page)[2]
        before = len(inspections_of(api, web_system, business_id))
        page.goto(f"/inspector/businesses/{business_id}/inspect")
        fill_checklist(page, photo=False)
        page.route(f"**/inspector/businesses/{business_id}/inspections", lose_the_first_answer)
        page.get_by_role("button", name="提交检查记录").click()
        page.wait_for_url(re.compile(r"/inspector/inspections/[0-9a-f-]{36}"), timeout=30_000)
        assert len(sent) == 2
        keys = [re.search(rb'name="idempotency_key"\r\n\r\n([^\r]+)', body) for body in sent]
        assert keys[0] and keys[1] and keys[0].group(1) == keys[1].group(1)
        assert len(inspections_of(api, web_system, business_id)) == before + 1
        assert queued(page) == 0
    finally:
        context.close()
