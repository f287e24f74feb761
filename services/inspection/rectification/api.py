"""HTTP: rectification orders (their deadlines, overdue and escalated flags, verification)."""

from __future__ import annotations

import uuid

from services.inspection.rectification import service
from services.inspection.rectification.models import OrderRead, OrderStatus
from shared.auth import InspectionReader
from shared.deps import SessionDep
from shared.paging import Limit, Offset, Page
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/rectifications", tags=["rectification"])


@router.get("", response_model=Page[OrderRead], summary="Rectification orders, nearest deadline first")
def list_orders(
    session: SessionDep,
    user: InspectionReader,
    offset: Offset = 0,
    limit: Limit = 50,
    status: OrderStatus | None = None,
    business_id: uuid.UUID | None = None,
    overdue: bool | None = None,
):
    items, total = service.search(
        session=session,
        principal=user,
        offset=offset,
        limit=limit,
        status_=status,
        business_id=business_id,
        overdue=overdue,
    )
    return Page[OrderRead](
        items=[service.to_read(order) for order in items], total=total, offset=offset, limit=limit
    )


@router.get("/{order_id}", response_model=OrderRead, summary="One rectification order")
def get_order(order_id: uuid.UUID, session: SessionDep, user: InspectionReader):
    return service.to_read(service.get(session=session, principal=user, order_id=order_id))
