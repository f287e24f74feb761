"""The register's reactions to other services' events: an inspection's grade moves the risk level,
an incident puts the business it names under investigation (and the worst suspend it)."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from services.registry.businesses.commands import set_status, updated_event
from services.registry.businesses.models import Business, GradeRecord
from services.registry.businesses.queries import grades
from services.registry.rules import investigation, risk_level
from shared import changes
from shared.auth import incident_reaches
from shared.catalogue.alerts import IncidentReported
from shared.catalogue.inspection import InspectionCompleted
from shared.catalogue.registry import BusinessGraded, BusinessRiskChanged
from shared.clock import to_local
from shared.events import Envelope

SYSTEM_ACTOR = "system:registry"


def _business_of_event(
    session: Session, envelope: Envelope, business_id: uuid.UUID | None
) -> Business | None:
    if business_id is None:
        return None
    business = session.get(Business, business_id, with_for_update=True)  # as the commands lock it
    if business is None or business.county_id != envelope.county_id:
        return None
    return business


def on_inspection_completed(session: Session, envelope: Envelope, payload: InspectionCompleted) -> None:
    """Record the dynamic grade in the history and move the risk level per the rule table."""
    business = _business_of_event(session, envelope, payload.business_id)
    if business is None:
        return
    if session.exec(select(GradeRecord).where(GradeRecord.inspection_id == payload.inspection_id)).first():
        return
    record = GradeRecord(
        business_id=business.id,
        inspection_id=payload.inspection_id,
        inspected_on=payload.inspected_on,
        kind=payload.kind,
        outcome=payload.outcome,
        action=payload.action,
        score=payload.score,
        dynamic_grade=payload.dynamic_grade,
        inspector=payload.inspector,
    )
    session.add(record)
    session.flush()
    actor = envelope.actor or SYSTEM_ACTOR
    changes.record(
        session,
        business,
        actor=actor,
        action="business.graded",
        detail=payload.model_dump(mode="json"),
        event=BusinessGraded(
            business_id=business.id,
            inspection_id=payload.inspection_id,
            inspected_on=payload.inspected_on,
            dynamic_grade=payload.dynamic_grade,
            score=payload.score,
        ),
        correlation_id=envelope.event_id,
    )
    rule = risk_level.rule_for(business.county_id, payload.inspected_on)
    recent = [grade.dynamic_grade for grade in grades(session=session, business=business)]
    new_level = risk_level.adjusted_risk_level(
        kind=business.kind,
        current=business.risk_level,
        outcome=payload.outcome,
        action=payload.action,
        recent_grades=recent[: max(rule.lower_after_excellent_in_a_row, 1)],
        rule=rule,
    )
    if new_level == business.risk_level:
        return
    previous = business.risk_level
    business.risk_level = new_level
    session.add(business)
    reason = f"inspection {payload.inspection_id}: {payload.outcome}, grade {payload.dynamic_grade or 'none'}"
    changes.record(
        session,
        business,
        actor=actor,
        action="business.risk_changed",
        detail={"from": previous, "to": new_level, "reason": reason},
        event=BusinessRiskChanged(
            business_id=business.id,
            risk_level=new_level,
            previous_risk_level=previous,
            reason=reason,
        ),
        correlation_id=envelope.event_id,
    )


def on_incident_reported(session: Session, envelope: Envelope, payload: IncidentReported) -> None:
    """Flag the named business under investigation; a level III or worse incident suspends it.

    Only a business inside what the reporter may act on: the incident's township, and for a
    village coordinator's report their village (alerts refuses any other, this is the second
    lock should an event say otherwise)."""
    business = _business_of_event(session, envelope, payload.business_id)
    if business is None or business.status == "closed":
        return
    # shared.auth.Placed declares settable attributes, so a business whose township_id is never None
    # does not match it; incident_reaches only reads them (to be fixed in shared.auth)
    if not incident_reaches(envelope, payload.village_id, business):
        return
    actor = envelope.actor or SYSTEM_ACTOR
    rule = investigation.rule_for(business.county_id, to_local(payload.reported_at).date())
    if investigation.suspends(payload.level, rule) and business.status == "active":
        set_status(
            session,
            business,
            "suspended",
            f"incident {payload.incident_id} (level {payload.level}): pending the township's decision",
            actor,
        )
    if not business.under_investigation:
        business.under_investigation = True
        session.add(business)
        session.flush()
        changes.record(
            session,
            business,
            actor=actor,
            action="business.under_investigation",
            detail={"incident_id": str(payload.incident_id)},
            event=updated_event(business),
            correlation_id=envelope.event_id,
        )
