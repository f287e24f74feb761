"""HTTP: a township's figures for a period."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from services.reporting.database import place_directory
from services.reporting.summaries import service
from services.reporting.summaries.models import TownshipSummary
from shared.auth import Role
from shared.dates import Day
from shared.deps import CurrentUser, SessionDep
from shared.errors import Invalid, NotFound
from shared.places import find_place
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
    user: CurrentUser,
    period_from: Annotated[Day, Query(alias="from", description="First day, YYYY-MM-DD")],
    period_to: Annotated[Day, Query(alias="to", description="Last day (inclusive), YYYY-MM-DD")],
):
    """Built only from events; a township sees its own, the county every township (404 otherwise)."""
    user.ensure_role(Role.county, Role.township, Role.inspector)
    township = find_place(session, place_directory, township_id)
    if township is None or township.level != "township":
        raise NotFound()
    user.ensure_sees(county_id=township.county_id, township_id=township.place_id)
    if period_to < period_from:
        raise Invalid("to", "the period ends before it starts")
    return service.township_summary(
        session=session,
        township_id=township_id,
        township_name=township.name,
        period_from=period_from,
        period_to=period_to,
    )
