"""Accounts: who may manage whom, the one-time code for a first password, the password rules.

The county office manages every account of its county. A township office manages the inspectors
and village coordinators of its own township: any other role is 403 for it, an account or a place
outside its township 404 (the same as one that does not exist). Other roles manage nobody.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from services.identity.accounts.models import (
    Account,
    AccountCreate,
    AccountIssued,
    AccountRead,
    AccountUpdate,
    CoordinatorsCreate,
    MachineAccount,
    MachineCreate,
    MachineIssued,
    MachineRead,
    PasswordHistory,
    masked,
    normalise_mobile,
)
from services.identity.context import Identity
from services.identity.database import place_directory
from services.identity.passwords import (
    check_history,
    check_rules,
    new_code,
    new_secret,
    normalise_code,
    sha256,
)
from services.identity.sessions import service as sessions
from shared.auth import Principal, Role
from shared.catalogue.identity import (
    AccountChanged,
    AccountCreated,
    AccountDisabled,
    AccountEnabled,
    MachineCreated,
    MachineDisabled,
    PasswordReset,
    PasswordSet,
    SessionRevoked,
)
from shared.changes import record
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.paging import Page

MANAGED_BY_TOWNSHIP = ("inspector", "village")
TOWNSHIP_RULE = "a township office manages only the inspectors and village coordinators of its township"


def read(account: Account) -> AccountRead:
    found = AccountRead.model_validate(account)
    found.password_set = account.password_hash is not None
    return found


# --- who may manage whom --------------------------------------------------------------------------


def _ensure_manager(principal: Principal) -> None:
    if principal.role not in (Role.county, Role.township):
        raise Forbidden(f"role {principal.role.value} may not manage accounts (allowed: county, township)")


def _ensure_may_hold(principal: Principal, role: str) -> None:
    """403 when the caller may not give an account this role."""
    if principal.role is Role.township and role not in MANAGED_BY_TOWNSHIP:
        raise Forbidden(TOWNSHIP_RULE)


def _place_of(principal: Principal, role: str, township_id: str | None, village_id: str | None) -> tuple:
    """The account's (township, village) for its role, checked against the caller's scope."""
    if principal.role is Role.township:
        if township_id is not None and township_id != principal.township_id:
            raise NotFound("township_id")
        township_id = principal.township_id
    if role in ("county", "ops"):
        if township_id is not None or village_id is not None:
            raise Invalid("township_id", f"a {role} account has no township or village")
        return None, None
    if township_id is None:
        raise Invalid("township_id", f"a {role} account needs its township")
    if role == "village":
        if village_id is None:
            raise Invalid("village_id", "a village coordinator's account needs its village")
        return township_id, village_id
    if village_id is not None:
        raise Invalid("village_id", f"a {role} account has no village")
    return township_id, None


def _check_places(
    session: Session,
    county_id: str,
    township_id: str | None,
    village_id: str | None,
    *,
    village_field: str = "village_id",
) -> None:
    """422 for a township or village the county does not have, once the registry has told identity
    the county's places (`place.defined`); before that, a fresh deployment, the places are taken
    as given (every service refuses a token for a place it does not know, whatever it says)."""
    table = place_directory
    ids = [county_id] + [place for place in (township_id, village_id) if place is not None]
    rows = session.execute(sa.select(table).where(table.c.place_id.in_(ids))).mappings().all()
    found = {row["place_id"]: row for row in rows}
    county = found.get(county_id)
    if county is None or county["level"] != "county":
        return
    if township_id is not None:
        township = found.get(township_id)
        if township is None or township["level"] != "township" or township["parent_id"] != county_id:
            raise Invalid("township_id", "is not a township of the county")
    if village_id is not None:
        village = found.get(village_id)
        if village is None or village["level"] != "village" or village["parent_id"] != township_id:
            raise Invalid(village_field, "is not a village of the township")


def load(
    session: Session, principal: Principal, account_id: uuid.UUID, *, for_update: bool = False
) -> Account:
    """The account if the caller sees it (404 otherwise): the county all of its county's, a
    township office those of its township."""
    _ensure_manager(principal)
    query = select(Account).where(Account.id == account_id, Account.county_id == principal.county_id)
    if principal.role is Role.township:
        query = query.where(Account.township_id == principal.township_id)
    if for_update:
        query = query.with_for_update()
    found = session.exec(query).first()
    if found is None:
        raise NotFound()
    return found


def _ensure_mobile_free(
    session: Session, mobile: str, *, field: str = "mobile", but: uuid.UUID | None = None
) -> None:
    query = select(Account.id).where(Account.mobile == mobile)
    if but is not None:
        query = query.where(Account.id != but)
    if session.exec(query).first() is not None:
        raise Conflict(field, "another account has this mobile number")


def _write_mobile(session: Session, account: Account, *, field: str = "mobile") -> None:
    """Write the account's row now, in a savepoint. Two offices giving one number at the same
    moment both pass `_ensure_mobile_free` on PostgreSQL, and the unique index refuses the second
    at its flush: that is the same 409 naming the field, not a 500."""
    try:
        with session.begin_nested():
            session.add(account)
    except sa.exc.IntegrityError as error:
        if "mobile" not in str(error.orig):
            raise
        raise Conflict(field, "another account has this mobile number") from None


def _issue_code(identity: Identity, account: Account, now: datetime) -> str:
    code = new_code()
    account.code_hash = identity.hasher.hash(code)
    account.code_expires_at = now + timedelta(seconds=identity.config.setup_code_ttl_seconds)
    return code


# --- commands -------------------------------------------------------------------------------------


def record_created(session: Session, account: Account, *, actor: str, now: datetime) -> None:
    """The audit line and the `account.created` event of a new account."""
    record(
        session,
        account,
        actor=actor,
        action="account.created",
        detail={"role": account.role, "mobile": masked(account.mobile), "village_id": account.village_id},
        event=AccountCreated(
            account_id=account.id,
            name=account.name,
            role=account.role,
            village_id=account.village_id,
            status=account.status,
        ),
        occurred_at=now,
    )


def _new_account(
    session: Session,
    identity: Identity,
    *,
    name: str,
    mobile: str,
    role: str,
    county_id: str,
    township_id: str | None,
    village_id: str | None,
    actor: str,
    now: datetime,
    mobile_field: str = "mobile",
) -> AccountIssued:
    account = Account(
        name=name,
        mobile=mobile,
        role=role,
        county_id=county_id,
        township_id=township_id,
        village_id=village_id,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    code = _issue_code(identity, account, now)
    _write_mobile(session, account, field=mobile_field)
    record_created(session, account, actor=actor, now=now)
    assert account.code_expires_at is not None
    return AccountIssued(account=read(account), code=code, code_expires_at=account.code_expires_at)


def create(
    session: Session, identity: Identity, principal: Principal, data: AccountCreate, now: datetime
) -> AccountIssued:
    _ensure_manager(principal)
    _ensure_may_hold(principal, data.role)
    township_id, village_id = _place_of(principal, data.role, data.township_id, data.village_id)
    _check_places(session, principal.county_id, township_id, village_id)
    _ensure_mobile_free(session, data.mobile)
    issued = _new_account(
        session,
        identity,
        name=data.name,
        mobile=data.mobile,
        role=data.role,
        county_id=principal.county_id,
        township_id=township_id,
        village_id=village_id,
        actor=principal.actor,
        now=now,
    )
    session.flush()
    return issued


def create_coordinators(
    session: Session, identity: Identity, principal: Principal, data: CoordinatorsCreate, now: datetime
) -> list[AccountIssued]:
    """A township's village coordinators in one go (all or none), one per village listed."""
    _ensure_manager(principal)
    township_id, _ = _place_of(principal, "village", data.township_id, "-")
    seen_mobiles: dict[str, int] = {}
    seen_villages: dict[str, int] = {}
    for index, row in enumerate(data.villages):
        if row.mobile in seen_mobiles:
            raise Invalid(
                f"villages.{index}.mobile", f"is the same as villages.{seen_mobiles[row.mobile]}.mobile"
            )
        seen_mobiles[row.mobile] = index
        if row.village_id in seen_villages:
            raise Invalid(
                f"villages.{index}.village_id", f"is listed twice (first at {seen_villages[row.village_id]})"
            )
        seen_villages[row.village_id] = index
        _check_places(
            session,
            principal.county_id,
            township_id,
            row.village_id,
            village_field=f"villages.{index}.village_id",
        )
        _ensure_mobile_free(session, row.mobile, field=f"villages.{index}.mobile")
    issued = [
        _new_account(
            session,
            identity,
            name=row.name,
            mobile=row.mobile,
            role="village",
            county_id=principal.county_id,
            township_id=township_id,
            village_id=row.village_id,
            actor=principal.actor,
            now=now,
            mobile_field=f"villages.{index}.mobile",
        )
        for index, row in enumerate(data.villages)
    ]
    session.flush()
    return issued


def update(
    session: Session,
    identity: Identity,
    principal: Principal,
    account_id: uuid.UUID,
    data: AccountUpdate,
    now: datetime,
) -> AccountRead:
    account = load(session, principal, account_id, for_update=True)
    _ensure_may_hold(principal, account.role)
    given = data.model_dump(exclude_unset=True)
    role = given.get("role") or account.role
    _ensure_may_hold(principal, role)
    if {"role", "township_id", "village_id"} & given.keys():
        township_id, village_id = _place_of(
            principal,
            role,
            given.get("township_id", account.township_id if role not in ("county", "ops") else None),
            given.get("village_id", account.village_id if role == "village" else None),
        )
        _check_places(session, account.county_id, township_id, village_id)
    else:
        township_id, village_id = account.township_id, account.village_id
    if data.mobile is not None:
        _ensure_mobile_free(session, data.mobile, but=account.id)
    new = {
        "name": data.name or account.name,
        "mobile": data.mobile or account.mobile,
        "role": role,
        "township_id": township_id,
        "village_id": village_id,
    }
    changed = sorted(name for name, value in new.items() if getattr(account, name) != value)
    if not changed:
        return read(account)
    previous_role = account.role
    for name, value in new.items():
        setattr(account, name, value)
    account.updated_at = now
    account.version += 1
    if "mobile" in changed:
        _write_mobile(session, account)
    session.add(account)
    action = "account.role_changed" if "role" in changed else "account.changed"
    detail: dict[str, Any] = {"changed": changed}
    if "role" in changed:
        detail["role"] = {"from": previous_role, "to": role}
    record(
        session,
        account,
        actor=principal.actor,
        action=action,
        detail=detail,
        event=AccountChanged(
            account_id=account.id,
            changed=changed,
            name=account.name,
            role=account.role,
            previous_role=previous_role if "role" in changed else None,
            village_id=account.village_id,
        ),
        occurred_at=now,
    )
    if {"role", "township_id", "village_id"} & set(changed):  # the tokens out there say otherwise
        sessions.revoke_account_sessions(
            session, identity, account, reason="account_changed", actor=principal.actor, now=now
        )
    session.flush()
    return read(account)


def disable(
    session: Session, identity: Identity, principal: Principal, account_id: uuid.UUID, now: datetime
) -> AccountRead:
    account = load(session, principal, account_id, for_update=True)
    _ensure_may_hold(principal, account.role)
    if str(account.id) == principal.subject:
        raise Conflict("id", "an office cannot disable its own account")
    if account.status == "disabled":
        return read(account)
    account.status = "disabled"
    account.updated_at = now
    session.add(account)
    record(
        session,
        account,
        actor=principal.actor,
        action="account.disabled",
        event=AccountDisabled(account_id=account.id, role=account.role),
        occurred_at=now,
    )
    sessions.revoke_account_sessions(
        session, identity, account, reason="account_disabled", actor=principal.actor, now=now
    )
    session.flush()
    return read(account)


def enable(
    session: Session, identity: Identity, principal: Principal, account_id: uuid.UUID, now: datetime
) -> AccountRead:
    account = load(session, principal, account_id, for_update=True)
    _ensure_may_hold(principal, account.role)
    if account.status != "disabled":
        return read(account)
    account.status = "active" if account.password_hash is not None else "pending"
    account.failures = 0
    account.locked_until = None
    account.updated_at = now
    session.add(account)
    record(
        session,
        account,
        actor=principal.actor,
        action="account.enabled",
        event=AccountEnabled(account_id=account.id, role=account.role),
        occurred_at=now,
    )
    session.flush()
    return read(account)


def reset(
    session: Session, identity: Identity, principal: Principal, account_id: uuid.UUID, now: datetime
) -> AccountIssued:
    """A new one-time code; the old password stops working and the account's sessions end."""
    account = load(session, principal, account_id, for_update=True)
    _ensure_may_hold(principal, account.role)
    if account.status == "disabled":
        raise Conflict("status", "enable the account before resetting its password")
    code = _issue_code(identity, account, now)
    if account.password_hash is not None:
        _remember(session, account, account.password_hash, now)
    account.password_hash = None
    account.failures = 0
    account.locked_until = None
    account.updated_at = now
    session.add(account)
    assert account.code_expires_at is not None
    record(
        session,
        account,
        actor=principal.actor,
        action="account.password_reset",
        detail={"code_expires_at": account.code_expires_at.isoformat()},
        event=PasswordReset(account_id=account.id, code_expires_at=account.code_expires_at),
        occurred_at=now,
    )
    sessions.revoke_account_sessions(
        session, identity, account, reason="password_reset", actor=principal.actor, now=now
    )
    session.flush()
    return AccountIssued(account=read(account), code=code, code_expires_at=account.code_expires_at)


def _remember(session: Session, account: Account, password_hash: str, now: datetime) -> None:
    session.add(PasswordHistory(account_id=account.id, password_hash=password_hash, set_at=now))


def _previous_hashes(session: Session, account: Account) -> list[str]:
    rows = session.exec(
        select(PasswordHistory.password_hash)
        .where(PasswordHistory.account_id == account.id)
        .order_by(col(PasswordHistory.set_at).desc(), col(PasswordHistory.id).desc())
    ).all()
    return list(rows)


def _set_password(
    session: Session, identity: Identity, account: Account, password: str, now: datetime, *, with_code: bool
) -> None:
    check_rules(password, mobile=account.mobile, config=identity.config)
    previous = _previous_hashes(session, account)
    if account.password_hash is not None:
        previous.insert(0, account.password_hash)
    check_history(identity.hasher, password, previous, config=identity.config)
    if account.password_hash is not None:
        _remember(session, account, account.password_hash, now)
    account.password_hash = identity.hasher.hash(password)
    account.password_set_at = now
    account.code_hash = None
    account.code_expires_at = None
    account.failures = 0
    account.locked_until = None
    if account.status == "pending":
        account.status = "active"
    account.updated_at = now
    session.add(account)
    record(
        session,
        account,
        actor=f"{account.role}:{account.id}",
        action="account.password_set",
        detail={"with_code": with_code},
        event=PasswordSet(account_id=account.id, with_code=with_code),
        occurred_at=now,
    )


def set_password_with_code(
    session: Session, identity: Identity, *, mobile: str, code: str, password: str, now: datetime
) -> bool:
    """The first password (or the one after a reset), with the one-time code an office gave.
    False, the same for every reason, when the mobile number and code do not match a live code."""
    try:
        number = normalise_mobile(mobile)
    except ValueError:
        identity.hasher.waste(code)
        return False
    account = session.exec(select(Account).where(Account.mobile == number).with_for_update()).first()
    live = (
        account is not None
        and account.status != "disabled"
        and account.code_hash is not None
        and account.code_expires_at is not None
        and account.code_expires_at > now
    )
    matches = identity.hasher.verify(account.code_hash if live and account else None, normalise_code(code))
    if not (live and matches) or account is None:
        return False
    _set_password(session, identity, account, password, now, with_code=True)
    return True


def change_password(
    session: Session,
    identity: Identity,
    principal: Principal,
    *,
    current: str,
    password: str,
    keep_session: str,
    now: datetime,
) -> bool:
    """A signed-in person's new password; their other sessions end. False if `current` is wrong:
    a failure like a sign-in's (a stolen access token is no way to guess the password), counted
    towards the lock, which also refuses `current` while it holds."""
    account = session.exec(
        select(Account).where(Account.id == uuid.UUID(principal.subject)).with_for_update()
    ).first()
    if account is None:
        return False
    if account.locked_until is not None and account.locked_until <= now:
        account.locked_until = None
        account.failures = 0
    if account.locked_until is not None:
        identity.hasher.waste(current)
        return False
    if not identity.hasher.verify(account.password_hash, current):
        account.failures += 1
        record(
            session,
            account,
            actor=principal.actor,
            action="account.password_change_failed",
            detail={"failures": account.failures},
        )
        sessions.lock_if_too_many(session, identity, account, now=now)
        return False
    _set_password(session, identity, account, password, now, with_code=False)
    sessions.revoke_account_sessions(
        session,
        identity,
        account,
        reason="password_changed",
        actor=principal.actor,
        now=now,
        keep=keep_session,
    )
    session.flush()
    return True


def bootstrap_county(
    session: Session, identity: Identity, *, county_id: str, name: str, mobile: str, now: datetime
) -> AccountIssued:
    """The first county account of a fresh deployment (the command line; no caller to check).
    Refused once the county has an active county account: from then on, that office creates."""
    number = normalise_mobile(mobile)
    exists = session.exec(
        select(Account.id).where(
            Account.county_id == county_id, Account.role == "county", Account.status != "disabled"
        )
    ).first()
    if exists is not None:
        raise Conflict("county_id", "the county has a county account already: it creates the others")
    _ensure_mobile_free(session, number)
    issued = _new_account(
        session,
        identity,
        name=name,
        mobile=number,
        role="county",
        county_id=county_id,
        township_id=None,
        village_id=None,
        actor="bootstrap",
        now=now,
    )
    session.flush()
    return issued


# --- queries --------------------------------------------------------------------------------------


def search(
    session: Session,
    principal: Principal,
    *,
    role: str | None,
    status: str | None,
    township_id: str | None,
    offset: int,
    limit: int,
) -> Page[AccountRead]:
    _ensure_manager(principal)
    conditions: list[Any] = [Account.county_id == principal.county_id]
    if principal.role is Role.township:
        conditions.append(Account.township_id == principal.township_id)
    if role is not None:
        conditions.append(Account.role == role)
    if status is not None:
        conditions.append(Account.status == status)
    if township_id is not None:
        conditions.append(Account.township_id == township_id)
    total = session.exec(select(func.count()).select_from(Account).where(*conditions)).one()
    rows = session.exec(
        select(Account)
        .where(*conditions)
        .order_by(col(Account.created_at), col(Account.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return Page(items=[read(row) for row in rows], total=int(total), offset=offset, limit=limit)


def me(session: Session, principal: Principal) -> AccountRead:
    found = session.get(Account, uuid.UUID(principal.subject))
    if found is None:
        raise NotFound()
    return read(found)


# --- machine accounts -----------------------------------------------------------------------------


def _ensure_machine_manager(principal: Principal) -> None:
    if principal.role not in (Role.county, Role.ops):
        raise Forbidden(f"role {principal.role.value} may not manage machine accounts (allowed: county, ops)")


def create_machine(
    session: Session, principal: Principal, data: MachineCreate, now: datetime
) -> MachineIssued:
    _ensure_machine_manager(principal)
    secret = new_secret()
    machine = MachineAccount(
        client_id=f"m-{secrets.token_hex(8)}",
        name=data.name,
        scopes=data.scopes,
        county_id=principal.county_id,
        secret_hash=sha256(secret),
        created_by=principal.actor,
        created_at=now,
    )
    session.add(machine)
    record(
        session,
        machine,
        actor=principal.actor,
        action="machine.created",
        detail={"client_id": machine.client_id, "scopes": machine.scopes},
        event=MachineCreated(
            machine_id=machine.id, client_id=machine.client_id, name=machine.name, scopes=machine.scopes
        ),
        occurred_at=now,
    )
    session.flush()
    return MachineIssued(machine=MachineRead.model_validate(machine), client_secret=secret)


def load_machine(session: Session, principal: Principal, machine_id: uuid.UUID) -> MachineAccount:
    _ensure_machine_manager(principal)
    found = session.exec(
        select(MachineAccount).where(
            MachineAccount.id == machine_id, MachineAccount.county_id == principal.county_id
        )
    ).first()
    if found is None:
        raise NotFound()
    return found


def new_machine_secret(
    session: Session, principal: Principal, machine_id: uuid.UUID, now: datetime
) -> MachineIssued:
    """A new client secret (shown once); the old one stops working at once. Tokens already issued
    live out their 15 minutes (disable the machine to end them)."""
    machine = load_machine(session, principal, machine_id)
    if machine.status != "active":
        raise Conflict("status", "a disabled machine account gets no secret")
    secret = new_secret()
    machine.secret_hash = sha256(secret)
    session.add(machine)
    record(
        session,
        machine,
        actor=principal.actor,
        action="machine.secret_changed",
        detail={"client_id": machine.client_id, "at": now.isoformat()},
    )
    session.flush()
    return MachineIssued(machine=MachineRead.model_validate(machine), client_secret=secret)


def disable_machine(
    session: Session, identity: Identity, principal: Principal, machine_id: uuid.UUID, now: datetime
) -> MachineRead:
    machine = load_machine(session, principal, machine_id)
    if machine.status == "disabled":
        return MachineRead.model_validate(machine)
    machine.status = "disabled"
    session.add(machine)
    record(
        session,
        machine,
        actor=principal.actor,
        action="machine.disabled",
        event=MachineDisabled(machine_id=machine.id, client_id=machine.client_id),
        occurred_at=now,
    )
    until = now + timedelta(seconds=identity.config.access_ttl_seconds + identity.config.clock_skew_seconds)
    record(
        session,
        machine,
        actor=principal.actor,
        event=SessionRevoked(
            session_ids=[sessions.machine_session_id(machine)], until=until, reason="account_disabled"
        ),
        occurred_at=now,
    )
    session.flush()
    return MachineRead.model_validate(machine)


def machines(session: Session, principal: Principal) -> list[MachineRead]:
    _ensure_machine_manager(principal)
    rows = session.exec(
        select(MachineAccount)
        .where(MachineAccount.county_id == principal.county_id)
        .order_by(col(MachineAccount.created_at))
    ).all()
    return [MachineRead.model_validate(row) for row in rows]
