"""The verdict before the record: `POST /inspections/preview` judges exactly as `POST /inspections`
does and writes nothing; `GET /checklists/current` is the checklist an inspection is held to."""

from __future__ import annotations

import uuid

import pytest

from tests.support.inspection import WRITES, Inspection, results


@pytest.mark.parametrize(
    "fail",
    [(), ("1.2",), ("2.1",), ("2.1", "4.2"), ("1.2", "2.2", "2.3", "3.1", "3.2", "4.3")],
    ids=["all-pass", "one-general", "one-key", "two-key", "many-general"],
)
def test_the_preview_is_the_verdict_the_record_gets_and_writes_nothing(inspection: Inspection, fail):
    business = inspection.business()
    body = {"business_id": business, "kind": "routine", "inspectors": ["王强"], "items": results(fail=fail)}
    before = inspection.counts(*WRITES)
    answer = inspection.as_("inspector", "POST", "/inspections/preview", json=body)
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert inspection.counts(*WRITES) == before
    assert inspection.events("inspection.completed") == []

    recorded = inspection.inspected(business, inspectors=["王强"], items=results(fail=fail))
    for name in ("outcome", "action", "score", "dynamic_grade", "grade_withheld", "checklist_kind"):
        assert preview[name] == recorded[name], name
    assert preview["failed_items"] == list(fail)
    assert preview["failed_key_items"] == [code for code in fail if code in ("2.1", "4.2")]


def test_the_preview_refuses_what_the_record_refuses(inspection: Inspection):
    business = inspection.business()
    too_few = {"business_id": business, "kind": "routine", "inspectors": ["王强"], "items": results()[:3]}
    answer = inspection.as_("inspector", "POST", "/inspections/preview", json=too_few)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "items"
    elsewhere = dict(too_few, items=results())
    # another township's office: the business is not in its place, as for the record
    assert inspection.as_("xishui", "POST", "/inspections/preview", json=elsewhere).status_code == 422
    unknown = dict(too_few, items=results(), business_id=str(uuid.uuid4()))
    assert inspection.as_("inspector", "POST", "/inspections/preview", json=unknown).status_code == 422
    assert (
        inspection.as_(
            "shangcun", "POST", "/inspections/preview", json=dict(unknown, business_id=business)
        ).status_code
        == 403
    )


def test_the_current_checklist_follows_the_business_kind(inspection: Inspection):
    for business_kind, checklist in (
        ("catering", "catering"),
        ("workshop", "production"),
        ("grocery", "sales"),
        ("nonsense", "sales"),
    ):
        answer = inspection.as_(
            "inspector", "GET", "/checklists/current", params={"business_kind": business_kind}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["kind"] == checklist
        assert answer.json()["items"]
    too_long = inspection.as_("inspector", "GET", "/checklists/current", params={"business_kind": "x" * 41})
    assert too_long.status_code == 422
