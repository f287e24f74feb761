"""Sessions: one per sign-in, carried on by rotating refresh tokens, ended by sign-out or revocation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.identity.database import Base
from shared.db import UTCDateTime, utcnow


class SignInSession(Base, table=True):
    """A session: its id is the `sid` of every access token issued in it."""

    __tablename__ = "sign_in_sessions"
    audit_entity: ClassVar[str] = "session"

    id: str = SQLField(primary_key=True, max_length=40)
    account_id: uuid.UUID = SQLField(foreign_key="accounts.id", index=True)
    county_id: str = SQLField(max_length=40)
    township_id: str | None = SQLField(default=None, max_length=40)
    address: str | None = SQLField(default=None, max_length=64)
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))  # absolute end
    last_access_expires_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    revoked_reason: str | None = SQLField(default=None, max_length=40)


class RefreshToken(Base, table=True):
    """A refresh token, kept as the SHA-256 of its 256 random bits (a fast hash is enough for a
    value nobody can guess). Used once: the next one replaces it; a used one shown again means it
    was copied, and the whole session is revoked."""

    __tablename__ = "refresh_tokens"

    token_hash: str = SQLField(primary_key=True, max_length=64)
    session_id: str = SQLField(foreign_key="sign_in_sessions.id", index=True, max_length=40)
    issued_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    mobile: str = Field(min_length=1, max_length=20)
    password: str = Field(min_length=1, max_length=1024)


class Refresh(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=200)


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_token: str
    refresh_expires_in: int
    session_id: str


class MachineToken(BaseModel):
    """RFC 6749 §5.1."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str
