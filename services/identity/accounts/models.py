"""Accounts of people (county, township, inspector, village, ops) and of machines."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import ClassVar, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.identity.database import Base
from shared.db import UTCDateTime, utcnow

AccountRole = Literal["county", "township", "inspector", "village", "ops"]
AccountStatus = Literal["pending", "active", "disabled"]

CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
SCOPE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")


def normalise_mobile(value: str) -> str:
    """A mainland China mobile number as 11 digits: spaces and hyphens dropped, +86/0086 removed."""
    digits = re.sub(r"[\s-]", "", value)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    if not CN_MOBILE.fullmatch(digits):
        raise ValueError("must be a mainland China mobile number (11 digits starting 13-19)")
    return digits


def masked(mobile: str) -> str:
    """A mobile number fit for a log line: 138****5678."""
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 7 else "****"


class Account(Base, table=True):
    __tablename__ = "accounts"
    audit_entity: ClassVar[str] = "account"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    name: str = SQLField(max_length=80)
    mobile: str = SQLField(max_length=11, unique=True)
    role: str = SQLField(max_length=16)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str | None = SQLField(default=None, max_length=40, index=True)
    village_id: str | None = SQLField(default=None, max_length=40)
    status: str = SQLField(default="pending", max_length=16)
    password_hash: str | None = SQLField(default=None, max_length=255)
    password_set_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    code_hash: str | None = SQLField(default=None, max_length=255)
    code_expires_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    failures: int = 0
    locked_until: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_by: str = SQLField(max_length=120)
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    version: int = 1


class PasswordHistory(Base, table=True):
    """The hashes of an account's previous passwords, so that none of the last few comes back."""

    __tablename__ = "password_history"

    id: int | None = SQLField(default=None, primary_key=True)
    account_id: uuid.UUID = SQLField(foreign_key="accounts.id", index=True)
    password_hash: str = SQLField(max_length=255)
    set_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class MachineAccount(Base, table=True):
    """A script or gateway that signs in with a client id and secret (OAuth client credentials)."""

    __tablename__ = "machine_accounts"
    audit_entity: ClassVar[str] = "machine"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    client_id: str = SQLField(max_length=64, unique=True)
    name: str = SQLField(max_length=80)
    scopes: list[str] = SQLField(sa_column=Column(sa.JSON, nullable=False))
    county_id: str = SQLField(max_length=40, index=True)
    secret_hash: str = SQLField(max_length=64)
    status: str = SQLField(default="active", max_length=16)
    created_by: str = SQLField(max_length=120)
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))

    @property
    def township_id(self) -> str | None:
        return None


# --- the API's shapes ------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Name = Field(min_length=1, max_length=80)
PlaceId = Field(default=None, min_length=1, max_length=40)


class AccountCreate(_Strict):
    name: str = Name
    mobile: str = Field(min_length=11, max_length=20, description="Mainland China mobile number")
    role: AccountRole
    township_id: str | None = PlaceId
    village_id: str | None = PlaceId

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str) -> str:
        return normalise_mobile(value)


class AccountUpdate(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    mobile: str | None = Field(default=None, min_length=11, max_length=20)
    role: AccountRole | None = None
    township_id: str | None = PlaceId
    village_id: str | None = PlaceId

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        return None if value is None else normalise_mobile(value)


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    mobile: str
    role: AccountRole
    county_id: str
    township_id: str | None
    village_id: str | None
    status: AccountStatus
    password_set: bool = False
    locked_until: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class AccountIssued(BaseModel):
    """An account with the one-time code for its first password: the code is shown only here."""

    account: AccountRead
    code: str = Field(description="One-time code for the first password; shown once, kept only hashed")
    code_expires_at: datetime


class VillageCoordinator(_Strict):
    village_id: str = Field(min_length=1, max_length=40)
    name: str = Name
    mobile: str = Field(min_length=11, max_length=20)

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str) -> str:
        return normalise_mobile(value)


class CoordinatorsCreate(_Strict):
    """A township's village coordinators, one per village of the county definition the caller read."""

    township_id: str = Field(min_length=1, max_length=40)
    villages: list[VillageCoordinator] = Field(min_length=1, max_length=500)


class PasswordWithCode(_Strict):
    mobile: str = Field(min_length=11, max_length=20)
    code: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class PasswordChange(_Strict):
    current_password: str = Field(min_length=1, max_length=1024)
    password: str = Field(min_length=1, max_length=1024)


class MachineCreate(_Strict):
    name: str = Name
    scopes: list[str] = Field(min_length=1, max_length=32)

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        for scope in value:
            if not SCOPE.fullmatch(scope):
                raise ValueError(f"{scope!r} is not a scope (lower-case letters, digits, . _ : -)")
        return sorted(set(value))


class MachineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: str
    name: str
    scopes: list[str]
    county_id: str
    status: Literal["active", "disabled"]
    created_by: str
    created_at: datetime


class MachineIssued(BaseModel):
    machine: MachineRead
    client_secret: str = Field(description="Shown once; kept only as a SHA-256 hash")
