"""Sign-in, refresh, sign-out and revocation.

A sign-in opens a session (its id is the `sid` of every access token issued in it) and answers a
short access token and a refresh token. A refresh token is used once: the next one replaces it, and
one shown a second time means someone copied it, so the whole session is revoked. Every sign-in,
failure, lock and revocation is an audit line and an event, written in the request's transaction
(the 401 of a failed sign-in commits them too: its route returns the answer, it does not raise).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.identity.accounts.models import Account, MachineAccount, masked, normalise_mobile
from services.identity.context import Identity
from services.identity.keys.service import new_jti
from services.identity.passwords import new_secret, sha256
from services.identity.sessions.models import MachineToken, RefreshToken, SignInSession, TokenPair
from shared import audit
from shared.catalogue.identity import (
    AccountLocked,
    RevocationReason,
    SessionRevoked,
    SigninFailed,
    SigninSucceeded,
)
from shared.changes import record
from shared.outbox import emit

REFUSED = "wrong mobile number or password, or too many failed attempts; try again later"
"""The one answer to a refused sign-in, whatever the reason: no caller learns whether an account
exists, is locked, disabled or waiting for its first password."""


@dataclass(frozen=True)
class Refused:
    detail: str = REFUSED


class _Unknown:
    """The subject of a failed sign-in for a mobile number no account has (audit and event)."""

    audit_entity: ClassVar[str] = "signin"

    def __init__(self, mobile: str, county_id: str) -> None:
        self.mobile = mobile
        self._county_id = county_id

    @property
    def id(self) -> str:
        return masked(self.mobile)

    @property
    def county_id(self) -> str:
        return self._county_id

    @property
    def township_id(self) -> str | None:
        return None


def _access_claims(
    identity: Identity, account: Account, sid: str, now: datetime
) -> tuple[dict[str, Any], datetime]:
    expires = now + timedelta(seconds=identity.config.access_ttl_seconds)
    claims = {
        "iss": identity.config.issuer,
        "aud": identity.config.audience,
        "sub": str(account.id),
        "sid": sid,
        "role": account.role,
        "county": account.county_id,
        "township": account.township_id,
        "village": account.village_id,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": new_jti(),
    }
    return claims, expires


def _issue(
    session: Session, identity: Identity, account: Account, signed_in: SignInSession, now: datetime
) -> TokenPair:
    claims, access_expires = _access_claims(identity, account, signed_in.id, now)
    access = identity.signer.sign(session, claims, now=now)
    refresh = new_secret()
    refresh_expires = min(now + timedelta(seconds=identity.config.refresh_ttl_seconds), signed_in.expires_at)
    session.add(
        RefreshToken(
            token_hash=sha256(refresh), session_id=signed_in.id, issued_at=now, expires_at=refresh_expires
        )
    )
    signed_in.last_access_expires_at = max(signed_in.last_access_expires_at, access_expires)
    session.add(signed_in)
    return TokenPair(
        access_token=access,
        expires_in=identity.config.access_ttl_seconds,
        refresh_token=refresh,
        refresh_expires_in=int((refresh_expires - now).total_seconds()),
        session_id=signed_in.id,
    )


def _failed(
    session: Session,
    identity: Identity,
    subject: Account | _Unknown,
    *,
    reason: str,
    address: str | None,
    now: datetime,
) -> Refused:
    account_id = subject.id if isinstance(subject, Account) else None
    failures = subject.failures if isinstance(subject, Account) else 0
    record(
        session,
        subject,
        actor=f"address:{address or 'unknown'}",
        action="signin.failed",
        detail={"reason": reason, "failures": failures, "address": address},
        event=SigninFailed(
            account_id=account_id,
            reason=reason,
            failures=failures,
            address=address,
        ),
        occurred_at=now,
    )
    return Refused()


def sign_in(
    session: Session, identity: Identity, *, mobile: str, password: str, address: str | None, now: datetime
) -> TokenPair | Refused:
    config = identity.config
    try:
        number = normalise_mobile(mobile)
    except ValueError:
        number = mobile[:20]
    account = session.exec(select(Account).where(Account.mobile == number).with_for_update()).first()
    if account is None:
        identity.hasher.waste(password)
        return _failed(
            session,
            identity,
            _Unknown(number, identity.county_id),
            reason="unknown_account",
            address=address,
            now=now,
        )
    if account.locked_until is not None and account.locked_until <= now:  # the lock has run out
        account.locked_until = None
        account.failures = 0
    if account.locked_until is not None:
        identity.hasher.waste(password)
        return _failed(session, identity, account, reason="locked", address=address, now=now)
    if account.status == "disabled":
        identity.hasher.waste(password)
        return _failed(session, identity, account, reason="disabled", address=address, now=now)
    if account.password_hash is None:
        identity.hasher.waste(password)
        return _failed(session, identity, account, reason="no_password", address=address, now=now)
    if not identity.hasher.verify(account.password_hash, password):
        account.failures += 1
        refused = _failed(session, identity, account, reason="wrong_password", address=address, now=now)
        lock_if_too_many(session, identity, account, now=now)
        return refused
    account.failures = 0
    if identity.hasher.needs_rehash(account.password_hash):  # the configured cost went up
        account.password_hash = identity.hasher.hash(password)
    session.add(account)
    signed_in = SignInSession(
        id=f"s-{secrets.token_hex(12)}",
        account_id=account.id,
        county_id=account.county_id,
        township_id=account.township_id,
        address=address,
        created_at=now,
        expires_at=now + timedelta(seconds=config.session_max_seconds),
        last_access_expires_at=now,
    )
    session.add(signed_in)
    session.flush()
    pair = _issue(session, identity, account, signed_in, now)
    record(
        session,
        account,
        actor=f"{account.role}:{account.id}",
        action="signin.succeeded",
        detail={"session_id": signed_in.id, "address": address},
        event=SigninSucceeded(
            account_id=account.id,
            session_id=signed_in.id,
            role=account.role,
            address=address,
        ),
        occurred_at=now,
    )
    return pair


def lock_if_too_many(session: Session, identity: Identity, account: Account, *, now: datetime) -> None:
    """Lock the account (every password refused until the lock runs out) once its failures in a
    row reach the limit; audited and published as `account.locked`."""
    session.add(account)
    if account.failures < identity.config.max_failures or account.locked_until is not None:
        return
    account.locked_until = now + timedelta(seconds=identity.config.lock_seconds)
    record(
        session,
        account,
        actor="identity",
        action="account.locked",
        detail={"until": account.locked_until.isoformat(), "failures": account.failures},
        event=AccountLocked(account_id=account.id, until=account.locked_until, failures=account.failures),
        occurred_at=now,
    )


def refresh(session: Session, identity: Identity, *, token: str, now: datetime) -> TokenPair | Refused:
    """A new pair for a refresh token used once; a second use revokes its session."""
    row = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == sha256(token)).with_for_update()
    ).first()
    if row is None:
        return Refused("invalid refresh token")
    signed_in = session.get(SignInSession, row.session_id)
    if signed_in is None or signed_in.revoked_at is not None:
        return Refused("session ended")
    account = session.get(Account, signed_in.account_id)
    if row.used_at is not None:
        revoke(
            session,
            identity,
            [signed_in],
            reason="refresh_reused",
            actor="identity",
            now=now,
            account=account,
            detail={"refresh_issued_at": row.issued_at.isoformat(), "used_at": row.used_at.isoformat()},
        )
        return Refused("refresh token already used: the session is ended")
    if row.expires_at <= now or signed_in.expires_at <= now:
        return Refused("refresh token expired")
    if account is None or account.status != "active":
        return Refused("session ended")
    row.used_at = now
    session.add(row)
    return _issue(session, identity, account, signed_in, now)


def revoke(
    session: Session,
    identity: Identity,
    sessions: list[SignInSession],
    *,
    reason: RevocationReason,
    actor: str,
    now: datetime,
    account: Account | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """End these sessions: no refresh from now on, and a `session.revoked` so that every service
    refuses their access tokens until the last one would have expired."""
    open_ = [item for item in sessions if item.revoked_at is None]
    if not open_:
        return
    for item in open_:
        item.revoked_at = now
        item.revoked_reason = reason
        session.add(item)
    until = max(max(item.last_access_expires_at for item in open_), now) + timedelta(
        seconds=identity.config.clock_skew_seconds
    )
    ids = sorted(item.id for item in open_)
    event = SessionRevoked(
        session_ids=ids, until=until, reason=reason, account_id=account.id if account is not None else None
    )
    if account is not None:
        record(
            session,
            account,
            actor=actor,
            action="session.revoked",
            detail={"sessions": ids, "reason": reason, "until": until.isoformat(), **(detail or {})},
            event=event,
            occurred_at=now,
        )
    else:
        first = open_[0]
        audit.record(
            session,
            actor=actor,
            action="session.revoked",
            entity="session",
            entity_id=first.id,
            county_id=first.county_id,
            township_id=first.township_id,
            detail={"sessions": ids, "reason": reason},
        )
        emit(
            session,
            event,
            county_id=first.county_id,
            township_id=first.township_id,
            actor=actor,
            occurred_at=now,
        )


def revoke_account_sessions(
    session: Session,
    identity: Identity,
    account: Account,
    *,
    reason: RevocationReason,
    actor: str,
    now: datetime,
    keep: str | None = None,
) -> None:
    found = session.exec(
        select(SignInSession).where(
            SignInSession.account_id == account.id,
            col(SignInSession.revoked_at).is_(None),
            col(SignInSession.expires_at) > now,
            SignInSession.id != (keep or ""),
        )
    ).all()
    revoke(session, identity, list(found), reason=reason, actor=actor, now=now, account=account)


def sign_out(session: Session, identity: Identity, *, session_id: str, actor: str, now: datetime) -> None:
    found = session.get(SignInSession, session_id)
    if found is None:
        return
    account = session.get(Account, found.account_id)
    revoke(session, identity, [found], reason="signed_out", actor=actor, now=now, account=account)


# --- machines ----------------------------------------------------------------------------------------


def machine_session_id(machine: MachineAccount) -> str:
    """The `sid` of every token of a machine account: revoking it refuses them all."""
    return f"m-{machine.id.hex}"


def machine_token(
    session: Session,
    identity: Identity,
    *,
    client_id: str,
    client_secret: str,
    scope: str | None,
    now: datetime,
) -> MachineToken | None:
    """OAuth 2.0 client credentials: a token carrying the machine's scopes (or the asked subset)."""
    machine = session.exec(select(MachineAccount).where(MachineAccount.client_id == client_id)).first()
    expected = machine.secret_hash if machine is not None else sha256(uuid.uuid4().hex)
    if not secrets.compare_digest(sha256(client_secret), expected) or machine is None:
        return None
    if machine.status != "active":
        return None
    scopes = machine.scopes
    if scope:
        asked = set(scope.split())
        if not asked <= set(machine.scopes):
            return None
        scopes = sorted(asked)
    expires = now + timedelta(seconds=identity.config.access_ttl_seconds)
    claims = {
        "iss": identity.config.issuer,
        "aud": identity.config.audience,
        "sub": f"machine:{machine.client_id}",
        "client_id": machine.client_id,
        "sid": machine_session_id(machine),
        "role": "machine",
        "scope": " ".join(scopes),
        "county": machine.county_id,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": new_jti(),
    }
    token = identity.signer.sign(session, claims, now=now)
    return MachineToken(
        access_token=token, expires_in=identity.config.access_ttl_seconds, scope=" ".join(scopes)
    )


def open_sessions_of(session: Session, account_id: uuid.UUID, now: datetime) -> list[SignInSession]:
    return list(
        session.exec(
            select(SignInSession)
            .where(
                SignInSession.account_id == account_id,
                col(SignInSession.revoked_at).is_(None),
                col(SignInSession.expires_at) > now,
            )
            .order_by(col(SignInSession.created_at).desc())
        ).all()
    )


FORGET_AFTER = timedelta(days=1)


def forget_ended(session: Session, *, now: datetime) -> int:
    """Delete refresh tokens past their end and sessions ended a day ago (their tokens too);
    the audit log keeps what happened. Returns the sessions forgotten."""
    cutoff = now - FORGET_AFTER
    ended = sa.select(col(SignInSession.id)).where(
        sa.or_(col(SignInSession.expires_at) < cutoff, col(SignInSession.revoked_at) < cutoff)
    )
    tokens = RefreshToken.__table__  # type: ignore[attr-defined]
    table = SignInSession.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    connection.execute(
        tokens.delete().where(sa.or_(tokens.c.expires_at < cutoff, tokens.c.session_id.in_(ended)))
    )
    return int(connection.execute(table.delete().where(table.c.id.in_(ended))).rowcount or 0)
