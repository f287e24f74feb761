"""Every service accepts a token only for places it knows from `place.defined` (hardening issue,
item 10): a well-signed token for a made-up county, township or village is 401 everywhere."""

from __future__ import annotations

from shared.auth import Role, issue_token
from tests.support.county import COUNTY, DEFINITION, DONGSHAN, SHANGCUN
from tests.support.services import County
from tests.support.waiting import wait_for

READS = {
    "registry": "/businesses",
    "inspection": "/inspections",
    "alerts": "/incidents",
    "reporting": "/activities/publicity",
}


def bearer(county: County, **claims: object) -> dict[str, str]:
    token = issue_token(county.settings, subject="mallory", **claims)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {token}"}


def test_tokens_for_places_not_defined_are_refused_by_every_service(county: County):
    wait_for(
        lambda: county.inspection.get("/inspections", headers=county.headers("dongshan")).status_code == 200
    )
    made_up = [
        bearer(county, role=Role.county, county_id="other"),
        bearer(county, role=Role.township, county_id=COUNTY, township_id="qingyun.nowhere"),
        bearer(county, role=Role.village, county_id=COUNTY, township_id=DONGSHAN, village_id="qingyun.x.y"),
        bearer(county, role=Role.inspector, county_id="other", township_id=DONGSHAN),
    ]
    for service, url in READS.items():
        client = county.clients[service]
        for headers in made_up:
            response = client.get(url, headers=headers)
            assert response.status_code == 401, (service, response.text)
        assert client.get(url, headers=county.headers("county")).status_code == 200, service
    incident = {
        "township_id": DONGSHAN,
        "village_id": SHANGCUN,
        "ill_count": 3,
        "place_kind": "other",
        "description": "腹泻",
    }
    assert county.alerts.post("/incidents", json=incident, headers=made_up[0]).status_code == 401


def test_a_township_defined_later_is_a_credential_once_its_event_arrives(county: County):
    grown = {
        **DEFINITION,
        "townships": [*DEFINITION["townships"], {"id": "qingyun.nanshan", "name": "南山镇"}],
    }
    nanshan = bearer(county, role=Role.township, county_id=COUNTY, township_id="qingyun.nanshan")
    assert county.alerts.get("/incidents", headers=nanshan).status_code == 401
    assert county.registry.put("/places", json=grown, headers=county.headers("county")).status_code == 200
    for service, url in READS.items():
        client = county.clients[service]
        wait_for(
            lambda client=client, url=url: client.get(url, headers=nanshan).status_code == 200, what=service
        )
