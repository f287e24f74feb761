"""Driving the web app in a real browser: contexts for a phone and a desk, signing in, and the
accessibility check with the vendored axe-core."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from shian.launcher import System

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = REPO / "services" / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"
DEMO_PASSWORD = "Qingyun#2026"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}

# demo accounts (services/identity/demo.py): the county office, operations, each township's office
# and inspector, each village's coordinator
COUNTY = "13800000001"
OPS = "13800000009"
DONGSHAN_OFFICE = "13800000100"
DONGSHAN_INSPECTOR = "13800000200"
SHANGCUN_COORDINATOR = "13800010000"  # 东山镇 上村, 李明
XIACUN_COORDINATOR = "13800010001"  # 东山镇 下村, 王芳
HECUN_COORDINATOR = "13800010100"  # 西水乡 河村, 张伟


@dataclass
class WebSystem:
    system: System
    accounts: list[Any]

    @property
    def url(self) -> str:
        return self.system.urls["web"]

    @property
    def urls(self) -> dict[str, str]:
        return self.system.urls


def logs(system: System) -> str:
    parts = []
    for name, proc in system.processes.items():
        lines = system.log_tail(name, 300).splitlines()
        errors = [line for line in lines if "Error" in line or "Exception" in line or "error" in line]
        parts.append(f"--- {name} ({proc.log_path}) ---\n" + ("\n".join(errors[-12:]) or "(no errors)"))
    return "\n".join(parts)


def phone_context(browser: Any, base_url: str) -> Any:
    """A phone in the field: 360x740, touch, zh-CN, Beijing time."""
    return browser.new_context(
        base_url=base_url,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )


def desktop_context(browser: Any, base_url: str) -> Any:
    return browser.new_context(
        base_url=base_url, viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai"
    )


def sign_in(page: Any, mobile: str, password: str = DEMO_PASSWORD) -> None:
    """Through the sign-in form, as a person would; lands on the role's start page."""
    page.goto("/signin")
    page.get_by_label("手机号").fill(mobile)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/signin" not in url)


def check_accessibility(page: Any) -> list[dict[str, Any]]:
    """Inject the vendored axe-core into the page and fail on any serious or critical violation.
    Returns every violation found (the minor and moderate ones too) for a test to look at."""
    # evaluated through the DevTools protocol: the page's CSP (no inline script) stays in force
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations = result["violations"]
    grave = [v for v in violations if v.get("impact") in ("serious", "critical")]
    assert not grave, f"{page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in grave
    )
    return violations


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def http_signed_in(base_url: str, mobile: str, password: str = DEMO_PASSWORD) -> httpx.Client:
    """An HTTP client (no browser) signed in through the sign-in form, as a browser would be."""
    http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    token = csrf_of(http.get("/signin").text)
    answer = http.post("/signin", data={"mobile": mobile, "password": password, "csrf_token": token})
    assert answer.status_code == 303, answer.text[:500]
    return http


def session_key(prefix: str, cookie_value: str) -> str:
    """Where the web process keeps a browser's session in Redis (services/web/session.py)."""
    return f"{prefix}.web.session:{hashlib.sha256(cookie_value.encode()).hexdigest()}"
