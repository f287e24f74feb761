"""Journey 1: a village coordinator on a phone (360x740) in a real headless chromium, against the
whole system started as `shian up --demo` starts it.

Signs in; reports an incident in two screens (the form, then its level and who was notified);
files a banquet whose form says at once that it is late or needs guidance; sees only the village's
own records (another village's incident and banquet are not listed, and their addresses give the
Chinese 404 page). Around it: the same Chinese refusal for a wrong password and an unknown number,
a form refused with the input kept and the field named, CSRF-less posts refused, the security
headers and cookie, axe-core on every page, and the weight of the first pages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from services.web.labels import now_beijing
from tests.support.web import (
    COUNTY,
    DEMO_PASSWORD,
    DONGSHAN_INSPECTOR,
    DONGSHAN_OFFICE,
    HECUN_COORDINATOR,
    OPS,
    SHANGCUN_COORDINATOR,
    XIACUN_COORDINATOR,
    WebSystem,
    check_accessibility,
    desktop_context,
    phone_context,
    sign_in,
)

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)  # an htmx round trip on a loaded 2-core machine
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
WEIGHT_LIMIT = 150 * 1024


@pytest.fixture
def phone(browser: Any, web_system: WebSystem) -> Any:
    context = phone_context(browser, web_system.url)
    page = context.new_page()
    yield page
    context.close()


def api_token(web_system: WebSystem, mobile: str) -> str:
    answer = httpx.post(
        f"{web_system.urls['identity']}/sessions", json={"mobile": mobile, "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["access_token"])


def test_a_coordinator_reports_an_incident_and_sees_its_level_and_who_was_notified(phone: Any) -> None:
    sign_in(phone, SHANGCUN_COORDINATOR)
    assert phone.url.endswith("/village")
    assert phone.get_by_role("heading", name="上村食品安全").is_visible()
    check_accessibility(phone)

    phone.get_by_role("link", name="上报食品安全事件").click()
    phone.wait_for_url("**/village/incidents/new")
    check_accessibility(phone)

    # refused by the form: the field is named, in Chinese, and what was typed stays
    phone.get_by_label("发生场所").select_option("banquet")
    phone.get_by_label("发病人数").fill("3")
    phone.get_by_label("住院人数").fill("5")
    phone.get_by_label("可疑食品").fill("凉拌木耳")
    phone.get_by_label("情况描述").fill("寿宴后多人腹泻、呕吐")
    phone.get_by_role("button", name="立即上报").click()
    alert = phone.get_by_role("alert")
    alert.wait_for()
    assert "住院人数" in alert.inner_text() and "不能多于发病人数" in alert.inner_text()
    assert phone.get_by_label("情况描述").input_value() == "寿宴后多人腹泻、呕吐"
    assert phone.get_by_label("可疑食品").input_value() == "凉拌木耳"
    assert phone.get_by_label("发生场所").input_value() == "banquet"
    check_accessibility(phone)

    # screen 1 of 2: the form; screen 2: the level and who has been told
    phone.get_by_label("发病人数").fill("35")
    phone.get_by_label("住院人数").fill("2")
    onset = (now_beijing() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    phone.get_by_label("首例发病时间").fill(onset)
    phone.get_by_role("button", name="立即上报").click()
    phone.wait_for_url("**/village/incidents/*?reported=1")
    heading = phone.get_by_role("heading", level=1).inner_text()
    assert "Ⅳ级（一般）" in heading
    body = phone.locator("main").inner_text()
    assert "已上报" in body and "IV" not in body and "reported" not in body
    assert "乡镇食安办" in phone.locator("#notified-title + ul").inner_text()
    check_accessibility(phone)

    phone.get_by_role("link", name="返回本村首页").click()
    phone.wait_for_url("**/village")
    assert "发病 35 人" in phone.locator("main").inner_text()


def test_the_banquet_form_says_at_once_when_a_filing_is_late_or_needs_guidance(phone: Any) -> None:
    sign_in(phone, SHANGCUN_COORDINATOR)
    phone.goto("/village/banquets/new")
    check_accessibility(phone)
    today = now_beijing().date()
    phone.get_by_label("宴席类型").select_option("wedding")
    phone.get_by_label("举办日期").fill((today + timedelta(days=1)).isoformat())
    phone.get_by_label("桌数").fill("12")
    phone.get_by_label("人数").fill("120")
    expect(phone.locator("#hint-late")).to_contain_text("至少 3 天")
    expect(phone.locator("#hint-guidance")).to_contain_text("100 人以上")

    phone.get_by_label("举办日期").fill((today + timedelta(days=10)).isoformat())
    phone.get_by_label("人数").fill("60")
    expect(phone.locator("#hint-guidance")).to_have_count(0)
    expect(phone.locator("#hint-late")).to_have_count(0)
    expect(phone.locator("#hint-required")).to_contain_text("距举办还有 10 天")
    check_accessibility(phone)

    # the registry's rule decides the record as the hint said
    phone.get_by_label("人数").fill("150")
    phone.get_by_label("举办日期").fill((today + timedelta(days=1)).isoformat())
    phone.get_by_label("办宴人").fill("李大山")
    phone.get_by_label("举办地点").fill("上村文化广场")
    phone.get_by_label("厨师姓名").fill("王师傅")
    phone.get_by_label("食材来源").fill("镇农贸市场\n自家菜地")
    phone.get_by_role("button", name="提交备案").click()  # the cook's certificate is missing
    phone.get_by_role("alert").wait_for()
    assert "厨师健康证" in phone.get_by_role("alert").inner_text()
    assert phone.get_by_label("办宴人").input_value() == "李大山"
    assert phone.get_by_label("食材来源").input_value() == "镇农贸市场\n自家菜地"
    phone.get_by_label("厨师健康证").select_option("certified")
    phone.get_by_role("button", name="提交备案").click()
    phone.wait_for_url("**/village/banquets/*?filed=1")
    text = phone.locator("main").inner_text()
    assert "逾期备案" in text and "需现场指导" in text and "婚宴" in text
    check_accessibility(phone)


def _report_and_file(web_system: WebSystem, mobile: str, township: str, village: str, name: str) -> list[str]:
    """Another village's coordinator reports an incident and files a banquet through the API;
    returns the web addresses of both."""
    headers = {"Authorization": f"Bearer {api_token(web_system, mobile)}"}
    incident = httpx.post(
        f"{web_system.urls['alerts']}/incidents",
        headers=headers,
        json={
            "township_id": township,
            "village_id": village,
            "place_kind": "canteen",
            "ill_count": 4,
            "description": f"{name}食堂午餐后四人不适",
        },
    )
    assert incident.status_code == 201, incident.text
    banquet = httpx.post(
        f"{web_system.urls['registry']}/banquets",
        headers=headers,
        json={
            "village_id": village,
            "host": f"{name}办宴户",
            "occasion": "birthday",
            "held_on": (now_beijing().date() + timedelta(days=7)).isoformat(),
            "venue": f"{name}祠堂",
            "tables": 8,
            "people": 80,
            "cook": {"name": "刘厨", "health_status": "certified"},
            "food_sources": ["乡集市"],
        },
    )
    assert banquet.status_code == 201, banquet.text
    return [f"/village/incidents/{incident.json()['id']}", f"/village/banquets/{banquet.json()['id']}"]


def test_a_coordinator_sees_only_the_village_own_records(phone: Any, web_system: WebSystem) -> None:
    # a village of the same township (下村, 东山镇) and one of another (河村, 西水乡)
    others = _report_and_file(
        web_system, XIACUN_COORDINATOR, "qingyun.dongshan", "qingyun.dongshan.xiacun", "下村"
    ) + _report_and_file(web_system, HECUN_COORDINATOR, "qingyun.xishui", "qingyun.xishui.hecun", "河村")

    sign_in(phone, SHANGCUN_COORDINATOR)
    listing = phone.locator("main").inner_text()
    for name in ("下村", "河村"):
        assert name not in listing
    for path in [*others, "/village/incidents/not-an-id"]:
        answer = phone.goto(path)
        assert answer is not None and answer.status == 404, path
        assert "找不到这个页面或记录" in phone.locator("h1").inner_text()
        assert "下村" not in phone.content() and "河村" not in phone.content()
    check_accessibility(phone)


def test_a_wrong_password_and_an_unknown_number_get_the_same_chinese_refusal(phone: Any) -> None:
    seen = []
    for mobile, password in ((XIACUN_COORDINATOR, "not-the-password"), ("13999999999", DEMO_PASSWORD)):
        phone.goto("/signin")
        phone.get_by_label("手机号").fill(mobile)
        phone.get_by_label("密码").fill(password)
        with phone.expect_response(
            lambda r: r.url.endswith("/signin") and r.request.method == "POST"
        ) as info:
            phone.get_by_role("button", name="登录").click()
        assert info.value.status == 401
        message = phone.get_by_role("alert").inner_text()
        assert "手机号或密码不正确" in message
        assert phone.get_by_label("手机号").input_value() == mobile
        assert phone.get_by_label("密码").input_value() == ""  # a password is never sent back
        seen.append(message)
        check_accessibility(phone)
    assert seen[0] == seen[1]


def test_posts_without_the_csrf_token_are_refused(phone: Any, web_system: WebSystem) -> None:
    with httpx.Client(base_url=web_system.url) as http:
        http.get("/signin")  # the browser's cookie
        answer = http.post("/signin", data={"mobile": SHANGCUN_COORDINATOR, "password": DEMO_PASSWORD})
        assert answer.status_code == 403 and "提交未被接受" in answer.text
        assert answer.headers["content-security-policy"] == CSP
    sign_in(phone, SHANGCUN_COORDINATOR)
    forged = phone.request.post(
        "/village/incidents",
        form={"place_kind": "banquet", "ill_count": "40", "description": "伪造的上报"},
    )
    assert forged.status == 403
    wrong = phone.request.post(
        "/village/incidents",
        form={
            "place_kind": "banquet",
            "ill_count": "40",
            "description": "伪造的上报",
            "csrf_token": "x" * 43,
        },
    )
    assert wrong.status == 403
    phone.goto("/village")
    assert "伪造的上报" not in phone.content()


def test_pages_carry_the_strict_headers_and_the_cookie_holds_no_token(phone: Any) -> None:
    answer = phone.goto("/signin")
    assert answer is not None
    headers = answer.headers
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    (before,) = [c["value"] for c in phone.context.cookies() if c["name"].endswith("shian_session")]
    sign_in(phone, SHANGCUN_COORDINATOR)
    (cookie,) = [c for c in phone.context.cookies() if c["name"].endswith("shian_session")]
    assert cookie["value"] != before  # a new id at sign-in: one planted before is worth nothing
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["value"].startswith("eyJ") and len(cookie["value"]) < 64  # an id, not a JWT
    html = phone.content()
    assert "eyJ" not in html and "refresh" not in html
    # sign-out ends the session: the old cookie no longer opens a page
    old = cookie["value"]
    phone.get_by_role("button", name="退出").click()
    phone.wait_for_url("**/signin")
    phone.context.add_cookies([{**cookie, "value": old}])
    phone.goto("/village")
    assert phone.url.endswith("/signin")


def test_the_sign_in_page_and_the_report_form_weigh_under_150_kb(browser: Any, web_system: WebSystem) -> None:
    context = phone_context(browser, web_system.url)
    page = context.new_page()
    sizes: dict[str, int] = {}

    def note(response: Any) -> None:
        if response.request.resource_type in ("document", "stylesheet", "script"):
            sizes[response.url] = len(response.body())

    page.on("response", note)
    sign_in(page, SHANGCUN_COORDINATOR)
    page.goto("/village/incidents/new")
    page.wait_for_load_state("load")
    context.close()
    total = sum(sizes.values())
    assert any(url.endswith(".js") or ".js?" in url for url in sizes), sizes
    print(f"first load of the sign-in page and the report form: {total} bytes {sizes}")
    assert total < WEIGHT_LIMIT, f"{total} bytes: {sizes}"


def test_make_screenshots_writes_each_journeys_main_page(
    browser: Any, web_system: WebSystem, tmp_path
) -> None:
    """`make screenshots` (shian/screenshots.py) against the running system: one PNG per page, at
    the phone's size (360 px at device scale 2) or the desk's (1280 px)."""
    from shian.screenshots import DESKTOP, SHOTS, take

    written = take(browser, web_system.url, tmp_path)
    assert [path.name for path in written] == [f"{shot.name}.png" for shot in SHOTS]
    for path, shot in zip(written, SHOTS, strict=True):
        header = path.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        width = 720 if shot.phone else DESKTOP["width"]
        assert int.from_bytes(header[16:20], "big") == width, path


def test_static_files_go_compressed_and_cached_and_pages_do_not(web_system: WebSystem) -> None:
    with httpx.Client(base_url=web_system.url) as http:
        script = http.get("/static/vendor/htmx/htmx.min.js?v=1", headers={"Accept-Encoding": "gzip"})
        assert script.status_code == 200 and script.headers["content-encoding"] == "gzip"
        assert int(script.headers["content-length"]) < 20_000
        assert "immutable" in script.headers["cache-control"]
        assert script.headers["content-security-policy"] == CSP
        page = http.get("/signin", headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in page.headers  # a page with a CSRF token: no BREACH
        assert page.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("mobile", "code", "role"),
    [
        (COUNTY, "county", "县食安办"),
        (DONGSHAN_OFFICE, "township", "乡镇食安办"),
        (DONGSHAN_INSPECTOR, "inspector", "检查员"),
        (OPS, "ops", "运维值班"),
    ],
)
def test_every_other_role_lands_on_its_start_page_and_not_on_the_villages(
    browser: Any, web_system: WebSystem, mobile: str, code: str, role: str
) -> None:
    from urllib.parse import urlparse

    from services.web.areas import START_PAGES

    context = desktop_context(browser, web_system.url)
    page = context.new_page()
    try:
        sign_in(page, mobile)
        start = START_PAGES.get(code)
        if start:  # an area of its own: its start page (which may lead on within the area)
            assert urlparse(page.url).path.startswith(start)
        else:
            assert page.url.rstrip("/") == web_system.url
            assert f"您的岗位：{role}" in page.locator("main").inner_text()
        check_accessibility(page)
        answer = page.goto("/village/incidents/new")
        assert answer is not None and answer.status == 403
        assert "您没有权限做这件事" in page.locator("h1").inner_text()
        check_accessibility(page)
    finally:
        context.close()


@pytest.mark.parametrize(("mobile", "start"), [(COUNTY, "/county"), (OPS, "/ops")])
def test_the_county_office_and_operations_land_on_their_own_pages_and_not_on_the_villages(
    browser: Any, web_system: WebSystem, mobile: str, start: str
) -> None:
    context = desktop_context(browser, web_system.url)
    page = context.new_page()
    try:
        sign_in(page, mobile)
        assert page.url == web_system.url + start
        answer = page.goto("/village/incidents/new")
        assert answer is not None and answer.status == 403
        assert "您没有权限做这件事" in page.locator("h1").inner_text()
    finally:
        context.close()
