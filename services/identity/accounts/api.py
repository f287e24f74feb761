"""HTTP: accounts of people and machines, and passwords."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response, status
from fastapi.responses import JSONResponse

from services.identity.accounts import service
from services.identity.accounts.models import (
    AccountCreate,
    AccountIssued,
    AccountRead,
    AccountRole,
    AccountStatus,
    AccountUpdate,
    CoordinatorsCreate,
    MachineCreate,
    MachineIssued,
    MachineRead,
    PasswordChange,
    PasswordWithCode,
)
from services.identity.context import CallerDep, IdentityDep, PrincipalDep
from services.identity.sessions.api import limit_attempts
from shared.deps import ClockDep, SessionDep
from shared.paging import Limit, Offset, Page
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/accounts", tags=["accounts"])
passwords = ServiceRouter(tags=["accounts"])
machines = ServiceRouter(prefix="/machines", tags=["machines"])

CODE_REFUSED = "the mobile number and one-time code do not match a code still valid"


@router.post(
    "", response_model=AccountIssued, status_code=status.HTTP_201_CREATED, summary="Create an account"
)
def create_account(
    data: AccountCreate, session: SessionDep, user: PrincipalDep, identity: IdentityDep, clock: ClockDep
):
    """County office: any role of its county. Township office: inspectors and village coordinators of
    its own township. The answer holds the one-time code for the first password, shown only here.
    Emits `account.created`."""
    return service.create(session, identity, user, data, clock.now())


@router.post(
    "/coordinators",
    response_model=list[AccountIssued],
    status_code=status.HTTP_201_CREATED,
    summary="Create a township's village coordinators in one go",
)
def create_coordinators(
    data: CoordinatorsCreate, session: SessionDep, user: PrincipalDep, identity: IdentityDep, clock: ClockDep
):
    """One account per village listed (from the county definition the caller read), all or none."""
    return service.create_coordinators(session, identity, user, data, clock.now())


@router.get("", response_model=Page[AccountRead], summary="Accounts the caller manages")
def list_accounts(
    session: SessionDep,
    user: PrincipalDep,
    role: AccountRole | None = None,
    status: Annotated[AccountStatus | None, Query()] = None,
    township_id: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    offset: Offset = 0,
    limit: Limit = 100,
):
    return service.search(
        session, user, role=role, status=status, township_id=township_id, offset=offset, limit=limit
    )


@router.get("/me", response_model=AccountRead, summary="The caller's own account")
def my_account(session: SessionDep, user: PrincipalDep):
    return service.me(session, user)


@router.put("/me/password", status_code=status.HTTP_204_NO_CONTENT, summary="Change one's own password")
def change_password(
    data: PasswordChange,
    request: Request,
    session: SessionDep,
    user: PrincipalDep,
    caller: CallerDep,
    identity: IdentityDep,
    clock: ClockDep,
):
    """The current password and a new one meeting the rules; the caller's other sessions end. A wrong
    current password counts towards the account's lock, and attempts are limited as sign-ins are."""
    now = clock.now()
    account = service.me(session, user)
    limited = limit_attempts(identity, request, account.mobile, now)
    if limited is not None:
        return limited
    changed = service.change_password(
        session,
        identity,
        user,
        current=data.current_password,
        password=data.password,
        keep_session=caller.session_id,
        now=now,
    )
    if not changed:
        return JSONResponse(
            status_code=status.HTTP_403_FORBIDDEN, content={"detail": "wrong current password"}
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{account_id}", response_model=AccountRead, summary="One account")
def get_account(account_id: uuid.UUID, session: SessionDep, user: PrincipalDep):
    return service.read(service.load(session, user, account_id))


@router.patch("/{account_id}", response_model=AccountRead, summary="Change an account")
def update_account(
    account_id: uuid.UUID,
    data: AccountUpdate,
    session: SessionDep,
    user: PrincipalDep,
    identity: IdentityDep,
    clock: ClockDep,
):
    """Name, mobile number, role or place. A new role or place ends the account's sessions. Emits
    `account.changed` (and `session.revoked`)."""
    return service.update(session, identity, user, account_id, data, clock.now())


@router.post("/{account_id}/disable", response_model=AccountRead, summary="Disable an account")
def disable_account(
    account_id: uuid.UUID, session: SessionDep, user: PrincipalDep, identity: IdentityDep, clock: ClockDep
):
    """It can no longer sign in and its sessions end. Emits `account.disabled` and `session.revoked`."""
    return service.disable(session, identity, user, account_id, clock.now())


@router.post("/{account_id}/enable", response_model=AccountRead, summary="Enable a disabled account")
def enable_account(
    account_id: uuid.UUID, session: SessionDep, user: PrincipalDep, identity: IdentityDep, clock: ClockDep
):
    return service.enable(session, identity, user, account_id, clock.now())


@router.post(
    "/{account_id}/reset", response_model=AccountIssued, summary="Reset a password: a new one-time code"
)
def reset_password(
    account_id: uuid.UUID, session: SessionDep, user: PrincipalDep, identity: IdentityDep, clock: ClockDep
):
    """The old password stops working, the sessions end, and a new one-time code is answered (once).
    Emits `account.password_reset` and `session.revoked`."""
    return service.reset(session, identity, user, account_id, clock.now())


@passwords.post(
    "/password", status_code=status.HTTP_204_NO_CONTENT, summary="Set a password with a one-time code"
)
def set_password(
    data: PasswordWithCode, request: Request, session: SessionDep, identity: IdentityDep, clock: ClockDep
):
    """No token: the mobile number, the one-time code an office gave, and the password (the rules:
    8 characters or more, three of upper-case, lower-case, digits and symbols, not the mobile
    number, none of the last passwords; 422 names the rule broken). Attempts are limited as
    sign-ins are, per account and per address."""
    now = clock.now()
    limited = limit_attempts(identity, request, data.mobile, now)
    if limited is not None:
        return limited
    if not service.set_password_with_code(
        session, identity, mobile=data.mobile, code=data.code, password=data.password, now=now
    ):
        return JSONResponse(status_code=status.HTTP_401_UNAUTHORIZED, content={"detail": CODE_REFUSED})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@machines.post(
    "", response_model=MachineIssued, status_code=status.HTTP_201_CREATED, summary="Create a machine account"
)
def create_machine(data: MachineCreate, session: SessionDep, user: PrincipalDep, clock: ClockDep):
    """County office or operations: a client id and secret (shown once) for `POST /token`."""
    return service.create_machine(session, user, data, clock.now())


@machines.get("", response_model=list[MachineRead], summary="Machine accounts of the county")
def list_machines(session: SessionDep, user: PrincipalDep):
    return service.machines(session, user)


@machines.post(
    "/{machine_id}/secret", response_model=MachineIssued, summary="Give a machine account a new secret"
)
def new_machine_secret(machine_id: uuid.UUID, session: SessionDep, user: PrincipalDep, clock: ClockDep):
    """The new secret is shown once; the old one stops working at once."""
    return service.new_machine_secret(session, user, machine_id, clock.now())


@machines.post("/{machine_id}/disable", response_model=MachineRead, summary="Disable a machine account")
def disable_machine(
    machine_id: uuid.UUID, session: SessionDep, user: PrincipalDep, identity: IdentityDep, clock: ClockDep
):
    """Its tokens are refused from now on. Emits `machine.disabled` and `session.revoked`."""
    return service.disable_machine(session, identity, user, machine_id, clock.now())
