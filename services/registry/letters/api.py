"""HTTP: target-responsibility letters between a township and its villages or businesses."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, status

from services.registry.letters import service
from services.registry.letters.models import LetterCreate, LetterRead, PartyKind
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/letters", tags=["letters"])


@router.post(
    "", response_model=LetterRead, status_code=status.HTTP_201_CREATED, summary="Record a signed letter"
)
def sign_letter(data: LetterCreate, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """County and township offices; one letter per party and year. Emits `letter.signed`."""
    return service.sign(session=session, principal=user, data=data, clock=clock)


@router.get("", response_model=list[LetterRead], summary="Letters in the caller's scope")
def list_letters(
    session: SessionDep,
    user: CurrentUser,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    party_kind: PartyKind | None = None,
):
    return service.search(session=session, principal=user, year=year, party_kind=party_kind)
