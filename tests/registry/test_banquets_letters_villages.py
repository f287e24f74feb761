"""Rural banquets under the filing rules, responsibility letters, and villages edited by the county."""

from __future__ import annotations

import pytest

from tests.support.county import HECUN, SHANGCUN
from tests.support.registry import WRITES_NOTHING, Registry

XIACUN = "qingyun.dongshan.xiacun"


def banquet(**changes: object) -> dict:
    return {
        "village_id": SHANGCUN,
        "host": "李家",
        "occasion": "wedding",
        "held_on": "2026-03-08",
        "venue": "李家院子",
        "tables": 8,
        "people": 80,
        "cook": {"name": "周师傅", "health_status": "certified", "certificate_number": "JK001"},
        "helpers": [{"name": "吴", "health_status": "certified"}, {"name": "郑", "health_status": "expired"}],
        "food_sources": ["镇农贸市场", "自家养殖"],
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "required", "late", "guidance", "events"),
    [
        ({}, True, False, False, ["banquet.filed"]),  # 6 days ahead
        ({"held_on": "2026-03-05"}, True, False, False, ["banquet.filed"]),  # exactly 3 days ahead
        ({"held_on": "2026-03-04"}, True, True, False, ["banquet.filed", "banquet.late"]),
        ({"held_on": "2026-03-01"}, True, True, False, ["banquet.filed", "banquet.late"]),  # after the event
        ({"people": 30, "tables": 3, "held_on": "2026-03-03"}, False, False, False, ["banquet.filed"]),
        (
            {"people": 40, "tables": 5, "held_on": "2026-03-03"},
            True,
            True,
            False,
            ["banquet.filed", "banquet.late"],
        ),
        ({"people": 120, "tables": 12}, True, False, True, ["banquet.filed", "banquet.guidance_due"]),
        ({"occasion": "funeral", "held_on": "2026-03-03"}, True, False, False, ["banquet.filed"]),  # at once
        (
            {"occasion": "funeral", "held_on": "2026-03-01"},
            True,
            True,
            False,
            ["banquet.filed", "banquet.late"],
        ),
        (
            {"people": 150, "tables": 15, "held_on": "2026-03-03"},
            True,
            True,
            True,
            ["banquet.filed", "banquet.late", "banquet.guidance_due"],
        ),
    ],
)
def test_the_assessment_says_before_filing_what_the_filing_records(
    registry: Registry, changes: dict, required: bool, late: bool, guidance: bool, events: list[str]
):
    """`GET /banquets/assessment` (the filing form's live hint) gives the verdict the filing then
    records, and records nothing itself."""
    body = banquet(**changes)
    params = {key: body[key] for key in ("occasion", "held_on", "people", "tables")}
    answer = registry.as_("shangcun", "GET", "/banquets/assessment", params=params)
    assert answer.status_code == 200, answer.text
    verdict = answer.json()
    assert (verdict["filing_required"], verdict["late"], verdict["guidance_due"]) == (
        required,
        late,
        guidance,
    )
    assert verdict["notice_days"] == 3 and verdict["guidance_min_people"] == 100
    assert verdict["immediate"] is (body["occasion"] == "funeral")
    assert not [event for event in registry.events() if event["type"].startswith("banquet.")]
    filed = registry.as_("shangcun", "POST", "/banquets", json=body).json()
    assert (filed["filing_required"], filed["late"], filed["guidance_due"]) == (required, late, guidance)


@pytest.mark.parametrize(
    ("who", "params", "status"),
    [
        ("inspector", {"occasion": "wedding", "held_on": "2026-03-08"}, 403),  # inspectors do not file
        ("shangcun", {"occasion": "party", "held_on": "2026-03-08"}, 422),
        ("shangcun", {"occasion": "wedding", "held_on": "soon"}, 422),
        ("shangcun", {"occasion": "wedding", "held_on": "2026-03-08", "people": -1}, 422),
        ("shangcun", {"occasion": "wedding", "held_on": "2026-03-08", "tables": 100_000}, 422),
    ],
)
def test_the_assessment_refuses_other_roles_and_bad_figures(
    registry: Registry, who: str, params: dict, status: int
):
    assert registry.as_(who, "GET", "/banquets/assessment", params=params).status_code == status


@pytest.mark.parametrize(
    ("changes", "required", "late", "guidance", "events"),
    [
        ({}, True, False, False, ["banquet.filed"]),  # 6 days ahead
        ({"held_on": "2026-03-05"}, True, False, False, ["banquet.filed"]),  # exactly 3 days ahead
        ({"held_on": "2026-03-04"}, True, True, False, ["banquet.filed", "banquet.late"]),
        ({"held_on": "2026-03-01"}, True, True, False, ["banquet.filed", "banquet.late"]),  # after the event
        ({"people": 30, "tables": 3, "held_on": "2026-03-03"}, False, False, False, ["banquet.filed"]),
        (
            {"people": 40, "tables": 5, "held_on": "2026-03-03"},
            True,
            True,
            False,
            ["banquet.filed", "banquet.late"],
        ),
        ({"people": 120, "tables": 12}, True, False, True, ["banquet.filed", "banquet.guidance_due"]),
        ({"occasion": "funeral", "held_on": "2026-03-03"}, True, False, False, ["banquet.filed"]),  # at once
        (
            {"occasion": "funeral", "held_on": "2026-03-01"},
            True,
            True,
            False,
            ["banquet.filed", "banquet.late"],
        ),
        (
            {"people": 150, "tables": 15, "held_on": "2026-03-03"},
            True,
            True,
            True,
            ["banquet.filed", "banquet.late", "banquet.guidance_due"],
        ),
    ],
)
def test_the_filing_rules_decide_required_late_and_guidance(
    registry: Registry, changes: dict, required: bool, late: bool, guidance: bool, events: list[str]
):
    response = registry.as_("shangcun", "POST", "/banquets", json=banquet(**changes))  # filed on 2026-03-02
    assert response.status_code == 201, response.text
    filed = response.json()
    assert (filed["filing_required"], filed["late"], filed["guidance_due"]) == (required, late, guidance)
    assert filed["filed_on"] == "2026-03-02" and filed["township_id"] == "qingyun.dongshan"
    assert [event["type"] for event in registry.events() if event["type"].startswith("banquet.")] == events
    assert registry.events("banquet.filed")[0]["payload"]["late"] is late


@pytest.mark.parametrize(
    ("who", "changes", "status", "field"),
    [
        ("hecun", {}, 422, "village_id"),  # a coordinator files only in its own village
        ("shangcun", {"village_id": XIACUN}, 422, "village_id"),
        ("xishui", {}, 422, "village_id"),
        ("shangcun", {"village_id": "qingyun.nowhere"}, 422, "village_id"),
        ("shangcun", {"people": 0}, 422, "people"),
        ("shangcun", {"food_sources": []}, 422, "food_sources"),
        ("shangcun", {"cook": {"name": "周"}}, 422, "health_status"),
        ("shangcun", {"occasion": "party"}, 422, "occasion"),
        ("shangcun", {"held_on": "03/08"}, 422, "held_on"),
        ("inspector", {}, 403, None),
        ("ops", {}, 403, None),
    ],
)
def test_bad_or_out_of_place_filings_write_nothing(
    registry: Registry, who: str, changes: dict, status: int, field: str | None
):
    before = registry.counts(*WRITES_NOTHING)
    response = registry.as_(who, "POST", "/banquets", json=banquet(**changes))
    assert response.status_code == status, response.text
    if field:
        assert response.json()["detail"][0]["loc"][-1] == field
    assert registry.counts(*WRITES_NOTHING) == before


def test_banquets_are_read_within_scope(registry: Registry):
    ours = registry.as_("shangcun", "POST", "/banquets", json=banquet()).json()
    registry.as_("dongshan", "POST", "/banquets", json=banquet(village_id=XIACUN, host="王家"))
    registry.as_("hecun", "POST", "/banquets", json=banquet(village_id=HECUN, host="张家"))

    def hosts(who: str, **params: str) -> list[str]:
        return [item["host"] for item in registry.as_(who, "GET", "/banquets", params=params).json()["items"]]

    assert hosts("shangcun") == ["李家"]
    assert sorted(hosts("dongshan")) == ["李家", "王家"]
    assert sorted(hosts("county")) == ["张家", "李家", "王家"]
    assert hosts("county", **{"from": "2026-03-09"}) == []
    assert (
        registry.as_(
            "county", "GET", "/banquets", params={"from": "2026-03-09", "to": "2026-03-01"}
        ).status_code
        == 422
    )
    assert registry.as_("hecun", "GET", f"/banquets/{ours['id']}").status_code == 404
    assert registry.as_("dongshan", "GET", f"/banquets/{ours['id']}").json()["cook"]["name"] == "周师傅"


def test_letters_one_per_party_and_year(registry: Registry):
    shop = registry.register(name="东山饭店")
    village_letter = {
        "party_kind": "village",
        "village_id": SHANGCUN,
        "year": 2026,
        "signed_on": "2026-02-20",
    }
    signed = registry.as_("dongshan", "POST", "/letters", json=village_letter)
    assert signed.status_code == 201, signed.text
    business_letter = {
        "party_kind": "business",
        "business_id": shop["id"],
        "year": 2026,
        "signed_on": "2026-02-21",
    }
    assert registry.as_("county", "POST", "/letters", json=business_letter).status_code == 201
    assert [event["payload"]["party_kind"] for event in registry.events("letter.signed")] == [
        "village",
        "business",
    ]

    before = registry.counts("responsibility_letters", "outbox", "audit_log")
    for who, body, status, field in [
        ("dongshan", village_letter, 422, "year"),  # already on file
        ("dongshan", {**village_letter, "village_id": None}, 422, "village_id"),
        ("dongshan", {**village_letter, "business_id": shop["id"]}, 422, "business_id"),
        ("dongshan", {**village_letter, "year": 2027, "signed_on": "2026-03-03"}, 422, "signed_on"),
        ("dongshan", {**village_letter, "year": 1990}, 422, "year"),
        ("xishui", {**village_letter, "year": 2027}, 422, "village_id"),
        ("xishui", {**business_letter, "year": 2027}, 422, "business_id"),
        ("shangcun", {**village_letter, "year": 2027}, 403, None),
    ]:
        response = registry.as_(who, "POST", "/letters", json=body)
        assert response.status_code == status, (who, body, response.text)
        if field:
            assert response.json()["detail"][0]["loc"][-1] == field
    assert registry.counts("responsibility_letters", "outbox", "audit_log") == before

    assert len(registry.as_("dongshan", "GET", "/letters", params={"year": 2026}).json()) == 2
    assert registry.as_("xishui", "GET", "/letters").json() == []
    assert [item["party_kind"] for item in registry.as_("shangcun", "GET", "/letters").json()] == [
        "village",
        "business",
    ]
    assert len(registry.as_("county", "GET", "/letters", params={"party_kind": "business"}).json()) == 1


def test_the_county_edits_a_villages_coordinator_and_announces_it(registry: Registry):
    path = f"/places/villages/{SHANGCUN}"
    changed = registry.as_(
        "county", "PATCH", path, json={"coordinator": "陈静", "information_officer": "刘洋"}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["coordinator"], changed.json()["information_officer"]) == ("陈静", "刘洋")
    assert registry.events("place.defined")[-1]["payload"]["place_id"] == SHANGCUN
    places = {place["id"]: place for place in registry.as_("dongshan", "GET", "/places").json()}
    assert places[SHANGCUN]["coordinator"] == "陈静"

    before = registry.counts("outbox", "audit_log")
    assert registry.as_("dongshan", "PATCH", path, json={"coordinator": "x"}).status_code == 403
    assert (
        registry.as_(
            "county", "PATCH", "/places/villages/qingyun.nowhere", json={"coordinator": "x"}
        ).status_code
        == 404
    )
    assert (
        registry.as_(
            "county", "PATCH", "/places/villages/qingyun.dongshan", json={"coordinator": "x"}
        ).status_code
        == 404
    )
    assert registry.as_("county", "PATCH", path, json={"name": ""}).status_code == 422
    assert registry.as_("county", "PATCH", path, json={"name": None}).status_code == 422
    assert registry.as_("county", "PATCH", path, json={"mayor": "x"}).status_code == 422
    assert registry.counts("outbox", "audit_log") == before
