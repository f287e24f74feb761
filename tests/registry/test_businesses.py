"""Businesses with licences: registration, validation, scoping, corrections, status and search."""

from __future__ import annotations

import uuid

import pytest

from tests.support.county import HECUN, SHANGCUN
from tests.support.registry import WRITES_NOTHING, Registry, names_of

XIACUN = "qingyun.dongshan.xiacun"
PERMIT = {"number": "JY13301020000001", "issued_on": "2025-01-10", "expires_on": "2030-01-09"}
LICENCE = {"number": "92330102MA2H000001", "issued_on": "2024-06-01", "expires_on": "2044-05-31"}


def test_registration_keeps_licences_and_gps_and_announces_each(registry: Registry):
    business = registry.register(
        name="青云镇好味餐馆",
        operator="赵大厨",
        location={"latitude": 29.87, "longitude": 121.55},
        business_licence=LICENCE,
        food_permit=PERMIT,
    )
    assert business["risk_level"] == "B" and business["status"] == "active"
    assert (business["latitude"], business["longitude"]) == (29.87, 121.55)
    assert {item["kind"]: item["number"] for item in business["licences"]} == {
        "business_licence": LICENCE["number"],
        "food_permit": PERMIT["number"],
    }
    registered = registry.events("business.registered")
    assert [event["payload"]["business_id"] for event in registered] == [business["id"]]
    assert registered[0]["payload"]["latitude"] == 29.87
    recorded = registry.events("licence.recorded")
    assert sorted(event["payload"]["licence_kind"] for event in recorded) == [
        "business_licence",
        "food_permit",
    ]
    assert registry.counts("audit_log")["audit_log"] >= 1


def test_a_school_canteen_starts_at_d(registry: Registry):
    assert registry.register(name="东山中心小学食堂", kind="school_canteen")["risk_level"] == "D"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": None}, "name"),
        ({"kind": None}, "kind"),
        ({"village_id": None}, "village_id"),
        ({"village_id": "qingyun.nowhere"}, "village_id"),
        ({"village_id": HECUN}, "village_id"),  # another township's village
        ({"food_permit": {**PERMIT, "expires_on": "2024-12-31"}}, "expires_on"),  # expiry before issue
        ({"food_permit": {**PERMIT, "number": ""}}, "number"),
        ({"food_permit": {"number": "JY1", "issued_on": "2025-01-10"}}, "expires_on"),
        (
            {
                "food_permit": {**PERMIT, "number": "JY13301020000099"},
                "business_licence": {**LICENCE, "issued_on": "x"},
            },
            "issued_on",
        ),
        ({"location": {"latitude": 95, "longitude": 121.5}}, "latitude"),
        ({"location": {"latitude": 29.8}}, "longitude"),
        ({"registered_on": "2999-01-01"}, "registered_on"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    registry: Registry, changes: dict, field: str
):
    body = {"name": "好味餐馆", "kind": "catering", "village_id": SHANGCUN, **changes}
    body = {key: value for key, value in body.items() if value is not None}
    before = registry.counts(*WRITES_NOTHING)
    response = registry.as_("dongshan", "POST", "/businesses", json=body)
    assert response.status_code == 422, response.text
    assert any(error["loc"][-1] == field for error in response.json()["detail"]), response.text
    assert registry.counts(*WRITES_NOTHING) == before


def test_a_licence_number_is_unique_in_the_county_and_nothing_is_half_written(registry: Registry):
    registry.register(name="东山饭店", food_permit=PERMIT)
    before = registry.counts(*WRITES_NOTHING)
    response = registry.as_(
        "xishui",
        "POST",
        "/businesses",
        json={"name": "西水饭店", "kind": "catering", "village_id": HECUN, "food_permit": PERMIT},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "food_permit.number"
    assert registry.counts(*WRITES_NOTHING) == before
    # the same number as a business licence is another register: accepted
    registry.register(
        "xishui", name="西水饭店", village_id=HECUN, business_licence={**LICENCE, "number": PERMIT["number"]}
    )


def test_licences_are_renewed_in_place_and_numbers_stay_unique(registry: Registry):
    first = registry.register(name="东山饭店", food_permit=PERMIT)
    second = registry.register(name="东山面馆", food_permit={**PERMIT, "number": "JY13301020000002"})
    renewal = {"number": "JY13301020000003", "issued_on": "2026-01-05", "expires_on": "2031-01-04"}
    response = registry.as_(
        "inspector", "PUT", f"/businesses/{first['id']}/licences/food_permit", json=renewal
    )
    assert response.status_code == 200, response.text
    fetched = registry.as_("dongshan", "GET", f"/businesses/{first['id']}").json()
    assert fetched["licences"] == [{"kind": "food_permit", **renewal}]
    assert registry.events("licence.recorded")[-1]["payload"]["number"] == renewal["number"]

    taken = registry.as_("dongshan", "PUT", f"/businesses/{second['id']}/licences/food_permit", json=renewal)
    assert taken.status_code == 422
    backwards = registry.as_(
        "dongshan",
        "PUT",
        f"/businesses/{second['id']}/licences/business_licence",
        json={**LICENCE, "issued_on": "2030-01-01", "expires_on": "2029-01-01"},
    )
    assert backwards.status_code == 422 and backwards.json()["detail"][0]["loc"][-1] == "expires_on"
    assert (
        registry.as_(
            "dongshan", "PUT", f"/businesses/{second['id']}/licences/other", json=LICENCE
        ).status_code
        == 422
    )
    assert (
        registry.as_(
            "xishui", "PUT", f"/businesses/{second['id']}/licences/food_permit", json=LICENCE
        ).status_code
        == 404
    )
    assert (
        registry.as_(
            "shangcun", "PUT", f"/businesses/{second['id']}/licences/food_permit", json=LICENCE
        ).status_code
        == 403
    )


def test_corrections_emit_the_whole_state_and_stay_in_the_township(registry: Registry):
    business = registry.register(name="东山饭店")
    moved = registry.as_(
        "dongshan",
        "PATCH",
        f"/businesses/{business['id']}",
        json={"name": "东山大饭店", "village_id": XIACUN, "location": {"latitude": 30.1, "longitude": 120.2}},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["village_id"] == XIACUN and moved.json()["name"] == "东山大饭店"
    updated = registry.events("business.updated")[-1]["payload"]
    assert updated["name"] == "东山大饭店" and updated["village_id"] == XIACUN and updated["latitude"] == 30.1

    before = registry.counts(*WRITES_NOTHING)
    path = f"/businesses/{business['id']}"
    assert registry.as_("dongshan", "PATCH", path, json={"village_id": HECUN}).status_code == 422
    assert registry.as_("dongshan", "PATCH", path, json={}).status_code == 422
    assert registry.as_("dongshan", "PATCH", path, json={"name": None}).status_code == 422
    assert registry.as_("xishui", "PATCH", path, json={"name": "x"}).status_code == 404
    assert registry.as_("shangcun", "PATCH", path, json={"name": "x"}).status_code == 403
    assert (
        registry.as_("dongshan", "PATCH", f"/businesses/{uuid.uuid4()}", json={"name": "x"}).status_code
        == 404
    )
    assert registry.counts(*WRITES_NOTHING) == before


def test_status_changes_are_township_decisions_and_closed_is_final(registry: Registry):
    business = registry.register(name="东山饭店")
    path = f"/businesses/{business['id']}/status"
    assert (
        registry.as_("inspector", "POST", path, json={"status": "suspended", "reason": "无证"}).status_code
        == 403
    )
    assert (
        registry.as_("xishui", "POST", path, json={"status": "suspended", "reason": "无证"}).status_code
        == 404
    )
    assert registry.as_("dongshan", "POST", path, json={"status": "paused", "reason": "x"}).status_code == 422
    assert registry.as_("dongshan", "POST", path, json={"status": "active", "reason": "x"}).status_code == 422

    suspended = registry.as_("dongshan", "POST", path, json={"status": "suspended", "reason": "无证经营"})
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    event = registry.events("business.status_changed")[-1]["payload"]
    assert (event["previous_status"], event["status"], event["reason"]) == ("active", "suspended", "无证经营")

    assert (
        registry.as_("county", "POST", path, json={"status": "closed", "reason": "注销"}).status_code == 200
    )
    reopened = registry.as_("dongshan", "POST", path, json={"status": "active", "reason": "x"})
    assert reopened.status_code == 422
    assert (
        registry.as_("dongshan", "PATCH", f"/businesses/{business['id']}", json={"name": "x"}).status_code
        == 422
    )
    assert len(registry.events("business.status_changed")) == 2


@pytest.fixture
def register_of_six(registry: Registry) -> Registry:
    registry.register(name="东山饭店", operator="王大厨", food_permit=PERMIT)
    registry.register(name="东山小学食堂", kind="school_canteen", registered_on="2025-09-01")
    registry.register(
        name="下村杂货店",
        kind="grocery",
        village_id=XIACUN,
        food_permit={"number": "JY2", "issued_on": "2021-03-01", "expires_on": "2026-03-20"},
    )
    registry.register(
        name="Golden Noodle 面馆",
        address="东山镇新街12号",
        food_permit={"number": "JY3", "issued_on": "2021-01-01", "expires_on": "2026-01-31"},
    )
    closed = registry.register(name="上村烧烤摊", kind="street_vendor")
    registry.as_(
        "dongshan", "POST", f"/businesses/{closed['id']}/status", json={"status": "closed", "reason": "歇业"}
    )
    registry.register("xishui", name="西水饭店", village_id=HECUN)
    return registry


@pytest.mark.parametrize(
    ("who", "params", "expected"),
    [
        ("dongshan", {}, ["Golden Noodle 面馆", "上村烧烤摊", "下村杂货店", "东山小学食堂", "东山饭店"]),
        ("county", {"q": "饭店"}, ["东山饭店", "西水饭店"]),
        ("xishui", {"q": "饭店"}, ["西水饭店"]),
        ("dongshan", {"q": "golden"}, ["Golden Noodle 面馆"]),  # case does not matter
        ("dongshan", {"q": "新街"}, ["Golden Noodle 面馆"]),  # the address
        ("dongshan", {"q": "王大厨"}, ["东山饭店"]),  # the operator
        ("dongshan", {"q": "JY13301"}, ["东山饭店"]),  # a licence number
        ("dongshan", {"q": "100%"}, []),  # wildcards are text
        ("dongshan", {"kind": "school_canteen"}, ["东山小学食堂"]),
        ("dongshan", {"village_id": XIACUN}, ["下村杂货店"]),
        ("dongshan", {"status": "closed"}, ["上村烧烤摊"]),
        ("dongshan", {"risk_level": "D"}, ["东山小学食堂"]),
        ("dongshan", {"licence_state": "expired"}, ["Golden Noodle 面馆"]),
        ("dongshan", {"licence_state": "expiring"}, ["下村杂货店"]),  # 18 days from 2026-03-02
        ("dongshan", {"licence_state": "valid"}, ["东山饭店"]),
        ("dongshan", {"licence_state": "missing"}, ["上村烧烤摊", "东山小学食堂"]),
        ("dongshan", {"sort": "-name", "limit": 2}, ["东山饭店", "东山小学食堂"]),
        ("dongshan", {"sort": "name", "offset": 3, "limit": 1}, ["东山小学食堂"]),
        ("dongshan", {"sort": "-risk_level", "limit": 1}, ["东山小学食堂"]),
        ("dongshan", {"sort": "registered_on", "limit": 1}, ["东山小学食堂"]),
        ("shangcun", {}, ["Golden Noodle 面馆", "上村烧烤摊", "东山小学食堂", "东山饭店"]),
        ("ops", {}, []),
    ],
)
def test_search_filters_sorts_and_pages_within_scope(
    register_of_six: Registry, who: str, params: dict, expected: list[str]
):
    page = register_of_six.as_(who, "GET", "/businesses", params=params).json()
    assert names_of(page) == expected
    if "limit" not in params and "offset" not in params:
        assert page["total"] == len(expected)


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "spaceship"},
        {"status": "x"},
        {"risk_level": "E"},
        {"licence_state": "x"},
        {"sort": "id"},
        {"limit": 0},
    ],
)
def test_bad_search_parameters_are_422(registry: Registry, params: dict):
    response = registry.as_("county", "GET", "/businesses", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == next(iter(params))


def test_a_village_reads_only_its_village(registry: Registry):
    ours = registry.register(name="上村小卖部", kind="grocery")
    theirs = registry.register(name="下村饭馆", village_id=XIACUN)
    assert registry.as_("shangcun", "GET", f"/businesses/{ours['id']}").status_code == 200
    assert registry.as_("shangcun", "GET", f"/businesses/{theirs['id']}").status_code == 404
    assert registry.as_("shangcun", "GET", f"/businesses/{theirs['id']}/grades").status_code == 404
    assert (
        registry.as_(
            "shangcun", "POST", "/businesses", json={"name": "x", "kind": "catering", "village_id": SHANGCUN}
        ).status_code
        == 403
    )


def test_another_townships_business_is_not_found(registry: Registry):
    theirs = registry.register("xishui", name="西水饭店", village_id=HECUN)
    for method, suffix, body in [
        ("GET", "", None),
        ("GET", "/grades", None),
        ("GET", "/staff", None),
        ("PATCH", "", {"name": "x"}),
        ("POST", "/decision", {"decision": "close", "reason": "x"}),
    ]:
        response = registry.as_("dongshan", method, f"/businesses/{theirs['id']}{suffix}", json=body)
        assert response.status_code == 404, (method, suffix)


ENDPOINTS = [
    ("GET", "/places"),
    ("PUT", "/places"),
    ("PATCH", f"/places/villages/{SHANGCUN}"),
    ("GET", "/businesses"),
    ("POST", "/businesses"),
    ("GET", f"/businesses/{uuid.uuid4()}"),
    ("PATCH", f"/businesses/{uuid.uuid4()}"),
    ("PUT", f"/businesses/{uuid.uuid4()}/licences/food_permit"),
    ("POST", f"/businesses/{uuid.uuid4()}/status"),
    ("POST", f"/businesses/{uuid.uuid4()}/decision"),
    ("GET", f"/businesses/{uuid.uuid4()}/grades"),
    ("GET", f"/businesses/{uuid.uuid4()}/staff"),
    ("POST", f"/businesses/{uuid.uuid4()}/staff"),
    ("PATCH", f"/staff/{uuid.uuid4()}"),
    ("POST", f"/staff/{uuid.uuid4()}/certificates"),
    ("GET", "/banquets"),
    ("GET", "/banquets/assessment"),
    ("POST", "/banquets"),
    ("GET", f"/banquets/{uuid.uuid4()}"),
    ("GET", "/letters"),
    ("POST", "/letters"),
    ("POST", "/imports/businesses"),
    ("GET", f"/imports/{uuid.uuid4()}/rejections.csv"),
    ("GET", "/exports/businesses"),
]


def test_every_endpoint_needs_a_token(registry: Registry):
    documented = {
        (method.upper(), path)
        for path, operations in registry.client.get("/openapi.json").json()["paths"].items()
        for method in operations
        if not path.startswith(("/healthz", "/readyz", "/metrics"))
    }
    assert len(documented) == len(ENDPOINTS)  # a new endpoint joins the list above
    for method, path in ENDPOINTS:
        assert registry.client.request(method, path, json={}).status_code == 401, (method, path)
