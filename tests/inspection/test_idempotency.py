"""Idempotency-Key: a command sent again with the same key is answered with the first answer and
changes nothing (the web app's offline queue resends whatever it is not sure went through)."""

from __future__ import annotations

import json
import uuid

from tests.support.inspection import WRITES, Inspection, results


def _body(business_id: str, **fields: object) -> dict:
    return {
        "business_id": business_id,
        "kind": "routine",
        "inspectors": ["王强"],
        "items": results(fail=("C-01",)),
        **fields,
    }


def test_a_repeated_command_returns_the_first_answer_and_writes_nothing(inspection: Inspection) -> None:
    business = inspection.business()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = inspection.as_("inspector", "POST", "/inspections", json=_body(business), headers=key)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    written = inspection.counts(*WRITES)

    again = inspection.as_("inspector", "POST", "/inspections", json=_body(business), headers=key)

    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert inspection.counts(*WRITES) == written
    listed = inspection.as_("county", "GET", "/inspections").json()
    assert listed["total"] == 1


def test_the_same_request_with_other_json_spacing_is_the_same_request(inspection: Inspection) -> None:
    business = inspection.business()
    key = {"Idempotency-Key": "offline-queue-0001", "content-type": "application/json"}
    body = _body(business)
    first = inspection.as_("inspector", "POST", "/inspections", content=json.dumps(body), headers=key)
    spaced = json.dumps(dict(reversed(list(body.items()))), indent=2, ensure_ascii=False)
    again = inspection.as_("inspector", "POST", "/inspections", content=spaced.encode(), headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]


def test_a_key_reused_for_another_request_is_refused(inspection: Inspection) -> None:
    business = inspection.business()
    key = {"Idempotency-Key": "k-1"}
    assert (
        inspection.as_("inspector", "POST", "/inspections", json=_body(business), headers=key).status_code
        == 201
    )
    written = inspection.counts(*WRITES)

    other = inspection.as_(
        "inspector", "POST", "/inspections", json=_body(business, kind="holiday"), headers=key
    )

    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert inspection.counts(*WRITES) == written


def test_keys_belong_to_their_caller(inspection: Inspection) -> None:
    business = inspection.business()
    key = {"Idempotency-Key": "shared-looking-key"}
    mine = inspection.as_("inspector", "POST", "/inspections", json=_body(business), headers=key)
    theirs = inspection.as_("dongshan", "POST", "/inspections", json=_body(business), headers=key)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


def test_a_refused_command_is_not_remembered(inspection: Inspection) -> None:
    key = {"Idempotency-Key": "try-again"}
    unknown = _body(str(uuid.uuid4()))
    refused = inspection.as_("inspector", "POST", "/inspections", json=unknown, headers=key)
    assert refused.status_code in (404, 422)
    business = inspection.business()
    accepted = inspection.as_("inspector", "POST", "/inspections", json=_body(business), headers=key)
    assert accepted.status_code == 201, "the refusal rolled back, key included: the key is free"


def test_a_malformed_key_is_refused_naming_the_header(inspection: Inspection) -> None:
    business = inspection.business()
    for bad in ("", "x" * 256, "含中文".encode(), "a key"):
        answer = inspection.as_(
            "inspector", "POST", "/inspections", json=_body(business), headers={"Idempotency-Key": bad}
        )
        assert answer.status_code == 422, bad
        assert answer.json()["detail"][0]["loc"][:2] == ["header", "Idempotency-Key"]
    assert inspection.as_("county", "GET", "/inspections").json()["total"] == 0


def test_every_command_route_documents_the_key(inspection: Inspection) -> None:
    spec = inspection.client.get("/openapi.json").json()
    commands = [
        (path, method, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put", "patch", "delete")
    ]
    assert commands
    for path, method, operation in commands:
        names = [parameter["name"] for parameter in operation.get("parameters", [])]
        assert "Idempotency-Key" in names, f"{method.upper()} {path}"


def test_a_lone_surrogate_in_a_json_string_is_a_422_naming_the_field(inspection: Inspection) -> None:
    business = inspection.business()
    raw = json.dumps(_body(business, inspectors=["SURROGATE"])).replace("SURROGATE", "\\ud800")
    answer = inspection.as_(
        "inspector",
        "POST",
        "/inspections",
        content=raw.encode(),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "inspectors.0"]
    assert inspection.as_("county", "GET", "/inspections").json()["total"] == 0


def test_answers_are_forgotten_after_their_retention(inspection: Inspection) -> None:
    from shared import idempotency

    business = inspection.business()
    key = {"Idempotency-Key": "yesterday"}
    first = inspection.as_("inspector", "POST", "/inspections", json=_body(business), headers=key)
    assert first.status_code == 201
    inspection.advance(days=2)
    cutoff = idempotency.retention_cutoff(inspection.clock.now(), inspection.settings.idempotency_hours)
    with inspection.runtime.db.session() as session:
        assert idempotency.forget_older_than(session, cutoff) == 1
    again = inspection.as_("inspector", "POST", "/inspections", json=_body(business), headers=key)
    assert again.status_code == 201
    assert again.json()["id"] != first.json()["id"]
