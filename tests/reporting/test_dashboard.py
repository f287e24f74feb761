"""The dashboard in a real headless browser (Debian's chromium driven by playwright): sign in,
read the key figures, open incidents, overdue rectifications and coverage, download the summary.

Needs `apt-get install -y chromium`; skipped, saying so, where /usr/bin/chromium is missing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.support.county import DONGSHAN, XISHUI
from tests.support.reporting import Known

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"
)
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(known: Known) -> Iterator[str]:
    """The reporting app of the known county on a real port (its runtime already runs)."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            known.county.reporting.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def token(known: Known, who: str) -> str:
    return known.county.headers(who)["Authorization"].removeprefix("Bearer ")


def test_a_township_signs_in_and_reads_its_dashboard(known: Known, served: str, browser, tmp_path: Path):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(f"{served}/dashboard")
    assert page.url.endswith("/dashboard/login")

    page.fill("#token", "not-a-token")
    page.click("#sign-in")
    assert "令牌无效" in page.inner_text("#login-error")

    page.fill("#token", token(known, "dongshan"))
    page.click("#sign-in")
    page.wait_for_selector("#key-figures")
    assert "东山镇" in page.inner_text("#place-name")
    figures = known.stats(DONGSHAN, "dongshan")["figures"]
    for key in ("inspections.total", "businesses.registered", "incidents.reported", "problems.found"):
        shown = page.inner_text(f'[data-key="{key}"] .value')
        assert float(shown) == figures[key]["value"], key
    assert page.locator("#open-incidents tr").count() == 0  # Dongshan's incident is closed
    villages = page.locator("#coverage tr[data-village]")
    assert villages.count() == 2
    assert "100.0%" in page.inner_text("#coverage")

    cookie = next(c for c in context.cookies() if c["name"] == "shian_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    page.click('[data-key="inspections.total"] a')
    page.wait_for_selector("#record-count")
    assert "共 3 条" in page.inner_text("#record-count")
    page.go_back()

    with page.expect_download() as download:
        page.click("#summary-docx")
    saved = tmp_path / "summary.docx"
    download.value.save_as(saved)
    from docx import Document

    assert any("东山镇" in paragraph.text for paragraph in Document(str(saved)).paragraphs)

    page.goto(f"{served}/dashboard?place={XISHUI}")
    assert "not found" in page.content()
    context.close()


def test_the_county_signs_in_with_a_link_and_sees_every_open_incident(known: Known, served: str, browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{served}/dashboard?token={token(known, 'county')}")
    page.wait_for_selector("#open-incidents")
    assert "token=" not in page.url
    assert "青云县" in page.inner_text("#place-name")
    assert page.locator("#open-incidents tr").count() == 2  # header and Xishui's open incident
    assert "腹痛" in page.inner_text("#open-incidents")
    page.click("text=西水乡")
    page.wait_for_selector("#key-figures")
    assert "西水乡" in page.inner_text("#place-name")
    page.click("text=退出")
    page.wait_for_selector("#token")
    page.goto(f"{served}/dashboard")
    assert page.url.endswith("/dashboard/login")
    context.close()
