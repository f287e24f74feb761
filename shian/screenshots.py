"""Screenshots of each journey's main page, for the README: `make screenshots` (`shian screenshots`).

Starts the whole system privately (its own var directory, free ports, its own Redis unless one is
given), loads the demo county and accounts as `shian up --demo` does, drives Debian's chromium
(/usr/bin/chromium, through playwright) through each journey and writes one PNG per page into
docs/screenshots/. A journey's pages are a `Shot`: add yours to `SHOTS` (phone 360x740 for people
in the field, desktop otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
DEMO_PASSWORD = "Qingyun#2026"
SHANGCUN_COORDINATOR = "13800010000"
DONGSHAN_OFFICE = "13800000100"
DONGSHAN_INSPECTOR = "13800000200"


@dataclass(frozen=True)
class Shot:
    """A journey's page: who signs in (None: nobody), on which screen, and how to get there."""

    name: str  # the file: docs/screenshots/<name>.png
    mobile: str | None
    phone: bool
    go: Callable[[Any], None]  # drives the page from the role's start page to the one to capture
    idle: bool = True  # wait for the network to go quiet (not for a page with live updates open)


def _sign_in(page: Any, mobile: str) -> None:
    page.goto("/signin")
    page.get_by_label("手机号").fill(mobile)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/signin" not in url)


def _today() -> Any:
    from services.web.labels import now_beijing

    return now_beijing()


def _report_incident(page: Any) -> None:
    page.goto("/village/incidents/new")
    page.get_by_label("发生场所").select_option("banquet")
    page.get_by_label("发病人数").fill("35")
    page.get_by_label("住院人数").fill("3")
    page.get_by_label("首例发病时间").fill((_today() - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("可疑食品").fill("凉拌木耳")
    page.get_by_label("具体地点").fill("上村三组李家院子")
    page.get_by_label("情况描述").fill("寿宴后多人腹泻、呕吐，已送镇卫生院")
    page.get_by_role("button", name="立即上报").click()
    page.wait_for_url("**/village/incidents/*")


def _fill_banquet(page: Any) -> None:
    page.goto("/village/banquets/new")
    page.get_by_label("办宴人").fill("李大山")
    page.get_by_label("宴席类型").select_option("wedding")
    page.get_by_label("举办日期").fill((_today().date() + timedelta(days=2)).isoformat())
    page.get_by_label("桌数").fill("15")
    page.get_by_label("人数").fill("150")
    page.locator("#hint-guidance").wait_for()
    page.get_by_label("举办地点").fill("上村文化广场")


def _file_banquet(page: Any) -> None:
    _fill_banquet(page)
    page.get_by_label("厨师姓名").fill("王师傅")
    page.get_by_label("厨师健康证").select_option("certified")
    page.get_by_label("食材来源").fill("镇农贸市场\n自家菜地")
    page.get_by_role("button", name="提交备案").click()
    page.wait_for_url("**/village/banquets/*")


def _village_start(page: Any) -> None:
    page.goto("/village")


def _console(page: Any) -> None:
    """东山镇's console with the incident reported above, its live updates connected."""
    page.goto("/incidents")
    page.get_by_text("实时更新已连接。").wait_for()


def _console_incident(page: Any) -> None:
    """The incident's page after 东山镇's office acknowledged it and noted what it did."""
    page.goto("/incidents")
    page.locator("#incident-rows a").first.click()
    page.wait_for_url("**/incidents/*")
    if page.get_by_role("button", name="确认响应").count():
        page.locator("#ack-note").fill("已派人赶赴现场")
        page.get_by_role("button", name="确认响应").click()
        page.wait_for_url("**done=acknowledge*")
    page.get_by_text("实时更新已连接。").wait_for()


def _first_business(page: Any) -> None:
    page.goto("/inspector")
    page.locator("[data-worklist] a[data-business]").first.click()
    page.wait_for_url("**/inspector/businesses/*")


def _fill_checklist(page: Any) -> None:
    """A checklist with one failed key item, the verdict shown before submitting."""
    _first_business(page)
    page.get_by_role("link", name="开始检查").click()
    page.wait_for_url("**/inspect")
    page.locator("fieldset.item-check.key").first.get_by_label("不符合", exact=True).check()
    page.get_by_role("button", name="其余未勾选项均为“符合”").click()
    page.locator("#verdict dl").wait_for()


COUNTY_OFFICE = "13800000001"
OPERATIONS = "13800000009"


def _county_policy(page: Any) -> None:
    page.goto("/county/policies/qingyun.dongshan")


SHOTS: tuple[Shot, ...] = (
    Shot("signin", None, True, lambda page: page.goto("/signin")),
    Shot("village-report-form", SHANGCUN_COORDINATOR, True, lambda page: page.goto("/village/incidents/new")),
    Shot("village-incident", SHANGCUN_COORDINATOR, True, _report_incident),
    Shot("village-banquet-form", SHANGCUN_COORDINATOR, True, _fill_banquet),
    Shot("village-banquet", SHANGCUN_COORDINATOR, True, _file_banquet),
    Shot("village-start", SHANGCUN_COORDINATOR, True, _village_start),
    Shot("incidents-console", DONGSHAN_OFFICE, False, _console, idle=False),
    Shot("incidents-incident", DONGSHAN_OFFICE, False, _console_incident, idle=False),
    Shot("incidents-console-phone", DONGSHAN_OFFICE, True, _console, idle=False),
    Shot("inspector-start", DONGSHAN_INSPECTOR, True, lambda page: page.goto("/inspector")),
    Shot("inspector-business", DONGSHAN_INSPECTOR, True, _first_business),
    Shot("inspector-checklist", DONGSHAN_INSPECTOR, True, _fill_checklist),
    Shot("county-overview", COUNTY_OFFICE, False, lambda page: page.goto("/county")),
    Shot("county-township", COUNTY_OFFICE, False, lambda page: page.goto("/county/places/qingyun.dongshan")),
    Shot("county-policy", COUNTY_OFFICE, False, _county_policy),
    Shot("county-accounts", COUNTY_OFFICE, False, lambda page: page.goto("/accounts")),
    Shot("county-map", COUNTY_OFFICE, False, lambda page: page.goto("/county/map")),
    Shot("ops-status", OPERATIONS, False, lambda page: page.goto("/ops")),
    Shot("township-register", DONGSHAN_OFFICE, False, lambda page: page.goto("/township/businesses")),
)


def take(browser: Any, base_url: str, out_dir: Path, shots: tuple[Shot, ...] = SHOTS) -> list[Path]:
    """Each shot's page as a full-page PNG in `out_dir`; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for shot in shots:
        options: dict[str, Any] = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai", "base_url": base_url}
        if shot.phone:
            options |= {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
        else:
            options |= {"viewport": DESKTOP}
        context = browser.new_context(**options)
        try:
            page = context.new_page()
            if shot.mobile:
                _sign_in(page, shot.mobile)
            shot.go(page)
            if shot.idle:
                page.wait_for_load_state("networkidle")
            path = out_dir / f"{shot.name}.png"
            page.screenshot(path=str(path), full_page=True)
            written.append(path)
        finally:
            context.close()
    return written


def run(out_dir: Path, redis_url: str | None = None, shots: tuple[Shot, ...] = SHOTS) -> list[Path]:
    """Start the system privately, load the demo, take every shot, stop everything."""
    from playwright.sync_api import sync_playwright

    from shian.demo import private_demo_system

    if not CHROMIUM.exists():
        raise RuntimeError("needs Debian's chromium at /usr/bin/chromium: apt-get install -y chromium")
    with private_demo_system("shots", redis_url=redis_url) as system, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            return take(browser, system.urls["web"], out_dir, shots)
        finally:
            browser.close()
