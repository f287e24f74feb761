"""Loading and reading places; every change emits `place.defined` for the other services."""

from __future__ import annotations

from sqlmodel import Session, select

from services.registry.places.county import county_file, read_county
from services.registry.places.models import CountyDefinition, Place, VillageUpdate
from shared import changes
from shared.auth import Principal, Role, load_in_scope, places_changed
from shared.catalogue.registry import PlaceDefined
from shared.errors import Invalid, NotFound
from shared.settings import Settings


def load_county(*, session: Session, definition: CountyDefinition, actor: str) -> int:
    """Create or update every place in the definition; returns the places changed."""
    ids = [definition.id]
    for township in definition.townships:
        ids.append(township.id)
        ids.extend(village.id for village in township.villages)
    duplicates = {place_id for place_id in ids if ids.count(place_id) > 1}
    if duplicates:
        raise Invalid("townships", f"place ids used twice: {', '.join(sorted(duplicates))}")

    changed = 0
    changed += _upsert(
        session,
        actor,
        Place(
            id=definition.id, level="county", name=definition.name, parent_id=None, county_id=definition.id
        ),
    )
    for township in definition.townships:
        changed += _upsert(
            session,
            actor,
            Place(
                id=township.id,
                level="township",
                name=township.name,
                parent_id=definition.id,
                county_id=definition.id,
                township_id=township.id,
            ),
        )
        for village in township.villages:
            changed += _upsert(
                session,
                actor,
                Place(
                    id=village.id,
                    level="village",
                    name=village.name,
                    parent_id=township.id,
                    county_id=definition.id,
                    township_id=township.id,
                    coordinator=village.coordinator,
                    information_officer=village.information_officer,
                ),
            )
    session.commit()
    places_changed()
    return changed


def deployment_county_id(settings: Settings) -> str:
    """The county this deployment serves: SHIAN_COUNTY_ID, else the id in the county file
    (SHIAN_COUNTY_FILE, else the shipped demo county), the file `shian token` issues tokens from."""
    if settings.county_id:
        return settings.county_id
    return read_county(county_file(settings)).id


def _upsert(session: Session, actor: str, wanted: Place) -> int:
    current = session.get(Place, wanted.id)
    fields = ("level", "name", "parent_id", "county_id", "township_id", "coordinator", "information_officer")
    if current is not None:
        if current.county_id != wanted.county_id or current.level != wanted.level:
            raise Invalid(
                "id", f"place {wanted.id} already exists as a {current.level} of {current.county_id}"
            )
        if all(getattr(current, name) == getattr(wanted, name) for name in fields):
            return 0
        for name in fields:
            setattr(current, name, getattr(wanted, name))
        place = current
        action = "place.updated"
    else:
        session.add(wanted)
        place = wanted
        action = "place.created"
    session.flush()
    changes.record(
        session,
        place,
        actor=actor,
        action=action,
        detail={name: getattr(place, name) for name in fields},
        event=PlaceDefined(place_id=place.id, level=place.level, name=place.name, parent_id=place.parent_id),
    )
    return 1


def list_places(*, session: Session, principal: Principal) -> list[Place]:
    query = select(Place).where(Place.county_id == principal.county_id).order_by(Place.level, Place.id)
    places = session.exec(query).all()
    if principal.role is Role.county:
        return list(places)
    return [
        place
        for place in places
        if place.level == "county"
        or principal.sees(
            county_id=place.county_id,
            township_id=place.township_id,
            village_id=place.id if place.level == "village" else None,
        )
        or (principal.role is Role.village and place.id == principal.township_id)
    ]


def get_village(*, session: Session, village_id: str) -> Place | None:
    place = session.get(Place, village_id)
    return place if place is not None and place.level == "village" else None


def village_in_scope(*, session: Session, principal: Principal, village_id: str) -> Place:
    """The village named in a request body, if the caller's area holds it; else a 422 on village_id."""
    village = get_village(session=session, village_id=village_id)
    if village is None or not principal.sees(
        county_id=village.county_id, township_id=village.township_id, village_id=village.id
    ):
        raise Invalid("village_id", f"unknown village {village_id!r} in your area")
    return village


def update_village(*, session: Session, principal: Principal, village_id: str, data: VillageUpdate) -> Place:
    """County users rename a village or change its coordinator or information officer."""
    principal.ensure_role(Role.county)
    village = load_in_scope(session, principal, Place, village_id, for_update=True)
    if village.level != "village":
        raise NotFound()
    changed = data.model_dump(exclude_unset=True)
    if not changed:
        raise Invalid("name", "nothing to change")
    if "name" in changed and changed["name"] is None:
        raise Invalid("name", "a village needs a name")
    wanted = Place(**{**village.model_dump(), **changed})
    _upsert(session, principal.actor, wanted)
    session.commit()
    places_changed()
    return village
