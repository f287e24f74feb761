"""The province provider's verifier on its own (shared/federation.py): its settings, the discovery and
key fetches and their limits, the key types it takes, and the claim mapping. The same verifier
against a real provider over HTTP and the four services: tests/federation/test_oidc.py."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import ValidationError

from shared.auth import PlaceFacts, Role
from shared.federation import ClaimMapping, OidcVerifier, UnmappedClaims
from shared.settings import Settings
from shared.tokens import InvalidToken, TokenExpired

ISSUER = "https://sso.province.example/realms/food"
DISCOVERY = ISSUER + "/.well-known/openid-configuration"
JWKS = ISSUER + "/certs"
AUDIENCE = "shian-qingyun"
PLACES = {
    "qingyun": PlaceFacts("county", "qingyun", None),
    "qingyun.dongshan": PlaceFacts("township", "qingyun", "qingyun"),
    "qingyun.dongshan.shangcun": PlaceFacts("village", "qingyun", "qingyun.dongshan"),
}


class Provider:
    """Keys and documents as a provider publishes them, fetched through `fetch` (counted)."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.jwks: dict[str, Any] = {
            "keys": [
                {**json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key())), "kid": "r1", "use": "sig"},
                {**json.loads(ECAlgorithm.to_jwk(self.ec.public_key())), "kid": "e1", "alg": "ES256"},
            ]
        }
        self.discovery: dict[str, Any] = {"issuer": ISSUER, "jwks_uri": JWKS}
        self.fetched: list[str] = []
        self.down = False

    def fetch(self, url: str) -> Mapping[str, Any]:
        self.fetched.append(url)
        if self.down:
            raise ConnectionError("provider down")
        return {DISCOVERY: self.discovery, JWKS: self.jwks}[url]

    def token(self, kid: str = "r1", **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "u-1",
            "iat": now,
            "exp": now + 300,
            "role": "township",
            "place": "qingyun.dongshan",
            **claims,
        }
        key, algorithm = (self.rsa, "RS256") if kid.startswith("r") else (self.ec, "ES256")
        return jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid})


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(provider: Provider, monotonic: Monotonic | None = None, **kwargs: Any) -> OidcVerifier:
    mapping = kwargs.pop("mapping", ClaimMapping(role_claim="role", place_claim="place"))
    return OidcVerifier(
        ISSUER,
        AUDIENCE,
        DISCOVERY,
        mapping,
        fetch=provider.fetch,
        monotonic=monotonic or Monotonic(),
        **kwargs,
    )


def test_rs256_and_es256_tokens_become_principals_and_the_keys_are_fetched_once():
    provider = Provider()
    check = verifier(provider)
    township = check.principal(provider.token(), PLACES.get)
    assert (township.role, township.county_id, township.township_id) == (
        Role.township,
        "qingyun",
        "qingyun.dongshan",
    )
    village = check.principal(
        provider.token("e1", role="village", place="qingyun.dongshan.shangcun"), PLACES.get
    )
    assert (village.township_id, village.village_id) == ("qingyun.dongshan", "qingyun.dongshan.shangcun")
    assert provider.fetched == [DISCOVERY, JWKS]  # the key without `alg` was taken as RS256


def test_an_unknown_kid_refetches_at_most_once_per_interval_and_never_on_the_event_loop():
    provider, clock = Provider(), Monotonic()
    check = verifier(provider, clock, refetch_seconds=10.0)
    check.verify(provider.token())
    for number in range(50):
        with pytest.raises(InvalidToken, match="unknown key"):
            check.verify(provider.token(kid=f"r-made-up-{number}"))
    assert check.fetches == 1
    clock.now += 10
    with pytest.raises(InvalidToken, match="unknown key"):
        check.verify(provider.token(kid="r-made-up"), fetch=False)  # the event loop: cache only
    assert check.fetches == 1
    with pytest.raises(InvalidToken):
        check.verify(provider.token(kid="r-made-up"))
    assert check.fetches == 2 and provider.fetched.count(DISCOVERY) == 1  # discovery kept an hour


def test_a_provider_that_is_down_keeps_the_keys_held_and_is_asked_again_later():
    provider, clock = Provider(), Monotonic()
    check = verifier(provider, clock)
    check.verify(provider.token())
    provider.down = True
    clock.now += 400  # the set is old: refetched, fails, the old keys stay
    check.verify(provider.token())
    provider.down = False
    clock.now += 11
    with pytest.raises(InvalidToken):
        check.verify(provider.token(kid="r2"))
    assert provider.fetched[-2:] == [DISCOVERY, JWKS]  # a failed key fetch asks discovery again


@pytest.mark.parametrize(
    ("discovery", "why"),
    [
        ({"issuer": "https://elsewhere.example", "jwks_uri": JWKS}, "another issuer"),
        ({"issuer": ISSUER, "jwks_uri": "http://sso.province.example/certs"}, "plain http elsewhere"),
        ({"issuer": ISSUER}, "no jwks_uri"),
    ],
)
def test_a_discovery_document_that_does_not_hold_up_yields_no_keys(discovery: dict[str, Any], why: str):
    provider = Provider()
    provider.discovery = discovery
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier(provider).verify(provider.token())
    assert JWKS not in provider.fetched, why


def test_only_signing_keys_of_the_allowed_types_are_taken():
    provider = Provider()
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    provider.jwks["keys"] += [
        {**json.loads(RSAAlgorithm.to_jwk(small.public_key())), "kid": "r-small", "alg": "RS256"},
        {"kty": "oct", "k": "c2VjcmV0", "kid": "h1", "alg": "HS256"},
        {**json.loads(RSAAlgorithm.to_jwk(provider.rsa)), "kid": "r-private", "alg": "RS256"},
        {**json.loads(RSAAlgorithm.to_jwk(provider.rsa.public_key())), "kid": "r-enc", "use": "enc"},
        {**json.loads(ECAlgorithm.to_jwk(provider.ec.public_key())), "kid": "e-as-rsa", "alg": "RS256"},
    ]
    check = verifier(provider)
    assert check.key("r1") is not None and check.key("e1") is not None
    for kid in ("r-small", "h1", "r-private", "r-enc", "e-as-rsa"):
        assert check.key(kid) is None, kid
    # an RS256-only deployment does not take the provider's EC key
    assert verifier(provider, algorithms=("RS256",)).key("e1") is None
    with pytest.raises(ValueError, match="refused"):
        verifier(provider, algorithms=("RS256", "HS256"))


def test_the_time_claims_are_checked_with_the_leeway():
    provider = Provider()
    check = verifier(provider, leeway_seconds=60)
    now = int(time.time())
    check.verify(provider.token(exp=now - 30))  # within the leeway
    with pytest.raises(TokenExpired):
        check.verify(provider.token(exp=now - 61))
    with pytest.raises(InvalidToken, match="not valid yet"):
        check.verify(provider.token(nbf=now + 120))
    with pytest.raises(InvalidToken, match="not valid yet"):
        check.verify(provider.token(iat=now + 120))
    with pytest.raises(InvalidToken, match="iat"):
        check.verify(provider.token(iat=None))


def test_the_mapping_refuses_what_it_cannot_place():
    mapping = ClaimMapping(
        role_claim="realm_access.roles",
        role_map={"spj-township": "township", "spj-county": "county"},
        place_claim="division_code",
        place_map={"331001101": "qingyun.dongshan", "331001": "qingyun", "331009": "qingyun.nowhere"},
    )
    claims = {
        "sub": "u",
        "realm_access": {"roles": ["offline_access", "spj-township"]},
        "division_code": "331001101",
    }
    assert mapping.principal(claims, PLACES.get).township_id == "qingyun.dongshan"
    refused = {
        "no role": {**claims, "realm_access": {}},
        "role not a list of strings": {**claims, "realm_access": {"roles": [1, None]}},
        "an unmapped role": {**claims, "realm_access": {"roles": ["spj-guest"]}},
        "two roles": {**claims, "realm_access": {"roles": ["spj-township", "spj-county"]}},
        "no place": {k: v for k, v in claims.items() if k != "division_code"},
        "an unmapped place": {**claims, "division_code": "339999"},
        "a place not in the county": {**claims, "division_code": "331009"},
        "a county's place for a township role": {**claims, "division_code": "331001"},
        "a place that is not a string": {**claims, "division_code": 331001101},
    }
    taken = []
    for why, bad in refused.items():
        try:
            mapping.principal(bad, PLACES.get)
        except UnmappedClaims:
            continue
        taken.append(why)
    assert taken == []
    # without a map the values are Shian's own names; `machine` is never a person's role
    plain = ClaimMapping(role_claim="role", place_claim="place")
    with pytest.raises(UnmappedClaims):
        plain.principal({"sub": "u", "role": "machine", "place": "qingyun"}, PLACES.get)
    assert plain.principal({"sub": "u", "role": "ops", "place": "qingyun"}, PLACES.get).role is Role.ops


def test_federation_settings_that_cannot_work_stop_the_service(monkeypatch: pytest.MonkeyPatch):
    base: dict[str, Any] = {"env": "test", "oidc_issuer": ISSUER, "oidc_audience": AUDIENCE}
    assert Settings(**base).discovery_url() == DISCOVERY
    for wrong, message in (
        ({"oidc_audience": None}, "SHIAN_OIDC_AUDIENCE"),
        ({"oidc_algorithms": "RS256,HS256"}, "HS256"),
        ({"oidc_algorithms": "none"}, "none"),
        ({"oidc_role_map": {"x": "machine"}}, "machine"),
        ({"oidc_discovery_url": "http://sso.province.example/.well-known/openid-configuration"}, "https"),
    ):
        with pytest.raises(ValidationError, match=message):
            Settings(**{**base, **wrong})
    # from the environment, the maps as JSON
    monkeypatch.setenv("SHIAN_OIDC_ISSUER", "http://127.0.0.1:9999/realms/p")
    monkeypatch.setenv("SHIAN_OIDC_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("SHIAN_OIDC_ROLE_MAP", '{"spj-township": "township"}')
    monkeypatch.setenv("SHIAN_OIDC_PLACE_MAP", '{"331001101": "qingyun.dongshan"}')
    settings = Settings(env="test")
    assert settings.oidc_role_map == {"spj-township": "township"}
    built = OidcVerifier.from_settings(settings)
    assert (
        built is not None
        and built.discovery_url == "http://127.0.0.1:9999/realms/p/.well-known/openid-configuration"
    )
    assert OidcVerifier.from_settings(Settings(env="test", oidc_issuer=None)) is None
    # as init values too (the launcher passes the environment on as values)
    given = Settings(**{**base, "oidc_role_map": '{"a": "county"}', "oidc_place_map": ""})
    assert (given.oidc_role_map, given.oidc_place_map) == ({"a": "county"}, {})
