"""Input that used to answer 500: offsets beyond SQLite's 64-bit integers, dates out of any sane
range, dates before the first rule table, times without a zone. Each is a 422 naming the field, and
nothing is written (hardening issue, item 8)."""

from __future__ import annotations

import pytest

from tests.support.inspection import Inspection

WRITES = ("inspections", "complaints", "rectification_orders", "outbox", "audit_log")


def loc(response) -> list:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"]


@pytest.mark.parametrize("path", ["/directory/businesses", "/inspections", "/rectifications", "/complaints"])
@pytest.mark.parametrize("offset", [2**63, 2**64])
def test_an_offset_beyond_the_database_is_a_422(inspection: Inspection, path: str, offset: int):
    assert loc(inspection.as_("county", "GET", path, params={"offset": offset})) == ["query", "offset"]


def test_a_complaint_received_before_the_deadline_rules_is_a_422(inspection: Inspection):
    before = inspection.counts(*WRITES)
    body = {"channel": "phone", "content": "吃后腹痛", "received_at": "2015-03-03T09:00:00+08:00"}
    response = inspection.as_("dongshan", "POST", "/complaints", json=body)
    assert loc(response) == ["body", "received_at"]
    assert "2019-12-01" in response.json()["detail"][0]["msg"]
    assert inspection.counts(*WRITES) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("received_at", "0001-01-01T00:00:00+08:00"),
        ("received_at", "2026-03-02T09:00:00"),  # no zone: Beijing or UTC?
    ],
)
def test_a_complaint_time_out_of_range_or_without_zone_is_a_422(inspection: Inspection, field, value):
    body = {"channel": "phone", "content": "吃后腹痛", field: value}
    assert loc(inspection.as_("dongshan", "POST", "/complaints", json=body)) == ["body", field]


@pytest.mark.parametrize("inspected_at", ["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00+08:00"])
def test_an_inspection_time_out_of_range_is_a_422(inspection: Inspection, inspected_at: str):
    shop = inspection.business()
    before = inspection.counts(*WRITES)
    assert loc(inspection.inspect(shop, inspected_at=inspected_at)) == ["body", "inspected_at"]
    assert inspection.counts(*WRITES) == before


@pytest.mark.parametrize("path", ["/plans", "/worklist"])
def test_a_plan_day_before_the_frequency_rules_is_a_422_naming_on(inspection: Inspection, path: str):
    inspection.business()
    response = inspection.as_("dongshan", "GET", path, params={"on": "2010-06-01"})
    assert loc(response)[-1] == "on"
    assert "2016-09-05" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("path", ["/plans", "/worklist", "/coverage"])
@pytest.mark.parametrize("on", ["0001-01-01", "9999-12-31"])
def test_a_plan_day_out_of_range_is_a_422(inspection: Inspection, path: str, on: str):
    inspection.business()
    assert loc(inspection.as_("dongshan", "GET", path, params={"on": on})) == ["query", "on"]


@pytest.mark.parametrize(("field", "day"), [("starts_on", "0001-01-01"), ("ends_on", "9999-12-31")])
def test_a_campaign_day_out_of_range_is_a_422(inspection: Inspection, field: str, day: str):
    body = {
        "name": "春节专项检查",
        "kind": "holiday",
        "holiday": "spring_festival",
        "starts_on": "2026-01-20",
        "ends_on": "2026-02-20",
        field: day,
    }
    assert loc(inspection.as_("county", "POST", "/campaigns", json=body)) == ["body", field]
