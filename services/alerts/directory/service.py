"""Keeping the business directory from `business.registered` and `business.updated`, and the
banquet directory from `banquet.filed`."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from services.alerts.directory.models import KnownBanquet, KnownBusiness
from shared.catalogue.registry import BanquetFiled, BusinessRegistered, BusinessUpdated
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


def on_banquet_filed(session: Session, envelope: Envelope, payload: BanquetFiled) -> None:
    banquet = session.get(KnownBanquet, payload.banquet_id) or KnownBanquet(
        banquet_id=payload.banquet_id,
        county_id=envelope.county_id,
        village_id=payload.village_id,
        updated_at=envelope.occurred_at,
    )
    banquet.county_id = envelope.county_id
    banquet.township_id = envelope.township_id
    banquet.village_id = payload.village_id
    banquet.updated_at = envelope.occurred_at
    session.add(banquet)


def get_banquet(session: Session, banquet_id: uuid.UUID) -> KnownBanquet | None:
    return session.get(KnownBanquet, banquet_id)
