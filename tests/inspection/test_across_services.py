"""Inspection among the other services, through a real Redis: the registry's businesses reach the
directory, an inspection reaches the registry's grade history, an incident opens an urgent task."""

from __future__ import annotations

from tests.support.county import DONGSHAN, SHANGCUN
from tests.support.inspection import results
from tests.support.services import County
from tests.support.waiting import wait_for


def known(county: County, business_id: str) -> bool:
    response = county.inspection.get(
        f"/directory/businesses/{business_id}", headers=county.headers("inspector")
    )
    return response.status_code == 200


def test_an_inspection_of_a_registered_business_reaches_the_registry(county: County):
    business = county.register_business("dongshan", name="东山农家乐")
    wait_for(lambda: known(county, business["id"]), what="inspection's directory to hold the business")

    body = {
        "business_id": business["id"],
        "kind": "routine",
        "inspectors": ["王强", "陈静"],
        "items": results(fail=("2.1",)),
    }
    recorded = county.inspection.post("/inspections", json=body, headers=county.headers("inspector"))
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["outcome"] == "basically_compliant"

    def graded() -> list | None:
        response = county.registry.get(
            f"/businesses/{business['id']}/grades", headers=county.headers("dongshan")
        )
        return response.json() if response.status_code == 200 and response.json() else None

    [grade] = wait_for(graded, what="the registry to record the grade")
    assert grade["inspection_id"] == recorded.json()["id"]
    assert grade["dynamic_grade"] == "good"


def test_an_incident_at_a_business_puts_an_urgent_inspection_on_the_worklist(county: County):
    business = county.register_business("dongshan", name="寿宴承办点")
    wait_for(lambda: known(county, business["id"]), what="inspection's directory to hold the business")
    reported = county.alerts.post(
        "/incidents",
        json={
            "township_id": DONGSHAN,
            "village_id": SHANGCUN,
            "business_id": business["id"],
            "ill_count": 35,
            "place_kind": "restaurant",
            "description": "聚餐后多人腹泻",
        },
        headers=county.headers("dongshan"),
    )
    assert reported.status_code == 201, reported.text

    def urgent() -> list:
        work = county.inspection.get("/worklist", headers=county.headers("inspector")).json()
        return [item for item in work["items"] if item["what"] == "urgent_task"]

    [task] = wait_for(urgent, what="the urgent task on the worklist")
    assert task["business_id"] == business["id"]
