"""HTTP: special and holiday campaigns and their progress per township."""

from __future__ import annotations

import uuid

from fastapi import status

from services.inspection.campaigns import service
from services.inspection.campaigns.models import CampaignCreate, CampaignProgress, CampaignRead
from shared.clock import local_today
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/campaigns", tags=["campaigns"])


@router.post(
    "", response_model=CampaignRead, status_code=status.HTTP_201_CREATED, summary="Launch a campaign"
)
def launch(data: CampaignCreate, session: SessionDep, user: CurrentUser):
    """County office only. Emits `campaign.launched`."""
    return service.launch(session=session, principal=user, data=data)


@router.get("", response_model=list[CampaignRead], summary="Campaigns concerning the caller")
def list_campaigns(session: SessionDep, user: CurrentUser, clock: ClockDep, active: bool = False):
    return service.search(session=session, principal=user, active_on=local_today(clock) if active else None)


@router.get("/{campaign_id}", response_model=CampaignRead, summary="One campaign")
def get_campaign(campaign_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    return service.get(session=session, principal=user, campaign_id=campaign_id)


@router.get("/{campaign_id}/progress", response_model=CampaignProgress, summary="Done against target")
def progress(campaign_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    return service.progress(session=session, principal=user, campaign_id=campaign_id)
