"""Input that used to reach the database or the rule tables unchecked and answer 500: list offsets
beyond SQLite's 64-bit integers, dates out of any sane range, dates before the first rule table.
Each is a 422 naming the field, and nothing is written (hardening issue, item 8)."""

from __future__ import annotations

import pytest

from tests.registry.test_banquets_letters_villages import banquet
from tests.registry.test_imports import ledger_csv
from tests.support.registry import WRITES_NOTHING, Registry


def loc(response) -> list:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"]


@pytest.mark.parametrize("path", ["/businesses", "/banquets"])
@pytest.mark.parametrize("offset", [2**63, 2**64, 10**9 + 1])
def test_an_offset_beyond_the_database_is_a_422(registry: Registry, path: str, offset: int):
    assert loc(registry.as_("county", "GET", path, params={"offset": offset})) == ["query", "offset"]


@pytest.mark.parametrize("path", ["/businesses", "/banquets"])
def test_the_largest_offset_accepted_is_an_empty_page(registry: Registry, path: str):
    response = registry.as_("county", "GET", path, params={"offset": 10**9})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("held_on", ["9999-12-31", "0001-01-01", "1949-09-30", "2101-01-01"])
def test_a_banquet_date_out_of_range_is_a_422(registry: Registry, held_on: str):
    before = registry.counts(*WRITES_NOTHING)
    response = registry.as_("shangcun", "POST", "/banquets", json=banquet(held_on=held_on))
    assert loc(response) == ["body", "held_on"]
    assert registry.counts(*WRITES_NOTHING) == before


@pytest.mark.parametrize(("bound", "day"), [("from", "0001-01-01"), ("to", "9999-12-31")])
def test_a_banquet_search_date_out_of_range_is_a_422(registry: Registry, bound: str, day: str):
    assert loc(registry.as_("county", "GET", "/banquets", params={bound: day})) == ["query", bound]


def test_registered_before_the_risk_level_rules_is_a_422_naming_registered_on(registry: Registry):
    before = registry.counts(*WRITES_NOTHING)
    body = {"name": "老字号", "kind": "catering", "village_id": "qingyun.dongshan.shangcun"}
    response = registry.as_("dongshan", "POST", "/businesses", json={**body, "registered_on": "1995-05-01"})
    assert loc(response) == ["body", "registered_on"]
    assert "2016-09-05" in response.json()["detail"][0]["msg"]
    assert registry.counts(*WRITES_NOTHING) == before


def test_a_certificate_issued_before_the_certificate_rules_is_a_422(registry: Registry):
    shop = registry.register(name="东山饭店")
    before = registry.counts(*WRITES_NOTHING)
    body = {"name": "张三", "position": "厨师", "certificate": {"issued_on": "2001-01-01"}}
    response = registry.as_("dongshan", "POST", f"/businesses/{shop['id']}/staff", json=body)
    assert loc(response) == ["body", "certificate.issued_on"]
    assert registry.counts(*WRITES_NOTHING) == before


@pytest.mark.parametrize("expires_on", ["9999-12-31", "2101-01-01"])
def test_a_licence_expiring_out_of_range_is_a_422(registry: Registry, expires_on: str):
    shop = registry.register(name="东山饭店")
    body = {"number": "JY13301020000009", "issued_on": "2026-01-05", "expires_on": expires_on}
    response = registry.as_("dongshan", "PUT", f"/businesses/{shop['id']}/licences/food_permit", json=body)
    assert loc(response) == ["body", "expires_on"]


def test_a_ledger_row_registered_before_the_risk_level_rules_is_rejected_alone(registry: Registry):
    rows = [
        "老字号饭店,餐饮单位,上村,,,1995-05-01,,,,,,,,",
        "远古饭店,餐饮单位,上村,,,0001-01-01,,,,,,,,",
        "好味餐馆,餐饮单位,上村,,,2025-03-01,,,,,,,,",
    ]
    response = registry.as_("dongshan", "POST", "/imports/businesses", content=ledger_csv(rows))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["accepted"], report["imported"]) == (1, 1)
    assert [(item["row"], item["field"]) for item in report["rejected"]] == [
        (2, "registered_on"),
        (3, "registered_on"),
    ]
