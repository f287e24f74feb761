"""Recording inspections: validate everything first (nothing is written for bad input), judge the
results by the rule tables in force on the day, then write the inspection, its items, the audit
line, `inspection.completed`, the rectification orders and the links to campaign, complaint and
urgent tasks in one transaction."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.inspection.campaigns import service as campaigns
from services.inspection.checklists import templates
from services.inspection.checklists.templates import ChecklistTemplate
from services.inspection.complaints import service as complaints
from services.inspection.complaints.models import Complaint
from services.inspection.directory import service as directory
from services.inspection.directory.models import DirectoryBusiness
from services.inspection.inspections.attachments import AttachmentStore
from services.inspection.inspections.models import (
    Attachment,
    AttachmentRead,
    Inspection,
    InspectionCreate,
    InspectionItem,
    InspectionPreview,
    InspectionRead,
    ItemResultRead,
)
from services.inspection.inspections.verdict import ItemResult, Verdict, judge
from services.inspection.plans import service as plans
from services.inspection.rectification import service as rectification
from services.inspection.rules import rectification_deadline
from shared import changes, filetypes
from shared.auth import Principal, Role, load_in_scope
from shared.catalogue.inspection import InspectionCompleted
from shared.clock import Clock, to_local
from shared.errors import Invalid, NotFound
from shared.rules import dated_by

RECORDERS = (Role.county, Role.township, Role.inspector)
READERS = (Role.county, Role.township, Role.inspector, Role.village)
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ITEMS: sa.Table = InspectionItem.__table__
ATTACHMENT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf")


@dataclass(frozen=True)
class Checked:
    """A validated inspection, ready to be written."""

    business: DirectoryBusiness
    template: ChecklistTemplate
    results: list[ItemResult]
    verdict: Verdict
    complaint: Complaint | None


def validate(*, session: Session, principal: Principal, data: InspectionCreate, clock: Clock) -> Checked:
    """Every check of a new inspection, before anything is written; bad input raises Invalid."""
    principal.ensure_role(*RECORDERS)
    now = clock.now()
    inspected_at = data.inspected_at or now
    if inspected_at > now:
        raise Invalid("inspected_at", "cannot be in the future")
    business = directory.get(session=session, principal=principal, business_id=data.business_id)
    if business is None:
        raise Invalid("business_id", "unknown business")
    if business.status == "closed":
        raise Invalid("business_id", "the business is closed")
    inspected_on = to_local(inspected_at).date()
    kind = templates.checklist_kind_for(business.kind)
    template = templates.template_for(kind, on=inspected_on, version=data.checklist_version)
    if template is None:
        field = "checklist_version" if data.checklist_version else "inspected_at"
        raise Invalid(field, f"no {kind} checklist in force on {inspected_on}")
    results = check_items(template, data)
    if data.campaign_id is not None:
        campaigns.check_inspection(
            session=session,
            principal=principal,
            campaign_id=data.campaign_id,
            township_id=business.township_id,
            on=inspected_on,
        )
    complaint = None
    if data.complaint_id is not None:
        complaint = complaints.check_followup(
            session=session, principal=principal, complaint_id=data.complaint_id, business_id=business.id
        )
    with dated_by("inspected_at"):
        verdict = judge(
            results,
            region=business.county_id,
            on=inspected_on,
            licensed_on=business.licensed_on,
            last_incident_on=business.last_incident_on,
        )
        rectification_deadline.rule_for(business.county_id, inspected_on)  # orders are written later
    return Checked(
        business=business, template=template, results=results, verdict=verdict, complaint=complaint
    )


def check_items(template: ChecklistTemplate, data: InspectionCreate) -> list[ItemResult]:
    seen: set[str] = set()
    results: list[ItemResult] = []
    for index, given in enumerate(data.items):
        item = template.item(given.code)
        if item is None:
            raise Invalid(
                "items",
                f"items[{index}]: {given.code} is not in the {template.kind} checklist v{template.version}",
            )
        if given.code in seen:
            raise Invalid("items", f"items[{index}]: {given.code} is given twice")
        seen.add(given.code)
        results.append(ItemResult(code=given.code, key=item.key, result=given.result))
    if len(results) < template.minimum_items:
        raise Invalid(
            "items",
            f"{len(results)} items checked; the {template.kind} checklist v{template.version} "
            f"needs at least {template.minimum_items}",
        )
    return results


def preview(
    *, session: Session, principal: Principal, data: InspectionCreate, clock: Clock
) -> InspectionPreview:
    """The verdict `record` would give, from the same checks and rules, writing nothing."""
    checked = validate(session=session, principal=principal, data=data, clock=clock)
    verdict = checked.verdict
    return InspectionPreview(
        business_id=checked.business.id,
        checklist_kind=checked.template.kind,
        checklist_version=checked.template.version,
        outcome=verdict.outcome,
        action=verdict.action,
        score=verdict.score,
        dynamic_grade=verdict.dynamic_grade,
        grade_withheld=verdict.grade_withheld,
        failed_items=list(verdict.failed_items),
        failed_key_items=[item.code for item in checked.results if item.key and item.result == "fail"],
    )


def record(*, session: Session, principal: Principal, data: InspectionCreate, clock: Clock) -> Inspection:
    checked = validate(session=session, principal=principal, data=data, clock=clock)
    inspection = write(session=session, principal=principal, data=data, checked=checked, clock=clock)
    session.commit()
    return inspection


def write(
    *, session: Session, principal: Principal, data: InspectionCreate, checked: Checked, clock: Clock
) -> Inspection:
    """Write a validated inspection and everything it causes (the caller commits)."""
    business, template, verdict = checked.business, checked.template, checked.verdict
    inspected_at = data.inspected_at or clock.now()
    inspection = Inspection(
        county_id=business.county_id,
        township_id=business.township_id,
        village_id=business.village_id,
        business_id=business.id,
        kind=data.kind,
        inspected_at=inspected_at,
        inspected_on=to_local(inspected_at).date(),
        inspectors=data.inspectors,
        recorded_by=principal.actor,
        checklist_kind=template.kind,
        checklist_version=template.version,
        outcome=verdict.outcome,
        action=verdict.action,
        score=verdict.score,
        dynamic_grade=verdict.dynamic_grade,
        grade_withheld=verdict.grade_withheld,
        notes=data.notes,
        campaign_id=data.campaign_id,
        complaint_id=data.complaint_id,
    )
    session.add(inspection)
    session.flush()
    session.execute(
        ITEMS.insert(),
        [
            {
                "inspection_id": inspection.id,
                "code": given.code,
                "key": result.key,
                "result": given.result,
                "note": given.note,
            }
            for given, result in zip(data.items, checked.results, strict=True)
        ],
    )
    changes.record(
        session,
        inspection,
        actor=principal.actor,
        action="inspection.completed",
        detail={
            "business_id": str(business.id),
            "outcome": verdict.outcome,
            "action": verdict.action,
            "score": verdict.score,
            "dynamic_grade": verdict.dynamic_grade,
            "grade_withheld": verdict.grade_withheld,
        },
        event=InspectionCompleted(
            inspection_id=inspection.id,
            business_id=business.id,
            kind=data.kind,
            inspected_on=inspection.inspected_on,
            outcome=verdict.outcome,
            action=verdict.action,
            score=verdict.score,
            dynamic_grade=verdict.dynamic_grade,
            failed_items=list(verdict.failed_items),
            inspector=principal.actor,
        ),
    )
    rectification.apply_inspection(
        session, inspection=inspection, template=template, results=checked.results, actor=principal.actor
    )
    if checked.complaint is not None:
        complaints.link_followup(
            session,
            complaint=checked.complaint,
            inspection_id=inspection.id,
            business_id=business.id,
            inspected_on=inspection.inspected_on,
            actor=principal.actor,
        )
    plans.close_tasks(session, business_id=business.id, inspection_id=inspection.id)
    return inspection


# ---- reading -------------------------------------------------------------------------------------


def _scope(principal: Principal) -> list[sa.ColumnElement[bool]]:
    return [principal.scope(Inspection)]


def get(*, session: Session, principal: Principal, inspection_id: uuid.UUID) -> Inspection:
    principal.ensure_role(*READERS)
    return load_in_scope(session, principal, Inspection, inspection_id)


def search(
    *,
    session: Session,
    principal: Principal,
    offset: int,
    limit: int,
    business_id: uuid.UUID | None = None,
    kind: str | None = None,
    outcome: str | None = None,
) -> tuple[list[Inspection], int]:
    principal.ensure_role(*READERS)
    conditions = _scope(principal)
    if business_id:
        conditions.append(col(Inspection.business_id) == business_id)
    if kind:
        conditions.append(col(Inspection.kind) == kind)
    if outcome:
        conditions.append(col(Inspection.outcome) == outcome)
    total = session.exec(select(sa.func.count()).select_from(Inspection).where(*conditions)).one()
    rows = session.exec(
        select(Inspection)
        .where(*conditions)
        .order_by(col(Inspection.inspected_at).desc(), col(Inspection.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(total)


def to_read(session: Session, inspections: Sequence[Inspection]) -> list[InspectionRead]:
    """Inspections with their items and attachments, two queries for the whole page."""
    ids = [inspection.id for inspection in inspections]
    items: dict[uuid.UUID, list[ItemResultRead]] = {i: [] for i in ids}
    attachments: dict[uuid.UUID, list[AttachmentRead]] = {i: [] for i in ids}
    if ids:
        for item in session.exec(
            select(InspectionItem)
            .where(col(InspectionItem.inspection_id).in_(ids))
            .order_by(col(InspectionItem.id))
        ):
            items[item.inspection_id].append(ItemResultRead.model_validate(item))
        for attachment in session.exec(
            select(Attachment)
            .where(col(Attachment.inspection_id).in_(ids))
            .order_by(col(Attachment.uploaded_at))
        ):
            attachments[attachment.inspection_id].append(AttachmentRead.model_validate(attachment))
    return [
        InspectionRead.model_validate(inspection).model_copy(
            update={"items": items[inspection.id], "attachments": attachments[inspection.id]}
        )
        for inspection in inspections
    ]


# ---- photos --------------------------------------------------------------------------------------


def attach(
    *,
    session: Session,
    principal: Principal,
    inspection_id: uuid.UUID,
    filename: str,
    content_type: str,
    data: bytes,
    store: AttachmentStore,
) -> Attachment:
    """Keep a photo of the inspection: bytes in the store, the record in the database. The bytes are
    written first and removed again if the record cannot be written."""
    principal.ensure_role(*RECORDERS)
    inspection = get(session=session, principal=principal, inspection_id=inspection_id)
    name = filename.strip().replace("/", "_").replace("\\", "_")
    if not name or len(name) > 200:
        raise Invalid("filename", "a file name of 1 to 200 characters")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in ATTACHMENT_TYPES:
        raise Invalid("content_type", f"one of {', '.join(ATTACHMENT_TYPES)}")
    if not data:
        raise Invalid("body", "empty file")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise Invalid("body", f"larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB")
    if not filetypes.matches(media_type, data):
        found = filetypes.detect(data)
        seen = f"it is {found}" if found else "it is none of the accepted types"
        raise Invalid("body", f"the content is not the declared {media_type}: {seen}")
    digest = hashlib.sha256(data).hexdigest()
    key = f"{inspection.county_id}/{inspection.id}/{digest}"
    store.put(key, data)
    try:
        attachment = Attachment(
            inspection_id=inspection.id,
            county_id=inspection.county_id,
            township_id=inspection.township_id,
            filename=name,
            content_type=media_type,
            size=len(data),
            sha256=digest,
            storage_key=key,
            uploaded_by=principal.actor,
        )
        session.add(attachment)
        session.flush()
        changes.record(
            session,
            inspection,
            actor=principal.actor,
            action="inspection.photo_attached",
            detail={"attachment_id": str(attachment.id), "sha256": digest, "size": len(data)},
        )
        session.commit()
    except BaseException:
        session.rollback()
        still_used = session.exec(select(Attachment.id).where(Attachment.storage_key == key)).first()
        if still_used is None:
            store.delete(key)
        raise
    return attachment


def attachment(
    *, session: Session, principal: Principal, inspection_id: uuid.UUID, attachment_id: uuid.UUID
) -> Attachment:
    inspection = get(session=session, principal=principal, inspection_id=inspection_id)
    found = session.exec(
        select(Attachment).where(Attachment.id == attachment_id, Attachment.inspection_id == inspection.id)
    ).first()
    if found is None:
        raise NotFound()
    return found
