"""Reading the register of businesses: the caller's scope, search, licences and grade history."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from services.registry.businesses.models import (
    Business,
    BusinessFilter,
    BusinessRead,
    GradeRecord,
    Licence,
    LicenceRead,
)
from services.registry.rules import expiry_notice
from shared.auth import Principal


def scope_condition(principal: Principal) -> sa.ColumnElement[bool]:
    return principal.scope(Business)


def licences_of(session: Session, business_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Licence]]:
    ids = list(business_ids)
    found: dict[uuid.UUID, list[Licence]] = {business_id: [] for business_id in ids}
    if ids:
        rows = session.exec(select(Licence).where(col(Licence.business_id).in_(ids)).order_by(Licence.kind))
        for licence in rows:
            found[licence.business_id].append(licence)
    return found


def to_read(session: Session, businesses: Sequence[Business]) -> list[BusinessRead]:
    """Businesses with their licences, in one query for the whole page."""
    licences = licences_of(session, (business.id for business in businesses))
    return [
        BusinessRead.model_validate(business).model_copy(
            update={"licences": [LicenceRead.model_validate(item) for item in licences[business.id]]}
        )
        for business in businesses
    ]


SORTS: dict[str, Mapped[Any]] = {
    "name": col(Business.name),
    "registered_on": col(Business.registered_on),
    "risk_level": col(Business.risk_level),
    "kind": col(Business.kind),
}


def _licence_state_condition(state: str, today: date, warning_days: int) -> sa.ColumnElement[bool]:
    horizon = today + timedelta(days=warning_days)
    of_business = col(Licence.business_id) == Business.id

    def any_licence(*conditions: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        return sa.exists().where(of_business, *conditions)

    expires_on = col(Licence.expires_on)
    expired = any_licence(expires_on < today)
    expiring = any_licence(expires_on >= today, expires_on <= horizon)
    has_permit = any_licence(col(Licence.kind) == "food_permit")
    if state == "missing":
        return ~has_permit
    if state == "expired":
        return expired
    if state == "expiring":
        return sa.and_(expiring, ~expired)
    return sa.and_(has_permit, ~expired, ~expiring)  # valid


def search(
    *,
    session: Session,
    principal: Principal,
    offset: int,
    limit: int,
    today: date,
    filters: BusinessFilter | None = None,
) -> tuple[list[Business], int]:
    """A page of the businesses in the caller's scope, and how many match; `today` (the caller's
    local day) decides which licences are expiring or expired."""
    filters = filters or BusinessFilter()
    conditions = [scope_condition(principal)]
    for name in ("kind", "village_id", "status", "risk_level"):
        value = getattr(filters, name)
        if value:
            conditions.append(getattr(Business, name) == value)
    if filters.licence_state:
        rule = expiry_notice.rule_for(principal.county_id, today)
        conditions.append(_licence_state_condition(filters.licence_state, today, rule.licence_warning_days))
    if filters.text:
        text = filters.text.strip().lower()
        conditions.append(
            sa.or_(
                sa.func.lower(Business.name).contains(text, autoescape=True),
                sa.func.lower(Business.operator).contains(text, autoescape=True),
                sa.func.lower(Business.address).contains(text, autoescape=True),
                sa.exists().where(
                    col(Licence.business_id) == Business.id,
                    sa.func.lower(Licence.number).contains(text, autoescape=True),
                ),
            )
        )
    total = session.exec(select(sa.func.count()).select_from(Business).where(*conditions)).one()
    column = SORTS[filters.sort.lstrip("-")]
    order = column.desc() if filters.sort.startswith("-") else column.asc()
    rows = session.exec(
        select(Business).where(*conditions).order_by(order, col(Business.id)).offset(offset).limit(limit)
    ).all()
    return list(rows), int(total)


def grades(*, session: Session, business: Business) -> list[GradeRecord]:
    query = (
        select(GradeRecord)
        .where(GradeRecord.business_id == business.id)
        .order_by(col(GradeRecord.inspected_on).desc(), col(GradeRecord.id).desc())
    )
    return list(session.exec(query).all())
