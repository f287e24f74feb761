"""Importing a township's ledger (台帐) into the register, and exporting the register in the same shape.

Each row is checked as a registration through the API would be (fields, village in the caller's
area, dates, licence numbers unique in the county and in the file, no business already registered
under that name in that village). Rejected rows are reported with the column and the reason; the
accepted rows are then written in one transaction, all of them or none, with their audit lines and
their events (`business.registered`, `licence.recorded`) in the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, select

from services.registry.businesses import risk_level
from services.registry.businesses import service as businesses
from services.registry.businesses.models import Business, BusinessCreate, BusinessFilter, Licence
from services.registry.imports import ledger
from services.registry.imports.models import ImportReport, Rejection
from services.registry.places.models import Place
from shared import audit
from shared.auth import Principal, Role
from shared.events import Envelope
from shared.outbox import emit_many
from shared.rules import NoRuleInForce

IMPORTERS = (Role.county, Role.township)
EXPORTERS = (Role.county, Role.township, Role.inspector)
CHUNK = 1000

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): stage is "validate" then "write"."""


class _Rejected(Exception):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems)
        self.problems = problems


@dataclass
class _Context:
    principal: Principal
    today: date
    villages_by_id: dict[str, Place]
    villages_by_name: dict[str, list[Place]]
    taken_numbers: set[tuple[str, str]]  # (kind, number) in the county, and earlier in the file
    registered: set[tuple[str, str]]  # (village_id, name)


def import_ledger(
    *,
    session: Session,
    principal: Principal,
    rows: Sequence[ledger.LedgerRow],
    today: date,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    principal.ensure_role(*IMPORTERS)
    report = _progress(progress)
    context = _context(session, principal, today)
    accepted: list[tuple[ledger.LedgerRow, BusinessCreate, Place]] = []
    rejected: list[Rejection] = []
    for index, row in enumerate(rows, start=1):
        try:
            accepted.append(_check(row, context))
        except _Rejected as error:
            rejected.extend(Rejection(row=row.number, field=f, reason=r) for f, r in error.problems)
        if index % CHUNK == 0 or index == len(rows):
            report("validate", index, len(rows))
    imported = 0
    if accepted and not dry_run:
        imported = _write(session, principal, accepted, today, report)
    session.commit()
    return ImportReport(
        rows=len(rows), accepted=len(accepted), imported=imported, dry_run=dry_run, rejected=rejected
    )


def _progress(progress: Progress | None) -> Progress:
    return progress or (lambda _stage, _done, _total: None)


def _context(session: Session, principal: Principal, today: date) -> _Context:
    villages = [
        place
        for place in session.exec(
            select(Place).where(Place.county_id == principal.county_id, Place.level == "village")
        )
        if principal.sees(county_id=place.county_id, township_id=place.township_id)
    ]
    by_name: dict[str, list[Place]] = {}
    for village in villages:
        by_name.setdefault(village.name, []).append(village)
    numbers = session.execute(
        select(Licence.kind, Licence.number).where(Licence.county_id == principal.county_id)
    ).all()
    registered = session.execute(
        select(Business.village_id, Business.name).where(Business.county_id == principal.county_id)
    ).all()
    return _Context(
        principal=principal,
        today=today,
        villages_by_id={village.id: village for village in villages},
        villages_by_name=by_name,
        taken_numbers={(kind, number) for kind, number in numbers},
        registered={(village_id or "", name) for village_id, name in registered},
    )


def _village(value: str, context: _Context) -> Place:
    if value in context.villages_by_id:
        return context.villages_by_id[value]
    named = context.villages_by_name.get(value, [])
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise _Rejected([("village", f"{value!r} names villages in several townships; use the village id")])
    raise _Rejected([("village", f"unknown village {value!r} in your area")])


def _field_of(location: tuple[Any, ...]) -> str:
    """The ledger column for a validation error's location in BusinessCreate."""
    parts = [str(part) for part in location]
    if parts[:1] == ["location"]:
        return parts[1] if len(parts) > 1 else "latitude"
    if parts[:1] == ["village_id"]:
        return "village"
    return "_".join(parts)


def _check(row: ledger.LedgerRow, context: _Context) -> tuple[ledger.LedgerRow, BusinessCreate, Place]:
    values = row.values
    problems: list[tuple[str, str]] = []
    village: Place | None = None
    if not values.get("village"):
        problems.append(("village", "required"))
    else:
        try:
            village = _village(values["village"], context)
        except _Rejected as error:
            problems.extend(error.problems)
    body: dict[str, Any] = {
        "name": values.get("name", ""),
        "kind": ledger.kind_code(values.get("kind", "")),
        "village_id": village.id if village else "-",
    }
    for key in ("operator", "address", "registered_on"):
        if values.get(key):
            body[key] = values[key]
    latitude, longitude = values.get("latitude"), values.get("longitude")
    if latitude or longitude:
        if not (latitude and longitude):
            problems.append(("longitude" if latitude else "latitude", "a GPS point needs both coordinates"))
        else:
            body["location"] = {"latitude": latitude, "longitude": longitude}
    for kind in ("business_licence", "food_permit"):
        given = {part: values.get(f"{kind}_{part}", "") for part in ("number", "issued_on", "expires_on")}
        if any(given.values()):
            body[kind] = {part: value for part, value in given.items() if value}
    data: BusinessCreate | None = None
    try:
        data = BusinessCreate.model_validate(body)
    except ValidationError as error:
        problems.extend((_field_of(item["loc"]), item["msg"]) for item in error.errors())
    if data is not None and village is not None:
        if data.registered_on and data.registered_on > context.today:
            problems.append(("registered_on", "cannot be in the future"))
        try:
            risk_level.rule_for(village.county_id, data.registered_on or context.today)
        except NoRuleInForce as error:
            problems.append(("registered_on", error.reason))
        for kind, licence in data.licences().items():
            if (kind, licence.number) in context.taken_numbers:
                problems.append((f"{kind}_number", f"{licence.number} is already registered in the county"))
        if (village.id, data.name) in context.registered:
            problems.append(("name", f"{data.name} is already registered in {village.name}"))
    if problems or data is None or village is None:
        raise _Rejected(problems)
    for kind, licence in data.licences().items():
        context.taken_numbers.add((kind, licence.number))
    context.registered.add((village.id, data.name))
    return row, data, village


def _write(
    session: Session,
    principal: Principal,
    accepted: list[tuple[ledger.LedgerRow, BusinessCreate, Place]],
    today: date,
    report: Progress,
) -> int:
    batch_id = str(uuid.uuid4())
    business_table = Business.__table__  # type: ignore[attr-defined]
    licence_table = Licence.__table__  # type: ignore[attr-defined]
    for start in range(0, len(accepted), CHUNK):
        chunk = accepted[start : start + CHUNK]
        new_rows: list[dict[str, Any]] = []
        licence_rows: list[dict[str, Any]] = []
        envelopes: list[Envelope] = []
        audit_lines: list[dict[str, Any]] = []
        for row, data, village in chunk:
            business = businesses.business_values(
                data=data, village=village, registered_on=data.registered_on or today, actor=principal.actor
            )
            new_rows.append(business)
            place = {"county_id": business["county_id"], "township_id": business["township_id"]}
            envelopes.append(
                Envelope.wrap(businesses.registered_event(business), **place, actor=principal.actor)
            )
            for kind, given in data.licences().items():
                licence = {
                    "id": uuid.uuid4(),
                    "business_id": business["id"],
                    "county_id": business["county_id"],
                    "kind": kind,
                    **given.model_dump(),
                }
                licence_rows.append(licence)
                envelopes.append(
                    Envelope.wrap(
                        businesses.licence_event(business["id"], licence), **place, actor=principal.actor
                    )
                )
            audit_lines.append(
                {
                    "actor": principal.actor,
                    "action": "business.imported",
                    "entity": "business",
                    "entity_id": str(business["id"]),
                    **place,
                    "detail": {"import": batch_id, "row": row.number},
                }
            )
        session.execute(business_table.insert(), new_rows)
        if licence_rows:
            session.execute(licence_table.insert(), licence_rows)
        emit_many(session, envelopes)
        audit.record_many(session, audit_lines)
        report("write", start + len(chunk), len(accepted))
    audit.record(
        session,
        actor=principal.actor,
        action="ledger.imported",
        entity="import",
        entity_id=batch_id,
        county_id=principal.county_id,
        township_id=principal.township_id,
        detail={"businesses": len(accepted)},
    )
    return len(accepted)


def export_rows(
    *, session: Session, principal: Principal, filters: BusinessFilter | None = None, today: date
) -> Iterator[dict[str, Any]]:
    """The register in the caller's scope, page by page, as ledger rows."""
    principal.ensure_role(*EXPORTERS)
    return _export(session=session, principal=principal, filters=filters, today=today)


def _export(
    *, session: Session, principal: Principal, filters: BusinessFilter | None, today: date
) -> Iterator[dict[str, Any]]:
    village_names = {
        place.id: place.name
        for place in session.exec(
            select(Place).where(Place.county_id == principal.county_id, Place.level == "village")
        )
    }
    offset = 0
    while True:
        page, _total = businesses.search(
            session=session, principal=principal, offset=offset, limit=CHUNK, filters=filters, today=today
        )
        if not page:
            return
        licences = businesses.licences_of(session, (business.id for business in page))
        for business in page:
            row: dict[str, Any] = {
                "id": str(business.id),
                "name": business.name,
                "kind": ledger.KIND_LABELS.get(business.kind, business.kind),
                "village": village_names.get(business.village_id or "", business.village_id),
                "operator": business.operator,
                "address": business.address,
                "registered_on": business.registered_on.isoformat(),
                "latitude": business.latitude,
                "longitude": business.longitude,
                "risk_level": business.risk_level,
                "status": business.status,
            }
            for licence in licences[business.id]:
                row[f"{licence.kind}_number"] = licence.number
                row[f"{licence.kind}_issued_on"] = licence.issued_on.isoformat()
                row[f"{licence.kind}_expires_on"] = licence.expires_on.isoformat()
            yield row
        offset += len(page)


def count_in_scope(*, session: Session, principal: Principal) -> int:
    query = select(sa.func.count()).select_from(Business).where(businesses.scope_condition(principal))
    return int(session.exec(query).one())
