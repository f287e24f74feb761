"""Keeping and reading the business directory."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Session, select

from services.inspection.directory.models import DirectoryBusiness
from shared.auth import Principal, Role
from shared.db import utcnow
from shared.events import BusinessRegistered, Envelope


def apply_business_registered(session: Session, envelope: Envelope, payload: BusinessRegistered) -> None:
    """Insert or refresh the business; replays and re-deliveries leave one row."""
    business = session.get(DirectoryBusiness, payload.business_id)
    if business is None:
        business = DirectoryBusiness(
            id=payload.business_id,
            county_id=envelope.county_id,
            township_id=envelope.township_id or "",
            name=payload.name,
            kind=payload.kind,
            risk_level=payload.risk_level,
            status=payload.status,
            registered_on=payload.registered_on,
        )
    business.village_id = payload.village_id
    business.name = payload.name
    business.kind = payload.kind
    business.risk_level = payload.risk_level
    business.status = payload.status
    business.updated_at = utcnow()
    session.add(business)


def scope_condition(principal: Principal) -> sa.ColumnElement[bool]:
    condition = DirectoryBusiness.county_id == principal.county_id
    if principal.role is Role.county:
        return condition
    if principal.role in (Role.township, Role.inspector):
        return sa.and_(condition, DirectoryBusiness.township_id == principal.township_id)
    if principal.role is Role.village:
        return sa.and_(condition, DirectoryBusiness.village_id == principal.village_id)
    return sa.false()


def get(*, session: Session, principal: Principal, business_id: uuid.UUID) -> DirectoryBusiness | None:
    query = select(DirectoryBusiness).where(DirectoryBusiness.id == business_id, scope_condition(principal))
    return session.exec(query).first()


def search(
    *, session: Session, principal: Principal, offset: int, limit: int, township_id: str | None = None
) -> tuple[list[DirectoryBusiness], int]:
    conditions = [scope_condition(principal)]
    if township_id:
        conditions.append(DirectoryBusiness.township_id == township_id)
    total = session.exec(select(sa.func.count()).select_from(DirectoryBusiness).where(*conditions)).one()
    rows = session.exec(
        select(DirectoryBusiness)
        .where(*conditions)
        .order_by(DirectoryBusiness.name, DirectoryBusiness.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(total)
