"""The alerts service's incident reports: classification, validation, scoping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.county import DONGSHAN, HECUN, SHANGCUN, XIACUN, XISHUI
from tests.support.services import County, count_rows


def incident(**fields: object) -> dict:
    return {
        "township_id": DONGSHAN,
        "village_id": SHANGCUN,
        "ill_count": 35,
        "death_count": 0,
        "place_kind": "banquet",
        "description": "婚宴后多人腹泻呕吐",
        **fields,
    }


def test_a_village_coordinator_reports_an_incident_and_it_is_classified(county: County):
    response = county.alerts.post("/incidents", json=incident(), headers=county.headers("shangcun"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["level"] == "IV"
    assert body["reported_by"] == "village:li-ming"
    school = county.alerts.post(
        "/incidents",
        json=incident(village_id=None, ill_count=50, place_kind="school"),
        headers=county.headers("dongshan"),
    )
    assert school.json()["level"] == "II"
    open_incidents = county.alerts.get("/incidents", headers=county.headers("dongshan")).json()["items"]
    assert {item["id"] for item in open_incidents} == {body["id"], school.json()["id"]}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ill_count": -1}, "ill_count"),
        ({"death_count": -1}, "death_count"),
        ({"ill_count": 3, "death_count": 4}, "death_count"),
        ({"onset_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}, "onset_at"),
        ({"onset_at": "2026-06-01T12:00:00"}, "onset_at"),
        ({"township_id": "qingyun.atlantis"}, "township_id"),
        ({"township_id": XISHUI, "village_id": HECUN}, "township_id"),  # not the caller's township
        ({"village_id": "qingyun.xishui.hecun"}, "village_id"),  # not in the named township
        ({"place_kind": "moon"}, "place_kind"),
        ({"description": ""}, "description"),
    ],
)
def test_bad_reports_are_422_and_write_nothing(county: County, fields: dict, field: str):
    before = {t: count_rows(county, "alerts", t) for t in ("incidents", "outbox", "audit_log")}
    response = county.alerts.post("/incidents", json=incident(**fields), headers=county.headers("dongshan"))
    assert response.status_code == 422, response.text
    assert any(error["loc"][-1] == field for error in response.json()["detail"]), response.text
    assert {t: count_rows(county, "alerts", t) for t in before} == before


def test_a_coordinator_reports_only_for_their_own_village(county: County):
    response = county.alerts.post(
        "/incidents", json=incident(village_id=XIACUN), headers=county.headers("shangcun")
    )
    assert response.status_code == 422
    assert count_rows(county, "alerts", "incidents") == 0


def test_another_township_gets_404_for_an_incident(county: County):
    created = county.alerts.post("/incidents", json=incident(), headers=county.headers("dongshan")).json()
    path = f"/incidents/{created['id']}"
    assert county.alerts.get(path, headers=county.headers("xishui")).status_code == 404
    assert county.alerts.get(path, headers=county.headers("county")).status_code == 200
    assert county.alerts.get(path).status_code == 401
    assert county.alerts.post("/incidents", json=incident(), headers=county.headers("ops")).status_code == 403
