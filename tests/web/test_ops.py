"""Operations at a desk (1366x900) in headless chromium, against the whole system: the streams,
consumer groups and lag `shian status` shows; a dead letter replayed by its button and then
applied by the group that had failed it; the county office refused the page and the replay."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from redis import Redis

from services.web.county.service import period_code
from shared.bus import DATA_FIELD, OutgoingEvent, encode_message
from shared.catalogue.registry import BusinessRegistered
from shared.events import Envelope
from tests.support.waiting import wait_for
from tests.support.web import (
    COUNTY,
    DEMO_PASSWORD,
    OPS,
    WebSystem,
    check_accessibility,
    csrf_of,
    http_signed_in,
    sign_in,
)

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)
DESK = {"width": 1366, "height": 900}


@pytest.fixture
def desk(browser: Any, web_system: WebSystem) -> Any:
    context = browser.new_context(
        base_url=web_system.url, viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def redis(web_system: WebSystem) -> Any:
    client = Redis.from_url(web_system.system.settings.redis_url)
    yield client
    client.close()


def park_dead_letter(web_system: WebSystem, redis: Redis, name: str) -> str:
    """A business registration that reporting's group gave up on, set aside on the dead-letter
    stream exactly as the bus does after too many deliveries (shared/bus.py)."""
    settings = web_system.system.settings
    envelope = Envelope.wrap(
        BusinessRegistered(
            business_id=uuid.uuid4(),
            name=name,
            kind="catering",
            village_id="qingyun.dongshan.shangcun",
            risk_level="B",
            registered_on=date.today(),
        ),
        county_id="qingyun",
        township_id="qingyun.dongshan",
        actor="registry",
    )
    data = encode_message(
        OutgoingEvent(
            stream=settings.stream("registry"),
            body=envelope.to_bytes(),
            event_id=str(envelope.event_id),
            event_type=envelope.type,
        )
    )
    entry = redis.xadd(
        settings.deadletter_stream,
        {
            "stream": settings.stream("registry"),
            "group": "reporting",
            "entry_id": "0-1",
            "event_id": str(envelope.event_id),
            "event_type": envelope.type,
            "error": "OperationalError: database is locked",
            "deliveries": "5",
            "failed_at": "2026-11-30T06:00:00+00:00",
            DATA_FIELD: data,
        },
    )
    return str(entry.decode() if isinstance(entry, bytes) else entry)


def dead_letter_ids(web_system: WebSystem, redis: Redis) -> list[str]:
    entries: Any = redis.xrange(web_system.system.settings.deadletter_stream)
    return [entry_id.decode() for entry_id, _ in entries or []]


def reporting_names(web_system: WebSystem) -> list[str]:
    token = httpx.post(
        f"{web_system.urls['identity']}/sessions", json={"mobile": COUNTY, "password": DEMO_PASSWORD}
    ).json()["access_token"]
    answer = httpx.get(
        f"{web_system.urls['reporting']}/statistics/qingyun/records/businesses.registered",
        headers={"Authorization": f"Bearer {token}"},
        params={"period": period_code(None), "limit": 500},
    )
    assert answer.status_code == 200, answer.text
    return [str(row.get("name")) for row in answer.json()["records"]]


def test_ops_sees_the_streams_groups_and_lag(desk: Any, web_system: WebSystem) -> None:
    settings = web_system.system.settings
    sign_in(desk, OPS)
    assert desk.url.endswith("/ops")
    streams = desk.locator("#streams")
    expect(streams).to_contain_text(settings.stream("registry"))
    # reporting consumes the registry's stream: its group is listed with its lag
    row = streams.locator("tr", has_text=settings.stream("registry")).filter(has_text="reporting")
    expect(row).to_have_count(1)
    assert row.locator("td").nth(3).inner_text().strip().rstrip("+").isdigit()
    services = desk.locator("#services")
    for name in ("registry", "inspection", "alerts", "reporting", "identity"):
        expect(services).to_contain_text(name)
    expect(services).to_contain_text("正常")
    check_accessibility(desk)


def test_a_dead_letter_is_replayed_by_its_button_and_then_applied(
    desk: Any, web_system: WebSystem, redis: Redis
) -> None:
    name = f"死信重放餐馆{uuid.uuid4().hex[:4]}"
    letter = park_dead_letter(web_system, redis, name)
    assert name not in reporting_names(web_system)
    sign_in(desk, OPS)
    row = desk.locator(f'tr[data-letter="{letter}"]')
    expect(row).to_contain_text("database is locked")
    expect(row).to_contain_text("reporting")
    check_accessibility(desk)

    row.get_by_role("button", name="重放").click()
    desk.wait_for_url("**/ops?replayed=ok")
    expect(desk.get_by_role("status")).to_contain_text("已重放")
    expect(desk.locator(f'tr[data-letter="{letter}"]')).to_have_count(0)
    assert letter not in dead_letter_ids(web_system, redis)
    wait_for(
        lambda: name in reporting_names(web_system), timeout=30, what="reporting applies the replayed event"
    )

    # a second click on a stale page: the letter is gone, nothing is replayed twice
    http = http_signed_in(web_system.url, OPS)
    try:
        token = csrf_of(http.get("/ops").text)
        again = http.post(f"/ops/deadletters/{letter}/replay", data={"csrf_token": token})
        assert again.status_code == 303 and again.headers["location"].endswith("replayed=gone")
        assert http.post("/ops/deadletters/not-an-id/replay", data={"csrf_token": token}).status_code == 404
    finally:
        http.close()
    assert reporting_names(web_system).count(name) == 1


def test_a_county_user_is_refused_the_ops_page_and_its_replay(
    desk: Any, web_system: WebSystem, redis: Redis
) -> None:
    letter = park_dead_letter(web_system, redis, f"不该重放{uuid.uuid4().hex[:4]}")
    sign_in(desk, COUNTY)
    answer = desk.goto("/ops")
    assert answer is not None and answer.status == 403
    expect(desk.get_by_role("heading", level=1)).to_be_visible()
    check_accessibility(desk)

    http = http_signed_in(web_system.url, COUNTY)
    try:
        token = csrf_of(http.get("/county").text)
        refused = http.post(f"/ops/deadletters/{letter}/replay", data={"csrf_token": token})
        assert refused.status_code == 403
    finally:
        http.close()
    assert letter in dead_letter_ids(web_system, redis)
    redis.xdel(web_system.system.settings.deadletter_stream, letter)  # leave the bus as found
