"""Whose figures: a county, a township or a village, and which rows of a read model belong to it."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from services.reporting.database import place_directory
from services.reporting.readmodels.registry import ReportBusiness
from shared.auth import Principal, Role
from shared.errors import NotFound
from shared.places import find_place

READERS = (Role.county, Role.township, Role.inspector)


@dataclass(frozen=True)
class Scope:
    place_id: str
    level: str
    name: str
    county_id: str
    township_id: str | None = None
    village_id: str | None = None

    def where(self, table: sa.Table | sa.Subquery) -> list[sa.ColumnElement[bool]]:
        """Conditions that keep the rows of `table` inside this place."""
        columns = table.c
        conditions: list[sa.ColumnElement[bool]] = [columns.county_id == self.county_id]
        if self.township_id is not None and "township_id" in columns:
            conditions.append(columns.township_id == self.township_id)
        if self.village_id is not None:
            if "village_id" in columns:
                conditions.append(columns.village_id == self.village_id)
            elif "business_id" in columns:
                businesses = ReportBusiness.__table__
                in_village = sa.select(businesses.c.id).where(businesses.c.village_id == self.village_id)
                conditions.append(columns.business_id.in_(in_village))
            else:
                conditions.append(sa.false())
        return conditions

    def villages(self, session: Session) -> list[tuple[str, str]]:
        """(id, name) of the villages inside this place, by name."""
        table = place_directory
        query = sa.select(table.c.place_id, table.c.name, table.c.parent_id).where(
            table.c.level == "village", table.c.county_id == self.county_id
        )
        if self.village_id is not None:
            query = query.where(table.c.place_id == self.village_id)
        elif self.township_id is not None:
            query = query.where(table.c.parent_id == self.township_id)
        return [(row.place_id, row.name) for row in session.execute(query.order_by(table.c.place_id))]

    def townships(self, session: Session) -> list[tuple[str, str]]:
        table = place_directory
        query = sa.select(table.c.place_id, table.c.name).where(
            table.c.level == "township", table.c.county_id == self.county_id
        )
        if self.township_id is not None:
            query = query.where(table.c.place_id == self.township_id)
        return [(row.place_id, row.name) for row in session.execute(query.order_by(table.c.place_id))]


def resolve_scope(
    session: Session, principal: Principal, place_id: str, *, level: str | None = None
) -> Scope:
    """The place asked for, if the caller may read it: 403 for a role that reads no figures,
    404 for an unknown place, one of another `level` than asked, or one outside the caller's
    (no existence leak)."""
    principal.ensure_role(*READERS)
    place = find_place(session, place_directory, place_id)
    if place is None or (level is not None and place.level != level):
        raise NotFound()
    township_id = village_id = None
    if place.level == "township":
        township_id = place.place_id
    elif place.level == "village":
        township_id, village_id = place.parent_id, place.place_id
    principal.ensure_sees(county_id=place.county_id, township_id=township_id, village_id=None)
    return Scope(
        place_id=place.place_id,
        level=place.level,
        name=place.name,
        county_id=place.county_id,
        township_id=township_id,
        village_id=village_id,
    )


def home_place(principal: Principal) -> str:
    """The place whose figures a user sees first: their township, else their county."""
    if principal.role in (Role.township, Role.inspector) and principal.township_id is not None:
        return principal.township_id
    return principal.county_id
