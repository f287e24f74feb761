"""HTTP: a township's figures for a period."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from services.reporting.statistics.scope import resolve_scope
from services.reporting.summaries import service
from services.reporting.summaries.models import TownshipSummary
from shared.auth import ReportingReader
from shared.dates import Day
from shared.deps import SessionDep
from shared.errors import Invalid
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/summaries", tags=["summaries"])


@router.get(
    "/{township_id}",
    response_model=TownshipSummary,
    response_model_by_alias=True,
    summary="Businesses and incidents of a township in a period",
)
def township_summary(
    township_id: str,
    session: SessionDep,
    user: ReportingReader,
    period_from: Annotated[Day, Query(alias="from", description="First day, YYYY-MM-DD")],
    period_to: Annotated[Day, Query(alias="to", description="Last day (inclusive), YYYY-MM-DD")],
):
    """Built only from events; a township sees its own, the county every township (404 otherwise)."""
    township = resolve_scope(session, user, township_id, level="township")
    if period_to < period_from:
        raise Invalid("to", "the period ends before it starts")
    return service.township_summary(
        session=session,
        township_id=township_id,
        township_name=township.name,
        period_from=period_from,
        period_to=period_to,
    )
