"""The keys that sign access tokens: private halves in identity's database only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.identity.database import Base
from shared.db import UTCDateTime, utcnow


class SigningKey(Base, table=True):
    """One signing key. The newest one not retired signs; a retired one stays published in the
    JWKS until `published_until` (its retirement plus the longest access token's life)."""

    __tablename__ = "signing_keys"

    kid: str = SQLField(primary_key=True, max_length=64)
    algorithm: str = SQLField(max_length=16)
    private_pem: bytes = SQLField(sa_column=Column(sa.LargeBinary, nullable=False))
    encrypted: bool = False
    public_jwk: dict[str, Any] = SQLField(sa_column=Column(sa.JSON, nullable=False))
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    created_by: str = SQLField(max_length=120)
    retired_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    published_until: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))


class KeyRead(BaseModel):
    """What anyone may know of a key: never its private half."""

    model_config = ConfigDict(from_attributes=True)

    kid: str
    algorithm: str
    created_at: datetime
    created_by: str
    retired_at: datetime | None
    published_until: datetime | None


class Jwks(BaseModel):
    keys: list[dict[str, Any]]
