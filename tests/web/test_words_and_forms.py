"""The web app's words and forms, without a browser: every code the services answer with has a
Chinese label, times read as Beijing time, a service's field errors come back in Chinese on the
right field, and CSRF tokens are bound to the browser's cookie."""

from __future__ import annotations

import asyncio
import typing
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from redis.asyncio import Redis

from services.alerts.incidents.models import PlaceKind
from services.alerts.notifications.models import CHANNEL_KINDS
from services.alerts.rules.acknowledgement import TIER_ORDER
from services.registry.banquets.models import HealthStatus, Occasion
from services.registry.businesses.models import BusinessKind
from services.web import csrf
from services.web.forms import Form
from services.web.labels import VOCABULARIES, beijing, zh
from services.web.session import SignInLimiter
from shared.auth import Role
from shared.catalogue.alerts import IncidentLevel, IncidentStatus
from shared.catalogue.registry import BusinessStatus, RiskLevel


@pytest.mark.parametrize(
    ("vocabulary", "codes"),
    [
        ("level", typing.get_args(IncidentLevel)),
        ("incident_status", typing.get_args(IncidentStatus)),
        ("place_kind", typing.get_args(PlaceKind)),
        ("tier", tuple(TIER_ORDER)),
        ("role", tuple(role.value for role in Role)),
        ("channel", CHANNEL_KINDS),
        ("occasion", typing.get_args(Occasion)),
        ("health_status", typing.get_args(HealthStatus)),
        ("business_kind", typing.get_args(BusinessKind)),
        ("business_status", typing.get_args(BusinessStatus)),
        ("risk_level", typing.get_args(RiskLevel)),
    ],
)
def test_every_code_the_services_answer_with_has_a_chinese_label(vocabulary: str, codes: tuple[str, ...]):
    assert codes
    for code in codes:
        label = zh(code, vocabulary)
        assert label != "未知", f"{vocabulary}: {code} has no label"
        assert any("\u4e00" <= char <= "\u9fff" for char in label), label
        assert code not in label or vocabulary == "risk_level", f"{label} shows the code {code}"
    assert set(VOCABULARIES[vocabulary]) >= set(codes)


def test_levels_read_as_in_the_official_documents_and_unknown_codes_never_show():
    assert zh("IV", "level") == "Ⅳ级（一般）"
    assert zh("I", "level") == "Ⅰ级（特别重大）"
    assert zh("below_IV", "level") == "Ⅳ级以下"
    assert zh("reported", "incident_status") == "已上报"
    assert zh("something_new", "incident_status") == "未知"
    assert zh(None, "level") == "—"


def test_times_show_in_beijing_time():
    assert beijing(datetime(2026, 11, 30, 17, 5, tzinfo=UTC)) == "2026年12月1日 01:05"
    assert beijing("2026-11-30T05:00:00Z") == "2026年11月30日 13:00"
    assert beijing("2026-11-30T05:00:00") == "2026年11月30日 13:00"  # the services answer in UTC
    assert beijing(datetime(2026, 11, 30, 17, 5, tzinfo=UTC), "date") == "2026年12月1日"
    assert beijing(date(2026, 3, 8)) == "2026年3月8日"
    assert beijing("2026-03-08") == "2026年3月8日"
    assert beijing(None) == "—"


def test_a_services_field_errors_come_back_in_chinese_on_the_forms_fields():
    form = Form(values={"cook_name": "王", "people": "0"})
    form.refused(
        [
            {
                "loc": ["body", "people"],
                "msg": "Input should be greater than or equal to 1",
                "type": "greater_than_equal",
                "ctx": {"ge": 1},
            },
            {
                "loc": ["body", "cook", "health_status"],
                "msg": "Input should be 'certified'",
                "type": "literal_error",
            },
            {"loc": ["body", "village_id"], "msg": "not in your village", "type": "domain"},
            {
                "loc": ["body", "venue"],
                "msg": "String should have at most 300 characters",
                "type": "string_too_long",
                "ctx": {"max_length": 300},
            },
        ],
        {"people": "people", "cook.health_status": "cook_health", "venue": "venue"},
        {"village_id": "村"},
    )
    assert form.errors == {
        "people": "不能小于 1",
        "cook_health": "请从选项中选择",
        "venue": "太长了，最多 300 个字",
    }
    assert form.general == ["村：不在您负责的范围内"]
    assert form.get("cook_name") == "王"  # what was typed stays


def test_the_forms_own_checks_name_the_field_and_the_reason():
    form = Form(values={"ill": "abc", "dead": "-1", "big": "2000000", "ok": "12"})
    assert form.integer("ill", low=0, high=10) is None
    assert form.integer("dead", low=0, high=10) is None
    assert form.integer("big", low=0, high=1_000_000) is None
    assert form.integer("ok", low=0, high=100) == 12
    assert form.integer("absent", low=0, high=5, default=0) == 0
    assert form.errors == {"ill": "请填写整数", "dead": "不能小于 0", "big": "不能大于 1000000"}


def test_csrf_tokens_are_bound_to_the_cookie_and_the_key():
    key = "k" * 48
    token = csrf.token_for(key, "browser-one")
    assert token == csrf.token_for(key, "browser-one")
    assert token != csrf.token_for(key, "browser-two")
    assert token != csrf.token_for("other" * 10, "browser-one")
    assert len(token) == 43 and "=" not in token


def test_sign_in_attempts_are_limited_per_browser_address(redis_url: str) -> None:
    """Counted in the web process, on a real Redis: identity sees one address for the whole web.
    (Run in a thread of its own: the browser tests' playwright holds this thread's event loop.)"""

    async def attempts() -> list[int | None]:
        client = Redis.from_url(redis_url)
        limiter = SignInLimiter(client, f"t{uuid.uuid4().hex[:8]}", per_minute=3)
        at = 1_800_000_000.0 + 10  # ten seconds into a minute
        try:
            return [
                *[await limiter.allow("203.0.113.7", at) for _ in range(4)],
                await limiter.allow("198.51.100.1", at),  # another address is not held up
                await limiter.allow("203.0.113.7", at + 60),  # the next minute
            ]
        finally:
            await client.aclose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        answers = pool.submit(asyncio.run, attempts()).result(timeout=30)
    assert answers == [None, None, None, 50, None, None]  # 50: seconds until the next minute


def test_a_ledger_typed_with_the_kind_names_the_pages_show_is_read_by_the_registry():
    """The township office reads the kinds on the register's pages and types them into its ledger:
    every one of them must name the same kind in the registry's import."""
    from services.registry.imports.ledger import kind_code

    for kind, label in VOCABULARIES["business_kind"].items():
        assert kind_code(label) == kind, f"the ledger import does not read {label} as {kind}"
