"""What the dashboard shows: the key figures, open incidents, overdue rectifications and coverage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from services.reporting.readmodels.alerts import ReportIncident
from services.reporting.readmodels.inspection import ReportRectification
from services.reporting.readmodels.registry import ReportBusiness
from services.reporting.statistics import service
from services.reporting.statistics.models import Statistics
from services.reporting.statistics.periods import Period, parse_period
from services.reporting.statistics.scope import Scope
from shared.catalogue.alerts import LEVEL_ORDER

KEY_FIGURES = (
    "businesses.registered",
    "inspections.total",
    "inspections.businesses",
    "problems.found",
    "problems.rectified_on_time",
    "problems.overdue",
    "complaints.received",
    "complaints.closed_in_time",
    "incidents.reported",
    "banquets.filed",
    "publicity.events",
    "trainings.held",
)


def current_half(today: date) -> Period:
    return parse_period(f"{today.year}-H{1 if today.month <= 6 else 2}")


@dataclass(frozen=True)
class Board:
    statistics: Statistics
    open_incidents: list[dict[str, Any]]
    overdue_orders: list[dict[str, Any]]


def board(session: Session, scope: Scope, period: Period, today: date) -> Board:
    return Board(
        statistics=service.statistics(session, scope, period),
        open_incidents=open_incidents(session, scope),
        overdue_orders=overdue_orders(session, scope, today),
    )


def open_incidents(session: Session, scope: Scope, limit: int = 50) -> list[dict[str, Any]]:
    table = ReportIncident.__table__
    rows = session.execute(
        sa.select(table)
        .where(*scope.where(table), table.c.status != "closed")
        .order_by(table.c.reported_at.desc())
    ).mappings()
    found = sorted(rows, key=lambda row: (LEVEL_ORDER.get(row["level"], 9), -row["reported_at"].timestamp()))
    return [dict(row) for row in found[:limit]]


def overdue_orders(session: Session, scope: Scope, today: date, limit: int = 50) -> list[dict[str, Any]]:
    """Orders still open after their deadline, as of today, oldest deadline first."""
    orders, businesses = ReportRectification.__table__, ReportBusiness.__table__
    query = (
        sa.select(orders, businesses.c.name.label("business_name"))
        .select_from(orders.outerjoin(businesses, businesses.c.id == orders.c.business_id))
        .where(*scope.where(orders), orders.c.verified_on.is_(None), orders.c.deadline < today)
        .order_by(orders.c.deadline, orders.c.id)
        .limit(limit)
    )
    return [dict(row) for row in session.execute(query).mappings()]
