"""Keeping the business directory from `business.registered` and `business.updated`."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from services.alerts.directory.models import KnownBusiness
from shared.catalogue.registry import BusinessRegistered, BusinessUpdated
from shared.events import Envelope


def on_business(session: Session, envelope: Envelope, payload: BusinessRegistered | BusinessUpdated) -> None:
    """Upsert: the payload of either event is the business's whole current state."""
    business = session.get(KnownBusiness, payload.business_id) or KnownBusiness(
        business_id=payload.business_id,
        county_id=envelope.county_id,
        name=payload.name,
        kind=payload.kind,
        status=payload.status,
        updated_at=envelope.occurred_at,
    )
    business.county_id = envelope.county_id
    business.township_id = envelope.township_id
    business.village_id = payload.village_id
    business.name = payload.name
    business.kind = payload.kind
    business.status = payload.status
    business.updated_at = envelope.occurred_at
    session.add(business)


def get(session: Session, business_id: uuid.UUID) -> KnownBusiness | None:
    return session.get(KnownBusiness, business_id)
