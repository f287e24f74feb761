"""Machine accounts: created by the county or operations with scopes, tokens by client credentials."""

from __future__ import annotations

import base64

import pytest

from shared.tokens import InvalidToken, RevokedSessions
from tests.support.identity import COUNTY, IdentityApp


def _machine(identity: IdentityApp, by: str = "county", scopes: list[str] | None = None) -> dict:
    answer = identity.as_(
        by,
        "POST",
        "/machines",
        json={"name": "短信网关回调", "scopes": scopes or ["sms:callback", "incidents:read"]},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_machine_gets_a_token_with_its_scopes(identity: IdentityApp):
    issued = _machine(identity)
    machine = issued["machine"]
    assert machine["client_id"].startswith("m-") and machine["scopes"] == ["incidents:read", "sms:callback"]
    created = identity.events("machine.created")[-1]["payload"]
    assert created["client_id"] == machine["client_id"] and issued["client_secret"] not in str(created)
    answer = identity.client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": machine["client_id"],
            "client_secret": issued["client_secret"],
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    claims = identity.verifier().verify(body["access_token"])
    assert claims["role"] == "machine" and claims["scope"] == "incidents:read sms:callback"
    assert claims["sub"] == f"machine:{machine['client_id']}" and claims["county"] == COUNTY
    # HTTP Basic, and a subset of the scopes
    basic = base64.b64encode(f"{machine['client_id']}:{issued['client_secret']}".encode()).decode()
    narrowed = identity.client.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "sms:callback"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert narrowed.status_code == 200 and narrowed.json()["scope"] == "sms:callback"
    # a machine token is no person's: identity's management routes refuse it
    assert identity.bearer(body["access_token"], "GET", "/accounts").status_code == 403


def test_wrong_secrets_unknown_clients_grants_and_scopes_are_refused(identity: IdentityApp):
    issued = _machine(identity)
    client_id = issued["machine"]["client_id"]
    for data in (
        {"client_id": client_id, "client_secret": "wrong"},
        {"client_id": "m-unknown", "client_secret": issued["client_secret"]},
        {"client_id": client_id, "client_secret": issued["client_secret"], "scope": "accounts:admin"},
    ):
        answer = identity.client.post("/token", data={"grant_type": "client_credentials", **data})
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client", data
    password = identity.client.post(
        "/token", data={"grant_type": "password", "username": "x", "password": "y"}
    )
    assert password.status_code == 400 and password.json()["error"] == "unsupported_grant_type"


def test_only_county_and_operations_create_machines(offices: IdentityApp):
    answer = offices.as_("dongshan", "POST", "/machines", json={"name": "x", "scopes": ["a"]})
    assert answer.status_code == 403
    offices.person("ops", "county", name="运维", mobile="13900000001", role="ops")
    _machine(offices, by="ops")
    assert len(offices.as_("county", "GET", "/machines").json()) == 1
    bad = offices.as_("county", "POST", "/machines", json={"name": "x", "scopes": ["Not A Scope"]})
    assert bad.status_code == 422


def test_disabling_a_machine_revokes_its_tokens(identity: IdentityApp):
    issued = _machine(identity)
    machine = issued["machine"]
    form = {
        "grant_type": "client_credentials",
        "client_id": machine["client_id"],
        "client_secret": issued["client_secret"],
    }
    token = identity.client.post("/token", data=form).json()["access_token"]
    answer = identity.as_("county", "POST", f"/machines/{machine['id']}/disable")
    assert answer.status_code == 200 and answer.json()["status"] == "disabled"
    assert identity.events("machine.disabled")[-1]["payload"]["client_id"] == machine["client_id"]
    revoked = identity.events("session.revoked")[-1]
    revoked_sessions = RevokedSessions(identity.clock)
    revoked_sessions.on_event(revoked["payload"])
    with pytest.raises(InvalidToken):
        identity.verifier(revoked=revoked_sessions).verify(token)
    assert identity.client.post("/token", data=form).status_code == 401
    assert identity.audit("machine.disabled")


def test_a_new_secret_replaces_the_old_one(identity: IdentityApp):
    issued = _machine(identity)
    machine = issued["machine"]
    answer = identity.as_("county", "POST", f"/machines/{machine['id']}/secret")
    assert answer.status_code == 200
    fresh = answer.json()["client_secret"]
    assert fresh != issued["client_secret"]
    form = {"grant_type": "client_credentials", "client_id": machine["client_id"]}
    assert (
        identity.client.post("/token", data={**form, "client_secret": issued["client_secret"]}).status_code
        == 401
    )
    assert identity.client.post("/token", data={**form, "client_secret": fresh}).status_code == 200
    assert identity.audit("machine.secret_changed")
