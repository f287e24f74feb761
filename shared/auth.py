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

import logging
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
    from shared.federation import OidcVerifier
    from shared.tokens import JwksVerifier

log = logging.getLogger("shian.auth")

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
    # a machine account of identity (client credentials): no place of its own; only the routes
    # that grant one of its scopes take it (`requires_scope`), every other route answers 403
    machine = "machine"


PERSON_ROLES = (Role.county, Role.township, Role.inspector, Role.village, Role.ops)


class MachineScope(StrEnum):
    """What a machine account may be given, and what each opens in the domain services. A route
    takes a machine only through `requires_scope`; on such a route the machine acts as its
    county's office (every township), so each scope is read-only but `registry:import`."""

    registry_read = "registry:read"  # GET /places, /businesses, /businesses/{id}, grades, /exports
    registry_import = "registry:import"  # POST /imports/businesses and its rejection reports
    inspection_read = "inspection:read"  # GET /inspections, /rectifications and one of each
    alerts_read = "alerts:read"  # GET /incidents, /incidents/stats, one incident and its timeline
    reporting_read = "reporting:read"  # statistics, summaries, the work summary, LIVES export


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    county_id: str
    township_id: str | None = None
    village_id: str | None = None
    # a machine account's scopes and client id (identity's `scope`, `client_id`); empty for people
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None

    @property
    def actor(self) -> str:
        if self.client_id is not None:  # a machine, also while it acts as its county's office
            return f"machine:{self.client_id}"
        return f"{self.role.value}:{self.subject}"

    @property
    def is_machine(self) -> bool:
        return self.client_id is not None

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
    if role is Role.machine:
        raise ValueError("a machine's token comes from identity (POST /token), with its scopes")
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
    if claims.get("role") == Role.machine.value:  # machines are identity's accounts only
        raise jwt.InvalidTokenError("a development token cannot be a machine's")
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
    settings: Settings,
    verifier: JwksVerifier | None,
    token: str,
    *,
    fetch: bool = True,
    federation: OidcVerifier | None = None,
    places: Callable[[str], PlaceFacts | None] | None = None,
) -> Principal:
    """The principal of a bearer token: a province provider's (`federation`, its place resolved by
    `places`), identity's, checked against its JWKS (and the revoked sessions), or `shian token`'s
    HS256 outside production. Raises jwt.InvalidTokenError (jwt.ExpiredSignatureError when
    expired). `fetch=False` never waits on a network fetch or the database (code on the event
    loop): a token of a key not cached yet is refused."""
    from shared.tokens import InvalidToken, TokenExpired

    if federation is not None and federation.claims_issuer(token):
        from shared.federation import UnmappedClaims

        try:
            if places is None:  # identity, say: not a service that takes the province's tokens
                raise InvalidToken("this service takes no federated tokens")
            return federation.principal(token, places, fetch=fetch)
        except TokenExpired:
            raise jwt.ExpiredSignatureError("token expired") from None
        except InvalidToken as error:
            if fetch:  # once per request: the event loop's early look (fetch=False) keeps quiet
                level = logging.WARNING if isinstance(error, UnmappedClaims) else logging.INFO
                log.log(level, "federated token refused: %s", error.reason)
            raise jwt.InvalidTokenError(error.reason) from None
    if identity_key_id(token) is not None:
        from shared.tokens import machine_principal_of, principal_of

        if verifier is None:
            raise jwt.InvalidTokenError("this service verifies no identity tokens")
        try:
            claims = verifier.verify(token, fetch=fetch)
        except TokenExpired:
            raise jwt.ExpiredSignatureError("token expired") from None
        except InvalidToken as error:
            raise jwt.InvalidTokenError(error.reason) from None
        principal = principal_of(claims) or machine_principal_of(claims)
        if principal is None:
            raise jwt.InvalidTokenError("the token names neither a person's role nor a machine")
        return principal
    if settings.env == "production":
        raise jwt.InvalidTokenError("only identity's tokens are taken in production")
    return decode_token(settings, token)


def token_verifier(app: Any) -> JwksVerifier | None:
    """The verifier of identity's tokens an app holds (shared.web sets it), if any."""
    return getattr(getattr(app, "state", None), "token_verifier", None)


def federation_verifier(app: Any) -> OidcVerifier | None:
    """The verifier of the province provider's tokens an app holds, if federation is on."""
    return getattr(getattr(app, "state", None), "federation", None)


def verify_bearer(app: Any, token: str, *, fetch: bool = True, settings: Settings | None = None) -> Principal:
    """`verify_token` with what the app holds: its settings (unless given), verifiers and known
    places."""
    state = getattr(app, "state", None)
    known: KnownPlaces | None = getattr(state, "known_places", None)
    places = None if known is None else (lambda place_id: known.facts(place_id, lookup=fetch))
    return verify_token(
        settings or state.settings,  # type: ignore[union-attr]
        token_verifier(app),
        token,
        fetch=fetch,
        federation=federation_verifier(app),
        places=places,
    )


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

    def facts(self, place_id: str, *, lookup: bool = True) -> PlaceFacts | None:
        """One place, from memory; with `lookup` also from the database (a snapshot too old, a
        place defined a moment ago). `lookup=False` never touches the database (the event loop)."""
        if not lookup:
            return self._places.get(place_id)
        return self._find(self._fresh(), [place_id]).get(place_id)

    def knows(self, principal: Principal) -> bool:
        """Whether the principal's county, township and village exist here, each inside the
        other, and the role names the places it needs (and no others)."""
        wanted = [principal.county_id, principal.township_id, principal.village_id]
        if principal.role in (Role.county, Role.ops, Role.machine):
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
    try:  # a sync dependency runs in a worker thread: it may fetch identity's JWKS
        return verify_bearer(request.app, credentials.credentials)
    except jwt.ExpiredSignatureError:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "token expired", headers=_UNAUTHORIZED) from None
    except jwt.InvalidTokenError:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token", headers=_UNAUTHORIZED) from None


def unknown_place() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, "the token's place is not in this county", headers=_UNAUTHORIZED
    )


def known_principal(
    request: Request, principal: Annotated[Principal, Depends(signed_principal)]
) -> Principal:
    """A valid token for a place this service knows (401 otherwise), a person's or a machine's."""
    if not knows_place(request, principal):
        raise unknown_place()
    return principal


def current_principal(principal: Annotated[Principal, Depends(known_principal)]) -> Principal:
    """The caller, a person: a machine's token is refused (403) on every route that does not
    grant one of its scopes (`requires_scope`)."""
    if principal.role is Role.machine:
        raise Forbidden("a machine account may not do this (no scope of it opens this route)")
    return principal


def requires_scope(scope: MachineScope) -> Callable[..., Principal]:
    """A route dependency: people as `current_principal` gives them, and a machine whose token
    carries `scope`, which then acts as its county's office on this route (the route's own role
    checks and place scoping apply as to the county). Another machine: 403."""

    def caller(principal: Annotated[Principal, Depends(known_principal)]) -> Principal:
        if principal.role is not Role.machine:
            return principal
        if scope.value not in principal.scopes:
            raise Forbidden(f"a machine account needs the scope {scope.value} for this")
        return Principal(
            subject=principal.subject,
            role=Role.county,
            county_id=principal.county_id,
            scopes=principal.scopes,
            client_id=principal.client_id,
        )

    caller.__name__ = f"requires_{scope.name}"
    return caller


CurrentUser = Annotated[Principal, Depends(current_principal)]
# the callers of routes that a machine with the scope may also call
RegistryReader = Annotated[Principal, Depends(requires_scope(MachineScope.registry_read))]
RegistryImporter = Annotated[Principal, Depends(requires_scope(MachineScope.registry_import))]
InspectionReader = Annotated[Principal, Depends(requires_scope(MachineScope.inspection_read))]
AlertsReader = Annotated[Principal, Depends(requires_scope(MachineScope.alerts_read))]
ReportingReader = Annotated[Principal, Depends(requires_scope(MachineScope.reporting_read))]
SignedUser = Annotated[Principal, Depends(signed_principal)]
