"""Campaigns: launched by the county office, counted by the inspections recorded under them."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.inspection.campaigns.models import (
    Campaign,
    CampaignCreate,
    CampaignProgress,
    TownshipProgress,
)
from services.inspection.checklists.templates import kind_map
from services.inspection.database import place_directory
from services.inspection.inspections.models import Inspection
from shared import changes
from shared.auth import Principal, Role
from shared.catalogue.inspection import CampaignLaunched
from shared.errors import Invalid, NotFound

LAUNCHERS = (Role.county,)
READERS = (Role.county, Role.township, Role.inspector)


def launch(*, session: Session, principal: Principal, data: CampaignCreate) -> Campaign:
    principal.ensure_role(*LAUNCHERS)
    if data.ends_on < data.starts_on:
        raise Invalid("ends_on", "before starts_on")
    unknown_kinds = sorted(set(data.focus_business_kinds) - set(kind_map()))
    if unknown_kinds:
        raise Invalid("focus_business_kinds", f"unknown business kinds: {', '.join(unknown_kinds)}")
    if data.targets:
        townships = set(
            session.execute(
                sa.select(place_directory.c.place_id).where(
                    place_directory.c.place_id.in_(list(data.targets)),
                    place_directory.c.level == "township",
                    place_directory.c.county_id == principal.county_id,
                )
            ).scalars()
        )
        unknown = sorted(set(data.targets) - townships)
        if unknown:
            raise Invalid("targets", f"unknown townships: {', '.join(unknown)}")
        if any(count < 0 for count in data.targets.values()):
            raise Invalid("targets", "a target is a count of inspections, 0 or more")
    campaign = Campaign(
        county_id=principal.county_id,
        name=data.name.strip(),
        kind=data.kind,
        holiday=data.holiday,
        focus_foods=data.focus_foods,
        focus_business_kinds=data.focus_business_kinds,
        focus_places=data.focus_places,
        targets=data.targets,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        created_by=principal.actor,
    )
    session.add(campaign)
    session.flush()
    changes.record(
        session,
        campaign,
        actor=principal.actor,
        action="campaign.launched",
        detail=data.model_dump(mode="json"),
        event=CampaignLaunched(
            campaign_id=campaign.id,
            name=campaign.name,
            kind=data.kind,
            holiday=data.holiday,
            focus_foods=data.focus_foods,
            focus_business_kinds=data.focus_business_kinds,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            targets=data.targets,
        ),
    )
    session.commit()
    return campaign


def get(*, session: Session, principal: Principal, campaign_id: uuid.UUID) -> Campaign:
    principal.ensure_role(*READERS)
    campaign = _concerning(session, principal, campaign_id)
    if campaign is None:
        raise NotFound()
    return campaign


def _concerning(session: Session, principal: Principal, campaign_id: uuid.UUID) -> Campaign | None:
    """The campaign if it is of the caller's county and concerns them. Campaigns are county-wide
    records (no township column), so the place scope of `load_in_scope` does not apply."""
    campaign = session.exec(
        select(Campaign).where(Campaign.id == campaign_id, Campaign.county_id == principal.county_id)
    ).first()
    return campaign if campaign is not None and _concerns(campaign, principal) else None


def _concerns(campaign: Campaign, principal: Principal) -> bool:
    """A county-wide campaign (no targets) concerns every township; else only those with a target."""
    if principal.role is Role.county or not campaign.targets:
        return True
    return principal.township_id in campaign.targets


def search(*, session: Session, principal: Principal, active_on: date | None = None) -> list[Campaign]:
    principal.ensure_role(*READERS)
    query = select(Campaign).where(Campaign.county_id == principal.county_id)
    if active_on is not None:
        query = query.where(Campaign.starts_on <= active_on, Campaign.ends_on >= active_on)
    rows = session.exec(query.order_by(col(Campaign.starts_on).desc())).all()
    return [campaign for campaign in rows if _concerns(campaign, principal)]


def check_inspection(
    *, session: Session, principal: Principal, campaign_id: uuid.UUID, township_id: str, on: date
) -> Campaign:
    """The campaign an inspection is recorded under: known, running that day, for that township.
    A campaign that does not concern the caller is unknown to them (its dates are not theirs)."""
    campaign = _concerning(session, principal, campaign_id)
    if campaign is None:
        raise Invalid("campaign_id", "unknown campaign")
    if campaign.targets and township_id not in campaign.targets:
        raise Invalid("campaign_id", "the campaign does not cover this township")
    if not campaign.starts_on <= on <= campaign.ends_on:
        raise Invalid("campaign_id", f"the campaign runs {campaign.starts_on} to {campaign.ends_on}")
    return campaign


def progress(*, session: Session, principal: Principal, campaign_id: uuid.UUID) -> CampaignProgress:
    campaign = get(session=session, principal=principal, campaign_id=campaign_id)
    township_of = col(Inspection.township_id)
    done: dict[str, int] = {
        township: count
        for township, count in session.execute(
            sa.select(township_of, sa.func.count())
            .where(col(Inspection.campaign_id) == campaign.id)
            .group_by(township_of)
        ).all()
    }
    townships = sorted(set(campaign.targets) | set(done))
    if principal.role is not Role.county:
        townships = [township for township in townships if township == principal.township_id]
    rows = []
    for township in townships:
        target = int(campaign.targets.get(township, 0))
        count = int(done.get(township, 0))
        rows.append(
            TownshipProgress(
                township_id=township,
                target=target,
                done=count,
                ratio=round(count / target, 4) if target else None,
            )
        )
    return CampaignProgress(campaign_id=campaign.id, name=campaign.name, townships=rows)
