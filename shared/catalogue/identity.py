"""Events the identity service publishes on its stream (`shian.identity`).

Accounts, sign-ins and sessions. No event carries a mobile number, a password, a code or a token:
the stream is read by every service, and what identity keeps secret stays in its database.
`session.revoked` is what the other services keep (sid -> until) to refuse a revoked session's
access tokens before they expire.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from shared.events import EventPayload

AccountRole = Literal["county", "township", "inspector", "village", "ops"]
SigninFailure = Literal["unknown_account", "wrong_password", "locked", "disabled", "no_password"]
RevocationReason = Literal[
    "signed_out",
    "account_disabled",
    "refresh_reused",
    "password_changed",
    "password_reset",
    "account_changed",
]


class AccountCreated(EventPayload):
    """A county or township office created an account; it is pending until its first password."""

    TYPE = "account.created"
    PRODUCER = "identity"

    account_id: uuid.UUID
    name: str
    role: AccountRole
    village_id: str | None = None
    status: Literal["pending", "active", "disabled"] = "pending"


class AccountChanged(EventPayload):
    """An account's name, mobile number, role or place changed (`changed` names which). A change of
    role or place ends its sessions (a `session.revoked` follows)."""

    TYPE = "account.changed"
    PRODUCER = "identity"

    account_id: uuid.UUID
    changed: list[str]
    name: str
    role: AccountRole
    previous_role: AccountRole | None = None
    village_id: str | None = None


class AccountDisabled(EventPayload):
    """An account was disabled: it cannot sign in, and its sessions were ended."""

    TYPE = "account.disabled"
    PRODUCER = "identity"

    account_id: uuid.UUID
    role: AccountRole


class AccountEnabled(EventPayload):
    """A disabled account was enabled again."""

    TYPE = "account.enabled"
    PRODUCER = "identity"

    account_id: uuid.UUID
    role: AccountRole


class PasswordReset(EventPayload):
    """An office reset an account's password: the old one no longer works, a one-time code was
    issued, and the account's sessions were ended."""

    TYPE = "account.password_reset"
    PRODUCER = "identity"

    account_id: uuid.UUID
    code_expires_at: datetime


class PasswordSet(EventPayload):
    """The account's holder set a password (the first, with a one-time code, or a new one)."""

    TYPE = "account.password_set"
    PRODUCER = "identity"

    account_id: uuid.UUID
    with_code: bool


class SigninSucceeded(EventPayload):
    """A person signed in: a new session."""

    TYPE = "signin.succeeded"
    PRODUCER = "identity"

    account_id: uuid.UUID
    session_id: str
    role: AccountRole
    address: str | None = None


class SigninFailed(EventPayload):
    """A sign-in was refused. `account_id` is empty for a mobile number no account has."""

    TYPE = "signin.failed"
    PRODUCER = "identity"

    account_id: uuid.UUID | None = None
    reason: SigninFailure
    failures: int = 0  # failures in a row on the account, this one included
    address: str | None = None


class AccountLocked(EventPayload):
    """Too many failed sign-ins in a row: the account refuses every password until `until`."""

    TYPE = "account.locked"
    PRODUCER = "identity"

    account_id: uuid.UUID
    until: datetime
    failures: int


class SessionRevoked(EventPayload):
    """Sessions ended before their time. Every service refuses access tokens carrying one of these
    `sid`s until `until`, when the last token issued for them expires anyway."""

    TYPE = "session.revoked"
    PRODUCER = "identity"

    session_ids: list[str]
    until: datetime
    reason: RevocationReason
    account_id: uuid.UUID | None = None


class KeyRotated(EventPayload):
    """Identity signs with a new key from now on; the previous one stays in the JWKS until the
    tokens it signed have expired. Verifiers may refetch the JWKS at once."""

    TYPE = "key.rotated"
    PRODUCER = "identity"

    kid: str
    algorithm: str
    previous_kid: str | None = None
    previous_retires_at: datetime | None = None


class MachineCreated(EventPayload):
    """A machine account (a script, a gateway) was created with its scopes."""

    TYPE = "machine.created"
    PRODUCER = "identity"

    machine_id: uuid.UUID
    client_id: str
    name: str
    scopes: list[str]


class MachineDisabled(EventPayload):
    """A machine account was disabled; its tokens are refused (a `session.revoked` follows)."""

    TYPE = "machine.disabled"
    PRODUCER = "identity"

    machine_id: uuid.UUID
    client_id: str
