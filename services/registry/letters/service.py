"""Signing target-responsibility letters, counted by the summaries (one per party and year)."""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.registry.businesses.models import Business
from services.registry.letters.models import LetterCreate, PartyKind, ResponsibilityLetter
from services.registry.places.service import village_in_scope
from shared import changes
from shared.auth import Principal, Role, load_in_scope
from shared.catalogue.registry import LetterSigned
from shared.clock import Clock, local_today
from shared.errors import Invalid, NotFound

SIGNERS = (Role.county, Role.township)


def scope_condition(principal: Principal) -> sa.ColumnElement[bool]:
    return principal.scope(ResponsibilityLetter)


def sign(*, session: Session, principal: Principal, data: LetterCreate, clock: Clock) -> ResponsibilityLetter:
    principal.ensure_role(*SIGNERS)
    wanted, other = (
        ("village_id", "business_id") if data.party_kind == "village" else ("business_id", "village_id")
    )
    if getattr(data, wanted) is None:
        raise Invalid(wanted, f"required for a {data.party_kind} letter")
    if getattr(data, other) is not None:
        raise Invalid(other, f"does not belong on a {data.party_kind} letter")
    if data.signed_on > local_today(clock):
        raise Invalid("signed_on", "cannot be in the future")
    party = _party(session, principal, data)
    duplicate = session.exec(
        select(ResponsibilityLetter.id).where(
            ResponsibilityLetter.township_id == party.township_id,
            ResponsibilityLetter.party_kind == data.party_kind,
            ResponsibilityLetter.party_id == party.party_id,
            ResponsibilityLetter.year == data.year,
        )
    ).first()
    if duplicate is not None:
        raise Invalid("year", f"a letter for {data.year} with this {data.party_kind} is already on file")
    letter = ResponsibilityLetter(
        county_id=party.county_id,
        township_id=party.township_id,
        village_id=party.village_id,
        party_kind=data.party_kind,
        party_id=party.party_id,
        business_id=data.business_id,
        year=data.year,
        signed_on=data.signed_on,
        signatory=data.signatory,
        created_by=principal.actor,
    )
    session.add(letter)
    session.flush()
    changes.record(
        session,
        letter,
        actor=principal.actor,
        action="letter.signed",
        detail=data.model_dump(mode="json"),
        event=LetterSigned(
            letter_id=letter.id,
            party_kind=data.party_kind,
            village_id=party.village_id if data.party_kind == "village" else None,
            business_id=data.business_id,
            year=data.year,
            signed_on=data.signed_on,
        ),
    )
    session.commit()
    return letter


class _Party(NamedTuple):
    """Where a letter belongs: its party's place, and the party's id (a village's, a business's)."""

    county_id: str
    township_id: str
    village_id: str | None
    party_id: str


def _party(session: Session, principal: Principal, data: LetterCreate) -> _Party:
    """The village or business the letter is signed with, if in the caller's area (else a 422)."""
    if data.village_id is not None:
        village = village_in_scope(session=session, principal=principal, village_id=data.village_id)
        return _Party(village.county_id, village.township_id or "", village.id, village.id)
    try:
        business = load_in_scope(session, principal, Business, data.business_id)
    except NotFound:
        raise Invalid("business_id", "unknown business in your area") from None
    return _Party(business.county_id, business.township_id, business.village_id, str(business.id))


def search(
    *, session: Session, principal: Principal, year: int | None, party_kind: PartyKind | None
) -> list[ResponsibilityLetter]:
    conditions = [scope_condition(principal)]
    if year is not None:
        conditions.append(col(ResponsibilityLetter.year) == year)
    if party_kind is not None:
        conditions.append(col(ResponsibilityLetter.party_kind) == party_kind)
    query = select(ResponsibilityLetter).where(*conditions)
    order = (col(ResponsibilityLetter.year).desc(), col(ResponsibilityLetter.signed_on))
    return list(session.exec(query.order_by(*order)).all())
