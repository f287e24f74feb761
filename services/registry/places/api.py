"""HTTP: read the places in scope; county users load or edit the county definition."""

from __future__ import annotations

from fastapi import Request, status

from services.registry.places import service
from services.registry.places.models import CountyDefinition, PlaceRead, VillageUpdate
from shared.auth import RegistryReader, Role, SignedUser, knows_place, unknown_place
from shared.deps import CurrentUser, SessionDep
from shared.errors import Invalid
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/places", tags=["places"])


@router.get("", response_model=list[PlaceRead], summary="Places in the caller's scope")
def list_places(session: SessionDep, user: RegistryReader) -> list:
    return service.list_places(session=session, principal=user)


@router.put("", status_code=status.HTTP_200_OK, summary="Load or update the county definition")
def load_county(
    definition: CountyDefinition, request: Request, session: SessionDep, user: SignedUser
) -> dict[str, int]:
    """County users only; places are created or updated, never deleted, and each change is
    announced as `place.defined`. While no place is defined, only a county token for the county
    this deployment serves (SHIAN_COUNTY_ID, else the county file's id) may load it; afterwards
    the token's place must be defined, as on every other route (401 otherwise)."""
    if not knows_place(request, user) and not (
        request.app.state.known_places.empty()
        and user.role is Role.county
        and user.county_id == service.deployment_county_id(request.app.state.settings)
        and user.township_id is None
        and user.village_id is None
    ):
        raise unknown_place()
    user.ensure_role(Role.county)
    if definition.id != user.county_id:
        raise Invalid("id", f"you may only define your own county ({user.county_id})")
    changed = service.load_county(session=session, definition=definition, actor=user.actor)
    return {"changed": changed}


@router.patch("/villages/{village_id}", response_model=PlaceRead, summary="Edit a village")
def update_village(village_id: str, data: VillageUpdate, session: SessionDep, user: CurrentUser):
    """County users only (name, coordinator, information officer); emits `place.defined`."""
    return service.update_village(session=session, principal=user, village_id=village_id, data=data)
