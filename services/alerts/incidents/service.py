"""The incident lifecycle: reported -> acknowledged -> responding -> contained -> closed.

Every command checks the caller (role 403, scope 404, input 422 with nothing written), then writes
its change, the timeline entry, the audit line and the typed event in one transaction, together
with whatever escalation follows (see `escalation.service`).
"""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from services.alerts.alerts import service as alerts
from services.alerts.database import place_directory
from services.alerts.directory import service as directory
from services.alerts.escalation import service as escalation
from services.alerts.incidents import grouping, timeline
from services.alerts.incidents.models import (
    OPEN_STATUSES,
    CountsUpdate,
    Incident,
    IncidentCreate,
    IncidentReport,
    ResponseStats,
    ResponseTimes,
    TimelineEntry,
    TownshipResponse,
)
from services.alerts.incidents.rules import LEVEL_ORDER, Level, classify, rule_for
from shared import audit
from shared.auth import Principal, Role
from shared.catalogue.alerts import (
    AlertAcknowledged,
    IncidentClosed,
    IncidentCountsUpdated,
    IncidentLevelChanged,
    IncidentProgressed,
    IncidentReported,
)
from shared.clock import Clock, local_today, to_local
from shared.errors import Conflict, Invalid, NotFound
from shared.outbox import emit
from shared.places import find_place

REPORTERS = (Role.county, Role.township, Role.inspector, Role.village)
ACKNOWLEDGERS = (Role.county, Role.township)
RESPONDERS = (Role.county, Role.township, Role.inspector)
CLOSERS = (Role.county, Role.township)
STATUS_RANK = {"reported": 0, "acknowledged": 1, "responding": 2, "contained": 3, "closed": 4}
DEFAULT_REPORTER_KIND = {
    Role.village: "village_coordinator",
    Role.township: "township",
    Role.county: "county",
    Role.inspector: "inspector",
}


@dataclass(frozen=True)
class Reported:
    incident: Incident
    created: bool  # False: the report was grouped into an incident already open


# --- reporting ------------------------------------------------------------------------------------


def report(
    *,
    session: Session,
    principal: Principal,
    data: IncidentCreate,
    clock: Clock,
    escalator: escalation.Escalator | None = None,
) -> Reported:
    principal.ensure_role(*REPORTERS)
    escalator = escalator or escalation.Escalator()
    township = _check_places(session, principal, data)
    now = clock.now()
    if data.onset_at is not None and data.onset_at > now:
        raise Invalid("onset_at", "cannot be in the future")

    reporter_kind = data.reporter_kind or DEFAULT_REPORTER_KIND.get(principal.role)
    _one_report_at_a_time(session, data.township_id)
    existing = _same_outbreak(session, principal, data, county_id=township.county_id, now=now)
    if existing is not None:
        _add_report(
            session, escalator, existing, data, principal=principal, reporter_kind=reporter_kind, now=now
        )
        session.commit()
        return Reported(existing, created=False)

    level = classify(
        ill=data.ill_count,
        deaths=data.death_count,
        place_kind=data.place_kind,
        crosses_province=data.crosses_province,
        rule=rule_for(township.county_id, local_today(clock)),
    )
    incident = Incident(
        county_id=township.county_id,
        township_id=township.place_id,
        village_id=data.village_id,
        address=data.address,
        business_id=data.business_id,
        banquet_id=data.banquet_id,
        place_kind=data.place_kind,
        ill_count=data.ill_count,
        hospitalised_count=data.hospitalised_count,
        death_count=data.death_count,
        crosses_province=data.crosses_province,
        level=level,
        description=data.description,
        suspected_food=data.suspected_food,
        onset_at=data.onset_at,
        reported_at=now,
        reported_by=principal.actor,
        reporter_kind=reporter_kind,
        reporter_name=data.reporter_name,
        reporter_contact=data.reporter_contact,
    )
    session.add(incident)
    session.flush()
    session.add(_report_row(incident.id, data, principal=principal, reporter_kind=reporter_kind, now=now))
    timeline.add(
        session,
        incident,
        kind="reported",
        actor=principal.actor,
        at=now,
        level=level,
        ill_count=data.ill_count,
        hospitalised_count=data.hospitalised_count,
        death_count=data.death_count,
    )
    audit.record(
        session,
        actor=principal.actor,
        action="incident.reported",
        entity="incident",
        entity_id=str(incident.id),
        county_id=incident.county_id,
        township_id=incident.township_id,
        detail={**data.model_dump(mode="json"), "level": level},
    )
    emit(
        session,
        IncidentReported(
            incident_id=incident.id,
            village_id=incident.village_id,
            business_id=incident.business_id,
            place_kind=incident.place_kind,
            ill_count=incident.ill_count,
            death_count=incident.death_count,
            level=level,
            reported_at=now,
            description=incident.description,
            hospitalised_count=incident.hospitalised_count,
            banquet_id=incident.banquet_id,
            onset_at=incident.onset_at,
            suspected_food=incident.suspected_food,
            seconds_since_onset=timeline.seconds_since(incident.onset_at, now),
        ),
        county_id=incident.county_id,
        township_id=incident.township_id,
        actor=principal.actor,
        occurred_at=now,
        correlation_id=incident.id,
    )
    escalation.start(session, escalator, incident, now=now, actor=principal.actor)
    alerts.suppress_for_incident(session, incident, now)
    session.add(incident)
    session.commit()
    return Reported(incident, created=True)


def _check_places(session: Session, principal: Principal, data: IncidentCreate) -> sa.Row:
    """The township of the report, once every place the report names is one the reporter may
    name: their township (a village coordinator: their village, and only a business or banquet of
    it). A record elsewhere is refused exactly as one that does not exist, so a report cannot probe
    other places, and nothing it causes (grouping, suspension) reaches beyond the reporter."""
    township = find_place(session, place_directory, data.township_id)
    if (
        township is None
        or township.level != "township"
        or township.county_id != principal.county_id
        or (principal.role is not Role.county and township.place_id != principal.township_id)
    ):
        raise Invalid("township_id", f"unknown township {data.township_id!r} in your area")
    village_only = principal.role is Role.village
    if village_only and data.village_id != principal.village_id:
        raise Invalid("village_id", "a village coordinator reports for their own village")
    if data.village_id is not None:
        village = find_place(session, place_directory, data.village_id)
        if village is None or village.level != "village" or village.parent_id != township.place_id:
            raise Invalid("village_id", f"unknown village {data.village_id!r} in {data.township_id}")
    area = "your village" if village_only else data.township_id
    if data.business_id is not None:
        business = directory.get(session, data.business_id)
        if (
            business is None
            or business.county_id != township.county_id
            or business.township_id != township.place_id
            or (village_only and business.village_id != principal.village_id)
        ):
            raise Invalid("business_id", f"no business {data.business_id} is registered in {area}")
    if data.banquet_id is not None:
        banquet = directory.get_banquet(session, data.banquet_id)
        if (
            banquet is None
            or banquet.county_id != township.county_id
            or banquet.township_id != township.place_id
            or (village_only and banquet.village_id != principal.village_id)
        ):
            raise Invalid("banquet_id", f"no banquet {data.banquet_id} is filed in {area}")
    return township


def _report_row(
    incident_id: uuid.UUID,
    data: IncidentCreate,
    *,
    principal: Principal,
    reporter_kind: str | None,
    now: datetime,
) -> IncidentReport:
    return IncidentReport(
        incident_id=incident_id,
        reported_at=now,
        reported_by=principal.actor,
        reporter_kind=reporter_kind,
        reporter_name=data.reporter_name,
        reporter_contact=data.reporter_contact,
        ill_count=data.ill_count,
        hospitalised_count=data.hospitalised_count,
        death_count=data.death_count,
        onset_at=data.onset_at,
        description=data.description,
    )


def _one_report_at_a_time(session: Session, township_id: str) -> None:
    """Reports in one township are grouped one at a time: two reports of one outbreak arriving
    together must not both open an incident, nor both add to one and keep only one count. SQLite
    serialises writers already; PostgreSQL takes a lock held until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        key = f"shian.incident-grouping:{township_id}"
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def _same_outbreak(
    session: Session, principal: Principal, data: IncidentCreate, *, county_id: str, now: datetime
) -> Incident | None:
    """An open incident this report is another report of, by the grouping rule table: only among
    the incidents the reporter may read, since the answer is the incident grouped into (its
    description, its reporters) and the report raises its counts and level."""
    rule = grouping.rule_for(county_id, to_local(now).date())
    keys = []
    if rule.by_business and data.business_id is not None:
        keys.append(Incident.business_id == data.business_id)
    if rule.by_banquet and data.banquet_id is not None:
        keys.append(Incident.banquet_id == data.banquet_id)
    if (
        rule.by_village_and_place_kind
        and data.business_id is None
        and data.banquet_id is None
        and data.village_id is not None
    ):
        keys.append(sa.and_(Incident.village_id == data.village_id, Incident.place_kind == data.place_kind))
    if not keys:
        return None
    return session.exec(
        select(Incident)
        .where(
            scope_condition(principal),
            Incident.township_id == data.township_id,
            Incident.status.in_(OPEN_STATUSES),  # type: ignore[attr-defined]
            Incident.reported_at >= now - timedelta(hours=rule.window_hours),
            sa.or_(*keys),
        )
        .order_by(Incident.reported_at)  # type: ignore[arg-type]
        .with_for_update()
    ).first()


def _add_report(
    session: Session,
    escalator: escalation.Escalator,
    incident: Incident,
    data: IncidentCreate,
    *,
    principal: Principal,
    reporter_kind: str | None,
    now: datetime,
) -> None:
    session.add(_report_row(incident.id, data, principal=principal, reporter_kind=reporter_kind, now=now))
    incident.report_count += 1
    if data.onset_at is not None and (incident.onset_at is None or data.onset_at < incident.onset_at):
        incident.onset_at = data.onset_at
    timeline.add(
        session,
        incident,
        kind="report_added",
        actor=principal.actor,
        at=now,
        report=incident.report_count,
        ill_count=data.ill_count,
        hospitalised_count=data.hospitalised_count,
        death_count=data.death_count,
    )
    audit.record(
        session,
        actor=principal.actor,
        action="incident.report_added",
        entity="incident",
        entity_id=str(incident.id),
        county_id=incident.county_id,
        township_id=incident.township_id,
        detail=data.model_dump(mode="json"),
    )
    _apply_counts(
        session,
        escalator,
        incident,
        actor=principal.actor,
        now=now,
        ill=max(incident.ill_count, data.ill_count),
        hospitalised=max(incident.hospitalised_count, data.hospitalised_count),
        deaths=max(incident.death_count, data.death_count),
        crosses_province=incident.crosses_province or data.crosses_province,
    )


# --- the lifecycle --------------------------------------------------------------------------------


def _load(
    session: Session, principal: Principal, incident_id: uuid.UUID, *, for_update: bool = False
) -> Incident:
    """The incident in the caller's scope; a command locks its row (PostgreSQL: FOR UPDATE; SQLite
    writers are serialised already), so two changes at once never overwrite each other's."""
    query = select(Incident).where(Incident.id == incident_id, scope_condition(principal))
    incident = session.exec(query.with_for_update() if for_update else query).first()
    if incident is None:
        raise NotFound()
    return incident


def _open(incident: Incident) -> None:
    if incident.status == "closed":
        raise Conflict("status", "the incident is closed")


def acknowledge(
    *,
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    note: str | None,
    clock: Clock,
    escalator: escalation.Escalator | None = None,
) -> Incident:
    principal.ensure_role(*ACKNOWLEDGERS)
    incident = _load(session, principal, incident_id, for_update=True)
    _open(incident)
    if not incident.awaiting_ack:
        raise Conflict("status", f"already acknowledged by {incident.acknowledged_by}")
    now = clock.now()
    _acknowledge(session, incident, actor=principal.actor, now=now, note=note)
    escalation.acknowledged(session, incident, now=now)
    session.add(incident)
    session.commit()
    metrics = (escalator or escalation.Escalator()).metrics
    if metrics is not None and incident.first_acknowledged_at == now:
        metrics.time_to_acknowledge.labels(incident.township_id, incident.level).observe(
            (now - incident.reported_at).total_seconds()
        )
    return incident


def _acknowledge(
    session: Session, incident: Incident, *, actor: str, now: datetime, note: str | None
) -> None:
    previous = incident.status
    incident.awaiting_ack = False
    incident.acknowledged_at = now
    incident.acknowledged_by = actor
    if incident.first_acknowledged_at is None:
        incident.first_acknowledged_at = now
    if incident.status == "reported":
        incident.status = "acknowledged"
    timeline.add(
        session,
        incident,
        kind="acknowledged",
        actor=actor,
        at=now,
        step=incident.escalation_step,
        previous=previous,
        note=note,
    )
    audit.record(
        session,
        actor=actor,
        action="alert.acknowledged",
        entity="incident",
        entity_id=str(incident.id),
        county_id=incident.county_id,
        township_id=incident.township_id,
        detail={"note": note, "step": incident.escalation_step},
    )
    emit(
        session,
        AlertAcknowledged(
            incident_id=incident.id,
            acknowledged_by=actor,
            level=incident.level,  # type: ignore[arg-type]
            seconds_since_onset=timeline.seconds_since(incident.onset_at, now),
            seconds_since_report=timeline.seconds_since(incident.reported_at, now) or 0.0,
        ),
        county_id=incident.county_id,
        township_id=incident.township_id,
        actor=actor,
        occurred_at=now,
        correlation_id=incident.id,
    )


def progress(
    *,
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    new_status: str,
    note: str | None,
    clock: Clock,
) -> Incident:
    """Responding or contained; forward only. Responding without an acknowledgement acknowledges."""
    principal.ensure_role(*RESPONDERS)
    incident = _load(session, principal, incident_id, for_update=True)
    _open(incident)
    if STATUS_RANK[new_status] <= STATUS_RANK[incident.status]:
        raise Conflict("status", f"cannot go from {incident.status} to {new_status}")
    now = clock.now()
    if incident.awaiting_ack:
        _acknowledge(session, incident, actor=principal.actor, now=now, note=None)
    previous = incident.status
    incident.status = new_status
    if new_status == "responding":
        incident.responding_at = now
    else:
        incident.contained_at = now
        incident.responding_at = incident.responding_at or now
    escalation.cancel_timers(session, incident.id, now)
    timeline.add(
        session,
        incident,
        kind="status_changed",
        actor=principal.actor,
        at=now,
        previous=previous,
        status=new_status,
        note=note,
    )
    audit.record(
        session,
        actor=principal.actor,
        action=f"incident.{new_status}",
        entity="incident",
        entity_id=str(incident.id),
        county_id=incident.county_id,
        township_id=incident.township_id,
        detail={"previous": previous, "note": note},
    )
    emit(
        session,
        IncidentProgressed(
            incident_id=incident.id,
            previous_status=previous,
            status=new_status,  # type: ignore[arg-type]
            seconds_since_onset=timeline.seconds_since(incident.onset_at, now),
            seconds_since_report=timeline.seconds_since(incident.reported_at, now) or 0.0,
        ),
        county_id=incident.county_id,
        township_id=incident.township_id,
        actor=principal.actor,
        occurred_at=now,
        correlation_id=incident.id,
    )
    session.add(incident)
    session.commit()
    return incident


def add_note(
    *, session: Session, principal: Principal, incident_id: uuid.UUID, text: str, clock: Clock
) -> TimelineEntry:
    principal.ensure_role(*REPORTERS)
    incident = _load(session, principal, incident_id, for_update=True)
    now = clock.now()
    entry = TimelineEntry(
        incident_id=incident.id, at=now, kind="note", actor=principal.actor, detail={"text": text}
    )
    session.add(entry)
    audit.record(
        session,
        actor=principal.actor,
        action="incident.note_added",
        entity="incident",
        entity_id=str(incident.id),
        county_id=incident.county_id,
        township_id=incident.township_id,
        detail={"text": text},
    )
    session.commit()
    return entry


def update_counts(
    *,
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    data: CountsUpdate,
    clock: Clock,
    escalator: escalation.Escalator | None = None,
) -> Incident:
    """New figures; the level is reclassified and a higher level escalates again at once."""
    principal.ensure_role(*REPORTERS)
    incident = _load(session, principal, incident_id, for_update=True)
    _open(incident)
    ill = incident.ill_count if data.ill_count is None else data.ill_count
    hospitalised = incident.hospitalised_count if data.hospitalised_count is None else data.hospitalised_count
    deaths = incident.death_count if data.death_count is None else data.death_count
    if hospitalised > ill:
        raise Invalid("hospitalised_count", f"cannot exceed ill_count ({ill})")
    if deaths > ill:
        raise Invalid("death_count", f"cannot exceed ill_count ({ill})")
    now = clock.now()
    audit.record(
        session,
        actor=principal.actor,
        action="incident.counts_updated",
        entity="incident",
        entity_id=str(incident.id),
        county_id=incident.county_id,
        township_id=incident.township_id,
        detail=data.model_dump(mode="json", exclude_none=True),
    )
    crosses = incident.crosses_province if data.crosses_province is None else data.crosses_province
    _apply_counts(
        session,
        escalator or escalation.Escalator(),
        incident,
        actor=principal.actor,
        now=now,
        ill=ill,
        hospitalised=hospitalised,
        deaths=deaths,
        crosses_province=crosses,
        note=data.note,
    )
    session.add(incident)
    session.commit()
    return incident


def _apply_counts(
    session: Session,
    escalator: escalation.Escalator,
    incident: Incident,
    *,
    actor: str,
    now: datetime,
    ill: int,
    hospitalised: int,
    deaths: int,
    crosses_province: bool,
    note: str | None = None,
) -> None:
    before = {
        "ill_count": incident.ill_count,
        "hospitalised_count": incident.hospitalised_count,
        "death_count": incident.death_count,
        "level": incident.level,
    }
    previous: Level = incident.level  # type: ignore[assignment]
    level = classify(
        ill=ill,
        deaths=deaths,
        place_kind=incident.place_kind,
        crosses_province=crosses_province,
        rule=rule_for(incident.county_id, to_local(now).date()),
    )
    incident.ill_count, incident.hospitalised_count, incident.death_count = ill, hospitalised, deaths
    incident.crosses_province = crosses_province
    incident.level = level
    since_onset = timeline.seconds_since(incident.onset_at, now)
    timeline.add(
        session,
        incident,
        kind="counts_updated",
        actor=actor,
        at=now,
        before=before,
        after={"ill_count": ill, "hospitalised_count": hospitalised, "death_count": deaths, "level": level},
        note=note,
    )
    emit(
        session,
        IncidentCountsUpdated(
            incident_id=incident.id,
            level=level,
            ill_count=ill,
            hospitalised_count=hospitalised,
            death_count=deaths,
            report_count=incident.report_count,
            seconds_since_onset=since_onset,
        ),
        county_id=incident.county_id,
        township_id=incident.township_id,
        actor=actor,
        occurred_at=now,
        correlation_id=incident.id,
    )
    if level == previous:
        return
    timeline.add(session, incident, kind="level_changed", actor=actor, at=now, previous=previous, level=level)
    emit(
        session,
        IncidentLevelChanged(
            incident_id=incident.id,
            previous_level=previous,
            level=level,
            ill_count=ill,
            death_count=deaths,
            seconds_since_onset=since_onset,
            hospitalised_count=hospitalised,
        ),
        county_id=incident.county_id,
        township_id=incident.township_id,
        actor=actor,
        occurred_at=now,
        correlation_id=incident.id,
    )
    if LEVEL_ORDER[level] < LEVEL_ORDER[previous]:
        escalation.raise_level(session, escalator, incident, previous=previous, now=now, actor=actor)


def close(
    *,
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    cause: str,
    note: str | None,
    clock: Clock,
    escalator: escalation.Escalator | None = None,
) -> Incident:
    principal.ensure_role(*CLOSERS)
    incident = _load(session, principal, incident_id, for_update=True)
    _open(incident)
    now = clock.now()
    previous = incident.status
    incident.status = "closed"
    incident.awaiting_ack = False
    incident.closed_at = now
    incident.closed_by = principal.actor
    incident.cause = cause
    escalation.cancel_timers(session, incident.id, now)
    alerts.release_for_incident(session, incident)
    timeline.add(
        session,
        incident,
        kind="closed",
        actor=principal.actor,
        at=now,
        previous=previous,
        cause=cause,
        note=note,
    )
    audit.record(
        session,
        actor=principal.actor,
        action="incident.closed",
        entity="incident",
        entity_id=str(incident.id),
        county_id=incident.county_id,
        township_id=incident.township_id,
        detail={"cause": cause, "note": note, "previous": previous},
    )
    since_report = timeline.seconds_since(incident.reported_at, now) or 0.0
    emit(
        session,
        IncidentClosed(
            incident_id=incident.id,
            cause=cause,
            seconds_since_onset=timeline.seconds_since(incident.onset_at, now),
            seconds_since_report=since_report,
            level=incident.level,  # type: ignore[arg-type]
            ill_count=incident.ill_count,
            hospitalised_count=incident.hospitalised_count,
            death_count=incident.death_count,
        ),
        county_id=incident.county_id,
        township_id=incident.township_id,
        actor=principal.actor,
        occurred_at=now,
        correlation_id=incident.id,
    )
    session.add(incident)
    session.commit()
    metrics = (escalator or escalation.Escalator()).metrics
    if metrics is not None:
        metrics.time_to_close.labels(incident.township_id, incident.level).observe(since_report)
    return incident


# --- reading --------------------------------------------------------------------------------------


def scope_condition(principal: Principal) -> sa.ColumnElement[bool]:
    return principal.scope(Incident)


def get(*, session: Session, principal: Principal, incident_id: uuid.UUID) -> Incident | None:
    return session.exec(
        select(Incident).where(Incident.id == incident_id, scope_condition(principal))
    ).first()


def list_incidents(
    *,
    session: Session,
    principal: Principal,
    offset: int,
    limit: int,
    state: str = "open",
    level: str | None = None,
    township_id: str | None = None,
) -> list[Incident]:
    """The responders' view: the most severe first, then the oldest (the longest waiting) first."""
    query = select(Incident).where(scope_condition(principal))
    if state == "open":
        query = query.where(Incident.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
    elif state == "closed":
        query = query.where(Incident.status == "closed")
    if level:
        query = query.where(Incident.level == level)
    if township_id:
        query = query.where(Incident.township_id == township_id)
    severity = sa.case(LEVEL_ORDER, value=Incident.level, else_=9)
    query = query.order_by(severity, Incident.reported_at).offset(offset).limit(limit)  # type: ignore[arg-type]
    return list(session.exec(query).all())


def timeline_of(*, session: Session, principal: Principal, incident_id: uuid.UUID) -> list[TimelineEntry]:
    incident = _load(session, principal, incident_id)
    return list(
        session.exec(
            select(TimelineEntry).where(TimelineEntry.incident_id == incident.id).order_by(TimelineEntry.id)  # type: ignore[arg-type]
        ).all()
    )


def reports_of(*, session: Session, principal: Principal, incident_id: uuid.UUID) -> list[IncidentReport]:
    incident = _load(session, principal, incident_id)
    return list(
        session.exec(
            select(IncidentReport)
            .where(IncidentReport.incident_id == incident.id)
            .order_by(IncidentReport.reported_at)  # type: ignore[arg-type]
        ).all()
    )


def response_stats(
    *, session: Session, principal: Principal, since: datetime | None, until: datetime | None
) -> ResponseStats:
    """Time to acknowledge and to close, per incident and per township, for incidents reported in
    the period (all, when none is given)."""
    query = select(Incident).where(scope_condition(principal))
    if since is not None:
        query = query.where(Incident.reported_at >= since)
    if until is not None:
        query = query.where(Incident.reported_at < until)
    rows = session.exec(query.order_by(Incident.township_id, Incident.reported_at)).all()  # type: ignore[arg-type]
    per_incident = [
        ResponseTimes(
            incident_id=row.id,
            township_id=row.township_id,
            level=row.level,  # type: ignore[arg-type]
            seconds_to_acknowledge=timeline.seconds_since(row.reported_at, row.first_acknowledged_at)
            if row.first_acknowledged_at
            else None,
            seconds_to_close=timeline.seconds_since(row.reported_at, row.closed_at)
            if row.closed_at
            else None,
        )
        for row in rows
    ]
    townships: dict[str, list[ResponseTimes]] = {}
    for times in per_incident:
        townships.setdefault(times.township_id, []).append(times)
    summary = []
    for township_id, items in sorted(townships.items()):
        acks = [i.seconds_to_acknowledge for i in items if i.seconds_to_acknowledge is not None]
        closes = [i.seconds_to_close for i in items if i.seconds_to_close is not None]
        summary.append(
            TownshipResponse(
                township_id=township_id,
                incidents=len(items),
                acknowledged=len(acks),
                closed=len(closes),
                mean_seconds_to_acknowledge=round(statistics.fmean(acks), 3) if acks else None,
                max_seconds_to_acknowledge=max(acks) if acks else None,
                mean_seconds_to_close=round(statistics.fmean(closes), 3) if closes else None,
                max_seconds_to_close=max(closes) if closes else None,
            )
        )
    return ResponseStats(incidents=per_incident, townships=summary)
