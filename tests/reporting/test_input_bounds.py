"""Input that used to answer 500: offsets beyond SQLite's 64-bit integers, dates out of any sane
range (a period's day before or after overflowed), and periods before the first rule table. Each is
a 422 naming the parameter (hardening issue, item 8)."""

from __future__ import annotations

from tests.reporting.test_activities_and_export import publicity, written
from tests.support.county import COUNTY, DONGSHAN
from tests.support.services import County

OUT_OF_RANGE = [
    # (path, query, the parameter the 422 names)
    ("/activities/publicity", {"offset": 2**63}, ["query", "offset"]),
    ("/activities/trainings", {"offset": 2**64}, ["query", "offset"]),
    (
        f"/statistics/{COUNTY}/records/inspections.total",
        {"period": "2026", "offset": 2**63},
        ["query", "offset"],
    ),
    (f"/statistics/{COUNTY}", {"from": "0001-01-01", "to": "0001-01-31"}, ["query", "from"]),
    (f"/statistics/{COUNTY}", {"from": "9999-12-01", "to": "9999-12-31"}, ["query", "from"]),
    (
        f"/statistics/{COUNTY}/records/inspections.total",
        {"from": "2026-01-01", "to": "9999-12-31"},
        ["query", "to"],
    ),
    (f"/summaries/{DONGSHAN}", {"from": "0001-01-01", "to": "2026-01-31"}, ["query", "from"]),
    (f"/documents/{COUNTY}/summary", {"from": "9999-01-01", "to": "9999-12-31"}, ["query", "from"]),
    (f"/documents/{COUNTY}/sections", {"from": "2026-01-01", "to": "9999-12-31"}, ["query", "to"]),
    (f"/export/{COUNTY}/lives.zip", {"from": "0001-01-01", "to": "0001-12-31"}, ["query", "from"]),
    (f"/export/{COUNTY}/lives/businesses.json", {"from": "2026-01-01", "to": "2101-01-01"}, ["query", "to"]),
]

BEFORE_THE_RULES = [
    # a period the rule tables do not reach: (path, query, the parameter named last in loc)
    (f"/statistics/{COUNTY}", {"from": "2001-01-01", "to": "2001-12-31"}, "to"),
    (f"/statistics/{COUNTY}", {"period": "2005"}, "period"),
    (f"/statistics/{COUNTY}/records/licences.expiring", {"period": "2010-H1"}, "period"),
    (f"/documents/{COUNTY}/summary", {"period": "2008-H2"}, "period"),
]


def test_out_of_range_and_before_the_rules_are_422s_naming_the_parameter(county: County):
    headers = county.headers("county")
    wrong = []
    for path, query, where in OUT_OF_RANGE:
        response = county.reporting.get(path, params=query, headers=headers)
        found = response.json()["detail"][0]["loc"] if response.status_code == 422 else None
        if found != where:
            wrong.append((path, query, response.status_code, response.text[:200]))
    for path, query, name in BEFORE_THE_RULES:
        response = county.reporting.get(path, params=query, headers=headers)
        found = response.json()["detail"][0]["loc"][-1] if response.status_code == 422 else None
        if found != name or "rule" not in response.json()["detail"][0]["msg"]:
            wrong.append((path, query, response.status_code, response.text[:200]))
    assert wrong == []


def test_an_activity_day_out_of_range_is_a_422_and_writes_nothing(county: County):
    before = written(county)
    for held_on in ("0001-01-01", "9999-12-31"):
        response = county.reporting.post(
            "/activities/publicity", json=publicity(held_on=held_on), headers=county.headers("dongshan")
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", "held_on"]
    assert written(county) == before
