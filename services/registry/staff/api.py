"""HTTP: food handlers of a business and their health certificates."""

from __future__ import annotations

import uuid

from fastapi import status

from services.registry.staff import service
from services.registry.staff.models import CertificateIn, CertificateRead, StaffCreate, StaffRead, StaffUpdate
from shared.clock import local_today
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.routing import ServiceRouter

router = ServiceRouter(tags=["staff"])


@router.post(
    "/businesses/{business_id}/staff",
    response_model=StaffRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a food handler (with a health certificate)",
)
def add_staff(
    business_id: uuid.UUID, data: StaffCreate, session: SessionDep, user: CurrentUser, clock: ClockDep
):
    """Emits `staff.recorded` and, with a certificate, `certificate.recorded`."""
    member, _certificate = service.add_staff(
        session=session, principal=user, business_id=business_id, data=data, clock=clock
    )
    return _one(session, user, member.business_id, member.id, clock)


@router.get(
    "/businesses/{business_id}/staff", response_model=list[StaffRead], summary="Food handlers of a business"
)
def list_staff(business_id: uuid.UUID, session: SessionDep, user: CurrentUser, clock: ClockDep):
    return service.list_staff(
        session=session, principal=user, business_id=business_id, today=local_today(clock)
    )


@router.patch(
    "/staff/{staff_id}", response_model=StaffRead, summary="Change position, or record that a handler left"
)
def update_staff(
    staff_id: uuid.UUID, data: StaffUpdate, session: SessionDep, user: CurrentUser, clock: ClockDep
):
    member = service.update_staff(session=session, principal=user, staff_id=staff_id, data=data)
    return _one(session, user, member.business_id, member.id, clock)


@router.post(
    "/staff/{staff_id}/certificates",
    response_model=CertificateRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a renewed health certificate",
)
def renew_certificate(
    staff_id: uuid.UUID, data: CertificateIn, session: SessionDep, user: CurrentUser, clock: ClockDep
):
    """Emits `certificate.recorded`; the previous certificate is superseded."""
    return service.renew_certificate(
        session=session, principal=user, staff_id=staff_id, data=data, clock=clock
    )


def _one(
    session: SessionDep, user: CurrentUser, business_id: uuid.UUID, staff_id: uuid.UUID, clock: ClockDep
) -> StaffRead:
    listed = service.list_staff(
        session=session, principal=user, business_id=business_id, today=local_today(clock)
    )
    return next(item for item in listed if item.id == staff_id)
