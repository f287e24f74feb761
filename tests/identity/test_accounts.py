"""Accounts: who manages whom, the one-time code, the password rules, disable/enable, role changes,
resets and the coordinators of a township created in one go; each in the audit log and the outbox."""

from __future__ import annotations

import pytest

from services.identity.accounts.models import normalise_mobile
from tests.support.identity import (
    COUNTY,
    DONGSHAN,
    HECUN,
    PASSWORD,
    SHANGCUN,
    XIACUN,
    XISHUI,
    IdentityApp,
)


def test_the_county_creates_a_township_account_with_a_one_time_code(identity: IdentityApp):
    answer = identity.as_(
        "county",
        "POST",
        "/accounts",
        json={"name": "东山办", "mobile": "138 0000 0002", "role": "township", "township_id": DONGSHAN},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["account"]["mobile"] == "13800000002"
    assert body["account"]["status"] == "pending" and body["account"]["password_set"] is False
    assert len(body["code"]) == 10
    created = identity.events("account.created")[-1]
    assert created["payload"]["account_id"] == body["account"]["id"]
    assert created["township_id"] == DONGSHAN and created["county_id"] == COUNTY
    assert "13800000002" not in str(created)  # no mobile number on the stream
    assert identity.audit("account.created")[-1]["entity_id"] == body["account"]["id"]
    # the code is kept hashed only
    with identity.runtime.db.engine.connect() as connection:
        stored = connection.exec_driver_sql(
            "SELECT code_hash FROM accounts WHERE mobile='13800000002'"
        ).scalar()
    assert stored.startswith("$argon2id$") and body["code"] not in stored


def test_a_township_office_cannot_create_a_county_account(offices: IdentityApp):
    for role in ("county", "township", "ops"):
        body = {"name": "冒充", "mobile": "13900000009", "role": role}
        if role == "township":
            body["township_id"] = DONGSHAN
        answer = offices.as_("dongshan", "POST", "/accounts", json=body)
        assert answer.status_code == 403, (role, answer.text)
    assert offices.events("account.created")[-1]["payload"]["name"] == "西水办"


def test_a_township_office_manages_its_own_inspectors_and_coordinators_only(offices: IdentityApp):
    inspector = offices.create("dongshan", name="检查员甲", mobile="13900000001", role="inspector")
    assert inspector["account"]["township_id"] == DONGSHAN
    village = offices.create(
        "dongshan", name="李明", mobile="13900000002", role="village", village_id=SHANGCUN
    )
    assert village["account"]["village_id"] == SHANGCUN
    # another township's inspector: outside its township, 404
    answer = offices.as_(
        "dongshan",
        "POST",
        "/accounts",
        json={"name": "x", "mobile": "13900000003", "role": "inspector", "township_id": XISHUI},
    )
    assert answer.status_code == 404
    xishui_inspector = offices.create("xishui", name="检查员乙", mobile="13900000004", role="inspector")
    for method, suffix in (("GET", ""), ("PATCH", ""), ("POST", "/disable"), ("POST", "/reset")):
        kwargs = {"json": {"name": "改"}} if method == "PATCH" else {}
        url = f"/accounts/{xishui_inspector['account']['id']}{suffix}"
        assert offices.as_("dongshan", method, url, **kwargs).status_code == 404, url
    # the county office's account is no township's to see
    assert offices.as_("dongshan", "GET", f"/accounts/{offices.ids['county']}").status_code == 404
    # its own township office's account: seen, but not its to manage (403)
    assert offices.as_("dongshan", "POST", f"/accounts/{offices.ids['dongshan']}/disable").status_code == 403
    listed = offices.as_("dongshan", "GET", "/accounts").json()
    assert {item["name"] for item in listed["items"]} == {"东山办", "检查员甲", "李明"}
    assert listed["total"] == 3
    # and the county sees them all
    assert offices.as_("county", "GET", "/accounts").json()["total"] == 6


def test_inspectors_and_coordinators_manage_no_accounts(offices: IdentityApp):
    offices.person("inspector", "dongshan", name="检查员", mobile="13900000001", role="inspector")
    answer = offices.as_(
        "inspector", "POST", "/accounts", json={"name": "x", "mobile": "13900000005", "role": "inspector"}
    )
    assert answer.status_code == 403
    assert offices.as_("inspector", "GET", "/accounts").status_code == 403
    assert offices.as_("inspector", "GET", "/accounts/me").json()["role"] == "inspector"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "township"}, "township_id"),
        ({"role": "village", "township_id": DONGSHAN}, "village_id"),
        ({"role": "county", "township_id": DONGSHAN}, "township_id"),
        ({"role": "inspector", "township_id": DONGSHAN, "village_id": SHANGCUN}, "village_id"),
        ({"role": "inspector", "township_id": DONGSHAN, "mobile": "12345678901"}, "mobile"),
        ({"role": "inspector", "township_id": DONGSHAN, "mobile": "1380000000"}, "mobile"),
        ({"role": "mayor"}, "role"),
    ],
)
def test_an_account_names_the_places_its_role_needs(identity: IdentityApp, body: dict, field: str):
    answer = identity.as_(
        "county", "POST", "/accounts", json={"name": "某人", "mobile": "13900000001", **body}
    )
    assert answer.status_code == 422, answer.text
    assert field in str(answer.json()["detail"][0]["loc"])


def test_mobile_numbers_are_mainland_numbers_and_unique(identity: IdentityApp):
    assert normalise_mobile("+86 139-0000-0001") == "13900000001"
    assert normalise_mobile("008613900000001") == "13900000001"
    with pytest.raises(ValueError):
        normalise_mobile("23900000001")
    identity.create("county", name="甲", mobile="13900000001", role="ops")
    answer = identity.as_(
        "county", "POST", "/accounts", json={"name": "乙", "mobile": "+8613900000001", "role": "ops"}
    )
    assert answer.status_code == 409
    assert answer.json()["detail"][0]["loc"] == ["body", "mobile"]


def test_the_first_password_is_set_with_a_code_that_expires(identity: IdentityApp):
    issued = identity.create("county", name="运维", mobile="13900000001", role="ops")
    mobile, code = issued["account"]["mobile"], issued["code"]
    assert identity.sign_in(mobile, PASSWORD).status_code == 401  # no password yet
    wrong = identity.set_password(mobile, "ABCDEFGHJK")
    unknown = identity.set_password("13999999999", code)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    identity.advance(seconds=identity.config.setup_code_ttl_seconds + 1)
    assert identity.set_password(mobile, code).status_code == 401  # expired
    identity.again("county")
    # a reset gives a fresh code; lower case and dashes are forgiven
    fresh = identity.as_("county", "POST", f"/accounts/{issued['account']['id']}/reset").json()["code"]
    assert identity.set_password(mobile, f"{fresh[:5]}-{fresh[5:]}".lower()).status_code == 204
    assert identity.set_password(mobile, fresh).status_code == 401  # used up
    assert identity.sign_in(mobile).status_code == 201
    assert identity.events("account.password_set")[-1]["payload"]["with_code"] is True


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Ab#1", "at least 8 characters"),
        ("abcdefgh12", "at least 3 of"),
        ("ABCDEFGH##", "at least 3 of"),
        ("Aa#13900000001", "mobile number"),
        ("Aa#00000001x", "mobile number"),  # its last eight digits
        ("Aa#1 bcdefgh", "spaces"),
    ],
)
def test_a_password_breaking_a_rule_is_refused_naming_it(identity: IdentityApp, password: str, rule: str):
    issued = identity.create("county", name="运维", mobile="13900000001", role="ops")
    answer = identity.set_password("13900000001", issued["code"], password)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "password"]
    assert rule in answer.json()["detail"][0]["msg"]
    # the code still works for a good password
    assert identity.set_password("13900000001", issued["code"], "Good-pass-2026").status_code == 204


def test_a_new_password_is_none_of_the_last_five(identity: IdentityApp):
    passwords = [PASSWORD, "Second#2026", "Third#2026", "Fourth#2026", "Fifth#2026", "Sixth#2026"]
    current = PASSWORD
    for new in passwords[1:]:
        answer = identity.as_(
            "county", "PUT", "/accounts/me/password", json={"current_password": current, "password": new}
        )
        assert answer.status_code == 204, answer.text
        current = new
    for old in passwords[1:]:
        answer = identity.as_(
            "county", "PUT", "/accounts/me/password", json={"current_password": current, "password": old}
        )
        assert answer.status_code == 422, old
        assert "last 5 passwords" in answer.json()["detail"][0]["msg"]
    # the first one is six passwords back: allowed again
    answer = identity.as_(
        "county", "PUT", "/accounts/me/password", json={"current_password": current, "password": PASSWORD}
    )
    assert answer.status_code == 204
    wrong = identity.as_(
        "county",
        "PUT",
        "/accounts/me/password",
        json={"current_password": "nope", "password": "Seventh#2026"},
    )
    assert wrong.status_code == 403


def test_changing_ones_password_ends_ones_other_sessions(identity: IdentityApp):
    other = identity.sign_in("13800000001").json()
    answer = identity.as_(
        "county",
        "PUT",
        "/accounts/me/password",
        json={"current_password": PASSWORD, "password": "Another#2026"},
    )
    assert answer.status_code == 204
    assert identity.bearer(other["access_token"], "GET", "/accounts/me").status_code == 401
    assert identity.as_("county", "GET", "/accounts/me").status_code == 200  # this session goes on
    revoked = identity.events("session.revoked")[-1]["payload"]
    assert revoked["session_ids"] == [other["session_id"]] and revoked["reason"] == "password_changed"


def test_disabling_an_account_ends_its_sessions_and_enabling_lets_it_back(offices: IdentityApp):
    first = offices.person("inspector", "dongshan", name="检查员", mobile="13900000001", role="inspector")
    second = offices.sign_in("13900000001").json()
    account_id = first["account"]["id"]
    answer = offices.as_("dongshan", "POST", f"/accounts/{account_id}/disable")
    assert answer.status_code == 200 and answer.json()["status"] == "disabled"
    assert offices.as_("inspector", "GET", "/accounts/me").status_code == 401
    assert (
        offices.client.post("/sessions/refresh", json={"refresh_token": second["refresh_token"]}).status_code
        == 401
    )
    refused = offices.sign_in("13900000001")
    assert refused.status_code == 401
    assert offices.events("signin.failed")[-1]["payload"]["reason"] == "disabled"
    disabled = offices.events("account.disabled")[-1]
    assert disabled["payload"]["account_id"] == account_id and disabled["actor"].startswith("township:")
    revoked = offices.events("session.revoked")[-1]["payload"]
    assert revoked["reason"] == "account_disabled" and len(revoked["session_ids"]) == 2
    assert second["session_id"] in revoked["session_ids"]
    assert revoked["until"] > offices.clock.now().isoformat()
    assert offices.audit("account.disabled") and offices.audit("session.revoked")
    # enabled again: signs in with the same password
    enabled = offices.as_("dongshan", "POST", f"/accounts/{account_id}/enable")
    assert enabled.status_code == 200 and enabled.json()["status"] == "active"
    assert offices.events("account.enabled")[-1]["payload"]["account_id"] == account_id
    assert offices.sign_in("13900000001").status_code == 201
    # an office cannot disable itself
    assert offices.as_("county", "POST", f"/accounts/{offices.ids['county']}/disable").status_code == 409


def test_a_role_change_is_audited_published_and_ends_the_sessions(offices: IdentityApp):
    issued = offices.person("inspector", "dongshan", name="检查员", mobile="13900000001", role="inspector")
    account_id = issued["account"]["id"]
    answer = offices.as_("county", "PATCH", f"/accounts/{account_id}", json={"role": "township"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["role"] == "township" and answer.json()["township_id"] == DONGSHAN
    changed = offices.events("account.changed")[-1]["payload"]
    assert changed["changed"] == ["role"] and changed["previous_role"] == "inspector"
    line = offices.audit("account.role_changed")[-1]
    assert line["entity_id"] == account_id
    assert offices.events("session.revoked")[-1]["payload"]["reason"] == "account_changed"
    assert offices.as_("inspector", "GET", "/accounts/me").status_code == 401  # its token says inspector
    fresh = offices.sign_in("13900000001").json()["access_token"]
    assert offices.bearer(fresh, "GET", "/accounts/me").json()["role"] == "township"
    # a township office may not make anyone a township office
    other = offices.create("dongshan", name="检查员2", mobile="13900000002", role="inspector")
    answer = offices.as_(
        "dongshan", "PATCH", f"/accounts/{other['account']['id']}", json={"role": "township"}
    )
    assert answer.status_code == 403
    # but may move a coordinator to another of its villages; a name change ends no session
    village = offices.create(
        "dongshan", name="李明", mobile="13900000003", role="village", village_id=SHANGCUN
    )
    revocations = len(offices.events("session.revoked"))
    moved = offices.as_(
        "dongshan", "PATCH", f"/accounts/{village['account']['id']}", json={"village_id": XIACUN}
    )
    assert moved.status_code == 200 and moved.json()["village_id"] == XIACUN
    renamed = offices.as_(
        "dongshan", "PATCH", f"/accounts/{village['account']['id']}", json={"name": "李明明"}
    )
    assert renamed.json()["name"] == "李明明"
    assert offices.events("account.changed")[-1]["payload"]["changed"] == ["name"]
    assert len(offices.events("session.revoked")) == revocations  # it had no session open


def test_a_reset_stops_the_old_password_and_gives_a_new_code(offices: IdentityApp):
    issued = offices.person("inspector", "dongshan", name="检查员", mobile="13900000001", role="inspector")
    answer = offices.as_("dongshan", "POST", f"/accounts/{issued['account']['id']}/reset")
    assert answer.status_code == 200, answer.text
    code = answer.json()["code"]
    assert offices.sign_in("13900000001").status_code == 401
    assert offices.events("signin.failed")[-1]["payload"]["reason"] == "no_password"
    assert offices.as_("inspector", "GET", "/accounts/me").status_code == 401
    reset = offices.events("account.password_reset")[-1]
    assert reset["payload"]["account_id"] == issued["account"]["id"]
    assert offices.audit("account.password_reset")
    assert offices.set_password("13900000001", code, PASSWORD).status_code == 422  # the last password
    assert offices.set_password("13900000001", code, "Renewed#2026").status_code == 204
    assert offices.sign_in("13900000001", "Renewed#2026").status_code == 201


def test_a_townships_coordinators_are_created_in_one_go(offices: IdentityApp):
    villages = [
        {"village_id": SHANGCUN, "name": "李明", "mobile": "13900000011"},
        {"village_id": XIACUN, "name": "王芳", "mobile": "13900000012"},
    ]
    answer = offices.as_(
        "dongshan", "POST", "/accounts/coordinators", json={"township_id": DONGSHAN, "villages": villages}
    )
    assert answer.status_code == 201, answer.text
    issued = answer.json()
    assert [item["account"]["village_id"] for item in issued] == [SHANGCUN, XIACUN]
    assert all(item["account"]["role"] == "village" and item["code"] for item in issued)
    assert len(offices.events("account.created")) == 5  # county, two townships, two coordinators
    offices.enrol("shangcun", issued[0])
    me = offices.as_("shangcun", "GET", "/accounts/me").json()
    assert me["village_id"] == SHANGCUN and me["township_id"] == DONGSHAN
    # all or none: one taken mobile number refuses the whole list, naming the row
    again = [
        {"village_id": "qingyun.dongshan.nanwan", "name": "陈志强", "mobile": "13900000013"},
        {"village_id": "qingyun.dongshan.beipo", "name": "赵桂兰", "mobile": "13900000012"},
    ]
    refused = offices.as_(
        "county", "POST", "/accounts/coordinators", json={"township_id": DONGSHAN, "villages": again}
    )
    assert refused.status_code == 409
    assert refused.json()["detail"][0]["loc"] == ["body", "villages.1.mobile"]
    assert len(offices.events("account.created")) == 5
    twice = [
        {"village_id": HECUN, "name": "张伟", "mobile": "13900000021"},
        {"village_id": HECUN, "name": "张伟", "mobile": "13900000022"},
    ]
    refused = offices.as_(
        "county", "POST", "/accounts/coordinators", json={"township_id": XISHUI, "villages": twice}
    )
    assert refused.status_code == 422
    # a township office creates its own township's only
    other = offices.as_(
        "dongshan", "POST", "/accounts/coordinators", json={"township_id": XISHUI, "villages": [twice[0]]}
    )
    assert other.status_code == 404


def test_an_idempotency_key_replays_the_first_answer(identity: IdentityApp):
    body = {"name": "运维", "mobile": "13900000001", "role": "ops"}
    first = identity.as_("county", "POST", "/accounts", json=body, headers={"Idempotency-Key": "k-1"})
    again = identity.as_("county", "POST", "/accounts", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert len(identity.events("account.created")) == 2  # the county's own and this one


def test_guessing_the_current_password_with_a_token_locks_like_signing_in(identity: IdentityApp):
    """A stolen access token is no way to guess the password: wrong current passwords count."""
    body = {"current_password": "Guess#2026x", "password": "Another#2026"}
    for _ in range(5):
        assert identity.as_("county", "PUT", "/accounts/me/password", json=body).status_code == 403
    assert identity.events("account.locked")[-1]["payload"]["failures"] == 5
    assert len(identity.audit("account.password_change_failed")) == 5
    right = {"current_password": PASSWORD, "password": "Another#2026"}
    assert identity.as_("county", "PUT", "/accounts/me/password", json=right).status_code == 403
    assert identity.sign_in("13800000001").status_code == 401  # locked for sign-in too
    identity.advance(minutes=15)
    identity.again("county")
    assert identity.as_("county", "PUT", "/accounts/me/password", json=right).status_code == 204


def test_commands_retried_with_their_idempotency_key_are_answered_not_repeated(offices: IdentityApp):
    """A phone that lost the answer sends the command again with the same key: the same account,
    the same one-time code, the same machine secret, each made once."""
    key = {"Idempotency-Key": "retry-1"}
    body = {"name": "检查员", "mobile": "13900000055", "role": "inspector", "township_id": DONGSHAN}
    first = offices.as_("county", "POST", "/accounts", json=body, headers=key)
    again = offices.as_("county", "POST", "/accounts", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.content == first.content
    account_id = first.json()["account"]["id"]
    assert (
        len([e for e in offices.events("account.created") if e["payload"]["account_id"] == account_id]) == 1
    )

    reset = {"Idempotency-Key": "reset-1"}
    one = offices.as_("county", "POST", f"/accounts/{account_id}/reset", headers=reset)
    two = offices.as_("county", "POST", f"/accounts/{account_id}/reset", headers=reset)
    assert one.status_code == two.status_code == 200 and one.json()["code"] == two.json()["code"]
    assert len(offices.events("account.password_reset")) == 1
    assert offices.set_password("13900000055", two.json()["code"]).status_code == 204

    machine = {"name": "短信网关", "scopes": ["sms:callback"]}
    made = [
        offices.as_("county", "POST", "/machines", json=machine, headers={"Idempotency-Key": "m-1"})
        for _ in range(2)
    ]
    assert [answer.status_code for answer in made] == [201, 201]
    assert made[0].json()["client_secret"] == made[1].json()["client_secret"]
    assert len(offices.as_("county", "GET", "/machines").json()) == 1
    # another office's identical key is another key
    other = offices.as_("dongshan", "POST", "/accounts", json={**body, "mobile": "13900000056"}, headers=key)
    assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers
