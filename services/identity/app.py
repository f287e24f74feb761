"""Wiring of the identity service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.identity.accounts.api import machines as machines_router
from services.identity.accounts.api import passwords as passwords_router
from services.identity.accounts.api import router as accounts_router
from services.identity.config import SERVICE, IdentityConfig
from services.identity.context import Identity
from services.identity.database import Base, infra
from services.identity.handlers import EVENT_HANDLERS
from services.identity.keys import service as keys
from services.identity.keys.api import router as keys_router
from services.identity.keys.service import LocalVerifier, Signer
from services.identity.limits import AttemptLimiter
from services.identity.passwords import Hasher
from services.identity.sessions import service as sessions
from services.identity.sessions.api import router as sessions_router
from shared.clock import Clock
from shared.service import ServiceRuntime, ServiceSpec
from shared.settings import Settings, get_settings
from shared.tokens import JwksVerifier
from shared.web import create_app

log = logging.getLogger("shian.identity")


HOUSEKEEPING_SECONDS = 3600.0
PUBLIC_COMMANDS = frozenset({"/sessions", "/sessions/refresh", "/password", "/token"})


async def housekeeping(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """At start, the first signing key of a fresh deployment (published before the first sign-in);
    then hourly, the sessions and refresh tokens past their end are forgotten."""
    identity: Identity = runtime.identity  # type: ignore[attr-defined]

    def first_key() -> None:
        with runtime.db.session() as session:
            keys.ensure_key(session, now=runtime.clock.now(), config=identity.config)

    def forget() -> None:
        with runtime.db.session() as session:
            sessions.forget_ended(session, now=runtime.clock.now())

    try:
        await asyncio.to_thread(first_key)
    except Exception:  # the database may be away: the first sign-in makes the key then
        log.exception("identity could not make its first signing key at start")
    while not stop.is_set():
        try:
            await asyncio.to_thread(forget)
        except Exception:
            log.exception("identity could not forget ended sessions; trying again in an hour")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=HOUSEKEEPING_SECONDS)


SPEC = ServiceSpec(
    name=SERVICE,
    title="identity",
    description="Accounts, sign-in and sessions, and the keys that sign every access token (their public "
    "halves at `/.well-known/jwks.json`). Every sign-in, failure, lock, reset, role change and "
    "revocation is an event on the `shian.identity` stream.",
    metadata=Base.metadata,
    infra=infra,
    migrations=Path(__file__).parent / "migrations",
    handlers=EVENT_HANDLERS,
    consumes=("registry",),
    routers=(sessions_router, accounts_router, passwords_router, machines_router, keys_router),
    loops=(housekeeping,),
    # The shared guard reads no body without identity's own token (the app's verifier reads the
    # keys from identity's database, see `create`), except on the routes that are how one gets a
    # token or a password: sign-in, refresh, the password with a one-time code, the token endpoint.
    public_commands=PUBLIC_COMMANDS,
    identity_tokens_only=True,
)


def create(
    settings: Settings | None = None, clock: Clock | None = None, config: IdentityConfig | None = None
) -> FastAPI:
    settings = settings or get_settings()
    config = config or IdentityConfig()
    app = create_app(SPEC, settings, clock)
    runtime: ServiceRuntime = app.state.runtime
    app.state.identity = identity = Identity(
        config=config,
        settings=settings,
        hasher=Hasher(config),
        signer=Signer(config),
        verifier=LocalVerifier(config),
        limiter=AttemptLimiter(app.state.rate_counter, settings.stream_prefix),
    )
    runtime.identity = identity  # type: ignore[attr-defined]
    app.state.token_verifier = own_keys_verifier(runtime, config)
    return app


def own_keys_verifier(runtime: ServiceRuntime, config: IdentityConfig) -> JwksVerifier:
    """The verifier of the shared guard (`shared.admission.CallerFirst`) in identity: the other
    services' `JwksVerifier`, fed from identity's own database rather than over HTTP from itself.
    A kid it has not cached is looked up at once (no refetch pause: a lookup is one small read, and
    a key rotated in a moment ago must open its tokens' commands)."""

    def read_jwks(_url: str) -> dict[str, Any]:
        with runtime.db.read_session() as session:
            return keys.jwks(session, runtime.clock.now())

    return JwksVerifier(
        "identity-database",
        config.issuer,
        config.audience,
        fetch=read_jwks,
        clock=runtime.clock,
        leeway_seconds=config.clock_skew_seconds,
        max_age_seconds=60.0,
        refetch_seconds=0.0,
    )
