"""The web process as a backend-for-frontend under stress, against the real system: a token
refreshed once by a burst of requests (identity would end a session whose refresh token is used
twice), a session revoked at identity sends the browser back to sign-in, a service down gives the
Chinese 503 page and not a 500, and hostile input is refused on its field and never echoed raw."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
import sqlalchemy as sa

from tests.support.web import (
    DEMO_PASSWORD,
    SHANGCUN_COORDINATOR,
    XIACUN_COORDINATOR,
    WebSystem,
    csrf_of,
    http_signed_in,
    session_key,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def coordinator(web_system: WebSystem) -> httpx.Client:
    """上村's coordinator, signed in once for the module (identity allows 10 sign-ins a minute
    per account)."""
    return http_signed_in(web_system.url, SHANGCUN_COORDINATOR)


def _cookie(http: httpx.Client) -> str:
    return next(value for name, value in http.cookies.items() if name.endswith("shian_session"))


def _stored(web_system: WebSystem, http: httpx.Client) -> tuple[redis.Redis, str, dict]:
    assert web_system.system.redis_url is not None
    client = redis.Redis.from_url(web_system.system.redis_url)
    key = session_key(web_system.system.settings.stream_prefix, _cookie(http))
    raw = client.get(key)
    assert raw is not None, "the web session is not in Redis"
    return client, key, json.loads(raw)


def test_the_tokens_stay_on_the_server_and_a_burst_refreshes_them_once(web_system: WebSystem) -> None:
    http = http_signed_in(web_system.url, SHANGCUN_COORDINATOR)
    client, key, record = _stored(web_system, http)
    page = http.get("/village")
    assert page.status_code == 200
    assert record["access_token"] not in page.text and record["refresh_token"] not in page.text
    assert record["access_token"] not in _cookie(http)

    # the access token is about to end: twenty requests at once all succeed, on one refresh
    record["access_expires_at"] = time.time() + 5
    client.set(key, json.dumps(record), keepttl=True)
    cookies = dict(http.cookies.items())

    def load(_: int) -> int:
        with httpx.Client(base_url=web_system.url, cookies=cookies, timeout=60) as one:
            return one.get("/village").status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(load, range(20)))
    assert codes == [200] * 20
    refreshed = json.loads(client.get(key) or b"{}")
    assert refreshed["refresh_token"] != record["refresh_token"]
    assert refreshed["access_expires_at"] > time.time() + 60
    # identity still takes the session: had the old refresh token been used twice, it would not
    assert http.get("/village").status_code == 200
    ttl = client.ttl(key)
    assert 0 < ttl <= 12 * 3600


def test_a_session_revoked_at_identity_sends_the_browser_back_to_sign_in(web_system: WebSystem) -> None:
    http = http_signed_in(web_system.url, XIACUN_COORDINATOR)
    _client, _key, record = _stored(web_system, http)
    ended = httpx.delete(
        f"{web_system.urls['identity']}/sessions/current",
        headers={"Authorization": f"Bearer {record['access_token']}"},
    )
    assert ended.status_code == 204

    def sent_back() -> bool:
        answer = http.get("/village")
        return answer.status_code == 303 and answer.headers["location"] == "/signin"

    deadline = time.monotonic() + 30  # the services learn of the revocation from identity's stream
    while not sent_back():
        assert time.monotonic() < deadline, "the revoked session still opens pages"
        time.sleep(0.2)
    # the stale session is gone: the sign-in page shows its form, no loop back into the app
    landing = http.get("/village", follow_redirects=True)
    assert landing.status_code == 200 and str(landing.url).endswith("/signin")
    assert 'name="password"' in landing.text
    htmx = http.get(
        "/village/banquets/hint",
        params={"occasion": "wedding", "held_on": "2030-01-01", "people": 60, "tables": 6},
        headers={"HX-Request": "true"},
    )
    assert htmx.headers.get("hx-redirect") == "/signin"


def test_a_service_down_gives_the_chinese_503_page_not_a_500(
    web_system: WebSystem, coordinator: httpx.Client
) -> None:
    http = coordinator
    system = web_system.system
    system.kill("alerts")
    try:
        answer = http.get("/village")
        assert answer.status_code == 503
        assert "服务暂时不可用" in answer.text and answer.headers["retry-after"] == "5"
        report = http.post(
            "/village/incidents",
            data={
                "place_kind": "banquet",
                "ill_count": "3",
                "description": "服务不可用时的上报",
                "csrf_token": csrf_of(http.get("/village/incidents/new").text),
            },
        )
        assert report.status_code == 503 and "服务暂时不可用" in report.text
    finally:
        system.restart("alerts")
        system.wait_ready(timeout=120)
    assert http.get("/village").status_code == 200


@pytest.mark.parametrize(
    ("fields", "field_error"),
    [
        ({"ill_count": "1e9"}, "发病人数：请填写整数"),
        ({"ill_count": "-1"}, "发病人数：不能小于 0"),
        ({"ill_count": "99999999999999999999"}, "发病人数：不能大于 1000000"),
        ({"place_kind": "spaceship"}, "发生场所：请从选项中选择"),
        ({"onset_at": "2999-01-01T00:00"}, "首例发病时间：不能晚于现在"),
        ({"onset_at": "yesterday"}, "首例发病时间：时间格式不对"),
        ({"description": "x" * 4001}, "情况描述：太长了，最多 4000 个字"),
        ({"description": ""}, "情况描述：必须填写"),
    ],
)
def test_hostile_reports_are_refused_on_their_field_and_never_echoed_raw(
    coordinator: httpx.Client, fields: dict[str, str], field_error: str
) -> None:
    http = coordinator
    form = {
        "place_kind": "banquet",
        "ill_count": "3",
        "description": "<script>alert(1)</script>",
        "csrf_token": csrf_of(http.get("/village/incidents/new").text),
        **fields,
    }
    answer = http.post("/village/incidents", data=form)
    assert answer.status_code == 422, answer.text[:300]
    assert field_error in answer.text
    assert "<script>alert(1)</script>" not in answer.text
    if fields.get("description", "").startswith("<") or "description" not in fields:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text  # kept, escaped


def test_addresses_that_are_not_record_ids_give_the_404_page(coordinator: httpx.Client) -> None:
    http = coordinator
    for path in (
        "/village/incidents/..%2F..%2Fmetrics",
        "/village/incidents/%00",
        "/village/banquets/' OR 1=1 --",
        "/village/incidents/" + "9" * 5000,
        "/no/such/page",
    ):
        answer = http.get(path)
        assert answer.status_code == 404, path
        assert "找不到这个页面或记录" in answer.text


def test_a_refusal_by_the_service_comes_back_on_the_form_in_chinese(coordinator: httpx.Client) -> None:
    """The registry, not the web, refuses a certificate number over 60 characters: its 422 is put
    on the form's field in Chinese, and everything typed stays."""
    http = coordinator
    form = {
        "host": "<b>李大山</b>",
        "occasion": "wedding",
        "held_on": "2030-05-01",
        "venue": "上村文化广场",
        "tables": "10",
        "people": "90",
        "cook_name": "王师傅",
        "cook_health": "certified",
        "cook_certificate": "J" * 61,
        "food_sources": "镇农贸市场\n自家菜地",
        "csrf_token": csrf_of(http.get("/village/banquets/new").text),
    }
    answer = http.post("/village/banquets", data=form)
    assert answer.status_code == 422, answer.text[:300]
    assert "健康证编号：太长了，最多 60 个字" in answer.text
    assert 'value="' + "J" * 61 + '"' in answer.text
    assert "&lt;b&gt;李大山&lt;/b&gt;" in answer.text and "<b>李大山</b>" not in answer.text
    assert "镇农贸市场\n自家菜地" in answer.text
    assert 'id="hint-required"' in answer.text  # the hint is shown again with the form


def test_identity_records_the_browsers_address_that_the_web_forwards(web_system: WebSystem):
    """Identity counts and records sign-ins per browser address, not all of them as the web's:
    the web forwards the address it sees (here a proxy in front of it names the browser)."""
    http = httpx.Client(base_url=web_system.url, follow_redirects=False, timeout=30)
    token = csrf_of(http.get("/signin").text)
    answer = http.post(
        "/signin",
        data={"mobile": XIACUN_COORDINATOR, "password": DEMO_PASSWORD, "csrf_token": token},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert answer.status_code == 303, answer.text[:300]
    engine = sa.create_engine(web_system.system.settings.database_url("identity"))
    try:
        with engine.connect() as connection:
            address = connection.execute(
                sa.text("SELECT address FROM sign_in_sessions ORDER BY created_at DESC LIMIT 1")
            ).scalar_one()
    finally:
        engine.dispose()
    assert address == "198.51.100.7"
