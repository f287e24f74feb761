"""Sign-in, its limits and lockout, the same refusal for every reason, refresh rotation with reuse
detection, sign-out; the tokens as another service will verify them."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import jwt
import pytest
import sqlalchemy as sa

from shared.clock import ManualClock
from shared.settings import Settings
from shared.tokens import InvalidToken
from tests.support.identity import (
    COUNTY,
    COUNTY_MOBILE,
    DONGSHAN,
    PASSWORD,
    SHANGCUN,
    START,
    IdentityApp,
    cheap_config,
    running_identity,
)


def test_a_sign_in_answers_a_short_es256_token_with_the_place(offices: IdentityApp):
    issued = offices.create(
        "dongshan", name="李明", mobile="13900000001", role="village", village_id=SHANGCUN
    )
    pair = offices.enrol("shangcun", issued)
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 900
    header = jwt.get_unverified_header(pair["access_token"])
    assert header["alg"] == "ES256" and header["kid"] and header["typ"] == "at+jwt"
    claims = offices.verifier().verify(pair["access_token"])
    assert claims["iss"] == "shian-identity" and claims["aud"] == "shian"
    assert claims["sub"] == issued["account"]["id"] and claims["sid"] == pair["session_id"]
    assert (claims["role"], claims["county"], claims["township"], claims["village"]) == (
        "village",
        COUNTY,
        DONGSHAN,
        SHANGCUN,
    )
    assert claims["exp"] - claims["iat"] == 900 and claims["iat"] == int(offices.clock.now().timestamp())
    succeeded = offices.events("signin.succeeded")[-1]
    assert succeeded["payload"]["session_id"] == pair["session_id"]
    assert succeeded["payload"]["account_id"] == issued["account"]["id"]
    assert offices.audit("signin.succeeded")[-1]["detail"]["session_id"] == pair["session_id"]


def test_an_unknown_account_and_a_wrong_password_get_the_same_401(identity: IdentityApp):
    unknown = identity.sign_in("13999999999", PASSWORD)
    wrong = identity.sign_in(COUNTY_MOBILE, "Wrong#2026x")
    malformed = identity.sign_in("not a number", PASSWORD)
    assert unknown.status_code == wrong.status_code == malformed.status_code == 401
    assert unknown.json() == wrong.json() == malformed.json()
    assert dict(unknown.headers) == dict(wrong.headers)
    reasons = [event["payload"]["reason"] for event in identity.events("signin.failed")]
    assert reasons == ["unknown_account", "wrong_password", "unknown_account"]
    unknown_line = identity.audit("signin.failed")[0]
    assert unknown_line["entity_id"] == "139****9999"  # no full number in the log


def test_an_unknown_account_takes_as_long_as_a_wrong_password(settings: Settings):
    """Both verify an Argon2id hash of the same cost (the unknown one a dummy made at start)."""
    config = cheap_config(argon2_time_cost=2, argon2_memory_kib=16 * 1024)
    with running_identity(settings, ManualClock(START), config) as identity:

        def seconds(mobile: str) -> float:
            started = time.perf_counter()
            assert identity.sign_in(mobile, "Wrong#2026x").status_code == 401
            return time.perf_counter() - started

        unknown, wrong = [], []
        for _ in range(4):  # fewer than the lock's 5 failures
            unknown.append(seconds("13999999999"))
            wrong.append(seconds(COUNTY_MOBILE))
        ratio = statistics.median(unknown) / statistics.median(wrong)
        assert 0.5 < ratio < 2.0, (unknown, wrong)


def test_five_failures_lock_the_account_for_fifteen_minutes(identity: IdentityApp):
    for _ in range(5):
        assert identity.sign_in(COUNTY_MOBILE, "Wrong#2026x").status_code == 401
    locked = identity.events("account.locked")
    assert len(locked) == 1
    assert locked[0]["payload"]["failures"] == 5
    assert locked[0]["payload"]["until"].startswith(
        (identity.clock.now().replace(microsecond=0)).isoformat()[:13]
    )
    assert identity.audit("account.locked")
    # the right password is refused too, with the same answer
    right = identity.sign_in(COUNTY_MOBILE, PASSWORD)
    assert right.status_code == 401
    assert right.json() == identity.sign_in("13999999999").json()
    assert identity.events("signin.failed")[-2]["payload"]["reason"] == "locked"
    identity.advance(minutes=14, seconds=59)
    assert identity.sign_in(COUNTY_MOBILE, PASSWORD).status_code == 401
    identity.advance(seconds=1)
    assert identity.sign_in(COUNTY_MOBILE, PASSWORD).status_code == 201
    # the count starts again from nothing
    for _ in range(4):
        identity.sign_in(COUNTY_MOBILE, "Wrong#2026x")
    assert identity.sign_in(COUNTY_MOBILE, PASSWORD).status_code == 201
    assert len(identity.events("account.locked")) == 1


def test_a_reset_unlocks(offices: IdentityApp):
    issued = offices.person("inspector", "dongshan", name="检查员", mobile="13900000001", role="inspector")
    for _ in range(5):
        offices.sign_in("13900000001", "Wrong#2026x")
    code = offices.as_("dongshan", "POST", f"/accounts/{issued['account']['id']}/reset").json()["code"]
    assert offices.set_password("13900000001", code, "Renewed#2026").status_code == 204
    assert offices.sign_in("13900000001", "Renewed#2026").status_code == 201


def test_attempts_are_limited_per_account_and_per_address(settings: Settings):
    config = cheap_config(attempts_per_account_per_minute=3, attempts_per_address_per_minute=5)
    clock = ManualClock(START.replace(second=0))
    with running_identity(settings, clock, config, county=False) as identity:
        # the same number however it is written counts against the same account
        answers = [
            identity.sign_in(number).status_code
            for number in ("13999999999", "+86 139 9999 9999", "139-9999-9999", "13999999999")
        ]
        assert answers == [401, 401, 401, 429]
        limited = identity.sign_in("13999999999")
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) == 60
        # another account from the same address: the address's limit (5) is spent too
        assert identity.sign_in("13999999998").status_code == 429
        identity.advance(minutes=1)
        assert identity.sign_in("13999999999").status_code == 401
        # one-time codes are guessed no faster than passwords
        codes = [identity.set_password("13999999997", "ABCDEFGHJK").status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(identity: IdentityApp):
    first = identity.sign_in(COUNTY_MOBILE).json()
    identity.advance(minutes=10)
    second = identity.client.post("/sessions/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    second_pair = second.json()
    assert second_pair["refresh_token"] != first["refresh_token"]
    assert second_pair["session_id"] == first["session_id"]
    claims = identity.verifier().verify(second_pair["access_token"])
    assert claims["sid"] == first["session_id"]
    third = identity.client.post(
        "/sessions/refresh", json={"refresh_token": second_pair["refresh_token"]}
    ).json()
    # the first refresh token again: someone holds a copy, the whole session ends
    reused = identity.client.post("/sessions/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    revoked = identity.events("session.revoked")[-1]["payload"]
    assert revoked["session_ids"] == [first["session_id"]] and revoked["reason"] == "refresh_reused"
    assert identity.audit("session.revoked")[-1]["detail"]["reason"] == "refresh_reused"
    assert (
        identity.client.post("/sessions/refresh", json={"refresh_token": third["refresh_token"]}).status_code
        == 401
    )
    assert identity.bearer(third["access_token"], "GET", "/accounts/me").status_code == 401
    # other sessions of the account are untouched
    assert identity.as_("county", "GET", "/accounts/me").status_code == 200
    assert identity.client.post("/sessions/refresh", json={"refresh_token": "made-up"}).status_code == 401


def test_a_refresh_token_expires(identity: IdentityApp):
    pair = identity.sign_in(COUNTY_MOBILE).json()
    identity.advance(seconds=identity.config.refresh_ttl_seconds + 1)
    assert (
        identity.client.post("/sessions/refresh", json={"refresh_token": pair["refresh_token"]}).status_code
        == 401
    )


def test_signing_out_ends_the_session(identity: IdentityApp):
    pair = identity.sign_in(COUNTY_MOBILE).json()
    answer = identity.bearer(pair["access_token"], "DELETE", "/sessions/current")
    assert answer.status_code == 204
    assert identity.bearer(pair["access_token"], "GET", "/accounts/me").status_code == 401
    assert (
        identity.client.post("/sessions/refresh", json={"refresh_token": pair["refresh_token"]}).status_code
        == 401
    )
    revoked = identity.events("session.revoked")[-1]["payload"]
    assert revoked["session_ids"] == [pair["session_id"]] and revoked["reason"] == "signed_out"
    access_expires = identity.verifier().verify(identity.tokens["county"])["exp"]
    assert revoked["until"] >= identity.clock.now().isoformat()
    assert access_expires > 0
    assert identity.as_("county", "GET", "/accounts/me").status_code == 200  # the other session


def test_an_access_token_lives_fifteen_minutes(identity: IdentityApp):
    verifier = identity.verifier(leeway_seconds=0)
    verifier.verify(identity.tokens["county"])
    identity.advance(minutes=15, seconds=30)
    assert identity.as_("county", "GET", "/accounts/me").status_code == 401
    with pytest.raises(InvalidToken):
        verifier.verify(identity.tokens["county"])


def test_identity_refuses_todays_hs256_tokens_and_unsigned_ones(identity: IdentityApp):
    from shared.auth import Role, issue_token

    legacy = issue_token(identity.settings, subject="x", role=Role.county, county_id=COUNTY)
    assert identity.bearer(legacy, "GET", "/accounts").status_code == 401
    claims = jwt.decode(identity.tokens["county"], options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "x"})
    assert identity.bearer(unsigned, "GET", "/accounts").status_code == 401
    assert identity.client.get("/accounts").status_code == 401


def test_sign_in_needs_no_token_and_is_not_replayed(tmp_path: Path, identity: IdentityApp):
    """Public routes take no Idempotency-Key answer: each sign-in is its own session."""
    one = identity.client.post(
        "/sessions", json={"mobile": COUNTY_MOBILE, "password": PASSWORD}, headers={"Idempotency-Key": "same"}
    )
    two = identity.client.post(
        "/sessions", json={"mobile": COUNTY_MOBILE, "password": PASSWORD}, headers={"Idempotency-Key": "same"}
    )
    assert one.status_code == two.status_code == 201
    assert one.json()["session_id"] != two.json()["session_id"]


def test_a_command_without_identitys_token_is_refused_before_its_body_is_read(identity: IdentityApp):
    from shared.auth import Role, issue_token

    legacy = issue_token(identity.settings, subject="x", role=Role.county, county_id=COUNTY)
    body = b'{"name": "' + b"x" * 50_000 + b'"}'
    for headers in ({}, {"Authorization": f"Bearer {legacy}"}, {"Authorization": "Bearer nonsense"}):
        answer = identity.client.post(
            "/accounts", content=body, headers={"Content-Type": "application/json", **headers}
        )
        assert answer.status_code == 401
        assert answer.json() == {"detail": "missing or invalid bearer token"}
    # with a token the route reads the body (and names what is wrong with it)
    answer = identity.as_(
        "county", "POST", "/accounts", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422


def test_ended_sessions_and_spent_refresh_tokens_are_forgotten_after_a_day(identity: IdentityApp):
    import sqlalchemy as sa

    from services.identity.sessions.service import forget_ended

    pair = identity.sign_in(COUNTY_MOBILE).json()
    identity.client.post("/sessions/refresh", json={"refresh_token": pair["refresh_token"]})
    identity.bearer(pair["access_token"], "DELETE", "/sessions/current")

    def counts() -> tuple[int, int]:
        with identity.runtime.db.engine.connect() as connection:
            sessions = connection.execute(sa.text("SELECT count(*) FROM sign_in_sessions")).scalar_one()
            tokens = connection.execute(sa.text("SELECT count(*) FROM refresh_tokens")).scalar_one()
        return int(sessions), int(tokens)

    assert counts() == (2, 3)
    identity.advance(hours=23)
    with identity.runtime.db.session() as session:
        assert forget_ended(session, now=identity.clock.now()) == 0
    identity.advance(hours=2)
    with identity.runtime.db.session() as session:
        assert forget_ended(session, now=identity.clock.now()) == 1  # the signed-out one
    assert counts() == (1, 1)  # the county's own session lives on, with its refresh token
    identity.advance(hours=12)  # that token expired 25 h ago
    with identity.runtime.db.session() as session:
        forget_ended(session, now=identity.clock.now())
    assert counts() == (1, 0)


def _sign_ins(identity: IdentityApp, mobile: str, forwarded_for: str, times: int) -> list[int]:
    return [
        identity.client.post(
            "/sessions",
            json={"mobile": mobile, "password": "Wrong#2026x"},
            headers={"X-Forwarded-For": forwarded_for},
        ).status_code
        for _ in range(times)
    ]


def test_behind_a_trusted_proxy_each_client_has_its_own_address_limit(settings: Settings):
    config = cheap_config(attempts_per_account_per_minute=1000, attempts_per_address_per_minute=3)
    behind_proxy = settings.model_copy(update={"trusted_proxies": "10.0.0.0/8"})
    clock = ManualClock(START.replace(second=0))
    with running_identity(behind_proxy, clock, config, peer=("10.0.0.2", 40000)) as identity:
        assert _sign_ins(identity, "13999999901", "198.51.100.1", 4) == [401, 401, 401, 429]
        # another client behind the same proxy has its own count
        assert _sign_ins(identity, "13999999902", "198.51.100.2", 3) == [401, 401, 401]
        # a client naming another address before the proxy's entry is still the proxy's entry
        assert _sign_ins(identity, "13999999903", "198.51.100.3, 198.51.100.1", 1) == [429]
        # the session records the client's address, not the proxy's
        answer = identity.client.post(
            "/sessions",
            json={"mobile": COUNTY_MOBILE, "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.7"},
        )
        assert answer.status_code == 201
        with identity.runtime.db.engine.connect() as connection:
            address = connection.execute(
                sa.text("SELECT address FROM sign_in_sessions WHERE id = :id"),
                {"id": answer.json()["session_id"]},
            ).scalar_one()
        assert address == "198.51.100.7"


def test_a_client_cannot_escape_the_address_limit_by_naming_other_addresses(settings: Settings):
    """No proxy is trusted (the default): X-Forwarded-For is the client's word and counts for nothing."""
    config = cheap_config(attempts_per_account_per_minute=1000, attempts_per_address_per_minute=3)
    clock = ManualClock(START.replace(second=0))
    with running_identity(settings, clock, config, county=False, peer=("203.0.113.9", 40000)) as identity:
        answers = [_sign_ins(identity, f"1399999991{n}", f"198.51.100.{n}", 1)[0] for n in range(5)]
        assert answers == [401, 401, 401, 429, 429]


def test_only_the_public_commands_take_a_body_without_a_token(identity: IdentityApp):
    refused = {"detail": "missing or invalid bearer token"}
    body = b'{"x": "' + b"y" * 10_000 + b'"}'
    json_body = {"Content-Type": "application/json"}
    # sign-out is a command under /sessions, but not a public one: its body is not read
    answer = identity.client.request("DELETE", "/sessions/current", content=body, headers=json_body)
    assert answer.status_code == 401 and answer.json() == refused
    for path in ("/accounts", "/accounts/coordinators", "/machines", "/keys/rotate", "/sessions/other"):
        answer = identity.client.post(path, content=body, headers=json_body)
        assert answer.status_code == 401 and answer.json() == refused, path
    # the ways to a token or a password take a body without one (their routes answer)
    assert identity.client.post("/sessions", content=body, headers=json_body).status_code == 422
    assert identity.client.post("/sessions/refresh", content=body, headers=json_body).status_code == 422
    assert identity.client.post("/password", content=body, headers=json_body).status_code == 422
    token = identity.client.post("/token", data={"grant_type": "password"})
    assert token.status_code == 400 and token.json()["error"] == "unsupported_grant_type"


def test_a_machines_token_opens_no_command_of_identity(identity: IdentityApp):
    issued = identity.as_(
        "county", "POST", "/machines", json={"name": "短信网关", "scopes": ["sms:callback"]}
    ).json()
    token = identity.client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": issued["machine"]["client_id"],
            "client_secret": issued["client_secret"],
        },
    ).json()["access_token"]
    answer = identity.client.post(
        "/accounts", json={"name": "x"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 403 and answer.json() == {"detail": "a machine account manages nobody"}


def test_a_key_rotated_a_moment_ago_opens_commands_at_once(identity: IdentityApp):
    """The guard's verifier reads identity's keys from its database: a token of a new key is
    taken at once, with no pause between lookups of unknown keys."""
    for n in range(3):
        rotated = identity.as_("county", "POST", "/keys/rotate")
        assert rotated.status_code == 201, rotated.text
        identity.again("county")
        assert jwt.get_unverified_header(identity.tokens["county"])["kid"] == rotated.json()["kid"]
        created = identity.as_(
            "county",
            "POST",
            "/accounts",
            json={
                "name": f"检查员{n}",
                "mobile": f"1390000010{n}",
                "role": "inspector",
                "township_id": DONGSHAN,
            },
        )
        assert created.status_code == 201, created.text
