"""Food handlers and health certificates; the expiry scan announces each fact exactly once, across
re-runs, restarts and the background loop."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.registry.expiry.service import scan
from shared.clock import ManualClock
from shared.db import Database
from shared.settings import Settings
from tests.support.county import START
from tests.support.registry import WRITES_NOTHING, Registry, running_registry
from tests.support.waiting import wait_for

EXPIRY_EVENTS = ("certificate.expiring", "certificate.expired", "licence.expiring", "licence.expired")


def add_staff(
    registry: Registry, business_id: str, name: str, issued_on: str | None, **certificate: str
) -> dict:
    body: dict = {"name": name, "position": "厨师"}
    if issued_on:
        body["certificate"] = {"issued_on": issued_on, **certificate}
    response = registry.as_("dongshan", "POST", f"/businesses/{business_id}/staff", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def announced(registry: Registry) -> dict[str, list[str]]:
    """Expiry events in the outbox: type -> subjects (staff name or licence number)."""
    found: dict[str, list[str]] = {}
    for event_type in EXPIRY_EVENTS:
        for event in registry.events(event_type):
            subject = event["payload"].get("staff_name") or event["payload"]["number"]
            found.setdefault(event_type, []).append(subject)
    return found


def test_a_certificate_is_valid_one_year_by_default_and_never_longer(registry: Registry):
    shop = registry.register(name="东山饭店")
    cook = add_staff(registry, shop["id"], "赵大厨", "2025-06-01")
    assert cook["certificate"]["expires_on"] == "2026-06-01"
    assert cook["certificate_state"] == "valid"
    leap = add_staff(registry, shop["id"], "钱帮厨", "2024-02-29")
    assert (leap["certificate"]["expires_on"], leap["certificate_state"]) == ("2025-02-28", "expired")
    assert add_staff(registry, shop["id"], "孙服务员", None)["certificate_state"] == "missing"
    assert [event["payload"]["staff_name"] for event in registry.events("certificate.recorded")] == [
        "赵大厨",
        "钱帮厨",
    ]
    assert len(registry.events("staff.recorded")) == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"position": "厨师"}, "name"),
        (
            {"name": "赵", "certificate": {"issued_on": "2025-06-01", "expires_on": "2025-05-01"}},
            "expires_on",
        ),
        (
            {"name": "赵", "certificate": {"issued_on": "2025-06-01", "expires_on": "2026-06-02"}},
            "certificate.expires_on",
        ),
        ({"name": "赵", "certificate": {"issued_on": "2026-03-03"}}, "certificate.issued_on"),  # tomorrow
        ({"name": "赵", "certificate": {}}, "issued_on"),
    ],
)
def test_bad_staff_input_is_a_422_naming_the_field_and_writes_nothing(
    registry: Registry, body: dict, field: str
):
    shop = registry.register(name="东山饭店")
    before = registry.counts(*WRITES_NOTHING)
    response = registry.as_("dongshan", "POST", f"/businesses/{shop['id']}/staff", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == field
    assert registry.counts(*WRITES_NOTHING) == before


def test_staff_belong_to_the_businesses_township(registry: Registry):
    shop = registry.register(name="东山饭店")
    cook = add_staff(registry, shop["id"], "赵大厨", "2025-06-01")
    body = {"name": "x"}
    assert registry.as_("xishui", "POST", f"/businesses/{shop['id']}/staff", json=body).status_code == 404
    assert registry.as_("shangcun", "POST", f"/businesses/{shop['id']}/staff", json=body).status_code == 403
    assert registry.as_("shangcun", "GET", f"/businesses/{shop['id']}/staff").status_code == 200
    renewal = {"issued_on": "2026-03-01"}
    assert (
        registry.as_("xishui", "POST", f"/staff/{cook['id']}/certificates", json=renewal).status_code == 404
    )
    assert registry.as_("xishui", "PATCH", f"/staff/{cook['id']}", json={"active": False}).status_code == 404


def test_the_scan_announces_each_fact_once_across_reruns_and_restarts(registry: Registry, settings: Settings):
    shop = registry.register(
        name="东山饭店", food_permit={"number": "JY1", "issued_on": "2021-03-25", "expires_on": "2026-03-25"}
    )
    add_staff(registry, shop["id"], "赵大厨", "2025-03-20")  # expires 2026-03-20: inside 30 days
    add_staff(registry, shop["id"], "钱帮厨", "2025-02-01")  # expired 2026-02-01: only "expired"
    add_staff(registry, shop["id"], "孙服务员", "2025-12-01")  # expires 2026-12-01: nothing yet
    closed = registry.register(name="关门饭店")
    add_staff(registry, closed["id"], "李", "2025-02-01")
    registry.as_(
        "dongshan", "POST", f"/businesses/{closed['id']}/status", json={"status": "closed", "reason": "x"}
    )

    db = registry.runtime.db
    first = scan(db, today=date(2026, 3, 2))
    assert first.emitted == {"certificate.expiring": 1, "certificate.expired": 1, "licence.expiring": 1}
    assert scan(db, today=date(2026, 3, 2)).total == 0
    assert scan(db, today=date(2026, 3, 21)).emitted == {"certificate.expired": 1}

    restarted = Database(db.url, infra=db.infra, stream=db.stream, service="registry")  # a new process
    try:
        assert scan(restarted, today=date(2026, 3, 21)).total == 0
        assert scan(restarted, today=date(2026, 3, 26)).emitted == {"licence.expired": 1}
        assert scan(restarted, today=date(2026, 3, 26), warning_days=400).emitted == {
            "certificate.expiring": 1
        }
        assert scan(restarted, today=date(2026, 3, 27), warning_days=400).total == 0
    finally:
        restarted.dispose()
    assert announced(registry) == {
        "certificate.expiring": ["赵大厨", "孙服务员"],
        "certificate.expired": ["钱帮厨", "赵大厨"],
        "licence.expiring": ["JY1"],
        "licence.expired": ["JY1"],
    }
    assert registry.counts("expiry_notices")["expiry_notices"] == 6


def test_a_renewal_is_announced_afresh_and_the_old_certificate_falls_silent(registry: Registry):
    shop = registry.register(name="东山饭店")
    cook = add_staff(registry, shop["id"], "赵大厨", "2025-03-20")
    db = registry.runtime.db
    assert scan(db, today=date(2026, 3, 2)).emitted == {"certificate.expiring": 1}
    renewed = registry.as_(
        "dongshan", "POST", f"/staff/{cook['id']}/certificates", json={"issued_on": "2026-03-01"}
    )
    assert renewed.status_code == 201 and renewed.json()["expires_on"] == "2027-03-01"
    assert scan(db, today=date(2026, 3, 21)).total == 0  # the old certificate expired unnoticed: replaced
    assert scan(db, today=date(2027, 2, 10)).emitted == {"certificate.expiring": 1}
    left = registry.as_("dongshan", "PATCH", f"/staff/{cook['id']}", json={"active": False})
    assert left.status_code == 200 and left.json()["active"] is False
    assert scan(db, today=date(2027, 3, 5)).total == 0  # a handler who left is not chased


def test_the_background_loop_scans_when_the_day_changes_and_not_again_after_a_restart(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SHIAN_REGISTRY_EXPIRY_CHECK_SECONDS", "0.05")
    clock = ManualClock(START)
    with running_registry(settings, clock) as registry:
        shop = registry.register(name="东山饭店")
        add_staff(registry, shop["id"], "赵大厨", "2025-04-10")  # expires 2026-04-10
        add_staff(registry, shop["id"], "钱帮厨", "2025-04-25")  # expires 2026-04-25
        registry.advance(days=12)  # 2026-03-14: the cook is inside the window
        wait_for(lambda: announced(registry).get("certificate.expiring"), what="the loop's scan")
    clock.advance(timedelta(days=14))  # 2026-03-28: the helper too, while down
    with running_registry(settings, clock, load_places=False) as registry:
        wait_for(
            lambda: len(announced(registry).get("certificate.expiring", [])) == 2, what="the scan at start"
        )
        assert announced(registry) == {"certificate.expiring": ["赵大厨", "钱帮厨"]}
