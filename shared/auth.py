"""Bearer tokens and place scoping.

A token is an HS256 JWT carrying a role and a place (with the place's parents), issued by
`shian token`. Every query and command is scoped to the caller's place: outside it the answer is
404, the same as for a record that does not exist, so a township never learns what another has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.settings import Settings

ALGORITHM = "HS256"
ISSUER = "shian"


class Role(StrEnum):
    county = "county"  # county food-safety committee office: the whole county
    township = "township"  # township food-safety office: its township
    inspector = "inspector"  # an inspector of a township: its township
    village = "village"  # village coordinator / information officer: its village
    ops = "ops"  # operations team: metrics and dead letters, no domain data


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    county_id: str
    township_id: str | None = None
    village_id: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.subject}"

    def sees(self, *, county_id: str | None, township_id: str | None, village_id: str | None = None) -> bool:
        """Whether a record at this place is inside the caller's scope."""
        if county_id is not None and county_id != self.county_id:
            return False
        if self.role is Role.county:
            return True
        if self.role in (Role.township, Role.inspector):
            return township_id is not None and township_id == self.township_id
        if self.role is Role.village:
            return village_id is not None and village_id == self.village_id
        return False

    def scope(self, model: Any, *, village_level: bool = True) -> sa.ColumnElement[bool]:
        """The SQL condition "inside the caller's scope" for a table with county_id, township_id
        (and, for village-level records, village_id) columns. `village_level=False` keeps village
        users out of records that are not theirs to see at all (e.g. inspection orders)."""
        condition = model.county_id == self.county_id
        if self.role is Role.county:
            return condition
        if self.role in (Role.township, Role.inspector):
            return sa.and_(condition, model.township_id == self.township_id)
        if self.role is Role.village and village_level and hasattr(model, "village_id"):
            return sa.and_(condition, model.village_id == self.village_id)
        return sa.false()

    def ensure_sees(
        self, *, county_id: str | None, township_id: str | None, village_id: str | None = None
    ) -> None:
        """404 outside the caller's scope: no existence leak."""
        if not self.sees(county_id=county_id, township_id=township_id, village_id=village_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")

    def ensure_role(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(role.value for role in roles)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"role {self.role.value} may not do this (allowed: {allowed})"
            )


def issue_token(
    settings: Settings,
    *,
    subject: str,
    role: Role,
    county_id: str,
    township_id: str | None = None,
    village_id: str | None = None,
    ttl: timedelta | None = None,
) -> str:
    if role in (Role.township, Role.inspector) and not township_id:
        raise ValueError(f"a {role.value} token needs a township")
    if role is Role.village and not (village_id and township_id):
        raise ValueError("a village token needs a village and its township")
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": subject,
        "role": role.value,
        "county": county_id,
        "township": township_id,
        "village": village_id,
        "iat": now,
        "exp": now + (ttl or timedelta(hours=settings.token_ttl_hours)),
    }
    return jwt.encode(claims, settings.signing_key(), algorithm=ALGORITHM)


def decode_token(settings: Settings, token: str) -> Principal:
    """The principal in a token; raises jwt.InvalidTokenError if forged, expired or malformed."""
    claims = jwt.decode(
        token,
        settings.signing_key(),
        algorithms=[ALGORITHM],
        issuer=ISSUER,
        options={"require": ["exp", "iat", "sub", "iss"]},
    )
    try:
        return Principal(
            subject=str(claims["sub"]),
            role=Role(claims["role"]),
            county_id=str(claims["county"]),
            township_id=claims.get("township"),
            village_id=claims.get("village"),
        )
    except (KeyError, ValueError) as error:
        raise jwt.InvalidTokenError(f"token claims incomplete: {error}") from error


_bearer = HTTPBearer(auto_error=False)


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    unauthorized = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers=unauthorized)
    settings: Settings = request.app.state.settings
    try:
        return decode_token(settings, credentials.credentials)
    except jwt.ExpiredSignatureError:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "token expired", headers=unauthorized) from None
    except jwt.InvalidTokenError:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token", headers=unauthorized) from None


CurrentUser = Annotated[Principal, Depends(current_principal)]
