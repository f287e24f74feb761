"""A local OpenID Connect provider for the federation tests: a real HTTP server on 127.0.0.1 (a free
port, uvicorn in a thread) that serves its discovery document and JWKS and issues RS256-signed ID
and access tokens with its own RSA keys, as a province's platform would.

`POST /token` takes the resource-owner password grant (RFC 6749 §4.3) for the users it was given
and answers an `id_token` (audience: the client id) and an `access_token` (audience: the client id
and the province's API); the claims carry the province's own role names and place codes, which
the services map. Tests can also `mint` tokens with any claims, header or key (the hostile ones),
`rotate` to a new key, and `stop` and `start` the server (the provider down).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, HTTPException
from jwt.algorithms import RSAAlgorithm

from shared.localredis import free_port

CLIENT_ID = "shian-qingyun"
PROVINCE_API = "province-api"


@dataclass
class User:
    password: str
    claims: dict[str, Any]


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    def public_jwk(self, *, with_alg: bool = True) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        jwk.update({"kid": self.kid, "use": "sig"})
        if with_alg:
            jwk["alg"] = "RS256"
        return jwk


def new_key() -> SigningKey:
    return SigningKey(
        f"prov-{secrets.token_hex(4)}", rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )


@dataclass
class LocalOidcProvider:
    users: dict[str, User] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    token_seconds: int = 600
    keys: list[SigningKey] = field(default_factory=lambda: [new_key()])
    requests: dict[str, int] = field(default_factory=lambda: {"discovery": 0, "jwks": 0, "token": 0})
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/realms/province"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def current(self) -> SigningKey:
        return self.keys[-1]

    # --- what it serves ---

    def app(self) -> FastAPI:
        app = FastAPI()
        base = "/realms/province"

        @app.get(f"{base}/.well-known/openid-configuration")
        def discovery() -> dict[str, Any]:
            self.requests["discovery"] += 1
            return {
                "issuer": self.issuer,
                "jwks_uri": f"{self.issuer}/protocol/openid-connect/certs",
                "token_endpoint": f"{self.issuer}/protocol/openid-connect/token",
                "response_types_supported": ["code", "id_token", "code id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "grant_types_supported": ["password", "authorization_code"],
            }

        @app.get(f"{base}/protocol/openid-connect/certs")
        def certs() -> dict[str, Any]:
            self.requests["jwks"] += 1
            # the first key without `alg`, as several providers publish theirs
            return {"keys": [key.public_jwk(with_alg=index > 0) for index, key in enumerate(self.keys)]}

        @app.post(f"{base}/protocol/openid-connect/token")
        def token(
            grant_type: str = Form(),
            username: str = Form(),
            password: str = Form(),
            client_id: str = Form(),
            scope: str = Form(default="openid"),
        ) -> dict[str, Any]:
            self.requests["token"] += 1
            user = self.users.get(username)
            if grant_type != "password" or client_id != CLIENT_ID:
                raise HTTPException(400, "unsupported_grant_type or unknown client")
            if user is None or not secrets.compare_digest(user.password, password):
                raise HTTPException(401, "invalid_grant")
            if "openid" not in scope.split():
                raise HTTPException(400, "invalid_scope")
            subject = {"sub": f"prov-{username}", "preferred_username": username, **user.claims}
            return {
                "token_type": "Bearer",
                "expires_in": self.token_seconds,
                "access_token": self.mint(
                    {**subject, "aud": [CLIENT_ID, PROVINCE_API], "azp": CLIENT_ID, "scope": scope},
                    typ="at+jwt",
                ),
                "id_token": self.mint({**subject, "aud": CLIENT_ID, "azp": CLIENT_ID}),
            }

        return app

    def mint(
        self,
        claims: dict[str, Any],
        *,
        key: SigningKey | None = None,
        kid: str | None = None,
        typ: str = "JWT",
        lifetime: int | None = None,
    ) -> str:
        """A token of this provider: its issuer, now, and `claims` over them; signed RS256 with
        `key` (the current one), its header naming `kid` (the key's own)."""
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "auth_time": now,
            "exp": now + (self.token_seconds if lifetime is None else lifetime),
            "jti": uuid.uuid4().hex,
            **claims,
        }
        signing = key or self.current
        return jwt.encode(
            body, signing.private, algorithm="RS256", headers={"kid": kid or signing.kid, "typ": typ}
        )

    def password_grant(self, username: str) -> dict[str, Any]:
        """Sign `username` in over HTTP, as a province's app would; the token answer."""
        import httpx

        answer = httpx.post(
            f"{self.issuer}/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "username": username,
                "password": self.users[username].password,
                "client_id": CLIENT_ID,
                "scope": "openid profile",
            },
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()

    def rotate(self, *, keep_old: bool = False) -> SigningKey:
        """A new signing key; the old one leaves the JWKS unless `keep_old`."""
        key = new_key()
        self.keys = [*self.keys, key] if keep_old else [key]
        return key

    # --- the server ---

    def start(self) -> None:
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="local-oidc", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the local OIDC provider did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> LocalOidcProvider:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
