"""Verifying the access tokens identity signs, in any service: `JwksVerifier` and `RevokedSessions`.

Identity alone holds the private keys; a service holds only the public keys, fetched from
identity's JWKS (`/.well-known/jwks.json`) and kept in memory. A token whose `kid` the cached set
does not know makes the verifier fetch the set again (at most once per `refetch_seconds`, so a
flood of made-up kids cannot turn into a flood of fetches): a rotated key is picked up without a
restart. Only EdDSA and ES256 are accepted, each only with a key of its own type: an HS256 token (a
"signature" anyone with the public key could make) and an unsigned `none` token are refused before
any key is looked at. `iss`, `aud`, `exp` (against the service's clock, with a small leeway) and
`sub` are required.

A revoked session's tokens are refused until they would have expired: `RevokedSessions` keeps
sid -> until, fed from identity's `session.revoked` events by each service's own consumer group.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx
import jwt

from shared.auth import Principal, Role
from shared.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger("shian.tokens")

ACCEPTED_ALGORITHMS = ("EdDSA", "ES256")
KEY_TYPES: dict[str, tuple[str, str | None]] = {
    "EdDSA": ("OKP", "Ed25519"),
    "ES256": ("EC", "P-256"),
    "RS256": ("RSA", None),  # a province's provider (shared/federation.py)
}
MIN_RSA_BITS = 2048
REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat")


class InvalidToken(Exception):
    """The token is not one this service accepts; `reason` says why (for logs, not for callers)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenExpired(InvalidToken):
    pass


class SessionRevoked(InvalidToken):
    pass


Fetch = Callable[[str], Mapping[str, Any]]


def fetch_over_http(url: str, *, timeout: float = 3.0) -> Mapping[str, Any]:
    response = httpx.get(url, timeout=timeout, follow_redirects=False)
    response.raise_for_status()
    return response.json()


def keys_of(
    document: Mapping[str, Any], algorithms: tuple[str, ...], *, infer: bool = False
) -> dict[str, jwt.PyJWK]:
    """The usable keys of a JWKS document by kid: each for one of `algorithms` and of that
    algorithm's key type, never a private or symmetric key. A key without `alg` is skipped unless
    `infer` (many OIDC providers leave it out): then its type says which of `algorithms` it is."""
    keys: dict[str, jwt.PyJWK] = {}
    entries = document.get("keys", []) if isinstance(document, Mapping) else []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping):
            continue
        kid, algorithm = entry.get("kid"), entry.get("alg")
        if algorithm is None and infer:
            algorithm = next((name for name in algorithms if KEY_TYPES[name][0] == entry.get("kty")), None)
        if not isinstance(kid, str) or not kid or algorithm not in algorithms:
            continue
        kty, crv = KEY_TYPES[algorithm]
        if entry.get("kty") != kty or (crv is not None and entry.get("crv") != crv):
            continue
        if entry.get("use", "sig") != "sig" or "d" in entry:  # a private key has no place here
            continue
        try:
            key = jwt.PyJWK(dict(entry), algorithm=algorithm)
        except (jwt.PyJWKError, ValueError, TypeError) as error:
            log.warning("JWKS key %s unusable: %s", kid, error)
            continue
        if kty == "RSA" and getattr(key.key, "key_size", 0) < MIN_RSA_BITS:
            log.warning("JWKS key %s refused: RSA below %d bits", kid, MIN_RSA_BITS)
            continue
        keys[kid] = key
    return keys


class JwksVerifier:
    """Verifies identity's access tokens against its JWKS; thread-safe."""

    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        audience: str,
        *,
        fetch: Fetch | None = None,
        clock: Clock = SYSTEM_CLOCK,
        leeway_seconds: float = 30.0,
        max_age_seconds: float = 300.0,
        refetch_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        revoked: RevokedSessions | None = None,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self._fetch = fetch or fetch_over_http
        self.clock = clock
        self.leeway = leeway_seconds
        self.max_age = max_age_seconds
        self.refetch_seconds = refetch_seconds
        self._monotonic = monotonic
        self.revoked = revoked
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self.fetches = 0  # how often the set was fetched (tests, metrics)

    # --- the key set ---

    @property
    def fetched_at(self) -> float:
        """When the set was last fetched (or tried), on the verifier's monotonic clock."""
        return self._fetched_at

    def _load(self) -> None:
        """Fetch the set now (the caller holds the lock). A failed fetch keeps the keys we had."""
        self._fetched_at = self._monotonic()
        self.fetches += 1
        try:
            document = self._fetch(self.jwks_url)
        except Exception as error:
            log.warning("could not fetch the JWKS from %s: %s", self.jwks_url, error)
            return
        self._keys = keys_of(document, ACCEPTED_ALGORITHMS)

    def key(self, kid: str, *, fetch: bool = True) -> jwt.PyJWK | None:
        """The public key for `kid`: from the cached set, refreshed when it is old, fetched again
        for an unknown kid unless the last fetch was under `refetch_seconds` ago. With
        `fetch=False` only the cached set is consulted (code on an event loop must not wait for
        identity: it answers from the cache, and a worker thread fetches)."""
        with self._lock:
            age = self._monotonic() - self._fetched_at
            stale = age >= self.max_age or (kid not in self._keys and age >= self.refetch_seconds)
            if stale and fetch:
                self._load()
            return self._keys.get(kid)

    # --- tokens ---

    def verify(self, token: str, *, fetch: bool = True) -> dict[str, Any]:
        """The claims of a valid token; InvalidToken (TokenExpired, SessionRevoked) otherwise.
        `fetch=False`: never fetch the JWKS (a token of a key not cached yet is refused)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as error:
            raise InvalidToken(f"malformed token: {error}") from None
        algorithm = header.get("alg")
        if algorithm not in ACCEPTED_ALGORITHMS:
            raise InvalidToken(
                f"algorithm {algorithm!r} is refused (accepted: {', '.join(ACCEPTED_ALGORITHMS)})"
            )
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
                    "require": list(REQUIRED_CLAIMS),
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
            not_before = float(claims.get("nbf", claims["iat"]))
        except (TypeError, ValueError):
            raise InvalidToken("exp, iat and nbf must be numbers") from None
        if expires + self.leeway <= now:
            raise TokenExpired("token expired")
        if not_before - self.leeway > now:
            raise InvalidToken("token not valid yet")
        sid = claims.get("sid")
        if self.revoked is not None and isinstance(sid, str) and self.revoked.is_revoked(sid):
            raise SessionRevoked("session revoked")
        return claims


def principal_of(claims: Mapping[str, Any]) -> Principal | None:
    """The person a verified token speaks for, as the services' `Principal`; None for a machine's
    token (role `machine`: its `scope` says what it may do, not a place; `machine_principal_of`)."""
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        return None
    if role is Role.machine:
        return None
    return Principal(
        subject=str(claims["sub"]),
        role=role,
        county_id=str(claims.get("county")),
        township_id=claims.get("township"),
        village_id=claims.get("village"),
    )


def machine_principal_of(claims: Mapping[str, Any]) -> Principal | None:
    """A machine account's token (role `machine`) as a Principal with its scopes and client id and
    no place below its county; None if the claims are not a machine's. The domain services take
    it only on the routes its scopes open (`shared.auth.requires_scope`)."""
    if claims.get("role") != Role.machine.value:
        return None
    client_id, county, scope = claims.get("client_id"), claims.get("county"), claims.get("scope", "")
    if not isinstance(client_id, str) or not client_id or not isinstance(county, str) or not county:
        return None
    if not isinstance(scope, str):
        return None
    return Principal(
        subject=str(claims["sub"]),
        role=Role.machine,
        county_id=county,
        scopes=frozenset(scope.split()),
        client_id=client_id,
    )


class RevokedSessions:
    """Sessions ended before their tokens expire: sid -> until. An entry is dropped once its time
    is past (the session's tokens are expired by then anyway). Thread-safe."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def revoke(self, session_id: str, until: datetime) -> None:
        with self._lock:
            known = self._until.get(session_id)
            self._until[session_id] = until if known is None else max(known, until)

    def revoke_all(self, session_ids: list[str], until: datetime) -> None:
        for session_id in session_ids:
            self.revoke(session_id, until)

    def on_event(self, payload: Mapping[str, Any]) -> None:
        """Apply the payload of a `session.revoked` event (session_ids, until)."""
        until = payload["until"]
        if isinstance(until, str):
            until = datetime.fromisoformat(until)
        self.revoke_all([str(sid) for sid in payload["session_ids"]], until)

    def is_revoked(self, session_id: str) -> bool:
        with self._lock:
            until = self._until.get(session_id)
            if until is None:
                return False
            if until <= self.clock.now():
                del self._until[session_id]
                return False
            return True

    def purge(self) -> int:
        """Drop the entries whose time is past; returns how many."""
        now = self.clock.now()
        with self._lock:
            gone = [sid for sid, until in self._until.items() if until <= now]
            for sid in gone:
                del self._until[sid]
            return len(gone)

    def __len__(self) -> int:
        return len(self._until)

    def snapshot(self) -> str:
        """The set as JSON (sid -> until), for a service that keeps it across restarts."""
        with self._lock:
            return json.dumps({sid: until.isoformat() for sid, until in self._until.items()})
