"""Keeping and reading the business directory, inspection's projection of the registry's register
(plus the incidents alerts reports against a business, which start grade blackouts)."""

from __future__ import annotations

import uuid
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.inspection.directory.models import DirectoryBusiness
from shared import projection
from shared.auth import Placed, Principal, incident_reaches
from shared.catalogue.alerts import IncidentReported
from shared.catalogue.registry import (
    BusinessRegistered,
    BusinessRiskChanged,
    BusinessStatusChanged,
    BusinessUpdated,
    LicenceRecorded,
)
from shared.clock import to_local
from shared.db import utcnow
from shared.events import Envelope
from shared.parking import Unresolved, parks, release

DIRECTORY: sa.Table = DirectoryBusiness.__table__


def apply_business_registered(session: Session, envelope: Envelope, payload: BusinessRegistered) -> None:
    """Insert or refresh the business; replays and re-deliveries leave one row. A refresh keeps the
    row's place and registration day: only `business.updated` moves a business."""
    key = {"id": payload.business_id}
    refreshed = {
        "village_id": payload.village_id,
        "name": payload.name,
        "kind": payload.kind,
        "risk_level": payload.risk_level,
        "status": payload.status,
        "updated_at": utcnow(),
    }
    if not projection.update(session, DIRECTORY, key, refreshed):
        registered = {
            "county_id": envelope.county_id,
            "township_id": envelope.township_id or "",
            "registered_on": payload.registered_on,
        }
        projection.upsert(session, DIRECTORY, key, refreshed | registered)
    release(session, "business", payload.business_id)


def placed(business: DirectoryBusiness) -> Placed:
    """The business as `incident_reaches` reads its place. `Placed` declares writable attributes that
    may be None, which the type checker does not match with columns that never are."""
    return cast(Placed, business)


def _known(session: Session, business_id: uuid.UUID) -> DirectoryBusiness:
    """The business as stored now, or Unresolved: its `business.registered` has not arrived yet
    (another stream, or a retry after later entries), so the event is parked until it does. Read
    afresh, as the handlers write with statements that the session's copies do not see."""
    business = session.get(DirectoryBusiness, business_id, populate_existing=True)
    if business is None:
        raise Unresolved("business", business_id)
    return business


def _set(session: Session, business_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Set columns of a known business (parked, as in `_known`, while it is unknown)."""
    if not projection.update(session, DIRECTORY, {"id": business_id}, values | {"updated_at": utcnow()}):
        raise Unresolved("business", business_id)


@parks
def apply_business_updated(session: Session, envelope: Envelope, payload: BusinessUpdated) -> None:
    """The payload is the whole current state; a move to another village may change the township."""
    values: dict[str, Any] = {
        "village_id": payload.village_id,
        "name": payload.name,
        "kind": payload.kind,
        "risk_level": payload.risk_level,
        "status": payload.status,
    }
    if envelope.township_id:
        values["township_id"] = envelope.township_id
    _set(session, payload.business_id, values)


@parks
def apply_status_changed(session: Session, envelope: Envelope, payload: BusinessStatusChanged) -> None:
    _set(session, payload.business_id, {"status": payload.status})


@parks
def apply_risk_changed(session: Session, envelope: Envelope, payload: BusinessRiskChanged) -> None:
    _set(session, payload.business_id, {"risk_level": payload.risk_level})


@parks
def apply_licence_recorded(session: Session, envelope: Envelope, payload: LicenceRecorded) -> None:
    """A food operating permit with a new number is a new licence (a renewal keeps its number)."""
    if payload.licence_kind != "food_permit":
        return
    business = _known(session, payload.business_id)
    if business.permit_number == payload.number:
        return
    _set(session, business.id, {"permit_number": payload.number, "licensed_on": payload.issued_on})


@parks
def apply_incident_reported(session: Session, envelope: Envelope, payload: IncidentReported) -> None:
    """Remember the newest incident a business caused (its grade blackout starts that day)."""
    if payload.business_id is None:
        return
    business = _known(session, payload.business_id)
    if not incident_reaches(envelope, payload.village_id, placed(business)):
        return
    reported_on = to_local(payload.reported_at).date()
    if business.last_incident_on is None or reported_on > business.last_incident_on:
        _set(session, business.id, {"last_incident_on": reported_on})


def scope_condition(principal: Principal) -> sa.ColumnElement[bool]:
    return principal.scope(DirectoryBusiness)


def get(*, session: Session, principal: Principal, business_id: uuid.UUID) -> DirectoryBusiness | None:
    """The business if the caller's scope holds it (a primary-key lookup, then the scope check)."""
    business = session.get(DirectoryBusiness, business_id)
    if business is None or not principal.sees(
        county_id=business.county_id, township_id=business.township_id, village_id=business.village_id
    ):
        return None
    return business


def search(
    *, session: Session, principal: Principal, offset: int, limit: int, township_id: str | None = None
) -> tuple[list[DirectoryBusiness], int]:
    conditions = [scope_condition(principal)]
    if township_id:
        conditions.append(col(DirectoryBusiness.township_id) == township_id)
    total = session.exec(select(sa.func.count()).select_from(DirectoryBusiness).where(*conditions)).one()
    rows = session.exec(
        select(DirectoryBusiness)
        .where(*conditions)
        .order_by(col(DirectoryBusiness.name), col(DirectoryBusiness.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(total)
