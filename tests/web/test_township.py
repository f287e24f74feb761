"""Journey: the 东山镇 township office at a desk (1366x900) in a real headless chromium, against the
whole system started as `shian up --demo` starts it.

The register: search, filters (village, kind, status, risk, papers) and paging, checked against
what the registry answers the same office; a business with its licences, staff and certificates;
registering a business (the form's own checks and the registry's 422s shown on the field, the
input kept; a double submit makes one record) and correcting it. Around it: another township's
business is the Chinese 404 page; other roles get the 403 page; axe-core on every page.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from services.web.labels import now_beijing
from tests.support.web import (
    DEMO_PASSWORD,
    DONGSHAN_INSPECTOR,
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
XISHUI_OFFICE = "13800000101"
DONGSHAN = "qingyun.dongshan"
SHANGCUN = "qingyun.dongshan.shangcun"
NANWAN = "qingyun.dongshan.nanwan"


@pytest.fixture
def desk(browser: Any, web_system: WebSystem) -> Any:
    context = browser.new_context(
        base_url=web_system.url, viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    yield page
    context.close()


def api(web_system: WebSystem, mobile: str) -> httpx.Client:
    """The registry as `mobile` sees it, to check what the pages did."""
    answer = httpx.post(
        f"{web_system.urls['identity']}/sessions", json={"mobile": mobile, "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 201, answer.text
    token = answer.json()["access_token"]
    return httpx.Client(
        base_url=web_system.urls["registry"], headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def register_via_api(
    registry: httpx.Client, name: str, village: str = SHANGCUN, **more: Any
) -> dict[str, Any]:
    answer = registry.post(
        "/businesses", json={"name": name, "kind": "catering", "village_id": village, **more}
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def rows(page: Any) -> list[str]:
    return [text.strip() for text in page.locator("table tbody tr td:first-child").all_inner_texts()]


def test_the_office_searches_filters_and_pages_through_its_register(desk: Any, web_system: WebSystem) -> None:
    registry = api(web_system, DONGSHAN_OFFICE)
    tag = uuid.uuid4().hex[:6]
    today = now_beijing().date()
    # papers that expire within the warning window, and enough businesses in 南湾村 for two pages
    expiring = register_via_api(
        registry,
        f"南湾{tag}号饭庄",
        NANWAN,
        food_permit={
            "number": f"JY{tag}",
            "issued_on": (today - timedelta(days=1800)).isoformat(),
            "expires_on": (today + timedelta(days=10)).isoformat(),
        },
    )
    for index in range(21):
        register_via_api(registry, f"南湾{tag}小吃{index:02d}", NANWAN)

    sign_in(desk, DONGSHAN_OFFICE)
    assert desk.url.endswith("/township/businesses")
    expect(desk.get_by_role("heading", level=1)).to_have_text("东山镇经营主体登记")
    total = registry.get("/businesses", params={"limit": 1}).json()["total"]
    assert f"共 {total} 家" in desk.locator("#register-count").inner_text()
    body = desk.locator("main").inner_text()
    assert "西水" not in body  # another township's businesses are not in this register
    assert "catering" not in body and "active" not in body  # codes never shown
    check_accessibility(desk)

    # search: text in the name
    desk.get_by_label("名称、经营者、地址或证号").fill(f"南湾{tag}")
    desk.get_by_role("button", name="查找").click()
    desk.wait_for_url(f"**q=*{tag}*")
    expect(desk.locator("#register-count")).to_contain_text("共 22 家，第 1 / 2 页")
    assert len(rows(desk)) == 20
    first_page = set(rows(desk))
    desk.get_by_role("link", name="下一页").click()
    desk.wait_for_url("**page=2*")
    second_page = set(rows(desk))
    assert len(second_page) == 2 and not first_page & second_page
    assert desk.get_by_label("名称、经营者、地址或证号").input_value() == f"南湾{tag}"  # filters kept
    check_accessibility(desk)

    # filters: papers expiring soon, in 南湾村
    desk.get_by_role("link", name="清除条件").click()
    desk.get_by_label("所在村").select_option(NANWAN)
    desk.get_by_label("证照").select_option("expiring")
    desk.get_by_role("button", name="查找").click()
    desk.wait_for_url("**licence_state=expiring*")
    expected = registry.get("/businesses", params={"village_id": NANWAN, "licence_state": "expiring"}).json()
    assert sorted(rows(desk)) == sorted(item["name"] for item in expected["items"])
    assert expiring["name"] in rows(desk)
    assert desk.get_by_label("证照").input_value() == "expiring"

    # kind, status and risk together: the registry's own answer, row for row
    desk.get_by_role("link", name="清除条件").click()
    desk.get_by_label("类别").select_option("school_canteen")
    desk.get_by_label("状态").select_option("active")
    desk.get_by_role("button", name="查找").click()
    desk.wait_for_url("**kind=school_canteen*")
    expected = registry.get("/businesses", params={"kind": "school_canteen", "status": "active"}).json()
    assert expected["total"] >= 2
    assert sorted(rows(desk)) == sorted(item["name"] for item in expected["items"])
    assert "学校食堂" in desk.locator("tbody").inner_text()
    risk = expected["items"][0]["risk_level"]
    desk.get_by_label("风险等级").select_option(risk)
    desk.get_by_role("button", name="查找").click()
    desk.wait_for_url(f"**risk_level={risk}*")
    expected = registry.get(
        "/businesses", params={"kind": "school_canteen", "status": "active", "risk_level": risk}
    ).json()
    assert sorted(rows(desk)) == sorted(item["name"] for item in expected["items"])

    # a hand-edited address: unknown values are dropped, never a 500
    answer = desk.goto(
        "/township/businesses?kind=<script>&village_id=qingyun.xishui.hecun&page=-3&q=" + "x" * 500
    )
    assert answer is not None and answer.status == 200
    assert desk.get_by_label("类别").input_value() == ""
    assert desk.get_by_label("所在村").input_value() == ""


def test_the_office_opens_a_business_with_its_licences_staff_and_certificates(
    desk: Any, web_system: WebSystem
) -> None:
    registry = api(web_system, DONGSHAN_OFFICE)
    today = now_beijing().date()
    tag = uuid.uuid4().hex[:6]
    business = register_via_api(
        registry,
        f"东山{tag}酒家",
        operator="周海涛",
        business_licence={
            "number": f"91{tag}",
            "issued_on": (today - timedelta(days=400)).isoformat(),
            "expires_on": (today + timedelta(days=3000)).isoformat(),
        },
    )
    cook = registry.post(
        f"/businesses/{business['id']}/staff",
        json={
            "name": "王大厨",
            "position": "厨师",
            "certificate": {"number": f"JK{tag}", "issued_on": (today - timedelta(days=370)).isoformat()},
        },
    )
    assert cook.status_code == 201, cook.text
    helper = registry.post(f"/businesses/{business['id']}/staff", json={"name": "李帮厨", "position": "帮厨"})
    assert helper.status_code == 201, helper.text

    sign_in(desk, DONGSHAN_OFFICE)
    desk.get_by_label("名称、经营者、地址或证号").fill(tag)
    desk.get_by_role("button", name="查找").click()
    desk.get_by_role("link", name=f"东山{tag}酒家").click()
    desk.wait_for_url(f"**/township/businesses/{business['id']}")
    main = desk.locator("main").inner_text()
    assert "周海涛" in main and "餐饮服务" in main and "上村" in main
    licences = desk.locator("table[aria-labelledby=licences-title]").inner_text()
    assert "营业执照" in licences and f"91{tag}" in licences
    staff = desk.locator("table[aria-labelledby=staff-title]").inner_text()
    states = {
        member["name"]: member["certificate_state"]
        for member in registry.get(f"/businesses/{business['id']}/staff").json()
    }
    words = {"valid": "有效", "expiring": "即将到期", "expired": "已过期", "missing": "无健康证"}
    assert "王大厨" in staff and f"JK{tag}" in staff and words[states["王大厨"]] in staff
    assert "李帮厨" in staff and states["李帮厨"] == "missing" and "无健康证" in staff
    assert "missing" not in main and "business_licence" not in main
    check_accessibility(desk)


def test_the_office_registers_a_business_and_corrects_it(desk: Any, web_system: WebSystem) -> None:
    registry = api(web_system, DONGSHAN_OFFICE)
    tag = uuid.uuid4().hex[:6]
    today = now_beijing().date()
    sign_in(desk, DONGSHAN_OFFICE)
    desk.get_by_role("link", name="登记经营主体").click()
    desk.wait_for_url("**/township/businesses/new")
    check_accessibility(desk)

    # the form's own checks: a missing name, a licence that ends before it was issued
    desk.get_by_label("类别").select_option("catering")
    desk.get_by_label("所在村").select_option(SHANGCUN)
    desk.get_by_label("经营者").fill("孙红霞")
    desk.get_by_label("营业执照号").fill(f"91{tag}")
    desk.get_by_label("营业执照发证日期").fill(today.isoformat())
    desk.get_by_label("营业执照有效期至").fill((today - timedelta(days=1)).isoformat())
    desk.get_by_role("button", name="登记", exact=True).click()
    alert = desk.get_by_role("alert")
    alert.wait_for()
    assert "名称" in alert.inner_text() and "营业执照有效期至" in alert.inner_text()
    assert "不能早于发证日期" in desk.locator("#e-bl_expires_on").inner_text()
    assert desk.get_by_label("经营者").input_value() == "孙红霞"
    assert desk.get_by_label("所在村").input_value() == SHANGCUN
    check_accessibility(desk)

    # the registry's own refusal (a licence number it does not accept), shown on the field
    desk.get_by_label("名称").fill(f"上村{tag}土菜馆")
    desk.get_by_label("营业执照号").fill("91 #!")
    desk.get_by_label("营业执照有效期至").fill((today + timedelta(days=1800)).isoformat())
    with desk.expect_response(lambda r: r.request.method == "POST") as info:
        desk.get_by_role("button", name="登记", exact=True).click()
    assert info.value.status == 422
    assert "营业执照号" in desk.locator("#e-bl_number").inner_text()
    assert desk.get_by_label("名称").input_value() == f"上村{tag}土菜馆"
    assert registry.get("/businesses", params={"q": tag}).json()["total"] == 0  # nothing half-written

    desk.get_by_label("营业执照号").fill(f"91{tag}")
    desk.get_by_role("button", name="登记", exact=True).click()
    desk.wait_for_url("**/township/businesses/*?saved=registered")
    assert "已登记" in desk.get_by_role("status").first.inner_text()
    (stored,) = registry.get("/businesses", params={"q": tag}).json()["items"]
    assert stored["name"] == f"上村{tag}土菜馆" and stored["village_id"] == SHANGCUN
    assert stored["operator"] == "孙红霞" and stored["kind"] == "catering"
    assert [(lic["kind"], lic["number"]) for lic in stored["licences"]] == [("business_licence", f"91{tag}")]
    check_accessibility(desk)

    # correct it: an emptied name is refused on the field; then a new operator and village
    desk.get_by_role("link", name="修改登记信息").click()
    desk.wait_for_url("**/edit")
    check_accessibility(desk)
    desk.get_by_label("名称").fill("")
    desk.get_by_label("经营者").fill("马永福")
    desk.get_by_role("button", name="保存修改").click()
    desk.get_by_role("alert").wait_for()
    assert "名称" in desk.locator("#e-name").inner_text()
    assert desk.get_by_label("经营者").input_value() == "马永福"
    desk.get_by_label("名称").fill(f"上村{tag}土菜馆")
    desk.get_by_label("所在村").select_option(NANWAN)
    desk.get_by_role("button", name="保存修改").click()
    desk.wait_for_url("**?saved=corrected")
    assert "南湾村" in desk.locator("main").inner_text()
    now = registry.get(f"/businesses/{stored['id']}").json()
    assert now["operator"] == "马永福" and now["village_id"] == NANWAN and now["name"] == f"上村{tag}土菜馆"


def test_a_form_sent_twice_registers_one_business(web_system: WebSystem) -> None:
    """The same form posted twice (a double click past the script, a retry after a dropped answer)
    carries the same idempotency key: one business."""
    tag = uuid.uuid4().hex[:6]
    http = http_signed_in(web_system.url, DONGSHAN_OFFICE)
    try:
        form = http.get("/township/businesses/new").text
        key = form.split('name="idempotency_key" value="')[1].split('"')[0]
        data = {
            "csrf_token": csrf_of(form),
            "idempotency_key": key,
            "name": f"下村{tag}面馆",
            "kind": "catering",
            "village_id": "qingyun.dongshan.xiacun",
        }
        answers = [http.post("/township/businesses", data=data) for _ in range(2)]
    finally:
        http.close()
    assert [answer.status_code for answer in answers] == [303, 303]
    assert answers[0].headers["location"] == answers[1].headers["location"]
    assert api(web_system, DONGSHAN_OFFICE).get("/businesses", params={"q": tag}).json()["total"] == 1


def test_another_townships_business_is_the_chinese_not_found_page(desk: Any, web_system: WebSystem) -> None:
    other = register_via_api(
        api(web_system, XISHUI_OFFICE), f"河村{uuid.uuid4().hex[:6]}饭店", "qingyun.xishui.hecun"
    )
    sign_in(desk, DONGSHAN_OFFICE)
    for path in (
        f"/township/businesses/{other['id']}",
        f"/township/businesses/{other['id']}/edit",
        "/township/businesses/not-an-id",
    ):
        answer = desk.goto(path)
        assert answer is not None and answer.status == 404, path
        assert "找不到这个页面或记录" in desk.locator("h1").inner_text()
        assert other["name"] not in desk.content()
    check_accessibility(desk)
    # and a correction posted to it changes nothing
    token = csrf_of(desk.content())
    forged = desk.request.post(
        f"/township/businesses/{other['id']}", form={"csrf_token": token, "name": "改名", "kind": "catering"}
    )
    assert forged.status == 404
    assert api(web_system, XISHUI_OFFICE).get(f"/businesses/{other['id']}").json()["name"] == other["name"]


@pytest.mark.parametrize("mobile", [SHANGCUN_COORDINATOR, DONGSHAN_INSPECTOR])
def test_other_roles_get_the_forbidden_page(desk: Any, mobile: str) -> None:
    sign_in(desk, mobile)
    answer = desk.goto("/township/businesses")
    assert answer is not None and answer.status == 403
    assert "您没有权限做这件事" in desk.locator("h1").inner_text()


def ledger_csv(tag: str) -> str:
    """A ledger as a township keeps it: Chinese headers, three good rows and three bad ones."""
    lines = [
        "名称,类型,所在村,经营者,地址,营业执照号,营业执照发证日期,营业执照有效期至",
        f"{tag}甲餐馆,餐饮单位,上村,王一,上村1号,91A{tag},2024-03-01,2030-03-01",
        f"{tag}乙小卖部,杂货店,下村,王二,下村2号,,,",
        f"{tag}丙作坊,小作坊,北坡村,王三,北坡村3号,,,",
        f"{tag}丁饭店,餐饮单位,河村,王四,河村4号,,,",  # 河村 is 西水乡's
        ",餐饮单位,上村,王五,上村5号,,,",  # no name
        f"{tag}戊面馆,餐饮单位,南湾村,王六,南湾村6号,91A{tag},2024-03-01,2030-03-01",  # a number used above
    ]
    return "\n".join(lines) + "\n"


def test_the_office_imports_a_ledger_and_sees_the_rejected_rows(
    desk: Any, web_system: WebSystem, tmp_path: Any
) -> None:
    registry = api(web_system, DONGSHAN_OFFICE)
    tag = uuid.uuid4().hex[:6]
    ledger = tmp_path / "台账.csv"
    ledger.write_text(ledger_csv(tag), encoding="utf-8")
    sign_in(desk, DONGSHAN_OFFICE)
    desk.get_by_role("link", name="导入台账").click()
    desk.wait_for_url("**/township/imports/new")
    check_accessibility(desk)

    # a file that is not a ledger: refused, said on the field
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    desk.get_by_label("台账文件").set_input_files(str(tmp_path / "notes.txt"))
    desk.get_by_role("button", name="开始导入").click()
    expect(desk.locator("#e-file")).to_contain_text("只能导入 CSV 或 XLSX 文件")
    check_accessibility(desk)

    # the ledger: progress is followed by polling until the registry's report is shown
    desk.get_by_label("台账文件").set_input_files(str(ledger))
    desk.get_by_role("button", name="开始导入").click()
    desk.wait_for_url("**/township/imports/*")
    result = desk.locator("#import-result")
    expect(result).to_contain_text("导入完成：6 行中导入 3 家，3 行未通过", timeout=60_000)
    rejected = desk.locator("table[aria-labelledby=rejected-title]").inner_text()
    assert "第 5 行" in rejected and "本乡镇没有这个村：河村" in rejected
    assert "第 6 行" in rejected and "名称" in rejected and "必须填写" in rejected
    assert "第 7 行" in rejected and "营业执照号" in rejected and "与第 2 行的证号重复" in rejected
    assert "unknown" not in rejected and "required" not in rejected
    check_accessibility(desk)
    names = sorted(item["name"] for item in registry.get("/businesses", params={"q": tag}).json()["items"])
    assert names == sorted([f"{tag}甲餐馆", f"{tag}乙小卖部", f"{tag}丙作坊"])

    # every rejection, as CSV, passed through from the registry
    with desk.expect_download() as info:
        desk.get_by_role("link", name="下载全部未通过的行（CSV）").click()
    content = tmp_path / "rejections.csv"
    info.value.save_as(content)
    text = content.read_text(encoding="utf-8-sig")
    assert "河村" in text and text.count("\n") >= 4

    # the job is the office's own: another office gets the 404 page
    job = desk.url
    other = desk.context.browser.new_context(base_url=web_system.url, viewport=DESK)
    try:
        stranger = other.new_page()
        sign_in(stranger, XISHUI_OFFICE)
        for path in (job, job + "/status", job + "/rejections.csv"):
            answer = stranger.goto(path)
            assert answer is not None and answer.status == 404, path
    finally:
        other.close()


def test_a_file_the_registry_refuses_as_a_whole_imports_nothing(
    desk: Any, web_system: WebSystem, tmp_path: Any
) -> None:
    ledger = tmp_path / "旧台账.csv"
    ledger.write_text("店名,老板\n某某饭店,张三\n", encoding="utf-8")
    before = api(web_system, DONGSHAN_OFFICE).get("/businesses", params={"limit": 1}).json()["total"]
    sign_in(desk, DONGSHAN_OFFICE)
    desk.goto("/township/imports/new")
    desk.get_by_label("台账文件").set_input_files(str(ledger))
    desk.get_by_role("button", name="开始导入").click()
    alert = desk.get_by_role("alert")
    expect(alert).to_contain_text("文件未被接受", timeout=60_000)
    assert "缺少这些列" in alert.inner_text() or "无法识别的列" in alert.inner_text()
    check_accessibility(desk)
    assert api(web_system, DONGSHAN_OFFICE).get("/businesses", params={"limit": 1}).json()["total"] == before


def inspect(
    web_system: WebSystem, business_id: str, days_ago: int, fail: tuple[str, ...], kind: str = "routine"
) -> dict[str, Any]:
    """The township's inspector records an inspection (as the inspector's app does), once the
    inspection service has heard of the business."""
    from services.inspection.checklists import templates
    from tests.support.waiting import wait_for

    at = now_beijing() - timedelta(days=days_ago)
    template = templates.template_for("catering", on=at.date())
    assert template is not None
    items = [
        {"code": item.code, "result": "fail" if item.code in fail else "pass"} for item in template.items
    ]
    token = httpx.post(
        f"{web_system.urls['identity']}/sessions",
        json={"mobile": DONGSHAN_INSPECTOR, "password": DEMO_PASSWORD},
    ).json()["access_token"]

    def record() -> dict[str, Any] | None:
        answer = httpx.post(
            f"{web_system.urls['inspection']}/inspections",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "business_id": business_id,
                "kind": kind,
                "inspected_at": at.isoformat(),
                "inspectors": ["赵检查", "钱检查"],
                "items": items,
            },
        )
        if answer.status_code == 422 and "unknown business" in answer.text:
            return None
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    return wait_for(record, timeout=20, what="the inspection service to know the business")


def checklist_codes() -> tuple[str, str]:
    """A key item (7 days to put right) and a general one (15 days) of the catering checklist."""
    from services.inspection.checklists import templates

    template = templates.template_for("catering", on=now_beijing().date())
    assert template is not None
    key = next(item.code for item in template.items if item.key)
    general = next(item.code for item in template.items if not item.key)
    return key, general


def test_the_office_follows_rectification_orders_nearest_deadline_first(
    desk: Any, web_system: WebSystem
) -> None:
    registry = api(web_system, DONGSHAN_OFFICE)
    tag = uuid.uuid4().hex[:6]
    late = register_via_api(registry, f"{tag}迟改饭店")
    fresh = register_via_api(registry, f"{tag}新查餐馆")
    key, general = checklist_codes()
    found = inspect(web_system, late["id"], 20, (key, general))  # 7 and 15 days: both past
    inspect(web_system, fresh["id"], 0, (general,))  # 15 days from today
    # the key item is put right: a re-inspection today verifies its order, late
    again = inspect(web_system, late["id"], 0, (general,), kind="reinspection")

    sign_in(desk, DONGSHAN_OFFICE)
    desk.get_by_role("link", name="整改督办").click()
    desk.wait_for_url("**/township/rectifications")
    check_accessibility(desk)
    inspection = httpx.Client(
        base_url=web_system.urls["inspection"], headers=dict(registry.headers), timeout=30
    )
    expected = inspection.get("/rectifications", params={"status": "open"}).json()["items"]
    rows_text = desk.locator("tbody tr").all_inner_texts()
    assert len(rows_text) == len(expected)
    # nearest deadline first, as the service orders them; ours among them, the late one marked
    ours = [text for text in rows_text if tag in text]
    assert len(ours) == 2
    assert f"{tag}迟改饭店" in ours[0] and "已逾期 5 天" in ours[0] and "一般项" in ours[0]
    assert f"{tag}新查餐馆" in ours[1] and "还剩 15 天" in ours[1]
    assert rows_text.index(ours[0]) < rows_text.index(ours[1])

    desk.get_by_role("link", name="已逾期").click()
    desk.wait_for_url("**state=overdue")
    overdue_rows = desk.locator("tbody tr").all_inner_texts()
    assert any(f"{tag}迟改饭店" in text for text in overdue_rows)
    assert not any(f"{tag}新查餐馆" in text for text in overdue_rows)

    desk.get_by_role("link", name="已复查合格").click()
    desk.wait_for_url("**state=verified")
    verified = [
        order for order in inspection.get("/rectifications", params={"status": "verified"}).json()["items"]
    ]
    (order,) = [item for item in verified if item["business_id"] == late["id"]]
    assert order["verified_by_inspection"] == again["id"] and order["inspection_id"] == found["id"]
    desk.locator(f"a[href='/township/rectifications/{order['id']}']").click()
    desk.wait_for_url(f"**/township/rectifications/{order['id']}")
    text = desk.locator("main").inner_text()
    assert "已复查合格" in text and "关键项" in text and "整改复查" in text and "超过期限" in text
    assert "赵检查、钱检查" in text
    check_accessibility(desk)

    # another township's office cannot open it
    other = desk.context.browser.new_context(base_url=web_system.url, viewport=DESK)
    try:
        stranger = other.new_page()
        sign_in(stranger, XISHUI_OFFICE)
        answer = stranger.goto(f"/township/rectifications/{order['id']}")
        assert answer is not None and answer.status == 404
    finally:
        other.close()


def chinese_date(value: str) -> str:
    from datetime import date

    day = date.fromisoformat(value)
    return f"{day.year}年{day.month}月{day.day}日"


def test_the_office_takes_a_complaint_from_intake_to_closure_with_its_working_day_deadlines(
    desk: Any, web_system: WebSystem
) -> None:
    registry = api(web_system, DONGSHAN_OFFICE)
    tag = uuid.uuid4().hex[:6]
    business = register_via_api(registry, f"{tag}夜市烧烤")
    inspection = httpx.Client(
        base_url=web_system.urls["inspection"], headers=dict(registry.headers), timeout=30
    )
    sign_in(desk, DONGSHAN_OFFICE)
    desk.get_by_role("link", name="投诉举报").click()
    desk.wait_for_url("**/township/complaints")
    check_accessibility(desk)
    desk.get_by_role("link", name="登记投诉举报").click()
    desk.wait_for_url("**/township/complaints/new")
    check_accessibility(desk)

    # refused by the form: no content; a time in the future; what was typed stays
    desk.get_by_label("来源渠道").select_option("phone")
    desk.get_by_label("涉及的经营主体").select_option(business["id"])
    desk.get_by_label("投诉人").fill("周先生")
    desk.get_by_label("收到时间").fill((now_beijing() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    desk.get_by_role("button", name="登记", exact=True).click()
    alert = desk.get_by_role("alert")
    alert.wait_for()
    assert "投诉内容" in alert.inner_text() and "收到时间" in alert.inner_text()
    assert "不能晚于现在" in desk.locator("#e-received_at").inner_text()
    assert desk.get_by_label("投诉人").input_value() == "周先生"
    assert desk.get_by_label("涉及的经营主体").input_value() == business["id"]
    check_accessibility(desk)

    received = now_beijing() - timedelta(days=12)
    desk.get_by_label("收到时间").fill(received.strftime("%Y-%m-%dT%H:%M"))
    desk.get_by_label("投诉内容").fill(f"{tag}烧烤摊食材露天堆放，吃后腹泻")
    desk.get_by_role("button", name="登记", exact=True).click()
    desk.wait_for_url("**/township/complaints/*?saved=received")
    complaint_id = desk.url.split("/complaints/")[1].split("?")[0]
    stored = inspection.get(f"/complaints/{complaint_id}").json()
    assert stored["status"] == "received" and stored["business_id"] == business["id"]
    assert stored["channel"] == "phone" and stored["complainant"] == "周先生"
    # the deadlines as the service set them in working days, shown against today
    assert chinese_date(stored["accept_due"]) in desk.locator("#accept-due").inner_text()
    assert chinese_date(stored["verify_due"]) in desk.locator("#verify-due").inner_text()
    from datetime import date

    late_by = (now_beijing().date() - date.fromisoformat(stored["accept_due"])).days
    assert late_by > 0  # 12 days ago: past 7 working days
    assert (
        f"受理期限 {chinese_date(stored['accept_due'])}（7 个工作日），已超期 {late_by} 天"
        in desk.locator("#due-now").inner_text()
    )
    check_accessibility(desk)

    # refusing needs a reason (said on the field); then accepted
    desk.get_by_label("不予受理", exact=True).check()
    desk.get_by_role("button", name="提交决定").click()
    expect(desk.locator("#e-reason")).to_contain_text("不予受理时必须写明理由")
    assert inspection.get(f"/complaints/{complaint_id}").json()["status"] == "received"
    desk.get_by_label("受理", exact=True).check()
    desk.get_by_role("button", name="提交决定").click()
    desk.wait_for_url("**?saved=decided")
    assert "核查办结期限" in desk.locator("#due-now").inner_text()

    # assigned (an empty name refused on the field), then closed with the result
    desk.get_by_role("button", name="指派").click()
    expect(desk.locator("#e-assignee")).to_contain_text("必须填写")
    desk.get_by_role("textbox", name="承办检查员").fill("东山镇检查员")
    desk.get_by_role("button", name="指派").click()
    desk.wait_for_url("**?saved=assigned")
    desk.get_by_label("办理结果").fill("现场核查属实，责令整改，食材已改为冷藏")
    desk.get_by_role("button", name="办结").click()
    desk.wait_for_url("**?saved=closed")
    check_accessibility(desk)
    done = inspection.get(f"/complaints/{complaint_id}").json()
    assert done["status"] == "closed" and done["assignee"] == "东山镇检查员"
    assert done["result"] == "现场核查属实，责令整改，食材已改为冷藏"
    assert "已办结" in desk.locator("h1").inner_text()

    # the list shows it under 已办结
    desk.goto("/township/complaints?status=closed")
    assert any(tag in text for text in desk.locator("tbody tr").all_inner_texts())
    check_accessibility(desk)


def test_the_office_writes_the_half_year_summary_previews_it_and_downloads_docx_and_pdf(
    desk: Any, web_system: WebSystem, tmp_path: Any
) -> None:
    import io
    import zipfile

    tag = uuid.uuid4().hex[:6]
    today = now_beijing().date()
    period = f"{today.year}-H{1 if today.month <= 6 else 2}"
    sign_in(desk, DONGSHAN_OFFICE)
    desk.get_by_role("link", name="半年工作总结").click()
    desk.wait_for_url("**/township/summary")
    check_accessibility(desk)
    desk.get_by_label("一、加强领导，明确职责").fill(f"镇党委政府成立食品安全委员会{tag}，每季度专题研究。")
    desk.get_by_label("存在的问题").fill(f"农村宴席备案率仍然偏低{tag}。")
    desk.get_by_role("button", name="保存").click()
    desk.wait_for_url("**saved=1")
    assert "已保存" in desk.get_by_role("status").first.inner_text()
    assert desk.get_by_label("存在的问题").input_value() == f"农村宴席备案率仍然偏低{tag}。"
    reporting = httpx.Client(
        base_url=web_system.urls["reporting"],
        headers=dict(api(web_system, DONGSHAN_OFFICE).headers),
        timeout=60,
    )
    stored = reporting.get(f"/documents/{DONGSHAN}/sections", params={"period": period}).json()
    texts = {row["section"]: row["text"] for row in stored}
    assert texts["leadership"] == f"镇党委政府成立食品安全委员会{tag}，每季度专题研究。"
    assert texts["problems"] == f"农村宴席备案率仍然偏低{tag}。"
    assert "plan" not in texts  # an empty section is not written

    # a section past the service's limit: refused on the field, the others not saved either
    token = csrf_of(desk.content())
    answer = desk.request.post(
        f"/township/summary?period={period}",
        form={"csrf_token": token, "leadership": "改过的", "plan": "长" * 20_001},
    )
    assert answer.status == 422 and "太长了，最多 20000 个字" in answer.text()
    assert reporting.get(f"/documents/{DONGSHAN}/sections", params={"period": period}).json() == stored

    # the preview: the whole document with the figures, our text in its place
    desk.get_by_role("link", name="预览全文").click()
    desk.wait_for_url("**/township/summary/preview*")
    document = desk.get_by_role("article", name="工作总结全文").inner_text()
    assert f"食品安全委员会{tag}" in document and f"备案率仍然偏低{tag}" in document
    assert "东山镇" in document
    check_accessibility(desk)

    # DOCX and PDF, streamed through the web app with the office's token
    with desk.expect_download() as info:
        desk.get_by_role("link", name="下载 Word（DOCX）").click()
    docx = tmp_path / "summary.docx"
    info.value.save_as(docx)
    assert info.value.suggested_filename.endswith(".docx")
    with zipfile.ZipFile(io.BytesIO(docx.read_bytes())) as archive:
        assert f"食品安全委员会{tag}" in archive.read("word/document.xml").decode("utf-8")
    with desk.expect_download() as info:
        desk.get_by_role("link", name="下载 PDF").click()
    pdf = tmp_path / "summary.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-" and info.value.suggested_filename.endswith(".pdf")

    # an unknown format or a period not offered: no document of another kind or time
    answer = desk.goto("/township/summary/download.exe")
    assert answer is not None and answer.status == 404
    desk.goto("/township/summary?period=1999-H1")
    assert desk.get_by_label("总结期间").input_value() == period


def test_the_office_sees_campaign_progress_and_banquets_and_records_letters_publicity_and_trainings(
    desk: Any, web_system: WebSystem
) -> None:
    from tests.support.web import COUNTY

    tag = uuid.uuid4().hex[:6]
    today = now_beijing().date()
    office = api(web_system, DONGSHAN_OFFICE)
    headers = dict(office.headers)
    county = api(web_system, COUNTY)
    launched = httpx.post(
        f"{web_system.urls['inspection']}/campaigns",
        headers=dict(county.headers),
        json={
            "name": f"秋冬校园食品安全专项{tag}",
            "kind": "special",
            "focus_places": ["校园周边"],
            "starts_on": (today - timedelta(days=5)).isoformat(),
            "ends_on": (today + timedelta(days=25)).isoformat(),
            "targets": {DONGSHAN: 4, "qingyun.xishui": 2},
        },
    )
    assert launched.status_code == 201, launched.text
    business = register_via_api(office, f"{tag}校园旁小吃")
    inspect(web_system, business["id"], 1, ())  # a routine one: not the campaign's
    campaign_id = launched.json()["id"]
    token = httpx.post(
        f"{web_system.urls['identity']}/sessions",
        json={"mobile": DONGSHAN_INSPECTOR, "password": DEMO_PASSWORD},
    ).json()["access_token"]
    from services.inspection.checklists import templates

    template = templates.template_for("catering", on=today)
    assert template is not None
    done = httpx.post(
        f"{web_system.urls['inspection']}/inspections",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "business_id": business["id"],
            "kind": "campaign",
            "campaign_id": campaign_id,
            "inspectors": ["赵检查"],
            "items": [{"code": item.code, "result": "pass"} for item in template.items],
        },
    )
    assert done.status_code == 201, done.text
    coordinator = api(web_system, SHANGCUN_COORDINATOR)
    banquet = coordinator.post(
        "/banquets",
        json={
            "village_id": SHANGCUN,
            "host": f"李{tag}",
            "occasion": "wedding",
            "held_on": (today + timedelta(days=6)).isoformat(),
            "venue": "上村祠堂",
            "tables": 20,
            "people": 200,
            "cook": {"name": "王师傅", "health_status": "certified"},
            "food_sources": ["镇农贸市场"],
        },
    )
    assert banquet.status_code == 201, banquet.text

    sign_in(desk, DONGSHAN_OFFICE)
    desk.get_by_role("link", name="专项整治").click()
    desk.wait_for_url("**/township/campaigns")
    row = desk.locator("tr", has_text=f"秋冬校园食品安全专项{tag}").inner_text()
    progress = httpx.get(
        f"{web_system.urls['inspection']}/campaigns/{campaign_id}/progress", headers=headers
    ).json()
    (own,) = [item for item in progress["townships"] if item["township_id"] == DONGSHAN]
    assert own["done"] == 1 and own["target"] == 4
    assert "完成 1 / 4 次（25%）" in row and "专项整治" in row
    check_accessibility(desk)

    desk.get_by_role("link", name="农村宴席").click()
    desk.wait_for_url("**/township/banquets")
    row = desk.locator("tr", has_text=f"李{tag}").inner_text()
    assert "上村" in row and "婚宴" in row and "20 桌 200 人" in row and "需现场指导" in row
    check_accessibility(desk)

    # a letter: with a village, the village must be named (said on the field)
    desk.get_by_role("link", name="责任书").click()
    desk.wait_for_url("**/township/letters")
    check_accessibility(desk)
    desk.get_by_label("签订对象").select_option("village")
    desk.get_by_role("button", name="记录").click()
    expect(desk.locator("#e-village_id")).to_contain_text("必须填写")
    desk.get_by_label("村（与村签订时）").select_option(NANWAN)
    desk.get_by_label("签字人").fill(f"陈{tag}")
    desk.get_by_role("button", name="记录").click()
    desk.wait_for_url("**/township/letters?saved=1")
    letters = httpx.get(f"{web_system.urls['registry']}/letters", headers=headers).json()
    assert any(item["signatory"] == f"陈{tag}" and item["village_id"] == NANWAN for item in letters)
    assert f"陈{tag}" in desk.locator("table").inner_text() and "南湾村" in desk.locator("table").inner_text()

    # publicity: a negative count is refused on its field; then recorded
    desk.get_by_role("link", name="宣传").click()
    desk.wait_for_url("**/township/publicity")
    check_accessibility(desk)
    desk.get_by_label("主题").fill(f"食品安全宣传周{tag}")
    desk.get_by_label("形式").select_option("publicity_point")
    desk.get_by_label("日期").fill(today.isoformat())
    desk.get_by_label("资料（份）").fill("-5")
    desk.get_by_role("button", name="记录").click()
    expect(desk.locator("#e-leaflets")).to_be_visible()
    assert desk.get_by_label("主题").input_value() == f"食品安全宣传周{tag}"
    desk.get_by_label("资料（份）").fill("500")
    desk.get_by_label("咨询人数").fill("120")
    desk.get_by_role("button", name="记录").click()
    desk.wait_for_url("**/township/publicity?saved=1")
    events = httpx.get(f"{web_system.urls['reporting']}/activities/publicity", headers=headers).json()[
        "items"
    ]
    (event,) = [item for item in events if item["title"] == f"食品安全宣传周{tag}"]
    assert (event["leaflets"], event["people_consulted"], event["kind"]) == (500, 120, "publicity_point")

    desk.get_by_role("link", name="培训").click()
    desk.wait_for_url("**/township/trainings")
    desk.get_by_label("主题").fill(f"村协管员培训{tag}")
    desk.get_by_label("培训对象").select_option("coordinators")
    desk.get_by_label("日期").fill(today.isoformat())
    desk.get_by_label("参训人数").fill("28")
    desk.get_by_label("学时").fill("2.5")
    desk.get_by_role("button", name="记录").click()
    desk.wait_for_url("**/township/trainings?saved=1")
    trainings = httpx.get(f"{web_system.urls['reporting']}/activities/trainings", headers=headers).json()[
        "items"
    ]
    (training,) = [item for item in trainings if item["title"] == f"村协管员培训{tag}"]
    assert (training["attendees"], training["hours"], training["audience"]) == (28, 2.5, "coordinators")
    assert "村协管员、信息员" in desk.locator("table").inner_text()
    check_accessibility(desk)


def test_a_large_ledger_shows_its_progress_while_the_registry_checks_it(
    desk: Any, web_system: WebSystem, tmp_path: Any
) -> None:
    """20,000 rows (2 MB), checked only: the page polls the job and shows it under way, then the
    report; nothing is written."""
    tag = uuid.uuid4().hex[:6]
    rows_ = ["名称,类型,所在村,经营者,地址"] + [
        f"{tag}店{index:05d},杂货店,上村,王{index},上村{index}号" for index in range(20_000)
    ]
    ledger = tmp_path / "大台账.csv"
    ledger.write_text("\n".join(rows_) + "\n", encoding="utf-8")
    seen: list[str] = []
    desk.on(
        "response",
        lambda r: (
            seen.append(r.text()) if "/township/imports/" in r.url and r.request.method == "GET" else None
        ),
    )
    sign_in(desk, DONGSHAN_OFFICE)
    desk.goto("/township/imports/new")
    desk.get_by_label("台账文件").set_input_files(str(ledger))
    desk.get_by_label("只检查，不写入登记").check()
    desk.get_by_role("button", name="开始导入").click()
    desk.wait_for_url("**/township/imports/*")
    expect(desk.locator("#import-result")).to_contain_text(
        "检查完成：20000 行中 20000 行可以导入", timeout=180_000
    )
    # the page (and its polls) said it was under way before the report came
    assert any("正在" in text or "已上传" in text for text in seen if "import-status" in text), seen[:3]
    assert "hx-trigger" not in desk.locator("#import-status").evaluate("node => node.outerHTML")  # stopped
    check_accessibility(desk)
    assert api(web_system, DONGSHAN_OFFICE).get("/businesses", params={"q": tag}).json()["total"] == 0
