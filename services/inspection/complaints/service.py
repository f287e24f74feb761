"""Complaints and reports: intake with working-day deadlines, acceptance or refusal, assignment,
the follow-up inspection, closure; and the once-only notice of a missed deadline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.inspection.complaints.models import (
    Assignment,
    Closure,
    Complaint,
    ComplaintCreate,
    ComplaintRead,
    Decision,
)
from services.inspection.complaints.working_days import china_calendar
from services.inspection.database import place_directory
from services.inspection.directory import service as directory
from services.inspection.rules import complaint_deadline
from shared import changes
from shared.auth import Principal, Role, load_in_scope
from shared.catalogue.inspection import (
    ComplaintAccepted,
    ComplaintAssigned,
    ComplaintClosed,
    ComplaintDeadlineMissed,
    ComplaintFollowedUp,
    ComplaintReceived,
)
from shared.clock import Clock, local_today, to_local
from shared.db import Database, claim
from shared.errors import Invalid, NotFound
from shared.places import find_place
from shared.rules import dated_by

INTAKE = (Role.county, Role.township, Role.inspector)
DECIDERS = (Role.county, Role.township)
READERS = (Role.county, Role.township, Role.inspector)
SYSTEM_ACTOR = "system:inspection"
DeadlineKind = Literal["accept", "verify"]


def receive(*, session: Session, principal: Principal, data: ComplaintCreate, clock: Clock) -> Complaint:
    principal.ensure_role(*INTAKE)
    now = clock.now()
    received_at = data.received_at or now
    if received_at > now:
        raise Invalid("received_at", "cannot be in the future")
    township_id = data.township_id or principal.township_id
    if data.business_id is not None:
        business = directory.get(session=session, principal=principal, business_id=data.business_id)
        if business is None:
            raise Invalid("business_id", "unknown business")
        if data.township_id and data.township_id != business.township_id:
            raise Invalid("township_id", "the business is in another township")
        township_id = business.township_id
    if not township_id:
        raise Invalid("township_id", "required: the township that handles the complaint")
    place = find_place(session, place_directory, township_id)
    if (
        place is None
        or place.level != "township"
        or not principal.sees(county_id=place.county_id, township_id=township_id)
    ):
        raise Invalid("township_id", "unknown township")
    received_on = to_local(received_at).date()
    with dated_by("received_at"):
        rule = complaint_deadline.rule_for(principal.county_id, received_on)
    calendar = china_calendar()
    complaint = Complaint(
        county_id=principal.county_id,
        township_id=township_id,
        business_id=data.business_id,
        channel=data.channel,
        kind=data.kind,
        complainant=data.complainant,
        contact=data.contact,
        content=data.content.strip(),
        received_at=received_at,
        received_on=received_on,
        accept_due=calendar.add_working_days(received_on, rule.accept_working_days),
        verify_due=calendar.add_working_days(received_on, rule.verify_working_days),
        received_by=principal.actor,
    )
    session.add(complaint)
    session.flush()
    changes.record(
        session,
        complaint,
        actor=principal.actor,
        action="complaint.received",
        detail={"channel": data.channel},
        event=ComplaintReceived(
            complaint_id=complaint.id,
            channel=data.channel,
            kind=data.kind,
            business_id=complaint.business_id,
            received_on=received_on,
            accept_due=complaint.accept_due,
            verify_due=complaint.verify_due,
        ),
    )
    session.commit()
    return complaint


def decide(
    *, session: Session, principal: Principal, complaint_id: uuid.UUID, data: Decision, clock: Clock
) -> Complaint:
    principal.ensure_role(*DECIDERS)
    complaint = get(session=session, principal=principal, complaint_id=complaint_id)
    if complaint.status != "received":
        raise Invalid("accept", f"the complaint was already {complaint.status}")
    reason = (data.reason or "").strip() or None
    if not data.accept and reason is None:
        raise Invalid("reason", "a refusal needs its reason")
    today = local_today(clock)
    complaint.status = "accepted" if data.accept else "refused"
    complaint.decided_on = today
    complaint.refusal_reason = None if data.accept else reason
    session.add(complaint)
    changes.record(
        session,
        complaint,
        actor=principal.actor,
        action=f"complaint.{complaint.status}",
        detail={"reason": reason},
        event=ComplaintAccepted(
            complaint_id=complaint.id,
            accepted=data.accept,
            reason=reason,
            decided_on=today,
            on_time=today <= complaint.accept_due,
        ),
    )
    session.commit()
    return complaint


def assign(*, session: Session, principal: Principal, complaint_id: uuid.UUID, data: Assignment) -> Complaint:
    principal.ensure_role(*DECIDERS)
    complaint = get(session=session, principal=principal, complaint_id=complaint_id)
    if complaint.status != "accepted":
        raise Invalid("assignee", f"only an accepted complaint is assigned (it is {complaint.status})")
    complaint.assignee = data.assignee.strip()
    session.add(complaint)
    changes.record(
        session,
        complaint,
        actor=principal.actor,
        action="complaint.assigned",
        detail={"assignee": complaint.assignee},
        event=ComplaintAssigned(complaint_id=complaint.id, assignee=complaint.assignee),
    )
    session.commit()
    return complaint


def close(
    *, session: Session, principal: Principal, complaint_id: uuid.UUID, data: Closure, clock: Clock
) -> Complaint:
    principal.ensure_role(*DECIDERS)
    complaint = get(session=session, principal=principal, complaint_id=complaint_id)
    if complaint.status != "accepted":
        raise Invalid("result", f"only an accepted complaint is closed (it is {complaint.status})")
    today = local_today(clock)
    complaint.status = "closed"
    complaint.closed_on = today
    complaint.result = data.result.strip()
    session.add(complaint)
    changes.record(
        session,
        complaint,
        actor=principal.actor,
        action="complaint.closed",
        detail={"result": complaint.result},
        event=ComplaintClosed(
            complaint_id=complaint.id,
            result=complaint.result,
            closed_on=today,
            in_time=(complaint.followed_up_on or today) <= complaint.verify_due,
        ),
    )
    session.commit()
    return complaint


def check_followup(
    *, session: Session, principal: Principal, complaint_id: uuid.UUID, business_id: uuid.UUID
) -> Complaint:
    """The complaint an inspection follows up: in scope, accepted, about this business (if it names one)."""
    try:
        complaint = load_in_scope(session, principal, Complaint, complaint_id, village_level=False)
    except NotFound:
        raise Invalid("complaint_id", "unknown complaint") from None
    if complaint.status != "accepted":
        raise Invalid("complaint_id", f"the complaint is {complaint.status}, not accepted")
    if complaint.business_id is not None and complaint.business_id != business_id:
        raise Invalid("complaint_id", "the complaint is about another business")
    return complaint


def link_followup(
    session: Session,
    *,
    complaint: Complaint,
    inspection_id: uuid.UUID,
    business_id: uuid.UUID,
    inspected_on: date,
    actor: str,
) -> None:
    """Record the follow-up inspection (the first one verifies the complaint)."""
    if complaint.followup_inspection_id is not None:
        return
    complaint.followup_inspection_id = inspection_id
    complaint.followed_up_on = inspected_on
    complaint.business_id = complaint.business_id or business_id
    session.add(complaint)
    changes.record(
        session,
        complaint,
        actor=actor,
        action="complaint.followed_up",
        detail={"inspection_id": str(inspection_id)},
        event=ComplaintFollowedUp(
            complaint_id=complaint.id,
            inspection_id=inspection_id,
            business_id=business_id,
            inspected_on=inspected_on,
            on_time=inspected_on <= complaint.verify_due,
        ),
    )


# ---- durable deadlines ---------------------------------------------------------------------------


@dataclass
class MissedRun:
    accept: int = 0
    verify: int = 0


def check_deadlines(db: Database, *, today: date, now: datetime) -> MissedRun:
    """Announce each missed deadline once: not accepted or refused by `accept_due`; accepted and
    neither followed up nor closed by `verify_due`. A conditional UPDATE claims each notice."""
    run = MissedRun()
    checks: tuple[tuple[DeadlineKind, Any, Any, list[sa.ColumnElement[bool]]], ...] = (
        (
            "accept",
            col(Complaint.accept_missed_at),
            col(Complaint.accept_due),
            [col(Complaint.status) == "received"],
        ),
        (
            "verify",
            col(Complaint.verify_missed_at),
            col(Complaint.verify_due),
            [col(Complaint.status) == "accepted", col(Complaint.followed_up_on).is_(None)],
        ),
    )
    for kind, marker, due, conditions in checks:
        with db.session() as session:
            missed = sa.select(col(Complaint.id)).where(marker.is_(None), due < today, *conditions)
            rows = session.execute(missed).scalars().all()
            for complaint_id in rows:
                if not claim(
                    session, Complaint, complaint_id, marker.is_(None), *conditions, **{marker.key: now}
                ):
                    continue
                complaint = session.get(Complaint, complaint_id)
                assert complaint is not None
                due_on = complaint.accept_due if kind == "accept" else complaint.verify_due
                setattr(run, kind, getattr(run, kind) + 1)
                changes.record(
                    session,
                    complaint,
                    actor=SYSTEM_ACTOR,
                    action="complaint.deadline_missed",
                    detail={"deadline": kind},
                    event=ComplaintDeadlineMissed(
                        complaint_id=complaint.id,
                        business_id=complaint.business_id,
                        deadline_kind=kind,
                        due_on=due_on,
                    ),
                )
    return run


# ---- reading -------------------------------------------------------------------------------------


def _scope(principal: Principal) -> list[sa.ColumnElement[bool]]:
    return [principal.scope(Complaint, village_level=False)]


def get(*, session: Session, principal: Principal, complaint_id: uuid.UUID) -> Complaint:
    principal.ensure_role(*READERS)
    return load_in_scope(session, principal, Complaint, complaint_id, village_level=False)


def search(
    *, session: Session, principal: Principal, offset: int, limit: int, status_: str | None = None
) -> tuple[list[Complaint], int]:
    principal.ensure_role(*READERS)
    conditions = _scope(principal)
    if status_:
        conditions.append(col(Complaint.status) == status_)
    total = session.exec(select(sa.func.count()).select_from(Complaint).where(*conditions)).one()
    rows = session.exec(
        select(Complaint)
        .where(*conditions)
        .order_by(col(Complaint.received_at).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(total)


def to_read(complaint: Complaint) -> ComplaintRead:
    return ComplaintRead.model_validate(complaint).model_copy(
        update={
            "accept_missed": complaint.accept_missed_at is not None,
            "verify_missed": complaint.verify_missed_at is not None,
        }
    )
