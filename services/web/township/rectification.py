"""Rectification orders as the township office follows them: nearest deadline first, overdue
marked, and how each was verified (the re-inspection that found the item put right).

An order is overdue from the day after its deadline while it is open. The inspection service
flags it when its deadline check runs; the page says so from the deadline itself, so an order is
never shown in time on the day it is not.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from services.web.client import NotFound, ServiceClient
from services.web.labels import now_beijing
from services.web.session import WebSession

PAGE_SIZE = 50
STATES = {"open": "整改中", "verified": "已复查合格", "overdue": "已逾期"}


def mark(order: dict[str, Any], today: date) -> dict[str, Any]:
    """The order with `late` (open past its deadline) and `days_left` (negative once late)."""
    deadline = date.fromisoformat(str(order["deadline"]))
    is_open = order.get("status") == "open"
    order["days_left"] = (deadline - today).days
    order["late"] = is_open and (bool(order.get("overdue")) or deadline < today)
    return order


async def names(client: ServiceClient, session: WebSession, business_ids: set[str]) -> dict[str, str]:
    """Each business's name from the registry (several at once; one out of reach is left out)."""

    async def one(business_id: str) -> tuple[str, str]:
        try:
            found = await client.get(session, "registry", f"/businesses/{business_id}")
        except NotFound:
            return business_id, "—"
        return business_id, str(found.get("name", "—"))

    return dict(await asyncio.gather(*(one(business_id) for business_id in business_ids)))


async def orders(
    client: ServiceClient, session: WebSession, state: str, page: int
) -> tuple[list[dict[str, Any]], int, dict[str, str]]:
    params: dict[str, Any] = {"offset": (page - 1) * PAGE_SIZE, "limit": PAGE_SIZE}
    if state in ("open", "verified"):
        params["status"] = state
    if state == "overdue":
        params["status"] = "open"
    answer = await client.get(session, "inspection", "/rectifications", **params)
    today = now_beijing().date()
    items = [mark(order, today) for order in answer.get("items", [])]
    if state == "overdue":  # the service's flag lags its deadline check by up to a run
        items = [order for order in items if order["late"]]
    business_names = await names(client, session, {str(order["business_id"]) for order in items})
    return items, int(answer.get("total", 0)), business_names


async def order(client: ServiceClient, session: WebSession, order_id: str) -> dict[str, Any]:
    """An order with its business, the inspection that found the fault and the one that verified."""
    found: dict[str, Any] = await client.get(session, "inspection", f"/rectifications/{order_id}")
    mark(found, now_beijing().date())
    found["business"] = await client.get(session, "registry", f"/businesses/{found['business_id']}")
    found["inspection"] = await client.get(session, "inspection", f"/inspections/{found['inspection_id']}")
    verifier = found.get("verified_by_inspection")
    found["verification"] = (
        await client.get(session, "inspection", f"/inspections/{verifier}") if verifier else None
    )
    return found
