"""The half-year (or any period's) work summary of a township or the county: the figures it is
written from (`collect`; writer.py writes the document) and the editable sections that hold
people's own words."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from services.reporting.documents.models import SectionsUpdate, SummarySection
from services.reporting.statistics import service
from services.reporting.statistics.models import Statistics
from services.reporting.statistics.periods import Period, date_range
from services.reporting.statistics.scope import Scope
from shared import changes
from shared.auth import Principal, Role
from shared.catalogue.reporting import SummarySectionEdited
from shared.db import utcnow
from shared.errors import Invalid
from shared.rules import dated_by

EDITORS = (Role.county, Role.township)
MAX_SECTION = 20_000


@dataclass(frozen=True)
class SummaryData:
    scope: Scope
    period: Period
    current: Statistics
    previous: Statistics
    monthly_inspections: list[tuple[str, float, str]]  # (month label, count, link)
    sections: dict[str, str]


def collect(session: Session, scope: Scope, period: Period) -> SummaryData:
    """The summary's figures; a period (or the one before it, for comparison) that the rule tables
    do not reach is answered 422 naming the period's parameter."""
    with dated_by(period.field):
        return _collect(session, scope, period)


def _collect(session: Session, scope: Scope, period: Period) -> SummaryData:
    monthly = []
    for first, last in period.months():
        month = date_range(first, last)
        count = service.value(session, "inspections.total", scope, month)
        monthly.append((f"{first.month}月", count, service.link(scope, month, "inspections.total")))
    return SummaryData(
        scope=scope,
        period=period,
        current=service.statistics(session, scope, period),
        previous=service.statistics(session, scope, period.previous()),
        monthly_inspections=monthly,
        sections=sections(session, scope.place_id, period.code),
    )


def sections(session: Session, place_id: str, period: str) -> dict[str, str]:
    table = SummarySection.__table__
    rows = session.execute(
        sa.select(table.c.section, table.c.text).where(table.c.place_id == place_id, table.c.period == period)
    )
    return {section: text for section, text in rows}


def section_rows(session: Session, place_id: str, period: str) -> list[SummarySection]:
    table = SummarySection.__table__
    query = sa.select(SummarySection).where(table.c.place_id == place_id, table.c.period == period)
    return list(session.execute(query).scalars())


def _new_section(scope: Scope, period: Period, name: str, text: str, actor: str) -> SummarySection:
    return SummarySection(
        place_id=scope.place_id,
        period=period.code,
        section=name,
        county_id=scope.county_id,
        township_id=scope.township_id,
        text=text,
        updated_by=actor,
    )


def save_sections(
    *, session: Session, principal: Principal, scope: Scope, period: Period, data: SectionsUpdate
) -> list[SummarySection]:
    """Write the free-text sections of a place's summary for a period (an empty text removes one)."""
    principal.ensure_role(*EDITORS)
    for name, text in data.sections.items():
        if len(text.strip()) > MAX_SECTION:
            raise Invalid(f"sections.{name}", f"at most {MAX_SECTION} characters")
    for name, text in data.sections.items():
        text = text.strip()
        existing = session.get(SummarySection, (scope.place_id, period.code, name))
        section = existing or _new_section(scope, period, name, text, principal.actor)
        if not text:
            if existing is not None:
                session.delete(existing)
        elif existing is None:
            session.add(section)
        else:
            existing.text, existing.updated_by = text, principal.actor
            existing.updated_at = utcnow()
            session.add(existing)
        changes.record(
            session,
            section,
            actor=principal.actor,
            action="summary.section_edit",
            detail={"characters": len(text)},
            event=SummarySectionEdited(
                place_id=scope.place_id, period=period.code, section=name, characters=len(text)
            ),
        )
    session.commit()
    return section_rows(session, scope.place_id, period.code)
