"""Plans, worklists and coverage, computed from inspection's own projection and records.

The plan spreads a business's yearly inspections (by risk level, from the rule table) evenly over
the year: with n due, the k-th belongs to the k-th n-th of the year and is overdue once that part
has ended without k inspections. Coverage of the grading system counts, per township, the active
registered businesses that received a dynamic grade in the last 12 months.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.inspection.complaints.models import Complaint
from services.inspection.database import place_directory
from services.inspection.directory import service as directory
from services.inspection.directory.models import DirectoryBusiness
from services.inspection.inspections.models import Inspection
from services.inspection.plans.models import (
    Coverage,
    InspectionTask,
    PlanLine,
    PlanState,
    TownshipCoverage,
    TownshipPlan,
    WorkItem,
    Worklist,
    WorkState,
)
from services.inspection.rectification.models import RectificationOrder
from services.inspection.rules import grade_blackout, inspection_frequency
from shared import changes
from shared.auth import Principal, Role, incident_reaches
from shared.catalogue.alerts import IncidentReported
from shared.catalogue.inspection import InspectionTaskOpened
from shared.clock import to_local
from shared.errors import Invalid, NotFound
from shared.events import Envelope
from shared.parking import Unresolved, parks
from shared.places import find_place
from shared.rules import dated_by

READERS = (Role.county, Role.township, Role.inspector)
ACTIVE = ("active",)
SYSTEM_ACTOR = "system:inspection"


# ---- urgent tasks --------------------------------------------------------------------------------


@parks
def on_incident_reported(session: Session, envelope: Envelope, payload: IncidentReported) -> None:
    """An incident naming a business puts an urgent inspection on its township's worklist; one
    naming a business the directory does not hold yet waits (parked) for its registration."""
    if payload.business_id is None:
        return
    business = session.get(DirectoryBusiness, payload.business_id, populate_existing=True)
    if business is None:
        raise Unresolved("business", payload.business_id)
    if not incident_reaches(envelope, payload.village_id, directory.placed(business)):
        return
    exists = session.exec(
        select(InspectionTask.id).where(
            InspectionTask.incident_id == payload.incident_id, InspectionTask.business_id == business.id
        )
    ).first()
    if exists is not None:
        return
    task = InspectionTask(
        county_id=business.county_id,
        township_id=business.township_id,
        business_id=business.id,
        reason="incident",
        urgent=True,
        incident_id=payload.incident_id,
        due_on=to_local(payload.reported_at).date(),
    )
    session.add(task)
    session.flush()
    changes.record(
        session,
        task,
        actor=SYSTEM_ACTOR,
        action="inspection.task_opened",
        detail={"incident_id": str(payload.incident_id), "level": payload.level},
        event=InspectionTaskOpened(
            task_id=task.id,
            business_id=task.business_id,
            reason="incident",
            urgent=True,
            due_on=task.due_on,
            incident_id=payload.incident_id,
        ),
        correlation_id=envelope.event_id,
    )


def close_tasks(session: Session, *, business_id: uuid.UUID, inspection_id: uuid.UUID) -> int:
    """An inspection of the business does the open tasks for it; returns how many."""
    done = session.execute(
        sa.update(InspectionTask.__table__)
        .where(col(InspectionTask.business_id) == business_id, col(InspectionTask.status) == "open")
        .values(status="done", done_by_inspection=inspection_id)
    )
    return cast("sa.CursorResult[Any]", done).rowcount


# ---- plan ----------------------------------------------------------------------------------------


def period_ends(year: int, count: int) -> list[date]:
    """The last day of each of `count` equal parts of the year."""
    start = date(year, 1, 1)
    length = (date(year + 1, 1, 1) - start).days
    return [start + timedelta(days=round(length * k / count) - 1) for k in range(1, count + 1)]


def plan_state(*, year: int, due: int, done: int, on: date) -> tuple[PlanState, date | None]:
    if done >= due:
        return "complete", None
    ends = period_ends(year, due)
    next_due_by = ends[done]
    if on > next_due_by:
        return "overdue", next_due_by
    period_start = ends[done - 1] + timedelta(days=1) if done else date(year, 1, 1)
    return ("due" if on >= period_start else "planned"), next_due_by


def _township_in_scope(session: Session, principal: Principal, township_id: str | None) -> str:
    principal.ensure_role(*READERS)
    township_id = township_id or principal.township_id
    if not township_id:
        raise Invalid("township_id", "required for a county caller")
    place = find_place(session, place_directory, township_id)
    if place is None or place.level != "township":
        raise NotFound()
    principal.ensure_sees(county_id=place.county_id, township_id=township_id)
    return township_id


def township_plan(
    *, session: Session, principal: Principal, township_id: str | None, on: date
) -> TownshipPlan:
    township_id = _township_in_scope(session, principal, township_id)
    year = on.year
    businesses = session.exec(
        select(DirectoryBusiness)
        .where(col(DirectoryBusiness.township_id) == township_id, col(DirectoryBusiness.status).in_(ACTIVE))
        .order_by(col(DirectoryBusiness.name), col(DirectoryBusiness.id))
    ).all()
    inspected_on = col(Inspection.inspected_on)
    done = {
        business_id: (count, last)
        for business_id, count, last in session.execute(
            sa.select(col(Inspection.business_id), sa.func.count(), sa.func.max(inspected_on))
            .where(
                col(Inspection.township_id) == township_id,
                inspected_on >= date(year, 1, 1),
                inspected_on <= on,
            )
            .group_by(col(Inspection.business_id))
        ).all()
    }
    lines = []
    for business in businesses:
        with dated_by("on"):
            rule = inspection_frequency.rule_for(business.county_id, on)
        due = inspection_frequency.due_per_year(business.risk_level, rule)
        count, last = done.get(business.id, (0, None))
        state, next_due_by = plan_state(year=year, due=due, done=count, on=on)
        lines.append(
            PlanLine(
                business_id=business.id,
                name=business.name,
                kind=business.kind,
                risk_level=business.risk_level,
                due_this_year=due,
                done_this_year=count,
                last_inspected_on=last,
                next_due_by=next_due_by,
                state=state,
            )
        )
    return TownshipPlan(
        township_id=township_id,
        year=year,
        on=on,
        due_total=sum(line.due_this_year for line in lines),
        done_total=sum(min(line.done_this_year, line.due_this_year) for line in lines),
        overdue_businesses=sum(1 for line in lines if line.state == "overdue"),
        lines=lines,
    )


# ---- worklist ------------------------------------------------------------------------------------


def worklist(
    *,
    session: Session,
    principal: Principal,
    township_id: str | None,
    on: date,
    reinspect_within_days: int = 3,
) -> Worklist:
    """What an inspector (or the township office) has to do: urgent tasks, planned inspections due
    or overdue, re-inspections of orders whose deadline is near or past, and complaints to follow up
    (for an inspector, those assigned to them). Overdue first, urgent tasks first, then by date."""
    township_id = _township_in_scope(session, principal, township_id)
    names: dict[uuid.UUID, str] = {
        business_id: name
        for business_id, name in session.execute(
            sa.select(col(DirectoryBusiness.id), col(DirectoryBusiness.name)).where(
                col(DirectoryBusiness.township_id) == township_id
            )
        ).all()
    }
    items = [
        *_urgent_tasks(session, township_id, names, on=on),
        *_reinspections(session, township_id, names, on=on, within_days=reinspect_within_days),
        *_complaint_followups(session, principal, township_id, names, on=on),
        *_planned(session, principal, township_id, on=on),
    ]
    order = {"overdue": 0, "due": 1}
    items.sort(key=lambda item: (order[item.state], item.what != "urgent_task", item.due_by or on))
    inspector = principal.subject if principal.role is Role.inspector else None
    return Worklist(township_id=township_id, inspector=inspector, on=on, items=items)


def _due_or_overdue(on: date, due_by: date) -> WorkState:
    return "overdue" if on > due_by else "due"


def _urgent_tasks(
    session: Session, township_id: str, names: dict[uuid.UUID, str], *, on: date
) -> Iterator[WorkItem]:
    for task in session.exec(
        select(InspectionTask)
        .where(InspectionTask.township_id == township_id, InspectionTask.status == "open")
        .order_by(col(InspectionTask.due_on))
    ):
        yield WorkItem(
            what="urgent_task",
            state=_due_or_overdue(on, task.due_on),
            business_id=task.business_id,
            business_name=names.get(task.business_id),
            due_by=task.due_on,
            reference_id=task.id,
            detail=task.reason,
        )


def _reinspections(
    session: Session, township_id: str, names: dict[uuid.UUID, str], *, on: date, within_days: int
) -> Iterator[WorkItem]:
    """Open orders whose deadline is past or within `within_days`: the visit that verifies them."""
    horizon = on + timedelta(days=within_days)
    for order in session.exec(
        select(RectificationOrder)
        .where(
            RectificationOrder.township_id == township_id,
            RectificationOrder.status == "open",
            RectificationOrder.deadline <= horizon,
        )
        .order_by(col(RectificationOrder.deadline))
    ):
        yield WorkItem(
            what="reinspection",
            state=_due_or_overdue(on, order.deadline),
            business_id=order.business_id,
            business_name=names.get(order.business_id),
            due_by=order.deadline,
            reference_id=order.id,
            detail=f"{order.item_code} {order.item_text}",
        )


def _complaint_followups(
    session: Session, principal: Principal, township_id: str, names: dict[uuid.UUID, str], *, on: date
) -> Iterator[WorkItem]:
    """Accepted complaints not yet followed up; an inspector sees those assigned to them."""
    complaints = select(Complaint).where(
        Complaint.township_id == township_id,
        Complaint.status == "accepted",
        col(Complaint.followed_up_on).is_(None),
    )
    if principal.role is Role.inspector:
        complaints = complaints.where(Complaint.assignee == principal.subject)
    for complaint in session.exec(complaints.order_by(col(Complaint.verify_due))):
        yield WorkItem(
            what="complaint_followup",
            state=_due_or_overdue(on, complaint.verify_due),
            business_id=complaint.business_id,
            business_name=names.get(complaint.business_id) if complaint.business_id else None,
            due_by=complaint.verify_due,
            reference_id=complaint.id,
            detail=complaint.content[:200],
        )


def _planned(session: Session, principal: Principal, township_id: str, *, on: date) -> Iterator[WorkItem]:
    """The plan's businesses whose next inspection is due or overdue."""
    plan = township_plan(session=session, principal=principal, township_id=township_id, on=on)
    for line in plan.lines:
        if line.state in ("due", "overdue"):
            yield WorkItem(
                what="planned_inspection",
                state=line.state,
                business_id=line.business_id,
                business_name=line.name,
                due_by=line.next_due_by,
                detail=f"risk {line.risk_level}: {line.done_this_year}/{line.due_this_year} this year",
            )


# ---- coverage of the grading system --------------------------------------------------------------


def coverage(*, session: Session, principal: Principal, on: date) -> Coverage:
    principal.ensure_role(*READERS)
    since = grade_blackout.add_months(on, -12)
    township_of = col(DirectoryBusiness.township_id)
    conditions = [
        col(DirectoryBusiness.county_id) == principal.county_id,
        col(DirectoryBusiness.status).in_(ACTIVE),
    ]
    if principal.role is not Role.county:
        conditions.append(township_of == principal.township_id)
    registered: dict[str, int] = {
        name: count
        for name, count in session.execute(
            sa.select(township_of, sa.func.count()).where(*conditions).group_by(township_of)
        ).all()
    }
    graded_ids = (
        sa.select(col(Inspection.business_id))
        .where(
            col(Inspection.dynamic_grade).is_not(None),
            col(Inspection.inspected_on) > since,
            col(Inspection.inspected_on) <= on,
        )
        .distinct()
    )
    graded: dict[str, int] = {
        name: count
        for name, count in session.execute(
            sa.select(township_of, sa.func.count())
            .where(*conditions, col(DirectoryBusiness.id).in_(graded_ids))
            .group_by(township_of)
        ).all()
    }
    townships = [
        TownshipCoverage(
            township_id=township,
            registered=int(registered[township]),
            graded=int(graded.get(township, 0)),
            ratio=round(int(graded.get(township, 0)) / int(registered[township]), 4),
        )
        for township in sorted(registered)
    ]
    return Coverage(on=on, since=since, townships=townships)
