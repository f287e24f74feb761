"""HTTP: alerts raised from other services' events, grouped, and resolved by the township."""

from __future__ import annotations

import uuid
from typing import Literal

from services.alerts.signals import service
from services.alerts.signals.models import AlertGroup, AlertRead, Resolve
from shared.catalogue.alerts import AlertKind
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.paging import Limit, Offset, Page
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/alerts", tags=["alerts"])


@router.get("", response_model=Page[AlertRead], summary="Alerts, latest first")
def list_alerts(
    session: SessionDep,
    user: CurrentUser,
    status: Literal["open", "suppressed", "resolved"] | None = None,
    kind: AlertKind | None = None,
    group_key: str | None = None,
    offset: Offset = 0,
    limit: Limit = 100,
):
    rows, total = service.list_alerts(
        session=session,
        principal=user,
        status=status,
        kind=kind,
        group_key=group_key,
        offset=offset,
        limit=limit,
    )
    items = [AlertRead.model_validate(row) for row in rows]
    return Page[AlertRead](items=items, total=total, offset=offset, limit=limit)


@router.get("/groups", response_model=list[AlertGroup], summary="Open alerts grouped by what they are about")
def alert_groups(session: SessionDep, user: CurrentUser):
    return service.groups(session=session, principal=user)


@router.post("/{alert_id}/resolve", response_model=AlertRead, summary="Resolve an alert")
def resolve(alert_id: uuid.UUID, data: Resolve, session: SessionDep, user: CurrentUser, clock: ClockDep):
    return service.resolve(
        session=session, principal=user, alert_id=alert_id, note=data.note, now=clock.now()
    )
