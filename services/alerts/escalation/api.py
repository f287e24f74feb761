"""HTTP: the escalation chain of a county (its default) or of a township (its own).

County users read and set any in their county; township users and inspectors read their own
township's chain in force."""

from __future__ import annotations

from services.alerts.database import place_directory
from services.alerts.escalation import service
from services.alerts.escalation.models import PolicyBody, PolicyRead
from shared.auth import Role
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.errors import NotFound
from shared.places import find_place
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/escalation/policies", tags=["escalation"])


@router.get("/{scope_id}", response_model=PolicyRead, summary="The chain in force for a county or township")
def get_policy(scope_id: str, session: SessionDep, user: CurrentUser, clock: ClockDep):
    user.ensure_role(Role.county, Role.township, Role.inspector)
    township_id: str | None = None
    if scope_id != user.county_id:
        place = find_place(session, place_directory, scope_id)
        if place is None or place.level != "township":
            raise NotFound()
        user.ensure_sees(county_id=place.county_id, township_id=place.place_id)
        township_id = scope_id
    elif user.role is not Role.county:
        raise NotFound()
    steps, source, policy = service.policy_for(
        session, county_id=user.county_id, township_id=township_id, now=clock.now()
    )
    return PolicyRead(
        scope_id=scope_id,
        county_id=user.county_id,
        township_id=township_id,
        source=source,
        steps=steps,
        version=policy.version if policy else None,
        updated_by=policy.updated_by if policy else None,
        updated_at=policy.updated_at if policy else None,
    )


@router.put("/{scope_id}", response_model=PolicyRead, summary="Set a county's default or a township's chain")
def put_policy(scope_id: str, body: PolicyBody, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """County users only. Incidents already escalating keep the chain they started with."""
    policy = service.put_policy(
        session=session,
        principal=user,
        scope_id=scope_id,
        body=body,
        clock=clock,
        place_directory=place_directory,
    )
    return PolicyRead(
        scope_id=policy.scope_id,
        county_id=policy.county_id,
        township_id=policy.township_id,
        source="township" if policy.township_id else "county",
        steps=body.steps,
        version=policy.version,
        updated_by=policy.updated_by,
        updated_at=policy.updated_at,
    )
