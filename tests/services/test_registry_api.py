"""The registry's HTTP API: registration, validation, scoping, events."""

from __future__ import annotations

import uuid

import pytest

from tests.support.county import COUNTY, DONGSHAN, HECUN, SHANGCUN, XISHUI
from tests.support.services import County, count_rows
from tests.support.waiting import wait_for


def test_registering_a_business_writes_it_audits_it_and_emits_its_event(county: County):
    business = county.register_business("dongshan", name="青云镇好味餐馆", operator="赵大厨")
    assert business["township_id"] == DONGSHAN
    assert business["county_id"] == COUNTY
    assert business["risk_level"] == "B"
    assert business["status"] == "active"

    fetched = county.registry.get(f"/businesses/{business['id']}", headers=county.headers("county"))
    assert fetched.status_code == 200
    assert fetched.json()["name"] == "青云镇好味餐馆"
    assert count_rows(county, "registry", "audit_log") >= 1

    redis = county.registry.app.state.runtime.bus.redis
    stream = county.settings.stream("registry")

    def business_event_on_stream() -> bool:
        entries = county.registry.portal.call(redis.xrange, stream)
        return any(b"business.registered" in fields[b"__data__"] for _id, fields in entries)

    wait_for(business_event_on_stream, what="business.registered on the registry stream")


def test_a_school_canteen_starts_at_the_highest_risk_level(county: County):
    business = county.register_business("dongshan", name="东山中心小学食堂", kind="school_canteen")
    assert business["risk_level"] == "D"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "catering", "village_id": SHANGCUN}, "name"),
        ({"name": "x", "village_id": SHANGCUN}, "kind"),
        ({"name": "x", "kind": "spaceship", "village_id": SHANGCUN}, "kind"),
        ({"name": "x", "kind": "catering"}, "village_id"),
        ({"name": "x", "kind": "catering", "village_id": "qingyun.nowhere"}, "village_id"),
        ({"name": "x", "kind": "catering", "village_id": HECUN}, "village_id"),  # another township's
        ({"name": "  ", "kind": "catering", "village_id": SHANGCUN}, "name"),
        (
            {"name": "x", "kind": "catering", "village_id": SHANGCUN, "registered_on": "2999-01-01"},
            "registered_on",
        ),
        ({"name": "x", "kind": "catering", "village_id": SHANGCUN, "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(county: County, body: dict, field: str):
    before = {t: count_rows(county, "registry", t) for t in ("businesses", "outbox", "audit_log")}
    response = county.registry.post("/businesses", json=body, headers=county.headers("dongshan"))
    assert response.status_code == 422, response.text
    assert any(error["loc"][-1] == field for error in response.json()["detail"]), response.text
    assert {t: count_rows(county, "registry", t) for t in before} == before


def test_without_a_token_the_answer_is_401(county: County):
    assert county.registry.get("/businesses").status_code == 401
    assert county.registry.post("/businesses", json={}).status_code == 401
    forged = {"Authorization": "Bearer not-a-token"}
    assert county.registry.get("/businesses", headers=forged).status_code == 401


def test_a_township_never_sees_or_touches_another_townships_business(county: County):
    theirs = county.register_business("dongshan", name="东山饭店")
    ours = county.register_business("xishui", name="西水小吃", village_id=HECUN)

    assert (
        county.registry.get(f"/businesses/{theirs['id']}", headers=county.headers("xishui")).status_code
        == 404
    )
    assert (
        county.registry.get(f"/businesses/{ours['id']}", headers=county.headers("xishui")).status_code == 200
    )
    missing = county.registry.get(f"/businesses/{uuid.uuid4()}", headers=county.headers("xishui"))
    assert missing.status_code == 404  # the same answer as for a business that does not exist

    listed = county.registry.get("/businesses", headers=county.headers("xishui")).json()
    assert [item["id"] for item in listed["items"]] == [ours["id"]]
    everything = county.registry.get("/businesses", headers=county.headers("county")).json()
    assert everything["total"] == 2
    assert (
        county.registry.get("/businesses", headers=county.headers("xishui"), params={"q": "东山"}).json()[
            "total"
        ]
        == 0
    )


def test_a_village_coordinator_sees_only_its_village_and_cannot_register(county: County):
    in_village = county.register_business("dongshan", name="上村小卖部", kind="grocery")
    county.register_business("dongshan", name="下村饭馆", village_id="qingyun.dongshan.xiacun")
    listed = county.registry.get("/businesses", headers=county.headers("shangcun")).json()
    assert [item["id"] for item in listed["items"]] == [in_village["id"]]
    response = county.registry.post(
        "/businesses",
        json={"name": "x", "kind": "catering", "village_id": SHANGCUN},
        headers=county.headers("shangcun"),
    )
    assert response.status_code == 403


def test_only_the_county_defines_places_and_only_its_own(county: County):
    definition = {"id": COUNTY, "name": "青云县", "townships": [{"id": XISHUI, "name": "西水镇"}]}
    assert (
        county.registry.put("/places", json=definition, headers=county.headers("dongshan")).status_code == 403
    )
    other = {**definition, "id": "another-county"}
    response = county.registry.put("/places", json=other, headers=county.headers("county"))
    assert response.status_code == 422
    renamed = county.registry.put("/places", json=definition, headers=county.headers("county"))
    assert renamed.json() == {"changed": 1}
    places = {p["id"]: p for p in county.registry.get("/places", headers=county.headers("xishui")).json()}
    assert places[XISHUI]["name"] == "西水镇"
    assert DONGSHAN not in places
