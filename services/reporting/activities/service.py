"""Recording publicity events, trainings and village assessments: a row, its audit line and its
event in one transaction, after every check (a refused request writes nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session

from services.reporting.activities.models import (
    AssessmentSet,
    PlaceFields,
    PublicityCreate,
    PublicityEvent,
    PublicityRead,
    Training,
    TrainingCreate,
    TrainingRead,
    VillageAssessment,
)
from services.reporting.database import place_directory
from services.reporting.statistics.scope import resolve_scope
from shared import changes
from shared.auth import Principal, Role
from shared.catalogue.reporting import PublicityRecorded, TrainingRecorded, VillageAssessed
from shared.clock import Clock, local_today
from shared.errors import Invalid, NotFound
from shared.paging import Page
from shared.places import find_place

WRITERS = (Role.county, Role.township)
READERS = (Role.county, Role.township, Role.inspector)

Read = TypeVar("Read", bound=BaseModel)


@dataclass(frozen=True)
class Place:
    county_id: str
    township_id: str
    village_id: str | None


def resolve_place(session: Session, principal: Principal, fields: PlaceFields) -> Place:
    """The township (and village) an activity belongs to, checked against the caller's scope."""
    township_id = principal.township_id if fields.township_id is None else fields.township_id
    if township_id is None:
        raise Invalid("township_id", "a county user names the township")
    township = find_place(session, place_directory, township_id)
    if township is None or township.level != "township":
        raise Invalid("township_id", "no such township")
    if not principal.sees(county_id=township.county_id, township_id=township.place_id):
        raise NotFound()
    village_id = fields.village_id
    if village_id is not None:
        village = find_place(session, place_directory, village_id)
        if village is None or village.level != "village" or village.parent_id != township.place_id:
            raise Invalid("village_id", "no such village in the township")
    return Place(county_id=township.county_id, township_id=township.place_id, village_id=village_id)


def _not_in_future(field: str, day: date, clock: Clock) -> None:
    if day > local_today(clock):
        raise Invalid(field, "the day is in the future")


def record_publicity(
    *, session: Session, principal: Principal, data: PublicityCreate, clock: Clock
) -> PublicityEvent:
    principal.ensure_role(*WRITERS)
    place = resolve_place(session, principal, data)
    _not_in_future("held_on", data.held_on, clock)
    row = PublicityEvent(
        county_id=place.county_id,
        township_id=place.township_id,
        village_id=place.village_id,
        kind=data.kind,
        title=data.title,
        held_on=data.held_on,
        venue=data.venue,
        banners=data.banners,
        boards=data.boards,
        leaflets=data.leaflets,
        people_consulted=data.people_consulted,
        recorded_by=principal.actor,
    )
    session.add(row)
    changes.record(
        session,
        row,
        actor=principal.actor,
        action="publicity.record",
        detail={"title": data.title, "held_on": data.held_on.isoformat()},
        event=PublicityRecorded(
            activity_id=row.id,
            kind=data.kind,
            title=data.title,
            held_on=data.held_on,
            village_id=place.village_id,
            venue=data.venue,
            banners=data.banners,
            boards=data.boards,
            leaflets=data.leaflets,
            people_consulted=data.people_consulted,
        ),
    )
    session.commit()
    return row


def record_training(
    *, session: Session, principal: Principal, data: TrainingCreate, clock: Clock
) -> Training:
    principal.ensure_role(*WRITERS)
    place = resolve_place(session, principal, data)
    _not_in_future("held_on", data.held_on, clock)
    row = Training(
        county_id=place.county_id,
        township_id=place.township_id,
        village_id=place.village_id,
        title=data.title,
        audience=data.audience,
        held_on=data.held_on,
        attendees=data.attendees,
        hours=data.hours,
        recorded_by=principal.actor,
    )
    session.add(row)
    changes.record(
        session,
        row,
        actor=principal.actor,
        action="training.record",
        detail={"title": data.title, "attendees": data.attendees},
        event=TrainingRecorded(
            training_id=row.id,
            title=data.title,
            audience=data.audience,
            held_on=data.held_on,
            village_id=place.village_id,
            attendees=data.attendees,
            hours=data.hours,
        ),
    )
    session.commit()
    return row


def set_assessment(
    *,
    session: Session,
    principal: Principal,
    village_id: str,
    year: int,
    data: AssessmentSet,
    clock: Clock,
) -> VillageAssessment:
    """A village's score for a year; setting it again corrects it (one score per village and year)."""
    principal.ensure_role(*WRITERS)
    village = resolve_scope(session, principal, village_id, level="village")
    if village.township_id is None:  # the directory holds every village under its township
        raise NotFound()
    today = local_today(clock)
    if not 2000 <= year <= today.year:
        raise Invalid("year", f"the year must be between 2000 and {today.year}")
    _not_in_future("assessed_on", data.assessed_on, clock)
    if data.assessed_on.year < year:
        raise Invalid("assessed_on", "a year is assessed during or after it")
    table = VillageAssessment.__table__
    row = session.execute(
        sa.select(VillageAssessment).where(table.c.village_id == village_id, table.c.year == year)
    ).scalar_one_or_none()
    if row is None:
        row = VillageAssessment(
            county_id=village.county_id,
            township_id=village.township_id,
            village_id=village_id,
            year=year,
            score=data.score,
            assessed_on=data.assessed_on,
            note=data.note,
            recorded_by=principal.actor,
        )
    else:
        row.score, row.assessed_on, row.note, row.recorded_by = (
            data.score,
            data.assessed_on,
            data.note,
            principal.actor,
        )
    session.add(row)
    changes.record(
        session,
        row,
        actor=principal.actor,
        action="village.assess",
        detail={"village_id": village_id, "year": year, "score": data.score},
        event=VillageAssessed(
            assessment_id=row.id,
            village_id=village_id,
            year=year,
            score=data.score,
            assessed_on=data.assessed_on,
        ),
    )
    session.commit()
    return row


def _scoped(query: sa.Select, table: sa.Table, principal: Principal) -> sa.Select:
    principal.ensure_role(*READERS)
    query = query.where(table.c.county_id == principal.county_id)
    if principal.role is not Role.county:
        query = query.where(table.c.township_id == principal.township_id)
    return query


def _page(session: Session, query: sa.Select, read: type[Read], *, limit: int, offset: int) -> Page[Read]:
    """One page of `query` (already scoped and ordered), each row read as `read`."""
    total = session.execute(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    items = [read.model_validate(row) for row in session.execute(query.limit(limit).offset(offset)).scalars()]
    return Page(items=items, total=total, offset=offset, limit=limit)


def list_publicity(*, session: Session, principal: Principal, limit: int, offset: int) -> Page[PublicityRead]:
    table = PublicityEvent.__table__
    query = _scoped(sa.select(PublicityEvent), table, principal).order_by(table.c.held_on.desc())
    return _page(session, query, PublicityRead, limit=limit, offset=offset)


def list_trainings(*, session: Session, principal: Principal, limit: int, offset: int) -> Page[TrainingRead]:
    table = Training.__table__
    query = _scoped(sa.select(Training), table, principal).order_by(table.c.held_on.desc())
    return _page(session, query, TrainingRead, limit=limit, offset=offset)


def list_assessments(*, session: Session, principal: Principal, year: int | None) -> list[VillageAssessment]:
    table = VillageAssessment.__table__
    query = _scoped(sa.select(VillageAssessment), table, principal)
    if year is not None:
        query = query.where(table.c.year == year)
    return list(session.execute(query.order_by(table.c.year.desc(), table.c.village_id)).scalars())
