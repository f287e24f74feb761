"""Filing rural banquets; the filing rules decide whether it was required, late, or needs guidance."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.registry.banquets.models import Banquet, BanquetAssessment, BanquetCreate, Occasion
from services.registry.places.service import village_in_scope
from services.registry.rules import banquet_filing
from shared import changes
from shared.auth import Principal, Role
from shared.catalogue.registry import BanquetFiled, BanquetGuidanceDue, BanquetLate
from shared.clock import Clock, local_today

FILERS = (Role.county, Role.township, Role.village)


def scope_condition(principal: Principal) -> sa.ColumnElement[bool]:
    return principal.scope(Banquet)


def file(*, session: Session, principal: Principal, data: BanquetCreate, clock: Clock) -> Banquet:
    principal.ensure_role(*FILERS)
    village = village_in_scope(session=session, principal=principal, village_id=data.village_id)
    filed_on = local_today(clock)
    rule = banquet_filing.rule_for(village.county_id, filed_on)
    verdict = banquet_filing.assess(
        people=data.people,
        tables=data.tables,
        occasion=data.occasion,
        held_on=data.held_on,
        filed_on=filed_on,
        rule=rule,
    )
    banquet = Banquet(
        county_id=village.county_id,
        township_id=village.township_id or "",
        village_id=village.id,
        host=data.host,
        occasion=data.occasion,
        held_on=data.held_on,
        venue=data.venue,
        tables=data.tables,
        people=data.people,
        cook=data.cook.model_dump(mode="json"),
        helpers=[helper.model_dump(mode="json") for helper in data.helpers],
        food_sources=list(data.food_sources),
        filed_on=filed_on,
        filing_required=verdict.filing_required,
        late=verdict.late,
        guidance_due=verdict.guidance_due,
        filed_by=principal.actor,
    )
    session.add(banquet)
    session.flush()
    common = {"banquet_id": banquet.id, "village_id": banquet.village_id, "host": banquet.host}
    changes.record(
        session,
        banquet,
        actor=principal.actor,
        action="banquet.filed",
        detail=data.model_dump(mode="json"),
        event=BanquetFiled(
            **common,
            held_on=banquet.held_on,
            filed_on=banquet.filed_on,
            people=banquet.people,
            tables=banquet.tables,
            filing_required=banquet.filing_required,
            late=banquet.late,
            guidance_due=banquet.guidance_due,
        ),
    )
    if banquet.late:
        late = BanquetLate(
            **common, held_on=banquet.held_on, filed_on=banquet.filed_on, people=banquet.people
        )
        changes.record(session, banquet, actor=principal.actor, event=late)
    if banquet.guidance_due:
        guidance = BanquetGuidanceDue(**common, held_on=banquet.held_on, people=banquet.people)
        changes.record(session, banquet, actor=principal.actor, event=guidance)
    session.commit()
    return banquet


def assess(
    *, principal: Principal, occasion: Occasion, held_on: date, people: int, tables: int, clock: Clock
) -> BanquetAssessment:
    """The verdict `file` would record for these figures today, under the caller's county's rule."""
    principal.ensure_role(*FILERS)
    filed_on = local_today(clock)
    rule = banquet_filing.rule_for(principal.county_id, filed_on)
    verdict = banquet_filing.assess(
        people=people, tables=tables, occasion=occasion, held_on=held_on, filed_on=filed_on, rule=rule
    )
    return BanquetAssessment(
        filing_required=verdict.filing_required,
        late=verdict.late,
        guidance_due=verdict.guidance_due,
        days_ahead=(held_on - filed_on).days,
        notice_days=rule.notice_days,
        immediate=occasion in rule.immediate_occasions,
        filing_min_people=rule.filing_min_people,
        filing_min_tables=rule.filing_min_tables,
        guidance_min_people=rule.guidance_min_people,
    )


def search(
    *,
    session: Session,
    principal: Principal,
    offset: int,
    limit: int,
    village_id: str | None = None,
    held_from: date | None = None,
    held_to: date | None = None,
) -> tuple[list[Banquet], int]:
    conditions = [scope_condition(principal)]
    if village_id:
        conditions.append(col(Banquet.village_id) == village_id)
    if held_from:
        conditions.append(col(Banquet.held_on) >= held_from)
    if held_to:
        conditions.append(col(Banquet.held_on) <= held_to)
    total = session.exec(select(sa.func.count()).select_from(Banquet).where(*conditions)).one()
    rows = session.exec(
        select(Banquet)
        .where(*conditions)
        .order_by(col(Banquet.held_on).desc(), col(Banquet.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(total)
