"""Open data in the LIVES shape (Yelp's Local Inspector Value-entry Specification): businesses,
inspections and violations, as CSV files with the specification's columns, or as JSON.

LIVES has no townships: `city` carries the township's name and `state` the county's; dates are
YYYYMMDD; an inspection's `type` is one of initial, routine, followup, complaint.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from services.reporting.database import place_directory
from services.reporting.readmodels.inspection import ReportInspection, ReportViolation
from services.reporting.readmodels.registry import ReportBusiness, ReportLicence
from services.reporting.statistics import labels
from services.reporting.statistics.periods import Period
from services.reporting.statistics.scope import Scope
from shared.spreadsheet import safe_cell

COLUMNS: dict[str, tuple[str, ...]] = {
    "businesses": (
        "business_id",
        "name",
        "address",
        "city",
        "state",
        "postal_code",
        "latitude",
        "longitude",
        "phone_number",
        "business_certificate",
        "application_date",
        "owner_name",
    ),
    "inspections": ("business_id", "score", "date", "description", "type"),
    "violations": ("business_id", "date", "code", "description"),
}
FILES = tuple(COLUMNS)

LIVES_TYPES = {
    "routine": "routine",
    "campaign": "routine",
    "school": "routine",
    "holiday": "routine",
    "joint": "routine",
    "reinspection": "followup",
    "complaint_followup": "complaint",
}


def _day(value: Any) -> str:
    return value.strftime("%Y%m%d") if value else ""


def _names(session: Session, county_id: str) -> dict[str, str]:
    table = place_directory
    rows = session.execute(sa.select(table.c.place_id, table.c.name).where(table.c.county_id == county_id))
    return {place_id: name for place_id, name in rows}


def businesses(session: Session, scope: Scope, period: Period | None) -> Iterator[dict[str, Any]]:
    table, licences = ReportBusiness.__table__, ReportLicence.__table__
    names = _names(session, scope.county_id)
    permit = licences.alias("permit")
    query = (
        sa.select(table, permit.c.number.label("permit_number"))
        .select_from(
            table.outerjoin(
                permit, sa.and_(permit.c.business_id == table.c.id, permit.c.licence_kind == "food_permit")
            )
        )
        .where(*scope.where(table))
        .order_by(table.c.registered_on, table.c.id)
    )
    if period is not None:
        query = query.where(table.c.registered_on <= period.last)
    for row in session.execute(query):
        yield {
            "business_id": str(row.id),
            "name": row.name or "",
            "address": row.address or "",
            "city": names.get(row.township_id, row.township_id),
            "state": names.get(row.county_id, row.county_id),
            "postal_code": "",
            "latitude": "" if row.latitude is None else row.latitude,
            "longitude": "" if row.longitude is None else row.longitude,
            "phone_number": "",
            "business_certificate": row.permit_number or "",
            "application_date": _day(row.registered_on),
            "owner_name": row.operator or "",
        }


def inspections(session: Session, scope: Scope, period: Period | None) -> Iterator[dict[str, Any]]:
    table = ReportInspection.__table__
    query = sa.select(table).where(*scope.where(table)).order_by(table.c.inspected_on, table.c.id)
    if period is not None:
        query = query.where(table.c.inspected_on.between(period.first, period.last))
    for row in session.execute(query):
        outcome = labels.group_label(labels.OUTCOMES, row.outcome)
        action = labels.group_label(labels.ACTIONS, row.action)
        kind = labels.group_label(labels.INSPECTION_KINDS, row.kind)
        yield {
            "business_id": str(row.business_id),
            "score": round(row.score),
            "date": _day(row.inspected_on),
            "description": f"{kind}：{outcome}，{action}",
            "type": LIVES_TYPES.get(row.kind, "routine"),
        }


def violations(session: Session, scope: Scope, period: Period | None) -> Iterator[dict[str, Any]]:
    table = ReportViolation.__table__
    query = sa.select(table).where(*scope.where(table)).order_by(table.c.inspected_on, table.c.inspection_id)
    if period is not None:
        query = query.where(table.c.inspected_on.between(period.first, period.last))
    for row in session.execute(query):
        yield {
            "business_id": str(row.business_id),
            "date": _day(row.inspected_on),
            "code": row.item_code,
            "description": f"检查项{row.item_code}不符合要求",
        }


PRODUCERS = {"businesses": businesses, "inspections": inspections, "violations": violations}


def rows(session: Session, name: str, scope: Scope, period: Period | None) -> list[dict[str, Any]]:
    return list(PRODUCERS[name](session, scope, period))


def to_csv(name: str, records: list[dict[str, Any]]) -> str:
    """The records as the LIVES CSV file; text a spreadsheet would run as a formula is escaped
    (`shared.spreadsheet`), numbers stay numbers. The JSON form carries the values unescaped."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS[name], lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({key: safe_cell(value) for key, value in record.items()} for record in records)
    return buffer.getvalue()


def to_zip(session: Session, scope: Scope, period: Period | None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in FILES:
            archive.writestr(f"{name}.csv", to_csv(name, rows(session, name, scope, period)).encode("utf-8"))
    return buffer.getvalue()
