"""HTTP: sign-in, refresh, sign-out, and the OAuth token endpoint for machines."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from fastapi import Form, Request, Response, status
from fastapi.responses import JSONResponse

from services.identity.accounts.models import normalise_mobile
from services.identity.context import CallerDep, Identity, IdentityDep, PrincipalDep
from services.identity.passwords import sha256
from services.identity.sessions import service
from services.identity.sessions.models import MachineToken, Refresh, SignIn, TokenPair
from shared.deps import ClockDep, SessionDep
from shared.routing import ServiceRouter

router = ServiceRouter(tags=["sessions"])

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _refused(detail: str) -> JSONResponse:
    return JSONResponse(
        status_code=status.HTTP_401_UNAUTHORIZED, content={"detail": detail}, headers=_UNAUTHORIZED
    )


def account_key(mobile: str) -> str:
    """Who the attempts are counted against: the number however it was written (+86, spaces)."""
    try:
        mobile = normalise_mobile(mobile)
    except ValueError:
        mobile = mobile.strip()
    return sha256(mobile)[:32]


def limit_attempts(identity: Identity, request: Request, mobile: str, now: datetime) -> JSONResponse | None:
    """429 past the attempts allowed this minute for the account or the client's address."""
    config = identity.config
    limited = identity.limiter.check(
        now,
        [
            ("account", account_key(mobile), config.attempts_per_account_per_minute),
            ("address", _address(request) or "unknown", config.attempts_per_address_per_minute),
        ],
    )
    return _too_many(limited.retry_after) if limited is not None else None


def _too_many(retry_after: int) -> JSONResponse:
    return JSONResponse(
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        content={"detail": "too many sign-in attempts; slow down"},
        headers={"Retry-After": str(retry_after)},
    )


@router.post(
    "/sessions",
    response_model=TokenPair,
    status_code=status.HTTP_201_CREATED,
    summary="Sign in with a mobile number and password",
    responses={
        401: {"description": "Refused: one answer for every reason"},
        429: {"description": "Too many"},
    },
)
def sign_in(data: SignIn, request: Request, session: SessionDep, identity: IdentityDep, clock: ClockDep):
    """A 15-minute access token and a refresh token. Attempts are limited per account and per
    address; after 5 failures in a row the account refuses every password for 15 minutes. An
    unknown number, a wrong password, a locked, disabled or not yet activated account all get the
    same 401, in about the same time."""
    now = clock.now()
    limited = limit_attempts(identity, request, data.mobile, now)
    if limited is not None:
        return limited
    answer = service.sign_in(
        session, identity, mobile=data.mobile, password=data.password, address=_address(request), now=now
    )
    if isinstance(answer, service.Refused):
        return _refused(answer.detail)
    return answer


@router.post("/sessions/refresh", response_model=TokenPair, summary="A new token pair for a refresh token")
def refresh(data: Refresh, session: SessionDep, identity: IdentityDep, clock: ClockDep):
    """The refresh token is used up: the answer carries the next one. A refresh token presented a
    second time ends its whole session (someone else holds a copy); emits `session.revoked`."""
    answer = service.refresh(session, identity, token=data.refresh_token, now=clock.now())
    if isinstance(answer, service.Refused):
        return _refused(answer.detail)
    return answer


@router.delete("/sessions/current", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out")
def sign_out(
    session: SessionDep, user: PrincipalDep, caller: CallerDep, identity: IdentityDep, clock: ClockDep
):
    """Ends the session of the token presented. Emits `session.revoked`."""
    service.sign_out(session, identity, session_id=caller.session_id, actor=user.actor, now=clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _oauth_error(code: int, error: str, description: str) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if code == status.HTTP_401_UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Basic realm="shian"'
    return JSONResponse(
        status_code=code, content={"error": error, "error_description": description}, headers=headers
    )


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


@router.post(
    "/token",
    response_model=MachineToken,
    summary="OAuth 2.0 token endpoint (client credentials)",
    responses={400: {"description": "Unsupported grant or scope"}, 401: {"description": "Unknown client"}},
)
def token(
    request: Request,
    session: SessionDep,
    identity: IdentityDep,
    clock: ClockDep,
    grant_type: Annotated[str, Form(max_length=64)],
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
    scope: Annotated[str | None, Form(max_length=2000)] = None,
):
    """`grant_type=client_credentials` with the client id and secret (HTTP Basic or form fields);
    the access token carries `role: machine` and the machine's scopes (or the subset asked)."""
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is offered here")
    credentials = _basic(request) or (client_id or "", client_secret or "")
    now = clock.now()
    limited = identity.limiter.check(
        now, [("client", credentials[0][:64] or "none", identity.config.attempts_per_account_per_minute)]
    )
    if limited is not None:
        return _too_many(limited.retry_after)
    answer = service.machine_token(
        session, identity, client_id=credentials[0], client_secret=credentials[1], scope=scope, now=now
    )
    if answer is None:
        return _oauth_error(
            401, "invalid_client", "unknown client, wrong secret, disabled, or a scope not granted"
        )
    response = JSONResponse(answer.model_dump(), headers={"Cache-Control": "no-store"})
    return response
