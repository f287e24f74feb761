"""Importing a township's ledger (台帐) into the register, and exporting the register in the same shape.

Each row is checked as a registration through the API would be (fields, village in the caller's
area, dates, licence numbers unique in the county and in the file, no business already registered
under that name in that village). Rejected rows are reported with the column and the reason; the
accepted rows are then written in one transaction, all of them or none, with their audit lines and
their events (`business.registered`, `licence.recorded`) in the outbox.

Rows are taken one at a time from the reader and only the accepted ones are kept, each as the JSON
of the business it becomes (about 250 bytes, where the validated model takes 2 KB); rejections are
counted, the first REJECTIONS_SHOWN kept for the answer and every one handed to `on_rejected` (the
downloadable report). So memory follows the accepted rows alone, and modestly.

Licence numbers are unique in the county, but a township may only learn about its own register.
A number held by a business in the caller's area, or used twice in the file, is rejected with the
holder named, which is what a township needs to fix its ledger. A number held outside the caller's
area is not looked at by a dry run (it would tell any number of guesses apart for free); the import
itself rejects that row with a reason that does not say where, writes an audit line with the
holder for the county office, and registers the other rows. Probing the county's numbers thus
takes real, audited registrations, and the row that clashes is still named.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col, select

from services.registry.businesses import commands, queries
from services.registry.businesses.models import Business, BusinessCreate, BusinessFilter, Licence
from services.registry.imports import ledger
from services.registry.imports.models import ImportReport, Rejection
from services.registry.places.models import Place
from services.registry.rules import risk_level
from shared import audit
from shared.auth import Principal, Role
from shared.events import Envelope
from shared.outbox import emit_many
from shared.rules import NoRuleInForce

IMPORTERS = (Role.county, Role.township)
OUTSIDE_CLASH = (
    "{number} cannot be registered: the number is in use in the county; the county office can tell where"
)
EXPORTERS = (Role.county, Role.township, Role.inspector)
CHUNK = 1000
REJECTIONS_SHOWN = 200  # in the answer; the report has them all

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): stage is "validate" then "write"."""


_Accepted = tuple[int, str, bytes]
"""An accepted row: its number, its village's id, and the business as JSON (BusinessCreate)."""


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
    own_numbers: dict[tuple[str, str], str]  # (kind, number) in the caller's area -> holder
    other_numbers: dict[tuple[str, str], Licence]  # (kind, number) held elsewhere in the county
    file_numbers: dict[tuple[str, str], int]  # (kind, number) -> the row that used it first
    registered: set[tuple[str, str]]  # (village_id, name)
    dry_run: bool = False
    clashes: list[tuple[int, str, Licence]] = field(default_factory=list)  # row, column, holder


def import_ledger(
    *,
    session: Session,
    principal: Principal,
    rows: Iterable[ledger.LedgerRow],
    today: date,
    dry_run: bool = False,
    progress: Progress | None = None,
    on_rejected: Callable[[Rejection], None] | None = None,
) -> ImportReport:
    """Check every row, then register the accepted ones together. `rows` may be a list or a
    `ledger.Ledger` (read from its file as it goes); its length, when it has one, is the total
    the progress reports against."""
    principal.ensure_role(*IMPORTERS)
    report = _progress(progress)
    total = len(rows) if isinstance(rows, Sized) else 0
    context = _context(session, principal, today, dry_run=dry_run)
    accepted: list[_Accepted] = []
    shown: list[Rejection] = []
    rejected_count = rejected_rows = index = 0
    for index, row in enumerate(rows, start=1):
        try:
            accepted.append(_check(row, context))
        except _Rejected as error:
            rejected_rows += 1
            for field, reason in error.problems:
                rejection = Rejection(row=row.number, field=field, reason=reason)
                rejected_count += 1
                if len(shown) < REJECTIONS_SHOWN:
                    shown.append(rejection)
                if on_rejected is not None:
                    on_rejected(rejection)
        if index % CHUNK == 0 or index == total:
            report("validate", index, max(total, index))
    if index != total:  # the reader had no length, or it was wrong: the last step still shows
        report("validate", index, index)
    imported = 0
    if accepted and not dry_run:
        imported = _write(session, principal, accepted, context.villages_by_id, today, report)
    for row_number, column, holder in context.clashes:
        audit.record(
            session,
            actor=principal.actor,
            action="ledger.licence_clash",
            entity="licence",
            entity_id=str(holder.id),
            county_id=principal.county_id,
            township_id=principal.township_id,
            detail={
                "row": row_number,
                "column": column,
                "number": holder.number,
                "held_by": str(holder.business_id),
            },
        )
    session.commit()
    return ImportReport(
        rows=index,
        accepted=len(accepted),
        imported=imported,
        dry_run=dry_run,
        rejected=shown,
        rejected_count=rejected_count,
        rejected_rows=rejected_rows,
    )


def _progress(progress: Progress | None) -> Progress:
    return progress or (lambda _stage, _done, _total: None)


def _context(session: Session, principal: Principal, today: date, *, dry_run: bool) -> _Context:
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
    own: dict[tuple[str, str], str] = {}
    other: dict[tuple[str, str], Licence] = {}
    holders = session.execute(
        select(Licence, Business.name, Business.township_id, Business.village_id)
        .join(Business, col(Business.id) == Licence.business_id)
        .where(Licence.county_id == principal.county_id)
    ).all()
    village_names = {village.id: village.name for village in villages}
    for licence, name, township_id, village_id in holders:
        key = (licence.kind, licence.number)
        if principal.sees(county_id=licence.county_id, township_id=township_id):
            place = village_names.get(village_id or "", "")
            own[key] = f"{name} ({place})" if place else name
        else:
            other[key] = licence
    registered = session.execute(
        select(Business.village_id, Business.name).where(Business.county_id == principal.county_id)
    ).all()
    return _Context(
        principal=principal,
        today=today,
        villages_by_id={village.id: village for village in villages},
        villages_by_name=by_name,
        own_numbers=own,
        other_numbers=other,
        file_numbers={},
        registered={(village_id or "", name) for village_id, name in registered},
        dry_run=dry_run,
    )


def _village(value: str, context: _Context) -> Place:
    if value in context.villages_by_id:
        return context.villages_by_id[value]
    named = context.villages_by_name.get(value, [])
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        reason = f"{ledger.shorten(value)!r} names villages in several townships; use the village id"
        raise _Rejected([("village", reason)])
    raise _Rejected([("village", f"unknown village {ledger.shorten(value)!r} in your area")])


def _field_of(location: tuple[Any, ...]) -> str:
    """The ledger column for a validation error's location in BusinessCreate."""
    parts = [str(part) for part in location]
    if parts[:1] == ["location"]:
        return parts[1] if len(parts) > 1 else "latitude"
    if parts[:1] == ["village_id"]:
        return "village"
    return "_".join(parts)


def _check(row: ledger.LedgerRow, context: _Context) -> _Accepted:
    values = row.values
    problems: list[tuple[str, str]] = list(row.problems)
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
    for name in ("operator", "address", "registered_on"):
        if values.get(name):
            body[name] = values[name]
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
        flagged = {field for field, _reason in row.problems}  # a cut cell is reported once, as too long
        found = ((_field_of(item["loc"]), item["msg"]) for item in error.errors())
        problems.extend(problem for problem in found if problem[0] not in flagged)
    if data is not None and village is not None:
        if data.registered_on and data.registered_on > context.today:
            problems.append(("registered_on", "cannot be in the future"))
        try:
            risk_level.rule_for(village.county_id, data.registered_on or context.today)
        except NoRuleInForce as error:
            problems.append(("registered_on", error.reason))
        clashes: list[tuple[str, Licence]] = []
        for kind, licence in data.licences().items():
            key, column = (kind, licence.number), f"{kind}_number"
            if key in context.own_numbers:
                holder = context.own_numbers[key]
                problems.append((column, f"{licence.number} is already registered to {holder}"))
            elif key in context.file_numbers:
                problems.append((column, f"{licence.number} is used in row {context.file_numbers[key]} too"))
            elif key in context.other_numbers and not context.dry_run:
                problems.append((column, OUTSIDE_CLASH.format(number=licence.number)))
                clashes.append((column, context.other_numbers[key]))
        if (village.id, data.name) in context.registered:
            problems.append(("name", f"{data.name} is already registered in {village.name}"))
        if problems:
            context.clashes.extend((row.number, column, holder) for column, holder in clashes)
    if problems or data is None or village is None:
        raise _Rejected(problems)
    for kind, licence in data.licences().items():
        context.file_numbers[(kind, licence.number)] = row.number
    context.registered.add((village.id, data.name))
    return row.number, village.id, data.model_dump_json(exclude_none=True).encode()


def _write(
    session: Session,
    principal: Principal,
    accepted: list[_Accepted],
    villages: dict[str, Place],
    today: date,
    report: Progress,
) -> int:
    batch_id = str(uuid.uuid4())
    business_table = Business.__table__
    licence_table = Licence.__table__
    for start in range(0, len(accepted), CHUNK):
        chunk = accepted[start : start + CHUNK]
        new_rows: list[dict[str, Any]] = []
        licence_rows: list[dict[str, Any]] = []
        envelopes: list[Envelope] = []
        audit_lines: list[dict[str, Any]] = []
        for number, village_id, blob in chunk:
            data, village = BusinessCreate.model_validate_json(blob), villages[village_id]
            business = commands.business_values(
                data=data, village=village, registered_on=data.registered_on or today, actor=principal.actor
            )
            new_rows.append(business)
            place = {"county_id": business["county_id"], "township_id": business["township_id"]}
            envelopes.append(
                Envelope.wrap(commands.registered_event(business), **place, actor=principal.actor)
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
                        commands.licence_event(business["id"], licence), **place, actor=principal.actor
                    )
                )
            audit_lines.append(
                {
                    "actor": principal.actor,
                    "action": "business.imported",
                    "entity": "business",
                    "entity_id": str(business["id"]),
                    **place,
                    "detail": {"import": batch_id, "row": number},
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
        page, _total = queries.search(
            session=session, principal=principal, offset=offset, limit=CHUNK, filters=filters, today=today
        )
        if not page:
            return
        licences = queries.licences_of(session, (business.id for business in page))
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
    query = select(sa.func.count()).select_from(Business).where(queries.scope_condition(principal))
    return int(session.exec(query).one())
