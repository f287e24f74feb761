"""How a service reads a bearer token: identity's (ES256 with a kid) against the JWKS, `shian token`'s
HS256 outside production only; and on the event loop from the cached keys only."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from shared.admission import CALLER_KEY, fetch_missing_key, verified_caller
from shared.auth import Principal, Role, issue_token, verify_token
from shared.settings import Settings
from shared.tokens import JwksVerifier, RevokedSessions

SECRET = "unit-test-secret-key-that-is-long-enough-0123456789"
KID = "key-1"


class Identity:
    """A signing key and its JWKS, as identity publishes them."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**public, "kid": KID, "alg": "ES256", "use": "sig"}]}
        self.fetched = 0

    def fetch(self, _url: str) -> dict[str, Any]:
        self.fetched += 1
        return self.jwks

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": "shian-identity",
            "aud": "shian",
            "sub": "account-1",
            "sid": "session-1",
            "role": "township",
            "county": "qingyun",
            "township": "qingyun.dongshan",
            "village": None,
            "iat": now,
            "exp": now + 900,
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="ES256", headers={"kid": KID, "typ": "at+jwt"})

    def verifier(self, revoked: RevokedSessions | None = None) -> JwksVerifier:
        return JwksVerifier(
            "http://identity/jwks", "shian-identity", "shian", fetch=self.fetch, revoked=revoked
        )


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(env="test", var_dir=tmp_path, secret_key=SECRET)


def test_identitys_token_is_verified_against_its_keys(settings: Settings) -> None:
    identity = Identity()
    principal = verify_token(settings, identity.verifier(), identity.token())
    assert principal == Principal("account-1", Role.township, "qingyun", "qingyun.dongshan", None)
    with pytest.raises(jwt.InvalidTokenError):
        verify_token(settings, Identity().verifier(), identity.token())  # another identity's keys
    with pytest.raises(jwt.ExpiredSignatureError):
        verify_token(settings, identity.verifier(), identity.token(exp=int(time.time()) - 3600))
    with pytest.raises(jwt.InvalidTokenError):
        verify_token(settings, identity.verifier(), identity.token(aud="elsewhere"))
    # a machine's token names no place: a machine principal with its scopes, which only the
    # routes its scopes open take (shared.auth.requires_scope)
    machine = verify_token(
        settings,
        identity.verifier(),
        identity.token(
            sub="machine:m-1", role="machine", scope="reporting:read x", client_id="m-1", township=None
        ),
    )
    assert machine.role is Role.machine and machine.scopes == {"reporting:read", "x"}
    assert (machine.county_id, machine.township_id, machine.client_id, machine.actor) == (
        "qingyun",
        None,
        "m-1",
        "machine:m-1",
    )
    with pytest.raises(jwt.InvalidTokenError):  # a machine's token without its client id
        verify_token(settings, identity.verifier(), identity.token(role="machine", scope="x"))
    with pytest.raises(jwt.InvalidTokenError):  # `shian token`'s HS256 is never a machine's
        verify_token(
            settings,
            None,
            jwt.encode(
                {
                    "iss": "shian",
                    "sub": "m",
                    "role": "machine",
                    "county": "qingyun",
                    "iat": int(time.time()),
                    "exp": int(time.time()) + 60,
                    "scope": "reporting:read",
                },
                settings.signing_key(),
                algorithm="HS256",
            ),
        )


def test_a_revoked_session_is_refused(settings: Settings) -> None:
    identity = Identity()
    revoked = RevokedSessions()
    verifier = identity.verifier(revoked)
    assert verify_token(settings, verifier, identity.token()).subject == "account-1"
    revoked.on_event(
        {"session_ids": ["session-1"], "until": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    )
    with pytest.raises(jwt.InvalidTokenError):
        verify_token(settings, verifier, identity.token())


def test_shian_tokens_hs256_is_taken_outside_production_only(settings: Settings) -> None:
    token = issue_token(settings, subject="li", role=Role.county, county_id="qingyun")
    assert verify_token(settings, None, token).subject == "li"
    production = settings.model_copy(update={"env": "production"})
    with pytest.raises(jwt.InvalidTokenError, match="production"):
        verify_token(production, None, token)
    identity = Identity()
    assert verify_token(production, identity.verifier(), identity.token()).role is Role.township


def test_the_event_loop_reads_cached_keys_only_and_a_worker_thread_fetches(settings: Settings) -> None:
    identity = Identity()
    app = SimpleNamespace(state=SimpleNamespace(token_verifier=identity.verifier()))
    headers = [(b"authorization", f"Bearer {identity.token()}".encode())]

    scope: dict[str, Any] = {"app": app, "headers": headers}
    assert verified_caller(scope, settings) is None  # no key cached: refused, nothing fetched
    assert identity.fetched == 0

    scope = {"app": app, "headers": headers, CALLER_KEY: None}
    asyncio.run(fetch_missing_key(scope))
    assert identity.fetched == 1 and CALLER_KEY not in scope
    assert verified_caller(scope, settings) is not None
    asyncio.run(fetch_missing_key({"app": app, "headers": headers}))
    assert identity.fetched == 1  # cached now: no second fetch
