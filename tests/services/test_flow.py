"""The walking skeleton across all four services, through a real Redis."""

from __future__ import annotations

from shared.clock import local_today
from tests.support.county import DONGSHAN, HECUN, SHANGCUN, XISHUI
from tests.support.services import County
from tests.support.waiting import wait_for


def summary(county: County, township: str, who: str, **params: str):
    today = local_today().isoformat()
    query = {"from": params.get("from", today[:4] + "-01-01"), "to": params.get("to", today)}
    return county.reporting.get(f"/summaries/{township}", params=query, headers=county.headers(who))


def test_a_business_and_an_incident_reach_inspection_and_reporting(county: County):
    business = county.register_business("dongshan", name="东山农家乐")
    county.register_business("dongshan", name="东山小学食堂", kind="school_canteen")
    county.register_business("xishui", name="西水杂货店", kind="grocery", village_id=HECUN)

    directory = wait_for(
        lambda: (
            (
                r := county.inspection.get(
                    f"/directory/businesses/{business['id']}", headers=county.headers("inspector")
                )
            ).status_code
            == 200
            and r
        ),
        what="inspection's directory to hold the business",
    )
    assert directory.json()["name"] == "东山农家乐"
    other = county.inspection.get(f"/directory/businesses/{business['id']}", headers=county.headers("xishui"))
    assert other.status_code == 404

    reported = county.alerts.post(
        "/incidents",
        json={
            "township_id": DONGSHAN,
            "village_id": SHANGCUN,
            "ill_count": 35,
            "death_count": 0,
            "place_kind": "banquet",
            "description": "寿宴后腹泻",
        },
        headers=county.headers("shangcun"),
    )
    assert reported.status_code == 201

    def figures_arrived() -> dict | None:
        body = summary(county, DONGSHAN, "dongshan").json()
        done = body["businesses"]["registered_total"] == 2 and body["incidents"]["total"] == 1
        return body if done else None

    body = wait_for(figures_arrived, what="reporting to count the business and the incident")
    assert body["township_name"] == "东山镇"
    assert body["businesses"]["by_kind"] == {"catering": 1, "school_canteen": 1}
    assert body["incidents"]["by_level"]["IV"] == 1
    assert body["incidents"]["ill"] == 35

    county_view = summary(county, XISHUI, "county").json()
    assert county_view["businesses"]["registered_total"] == 1
    assert county_view["incidents"]["total"] == 0


def test_summaries_are_scoped_and_validated(county: County):
    assert summary(county, DONGSHAN, "xishui").status_code == 404
    assert summary(county, "qingyun.atlantis", "county").status_code == 404
    assert summary(county, DONGSHAN, "shangcun").status_code == 403
    assert (
        summary(county, DONGSHAN, "dongshan", **{"from": "2026-07-01", "to": "2026-06-30"}).status_code == 422
    )
    missing = county.reporting.get(f"/summaries/{DONGSHAN}", headers=county.headers("dongshan"))
    assert missing.status_code == 422
    assert county.reporting.get(f"/summaries/{DONGSHAN}?from=2026-01-01&to=2026-06-30").status_code == 401


def test_the_period_bounds_the_incidents_counted(county: County):
    county.alerts.post(
        "/incidents",
        json={"township_id": DONGSHAN, "ill_count": 2, "place_kind": "restaurant", "description": "腹痛"},
        headers=county.headers("dongshan"),
    )
    wait_for(lambda: summary(county, DONGSHAN, "dongshan").json()["incidents"]["total"] == 1, what="incident")
    assert (
        summary(county, DONGSHAN, "dongshan", **{"from": "2020-01-01", "to": "2020-12-31"}).json()[
            "incidents"
        ]["total"]
        == 0
    )
