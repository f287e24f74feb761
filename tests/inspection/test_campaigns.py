"""Special and holiday campaigns: launched by the county, progress per township."""

from __future__ import annotations

import pytest

from tests.support.county import DONGSHAN, XISHUI
from tests.support.inspection import WRITES, Inspection

SPRING_MARKETS = {
    "name": "2026年农村食品市场专项整治",
    "kind": "special",
    "focus_foods": ["儿童食品", "奶制品", "食用油"],
    "focus_business_kinds": ["grocery", "market", "school_area_shop", "catering"],
    "focus_places": ["农贸市场", "校园周边"],
    "starts_on": "2026-03-01",
    "ends_on": "2026-03-31",
    "targets": {DONGSHAN: 2, XISHUI: 5},
}
MID_AUTUMN = {
    **SPRING_MARKETS,
    "name": "2026年中秋国庆节日食品专项检查",
    "kind": "holiday",
    "holiday": "mid_autumn",
    "focus_foods": ["月饼", "肉类", "酒类"],
    "starts_on": "2026-09-20",
    "ends_on": "2026-10-08",
}


def launch(inspection: Inspection, base: dict = SPRING_MARKETS, **changes) -> dict:
    response = inspection.as_("county", "POST", "/campaigns", json={**base, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def test_inspections_under_a_campaign_count_towards_each_townships_target(inspection: Inspection):
    campaign = launch(inspection)
    [launched] = inspection.events("campaign.launched")
    assert launched["payload"]["targets"] == {DONGSHAN: 2, XISHUI: 5}
    assert launched["payload"]["kind"] == "special" and launched["payload"]["holiday"] is None

    business = inspection.business()
    inspection.inspected(business, kind="holiday", campaign_id=campaign["id"])
    inspection.inspected(business, kind="routine")  # not under the campaign

    progress = inspection.as_("county", "GET", f"/campaigns/{campaign['id']}/progress").json()
    rows = {row["township_id"]: row for row in progress["townships"]}
    assert (rows[DONGSHAN]["done"], rows[DONGSHAN]["target"], rows[DONGSHAN]["ratio"]) == (1, 2, 0.5)
    assert (rows[XISHUI]["done"], rows[XISHUI]["ratio"]) == (0, 0.0)
    own = inspection.as_("dongshan", "GET", f"/campaigns/{campaign['id']}/progress").json()
    assert [row["township_id"] for row in own["townships"]] == [DONGSHAN]


def test_an_inspection_outside_the_campaigns_period_or_townships_is_refused(inspection: Inspection):
    outside_period = launch(inspection, MID_AUTUMN)
    only_xishui = launch(inspection, targets={XISHUI: 3})
    business = inspection.business()
    for campaign in (outside_period, only_xishui):
        before = inspection.counts(*WRITES)
        response = inspection.inspect(business, kind="campaign", campaign_id=campaign["id"])
        assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "campaign_id"
        assert inspection.counts(*WRITES) == before
    assert inspection.as_("dongshan", "GET", f"/campaigns/{only_xishui['id']}").status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_on": "2026-09-01"}, "ends_on"),
        ({"targets": {"qingyun.atlantis": 3}}, "targets"),
        ({"focus_business_kinds": ["spaceship"]}, "focus_business_kinds"),
        ({"holiday": "halloween"}, "holiday"),
        ({"kind": "special"}, None),  # a special campaign names no holiday
        ({"holiday": None}, None),  # a holiday campaign names its holiday
    ],
)
def test_bad_campaigns_are_a_422_and_write_nothing(inspection: Inspection, changes: dict, field: str | None):
    before = inspection.counts(*WRITES)
    response = inspection.as_("county", "POST", "/campaigns", json={**MID_AUTUMN, **changes})
    assert response.status_code == 422, response.text
    if field:
        assert response.json()["detail"][0]["loc"][-1] == field
    assert inspection.counts(*WRITES) == before


def test_only_the_county_office_launches_campaigns(inspection: Inspection):
    assert inspection.as_("dongshan", "POST", "/campaigns", json=MID_AUTUMN).status_code == 403
    assert inspection.client.post("/campaigns", json=MID_AUTUMN).status_code == 401
    launch(inspection, MID_AUTUMN)
    assert inspection.as_("county", "GET", "/campaigns", params={"active": True}).json() == []
    assert len(inspection.as_("xishui", "GET", "/campaigns").json()) == 1
