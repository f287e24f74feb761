"""Publicity, trainings and assessments recorded through reporting's own API (with audit and
events, refusals writing nothing), and the open-data export in the LIVES shape; the services' clock
is pinned at START (tests/reporting/conftest.py), so the dates below are the same on any day."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import sqlalchemy as sa

from tests.support.county import COUNTY, DONGSHAN, HECUN, SHANGCUN, START, XISHUI
from tests.support.reporting import Known
from tests.support.services import County, count_rows
from tests.support.waiting import wait_for

WRITES = ("publicity_events", "trainings", "village_assessments", "outbox", "audit_log")


def written(county: County) -> dict[str, int]:
    return {table: count_rows(county, "reporting", table) for table in WRITES}


TODAY = START.date()  # the services' pinned clock (tests/reporting/conftest.py)


def publicity(**changes: object) -> dict:
    return {
        "kind": "publicity_point",
        "title": "农贸市场宣传点",
        "held_on": TODAY.isoformat(),
        "banners": 2,
        "leaflets": 300,
        "people_consulted": 60,
        **changes,
    }


def training(**changes: object) -> dict:
    return {"title": "培训", "audience": "operators", "held_on": TODAY.isoformat(), "hours": 2, **changes}


def assessment(score: int) -> dict:
    return {"score": score, "assessed_on": TODAY.isoformat()}


PUBLICITY, TRAININGS = "/activities/publicity", "/activities/trainings"
REFUSALS = [  # who (None: no token), method, url, body, the status it must get
    (None, "POST", PUBLICITY, publicity(), 401),
    ("inspector", "POST", PUBLICITY, publicity(), 403),
    ("shangcun", "POST", PUBLICITY, publicity(), 403),
    ("ops", "POST", PUBLICITY, publicity(), 403),
    ("dongshan", "POST", PUBLICITY, publicity(township_id=XISHUI), 404),  # another township
    ("county", "POST", PUBLICITY, publicity(), 422),  # the county names no township
    ("dongshan", "POST", PUBLICITY, publicity(village_id=HECUN), 422),  # a village of another township
    ("dongshan", "POST", PUBLICITY, publicity(leaflets=-1), 422),
    ("dongshan", "POST", PUBLICITY, publicity(held_on=(TODAY + timedelta(days=1)).isoformat()), 422),
    ("dongshan", "POST", TRAININGS, training(attendees=0), 422),
    ("dongshan", "PUT", f"/activities/assessments/{HECUN}/{TODAY.year}", assessment(90), 404),
    ("dongshan", "PUT", f"/activities/assessments/{SHANGCUN}/{TODAY.year}", assessment(101), 422),
    ("dongshan", "PUT", f"/activities/assessments/{SHANGCUN}/{TODAY.year + 1}", assessment(90), 422),
]


def test_recording_activities_refuses_the_wrong_people_and_input_and_writes_nothing(county: County):
    client = county.reporting
    before = written(county)
    for who, method, url, body, expected in REFUSALS:
        headers = county.headers(who) if who else {}
        response = client.request(method, url, json=body, headers=headers)
        assert response.status_code == expected, (who, method, url, body, response.text)
    refused = client.post(PUBLICITY, json=publicity(), headers=county.headers("county"))
    assert {error["loc"][-1] for error in refused.json()["detail"]} == {"township_id"}
    assert written(county) == before


def test_recording_activities_is_audited_and_published(county: County):
    client = county.reporting
    before = written(county)
    created = client.post(PUBLICITY, json=publicity(village_id=SHANGCUN), headers=county.headers("dongshan"))
    assert created.status_code == 201, created.text
    assert created.json()["township_id"] == DONGSHAN
    by_county = client.post(PUBLICITY, json=publicity(township_id=XISHUI), headers=county.headers("county"))
    assert by_county.status_code == 201
    url = f"/activities/assessments/{SHANGCUN}/{TODAY.year}"
    assert client.put(url, json=assessment(85), headers=county.headers("dongshan")).status_code == 200
    again = client.put(url, json=assessment(88), headers=county.headers("dongshan"))
    assert again.json()["score"] == 88

    after = written(county)
    assert after["publicity_events"] == before["publicity_events"] + 2
    assert after["village_assessments"] == before["village_assessments"] + 1
    assert after["outbox"] == before["outbox"] + 4
    assert after["audit_log"] == before["audit_log"] + 4
    runtime = county.reporting.app.state.runtime
    with runtime.db.read_session() as session:
        types = session.execute(sa.text("SELECT event_type FROM outbox ORDER BY id")).scalars().all()
    assert types[-4:] == ["publicity.recorded", "publicity.recorded", "village.assessed", "village.assessed"]

    xishui = client.get(PUBLICITY, headers=county.headers("xishui")).json()
    assert [p["title"] for p in xishui["items"]] == ["农贸市场宣传点"]  # the county's, not Dongshan's
    assert xishui["total"] == 1
    everywhere = client.get(PUBLICITY, params={"limit": 1}, headers=county.headers("county")).json()
    assert len(everywhere["items"]) == 1
    assert (everywhere["total"], everywhere["offset"], everywhere["limit"]) == (2, 0, 1)


def test_open_data_in_the_lives_shape(known: Known):
    client, headers = known.county.reporting, known.county.headers("dongshan")
    businesses = client.get(f"/export/{DONGSHAN}/lives/businesses.csv", headers=headers)
    assert businesses.status_code == 200
    rows = list(csv.DictReader(io.StringIO(businesses.text)))
    assert list(rows[0]) == [
        "business_id", "name", "address", "city", "state", "postal_code", "latitude", "longitude",
        "phone_number", "business_certificate", "application_date", "owner_name",
    ]  # fmt: skip
    assert {row["name"] for row in rows} == {"东山饭店", "上村面馆", "下村豆腐坊"}
    assert {row["city"] for row in rows} == {"东山镇"}
    assert {row["state"] for row in rows} == {"青云县"}
    restaurant = next(row for row in rows if row["name"] == "东山饭店")
    assert restaurant["business_certificate"] == "JY001"
    assert restaurant["application_date"] == known.today.strftime("%Y%m%d")

    inspections = list(
        csv.DictReader(
            io.StringIO(client.get(f"/export/{DONGSHAN}/lives/inspections.csv", headers=headers).text)
        )
    )
    assert len(inspections) == 3
    assert set(inspections[0]) == {"business_id", "score", "date", "description", "type"}
    assert {row["type"] for row in inspections} == {"routine"}
    assert {row["business_id"] for row in inspections} <= {row["business_id"] for row in rows}

    violations = client.get(f"/export/{DONGSHAN}/lives/violations.json", headers=headers).json()
    assert violations == [
        {
            "business_id": known.businesses["noodles"]["id"],
            "date": known.today.strftime("%Y%m%d"),
            "code": "2.1",
            "description": "检查项2.1不符合要求",
        }
    ]
    archive = zipfile.ZipFile(
        io.BytesIO(client.get(f"/export/{COUNTY}/lives.zip", headers=known.county.headers("county")).content)
    )
    assert sorted(archive.namelist()) == ["businesses.csv", "inspections.csv", "violations.csv"]
    assert len(list(csv.DictReader(io.StringIO(archive.read("businesses.csv").decode())))) == 4
    assert client.get(f"/export/{COUNTY}/lives.zip", headers=headers).status_code == 404
    assert client.get(f"/export/{XISHUI}/lives/businesses.json", headers=headers).status_code == 404
    assert client.get(f"/export/{DONGSHAN}/lives/secrets.csv", headers=headers).status_code == 422
    assert (
        json.loads(
            client.get(
                f"/export/{XISHUI}/lives/inspections.json", headers=known.county.headers("xishui")
            ).text
        )
        == []
    )


FORMULAS = ['=HYPERLINK("http://x","y")', "@SUM(1)", "-1+cmd|' /C calc'!A0", "+1"]


def test_the_lives_csv_files_escape_formulas_and_the_json_does_not(county: County):
    for number, name in enumerate(FORMULAS):
        county.register_business(
            name=name, operator="@owner", location={"latitude": -33.5, "longitude": 121.5 + number}
        )
    client, headers = county.reporting, county.headers("dongshan")

    def records() -> list[dict]:
        answer = client.get(f"/export/{DONGSHAN}/lives/businesses.json", headers=headers)
        return answer.json() if answer.status_code == 200 and len(answer.json()) == len(FORMULAS) else []

    as_json = wait_for(records, timeout=30, what="reporting to learn the businesses")
    assert sorted(record["name"] for record in as_json) == sorted(FORMULAS)  # data, unescaped
    assert {(record["owner_name"], record["latitude"]) for record in as_json} == {("@owner", -33.5)}

    single = client.get(f"/export/{DONGSHAN}/lives/businesses.csv", headers=headers).text
    archive = zipfile.ZipFile(
        io.BytesIO(client.get(f"/export/{COUNTY}/lives.zip", headers=county.headers("county")).content)
    )
    for text in (single, archive.read("businesses.csv").decode()):
        rows = list(csv.DictReader(io.StringIO(text)))
        assert sorted(row["name"] for row in rows) == sorted("'" + name for name in FORMULAS)
        assert {(row["owner_name"], row["latitude"]) for row in rows} == {("'@owner", "-33.5")}
