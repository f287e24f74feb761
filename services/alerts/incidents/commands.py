"""The commands on incidents: report, acknowledge, progress, notes, counts, close.

Every command checks the caller (role 403, scope 404, input 422 with nothing written), then writes
its change, the timeline entry, the audit line and the typed event in one transaction, together
with whatever escalation follows (see `escalation.service`). What may happen when is decided by
`lifecycle`; this module writes it down.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.alerts.database import place_directory
from services.alerts.directory import service as directory
from services.alerts.escalation import service as escalation
from services.alerts.incidents import lifecycle, timeline
from services.alerts.incidents.lifecycle import OPEN_STATUSES
from services.alerts.incidents.models import (
    CountsUpdate,
    Incident,
    IncidentCreate,
    IncidentReport,
    TimelineEntry,
)
from services.alerts.rules import grouping
from services.alerts.rules.severity import classify, rule_for
from services.alerts.signals import service as signals
from shared import changes
from shared.auth import Placed, Principal, Role, load_in_scope
from shared.catalogue.alerts import (
    LEVEL_ORDER,
    IncidentAcknowledged,
    IncidentClosed,
    IncidentCountsUpdated,
    IncidentLevel,
    IncidentLevelChanged,
    IncidentProgressed,
    IncidentReported,
    IncidentStatus,
)
from shared.clock import Clock, to_local
from shared.errors import Invalid
from shared.places import find_place

REPORTERS = (Role.county, Role.township, Role.inspector, Role.village)
ACKNOWLEDGERS = (Role.county, Role.township)
RESPONDERS = (Role.county, Role.township, Role.inspector)
CLOSERS = (Role.county, Role.township)
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


@dataclass(frozen=True)
class CheckedReport:
    """A report whose places the reporter may name, with the township it belongs to."""

    data: IncidentCreate
    county_id: str
    township_id: str
    reporter_kind: str | None
    now: datetime


# --- reporting ------------------------------------------------------------------------------------


def report(
    *,
    session: Session,
    principal: Principal,
    data: IncidentCreate,
    clock: Clock,
    escalator: escalation.Escalator | None = None,
) -> Reported:
    escalator = escalator or escalation.Escalator()
    checked = _check_report(session, principal, data, clock.now())
    _one_report_at_a_time(session, data.township_id)
    existing = _same_outbreak(session, principal, checked)
    if existing is not None:
        _add_report(session, escalator, existing, checked, principal=principal)
        session.commit()
        return Reported(existing, created=False)

    incident = _new_incident(session, principal, checked)
    escalation.start(session, escalator, incident, now=checked.now, actor=principal.actor)
    signals.suppress_for_incident(session, incident, checked.now)
    session.add(incident)
    session.commit()
    return Reported(incident, created=True)


def _check_report(
    session: Session, principal: Principal, data: IncidentCreate, now: datetime
) -> CheckedReport:
    principal.ensure_role(*REPORTERS)
    township = _check_places(session, principal, data)
    if data.onset_at is not None and data.onset_at > now:
        raise Invalid("onset_at", "cannot be in the future")
    return CheckedReport(
        data=data,
        county_id=township.county_id,
        township_id=township.place_id,
        reporter_kind=data.reporter_kind or DEFAULT_REPORTER_KIND.get(principal.role),
        now=now,
    )


def _new_incident(session: Session, principal: Principal, checked: CheckedReport) -> Incident:
    """A new incident, classified by the severity rule in force, with its first report."""
    data, now = checked.data, checked.now
    level = classify(
        ill=data.ill_count,
        deaths=data.death_count,
        place_kind=data.place_kind,
        crosses_province=data.crosses_province,
        rule=rule_for(checked.county_id, to_local(now).date()),
    )
    incident = Incident(
        county_id=checked.county_id,
        township_id=checked.township_id,
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
        reporter_kind=checked.reporter_kind,
        reporter_name=data.reporter_name,
        reporter_contact=data.reporter_contact,
    )
    session.add(incident)
    session.flush()
    session.add(_report_row(incident.id, checked, principal=principal))
    timeline.step(
        session,
        incident,
        "reported",
        actor=principal.actor,
        at=now,
        audit_action="incident.reported",
        audit_detail={**data.model_dump(mode="json"), "level": level},
        event=IncidentReported(
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
        level=level,
        ill_count=data.ill_count,
        hospitalised_count=data.hospitalised_count,
        death_count=data.death_count,
    )
    return incident


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
    village_id = principal.village_id if village_only else None
    business = directory.get(session, data.business_id) if data.business_id is not None else None
    if data.business_id is not None and not _within(business, township, village_id):
        raise Invalid("business_id", f"no business {data.business_id} is registered in {area}")
    banquet = directory.get_banquet(session, data.banquet_id) if data.banquet_id is not None else None
    if data.banquet_id is not None and not _within(banquet, township, village_id):
        raise Invalid("banquet_id", f"no banquet {data.banquet_id} is filed in {area}")
    return township


def _within(record: Placed | None, township: sa.Row, village_id: str | None) -> bool:
    """Whether a business or banquet lies in the reported township (and the reporter's village)."""
    return (
        record is not None
        and record.county_id == township.county_id
        and record.township_id == township.place_id
        and (village_id is None or record.village_id == village_id)
    )


def _report_row(incident_id: uuid.UUID, checked: CheckedReport, *, principal: Principal) -> IncidentReport:
    data = checked.data
    return IncidentReport(
        incident_id=incident_id,
        reported_at=checked.now,
        reported_by=principal.actor,
        reporter_kind=checked.reporter_kind,
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


def _same_outbreak(session: Session, principal: Principal, checked: CheckedReport) -> Incident | None:
    """An open incident this report is another report of, by the grouping rule table: only among
    the incidents the reporter may read, since the answer is the incident grouped into (its
    description, its reporters) and the report raises its counts and level."""
    data, now = checked.data, checked.now
    rule = grouping.rule_for(checked.county_id, to_local(now).date())
    keys = []
    if rule.by_business and data.business_id is not None:
        keys.append(col(Incident.business_id) == data.business_id)
    if rule.by_banquet and data.banquet_id is not None:
        keys.append(col(Incident.banquet_id) == data.banquet_id)
    if (
        rule.by_village_and_place_kind
        and data.business_id is None
        and data.banquet_id is None
        and data.village_id is not None
    ):
        keys.append(
            sa.and_(col(Incident.village_id) == data.village_id, col(Incident.place_kind) == data.place_kind)
        )
    if not keys:
        return None
    return session.exec(
        select(Incident)
        .where(
            principal.scope(Incident),
            col(Incident.township_id) == data.township_id,
            col(Incident.status).in_(OPEN_STATUSES),
            col(Incident.reported_at) >= now - timedelta(hours=rule.window_hours),
            sa.or_(*keys),
        )
        .order_by(col(Incident.reported_at))
        .with_for_update()
    ).first()


def _add_report(
    session: Session,
    escalator: escalation.Escalator,
    incident: Incident,
    checked: CheckedReport,
    *,
    principal: Principal,
) -> None:
    data, now = checked.data, checked.now
    session.add(_report_row(incident.id, checked, principal=principal))
    incident.report_count += 1
    if data.onset_at is not None and (incident.onset_at is None or data.onset_at < incident.onset_at):
        incident.onset_at = data.onset_at
    timeline.step(
        session,
        incident,
        "report_added",
        actor=principal.actor,
        at=now,
        audit_action="incident.report_added",
        audit_detail=data.model_dump(mode="json"),
        report=incident.report_count,
        ill_count=data.ill_count,
        hospitalised_count=data.hospitalised_count,
        death_count=data.death_count,
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


def _load_for_change(session: Session, principal: Principal, incident_id: uuid.UUID) -> Incident:
    """The incident in the caller's scope, its row locked (PostgreSQL: FOR UPDATE; SQLite writers
    are serialised already), so two changes at once never overwrite each other's."""
    return load_in_scope(session, principal, Incident, incident_id, for_update=True)


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
    incident = _load_for_change(session, principal, incident_id)
    lifecycle.check_acknowledgement(incident)
    escalation.ensure_may_acknowledge(incident, principal)
    now = clock.now()
    acknowledge_as(
        session, incident, actor=principal.actor, now=now, note=note, via="api", escalator=escalator
    )
    return incident


def acknowledge_as(
    session: Session,
    incident: Incident,
    *,
    actor: str,
    now: datetime,
    note: str | None,
    via: str,
    channel: str | None = None,
    escalator: escalation.Escalator | None = None,
) -> None:
    """Acknowledge for someone the caller has checked may (a user, a link's recipient), and commit."""
    _acknowledge(session, incident, actor=actor, now=now, note=note, via=via, channel=channel)
    escalation.acknowledged(session, incident, now=now)
    session.add(incident)
    session.commit()
    metrics = (escalator or escalation.Escalator()).metrics
    if metrics is not None and lifecycle.is_first_acknowledgement(incident, now):
        metrics.time_to_acknowledge.labels(incident.township_id, incident.level).observe(
            (now - incident.reported_at).total_seconds()
        )


def _acknowledge(
    session: Session,
    incident: Incident,
    *,
    actor: str,
    now: datetime,
    note: str | None,
    via: str = "api",
    channel: str | None = None,
) -> None:
    """`via` says how: `api` (signed in), `link` (a message's link), `sms_reply` (answered 1)."""
    previous = lifecycle.acknowledge(incident, actor=actor, now=now)
    timeline.step(
        session,
        incident,
        "acknowledged",
        actor=actor,
        at=now,
        audit_action="alert.acknowledged",
        audit_detail={"note": note, "step": incident.escalation_step, "via": via, "channel": channel},
        event=IncidentAcknowledged(
            incident_id=incident.id,
            acknowledged_by=actor,
            level=incident.level,
            seconds_since_onset=timeline.seconds_since(incident.onset_at, now),
            seconds_since_report=timeline.seconds_since(incident.reported_at, now) or 0.0,
        ),
        step=incident.escalation_step,
        previous=previous,
        note=note,
        via=via,
        channel=channel,
    )


def progress(
    *,
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    new_status: IncidentStatus,
    note: str | None,
    clock: Clock,
) -> Incident:
    """Responding or contained; forward only. Responding without an acknowledgement acknowledges."""
    principal.ensure_role(*RESPONDERS)
    incident = _load_for_change(session, principal, incident_id)
    lifecycle.check_progress(incident, new_status)
    now = clock.now()
    if incident.awaiting_ack:  # progress acknowledges: only for whom acknowledging is
        escalation.ensure_may_acknowledge(incident, principal)
        _acknowledge(session, incident, actor=principal.actor, now=now, note=None)
    previous = lifecycle.progress(incident, new_status, now=now)
    escalation.cancel_timers(session, incident.id, now)
    timeline.step(
        session,
        incident,
        "status_changed",
        actor=principal.actor,
        at=now,
        audit_action=f"incident.{new_status}",
        audit_detail={"previous": previous, "note": note},
        event=IncidentProgressed(
            incident_id=incident.id,
            previous_status=previous,
            status=new_status,
            seconds_since_onset=timeline.seconds_since(incident.onset_at, now),
            seconds_since_report=timeline.seconds_since(incident.reported_at, now) or 0.0,
        ),
        previous=previous,
        status=new_status,
        note=note,
    )
    session.add(incident)
    session.commit()
    return incident


def add_note(
    *, session: Session, principal: Principal, incident_id: uuid.UUID, text: str, clock: Clock
) -> TimelineEntry:
    principal.ensure_role(*REPORTERS)
    incident = _load_for_change(session, principal, incident_id)
    now = clock.now()
    entry = TimelineEntry(
        incident_id=incident.id, at=now, kind="note", actor=principal.actor, detail={"text": text}
    )
    session.add(entry)
    changes.record(
        session, incident, actor=principal.actor, action="incident.note_added", detail={"text": text}
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
    incident = _load_for_change(session, principal, incident_id)
    lifecycle.check_open(incident)
    ill = incident.ill_count if data.ill_count is None else data.ill_count
    hospitalised = incident.hospitalised_count if data.hospitalised_count is None else data.hospitalised_count
    deaths = incident.death_count if data.death_count is None else data.death_count
    if hospitalised > ill:
        raise Invalid("hospitalised_count", f"cannot exceed ill_count ({ill})")
    if deaths > ill:
        raise Invalid("death_count", f"cannot exceed ill_count ({ill})")
    now = clock.now()
    changes.record(
        session,
        incident,
        actor=principal.actor,
        action="incident.counts_updated",
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
    previous: IncidentLevel = incident.level
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
    timeline.step(
        session,
        incident,
        "counts_updated",
        actor=actor,
        at=now,
        event=IncidentCountsUpdated(
            incident_id=incident.id,
            level=level,
            ill_count=ill,
            hospitalised_count=hospitalised,
            death_count=deaths,
            report_count=incident.report_count,
            seconds_since_onset=since_onset,
        ),
        before=before,
        after={"ill_count": ill, "hospitalised_count": hospitalised, "death_count": deaths, "level": level},
        note=note,
    )
    if level == previous:
        return
    timeline.step(
        session,
        incident,
        "level_changed",
        actor=actor,
        at=now,
        event=IncidentLevelChanged(
            incident_id=incident.id,
            previous_level=previous,
            level=level,
            ill_count=ill,
            death_count=deaths,
            seconds_since_onset=since_onset,
            hospitalised_count=hospitalised,
        ),
        previous=previous,
        level=level,
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
    incident = _load_for_change(session, principal, incident_id)
    lifecycle.check_open(incident)
    now = clock.now()
    previous = lifecycle.close(incident, actor=principal.actor, cause=cause, now=now)
    escalation.cancel_timers(session, incident.id, now)
    signals.release_for_incident(session, incident)
    since_report = timeline.seconds_since(incident.reported_at, now) or 0.0
    timeline.step(
        session,
        incident,
        "closed",
        actor=principal.actor,
        at=now,
        audit_action="incident.closed",
        audit_detail={"cause": cause, "note": note, "previous": previous},
        event=IncidentClosed(
            incident_id=incident.id,
            cause=cause,
            seconds_since_onset=timeline.seconds_since(incident.onset_at, now),
            seconds_since_report=since_report,
            level=incident.level,
            ill_count=incident.ill_count,
            hospitalised_count=incident.hospitalised_count,
            death_count=incident.death_count,
        ),
        previous=previous,
        cause=cause,
        note=note,
    )
    session.add(incident)
    session.commit()
    metrics = (escalator or escalation.Escalator()).metrics
    if metrics is not None:
        metrics.time_to_close.labels(incident.township_id, incident.level).observe(since_report)
    return incident
