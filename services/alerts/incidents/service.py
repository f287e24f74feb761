"""Reporting and reading incidents; a report is classified and emits `incident.reported`."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Session, select

from services.alerts.database import place_directory
from services.alerts.incidents.models import Incident, IncidentCreate
from services.alerts.incidents.rules import classify, rule_for
from shared import audit
from shared.auth import Principal, Role
from shared.clock import Clock, local_today
from shared.events import IncidentReported
from shared.outbox import emit
from shared.places import find_place
from shared.web import DomainError

REPORTERS = (Role.county, Role.township, Role.inspector, Role.village)


def report(*, session: Session, principal: Principal, data: IncidentCreate, clock: Clock) -> Incident:
    principal.ensure_role(*REPORTERS)
    township = find_place(session, place_directory, data.township_id)
    if (
        township is None
        or township.level != "township"
        or not principal.sees(
            county_id=township.county_id, township_id=township.place_id, village_id=data.village_id
        )
    ):
        raise DomainError("township_id", f"unknown township {data.township_id!r} in your area")
    if principal.role is Role.village and data.village_id != principal.village_id:
        raise DomainError("village_id", "a village coordinator reports for their own village")
    if data.village_id is not None:
        village = find_place(session, place_directory, data.village_id)
        if village is None or village.level != "village" or village.parent_id != township.place_id:
            raise DomainError("village_id", f"unknown village {data.village_id!r} in {data.township_id}")
    reported_at = clock.now()
    if data.onset_at is not None and data.onset_at > reported_at:
        raise DomainError("onset_at", "cannot be in the future")

    level = classify(
        ill=data.ill_count,
        deaths=data.death_count,
        place_kind=data.place_kind,
        crosses_province=data.crosses_province,
        rule=rule_for(township.county_id, local_today(clock)),
    )
    incident = Incident(
        county_id=township.county_id,
        township_id=township.place_id,
        village_id=data.village_id,
        business_id=data.business_id,
        place_kind=data.place_kind,
        ill_count=data.ill_count,
        death_count=data.death_count,
        crosses_province=data.crosses_province,
        level=level,
        description=data.description,
        onset_at=data.onset_at,
        reported_at=reported_at,
        reported_by=principal.actor,
    )
    session.add(incident)
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        action="incident.reported",
        entity="incident",
        entity_id=str(incident.id),
        county_id=incident.county_id,
        township_id=incident.township_id,
        detail={**data.model_dump(mode="json"), "level": level},
    )
    emit(
        session,
        IncidentReported(
            incident_id=incident.id,
            village_id=incident.village_id,
            business_id=incident.business_id,
            place_kind=incident.place_kind,
            ill_count=incident.ill_count,
            death_count=incident.death_count,
            level=level,
            reported_at=reported_at,
            description=incident.description,
        ),
        county_id=incident.county_id,
        township_id=incident.township_id,
        actor=principal.actor,
        occurred_at=reported_at,
    )
    session.commit()
    return incident


def scope_condition(principal: Principal) -> sa.ColumnElement[bool]:
    condition = Incident.county_id == principal.county_id
    if principal.role is Role.county:
        return condition
    if principal.role in (Role.township, Role.inspector):
        return sa.and_(condition, Incident.township_id == principal.township_id)
    if principal.role is Role.village:
        return sa.and_(condition, Incident.village_id == principal.village_id)
    return sa.false()


def get(*, session: Session, principal: Principal, incident_id: uuid.UUID) -> Incident | None:
    return session.exec(
        select(Incident).where(Incident.id == incident_id, scope_condition(principal))
    ).first()


def list_open(*, session: Session, principal: Principal, offset: int, limit: int) -> list[Incident]:
    query = (
        select(Incident)
        .where(scope_condition(principal), Incident.status != "closed")
        .order_by(Incident.reported_at.desc())
        .offset(offset)
        .limit(limit)  # type: ignore[attr-defined]
    )
    return list(session.exec(query).all())
