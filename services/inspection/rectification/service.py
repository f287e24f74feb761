"""Rectification: an order per failed item, verified by a later visit that finds the item put
right, reported overdue once when its deadline passes, escalated once past the second threshold;
and referral of a case to the police with the inspection's evidence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.inspection.checklists.templates import ChecklistTemplate
from services.inspection.inspections.models import Attachment, Inspection, InspectionItem
from services.inspection.inspections.verdict import ItemResult
from services.inspection.rectification.models import OrderRead, RectificationOrder, Referral, ReferralCreate
from services.inspection.rules import rectification_deadline
from services.inspection.rules.rectification_deadline import Severity
from shared import changes
from shared.auth import Principal, Role, load_in_scope
from shared.catalogue.inspection import (
    CaseReferred,
    RectificationEscalated,
    RectificationOrdered,
    RectificationOverdue,
    RectificationVerified,
)
from shared.db import Database, claim
from shared.errors import Invalid

SYSTEM_ACTOR = "system:inspection"
DECIDERS = (Role.county, Role.township)


@dataclass(frozen=True)
class FailedOrPassed:
    code: str
    text: str
    severity: Severity
    passed: bool


def findings(template: ChecklistTemplate, results: Sequence[ItemResult]) -> list[FailedOrPassed]:
    """What an inspection found, item by item, in the words of its checklist: an item not
    applicable neither opens nor verifies an order. The results were checked against `template`."""
    found = []
    for result in results:
        item = template.item(result.code)
        if item is None or result.result == "not_applicable":
            continue
        found.append(
            FailedOrPassed(
                code=result.code, text=item.text, severity=item.severity, passed=result.result == "pass"
            )
        )
    return found


def apply_inspection(
    session: Session,
    *,
    inspection: Inspection,
    template: ChecklistTemplate,
    results: Sequence[ItemResult],
    actor: str,
) -> list[RectificationOrder]:
    """Open an order for each newly failed item; verify open orders whose item now passes. An item
    that fails again keeps its first order and deadline. Returns the orders opened."""
    checked = findings(template, results)
    any_open = session.execute(
        sa.select(col(RectificationOrder.id))
        .where(
            col(RectificationOrder.business_id) == inspection.business_id,
            col(RectificationOrder.status) == "open",
        )
        .limit(1)
    ).first()
    open_orders = (
        {
            order.item_code: order
            for order in session.exec(
                select(RectificationOrder).where(
                    RectificationOrder.business_id == inspection.business_id,
                    RectificationOrder.status == "open",
                )
            )
        }
        if any_open is not None
        else {}
    )
    rule = rectification_deadline.rule_for(inspection.county_id, inspection.inspected_on)
    opened: list[RectificationOrder] = []
    for item in checked:
        existing = open_orders.get(item.code)
        if item.passed and existing is not None:
            _verify(session, existing, inspection, actor)
        elif not item.passed and existing is None:
            order = RectificationOrder(
                county_id=inspection.county_id,
                township_id=inspection.township_id,
                business_id=inspection.business_id,
                inspection_id=inspection.id,
                item_code=item.code,
                item_text=item.text,
                severity=item.severity,
                ordered_on=inspection.inspected_on,
                deadline=rectification_deadline.deadline(
                    ordered_on=inspection.inspected_on, severity=item.severity, rule=rule
                ),
            )
            opened.append(order)
    if opened:
        session.add_all(opened)
        session.flush()
    for order in opened:
        changes.record(
            session,
            order,
            actor=actor,
            event=RectificationOrdered(
                order_id=order.id,
                business_id=order.business_id,
                inspection_id=order.inspection_id,
                item_code=order.item_code,
                severity=order.severity,
                deadline=order.deadline,
            ),
        )
    if opened:
        changes.record(
            session,
            inspection,
            actor=actor,
            action="rectification.ordered",
            detail={"orders": {order.item_code: str(order.id) for order in opened}},
        )
    return opened


def _verify(session: Session, order: RectificationOrder, inspection: Inspection, actor: str) -> None:
    order.status = "verified"
    order.verified_on = inspection.inspected_on
    order.verified_by_inspection = inspection.id
    session.add(order)
    changes.record(
        session,
        order,
        actor=actor,
        action="rectification.verified",
        detail={"inspection_id": str(inspection.id)},
        event=RectificationVerified(
            order_id=order.id,
            business_id=order.business_id,
            inspection_id=inspection.id,
            item_code=order.item_code,
            deadline=order.deadline,
            verified_on=inspection.inspected_on,
            on_time=inspection.inspected_on <= order.deadline,
        ),
    )


# ---- durable deadlines ---------------------------------------------------------------------------


@dataclass
class DeadlineRun:
    overdue: int = 0
    escalated: int = 0


def check_deadlines(db: Database, *, today: date, now: datetime) -> DeadlineRun:
    """Report each open order past its deadline once, and escalate each open order past the second
    threshold once. Each notice claims its order with a conditional UPDATE, so two schedulers
    (replicas, or a CLI run beside the service) never announce the same order twice."""
    with db.session() as session:
        overdue = _announce_overdue(session, today=today, now=now)
    with db.session() as session:
        escalated = _escalate_lingering(session, today=today, now=now)
    return DeadlineRun(overdue=overdue, escalated=escalated)


def _unnoticed(notice: datetime | None) -> tuple[sa.ColumnElement[bool], ...]:
    """A claim's conditions: the order is still open and this notice (its timestamp column) not
    given yet."""
    return (col(notice).is_(None), col(RectificationOrder.status) == "open")


def _announce_overdue(session: Session, *, today: date, now: datetime) -> int:
    """`rectification.overdue` for each open order past its deadline not yet announced."""
    due = session.exec(
        select(RectificationOrder).where(
            RectificationOrder.status == "open",
            col(RectificationOrder.overdue_at).is_(None),
            RectificationOrder.deadline < today,
        )
    ).all()
    announced = 0
    for order in due:
        if not claim(
            session, RectificationOrder, order.id, *_unnoticed(RectificationOrder.overdue_at), overdue_at=now
        ):
            continue
        announced += 1
        changes.record(
            session,
            order,
            actor=SYSTEM_ACTOR,
            action="rectification.overdue",
            detail={"deadline": order.deadline.isoformat()},
            event=RectificationOverdue(
                order_id=order.id,
                business_id=order.business_id,
                inspection_id=order.inspection_id,
                item_code=order.item_code,
                deadline=order.deadline,
                severity=order.severity,
            ),
        )
    return announced


def _escalate_lingering(session: Session, *, today: date, now: datetime) -> int:
    """`rectification.escalated` for each open order past the escalation threshold of the rule in
    force on the day it was ordered, one severity up, once."""
    lingering = session.exec(
        select(RectificationOrder).where(
            RectificationOrder.status == "open",
            col(RectificationOrder.escalated_at).is_(None),
            RectificationOrder.deadline < today,
        )
    ).all()
    escalated = 0
    for order in lingering:
        rule = rectification_deadline.rule_for(order.county_id, order.ordered_on)
        if today < rectification_deadline.escalation_due(deadline_on=order.deadline, rule=rule):
            continue
        previous = order.severity
        severity = rectification_deadline.escalated(previous)
        if not claim(
            session,
            RectificationOrder,
            order.id,
            *_unnoticed(RectificationOrder.escalated_at),
            escalated_at=now,
            severity=severity,
        ):
            continue
        escalated += 1
        changes.record(
            session,
            order,
            actor=SYSTEM_ACTOR,
            action="rectification.escalated",
            detail={"from": previous, "to": severity},
            event=RectificationEscalated(
                order_id=order.id,
                business_id=order.business_id,
                inspection_id=order.inspection_id,
                item_code=order.item_code,
                previous_severity=previous,
                severity=severity,
                deadline=order.deadline,
            ),
        )
    return escalated


# ---- reading -------------------------------------------------------------------------------------


def _scope(principal: Principal) -> list[sa.ColumnElement[bool]]:
    return [principal.scope(RectificationOrder, village_level=False)]


def to_read(order: RectificationOrder) -> OrderRead:
    return OrderRead.model_validate(order).model_copy(
        update={"overdue": order.overdue_at is not None, "escalated": order.escalated_at is not None}
    )


def search(
    *,
    session: Session,
    principal: Principal,
    offset: int,
    limit: int,
    status_: str | None = None,
    business_id: uuid.UUID | None = None,
    overdue: bool | None = None,
) -> tuple[list[RectificationOrder], int]:
    principal.ensure_role(Role.county, Role.township, Role.inspector)
    conditions = _scope(principal)
    if status_:
        conditions.append(col(RectificationOrder.status) == status_)
    if business_id:
        conditions.append(col(RectificationOrder.business_id) == business_id)
    if overdue is not None:
        column = col(RectificationOrder.overdue_at)
        conditions.append(column.is_not(None) if overdue else column.is_(None))
    total = session.exec(select(sa.func.count()).select_from(RectificationOrder).where(*conditions)).one()
    rows = session.exec(
        select(RectificationOrder)
        .where(*conditions)
        .order_by(col(RectificationOrder.deadline), col(RectificationOrder.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(total)


def get(*, session: Session, principal: Principal, order_id: uuid.UUID) -> RectificationOrder:
    principal.ensure_role(Role.county, Role.township, Role.inspector)
    return load_in_scope(session, principal, RectificationOrder, order_id, village_level=False)


def overdue_by_township(session: Session, *, today: date) -> dict[tuple[str, str], int]:
    """Open orders past their deadline, counted per (county, township), for the supervision gauges.
    Read from the deadline, not from `overdue_at`, so the figure is right even before a tick has
    announced the order."""
    rows = session.execute(
        sa.select(col(RectificationOrder.county_id), col(RectificationOrder.township_id), sa.func.count())
        .where(col(RectificationOrder.status) == "open", col(RectificationOrder.deadline) < today)
        .group_by(col(RectificationOrder.county_id), col(RectificationOrder.township_id))
    ).all()
    return {(county, township): int(count) for county, township, count in rows}


# ---- referral to the police ------------------------------------------------------------------


def refer(
    *, session: Session, principal: Principal, inspection: Inspection, data: ReferralCreate
) -> Referral:
    """Refer the case of an inspection to the police with its evidence: the items (by default the
    failed ones) and every photo of the inspection."""
    principal.ensure_role(*DECIDERS)
    results = {
        item.code: item.result
        for item in session.exec(select(InspectionItem).where(InspectionItem.inspection_id == inspection.id))
    }
    if data.item_codes is None:
        codes = [code for code, result in results.items() if result == "fail"]
    else:
        unknown = [code for code in data.item_codes if code not in results]
        if unknown:
            raise Invalid("item_codes", f"not items of this inspection: {', '.join(unknown)}")
        codes = list(dict.fromkeys(data.item_codes))
    attachments = session.exec(
        select(Attachment.id)
        .where(Attachment.inspection_id == inspection.id)
        .order_by(col(Attachment.uploaded_at))
    ).all()
    referral = Referral(
        county_id=inspection.county_id,
        township_id=inspection.township_id,
        business_id=inspection.business_id,
        inspection_id=inspection.id,
        reason=data.reason.strip(),
        item_codes=codes,
        attachment_ids=[str(attachment) for attachment in attachments],
        referred_by=principal.actor,
    )
    session.add(referral)
    session.flush()
    changes.record(
        session,
        referral,
        actor=principal.actor,
        action="case.referred",
        detail={"inspection_id": str(inspection.id), "item_codes": codes, "reason": referral.reason},
        event=CaseReferred(
            case_id=referral.id,
            business_id=referral.business_id,
            inspection_id=inspection.id,
            reason=referral.reason,
            item_codes=codes,
            attachment_ids=list(attachments),
        ),
    )
    session.commit()
    return referral
