"""Signing keys: made, rotated, published and used, all inside identity.

ES256 (ECDSA on P-256) by default: every service verifies every request's token, and on this
project's machine OpenSSL verifies a P-256 signature faster than an Ed25519 one (its P-256 code is
hand-tuned assembly; `python bench/identity.py` sets them side by side), and every JOSE
library, browser and OIDC provider speaks it. `SHIAN_IDENTITY_SIGNING_ALGORITHM=EdDSA` makes the next
key an Ed25519 one instead; each key keeps its own algorithm. The private key is a
PKCS#8 PEM in identity's database (a 0600 file on SQLite), encrypted with
`SHIAN_IDENTITY_KEY_ENCRYPTION_KEY` when set (required in production); it never leaves identity.
The public half goes out as a JWK in `/.well-known/jwks.json`.

Rotation: a new key signs from now on; the previous one is retired but stays published until every
token it signed has expired (its retirement + the access-token life + the allowed clock skew).
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm
from sqlmodel import Session, col, select

from services.identity.config import IdentityConfig
from services.identity.keys.models import SigningKey
from shared.catalogue.identity import KeyRotated
from shared.outbox import emit

ALGORITHMS = ("ES256", "EdDSA")
PrivateKey = ec.EllipticCurvePrivateKey | Ed25519PrivateKey
TOKEN_TYPE = "at+jwt"  # RFC 9068: an access token, not an ID token


def _new_kid(now: datetime) -> str:
    return f"{now:%Y%m%d}-{secrets.token_hex(4)}"


def _generate(algorithm: str) -> tuple[PrivateKey, dict[str, Any]]:
    """A new private key for the algorithm, and its public half as a JWK."""
    if algorithm == "EdDSA":
        edwards = Ed25519PrivateKey.generate()
        return edwards, json.loads(OKPAlgorithm.to_jwk(edwards.public_key()))
    curve = ec.generate_private_key(ec.SECP256R1())
    return curve, json.loads(ECAlgorithm.to_jwk(curve.public_key()))


def _private_pem(key: PrivateKey, config: IdentityConfig) -> tuple[bytes, bool]:
    passphrase = config.key_encryption_key
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.get_secret_value().encode())
        if passphrase is not None
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    return pem, passphrase is not None


def create_key(session: Session, *, now: datetime, actor: str, config: IdentityConfig) -> SigningKey:
    algorithm = config.signing_algorithm
    private, jwk = _generate(algorithm)
    kid = _new_kid(now)
    jwk.update({"kid": kid, "alg": algorithm, "use": "sig"})
    pem, encrypted = _private_pem(private, config)
    key = SigningKey(
        kid=kid,
        algorithm=algorithm,
        private_pem=pem,
        encrypted=encrypted,
        public_jwk=jwk,
        created_at=now,
        created_by=actor,
    )
    session.add(key)
    session.flush()
    return key


def current_key(session: Session) -> SigningKey | None:
    return session.exec(
        select(SigningKey)
        .where(col(SigningKey.retired_at).is_(None))
        .order_by(col(SigningKey.created_at).desc(), col(SigningKey.kid).desc())
    ).first()


def ensure_key(session: Session, *, now: datetime, config: IdentityConfig) -> SigningKey:
    """The key that signs now; the first one is made on first use."""
    return current_key(session) or create_key(session, now=now, actor="identity", config=config)


def published(session: Session, now: datetime) -> list[SigningKey]:
    """The keys whose tokens may still be valid: the current one and the retired ones still
    inside their publication window, newest first."""
    return list(
        session.exec(
            select(SigningKey)
            .where(
                sa.or_(
                    col(SigningKey.retired_at).is_(None),
                    col(SigningKey.published_until) > now,
                )
            )
            .order_by(col(SigningKey.created_at).desc(), col(SigningKey.kid).desc())
        ).all()
    )


def jwks(session: Session, now: datetime) -> dict[str, Any]:
    return {"keys": [key.public_jwk for key in published(session, now)]}


def rotate(
    session: Session, *, now: datetime, actor: str, county_id: str, config: IdentityConfig
) -> SigningKey:
    """A new signing key; the current one is retired and stays published until its last token
    expires. Emits `key.rotated` (in the session's transaction)."""
    previous = current_key(session)
    retires_at = now + timedelta(seconds=config.access_ttl_seconds + config.clock_skew_seconds)
    # every key not retired yet (two replicas may each have made a first key) retires now
    for old in session.exec(select(SigningKey).where(col(SigningKey.retired_at).is_(None))).all():
        old.retired_at = now
        old.published_until = retires_at
        session.add(old)
    key = create_key(session, now=now, actor=actor, config=config)
    emit(
        session,
        KeyRotated(
            kid=key.kid,
            algorithm=key.algorithm,
            previous_kid=previous.kid if previous else None,
            previous_retires_at=retires_at if previous else None,
        ),
        county_id=county_id,
        township_id=None,
        actor=actor,
        occurred_at=now,
    )
    return key


class Signer:
    """Signs access tokens with the current key; keeps the loaded private keys in memory (loading
    and decrypting a PEM costs far more than a signature)."""

    def __init__(self, config: IdentityConfig) -> None:
        self.config = config
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _private(self, key: SigningKey) -> Any:
        found = self._loaded.get(key.kid)
        if found is None:
            passphrase = self.config.key_encryption_key
            password = passphrase.get_secret_value().encode() if key.encrypted and passphrase else None
            found = serialization.load_pem_private_key(key.private_pem, password=password)
            with self._lock:
                self._loaded[key.kid] = found
        return found

    def sign(self, session: Session, claims: dict[str, Any], *, now: datetime) -> str:
        key = ensure_key(session, now=now, config=self.config)
        headers = {"kid": key.kid, "typ": TOKEN_TYPE}
        return jwt.encode(claims, self._private(key), algorithm=key.algorithm, headers=headers)


class LocalVerifier:
    """Identity's own check of the tokens it signed (its management routes): the public keys
    straight from its database, cached by kid."""

    def __init__(self, config: IdentityConfig) -> None:
        self.config = config
        self._keys: dict[str, jwt.PyJWK] = {}
        self._lock = threading.Lock()

    def claims(self, session: Session, token: str, *, now: datetime) -> dict[str, Any]:
        """The verified claims, or jwt.InvalidTokenError."""
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise jwt.InvalidAlgorithmError("only ES256 and EdDSA tokens are identity's")
        kid = str(header.get("kid") or "")
        row = session.get(SigningKey, kid)  # a key past its publication verifies nothing
        if row is None or (row.published_until is not None and row.published_until <= now):
            raise jwt.InvalidKeyError("unknown or withdrawn key")
        key = self._keys.get(kid)
        if key is None:
            key = jwt.PyJWK(row.public_jwk, algorithm=row.algorithm)
            with self._lock:
                self._keys[kid] = key
        claims = jwt.decode(
            token,
            key,
            algorithms=[key.algorithm_name],  # the header must name the key's own algorithm
            audience=self.config.audience,
            issuer=self.config.issuer,
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["exp", "sub"],
            },
        )
        skew = self.config.clock_skew_seconds
        if float(claims["exp"]) + skew <= now.timestamp():
            raise jwt.ExpiredSignatureError("token expired")
        return claims


def new_jti() -> str:
    return uuid.uuid4().hex
