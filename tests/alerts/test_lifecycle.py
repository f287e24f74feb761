"""The responders' side: acknowledge, respond, contain, close with a cause; the timeline; grouped
reports; response times per incident and township, also as metrics; bad input writes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from httpx import Response

from tests.support.alerts import Alerts, incident_body
from tests.support.county import DONGSHAN, START, XISHUI


def live_a_whole_life(alerts: Alerts) -> tuple[dict[str, Any], dict[str, Response]]:
    """A level IV incident reported with details at START, acknowledged 30 minutes later, responding
    at one hour with a note, its counts raised and contained at two hours, refused a step back,
    closed by the township a day after the report (the village refused), refused closing again.
    Returns the report and each step's answer."""
    incident = alerts.report(
        hospitalised_count=4,
        suspected_food="凉拌菜",
        reporter_name="李明",
        reporter_contact="13800000000",
        address="上村文化礼堂",
    )
    path = f"/incidents/{incident['id']}"
    steps: dict[str, Response] = {}
    alerts.advance(minutes=30)
    steps["acknowledge"] = alerts.as_("dongshan", "POST", f"{path}/acknowledge", json={})
    alerts.advance(minutes=30)
    steps["respond"] = alerts.as_("inspector", "POST", f"{path}/progress", json={"status": "responding"})
    steps["note"] = alerts.as_("inspector", "POST", f"{path}/notes", json={"text": "已采样送检"})
    alerts.advance(hours=1)
    steps["counts"] = alerts.as_(
        "dongshan", "PATCH", f"{path}/counts", json={"ill_count": 38, "hospitalised_count": 6}
    )
    steps["contain"] = alerts.as_("dongshan", "POST", f"{path}/progress", json={"status": "contained"})
    steps["backwards"] = alerts.as_("dongshan", "POST", f"{path}/progress", json={"status": "responding"})
    alerts.advance(hours=22)
    steps["village closes"] = alerts.as_("shangcun", "POST", f"{path}/close", json={"cause": "x"})
    steps["close"] = alerts.as_("dongshan", "POST", f"{path}/close", json={"cause": "凉拌菜沙门氏菌污染"})
    steps["close again"] = alerts.as_("dongshan", "POST", f"{path}/close", json={"cause": "again"})
    return incident, steps


def test_an_incident_goes_through_its_whole_life(alerts: Alerts):
    incident, steps = live_a_whole_life(alerts)
    assert incident["hospitalised_count"] == 4
    assert incident["reporter_kind"] == "village_coordinator"
    assert steps["acknowledge"].json()["status"] == "acknowledged"
    assert steps["respond"].json()["status"] == "responding"
    assert steps["note"].status_code == 201
    assert steps["counts"].json()["ill_count"] == 38
    assert steps["counts"].json()["level"] == "IV"
    assert steps["contain"].json()["status"] == "contained"
    assert steps["backwards"].status_code == 409
    assert steps["village closes"].status_code == 403
    assert steps["close"].status_code == 200
    assert steps["close"].json()["status"] == "closed"
    assert steps["close again"].status_code == 409


def test_a_closed_incident_keeps_its_timeline_and_events_and_no_timer(alerts: Alerts):
    incident, _ = live_a_whole_life(alerts)
    path = f"/incidents/{incident['id']}"
    kinds = [entry["kind"] for entry in alerts.as_("dongshan", "GET", f"{path}/timeline").json()]
    assert kinds == [
        "reported",
        "escalated",
        "escalated",
        "acknowledged",
        "status_changed",
        "note",
        "counts_updated",
        "status_changed",
        "closed",
    ]
    (closed_event,) = alerts.events("incident.closed", incident["id"])
    assert closed_event["payload"]["cause"] == "凉拌菜沙门氏菌污染"
    assert closed_event["payload"]["seconds_since_report"] == 24 * 3600
    assert closed_event["payload"]["seconds_since_onset"] == 27 * 3600
    assert [e["payload"]["status"] for e in alerts.events("incident.progressed", incident["id"])] == [
        "responding",
        "contained",
    ]
    assert alerts.as_("dongshan", "GET", "/incidents").json()["items"] == []
    assert [i["id"] for i in alerts.as_("dongshan", "GET", "/incidents?state=closed").json()["items"]] == [
        incident["id"]
    ]
    alerts.advance(hours=10)
    assert alerts.tick().total == 0  # a closed incident has no live timer


def test_the_responders_view_lists_by_level_then_age_and_times_responses(alerts: Alerts):
    older = alerts.report(ill_count=40)
    alerts.advance(minutes=10)
    worse = alerts.report("dongshan", village_id=None, ill_count=120, place_kind="restaurant")
    alerts.advance(minutes=5)
    listed = alerts.as_("dongshan", "GET", "/incidents").json()["items"]
    assert [(i["id"], i["level"], i["age_seconds"]) for i in listed] == [
        (worse["id"], "III", 300.0),
        (older["id"], "IV", 900.0),
    ]
    assert [i["id"] for i in alerts.as_("dongshan", "GET", "/incidents?level=IV").json()["items"]] == [
        older["id"]
    ]
    assert alerts.as_("xishui", "GET", "/incidents").json()["items"] == []

    alerts.as_("county", "POST", f"/incidents/{worse['id']}/acknowledge", json={})
    alerts.advance(minutes=45)
    alerts.as_("dongshan", "POST", f"/incidents/{older['id']}/acknowledge", json={})
    alerts.as_("dongshan", "POST", f"/incidents/{older['id']}/close", json={"cause": "误报"})
    stats = alerts.as_("county", "GET", "/incidents/stats").json()
    by_id = {row["incident_id"]: row for row in stats["incidents"]}
    assert by_id[worse["id"]]["seconds_to_acknowledge"] == 300
    assert by_id[older["id"]]["seconds_to_acknowledge"] == by_id[older["id"]]["seconds_to_close"] == 3600
    (township,) = stats["townships"]
    assert township["township_id"] == DONGSHAN
    assert township["incidents"] == 2
    assert township["mean_seconds_to_acknowledge"] == (300 + 3600) / 2
    assert township["closed"] == 1
    assert township["max_seconds_to_close"] == 3600
    assert alerts.as_("xishui", "GET", "/incidents/stats").json() == {"incidents": [], "townships": []}

    alerts.tick()
    metrics = alerts.client.get("/metrics").text
    assert 'shian_incidents_open{level="III"} 1.0' in metrics
    assert 'shian_incidents_open{level="IV"} 0.0' in metrics
    assert (
        f'shian_incident_time_to_acknowledge_seconds_count{{level="IV",township="{DONGSHAN}"}} 1.0' in metrics
    )
    assert f'shian_incident_time_to_close_seconds_sum{{level="IV",township="{DONGSHAN}"}} 3600.0' in metrics


def test_reports_of_one_outbreak_become_one_incident(alerts: Alerts):
    business = alerts.business()
    first = alerts.report(business_id=business, ill_count=20)
    assert first["level"] == "below_IV"
    alerts.advance(minutes=20)
    second = alerts.as_(
        "dongshan",
        "POST",
        "/incidents",
        json=incident_body(
            business_id=business,
            ill_count=32,
            village_id=None,
            reporter_kind="business",
            reporter_name="店主",
        ),
    )
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["id"] == first["id"]
    assert body["report_count"] == 2
    assert body["ill_count"] == 32
    assert body["level"] == "IV"
    reports = alerts.as_("dongshan", "GET", f"/incidents/{first['id']}/reports").json()
    assert [(r["reporter_kind"], r["ill_count"]) for r in reports] == [
        ("village_coordinator", 20),
        ("business", 32),
    ]
    assert len(alerts.events("incident.reported")) == 1
    (changed,) = alerts.events("incident.level_changed", first["id"])
    assert changed["payload"]["level"] == "IV"
    # another business is another incident
    other = alerts.report("dongshan", business_id=alerts.business("另一家"), village_id=None)
    assert other["id"] != first["id"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ill_count": -1}, "ill_count"),
        ({"hospitalised_count": -2}, "hospitalised_count"),
        ({"ill_count": 3, "death_count": 4}, "death_count"),
        ({"ill_count": 3, "hospitalised_count": 4}, "hospitalised_count"),
        ({"onset_at": (START + timedelta(minutes=1)).isoformat()}, "onset_at"),
        ({"township_id": "qingyun.atlantis"}, "township_id"),
        ({"business_id": str(uuid.uuid4())}, "business_id"),
        ({"reporter_kind": "alien"}, "reporter_kind"),
    ],
)
def test_bad_reports_are_422_and_write_nothing(alerts: Alerts, fields: dict, field: str):
    before = alerts.counts()
    response = alerts.as_("dongshan", "POST", "/incidents", json=incident_body(**fields))
    assert response.status_code == 422, response.text
    assert any(error["loc"][-1] == field for error in response.json()["detail"]), response.text
    assert alerts.counts() == before


def test_a_business_of_another_township_is_refused(alerts: Alerts):
    elsewhere = alerts.business(township_id=XISHUI)
    before = alerts.counts()
    response = alerts.as_("dongshan", "POST", "/incidents", json=incident_body(business_id=elsewhere))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "business_id"
    assert alerts.counts() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ill_count": -1}, "ill_count"),
        ({"death_count": 36}, "death_count"),
        ({"hospitalised_count": 99}, "hospitalised_count"),
        ({"ill_count": 10, "death_count": 11}, "death_count"),
        ({}, "body"),
    ],
)
def test_bad_count_updates_are_422_and_write_nothing(alerts: Alerts, body: dict, field: str):
    incident = alerts.report()
    before = alerts.counts()
    response = alerts.as_("dongshan", "PATCH", f"/incidents/{incident['id']}/counts", json=body)
    assert response.status_code == 422, response.text
    assert any(error["loc"][-1] == field or error["loc"] == [field] for error in response.json()["detail"])
    assert alerts.counts() == before


def test_every_command_answers_401_403_404(alerts: Alerts):
    incident = alerts.report()
    path = f"/incidents/{incident['id']}"
    commands = [
        ("POST", f"{path}/acknowledge", {}),
        ("POST", f"{path}/progress", {"status": "responding"}),
        ("POST", f"{path}/notes", {"text": "x"}),
        ("PATCH", f"{path}/counts", {"ill_count": 40}),
        ("POST", f"{path}/close", {"cause": "x"}),
    ]
    before = alerts.counts()
    for method, url, body in commands:
        assert alerts.client.request(method, url, json=body).status_code == 401, url
        assert alerts.as_("xishui", method, url, json=body).status_code == 404, url
        assert alerts.as_("ops", method, url, json=body).status_code == 403, url
    for url in (path, f"{path}/timeline", f"{path}/reports", f"{path}/notifications"):
        assert alerts.as_("xishui", "GET", url).status_code == 404, url
        assert alerts.as_("county", "GET", url).status_code == 200, url
    assert alerts.as_("shangcun", "POST", f"{path}/acknowledge", json={}).status_code == 403
    assert alerts.counts() == before
