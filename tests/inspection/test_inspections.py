"""Recording inspections through the HTTP API: verdicts, events, validation, scoping, photos, referral."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from tests.support.county import START, XISHUI
from tests.support.inspection import WRITES, Inspection, results


def test_a_compliant_inspection_is_recorded_audited_and_announced(inspection: Inspection):
    business = inspection.business()
    recorded = inspection.inspected(business, notes="后厨整洁")
    assert (recorded["outcome"], recorded["action"], recorded["score"]) == ("compliant", "pass", 100.0)
    assert recorded["dynamic_grade"] == "excellent"
    assert (recorded["checklist_kind"], recorded["checklist_version"]) == ("catering", 1)
    assert recorded["inspected_on"] == START.date().isoformat()
    assert len(recorded["items"]) == len(results())

    [event] = inspection.events("inspection.completed")
    assert event["payload"]["inspection_id"] == recorded["id"]
    assert event["payload"]["business_id"] == business
    assert event["payload"]["dynamic_grade"] == "excellent"
    assert event["payload"]["failed_items"] == []
    assert event["township_id"] == recorded["township_id"]
    assert inspection.counts("audit_log")["audit_log"] == 1
    assert inspection.as_("dongshan", "GET", f"/inspections/{recorded['id']}").json()["id"] == recorded["id"]


def test_one_failed_key_item_is_basically_compliant_with_a_written_order(inspection: Inspection):
    business = inspection.business()
    recorded = inspection.inspected(business, items=results(fail=("2.1",)))
    assert (recorded["outcome"], recorded["action"], recorded["dynamic_grade"]) == (
        "basically_compliant",
        "written_rectification",
        "good",
    )
    [completed] = inspection.events("inspection.completed")
    assert completed["payload"]["failed_items"] == ["2.1"]
    [ordered] = inspection.events("rectification.ordered")
    assert ordered["payload"]["item_code"] == "2.1"
    assert ordered["payload"]["severity"] == "key"
    assert ordered["payload"]["deadline"] == (START.date() + timedelta(days=7)).isoformat()
    orders = inspection.as_("dongshan", "GET", "/rectifications").json()
    assert [order["item_code"] for order in orders["items"]] == ["2.1"]


def test_two_failed_key_items_stop_operations(inspection: Inspection):
    recorded = inspection.inspected(inspection.business(), items=results(fail=("2.1", "4.2")))
    assert (recorded["outcome"], recorded["action"], recorded["dynamic_grade"]) == (
        "non_compliant",
        "stop_operating",
        "fair",
    )
    assert len(inspection.events("rectification.ordered")) == 2


def test_a_production_business_is_inspected_with_the_production_checklist(inspection: Inspection):
    workshop = inspection.business("豆腐作坊", kind="workshop")
    recorded = inspection.inspected(workshop, items=results("production"))
    assert recorded["checklist_kind"] == "production"
    wrong = inspection.inspect(workshop, items=results("catering"))
    assert wrong.status_code == 422


def test_no_grade_for_three_months_after_a_new_permit(inspection: Inspection):
    business = inspection.business()
    inspection.licence(business, issued_on=START.date() - timedelta(days=30))
    recorded = inspection.inspected(business)
    assert recorded["dynamic_grade"] is None and recorded["grade_withheld"] == "new_licence"
    assert inspection.events("inspection.completed")[0]["payload"]["dynamic_grade"] is None
    inspection.licence(business, issued_on=START.date() - timedelta(days=30))  # the same permit again
    inspection.advance(70)
    assert inspection.inspected(business)["dynamic_grade"] == "excellent"


def test_no_grade_for_six_months_after_an_incident(inspection: Inspection):
    business = inspection.business()
    inspection.incident(business)
    inspection.advance(1)
    assert inspection.inspected(business)["grade_withheld"] == "incident"
    inspection.advance(190)
    assert inspection.inspected(business)["dynamic_grade"] == "excellent"


def test_an_incident_naming_a_business_opens_an_urgent_task_closed_by_the_next_inspection(
    inspection: Inspection,
):
    business = inspection.business("出事饭店")
    incident_id = inspection.incident(business)
    [opened] = inspection.events("inspection.task_opened")
    assert opened["payload"]["incident_id"] == str(incident_id) and opened["payload"]["urgent"] is True

    work = inspection.as_("inspector", "GET", "/worklist").json()
    urgent = [item for item in work["items"] if item["what"] == "urgent_task"]
    assert [item["business_name"] for item in urgent] == ["出事饭店"]
    assert work["items"][0]["what"] == "urgent_task"  # urgent work comes first

    inspection.inspected(business)
    work = inspection.as_("inspector", "GET", "/worklist").json()
    assert not [item for item in work["items"] if item["what"] == "urgent_task"]


BAD_INPUT = [
    pytest.param({"business_id": "unknown"}, "business_id", id="unknown business"),
    pytest.param({"business_id": "other"}, "business_id", id="another township's business"),
    pytest.param(
        {"items": [*results(), {"code": "9.9", "result": "pass"}]}, "items", id="item not in template"
    ),
    pytest.param({"items": results(only=("1.1", "2.1", "4.1"))}, "items", id="fewer items than the minimum"),
    pytest.param({"items": [*results(), {"code": "1.1", "result": "fail"}]}, "items", id="an item twice"),
    pytest.param(
        {"inspected_at": (START + timedelta(minutes=5)).isoformat()}, "inspected_at", id="in the future"
    ),
    pytest.param({"inspected_at": "2026-03-02T09:00:00"}, "inspected_at", id="no time zone"),
    pytest.param({"kind": "picnic"}, "kind", id="unknown kind"),
    pytest.param({"inspectors": []}, "inspectors", id="no inspector"),
    pytest.param({"items": [{"code": "1.1", "result": "maybe"}]}, "result", id="unknown result"),
    pytest.param({"checklist_version": 7}, "checklist_version", id="unknown checklist version"),
    pytest.param({"campaign_id": str(uuid.uuid4())}, "campaign_id", id="unknown campaign"),
    pytest.param({"complaint_id": str(uuid.uuid4())}, "complaint_id", id="unknown complaint"),
    pytest.param({"colour": "red"}, "colour", id="unknown field"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_INPUT)
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    inspection: Inspection, changes: dict, field: str
):
    business = inspection.business()
    other = inspection.business("西水小吃", township_id=XISHUI, village_id=None)
    target = {"unknown": str(uuid.uuid4()), "other": other}.get(changes.pop("business_id", ""), business)
    before = inspection.counts(*WRITES)
    response = inspection.inspect(target, **changes)
    assert response.status_code == 422, response.text
    assert any(error["loc"][-1] == field for error in response.json()["detail"]), response.text
    assert inspection.counts(*WRITES) == before


def test_a_closed_business_is_not_inspected(inspection: Inspection):
    from shared.catalogue.registry import BusinessStatusChanged

    business = inspection.business()
    inspection.feed(
        BusinessStatusChanged(
            business_id=uuid.UUID(business), status="closed", previous_status="active", reason="停业"
        )
    )
    response = inspection.inspect(business)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "business_id"


def test_tokens_roles_and_places(inspection: Inspection):
    business = inspection.business()
    assert inspection.client.post("/inspections", json={}).status_code == 401
    assert inspection.client.get("/inspections").status_code == 401
    assert inspection.inspect(business, who="shangcun").status_code == 403  # a village coordinator
    assert inspection.inspect(business, who="ops").status_code == 403
    recorded = inspection.inspected(business)
    assert inspection.as_("xishui", "GET", f"/inspections/{recorded['id']}").status_code == 404
    assert inspection.as_("xishui", "GET", "/inspections").json()["total"] == 0
    assert inspection.as_("county", "GET", "/inspections").json()["total"] == 1
    assert (
        inspection.as_("shangcun", "GET", f"/inspections/{recorded['id']}").status_code == 200
    )  # its village


def test_photos_are_kept_and_referred_to_the_police_as_evidence(inspection: Inspection):
    business = inspection.business()
    recorded = inspection.inspected(business, items=results(fail=("4.2", "3.2")))
    photo = b"\xff\xd8\xff\xe0" + b"jpeg-bytes" * 100
    url = f"/inspections/{recorded['id']}/photos"
    uploaded = inspection.as_(
        "inspector",
        "POST",
        url,
        params={"filename": "过期原料.jpg"},
        content=photo,
        headers={**inspection.headers["inspector"], "Content-Type": "image/jpeg"},
    )
    assert uploaded.status_code == 201, uploaded.text
    attachment = uploaded.json()
    downloaded = inspection.as_("dongshan", "GET", f"{url}/{attachment['id']}")
    assert downloaded.content == photo and downloaded.headers["content-type"] == "image/jpeg"
    assert inspection.as_("xishui", "GET", f"{url}/{attachment['id']}").status_code == 404

    refused = inspection.as_(
        "inspector", "POST", f"/inspections/{recorded['id']}/referral", json={"reason": "x"}
    )
    assert refused.status_code == 403
    bad = inspection.as_(
        "dongshan",
        "POST",
        f"/inspections/{recorded['id']}/referral",
        json={"reason": "x", "item_codes": ["7.7"]},
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "item_codes"
    referred = inspection.as_(
        "dongshan",
        "POST",
        f"/inspections/{recorded['id']}/referral",
        json={"reason": "使用过期原料，涉嫌犯罪"},
    )
    assert referred.status_code == 201, referred.text
    [event] = inspection.events("case.referred")
    assert event["payload"]["inspection_id"] == recorded["id"]
    assert sorted(event["payload"]["item_codes"]) == ["3.2", "4.2"]
    assert event["payload"]["attachment_ids"] == [attachment["id"]]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)


@pytest.mark.parametrize(
    ("headers", "params", "content", "field", "reason"),
    [
        ({"Content-Type": "text/plain"}, {"filename": "a.txt"}, b"data", "content_type", None),
        ({"Content-Type": "image/png"}, {}, b"data", "filename", None),
        (
            {"Content-Type": "image/jpeg"},
            {"filename": "a.jpg"},
            PNG,
            "body",
            "the content is not the declared image/jpeg: it is image/png",
        ),
        (
            {"Content-Type": "image/png"},
            {"filename": "a.png"},
            b"<script>alert(1)</script>",
            "body",
            "the content is not the declared image/png: it is none of the accepted types",
        ),
    ],
)
def test_a_bad_photo_is_refused_and_nothing_is_stored(
    inspection: Inspection, headers: dict, params: dict, content: bytes, field: str, reason: str | None
):
    recorded = inspection.inspected(inspection.business())
    before = inspection.counts("attachments", "audit_log")
    response = inspection.as_(
        "inspector",
        "POST",
        f"/inspections/{recorded['id']}/photos",
        params=params,
        content=content,
        headers=headers,
    )
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == field
    if reason is not None:
        assert response.json()["detail"][0]["msg"] == reason
    assert inspection.counts("attachments", "audit_log") == before
    store = inspection.settings.var_dir / "attachments"
    assert not store.exists() or not any(path.is_file() for path in store.rglob("*"))


def test_checklists_are_served_with_their_items(inspection: Inspection):
    catalogue = inspection.as_("inspector", "GET", "/checklists").json()
    assert {item["kind"] for item in catalogue} == {"catering", "production", "sales"}
    one = inspection.as_("inspector", "GET", "/checklists/catering/1").json()
    assert one["minimum_items"] == 10 and one["items"][0]["code"] == "1.1"
    assert inspection.as_("inspector", "GET", "/checklists/catering/9").status_code == 404
    assert inspection.client.get("/checklists").status_code == 401


def test_the_directory_follows_the_registry(inspection: Inspection):
    from shared.catalogue.registry import BusinessRiskChanged

    business = inspection.business(risk_level="B")
    inspection.feed(
        BusinessRiskChanged(
            business_id=uuid.UUID(business), risk_level="D", previous_risk_level="B", reason="x"
        )
    )
    fetched = inspection.as_("dongshan", "GET", f"/directory/businesses/{business}").json()
    assert fetched["risk_level"] == "D"
    assert date.fromisoformat(fetched["registered_on"]) == date(2020, 1, 1)
