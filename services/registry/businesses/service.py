"""Registering and reading businesses; registration emits `business.registered`."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Session, select

from services.registry.businesses.models import Business, BusinessCreate
from services.registry.businesses.rules import initial_risk_level
from services.registry.places.service import get_village
from shared import audit
from shared.auth import Principal, Role
from shared.clock import Clock, local_today
from shared.events import BusinessRegistered
from shared.outbox import emit
from shared.web import DomainError

WRITERS = (Role.county, Role.township, Role.inspector)


def register(*, session: Session, principal: Principal, data: BusinessCreate, clock: Clock) -> Business:
    principal.ensure_role(*WRITERS)
    village = get_village(session=session, village_id=data.village_id)
    if village is None or not principal.sees(county_id=village.county_id, township_id=village.township_id):
        raise DomainError("village_id", f"unknown village {data.village_id!r} in your area")
    today = local_today(clock)
    registered_on = data.registered_on or today
    if registered_on > today:
        raise DomainError("registered_on", "cannot be in the future")
    business = Business(
        county_id=village.county_id,
        township_id=village.township_id or "",
        village_id=village.id,
        name=data.name,
        kind=data.kind,
        operator=data.operator,
        address=data.address,
        risk_level=initial_risk_level(data.kind),
        registered_on=registered_on,
        created_by=principal.actor,
    )
    session.add(business)
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        action="business.registered",
        entity="business",
        entity_id=str(business.id),
        county_id=business.county_id,
        township_id=business.township_id,
        detail=data.model_dump(mode="json"),
    )
    emit(
        session,
        BusinessRegistered(
            business_id=business.id,
            name=business.name,
            kind=business.kind,
            village_id=business.village_id,
            operator=business.operator,
            address=business.address,
            risk_level=business.risk_level,  # type: ignore[arg-type]
            status=business.status,  # type: ignore[arg-type]
            registered_on=business.registered_on,
        ),
        county_id=business.county_id,
        township_id=business.township_id,
        actor=principal.actor,
    )
    session.commit()
    return business


def _scoped(principal: Principal) -> sa.ColumnElement[bool]:
    condition = Business.county_id == principal.county_id
    if principal.role is Role.county:
        return condition
    if principal.role in (Role.township, Role.inspector):
        return sa.and_(condition, Business.township_id == principal.township_id)
    if principal.role is Role.village:
        return sa.and_(condition, Business.village_id == principal.village_id)
    return sa.false()


def get(*, session: Session, principal: Principal, business_id: uuid.UUID) -> Business | None:
    return session.exec(select(Business).where(Business.id == business_id, _scoped(principal))).first()


def search(
    *,
    session: Session,
    principal: Principal,
    offset: int,
    limit: int,
    kind: str | None = None,
    village_id: str | None = None,
    text: str | None = None,
) -> tuple[list[Business], int]:
    conditions = [_scoped(principal)]
    if kind:
        conditions.append(Business.kind == kind)
    if village_id:
        conditions.append(Business.village_id == village_id)
    if text:
        conditions.append(Business.name.contains(text))  # type: ignore[attr-defined]
    total = session.exec(select(sa.func.count()).select_from(Business).where(*conditions)).one()
    rows = session.exec(
        select(Business).where(*conditions).order_by(Business.name, Business.id).offset(offset).limit(limit)
    ).all()
    return list(rows), int(total)
