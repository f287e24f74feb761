"""What identity's routes share: its config, hasher, signer, verifier and attempt limiter, and the
caller of a management route (a person signed in to identity, in an active session)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.identity.config import IdentityConfig
from services.identity.keys.service import LocalVerifier, Signer
from services.identity.limits import AttemptLimiter
from services.identity.passwords import Hasher
from shared.auth import Principal, Role
from shared.service import ServiceRuntime
from shared.settings import Settings


@dataclass
class Identity:
    config: IdentityConfig
    settings: Settings
    hasher: Hasher
    signer: Signer
    verifier: LocalVerifier
    limiter: AttemptLimiter

    @property
    def county_id(self) -> str:
        """The county events about the whole deployment are filed under."""
        return self.settings.county_id or "*"


def get_identity(request: Request) -> Identity:
    return request.app.state.identity


IdentityDep = Annotated[Identity, Depends(get_identity)]

_bearer = HTTPBearer(auto_error=False)
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Caller:
    """A person signed in: the principal of their token and the session it belongs to."""

    principal: Principal
    session_id: str

    @property
    def account_id(self) -> uuid.UUID:
        return uuid.UUID(self.principal.subject)


def _refuse(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers=_UNAUTHORIZED)


def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller of a management route: an access token identity signed, unexpired, for a person
    whose session is still open and whose account is active. Identity holds the sessions, so a
    revocation holds here at once."""
    from services.identity.accounts.models import Account
    from services.identity.sessions.models import SignInSession

    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _refuse("missing bearer token")
    identity = get_identity(request)
    runtime: ServiceRuntime = request.app.state.runtime
    now = runtime.clock.now()
    with runtime.db.read_session() as session:
        try:
            claims = identity.verifier.claims(session, credentials.credentials, now=now)
        except jwt.ExpiredSignatureError:
            raise _refuse("token expired") from None
        except (jwt.InvalidTokenError, ValueError):
            raise _refuse("invalid token") from None
        sid = str(claims.get("sid") or "")
        if claims.get("role") == Role.machine.value:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "a machine account manages nobody")
        try:
            role = Role(str(claims.get("role")))
            account_id = uuid.UUID(str(claims["sub"]))
        except ValueError:
            raise _refuse("not a person's token") from None
        found = session.get(SignInSession, sid)
        account = session.get(Account, account_id)
        if (
            found is None
            or found.revoked_at is not None
            or found.account_id != account_id
            or account is None
            or account.status != "active"
        ):
            raise _refuse("session ended")
    principal = Principal(
        subject=str(account_id),
        role=role,
        county_id=str(claims.get("county")),
        township_id=claims.get("township"),
        village_id=claims.get("village"),
    )
    return Caller(principal=principal, session_id=sid)


CallerDep = Annotated[Caller, Depends(current_caller)]


def caller_principal(caller: CallerDep) -> Principal:
    return caller.principal


PrincipalDep = Annotated[Principal, Depends(caller_principal)]
