"""Helpers for tests of the identity service on its own, in-process: its app on the test Redis,
SQLite under tmp, a manual clock, a cheap Argon2id (the shipped cost is for production, not for a
test suite on two shared cores), and a first county account signed in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response

from services.identity.accounts import service as accounts
from services.identity.app import SPEC, create
from services.identity.config import IdentityConfig
from services.identity.context import Identity
from shared.clock import LOCAL_ZONE, ManualClock
from shared.migrations import upgrade
from shared.service import ServiceRuntime
from shared.settings import Settings
from shared.tokens import JwksVerifier

START = datetime(2026, 3, 2, 9, 0, tzinfo=LOCAL_ZONE)
COUNTY = "qingyun"
DONGSHAN = "qingyun.dongshan"
XISHUI = "qingyun.xishui"
SHANGCUN = "qingyun.dongshan.shangcun"
XIACUN = "qingyun.dongshan.xiacun"
HECUN = "qingyun.xishui.hecun"

PASSWORD = "Qingyun#2026"
COUNTY_MOBILE = "13800000001"


def cheap_config(**overrides: Any) -> IdentityConfig:
    values: dict[str, Any] = {
        "env": "test",
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "argon2_parallelism": 1,
        "attempts_per_address_per_minute": 10_000,
        "attempts_per_account_per_minute": 1_000,
    }
    values.update(overrides)
    return IdentityConfig(**values)


@dataclass
class IdentityApp:
    client: TestClient
    clock: ManualClock
    settings: Settings
    config: IdentityConfig
    tokens: dict[str, str] = field(default_factory=dict)  # who -> access token
    mobiles: dict[str, str] = field(default_factory=dict)  # who -> mobile
    ids: dict[str, str] = field(default_factory=dict)  # who -> account id

    @property
    def runtime(self) -> ServiceRuntime:
        return self.client.app.state.runtime  # type: ignore[attr-defined]

    @property
    def identity(self) -> Identity:
        return self.client.app.state.identity  # type: ignore[attr-defined]

    def as_(self, who: str, method: str, url: str, **kwargs: Any) -> Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}", **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def bearer(self, token: str, method: str, url: str, **kwargs: Any) -> Response:
        return self.client.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)

    def sign_in(self, mobile: str, password: str = PASSWORD) -> Response:
        return self.client.post("/sessions", json={"mobile": mobile, "password": password})

    def set_password(self, mobile: str, code: str, password: str = PASSWORD) -> Response:
        return self.client.post("/password", json={"mobile": mobile, "code": code, "password": password})

    def enrol(self, who: str, issued: dict[str, Any], password: str = PASSWORD) -> dict[str, Any]:
        """Set the first password with the code of `issued`, sign in, keep the token as `who`."""
        mobile = issued["account"]["mobile"]
        answer = self.set_password(mobile, issued["code"], password)
        assert answer.status_code == 204, answer.text
        signed = self.sign_in(mobile, password)
        assert signed.status_code == 201, signed.text
        self.tokens[who] = signed.json()["access_token"]
        self.mobiles[who] = mobile
        self.ids[who] = issued["account"]["id"]
        return signed.json()

    def again(self, who: str, password: str = PASSWORD) -> None:
        """Sign `who` in again (after the clock moved past their token's life)."""
        answer = self.sign_in(self.mobiles[who], password)
        assert answer.status_code == 201, answer.text
        self.tokens[who] = answer.json()["access_token"]

    def create(self, by: str, **body: Any) -> dict[str, Any]:
        answer = self.as_(by, "POST", "/accounts", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def person(self, who: str, by: str, **body: Any) -> dict[str, Any]:
        """An account created by `by`, activated and signed in as `who`."""
        issued = self.create(by, **body)
        self.enrol(who, issued)
        return issued

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with self.runtime.db.engine.connect() as connection:
            bodies = connection.execute(sa.text("SELECT body FROM outbox ORDER BY id")).scalars().all()
        envelopes = [json.loads(body) for body in bodies]
        return [item for item in envelopes if event_type is None or item["type"] == event_type]

    def audit(self, action: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT actor, action, entity, entity_id, detail FROM audit_log ORDER BY id"
        with self.runtime.db.engine.connect() as connection:
            rows = connection.execute(sa.text(query)).mappings().all()
        lines = [dict(row) for row in rows if action is None or row["action"] == action]
        for line in lines:
            if isinstance(line["detail"], str):
                line["detail"] = json.loads(line["detail"])
        return lines

    def verifier(self, **kwargs: Any) -> JwksVerifier:
        """The verifier another service will use, reading this app's JWKS through the test client."""
        fetch = kwargs.pop("fetch", None) or (lambda url: self.client.get(url).json())
        return JwksVerifier(
            "/.well-known/jwks.json",
            issuer=self.config.issuer,
            audience=self.config.audience,
            fetch=fetch,
            clock=self.clock,
            **kwargs,
        )

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))


@contextmanager
def running_identity(
    settings: Settings,
    clock: ManualClock,
    config: IdentityConfig,
    *,
    county: bool = True,
    peer: tuple[str, int] = ("testclient", 50000),
) -> Iterator[IdentityApp]:
    """Identity in-process; `peer` is the address its requests come from (a proxy, say)."""
    identity_settings = settings
    upgrade(SPEC.migrations, identity_settings.database_url("identity"))
    with TestClient(create(identity_settings, clock, config), client=peer) as client:
        app = IdentityApp(client=client, clock=clock, settings=identity_settings, config=config)
        if county:
            with app.runtime.db.session() as session:
                issued = accounts.bootstrap_county(
                    session,
                    app.identity,
                    county_id=COUNTY,
                    name="王主任",
                    mobile=COUNTY_MOBILE,
                    now=clock.now(),
                )
            app.enrol("county", {"account": issued.account.model_dump(mode="json"), "code": issued.code})
        yield app
