"""The county office at a desk (1366x900) in a real headless chromium, against the whole system
started as `shian up --demo` starts it.

The county overview shows the demo county's figures as reporting holds them, with a drill-down to
a township and to the records behind a figure; the escalation-chain editor saves a township's
chain and, on a chain alerts refuses, shows the 422 on the field with the input kept; an account
created shows its one-time code once, and its person then sets a password and signs in; a
township office cannot create a county account (the page refuses; identity never sees the
request); the map draws a business at its coordinates and every village's counts; notification
channels are set with their secrets never shown back. axe-core on every page.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from services.web.county.service import period_code
from tests.support.waiting import wait_for
from tests.support.web import (
    COUNTY,
    DEMO_PASSWORD,
    DONGSHAN_OFFICE,
    SHANGCUN_COORDINATOR,
    WebSystem,
    check_accessibility,
    csrf_of,
    http_signed_in,
    sign_in,
)

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)
DESK = {"width": 1366, "height": 900}
COUNTY_ID = "qingyun"
DONGSHAN = "qingyun.dongshan"
SHANGCUN = "qingyun.dongshan.shangcun"


@pytest.fixture
def desk(browser: Any, web_system: WebSystem) -> Any:
    context = browser.new_context(
        base_url=web_system.url, viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    yield page
    context.close()


def api(web_system: WebSystem, mobile: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    answer = httpx.post(
        f"{web_system.urls['identity']}/sessions", json={"mobile": mobile, "password": password}
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def figure(web_system: WebSystem, headers: dict[str, str], place: str, key: str) -> float:
    answer = httpx.get(
        f"{web_system.urls['reporting']}/statistics/{place}",
        headers=headers,
        params={"period": period_code(None)},
    )
    assert answer.status_code == 200, answer.text
    return float(answer.json()["figures"][key]["value"])


def shown(value: float) -> str:
    return str(round(value, 1)).removesuffix(".0")


def new_mobile() -> str:
    return "139" + str(uuid.uuid4().int)[:8]


def test_the_county_overview_shows_the_figures_and_drills_down_to_a_township(
    desk: Any, web_system: WebSystem
) -> None:
    headers = api(web_system, COUNTY)
    # the demo businesses reach reporting over the bus: wait until it counts them
    county_count = wait_for(
        lambda: figure(web_system, headers, COUNTY_ID, "businesses.registered") or None,
        timeout=60,
        what="reporting counts the demo businesses",
    )
    assert county_count is not None
    sign_in(desk, COUNTY)
    assert desk.url.endswith("/county")
    expect(desk.get_by_role("heading", level=1)).to_contain_text("青云县")
    tile = desk.locator('[data-key="businesses.registered"]')
    expect(tile.locator(".value")).to_have_text(shown(county_count))
    expect(desk.locator('[data-key="incidents.reported"] .value')).to_have_text(
        shown(figure(web_system, headers, COUNTY_ID, "incidents.reported"))
    )
    check_accessibility(desk)

    desk.get_by_role("navigation", name="各乡镇").get_by_role("link", name="东山镇").click()
    desk.wait_for_url(f"**/county/places/{DONGSHAN}")
    expect(desk.get_by_role("heading", level=1)).to_contain_text("东山镇")
    town_count = figure(web_system, headers, DONGSHAN, "businesses.registered")
    assert 0 < town_count < county_count
    expect(desk.locator('[data-key="businesses.registered"] .value')).to_have_text(shown(town_count))
    check_accessibility(desk)

    desk.locator('[data-key="businesses.registered"] a').click()
    desk.wait_for_url(f"**/county/places/{DONGSHAN}/records/businesses.registered")
    expect(desk.locator("#record-count")).to_have_text(f"共 {int(town_count)} 条")
    rows = desk.locator("table tbody tr")
    expect(rows).to_have_count(int(town_count))
    expect(desk.locator("table")).to_contain_text("东山镇")  # place ids are shown as names
    assert "qingyun." not in desk.locator("table").inner_text()
    check_accessibility(desk)

    # a place outside the county, and a figure that does not exist: the 404 page
    assert desk.goto("/county/places/nowhere").status == 404
    assert desk.goto(f"/county/places/{DONGSHAN}/records/no.such").status == 404


def test_a_township_office_sees_its_own_township_only(desk: Any) -> None:
    sign_in(desk, DONGSHAN_OFFICE)
    assert desk.goto("/county").status == 200
    expect(desk.get_by_role("heading", level=1)).to_contain_text("东山镇")
    assert desk.goto("/county/places/qingyun.xishui").status == 404
    assert desk.goto("/county/policies").status == 403


def test_a_village_coordinator_is_refused_the_county_pages(desk: Any) -> None:
    sign_in(desk, SHANGCUN_COORDINATOR)
    for path in ("/county", "/county/map", "/accounts", f"/county/policies/{DONGSHAN}"):
        assert desk.goto(path).status == 403, path
        expect(desk.get_by_role("heading", level=1)).to_be_visible()


def test_the_policy_editor_saves_a_chain_and_shows_a_422_on_a_bad_one(
    desk: Any, web_system: WebSystem
) -> None:
    headers = api(web_system, COUNTY)
    policy_url = f"{web_system.urls['alerts']}/escalation/policies/{DONGSHAN}"
    sign_in(desk, COUNTY)
    desk.get_by_role("link", name="逐级通知设置").click()
    desk.wait_for_url("**/county/policies")
    check_accessibility(desk)
    desk.get_by_role("link", name="东山镇").click()
    desk.wait_for_url(f"**/county/policies/{DONGSHAN}")
    check_accessibility(desk)

    rows = desk.locator("form fieldset.card").count()
    assert rows >= 3  # the chain in force (two steps at least) and a blank row to add one
    first_tier = desk.get_by_label("第 1 步 层级").input_value()
    desk.get_by_label("第 1 步 步骤名称").fill("村协管员先行处置")
    desk.get_by_label("第 1 步 Ⅱ级").fill("15")
    desk.get_by_role("button", name="保存通知链").click()
    desk.wait_for_url(f"**/county/policies/{DONGSHAN}?saved=1")
    expect(desk.get_by_role("status")).to_contain_text("已保存")
    saved = httpx.get(policy_url, headers=headers).json()
    assert saved["source"] == "township"
    assert len(saved["steps"]) == rows - 1  # the blank row added no step
    assert saved["steps"][0]["name"] == "村协管员先行处置"
    assert saved["steps"][0]["tier"] == first_tier
    assert saved["steps"][0]["deadline_minutes"]["II"] == 15
    version = saved["version"]
    expect(desk.get_by_label("第 1 步 步骤名称")).to_have_value("村协管员先行处置")
    check_accessibility(desk)

    # a target that is no target: alerts answers 422, shown on that step's field, input kept
    desk.get_by_label("第 1 步 通知对象").fill("乡镇食安办张主任")
    desk.get_by_label("第 1 步 步骤名称").fill("改了但没保存")
    desk.get_by_role("button", name="保存通知链").click()
    alert = desk.get_by_role("alert")
    expect(alert).to_contain_text("第 1 步 通知对象")
    expect(alert).to_contain_text("格式不对")
    expect(desk.locator("#e-steps-0-targets")).to_contain_text("格式不对")
    expect(desk.get_by_label("第 1 步 通知对象")).to_have_value("乡镇食安办张主任")
    expect(desk.get_by_label("第 1 步 步骤名称")).to_have_value("改了但没保存")
    check_accessibility(desk)

    # steps that go down the hierarchy: refused as a whole, said in Chinese
    desk.get_by_label("第 1 步 通知对象").fill("role:township_office")
    desk.get_by_label("第 1 步 层级").select_option("province")
    desk.get_by_role("button", name="保存通知链").click()
    expect(desk.get_by_role("alert")).to_contain_text("各步须从低到高排列")
    unchanged = httpx.get(policy_url, headers=headers).json()
    assert unchanged["version"] == version and unchanged["steps"] == saved["steps"]


def test_an_account_shows_its_code_once_and_its_person_sets_a_password_and_signs_in(
    browser: Any, desk: Any, web_system: WebSystem
) -> None:
    mobile = new_mobile()
    sign_in(desk, COUNTY)
    desk.get_by_role("link", name="账号管理").click()
    desk.wait_for_url("**/accounts")
    check_accessibility(desk)
    desk.get_by_role("link", name="新建账号").click()
    check_accessibility(desk)

    # refused by the page: an inspector needs a township; what was typed stays
    desk.get_by_label("姓名").fill("周检查")
    desk.get_by_label("手机号").fill(mobile)
    desk.get_by_label("角色").select_option("inspector")
    desk.get_by_role("button", name="创建账号").click()
    expect(desk.get_by_role("alert")).to_contain_text("所属乡镇")
    expect(desk.get_by_label("姓名")).to_have_value("周检查")
    check_accessibility(desk)

    desk.get_by_label("所属乡镇").select_option(DONGSHAN)
    desk.get_by_role("button", name="创建账号").click()
    code = desk.locator("#one-time-code").inner_text().strip()
    assert len(code) >= 6
    assert code not in desk.url
    check_accessibility(desk)

    desk.get_by_role("link", name="查看账号").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("周检查")
    expect(desk.locator("#account-status")).to_have_text("待设密码")
    assert code not in desk.content()  # shown once: never again
    headers = api(web_system, COUNTY)
    found = httpx.get(
        f"{web_system.urls['identity']}/accounts", headers=headers, params={"role": "inspector", "limit": 500}
    ).json()["items"]
    (account,) = [item for item in found if item["mobile"].endswith(mobile)]
    assert account["township_id"] == DONGSHAN and not account["password_set"]

    person = browser.new_context(base_url=web_system.url, viewport=DESK, locale="zh-CN")
    try:
        page = person.new_page()
        page.goto("/signin")
        page.get_by_role("link", name="用验证码设置密码").click()
        check_accessibility(page)
        page.get_by_label("手机号").fill(mobile)
        page.get_by_label("一次性验证码").fill(code)
        page.get_by_label(re.compile("^新密码")).fill("short")
        page.get_by_label("再次输入新密码").fill("short")
        page.get_by_role("button", name="设置密码").click()
        expect(page.get_by_role("alert")).to_contain_text("新密码")
        expect(page.get_by_label(re.compile("^新密码"))).to_have_value("")  # never sent back
        check_accessibility(page)
        page.get_by_label(re.compile("^新密码")).fill("Zhou#check2026")
        page.get_by_label("再次输入新密码").fill("Zhou#check2026")
        page.get_by_role("button", name="设置密码").click()
        page.wait_for_url("**/signin**")
        sign_in(page, mobile, "Zhou#check2026")
        expect(page.locator(".who")).to_contain_text("周检查")
    finally:
        person.close()

    # disable: the person can no longer sign in; re-enable
    desk.reload()
    expect(desk.locator("#account-status")).to_have_text("正常")  # was 待设密码 until then
    desk.get_by_role("button", name="停用账号").click()
    expect(desk.locator("#account-status")).to_have_text("已停用")
    refused = httpx.post(
        f"{web_system.urls['identity']}/sessions", json={"mobile": mobile, "password": "Zhou#check2026"}
    )
    assert refused.status_code in (401, 403), refused.text
    desk.get_by_role("button", name="重新启用").click()
    expect(desk.locator("#account-status")).to_have_text("正常")

    # a new role and place: the inspector becomes 上村's coordinator
    desk.get_by_label("角色").select_option("village")
    desk.get_by_role("button", name="保存修改").click()
    expect(desk.get_by_role("alert")).to_contain_text("所属村")  # a coordinator needs a village
    desk.get_by_label("所属村").select_option(SHANGCUN)
    desk.get_by_role("button", name="保存修改").click()
    expect(desk.get_by_role("status")).to_contain_text("已保存")
    moved = httpx.get(f"{web_system.urls['identity']}/accounts/{account['id']}", headers=headers).json()
    assert (moved["role"], moved["township_id"], moved["village_id"]) == ("village", DONGSHAN, SHANGCUN)

    desk.get_by_role("button", name="重置密码").click()
    again = desk.locator("#one-time-code").inner_text().strip()
    assert again and again != code


def test_a_township_office_cannot_create_a_county_account(desk: Any, web_system: WebSystem) -> None:
    sign_in(desk, DONGSHAN_OFFICE)
    desk.goto("/accounts/new")
    options = desk.get_by_label("角色").locator("option").all_inner_texts()
    assert "县食安办" not in options and "检查员" in options
    towns = desk.get_by_label("所属乡镇").locator("option").all_inner_texts()
    assert towns == ["请选择", "东山镇"]
    check_accessibility(desk)

    # a hand-made post with the county role: refused by the page, never sent to identity
    mobile = new_mobile()
    http = http_signed_in(web_system.url, DONGSHAN_OFFICE)
    try:
        token = csrf_of(http.get("/accounts/new").text)
        answer = http.post(
            "/accounts",
            data={"name": "冒充县里", "mobile": mobile, "role": "county", "csrf_token": token},
        )
        assert answer.status_code == 422
        assert "您无权设置这一角色" in answer.text
        other_town = http.post(
            "/accounts",
            data={
                "name": "外乡检查员",
                "mobile": mobile,
                "role": "inspector",
                "township_id": "qingyun.xishui",
                "csrf_token": token,
            },
        )
        assert other_town.status_code == 422 and "不在您负责的范围内" in other_town.text
    finally:
        http.close()
    headers = api(web_system, COUNTY)
    everyone = httpx.get(
        f"{web_system.urls['identity']}/accounts", headers=headers, params={"limit": 500}
    ).json()["items"]
    assert not [item for item in everyone if item["mobile"].endswith(mobile)]


def test_the_map_draws_a_business_at_its_coordinates_and_every_village(
    desk: Any, web_system: WebSystem
) -> None:
    headers = api(web_system, COUNTY)
    name = f"定位测试餐馆{uuid.uuid4().hex[:4]}"
    answer = httpx.post(
        f"{web_system.urls['registry']}/businesses",
        headers=headers,
        json={
            "name": name,
            "kind": "catering",
            "village_id": SHANGCUN,
            "location": {"latitude": 28.41, "longitude": 117.62},
        },
    )
    assert answer.status_code == 201, answer.text
    sign_in(desk, COUNTY)
    desk.get_by_role("link", name="地图").click()
    desk.wait_for_url("**/county/map")
    expect(desk.locator("#points")).to_contain_text(name)
    assert desk.locator("circle.dot").count() >= 1
    cell = desk.locator(f'g.cell[data-village="{SHANGCUN}"]')
    expect(cell).to_contain_text("上村")
    villages = httpx.get(f"{web_system.urls['registry']}/places", headers=headers).json()
    assert desk.locator("g.cell").count() == len([p for p in villages if p["level"] == "village"])
    check_accessibility(desk)


def test_notification_channels_are_set_with_secrets_never_shown_back(
    desk: Any, web_system: WebSystem
) -> None:
    headers = api(web_system, COUNTY)
    name = f"dongshan-dt-{uuid.uuid4().hex[:6]}"
    token, secret = "tok" + uuid.uuid4().hex, "SEC" + uuid.uuid4().hex + "9876"
    sign_in(desk, COUNTY)
    desk.get_by_role("link", name="通知通道").click()
    desk.wait_for_url("**/county/channels")
    check_accessibility(desk)
    desk.get_by_role("link", name="新增通道").click()
    desk.get_by_label("类型").select_option("dingtalk")
    desk.get_by_role("button", name="下一步").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("钉钉机器人")
    check_accessibility(desk)

    # refused: a name alerts cannot take, and a secret missing; the secret typed is not sent back
    desk.get_by_label("通道名称").fill("东山 钉钉")
    desk.get_by_label("机器人 access_token").fill(token)
    desk.get_by_role("button", name="保存通道").click()
    alert = desk.get_by_role("alert")
    expect(alert).to_contain_text("通道名称")
    expect(alert).to_contain_text("签名密钥")
    expect(desk.get_by_label("通道名称")).to_have_value("东山 钉钉")
    assert token not in desk.content()
    check_accessibility(desk)

    desk.get_by_label("通道名称").fill(name)
    desk.get_by_label("机器人 access_token").fill(token)
    desk.get_by_label("签名密钥").fill(secret)
    desk.get_by_role("button", name="保存通道").click()
    desk.wait_for_url(f"**/county/channels/{name}?saved=1")
    expect(desk.get_by_role("status")).to_contain_text("已保存")
    html = desk.content()
    assert token not in html and secret not in html
    expect(desk.locator("#h-secret")).to_contain_text("9876")  # masked: its last characters only
    expect(desk.get_by_label("签名密钥")).to_have_value("")
    check_accessibility(desk)
    stored = httpx.get(f"{web_system.urls['alerts']}/notification-channels/{name}", headers=headers).json()
    assert stored["kind"] == "dingtalk" and stored["secrets"]["secret"].endswith("9876")

    # a change with the secrets left empty keeps them; a bad URL is refused on its field
    desk.get_by_label("接口地址").fill("ftp://oapi.dingtalk.com/robot/send")
    desk.get_by_role("button", name="保存通道").click()
    expect(desk.locator("#e-url")).to_be_visible()
    expect(desk.get_by_label("接口地址")).to_have_value("ftp://oapi.dingtalk.com/robot/send")
    desk.get_by_label("接口地址").fill("https://oapi.dingtalk.com/robot/send")
    desk.get_by_role("button", name="保存通道").click()
    desk.wait_for_url(f"**/county/channels/{name}?saved=1")
    changed = httpx.get(f"{web_system.urls['alerts']}/notification-channels/{name}", headers=headers).json()
    assert changed["options"]["url"] == "https://oapi.dingtalk.com/robot/send"
    assert changed["secrets"] == stored["secrets"] and changed["version"] == stored["version"] + 1

    desk.goto("/county/channels")
    expect(desk.locator("#channels")).to_contain_text(name)
    assert secret not in desk.content()
    desk.goto(f"/county/channels/{name}")
    desk.get_by_role("button", name="删除通道").click()
    desk.wait_for_url("**/county/channels?removed=*")
    gone = httpx.get(f"{web_system.urls['alerts']}/notification-channels/{name}", headers=headers)
    assert gone.status_code == 404


def test_a_double_submitted_account_form_makes_one_account_and_hostile_input_is_harmless(
    web_system: WebSystem,
) -> None:
    mobile = new_mobile()
    http = http_signed_in(web_system.url, COUNTY)
    try:
        form_page = http.get("/accounts/new").text
        token = csrf_of(form_page)
        key = form_page.split('name="key" value="')[1].split('"')[0]
        data = {
            "name": "<script>alert(1)</script>",
            "mobile": mobile,
            "role": "inspector",
            "township_id": DONGSHAN,
            "csrf_token": token,
            "key": key,
        }
        first, second = http.post("/accounts", data=data), http.post("/accounts", data=data)
        assert first.status_code == second.status_code == 200
        assert "<script>alert(1)</script>" not in first.text and "&lt;script&gt;" in first.text
        # a policy form with rows beyond any chain and garbage where the kept settings ride
        hostile = http.post(
            f"/county/policies/{DONGSHAN}",
            data={
                "csrf_token": token,
                "steps-999-name": "x",
                "steps-0-extra": "{not json",
                "steps-0-name": "",
            },
        )
        assert hostile.status_code == 422 and "至少要有一步" in hostile.text
        assert http.post("/accounts/not-a-uuid/disable", data={"csrf_token": token}).status_code == 404
        assert http.post(f"/accounts/{uuid.uuid4()}/explode", data={"csrf_token": token}).status_code == 404
    finally:
        http.close()
    headers = api(web_system, COUNTY)
    everyone = httpx.get(
        f"{web_system.urls['identity']}/accounts", headers=headers, params={"limit": 500}
    ).json()["items"]
    assert len([item for item in everyone if item["mobile"].endswith(mobile)]) == 1
