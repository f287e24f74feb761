"""Inspection read models: inspections and the items they found failed, rectification orders,
referrals to the police, campaigns, complaints and urgent tasks."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Column, Field, Session

from services.reporting.database import Base
from shared.catalogue.inspection import (
    CampaignLaunched,
    CaseReferred,
    ComplaintAccepted,
    ComplaintAssigned,
    ComplaintClosed,
    ComplaintDeadlineMissed,
    ComplaintFollowedUp,
    ComplaintReceived,
    InspectionCompleted,
    InspectionTaskOpened,
    RectificationEscalated,
    RectificationOrdered,
    RectificationOverdue,
    RectificationVerified,
)
from shared.clock import to_local
from shared.events import Envelope
from shared.projection import update, upsert


class ReportInspection(Base, table=True):
    __tablename__ = "report_inspections"
    __table_args__ = (sa.Index("ix_report_inspections_township_day", "township_id", "inspected_on"),)

    id: uuid.UUID = Field(primary_key=True)
    county_id: str = Field(max_length=40, index=True)
    township_id: str = Field(max_length=40)
    business_id: uuid.UUID = Field(index=True)
    kind: str = Field(max_length=30)
    inspected_on: date = Field(index=True)
    outcome: str = Field(max_length=30)
    action: str = Field(max_length=30)
    score: float
    dynamic_grade: str | None = Field(default=None, max_length=16)
    failed_count: int = 0
    inspector: str = Field(max_length=120)


class ReportViolation(Base, table=True):
    """A checklist item an inspection found failed (a violation in the open-data sense)."""

    __tablename__ = "report_violations"

    inspection_id: uuid.UUID = Field(primary_key=True)
    item_code: str = Field(primary_key=True, max_length=20)
    county_id: str = Field(max_length=40)
    township_id: str = Field(max_length=40, index=True)
    business_id: uuid.UUID = Field(index=True)
    inspected_on: date = Field(index=True)


class ReportRectification(Base, table=True):
    __tablename__ = "report_rectifications"

    id: uuid.UUID = Field(primary_key=True)
    county_id: str = Field(max_length=40)
    township_id: str = Field(max_length=40, index=True)
    business_id: uuid.UUID = Field(index=True)
    inspection_id: uuid.UUID
    item_code: str = Field(max_length=20)
    severity: str = Field(max_length=10)
    deadline: date
    ordered_on: date | None = Field(default=None, index=True)
    verified_on: date | None = None
    on_time: bool | None = None
    overdue_on: date | None = None
    escalated_on: date | None = None


class ReportCase(Base, table=True):
    __tablename__ = "report_cases"

    id: uuid.UUID = Field(primary_key=True)
    county_id: str = Field(max_length=40)
    township_id: str = Field(max_length=40, index=True)
    business_id: uuid.UUID = Field(index=True)
    inspection_id: uuid.UUID | None = None
    reason: str = Field(max_length=2000)
    referred_on: date = Field(index=True)


class ReportCampaign(Base, table=True):
    __tablename__ = "report_campaigns"

    id: uuid.UUID = Field(primary_key=True)
    county_id: str = Field(max_length=40, index=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=10)
    holiday: str | None = Field(default=None, max_length=40)
    starts_on: date
    ends_on: date
    targets: dict[str, int] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))


class ReportComplaint(Base, table=True):
    __tablename__ = "report_complaints"

    id: uuid.UUID = Field(primary_key=True)
    county_id: str = Field(max_length=40)
    township_id: str = Field(max_length=40, index=True)
    business_id: uuid.UUID | None = None
    channel: str | None = Field(default=None, max_length=10)
    kind: str | None = Field(default=None, max_length=10)
    received_on: date | None = Field(default=None, index=True)
    accept_due: date | None = None
    verify_due: date | None = None
    accepted: bool | None = None
    decided_on: date | None = None
    decided_on_time: bool | None = None
    assignee: str | None = Field(default=None, max_length=120)
    followed_up_on: date | None = None
    followed_up_on_time: bool | None = None
    closed_on: date | None = None
    closed_in_time: bool | None = None
    result: str | None = Field(default=None, max_length=2000)
    accept_missed: bool = False
    verify_missed: bool = False


class ReportTask(Base, table=True):
    __tablename__ = "report_tasks"

    id: uuid.UUID = Field(primary_key=True)
    county_id: str = Field(max_length=40)
    township_id: str = Field(max_length=40, index=True)
    business_id: uuid.UUID
    reason: str = Field(max_length=20)
    urgent: bool
    due_on: date
    opened_on: date
    incident_id: uuid.UUID | None = None


def _place(envelope: Envelope) -> dict[str, str]:
    return {"county_id": envelope.county_id, "township_id": envelope.township_id or ""}


def _day(envelope: Envelope) -> date:
    """The local day an event happened, for facts whose payload carries no date."""
    return to_local(envelope.occurred_at).date()


def on_inspection_completed(session: Session, envelope: Envelope, payload: InspectionCompleted) -> None:
    place = _place(envelope)
    upsert(
        session,
        ReportInspection.__table__,
        {"id": payload.inspection_id},
        {
            **place,
            "business_id": payload.business_id,
            "kind": payload.kind,
            "inspected_on": payload.inspected_on,
            "outcome": payload.outcome,
            "action": payload.action,
            "score": payload.score,
            "dynamic_grade": payload.dynamic_grade,
            "failed_count": len(payload.failed_items),
            "inspector": payload.inspector,
        },
    )
    for code in dict.fromkeys(payload.failed_items):
        upsert(
            session,
            ReportViolation.__table__,
            {"inspection_id": payload.inspection_id, "item_code": code},
            {**place, "business_id": payload.business_id, "inspected_on": payload.inspected_on},
        )


def _order(envelope: Envelope, payload: Any) -> dict[str, Any]:
    return {
        **_place(envelope),
        "business_id": payload.business_id,
        "inspection_id": payload.inspection_id,
        "item_code": payload.item_code,
        "deadline": payload.deadline,
    }


def on_rectification_ordered(session: Session, envelope: Envelope, payload: RectificationOrdered) -> None:
    values = {**_order(envelope, payload), "severity": payload.severity, "ordered_on": _day(envelope)}
    upsert(session, ReportRectification.__table__, {"id": payload.order_id}, values)


def on_rectification_verified(session: Session, envelope: Envelope, payload: RectificationVerified) -> None:
    values = {
        **_order(envelope, payload),
        "verified_on": payload.verified_on,
        "on_time": payload.on_time,
    }
    # the inspection that verified is not the one that ordered: keep the ordering inspection
    values.pop("inspection_id")
    _upsert_order(session, payload.order_id, values, inspection_id=payload.inspection_id)


def on_rectification_overdue(session: Session, envelope: Envelope, payload: RectificationOverdue) -> None:
    values = {**_order(envelope, payload), "overdue_on": _day(envelope)}
    _upsert_order(session, payload.order_id, values, severity=payload.severity)


def on_rectification_escalated(session: Session, envelope: Envelope, payload: RectificationEscalated) -> None:
    values = {**_order(envelope, payload), "severity": payload.severity, "escalated_on": _day(envelope)}
    upsert(session, ReportRectification.__table__, {"id": payload.order_id}, values)


def _upsert_order(session: Session, order_id: uuid.UUID, values: dict[str, Any], **if_new: Any) -> None:
    """Set `values` on the order; `if_new` fills the columns an unknown order still needs."""
    table = ReportRectification.__table__
    if update(session, table, {"id": order_id}, values):
        return
    defaults = {"severity": "general", "inspection_id": order_id}
    upsert(session, table, {"id": order_id}, {**defaults, **if_new, **values})


def on_case_referred(session: Session, envelope: Envelope, payload: CaseReferred) -> None:
    upsert(
        session,
        ReportCase.__table__,
        {"id": payload.case_id},
        {
            **_place(envelope),
            "business_id": payload.business_id,
            "inspection_id": payload.inspection_id,
            "reason": payload.reason,
            "referred_on": _day(envelope),
        },
    )


def on_campaign_launched(session: Session, envelope: Envelope, payload: CampaignLaunched) -> None:
    upsert(
        session,
        ReportCampaign.__table__,
        {"id": payload.campaign_id},
        {
            "county_id": envelope.county_id,
            "name": payload.name,
            "kind": payload.kind,
            "holiday": payload.holiday,
            "starts_on": payload.starts_on,
            "ends_on": payload.ends_on,
            "targets": payload.targets,
        },
    )


def _complaint(session: Session, envelope: Envelope, complaint_id: uuid.UUID, **values: Any) -> None:
    upsert(session, ReportComplaint.__table__, {"id": complaint_id}, {**_place(envelope), **values})


def on_complaint_received(session: Session, envelope: Envelope, payload: ComplaintReceived) -> None:
    _complaint(
        session,
        envelope,
        payload.complaint_id,
        business_id=payload.business_id,
        channel=payload.channel,
        kind=payload.kind,
        received_on=payload.received_on,
        accept_due=payload.accept_due,
        verify_due=payload.verify_due,
    )


def on_complaint_accepted(session: Session, envelope: Envelope, payload: ComplaintAccepted) -> None:
    _complaint(
        session,
        envelope,
        payload.complaint_id,
        accepted=payload.accepted,
        decided_on=payload.decided_on,
        decided_on_time=payload.on_time,
    )


def on_complaint_assigned(session: Session, envelope: Envelope, payload: ComplaintAssigned) -> None:
    _complaint(session, envelope, payload.complaint_id, assignee=payload.assignee)


def on_complaint_followed_up(session: Session, envelope: Envelope, payload: ComplaintFollowedUp) -> None:
    _complaint(
        session,
        envelope,
        payload.complaint_id,
        followed_up_on=payload.inspected_on,
        followed_up_on_time=payload.on_time,
    )


def on_complaint_closed(session: Session, envelope: Envelope, payload: ComplaintClosed) -> None:
    _complaint(
        session,
        envelope,
        payload.complaint_id,
        closed_on=payload.closed_on,
        closed_in_time=payload.in_time,
        result=payload.result,
    )


def on_complaint_deadline_missed(
    session: Session, envelope: Envelope, payload: ComplaintDeadlineMissed
) -> None:
    flag = "accept_missed" if payload.deadline_kind == "accept" else "verify_missed"
    _complaint(session, envelope, payload.complaint_id, **{flag: True})


def on_task_opened(session: Session, envelope: Envelope, payload: InspectionTaskOpened) -> None:
    upsert(
        session,
        ReportTask.__table__,
        {"id": payload.task_id},
        {
            **_place(envelope),
            "business_id": payload.business_id,
            "reason": payload.reason,
            "urgent": payload.urgent,
            "due_on": payload.due_on,
            "opened_on": _day(envelope),
            "incident_id": payload.incident_id,
        },
    )
