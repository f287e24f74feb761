"""HTTP: the public keys (JWKS) and their rotation."""

from __future__ import annotations

from fastapi import status
from fastapi.responses import JSONResponse

from services.identity.context import IdentityDep, PrincipalDep
from services.identity.keys import service
from services.identity.keys.models import Jwks, KeyRead
from shared.auth import Role
from shared.deps import ClockDep, SessionDep
from shared.routing import ServiceRouter

router = ServiceRouter(tags=["keys"])

JWKS_MAX_AGE = 300  # seconds a verifier may keep the set; an unknown kid makes it fetch again


@router.get("/.well-known/jwks.json", response_model=Jwks, summary="The public keys that verify tokens")
def jwks(session: SessionDep, clock: ClockDep):
    """The current key and the previous ones whose tokens may still be valid (RFC 7517)."""
    body = service.jwks(session, clock.now())
    return JSONResponse(body, headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"})


@router.get("/keys", response_model=list[KeyRead], summary="The signing keys (never their private half)")
def list_keys(session: SessionDep, user: PrincipalDep, clock: ClockDep):
    user.ensure_role(Role.county, Role.ops)
    return service.published(session, clock.now())


@router.post(
    "/keys/rotate",
    response_model=KeyRead,
    status_code=status.HTTP_201_CREATED,
    summary="Rotate the signing key",
)
def rotate(session: SessionDep, user: PrincipalDep, identity: IdentityDep, clock: ClockDep):
    """County office or operations. Tokens are signed with a new key from now on; the previous key
    stays in the JWKS until the tokens it signed have expired. Emits `key.rotated`."""
    user.ensure_role(Role.county, Role.ops)
    return service.rotate(
        session, now=clock.now(), actor=user.actor, county_id=user.county_id, config=identity.config
    )
