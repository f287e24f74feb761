"""Wiring of the identity service."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from services.identity.accounts.api import machines as machines_router
from services.identity.accounts.api import passwords as passwords_router
from services.identity.accounts.api import router as accounts_router
from services.identity.config import SERVICE, IdentityConfig, IdentitySettings
from services.identity.context import Identity
from services.identity.database import Base, infra
from services.identity.handlers import EVENT_HANDLERS
from services.identity.keys import service as keys
from services.identity.keys.api import router as keys_router
from services.identity.keys.service import LocalVerifier, Signer
from services.identity.limits import AttemptLimiter
from services.identity.passwords import Hasher
from services.identity.sessions.api import router as sessions_router
from shared.clock import Clock
from shared.service import ServiceRuntime, ServiceSpec
from shared.settings import Settings
from shared.web import create_app


async def first_key(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """A fresh deployment publishes its first signing key at start, before the first sign-in."""
    config: IdentityConfig = runtime.identity_config  # type: ignore[attr-defined]

    def ensure() -> None:
        with runtime.db.session() as session:
            keys.ensure_key(session, now=runtime.clock.now(), config=config)

    await asyncio.to_thread(ensure)


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
    consumes=(),
    routers=(sessions_router, accounts_router, passwords_router, machines_router, keys_router),
    loops=(first_key,),
    # The shared guard in front of every app checks today's HS256 tokens, which identity does not
    # take: its routes check its own tokens (services.identity.context), and sign-in, refresh, the
    # password with a code and the token endpoint take none.
    public_paths=("/",),
)


def create(
    settings: Settings | None = None, clock: Clock | None = None, config: IdentityConfig | None = None
) -> FastAPI:
    settings = IdentitySettings.of(settings or IdentitySettings())
    config = config or IdentityConfig()
    app = create_app(SPEC, settings, clock)
    runtime: ServiceRuntime = app.state.runtime
    runtime.identity_config = config  # type: ignore[attr-defined]
    app.state.identity = Identity(
        config=config,
        settings=settings,
        hasher=Hasher(config),
        signer=Signer(config),
        verifier=LocalVerifier(config),
        limiter=AttemptLimiter(settings.redis_url, settings.stream_prefix),
    )
    return app
