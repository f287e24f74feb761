"""The register of businesses: registration, corrections, licences, status, search, and the
reactions to inspections and incidents. Every change is audited and announced through the outbox
in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from services.registry.businesses import investigation_rules, risk_level
from services.registry.businesses.models import (
    Business,
    BusinessCreate,
    BusinessFilter,
    BusinessRead,
    BusinessUpdate,
    GradeRecord,
    InvestigationDecision,
    Licence,
    LicenceIn,
    LicenceRead,
    StatusChange,
)
from services.registry.expiry import notice_rules
from services.registry.places.models import Place
from services.registry.places.service import get_village
from shared import changes
from shared.auth import Principal, Role, incident_reaches, load_in_scope
from shared.catalogue.alerts import IncidentReported
from shared.catalogue.inspection import InspectionCompleted
from shared.catalogue.registry import (
    BusinessGraded,
    BusinessRegistered,
    BusinessRiskChanged,
    BusinessStatusChanged,
    BusinessUpdated,
    LicenceRecorded,
)
from shared.clock import Clock, local_today
from shared.db import utcnow
from shared.errors import Invalid
from shared.events import Envelope
from shared.rules import dated_by

WRITERS = (Role.county, Role.township, Role.inspector)
DECIDERS = (Role.county, Role.township)
SYSTEM_ACTOR = "system:registry"


# ---- reading -------------------------------------------------------------------------------------


def scope_condition(principal: Principal) -> sa.ColumnElement[bool]:
    return principal.scope(Business)


def licences_of(session: Session, business_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Licence]]:
    ids = list(business_ids)
    found: dict[uuid.UUID, list[Licence]] = {business_id: [] for business_id in ids}
    if ids:
        rows = session.exec(select(Licence).where(Licence.business_id.in_(ids)).order_by(Licence.kind))  # type: ignore[attr-defined]
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


SORTS: dict[str, sa.ColumnElement] = {
    "name": Business.name,  # type: ignore[dict-item]
    "registered_on": Business.registered_on,  # type: ignore[dict-item]
    "risk_level": Business.risk_level,  # type: ignore[dict-item]
    "kind": Business.kind,  # type: ignore[dict-item]
}


def _licence_state_condition(state: str, today: date, warning_days: int) -> sa.ColumnElement[bool]:
    horizon = today + timedelta(days=warning_days)
    of_business = Licence.business_id == Business.id

    def any_licence(*conditions: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        return sa.exists().where(of_business, *conditions)

    expired = any_licence(Licence.expires_on < today)
    expiring = any_licence(Licence.expires_on >= today, Licence.expires_on <= horizon)
    has_permit = any_licence(Licence.kind == "food_permit")
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
    filters: BusinessFilter | None = None,
    today: date | None = None,
) -> tuple[list[Business], int]:
    filters = filters or BusinessFilter()
    conditions = [scope_condition(principal)]
    for name in ("kind", "village_id", "status", "risk_level"):
        value = getattr(filters, name)
        if value:
            conditions.append(getattr(Business, name) == value)
    if filters.licence_state:
        today = today or date.today()
        rule = notice_rules.rule_for(principal.county_id, today)
        conditions.append(_licence_state_condition(filters.licence_state, today, rule.licence_warning_days))
    if filters.text:
        text = filters.text.strip().lower()
        conditions.append(
            sa.or_(
                sa.func.lower(Business.name).contains(text, autoescape=True),
                sa.func.lower(Business.operator).contains(text, autoescape=True),
                sa.func.lower(Business.address).contains(text, autoescape=True),
                sa.exists().where(
                    Licence.business_id == Business.id,
                    sa.func.lower(Licence.number).contains(text, autoescape=True),
                ),
            )
        )
    total = session.exec(select(sa.func.count()).select_from(Business).where(*conditions)).one()
    column = SORTS[filters.sort.lstrip("-")]
    order = column.desc() if filters.sort.startswith("-") else column.asc()
    rows = session.exec(
        select(Business).where(*conditions).order_by(order, Business.id).offset(offset).limit(limit)
    ).all()
    return list(rows), int(total)


def grades(*, session: Session, business: Business) -> list[GradeRecord]:
    query = (
        select(GradeRecord)
        .where(GradeRecord.business_id == business.id)
        .order_by(GradeRecord.inspected_on.desc(), GradeRecord.id.desc())  # type: ignore[union-attr]
    )
    return list(session.exec(query).all())


# ---- validation shared by the API and the ledger import ------------------------------------------


def village_in_scope(*, session: Session, principal: Principal, village_id: str) -> Place:
    village = get_village(session=session, village_id=village_id)
    if village is None or not principal.sees(county_id=village.county_id, township_id=village.township_id):
        raise Invalid("village_id", f"unknown village {village_id!r} in your area")
    return village


def check_licence_numbers(
    *,
    session: Session,
    county_id: str,
    licences: dict[str, LicenceIn],
    business_id: uuid.UUID | None = None,
) -> None:
    """A licence number is unique per kind in the county (another business holding it is a 422)."""
    for kind, licence in licences.items():
        query = select(Licence.business_id).where(
            Licence.county_id == county_id, Licence.kind == kind, Licence.number == licence.number
        )
        holder = session.exec(query).first()
        if holder is not None and holder != business_id:
            raise Invalid(f"{kind}.number", f"{licence.number} is already registered in the county")


# ---- commands ------------------------------------------------------------------------------------


REGISTERED_FIELDS = (
    "name",
    "kind",
    "village_id",
    "operator",
    "address",
    "risk_level",
    "status",
    "registered_on",
    "latitude",
    "longitude",
)


def registered_event(business: Business | Mapping[str, Any]) -> BusinessRegistered:
    values = business if isinstance(business, Mapping) else business.model_dump()
    return BusinessRegistered(business_id=values["id"], **{name: values[name] for name in REGISTERED_FIELDS})


def updated_event(business: Business) -> BusinessUpdated:
    return BusinessUpdated(
        business_id=business.id,
        name=business.name,
        kind=business.kind,
        village_id=business.village_id,
        operator=business.operator,
        address=business.address,
        risk_level=business.risk_level,  # type: ignore[arg-type]
        status=business.status,  # type: ignore[arg-type]
        under_investigation=business.under_investigation,
        latitude=business.latitude,
        longitude=business.longitude,
    )


def licence_event(business_id: uuid.UUID, licence: Licence | Mapping[str, Any]) -> LicenceRecorded:
    values = licence if isinstance(licence, Mapping) else licence.model_dump()
    return LicenceRecorded(
        business_id=business_id,
        licence_kind=values["kind"],
        number=values["number"],
        issued_on=values["issued_on"],
        expires_on=values["expires_on"],
    )


def business_values(
    *, data: BusinessCreate, village: Place, registered_on: date, actor: str
) -> dict[str, Any]:
    """A new business's columns as plain values (the bulk import inserts these directly)."""
    return {
        "id": uuid.uuid4(),
        "county_id": village.county_id,
        "township_id": village.township_id or "",
        "village_id": village.id,
        "name": data.name,
        "kind": data.kind,
        "operator": data.operator,
        "address": data.address,
        "latitude": data.location.latitude if data.location else None,
        "longitude": data.location.longitude if data.location else None,
        "risk_level": risk_level.initial_risk_level(
            data.kind, risk_level.rule_for(village.county_id, registered_on)
        ),
        "status": "active",
        "under_investigation": False,
        "registered_on": registered_on,
        "created_at": utcnow(),
        "created_by": actor,
    }


def new_business(*, data: BusinessCreate, village: Place, registered_on: date, actor: str) -> Business:
    return Business(**business_values(data=data, village=village, registered_on=registered_on, actor=actor))


def register(*, session: Session, principal: Principal, data: BusinessCreate, clock: Clock) -> Business:
    principal.ensure_role(*WRITERS)
    village = village_in_scope(session=session, principal=principal, village_id=data.village_id)
    today = local_today(clock)
    registered_on = data.registered_on or today
    if registered_on > today:
        raise Invalid("registered_on", "cannot be in the future")
    check_licence_numbers(session=session, county_id=village.county_id, licences=data.licences())
    with dated_by("registered_on"):
        business = new_business(
            data=data, village=village, registered_on=registered_on, actor=principal.actor
        )
    session.add(business)
    session.flush()
    changes.record(
        session,
        business,
        actor=principal.actor,
        action="business.registered",
        detail=data.model_dump(mode="json"),
        event=registered_event(business),
    )
    for kind, given in data.licences().items():
        licence = Licence(
            business_id=business.id, county_id=business.county_id, kind=kind, **given.model_dump()
        )
        session.add(licence)
        changes.record(session, business, actor=principal.actor, event=licence_event(business.id, licence))
    session.commit()
    return business


def update(
    *, session: Session, principal: Principal, business_id: uuid.UUID, data: BusinessUpdate
) -> Business:
    principal.ensure_role(*WRITERS)
    business = load_in_scope(session, principal, Business, business_id, for_update=True)
    if business.status == "closed":
        raise Invalid("status", "a closed business cannot be changed")
    changed = data.model_dump(exclude_unset=True, mode="json")
    if "village_id" in changed:
        village = village_in_scope(session=session, principal=principal, village_id=data.village_id or "")
        business.township_id = village.township_id or ""
        business.village_id = village.id
    for name in ("name", "kind", "operator", "address"):
        if name in changed:
            setattr(business, name, changed[name])
    if "location" in changed:
        business.latitude = data.location.latitude if data.location else None
        business.longitude = data.location.longitude if data.location else None
    session.add(business)
    session.flush()
    changes.record(
        session,
        business,
        actor=principal.actor,
        action="business.updated",
        detail=changed,
        event=updated_event(business),
    )
    session.commit()
    return business


def record_licence(
    *, session: Session, principal: Principal, business_id: uuid.UUID, kind: str, data: LicenceIn
) -> Licence:
    """Record or renew (in place) the business's licence of this kind."""
    principal.ensure_role(*WRITERS)
    business = load_in_scope(session, principal, Business, business_id, for_update=True)
    if business.status == "closed":
        raise Invalid("status", "a closed business cannot be changed")
    check_licence_numbers(
        session=session, county_id=business.county_id, licences={kind: data}, business_id=business.id
    )
    licence = session.exec(
        select(Licence).where(Licence.business_id == business.id, Licence.kind == kind)
    ).first() or Licence(
        business_id=business.id, county_id=business.county_id, kind=kind, **data.model_dump()
    )
    for name, value in data.model_dump().items():
        setattr(licence, name, value)
    session.add(licence)
    session.flush()
    changes.record(
        session,
        business,
        actor=principal.actor,
        action="licence.recorded",
        detail={"kind": kind, **data.model_dump(mode="json")},
        event=licence_event(business.id, licence),
    )
    session.commit()
    return licence


def change_status(
    *, session: Session, principal: Principal, business_id: uuid.UUID, data: StatusChange
) -> Business:
    """Suspend, reactivate or close. A business under investigation waits for the decision."""
    principal.ensure_role(*DECIDERS)
    business = load_in_scope(session, principal, Business, business_id, for_update=True)
    if business.under_investigation:
        raise Invalid("status", "under investigation: the township decides through /decision")
    _set_status(session, business, data.status, data.reason, principal.actor)
    session.commit()
    return business


def decide_investigation(
    *, session: Session, principal: Principal, business_id: uuid.UUID, data: InvestigationDecision
) -> Business:
    """The township's decision after an incident: reactivate (clear the flag) or close."""
    principal.ensure_role(*DECIDERS)
    business = load_in_scope(session, principal, Business, business_id, for_update=True)
    if not business.under_investigation:
        raise Invalid("decision", "the business is not under investigation")
    business.under_investigation = False
    wanted = "active" if data.decision == "reactivate" else "closed"
    if business.status != wanted:
        _set_status(session, business, wanted, data.reason, principal.actor)
    session.add(business)
    session.flush()
    changes.record(
        session,
        business,
        actor=principal.actor,
        action=f"investigation.{data.decision}",
        detail=data.model_dump(),
        event=updated_event(business),
    )
    session.commit()
    return business


def _set_status(session: Session, business: Business, new_status: str, reason: str, actor: str) -> None:
    previous = business.status
    if previous == new_status:
        raise Invalid("status", f"the business is already {new_status}")
    if previous == "closed":
        raise Invalid("status", "a closed business cannot be reopened")
    business.status = new_status
    session.add(business)
    session.flush()
    changes.record(
        session,
        business,
        actor=actor,
        action="business.status_changed",
        detail={"from": previous, "to": new_status, "reason": reason},
        event=BusinessStatusChanged(
            business_id=business.id,
            status=new_status,  # type: ignore[arg-type]
            previous_status=previous,  # type: ignore[arg-type]
            reason=reason,
        ),
    )


# ---- reactions to other services' events ---------------------------------------------------------


def _business_of_event(
    session: Session, envelope: Envelope, business_id: uuid.UUID | None
) -> Business | None:
    if business_id is None:
        return None
    business = session.get(Business, business_id)
    if business is None or business.county_id != envelope.county_id:
        return None
    return business


def on_inspection_completed(session: Session, envelope: Envelope, payload: InspectionCompleted) -> None:
    """Record the dynamic grade in the history and move the risk level per the rule table."""
    business = _business_of_event(session, envelope, payload.business_id)
    if business is None:
        return
    if session.exec(select(GradeRecord).where(GradeRecord.inspection_id == payload.inspection_id)).first():
        return
    record = GradeRecord(
        business_id=business.id,
        inspection_id=payload.inspection_id,
        inspected_on=payload.inspected_on,
        kind=payload.kind,
        outcome=payload.outcome,
        action=payload.action,
        score=payload.score,
        dynamic_grade=payload.dynamic_grade,
        inspector=payload.inspector,
    )
    session.add(record)
    session.flush()
    actor = envelope.actor or SYSTEM_ACTOR
    changes.record(
        session,
        business,
        actor=actor,
        action="business.graded",
        detail=payload.model_dump(mode="json"),
        event=BusinessGraded(
            business_id=business.id,
            inspection_id=payload.inspection_id,
            inspected_on=payload.inspected_on,
            dynamic_grade=payload.dynamic_grade,
            score=payload.score,
        ),
        correlation_id=envelope.event_id,
    )
    rule = risk_level.rule_for(business.county_id, payload.inspected_on)
    recent = [grade.dynamic_grade for grade in grades(session=session, business=business)]
    new_level = risk_level.adjusted_risk_level(
        kind=business.kind,
        current=business.risk_level,  # type: ignore[arg-type]
        outcome=payload.outcome,
        action=payload.action,
        recent_grades=recent[: max(rule.lower_after_excellent_in_a_row, 1)],
        rule=rule,
    )
    if new_level == business.risk_level:
        return
    previous = business.risk_level
    business.risk_level = new_level
    session.add(business)
    reason = f"inspection {payload.inspection_id}: {payload.outcome}, grade {payload.dynamic_grade or 'none'}"
    changes.record(
        session,
        business,
        actor=actor,
        action="business.risk_changed",
        detail={"from": previous, "to": new_level, "reason": reason},
        event=BusinessRiskChanged(
            business_id=business.id,
            risk_level=new_level,
            previous_risk_level=previous,  # type: ignore[arg-type]
            reason=reason,
        ),
        correlation_id=envelope.event_id,
    )


def on_incident_reported(session: Session, envelope: Envelope, payload: IncidentReported) -> None:
    """Flag the named business under investigation; a level III or worse incident suspends it.

    Only a business inside what the reporter may act on: the incident's township, and for a
    village coordinator's report their village (alerts refuses any other, this is the second
    lock should an event say otherwise)."""
    business = _business_of_event(session, envelope, payload.business_id)
    if business is None or business.status == "closed":
        return
    if not incident_reaches(envelope, payload.village_id, business):
        return
    actor = envelope.actor or SYSTEM_ACTOR
    rule = investigation_rules.rule_for(business.county_id, payload.reported_at.date())
    if investigation_rules.suspends(payload.level, rule) and business.status == "active":
        _set_status(
            session,
            business,
            "suspended",
            f"incident {payload.incident_id} (level {payload.level}): pending the township's decision",
            actor,
        )
    if not business.under_investigation:
        business.under_investigation = True
        session.add(business)
        session.flush()
        changes.record(
            session,
            business,
            actor=actor,
            action="business.under_investigation",
            detail={"incident_id": str(payload.incident_id)},
            event=updated_event(business),
            correlation_id=envelope.event_id,
        )
