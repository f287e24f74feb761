"""A township's figures and work summary list only the campaigns concerning it (hardening issue,
item 11): another township's campaign, its name and target, are not theirs to read."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tests.support.county import COUNTY, DONGSHAN, SHANGCUN, START, XISHUI
from tests.support.services import County
from tests.support.waiting import wait_for

DONGSHAN_ONLY = "东山镇夜市专项整治"
EVERYWHERE = "春节节日市场检查"


def reporting_has(county: County, name: str) -> bool:
    runtime = county.reporting.app.state.runtime
    with runtime.db.engine.connect() as connection:
        query = sa.text("SELECT count(*) FROM report_campaigns WHERE name = :name")
        return bool(connection.execute(query, {"name": name}).scalar_one())


def campaign_names(county: County, place: str, who: str) -> list[str]:
    response = county.reporting.get(
        f"/statistics/{place}", params={"from": FIRST, "to": LAST}, headers=county.headers(who)
    )
    assert response.status_code == 200, response.text
    return sorted(item["name"] for item in response.json()["campaigns"])


TODAY = START.date()  # the services' pinned clock (tests/reporting/conftest.py)
FIRST, LAST = (TODAY - timedelta(days=10)).isoformat(), (TODAY + timedelta(days=10)).isoformat()


def test_campaigns_of_other_townships_stay_out_of_a_townships_figures(county: County):
    for name, targets in ((DONGSHAN_ONLY, {DONGSHAN: 4}), (EVERYWHERE, {})):
        body = {"name": name, "kind": "special", "starts_on": FIRST, "ends_on": LAST, "targets": targets}
        response = county.inspection.post("/campaigns", json=body, headers=county.headers("county"))
        assert response.status_code == 201, response.text
        wait_for(lambda name=name: reporting_has(county, name), what="reporting to hear of the campaign")

    assert campaign_names(county, XISHUI, "xishui") == [EVERYWHERE]
    assert campaign_names(county, XISHUI, "county") == [EVERYWHERE]  # the county reading a township
    assert campaign_names(county, DONGSHAN, "dongshan") == sorted([DONGSHAN_ONLY, EVERYWHERE])
    assert campaign_names(county, SHANGCUN, "dongshan") == sorted([DONGSHAN_ONLY, EVERYWHERE])
    assert campaign_names(county, COUNTY, "county") == sorted([DONGSHAN_ONLY, EVERYWHERE])

    params = {"from": FIRST, "to": LAST, "format": "html"}
    xishui = county.reporting.get(
        f"/documents/{XISHUI}/summary", params=params, headers=county.headers("xishui")
    )
    assert xishui.status_code == 200, xishui.text
    assert DONGSHAN_ONLY not in xishui.text and EVERYWHERE in xishui.text
    dongshan = county.reporting.get(
        f"/documents/{DONGSHAN}/summary", params=params, headers=county.headers("dongshan")
    )
    assert DONGSHAN_ONLY in dongshan.text
