"""Identity as a real process, used as people and attackers use it: a burst of sign-ins with right
and wrong passwords, refreshes and account creations at once; an account creation retried with its
Idempotency-Key after identity was killed between its commit and its answer; a domain service
killed while it follows identity's stream, and a sign-out made while it was down.

The demo accounts (`services.identity.cli demo-accounts`) are the people; the Argon2id cost is
lowered (the shipped cost is measured by bench/identity.py, not paid in a test on two cores).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

from services.identity.demo import DEMO_PASSWORD, DemoAccount, demo_accounts
from shared.auth import Role, issue_token
from shared.bus import decode_entry
from shared.settings import Settings
from tests.support.processes import REPO_ROOT, settings_env, wait_until
from tests.support.service_process import ServiceProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

DEMO_COUNTY = REPO_ROOT / "services" / "registry" / "data" / "demo_county.yaml"
CHEAP_ARGON2 = {
    "SHIAN_IDENTITY_ARGON2_TIME_COST": "1",
    "SHIAN_IDENTITY_ARGON2_MEMORY_KIB": "1024",
}
COUNTY_MOBILE = "13800000001"
OPS_MOBILE = "13800000009"


def _definition() -> dict[str, Any]:
    return yaml.safe_load(DEMO_COUNTY.read_text(encoding="utf-8"))


def _identity(
    settings: Settings, workdir: Path, *, database_url: str | None = None, **extra_env: str
) -> ServiceProcess:
    """Identity on `database_url` (else its own SQLite file under `workdir`), its demo accounts
    made by its CLI (which migrates the database first), not yet started."""
    extra = {**CHEAP_ARGON2, "SHIAN_HTTP_QUEUE_SECONDS": "120", **extra_env}
    process = ServiceProcess("identity", settings, workdir, database_url=database_url, extra_env=extra)
    workdir.mkdir(parents=True, exist_ok=True)
    env = settings_env(settings)
    env["SHIAN_IDENTITY_DATABASE_URL"] = database_url or _sqlite(workdir)
    env.update(extra)
    made = subprocess.run(
        [sys.executable, "-m", "services.identity.cli", "demo-accounts"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr.decode(errors="replace")
    return process


def _sqlite(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'identity.db'}"


def _query(database: Path | str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of identity's database (a workdir's SQLite file, or a URL), read beside the running
    process; `?` marks the arguments."""
    url = _sqlite(database) if isinstance(database, Path) else database
    engine = sa.create_engine(url)
    names = {f"a{n}": value for n, value in enumerate(args)}
    for name in names:
        sql = sql.replace("?", f":{name}", 1)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql), names)]
    finally:
        engine.dispose()


def _sign_in(client: httpx.Client, mobile: str, password: str = DEMO_PASSWORD, **headers: str) -> dict:
    answer = client.post("/sessions", json={"mobile": mobile, "password": password}, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _at_the_start_of_a_minute(seconds_needed: float) -> None:
    """The attempt limits count per wall-clock minute: wait for a fresh minute when this one has
    less than `seconds_needed` left, so that a burst falls in one window and its 429s are exact."""
    left = 60 - time.time() % 60
    if left < seconds_needed:
        time.sleep(left + 0.2)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_burst_of_sign_ins_refreshes_and_creations_keeps_the_limits_and_the_database(
    database: str, settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """About 270 requests at once: right passwords (several per account), 30 wrong passwords on
    one account from 30 addresses, 80 sign-ins from one address over 80 numbers, refreshes (one
    refresh token shown twice at once), and 90 account creations (10 numbers asked twice). The
    per-account limit (10 a minute) and the per-address limit (60) hold exactly; nothing is a 5xx;
    every 201 is one row, and the lock, the failures and the events agree with the answers."""
    url = request.getfixturevalue("pg_database")() if database == "postgresql" else None
    workdir = tmp_path / "identity"
    db: Path | str = url or workdir
    # clients reach identity through a reverse proxy on this host, which names them
    identity = _identity(settings, workdir, database_url=url, SHIAN_TRUSTED_PROXIES="127.0.0.1").start()
    try:
        people = [
            account
            for account in demo_accounts(_definition())
            if account.mobile not in (COUNTY_MOBILE, OPS_MOBILE)
        ]
        accounts_before = _query(db, "SELECT count(*) FROM accounts")[0][0]
        _at_the_start_of_a_minute(40)
        with httpx.Client(base_url=identity.url, timeout=60) as client:
            setup = {"X-Forwarded-For": "192.0.2.1"}
            county = _sign_in(client, COUNTY_MOBILE, **setup)
            raced = _sign_in(client, COUNTY_MOBILE, **setup)  # its refresh token is shown twice at once
            refreshable = [_sign_in(client, person.mobile, **setup) for person in people]
        sessions_before = _query(db, "SELECT count(*) FROM sign_in_sessions")[0][0]
        answers = asyncio.run(_burst(identity.url, county["access_token"], raced, refreshable, people))
        kinds = {kind: Counter(status for status, _ in found) for kind, found in answers.items()}

        assert all(status < 500 for found in kinds.values() for status in found), kinds
        # right passwords: 1 sign-in each before, 6 in the burst: all under the account's 10
        assert kinds["right"] == Counter({201: 6 * len(people)}), kinds["right"]
        # one account, 30 wrong passwords from 30 addresses: 10 counted, 20 limited; of the 10,
        # five wrong passwords lock the account, and the five after find it locked
        assert kinds["wrong"] == Counter({401: 10, 429: 20}), kinds["wrong"]
        # one address, 80 numbers nobody has: 60 counted, 20 limited
        assert kinds["flood"] == Counter({401: 60, 429: 20}), kinds["flood"]
        assert kinds["refresh"] == Counter({200: len(people)}), kinds["refresh"]
        assert kinds["raced"] == Counter({200: 1, 401: 1}), kinds["raced"]
        assert kinds["create"] == Counter({201: 80, 409: 10}), kinds["create"]
        for mobile in {body["mobile"] for status, body in answers["create-twice"]}:
            pair = sorted(status for status, body in answers["create-twice"] if body["mobile"] == mobile)
            assert pair == [201, 409], (mobile, pair)

        # the database says what the answers said
        sessions = _query(db, "SELECT count(*) FROM sign_in_sessions")[0][0]
        assert sessions == sessions_before + 6 * len(people)
        assert _query(db, "SELECT count(*) FROM accounts")[0][0] == accounts_before + 80
        created = _query(db, "SELECT count(*) FROM accounts WHERE created_by LIKE ?", "county:%")[0][0]
        assert created == 80
        assert _query(db, "SELECT count(DISTINCT mobile), count(*) FROM accounts")[0] == (
            accounts_before + 80,
            accounts_before + 80,
        )
        failures, locked_until = _query(
            db, "SELECT failures, locked_until FROM accounts WHERE mobile = ?", OPS_MOBILE
        )[0]
        assert failures == 5 and locked_until is not None
        ops_failed = _query(
            db,
            "SELECT count(*) FROM audit_log WHERE action = 'signin.failed' AND actor LIKE ?",
            "address:198.18.%",
        )[0][0]
        assert ops_failed == 10
        assert _query(db, "SELECT count(*) FROM audit_log WHERE action = 'account.locked'")[0][0] == 1
        flooded = _query(db, "SELECT count(*) FROM audit_log WHERE actor = ?", "address:198.51.100.250")[0][0]
        assert flooded == 60
        # the raced session is ended: a refresh token shown twice means a copy exists
        revoked = _query(db, "SELECT revoked_reason FROM sign_in_sessions WHERE id = ?", raced["session_id"])
        assert revoked == [("refresh_reused",)]
        # each refresh used its token once and issued one more
        used = _query(db, "SELECT count(*) FROM refresh_tokens WHERE used_at IS NOT NULL")[0][0]
        assert used == len(people) + 1
        events = Counter(event_type for (event_type,) in _query(db, "SELECT event_type FROM outbox"))
        audited = Counter(action for (action,) in _query(db, "SELECT action FROM audit_log"))
        for action in ("account.created", "signin.succeeded", "signin.failed", "account.locked"):
            assert events[action] == audited[action], action
        assert "Traceback" not in identity.log()
        assert "not counted" not in identity.log(), "the limits stayed on through the burst"
    finally:
        identity.kill()


async def _burst(
    url: str, county_token: str, raced: dict, refreshable: list[dict], people: list[DemoAccount]
) -> dict[str, list[tuple[int, Any]]]:
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def call(kind: str, method: str, path: str, body: dict, **headers: str) -> tuple[str, int, Any]:
            answer = await client.request(method, path, json=body, headers=headers)
            return kind, answer.status_code, body

        calls = []
        for n, person in enumerate(people):
            for k in range(6):
                calls.append(
                    call(
                        "right",
                        "POST",
                        "/sessions",
                        {"mobile": person.mobile, "password": DEMO_PASSWORD},
                        **{"X-Forwarded-For": f"203.0.113.{n * 6 + k}"},
                    )
                )
        for n in range(30):
            body = {"mobile": OPS_MOBILE, "password": f"Wrong#{n:04d}x"}
            calls.append(call("wrong", "POST", "/sessions", body, **{"X-Forwarded-For": f"198.18.0.{n}"}))
        for n in range(80):
            body = {"mobile": f"1370000{n:04d}", "password": "Guess#2026x"}
            calls.append(call("flood", "POST", "/sessions", body, **{"X-Forwarded-For": "198.51.100.250"}))
        for pair in refreshable:
            calls.append(
                call("refresh", "POST", "/sessions/refresh", {"refresh_token": pair["refresh_token"]})
            )
        for _ in range(2):
            calls.append(
                call("raced", "POST", "/sessions/refresh", {"refresh_token": raced["refresh_token"]})
            )
        bearer = {"Authorization": f"Bearer {county_token}"}
        for n in range(70):
            body = {
                "name": f"检查员{n}",
                "mobile": f"1360000{n:04d}",
                "role": "inspector",
                "township_id": "qingyun.dongshan",
            }
            calls.append(call("create", "POST", "/accounts", body, **bearer))
        for n in range(10):
            body = {
                "name": f"协管员{n}",
                "mobile": f"1350000{n:04d}",
                "role": "inspector",
                "township_id": "qingyun.xishui",
            }
            calls.append(call("create", "POST", "/accounts", body, **bearer))
            calls.append(call("create", "POST", "/accounts", dict(body), **bearer))
        done = await asyncio.gather(*calls)
    found: dict[str, list[tuple[int, Any]]] = {}
    for kind, status, body in done:
        found.setdefault(kind, []).append((status, body))
        if kind == "create" and body["mobile"].startswith("135"):
            found.setdefault("create-twice", []).append((status, body))
    return found


def test_an_account_creation_retried_after_a_kill_between_commit_and_answer_is_made_once(
    settings: Settings, tmp_path: Path
) -> None:
    key = f"office-{uuid.uuid4()}"
    workdir = tmp_path / "identity"
    crashing = _identity(settings, workdir, SHIAN_CRASH_AFTER_COMMIT_KEY=key).start()
    body = {
        "name": "东山检查员",
        "mobile": "13900000077",
        "role": "inspector",
        "township_id": "qingyun.dongshan",
    }
    try:
        with httpx.Client(base_url=crashing.url, timeout=30) as client:
            token = _sign_in(client, COUNTY_MOBILE)["access_token"]
            headers = {**_bearer(token), "Idempotency-Key": key}
            with pytest.raises(httpx.TransportError):
                client.post("/accounts", json=body, headers=headers)
        assert crashing.wait_exit() != 0, "identity died between its commit and its answer"
    finally:
        crashing.kill()
    assert _query(workdir, "SELECT count(*) FROM accounts WHERE mobile = ?", body["mobile"]) == [(1,)]

    restarted = ServiceProcess(
        "identity", settings, workdir, port=crashing.port, extra_env=CHEAP_ARGON2
    ).start()
    try:
        with httpx.Client(base_url=restarted.url, timeout=30) as client:
            retried = client.post("/accounts", json=body, headers=headers)
            assert retried.status_code == 201, retried.text
            assert retried.headers["Idempotent-Replayed"] == "true"
            again = client.post("/accounts", json=body, headers=headers)
            assert again.status_code == 201 and again.content == retried.content
            issued = retried.json()
            (account_id,) = _query(workdir, "SELECT id FROM accounts WHERE mobile = ?", body["mobile"])[0]
            assert uuid.UUID(issued["account"]["id"]) == uuid.UUID(account_id)
            # the code the retry answered is the one the committed account holds
            answer = client.post(
                "/password",
                json={"mobile": body["mobile"], "code": issued["code"], "password": "Renewed#2026"},
            )
            assert answer.status_code == 204, answer.text
            # the same key for another request is refused, naming the header
            other = client.post("/accounts", json={**body, "mobile": "13900000078"}, headers=headers)
            assert other.status_code == 422 and "Idempotency-Key" in other.text
            # without the key, the same number is a conflict, not a second account
            assert client.post("/accounts", json=body, headers=_bearer(token)).status_code == 409
        assert _query(workdir, "SELECT count(*) FROM accounts WHERE mobile = ?", body["mobile"]) == [(1,)]
        created = [
            json.loads(body_bytes)
            for (body_bytes,) in _query(
                workdir, "SELECT body FROM outbox WHERE event_type = 'account.created'"
            )
        ]
        assert sum(1 for event in created if event["payload"]["account_id"] == issued["account"]["id"]) == 1
    finally:
        restarted.kill()


def test_a_client_on_the_host_cannot_name_itself_another_address(settings: Settings, tmp_path: Path) -> None:
    """No proxy is trusted (the default): X-Forwarded-For from a local peer counts for nothing (the
    server's own proxy handling, which believed local peers, is off)."""
    identity = _identity(
        settings, tmp_path / "identity", SHIAN_IDENTITY_ATTEMPTS_PER_ADDRESS_PER_MINUTE="3"
    ).start()
    try:
        _at_the_start_of_a_minute(20)
        with httpx.Client(base_url=identity.url, timeout=30) as client:
            statuses = [
                client.post(
                    "/sessions",
                    json={"mobile": f"1370000000{n}", "password": "Guess#2026x"},
                    headers={"X-Forwarded-For": f"198.51.100.{n}"},
                ).status_code
                for n in range(5)
            ]
        assert statuses == [401, 401, 401, 429, 429]
    finally:
        identity.kill()


def _revocations_on_stream(settings: Settings) -> list[str]:
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    try:
        entries = client.xrange(settings.stream("identity"))
    finally:
        client.close()
    found = []
    for _id, fields in entries:
        envelope = decode_entry(fields)
        if envelope.type == "session.revoked":
            found.extend(envelope.payload["session_ids"])
    return found


@pytest.fixture
def identity_and_registry(
    settings: Settings, tmp_path: Path
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    identity = _identity(settings, tmp_path / "identity").start()
    registry = ServiceProcess(
        "registry",
        settings,
        tmp_path / "registry",
        extra_env={"SHIAN_JWKS_URL": f"{identity.url}/.well-known/jwks.json"},
    )
    try:
        registry.start()
        yield identity, registry
    finally:
        registry.kill()
        identity.kill()


def test_a_sign_out_made_while_a_service_was_killed_is_honoured_after_its_restart(
    settings: Settings, identity_and_registry: tuple[ServiceProcess, ServiceProcess]
) -> None:
    identity, registry = identity_and_registry
    loader = _bearer(issue_token(settings, subject="county-office", role=Role.county, county_id="qingyun"))
    assert (
        httpx.put(f"{registry.url}/places", json=_definition(), headers=loader, timeout=30).status_code == 200
    )
    with httpx.Client(base_url=identity.url, timeout=30) as client:
        leaving = _sign_in(client, COUNTY_MOBILE)
        staying = _sign_in(client, COUNTY_MOBILE)
        for pair in (leaving, staying):
            answer = httpx.get(
                f"{registry.url}/businesses", headers=_bearer(pair["access_token"]), timeout=30
            )
            assert answer.status_code == 200, answer.text

        registry.kill()  # SIGKILL, while it follows identity's stream
        assert client.delete("/sessions/current", headers=_bearer(leaving["access_token"])).status_code == 204
        wait_until(
            lambda: leaving["session_id"] in _revocations_on_stream(settings),
            timeout=30,
            what="session.revoked on identity's stream",
        )

    registry.start()  # ready once it has read identity's stream back
    refused = httpx.get(f"{registry.url}/businesses", headers=_bearer(leaving["access_token"]), timeout=30)
    assert refused.status_code == 401, refused.text
    kept = httpx.get(f"{registry.url}/businesses", headers=_bearer(staying["access_token"]), timeout=30)
    assert kept.status_code == 200, kept.text
    ready = httpx.get(f"{registry.url}/readyz", timeout=30).json()
    assert ready["checks"]["revocations"] == "ok"
