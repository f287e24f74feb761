"""shared/tokens.py on its own, against keys made here: what the other services will rely on."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from shared.clock import ManualClock
from shared.tokens import InvalidToken, JwksVerifier, RevokedSessions, SessionRevoked, TokenExpired

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ISSUER, AUDIENCE = "shian-identity", "shian"


class Keys:
    """A key set that can grow and shrink, served by a counting fetch function."""

    def __init__(self) -> None:
        self.private: dict[str, Any] = {}
        self.jwks: list[dict[str, Any]] = []
        self.fetched = 0

    def add_ed25519(self, kid: str) -> None:
        key = ed25519.Ed25519PrivateKey.generate()
        self.private[kid] = key
        self.jwks.append({**json.loads(OKPAlgorithm.to_jwk(key.public_key())), "kid": kid, "alg": "EdDSA"})

    def add_es256(self, kid: str) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        self.private[kid] = key
        self.jwks.append({**json.loads(ECAlgorithm.to_jwk(key.public_key())), "kid": kid, "alg": "ES256"})

    def fetch(self, url: str) -> dict[str, Any]:
        self.fetched += 1
        return {"keys": list(self.jwks)}

    def sign(self, kid: str, algorithm: str = "EdDSA", **claims: Any) -> str:
        return jwt.encode(claims_of(**claims), self.private[kid], algorithm=algorithm, headers={"kid": kid})


def claims_of(**overrides: Any) -> dict[str, Any]:
    values = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "acct-1",
        "sid": "s-1",
        "role": "township",
        "county": "qingyun",
        "township": "qingyun.dongshan",
        "village": None,
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(minutes=15)).timestamp()),
    }
    values.update(overrides)
    return values


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keys() -> Keys:
    found = Keys()
    found.add_ed25519("k1")
    return found


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def verifier_for(keys: Keys, clock: ManualClock, **kwargs: Any) -> JwksVerifier:
    return JwksVerifier(
        "https://identity/.well-known/jwks.json", ISSUER, AUDIENCE, fetch=keys.fetch, clock=clock, **kwargs
    )


def test_eddsa_and_es256_tokens_verify(keys: Keys, clock: ManualClock):
    keys.add_es256("k2")
    verifier = verifier_for(keys, clock)
    assert verifier.verify(keys.sign("k1"))["township"] == "qingyun.dongshan"
    assert verifier.verify(keys.sign("k2", "ES256"))["sid"] == "s-1"
    assert keys.fetched == 1  # fetched once, cached


def test_hs256_tokens_are_refused_even_keyed_with_the_public_key(keys: Keys, clock: ManualClock):
    verifier = verifier_for(keys, clock)
    public_pem = (
        keys.private["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for secret in (public_pem, b"a-shared-secret-of-the-old-kind-0123456789"):
        forged = hs256(claims_of(role="county"), secret, kid="k1")
        with pytest.raises(InvalidToken, match="HS256"):
            verifier.verify(forged)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def hs256(claims: dict[str, Any], secret: bytes, *, kid: str) -> str:
    """An HS256 token made by hand (PyJWT itself refuses a PEM as an HMAC secret): the classic
    forgery with the public key, which a verifier that trusted the header would accept."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def test_unsigned_tokens_are_refused(keys: Keys, clock: ManualClock):
    verifier = verifier_for(keys, clock)
    unsigned = jwt.encode(claims_of(role="county"), None, algorithm="none", headers={"kid": "k1"})
    with pytest.raises(InvalidToken, match="none"):
        verifier.verify(unsigned)
    # a real token with its signature cut off
    header, payload, _ = keys.sign("k1").split(".")
    with pytest.raises(InvalidToken):
        verifier.verify(f"{header}.{payload}.")
    with pytest.raises(InvalidToken):
        verifier.verify("not a token")


def test_a_key_is_used_only_for_its_own_algorithm(keys: Keys, clock: ManualClock):
    keys.add_es256("k2")
    verifier = verifier_for(keys, clock)
    # a token claiming ES256 but naming the Ed25519 key (and signed by it): refused
    token = jwt.encode(claims_of(), keys.private["k1"], algorithm="EdDSA", headers={"kid": "k1"})
    header, payload, signature = token.split(".")
    bent = json.loads(base64.urlsafe_b64decode(header + "=="))
    bent["alg"] = "ES256"
    forged_header = base64.urlsafe_b64encode(json.dumps(bent).encode()).decode().rstrip("=")
    with pytest.raises(InvalidToken):
        verifier.verify(f"{forged_header}.{payload}.{signature}")
    # a JWKS entry whose key type does not fit its alg is ignored
    keys.jwks.append({**keys.jwks[0], "kid": "k3", "alg": "ES256"})
    verifier = verifier_for(keys, clock)
    verifier.key("k1")
    assert verifier.key("k3") is None


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"iss": "someone-else"}, "issuer"),
        ({"aud": "another-audience"}, "audience"),
        ({"sub": None}, "sub"),
    ],
)
def test_issuer_audience_and_subject_are_checked(keys: Keys, clock: ManualClock, claims: dict, message: str):
    token = jwt.encode(
        {k: v for k, v in claims_of(**claims).items() if v is not None},
        keys.private["k1"],
        algorithm="EdDSA",
        headers={"kid": "k1"},
    )
    with pytest.raises(InvalidToken, match=f"(?i){message}"):
        verifier_for(keys, clock).verify(token)


def test_expiry_is_checked_against_the_services_clock(keys: Keys, clock: ManualClock):
    verifier = verifier_for(keys, clock, leeway_seconds=30)
    token = keys.sign("k1")
    clock.advance(timedelta(minutes=15, seconds=29))
    verifier.verify(token)
    clock.advance(timedelta(seconds=1))
    with pytest.raises(TokenExpired):
        verifier.verify(token)
    later = clock.now() + timedelta(hours=1)
    future = keys.sign("k1", iat=int(later.timestamp()), exp=int((later + timedelta(minutes=15)).timestamp()))
    with pytest.raises(InvalidToken, match="not valid yet"):
        verifier.verify(future)


def test_a_rotated_key_is_fetched_on_its_first_token_and_refetches_are_rate_limited(
    keys: Keys, clock: ManualClock
):
    monotonic = Monotonic()
    verifier = verifier_for(keys, clock, refetch_seconds=10, monotonic=monotonic)
    verifier.verify(keys.sign("k1"))
    assert keys.fetched == 1
    # identity rotates: k2 signs from now on, k1 stays published
    keys.add_ed25519("k2")
    monotonic.now += 11
    assert verifier.verify(keys.sign("k2"))["sub"] == "acct-1"
    assert keys.fetched == 2
    verifier.verify(keys.sign("k1"))
    # a flood of made-up kids fetches at most once per 10 s
    for attempt in range(50):
        with pytest.raises(InvalidToken, match="unknown key"):
            verifier.verify(
                jwt.encode(claims_of(), keys.private["k1"], algorithm="EdDSA", headers={"kid": f"x{attempt}"})
            )
    assert keys.fetched == 2
    monotonic.now += 10
    with pytest.raises(InvalidToken):
        verifier.verify(jwt.encode(claims_of(), keys.private["k1"], algorithm="EdDSA", headers={"kid": "y"}))
    assert keys.fetched == 3
    # the old key leaves the set: after the cache's age its tokens are refused
    keys.jwks = [entry for entry in keys.jwks if entry["kid"] != "k1"]
    monotonic.now += 301
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(keys.sign("k1"))


def test_a_failed_fetch_keeps_the_keys_it_had(keys: Keys, clock: ManualClock):
    monotonic = Monotonic()
    calls = {"n": 0}

    def flaky(url: str) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError("identity unreachable")
        return keys.fetch(url)

    verifier = JwksVerifier("u", ISSUER, AUDIENCE, fetch=flaky, clock=clock, monotonic=monotonic)
    verifier.verify(keys.sign("k1"))
    monotonic.now += 400  # past the cache's age: the fetch fails, the known key still verifies
    verifier.verify(keys.sign("k1"))
    assert calls["n"] == 2


def test_revoked_sessions_are_refused_until_their_tokens_expire(keys: Keys, clock: ManualClock):
    revoked = RevokedSessions(clock)
    verifier = verifier_for(keys, clock, revoked=revoked)
    token = keys.sign("k1", sid="s-9")
    verifier.verify(token)
    revoked.on_event(
        {
            "session_ids": ["s-9", "s-10"],
            "until": (NOW + timedelta(minutes=15)).isoformat(),
            "reason": "signed_out",
        }
    )
    assert len(revoked) == 2
    with pytest.raises(SessionRevoked):
        verifier.verify(token)
    verifier.verify(keys.sign("k1", sid="s-1"))  # other sessions go on
    revoked.revoke("s-9", NOW + timedelta(minutes=5))  # an earlier until never shortens it
    clock.advance(timedelta(minutes=10))
    assert revoked.is_revoked("s-9")
    clock.advance(timedelta(minutes=5))
    assert not revoked.is_revoked("s-9")
    assert revoked.purge() == 1 and len(revoked) == 0
    assert json.loads(revoked.snapshot()) == {}


def _bench_identity() -> ModuleType:
    """bench/identity.py, imported by path (bench/ is scripts, not a package)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "identity.py"
    spec = importlib.util.spec_from_file_location("shian_bench_identity", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_measures_the_three_algorithms(tmp_path):
    verification = _bench_identity().verification

    figures = verification(40, tmp_path)
    assert len(figures) == 3 and all(fastest > 0 for fastest, _ in figures.values())


def test_on_an_event_loop_the_verifier_answers_from_its_cache_only(keys: Keys, clock: ManualClock):
    verifier = verifier_for(keys, clock)
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(keys.sign("k1"), fetch=False)
    assert keys.fetched == 0
    verifier.verify(keys.sign("k1"))
    verifier.verify(keys.sign("k1"), fetch=False)
    assert keys.fetched == 1


def test_a_tokens_claims_become_the_services_principal(keys: Keys, clock: ManualClock):
    from shared.auth import Role
    from shared.tokens import principal_of

    claims = verifier_for(keys, clock).verify(
        keys.sign("k1", role="village", village="qingyun.dongshan.shangcun")
    )
    principal = principal_of(claims)
    assert principal is not None and principal.role is Role.village
    assert (principal.county_id, principal.township_id, principal.village_id) == (
        "qingyun",
        "qingyun.dongshan",
        "qingyun.dongshan.shangcun",
    )
    assert principal_of({**claims, "role": "machine", "scope": "sms:callback"}) is None
