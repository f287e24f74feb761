"""Tokens of a province's own identity platform: OpenID Connect ID and access tokens from one
configured issuer, taken by every domain service beside identity's.

A province that runs its own provider (Keycloak, an e-government sign-in platform, ...) need not
copy its people into Shian's identity. The provider describes itself at its discovery URL
(OpenID Connect Discovery 1.0); its `jwks_uri` holds the public keys. `OidcVerifier` fetches both,
keeps them in memory, and fetches the keys again for a `kid` it does not know, at most once per
`refetch_seconds` (a rotated key is taken without a restart; a flood of made-up kids is not a flood
of fetches), exactly as `shared.tokens.JwksVerifier` does for identity. Code on the event loop asks
with `fetch=False` and is answered from the cache only.

Checked: the signature (RS256 or ES256 only, each only with a key of its own type: HS256 and `none`
are refused before a key is looked at), `iss`, `aud`, `exp`, `nbf` and `iat` (with a small leeway
against the service's clock), `sub`. The claims become the services' `Principal` through
`ClaimMapping`: one claim gives the role (its values mapped to county, township, inspector,
village or ops), another the place; the place's county and township come from the places the
service knows. A token whose role or place is missing, unmapped or unknown is refused and logged.

A federated token has no Shian session: identity cannot revoke it. Its lifetime is the province's,
and an account is disabled at the province.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from shared.auth import PERSON_ROLES, PlaceFacts, Principal, Role
from shared.clock import SYSTEM_CLOCK, Clock
from shared.settings import FEDERATION_ALGORITHMS, Settings, secure_url
from shared.tokens import Fetch, InvalidToken, TokenExpired, fetch_over_http, keys_of

log = logging.getLogger("shian.federation")

# the level of the place each role must name
ROLE_LEVEL = {
    Role.county: "county",
    Role.ops: "county",
    Role.township: "township",
    Role.inspector: "township",
    Role.village: "village",
}


PlaceLookup = Callable[[str], PlaceFacts | None]


class UnmappedClaims(InvalidToken):
    """A well-signed token whose role or place Shian cannot map: refused, and worth a log line
    (the province's claim mapping or the county definition is out of step)."""


@dataclass(frozen=True)
class ClaimMapping:
    """Which claims say who the caller is, and how their values become Shian's."""

    role_claim: str = "shian_role"
    role_map: Mapping[str, str] = field(default_factory=dict)  # empty: the values are role names
    place_claim: str = "shian_place"
    place_map: Mapping[str, str] = field(default_factory=dict)  # empty: the values are place ids

    def role(self, claims: Mapping[str, Any]) -> Role:
        values = _strings(_claim(claims, self.role_claim))
        if not values:
            raise UnmappedClaims(f"no {self.role_claim!r} claim")
        mapped = set()
        for value in values:
            name = self.role_map.get(value) if self.role_map else value
            if name in {role.value for role in PERSON_ROLES}:
                mapped.add(Role(name))
        if not mapped:
            raise UnmappedClaims(f"{self.role_claim} {sorted(values)!r} maps to no Shian role")
        if len(mapped) > 1:  # two roles: which place scopes the caller would be a guess
            names = ", ".join(sorted(role.value for role in mapped))
            raise UnmappedClaims(f"{self.role_claim} maps to several roles ({names})")
        return mapped.pop()

    def place(self, claims: Mapping[str, Any]) -> str:
        value = _claim(claims, self.place_claim)
        if not isinstance(value, str) or not value:
            raise UnmappedClaims(f"no {self.place_claim!r} claim (a string)")
        if self.place_map:
            mapped = self.place_map.get(value)
            if mapped is None:
                raise UnmappedClaims(f"{self.place_claim} {value[:40]!r} maps to no place")
            return mapped
        return value

    def principal(self, claims: Mapping[str, Any], places: PlaceLookup) -> Principal:
        """The caller as the services' Principal: the place must exist here at the role's level."""
        role = self.role(claims)
        place_id = self.place(claims)
        facts = places(place_id)
        if facts is None:
            raise UnmappedClaims(f"place {place_id[:40]!r} is not in this county")
        if facts.level != ROLE_LEVEL[role]:
            level = ROLE_LEVEL[role]
            raise UnmappedClaims(f"role {role.value} needs a {level}, {place_id!r} is a {facts.level}")
        subject = str(claims["sub"])
        if facts.level == "county":
            return Principal(subject=subject, role=role, county_id=place_id)
        if facts.level == "township":
            return Principal(subject=subject, role=role, county_id=facts.county_id, township_id=place_id)
        return Principal(
            subject=subject,
            role=role,
            county_id=facts.county_id,
            township_id=facts.parent_id,
            village_id=place_id,
        )


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    """A claim by name, or by a dotted path into nested objects (`realm_access.roles`)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str) and item]
    return []


class OidcVerifier:
    """Verifies one OpenID Connect provider's tokens against its published keys; thread-safe."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        discovery_url: str,
        mapping: ClaimMapping,
        *,
        algorithms: tuple[str, ...] = FEDERATION_ALGORITHMS,
        fetch: Fetch | None = None,
        clock: Clock = SYSTEM_CLOCK,
        leeway_seconds: float = 60.0,
        max_age_seconds: float = 300.0,
        discovery_max_age_seconds: float = 3600.0,
        refetch_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        refused = [name for name in algorithms if name not in FEDERATION_ALGORITHMS]
        if refused or not algorithms:
            raise ValueError(f"algorithms refused for federation: {refused or 'none given'}")
        self.issuer = issuer
        self.audience = audience
        self.discovery_url = discovery_url
        self.mapping = mapping
        self.algorithms = tuple(algorithms)
        self._fetch = fetch or fetch_over_http
        self.clock = clock
        self.leeway = leeway_seconds
        self.max_age = max_age_seconds
        self.discovery_max_age = discovery_max_age_seconds
        self.refetch_seconds = refetch_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._jwks_uri: str | None = None
        self._discovered_at = float("-inf")
        self.fetches = 0  # key set fetches (tests, metrics)
        self.discoveries = 0  # discovery document fetches

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> OidcVerifier | None:
        """The verifier the settings describe, or None when federation is off."""
        discovery = settings.discovery_url()
        if not settings.oidc_issuer or not settings.oidc_audience or discovery is None:
            return None
        mapping = ClaimMapping(
            role_claim=settings.oidc_role_claim,
            role_map=dict(settings.oidc_role_map),
            place_claim=settings.oidc_place_claim,
            place_map=dict(settings.oidc_place_map),
        )
        return cls(
            settings.oidc_issuer,
            settings.oidc_audience,
            discovery,
            mapping,
            algorithms=settings.federation_algorithms(),
            clock=clock,
            leeway_seconds=settings.oidc_leeway_seconds,
            refetch_seconds=settings.oidc_refetch_seconds,
        )

    # --- which tokens are the provider's ---

    def claims_issuer(self, token: str) -> bool:
        """Whether the token says it comes from this provider (unverified: only picks the verifier
        that will check it)."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return False
        return claims.get("iss") == self.issuer

    # --- discovery and keys ---

    def _discover(self) -> str | None:
        """The provider's jwks_uri, from its discovery document (the caller holds the lock)."""
        if self._jwks_uri is not None and self._monotonic() - self._discovered_at < self.discovery_max_age:
            return self._jwks_uri
        self.discoveries += 1
        try:
            document = self._fetch(self.discovery_url)
        except Exception as error:
            log.warning("could not fetch the OIDC discovery document %s: %s", self.discovery_url, error)
            return self._jwks_uri
        issuer, jwks_uri = document.get("issuer"), document.get("jwks_uri")
        if issuer != self.issuer:  # Discovery §4.3: the document must name the configured issuer
            log.error("OIDC discovery at %s names issuer %r, not %r", self.discovery_url, issuer, self.issuer)
            return self._jwks_uri
        if not isinstance(jwks_uri, str) or not secure_url(jwks_uri):
            log.error("OIDC discovery at %s: jwks_uri %r is not https", self.discovery_url, jwks_uri)
            return self._jwks_uri
        self._jwks_uri = jwks_uri
        self._discovered_at = self._monotonic()
        return jwks_uri

    def _load(self) -> None:
        """Fetch the key set now (the caller holds the lock); a failed fetch keeps the keys we had,
        and the next load asks the discovery document again."""
        self._fetched_at = self._monotonic()
        self.fetches += 1
        jwks_uri = self._discover()
        if jwks_uri is None:
            return
        try:
            document = self._fetch(jwks_uri)
        except Exception as error:
            log.warning("could not fetch the OIDC provider's keys from %s: %s", jwks_uri, error)
            self._discovered_at = float("-inf")
            return
        self._keys = keys_of(document, self.algorithms, infer=True)

    def key(self, kid: str, *, fetch: bool = True) -> jwt.PyJWK | None:
        """The provider's public key for `kid`, as `JwksVerifier.key` answers for identity's."""
        with self._lock:
            age = self._monotonic() - self._fetched_at
            stale = age >= self.max_age or (kid not in self._keys and age >= self.refetch_seconds)
            if stale and fetch:
                self._load()
            return self._keys.get(kid)

    # --- tokens ---

    def verify(self, token: str, *, fetch: bool = True) -> dict[str, Any]:
        """The claims of a valid token of the provider; InvalidToken (TokenExpired) otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as error:
            raise InvalidToken(f"malformed token: {error}") from None
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise InvalidToken(f"algorithm {algorithm!r} is refused (accepted: {', '.join(self.algorithms)})")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token names no key (kid)")
        key = self.key(kid, fetch=fetch)
        if key is None:
            raise InvalidToken(f"unknown key {kid!r}")
        if key.algorithm_name != algorithm:
            raise InvalidToken(f"key {kid!r} is for {key.algorithm_name}, the token says {algorithm}")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require": ["iss", "aud", "sub", "exp", "iat"],
                    "verify_exp": False,  # checked below against the service's clock
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidTokenError as error:
            raise InvalidToken(str(error)) from None
        now = self.clock.now().timestamp()
        try:
            expires = float(claims["exp"])
            issued = float(claims["iat"])
            not_before = float(claims.get("nbf", issued))
        except (TypeError, ValueError):
            raise InvalidToken("exp, iat and nbf must be numbers") from None
        if expires + self.leeway <= now:
            raise TokenExpired("token expired")
        if not_before - self.leeway > now or issued - self.leeway > now:
            raise InvalidToken("token not valid yet")
        return claims

    def principal(self, token: str, places: PlaceLookup, *, fetch: bool = True) -> Principal:
        """The caller a valid token speaks for; InvalidToken (UnmappedClaims) otherwise."""
        return self.mapping.principal(self.verify(token, fetch=fetch), places)
