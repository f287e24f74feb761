"""Commands on the register of businesses: registration, corrections, licences and status. Every
change is audited and announced through the outbox in the same transaction (`changes.record`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlmodel import Session, select

from services.registry.businesses.models import (
    Business,
    BusinessCreate,
    BusinessStatus,
    BusinessUpdate,
    InvestigationDecision,
    Licence,
    LicenceIn,
    LicenceKind,
    StatusChange,
)
from services.registry.places.models import Place
from services.registry.places.service import village_in_scope
from services.registry.rules import risk_level
from shared import changes
from shared.auth import Principal, Role, load_in_scope
from shared.catalogue.registry import (
    BusinessRegistered,
    BusinessStatusChanged,
    BusinessUpdated,
    LicenceRecorded,
)
from shared.clock import Clock, local_today
from shared.db import utcnow
from shared.errors import Invalid
from shared.rules import dated_by

WRITERS = (Role.county, Role.township, Role.inspector)
DECIDERS = (Role.county, Role.township)


def check_licence_numbers(
    *,
    session: Session,
    county_id: str,
    licences: dict[LicenceKind, LicenceIn],
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
        risk_level=business.risk_level,
        status=business.status,
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
    *, session: Session, principal: Principal, business_id: uuid.UUID, kind: LicenceKind, data: LicenceIn
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
    set_status(session, business, data.status, data.reason, principal.actor)
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
    wanted: BusinessStatus = "active" if data.decision == "reactivate" else "closed"
    if business.status != wanted:
        set_status(session, business, wanted, data.reason, principal.actor)
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


def set_status(
    session: Session, business: Business, new_status: BusinessStatus, reason: str, actor: str
) -> None:
    """Move the business to `new_status` and record it; the caller has checked who may."""
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
            status=new_status,
            previous_status=previous,
            reason=reason,
        ),
    )
