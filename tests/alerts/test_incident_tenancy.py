"""A village coordinator's report stays inside their village (hardening issue, item 9).

Reporting an incident that named a business of another village merged the report into that
village's incident, answered with its description and its reporters, raised its level, and (with
a death) had the registry suspend a business the coordinator cannot read.
"""

from __future__ import annotations

import uuid

from shared.catalogue.registry import BanquetFiled, BusinessRegistered
from tests.support.alerts import Alerts, incident_body
from tests.support.county import SHANGCUN, START, XIACUN

SECRET = "下村饭店午餐后腹泻"


def business_in(alerts: Alerts, village_id: str, name: str = "下村饭店") -> str:
    business_id = uuid.uuid4()
    alerts.feed(
        BusinessRegistered(
            business_id=business_id,
            name=name,
            kind="catering",
            village_id=village_id,
            risk_level="B",
            registered_on=START.date(),
        )
    )
    return str(business_id)


def banquet_in(alerts: Alerts, village_id: str) -> str:
    banquet_id = uuid.uuid4()
    alerts.feed(
        BanquetFiled(
            banquet_id=banquet_id,
            village_id=village_id,
            host="王家",
            held_on=START.date(),
            filed_on=START.date(),
            people=120,
            tables=12,
            filing_required=True,
            late=False,
            guidance_due=True,
        )
    )
    return str(banquet_id)


def xiacun_incident(alerts: Alerts, **fields: object) -> dict:
    """An open incident of 下村 reported by the township, with a reporter's name and phone."""
    values: dict[str, object] = {
        "village_id": XIACUN,
        "ill_count": 5,
        "place_kind": "restaurant",
        "description": SECRET,
        "reporter_kind": "public",
        "reporter_name": "王五",
        "reporter_contact": "13900000000",
        **fields,
    }
    body = incident_body(**values)
    response = alerts.as_("dongshan", "POST", "/incidents", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def coordinator_reports(alerts: Alerts, **fields: object):
    body = incident_body(**{"place_kind": "restaurant", **fields})
    return alerts.as_("shangcun", "POST", "/incidents", json=body)


def refusal(response) -> tuple[str, str]:
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    return error["loc"][-1], error["msg"]


def test_a_business_of_another_village_is_refused_as_if_it_did_not_exist(alerts: Alerts):
    elsewhere = business_in(alerts, XIACUN)
    incident = xiacun_incident(alerts, business_id=elsewhere)
    before = alerts.counts()

    response = coordinator_reports(alerts, business_id=elsewhere, ill_count=40)
    field, message = refusal(response)
    assert field == "business_id"
    assert SECRET not in response.text and "13900000000" not in response.text
    unknown = str(uuid.uuid4())
    assert refusal(coordinator_reports(alerts, business_id=unknown)) == (
        "business_id",
        message.replace(elsewhere, unknown),
    )
    assert alerts.counts() == before  # no report, timeline entry, event or audit line

    unchanged = alerts.as_("dongshan", "GET", f"/incidents/{incident['id']}").json()
    assert (unchanged["level"], unchanged["report_count"], unchanged["ill_count"]) == ("below_IV", 1, 5)
    assert alerts.events("incident.level_changed", incident["id"]) == []


def test_a_death_at_another_villages_business_reports_nothing_about_it(alerts: Alerts):
    elsewhere = business_in(alerts, XIACUN)
    before = alerts.counts()
    response = coordinator_reports(alerts, business_id=elsewhere, ill_count=3, death_count=1)
    assert refusal(response)[0] == "business_id"
    assert alerts.counts() == before
    assert alerts.events("incident.reported") == []  # the registry is never told to suspend it


def test_a_business_of_the_own_village_is_reported(alerts: Alerts):
    own = business_in(alerts, SHANGCUN, "上村饭店")
    response = coordinator_reports(alerts, business_id=own, ill_count=3, death_count=1)
    assert response.status_code == 201, response.text
    assert response.json()["level"] == "III"


def test_a_banquet_of_another_village_is_refused_as_if_it_did_not_exist(alerts: Alerts):
    elsewhere = banquet_in(alerts, XIACUN)
    xiacun_incident(alerts, banquet_id=elsewhere, place_kind="banquet")
    before = alerts.counts()

    field, message = refusal(coordinator_reports(alerts, banquet_id=elsewhere, place_kind="banquet"))
    assert field == "banquet_id"
    unknown = str(uuid.uuid4())
    assert refusal(coordinator_reports(alerts, banquet_id=unknown, place_kind="banquet")) == (
        "banquet_id",
        message.replace(elsewhere, unknown),
    )
    assert alerts.counts() == before

    own = banquet_in(alerts, SHANGCUN)
    response = coordinator_reports(alerts, banquet_id=own, place_kind="banquet")
    assert response.status_code == 201, response.text


def test_another_village_is_refused_whether_it_exists_or_not(alerts: Alerts):
    real = refusal(coordinator_reports(alerts, village_id=XIACUN))
    made_up = refusal(coordinator_reports(alerts, village_id="qingyun.dongshan.nowhere"))
    assert real == made_up and real[0] == "village_id"


def test_grouping_only_merges_into_incidents_the_reporter_may_read(alerts: Alerts):
    """The township's incident about a 上村 business names no village, so the coordinator cannot
    read it: their report of the same business opens their own incident instead of joining it."""
    own = business_in(alerts, SHANGCUN, "上村饭店")
    township_body = incident_body(
        business_id=own, village_id=None, ill_count=8, description=SECRET, reporter_name="王五"
    )
    township = alerts.as_("dongshan", "POST", "/incidents", json=township_body).json()
    assert alerts.as_("shangcun", "GET", f"/incidents/{township['id']}").status_code == 404

    response = coordinator_reports(alerts, business_id=own, ill_count=31)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] != township["id"] and SECRET not in response.text
    unchanged = alerts.as_("dongshan", "GET", f"/incidents/{township['id']}").json()
    assert (unchanged["level"], unchanged["report_count"]) == ("below_IV", 1)

    # a report the coordinator may read is still grouped: their own incident
    again = coordinator_reports(alerts, business_id=own, ill_count=33)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    # and the township, who reads both, is grouped into the first of them
    merged = alerts.as_("dongshan", "POST", "/incidents", json={**township_body, "ill_count": 9})
    assert merged.status_code == 200 and merged.json()["id"] == township["id"]
