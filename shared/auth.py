"""Bearer tokens and place scoping.

A token is identity's access token (ES256 or EdDSA, its `kid` naming a key of identity's JWKS,
verified by `shared.tokens.JwksVerifier`), or in development and tests an HS256 JWT carrying a role
and a place (with the place's parents), issued by `shian token`; production refuses the latter.
Every query and command is scoped to the caller's place: outside it the answer is 404, the same as
for a record that does not exist, so a township never learns what another has.

A token is only a credential for places the service knows (`KnownPlaces`): a well-signed token for
a county, township or village that is not in the county definition is refused with 401, so a token
minted for a made-up place can neither read nor create anything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import jwt
import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, select

from shared.errors import Forbidden, NotFound
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.db import Database
    from shared.events import Envelope
    from shared.tokens import JwksVerifier

ALGORITHM = "HS256"
ISSUER = "shian"
"""The one 404 message of every service: a record outside the caller's scope and one that does not
exist must read the same."""


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
            raise NotFound()

    def ensure_role(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(role.value for role in roles)
            raise Forbidden(f"role {self.role.value} may not do this (allowed: {allowed})")


class _Identified(Protocol):
    """A table model with an `id` column (a SQLModel field: on the class, the column)."""

    id: Any


Scoped = TypeVar("Scoped", bound=_Identified)


def load_in_scope(
    session: Session,
    principal: Principal,
    model: type[Scoped],
    record_id: Any,
    *,
    village_level: bool = True,
    for_update: bool = False,
) -> Scoped:
    """The record with this id if the caller may see it, else NotFound: the same answer whether it
    does not exist or lies outside the caller's place, so no answer leaks a record's existence.
    `for_update` locks the row for the command that changes it (PostgreSQL; SQLite is serial)."""
    query = select(model).where(
        model.id == record_id,
        principal.scope(model, village_level=village_level),
    )
    if for_update:
        query = query.with_for_update()
    found = session.exec(query).first()
    if found is None:
        raise NotFound()
    return found


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


# --- identity's tokens --------------------------------------------------------------------------

IDENTITY_ALGORITHMS = frozenset({"ES256", "EdDSA"})


def identity_key_id(token: str) -> str | None:
    """The `kid` of a token that claims to be identity's (ES256 or EdDSA with a kid), else None."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        return None
    kid = header.get("kid")
    if header.get("alg") in IDENTITY_ALGORITHMS and isinstance(kid, str) and kid:
        return kid
    return None


def verify_token(
    settings: Settings, verifier: JwksVerifier | None, token: str, *, fetch: bool = True
) -> Principal:
    """The principal of a bearer token: identity's, checked against its JWKS (and the revoked
    sessions), or `shian token`'s HS256 outside production. Raises jwt.InvalidTokenError
    (jwt.ExpiredSignatureError when expired). `fetch=False` never waits for identity's JWKS (code on
    the event loop): a token of a key not cached yet is refused."""
    if identity_key_id(token) is not None:
        from shared.tokens import InvalidToken, TokenExpired, principal_of

        if verifier is None:
            raise jwt.InvalidTokenError("this service verifies no identity tokens")
        try:
            claims = verifier.verify(token, fetch=fetch)
        except TokenExpired:
            raise jwt.ExpiredSignatureError("token expired") from None
        except InvalidToken as error:
            raise jwt.InvalidTokenError(error.reason) from None
        principal = principal_of(claims)
        if principal is None:  # a machine's token: its scopes name no place a route could scope by
            raise jwt.InvalidTokenError("a machine token is not taken by this service")
        return principal
    if settings.env == "production":
        raise jwt.InvalidTokenError("only identity's tokens are taken in production")
    return decode_token(settings, token)


def token_verifier(app: Any) -> JwksVerifier | None:
    """The verifier of identity's tokens an app holds (shared.web sets it), if any."""
    return getattr(getattr(app, "state", None), "token_verifier", None)


class Placed(Protocol):
    """A record that lives at a place (a business in any service's directory)."""

    @property
    def county_id(self) -> str: ...

    @property
    def township_id(self) -> str | None: ...

    @property
    def village_id(self) -> str | None: ...


def incident_reaches(reported: Envelope, incident_village_id: str | None, record: Placed) -> bool:
    """Whether the incident `reported` (its envelope) may act on `record`: one inside the incident's
    township, and for a village coordinator's report inside their village. Alerts refuses a
    report naming anything else; the services reacting to `incident.reported` check it again, so
    an event saying otherwise suspends or flags nothing the reporter could not read."""
    if record.county_id != reported.county_id or record.township_id != reported.township_id:
        return False
    reporter_role = (reported.actor or "").partition(":")[0]
    return reporter_role != Role.village.value or record.village_id == incident_village_id


# --- the places a token may name -------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceFacts:
    level: str
    county_id: str
    parent_id: str | None


_generation = 0
_generation_lock = threading.Lock()


def places_changed() -> None:
    """Tell every place cache of this process that the places changed (called after a commit that
    wrote places), so a moved or new village is seen at the next request, not after the TTL."""
    global _generation
    with _generation_lock:
        _generation += 1


class KnownPlaces:
    """The places a service knows (the registry's `places`, the others' `place_directory`), read
    once into memory and reread when they change: checking a token costs a few dict lookups.

    The snapshot is reread when `places_changed()` was called in this process or after `ttl`
    seconds (a change applied by another replica); a place missing from a fresh snapshot is looked
    up by primary key, so a place defined a moment ago is never refused."""

    def __init__(
        self,
        db: Database,
        table: sa.Table,
        *,
        id_column: str = "place_id",
        ttl: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._table = table
        self._id = table.c[id_column]
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._places: dict[str, PlaceFacts] = {}
        self._loaded_at = float("-inf")
        self._generation = -1
        self.reloads = 0  # how often the snapshot was read (for tests and measurements)
        self.lookups = 0  # primary-key lookups of places missing from a fresh snapshot

    def _query(self) -> sa.Select:
        columns = self._table.c
        return sa.select(self._id, columns.level, columns.county_id, columns.parent_id)

    def _fresh(self) -> dict[str, PlaceFacts]:
        if self._generation == _generation and self._monotonic() - self._loaded_at < self._ttl:
            return self._places
        with self._lock:
            generation = _generation
            if self._generation == generation and self._monotonic() - self._loaded_at < self._ttl:
                return self._places
            with self._db.read_session() as session:
                rows = session.execute(self._query()).all()
            self._places = {row[0]: PlaceFacts(row[1], row[2], row[3]) for row in rows}
            self._loaded_at = self._monotonic()
            self._generation = generation
            self.reloads += 1
            return self._places

    def _find(self, places: dict[str, PlaceFacts], place_ids: Iterable[str]) -> dict[str, PlaceFacts]:
        missing = [place_id for place_id in place_ids if place_id not in places]
        if not missing:
            return places
        with self._db.read_session() as session:
            rows = session.execute(self._query().where(self._id.in_(missing))).all()
        self.lookups += 1
        if not rows:
            return places
        with self._lock:
            for row in rows:
                self._places[row[0]] = PlaceFacts(row[1], row[2], row[3])
            return self._places

    def empty(self) -> bool:
        """Whether no place is defined yet (the county definition may be bootstrapped)."""
        return not self._fresh()

    def knows(self, principal: Principal) -> bool:
        """Whether the principal's county, township and village exist here, each inside the
        other, and the role names the places it needs (and no others)."""
        wanted = [principal.county_id, principal.township_id, principal.village_id]
        if principal.role in (Role.county, Role.ops):
            shape_ok = principal.township_id is None and principal.village_id is None
        elif principal.role in (Role.township, Role.inspector):
            shape_ok = principal.township_id is not None and principal.village_id is None
        else:
            shape_ok = principal.township_id is not None and principal.village_id is not None
        if not shape_ok:
            return False
        places = self._find(self._fresh(), [place_id for place_id in wanted if place_id])
        county = places.get(principal.county_id)
        if county is None or county.level != "county" or county.county_id != principal.county_id:
            return False
        if principal.township_id is not None:
            township = places.get(principal.township_id)
            if (
                township is None
                or township.level != "township"
                or township.county_id != principal.county_id
                or township.parent_id != principal.county_id
            ):
                return False
        if principal.village_id is not None:
            village = places.get(principal.village_id)
            if (
                village is None
                or village.level != "village"
                or village.county_id != principal.county_id
                or village.parent_id != principal.township_id
            ):
                return False
        return True


def knows_place(request: Request, principal: Principal) -> bool:
    """Whether the app serving the request knows the principal's places. An app that did not say
    which places it knows accepts no token at all (fail closed)."""
    known: KnownPlaces | None = getattr(request.app.state, "known_places", None)
    return known is not None and known.knows(principal)


_bearer = HTTPBearer(auto_error=False)
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def signed_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The principal of a well-signed, unexpired token, whatever place it names: only for the
    bootstrap of the county definition; every other route takes `current_principal`."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers=_UNAUTHORIZED)
    settings: Settings = request.app.state.settings
    try:  # a sync dependency runs in a worker thread: it may fetch identity's JWKS
        return verify_token(settings, token_verifier(request.app), credentials.credentials)
    except jwt.ExpiredSignatureError:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "token expired", headers=_UNAUTHORIZED) from None
    except jwt.InvalidTokenError:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token", headers=_UNAUTHORIZED) from None


def unknown_place() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, "the token's place is not in this county", headers=_UNAUTHORIZED
    )


def current_principal(
    request: Request, principal: Annotated[Principal, Depends(signed_principal)]
) -> Principal:
    """The caller: a valid token for a place this service knows (401 otherwise)."""
    if not knows_place(request, principal):
        raise unknown_place()
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]
SignedUser = Annotated[Principal, Depends(signed_principal)]
