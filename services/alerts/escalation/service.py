"""Escalation: who hears of an incident, when the next tier does, and the timers in between.

Every decision here runs inside the transaction of the change that caused it (a report, an
acknowledgement, a count update, or a timer the scheduler claimed), and writes its effects in that
transaction: the timeline, the `incident.escalated` events (and, this release, `alert.escalated`)
in the outbox, the notifications to deliver, and the next durable timer. So a crash keeps all of
a decision or none of it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from services.alerts.database import place_directory
from services.alerts.escalation.models import EscalationPolicy, EscalationTimer, PolicyBody, Step, Target
from services.alerts.incidents import lifecycle, timeline
from services.alerts.incidents.models import Incident
from services.alerts.links.tokens import LinkSettings
from services.alerts.metrics import AlertsMetrics
from services.alerts.notifications import render
from services.alerts.notifications import service as notifications
from services.alerts.rules import acknowledgement as deadlines
from shared import changes
from shared.auth import Principal, Role
from shared.catalogue.alerts import (
    LEVEL_LABELS,
    EscalationPolicyUpdated,
    IncidentEscalated,
    IncidentLevel,
    IncidentProgressed,
)
from shared.clock import Clock, to_local
from shared.errors import Forbidden, NotFound
from shared.places import find_place

SCHEDULER = "system:alerts-scheduler"
DEFAULT_TARGETS = {
    "village": "role:village_coordinator",
    "township": "role:township_office",
    "county": "role:county_office",
    "city": "role:city_office",
    "province": "role:province_office",
}
STEP_NAMES = {
    "village": "村协管员",
    "township": "乡镇食安办",
    "county": "县食安办",
    "city": "市食安办",
    "province": "省食安办",
}


@dataclass(frozen=True)
class Escalator:
    """What escalation needs besides the session: the default channels, the metrics, and the
    acknowledgement links' settings (None: messages carry no link)."""

    default_channels: tuple[str, ...] = ("log",)
    metrics: AlertsMetrics | None = None
    links: LinkSettings | None = None


# --- policies -------------------------------------------------------------------------------------


def rule_table_steps(county_id: str, on: datetime) -> list[Step]:
    rule = deadlines.rule_for(county_id, to_local(on).date())
    return [
        Step(name=STEP_NAMES.get(tier, tier), tier=tier, targets=[Target(ref=DEFAULT_TARGETS[tier])])
        for tier in rule.chain
    ]


def policy_for(
    session: Session, *, county_id: str, township_id: str | None, now: datetime
) -> tuple[list[Step], str, EscalationPolicy | None]:
    """The chain in force for a township: its own, else its county's, else the rule table's."""
    for scope, source in ((township_id, "township"), (county_id, "county")):
        if scope is None:
            continue
        policy = session.get(EscalationPolicy, scope)
        if policy is not None and policy.county_id == county_id:
            return [Step.model_validate(step) for step in policy.steps], source, policy
    return rule_table_steps(county_id, now), "rule_table", None


def put_policy(
    *,
    session: Session,
    principal: Principal,
    scope_id: str,
    body: PolicyBody,
    clock: Clock,
    place_directory: sa.Table,
) -> EscalationPolicy:
    """Set a county's default chain or a township's own; county users only."""
    principal.ensure_role(Role.county)
    township_id: str | None = None
    if scope_id != principal.county_id:
        place = find_place(session, place_directory, scope_id)
        if place is None or place.level != "township" or place.county_id != principal.county_id:
            raise NotFound()
        township_id = scope_id
    now = clock.now()
    steps = [step.model_dump(mode="json") for step in body.steps]
    policy = session.get(EscalationPolicy, scope_id)
    if policy is None:
        policy = EscalationPolicy(
            scope_id=scope_id,
            county_id=principal.county_id,
            township_id=township_id,
            steps=steps,
            updated_by=principal.actor,
            updated_at=now,
        )
    else:
        policy.steps = steps
        policy.version += 1
        policy.updated_by = principal.actor
        policy.updated_at = now
    session.add(policy)
    session.flush()
    changes.record(
        session,
        policy,
        actor=principal.actor,
        action="escalation.policy_updated",
        detail={"steps": steps, "version": policy.version},
        event=EscalationPolicyUpdated(scope_id=scope_id, steps=steps, version=policy.version),
        occurred_at=now,
    )
    session.commit()
    return policy


# --- escalating an incident -----------------------------------------------------------------------


def _steps(incident: Incident) -> list[Step]:
    return [Step.model_validate(step) for step in incident.escalation_steps]


def _rule(incident: Incident) -> deadlines.AcknowledgementRule:
    return deadlines.rule_for(incident.county_id, to_local(incident.reported_at).date())


def _place_of(incident: Incident, tier: str) -> str:
    return {"village": incident.village_id, "township": incident.township_id}.get(tier) or incident.county_id


def _targets(step: Step, incident: Incident, now: datetime) -> list[str]:
    """The step's targets on duty now; `role:` targets are qualified with the incident's place."""
    refs = []
    for target in step.targets:
        if target.when is not None and not target.when.applies(now):
            continue
        ref = target.ref
        if ref.startswith("role:") and "@" not in ref:
            ref = f"{ref}@{_place_of(incident, step.tier)}"
        refs.append(ref)
    return refs


def _usable(
    step: Step, incident: Incident, level: IncidentLevel, rule: deadlines.AcknowledgementRule, now: datetime
) -> bool:
    if step.tier == "village" and incident.village_id is None:
        return False
    if not deadlines.within_reach(rule, level, step.tier):
        return False
    if step.when is not None and not step.when.applies(now):
        return False
    return bool(_targets(step, incident, now))


def _deadline(step: Step, level: IncidentLevel, rule: deadlines.AcknowledgementRule) -> timedelta:
    if step.deadline_minutes and level in step.deadline_minutes:
        return timedelta(minutes=step.deadline_minutes[level])
    return timedelta(minutes=deadlines.deadline_minutes(rule, level))


def _message(session: Session, incident: Incident, level: IncidentLevel, deadline_at: datetime | None) -> str:
    """The text an official reads (the log, a webhook): the level, the place, the counts and what
    is asked, in Chinese."""
    due = f"请于{to_local(deadline_at):%m月%d日%H:%M}前确认" if deadline_at else "请知悉"
    kind = render.PLACE_KINDS.get(incident.place_kind, "其他场所")
    return (
        f"[食安] {LEVEL_LABELS[level]}食品安全事故 {place_label(session, incident)}（{kind}）："
        f"发病{incident.ill_count}人，住院{incident.hospitalised_count}人，死亡{incident.death_count}人；"
        f"{due}。事件 {str(incident.id)[:8]}"
    )


def place_label(session: Session, incident: Incident) -> str:
    """Where it happened, as people say it: the township and village names, then the address."""
    names = []
    for place_id in (incident.township_id, incident.village_id):
        place = find_place(session, place_directory, place_id) if place_id else None
        if place is not None:
            names.append(place.name)
    if incident.address:
        names.append(incident.address)
    return "".join(names)[:60] or incident.township_id


# --- who may acknowledge --------------------------------------------------------------------------

ROLE_TIERS = {Role.village: "village", Role.township: "township", Role.county: "county"}


def current_step(incident: Incident) -> Step | None:
    steps = _steps(incident)
    if not steps:
        return None
    return steps[min(incident.escalation_step or 0, len(steps) - 1)]


def may_acknowledge(incident: Incident, *, tier: str | None, person: str | None) -> bool:
    """Only a target of the step the escalation has reached, or someone above it in the chain: a
    person the step names (`person:<id>`, `phone:<number>`, `group:<channel>`), anyone of the
    step's tier (its office), or of a higher tier. A step below the current one had its turn."""
    step = current_step(incident)
    if step is None:
        return True
    if person is not None and any(target.ref == person for target in step.targets):
        return True
    return tier is not None and deadlines.tier_rank(tier) >= deadlines.tier_rank(step.tier)


def ensure_may_acknowledge(incident: Incident, principal: Principal) -> None:
    """403 for a user in scope whom the current step does not concern (a township's office once
    the county is asked, a village coordinator)."""
    if not may_acknowledge(
        incident, tier=ROLE_TIERS.get(principal.role), person=f"person:{principal.subject}"
    ):
        step = current_step(incident)
        reached = step.name if step else "another step"
        raise Forbidden(f"the escalation has reached {reached}: its targets or those above it acknowledge")


def step_tier(incident: Incident, index: int) -> str | None:
    steps = _steps(incident)
    return steps[index].tier if 0 <= index < len(steps) else None


def _notify(
    session: Session,
    escalator: Escalator,
    incident: Incident,
    index: int,
    step: Step,
    *,
    reason: str,
    now: datetime,
    actor: str,
    deadline_at: datetime | None,
) -> None:
    level: IncidentLevel = incident.level
    targets = _targets(step, incident, now)
    since_onset = timeline.seconds_since(incident.onset_at, now)
    since_report = timeline.seconds_since(incident.reported_at, now)
    text = _message(session, incident, level, deadline_at)
    channels = step.channels or list(escalator.default_channels)
    notifications.enqueue(
        session,
        now=now,
        county_id=incident.county_id,
        township_id=incident.township_id,
        targets=targets,
        channels=channels,
        text=text,
        incident_id=incident.id,
        step=index,
        tier=step.tier,
        kind=render.kind_of(reason),
        link_settings=escalator.links,
        payload={
            "incident_id": str(incident.id),
            "level": level,
            "step": index,
            "step_name": step.name,
            "tier": step.tier,
            "reason": reason,
            "deadline_at": deadline_at.isoformat() if deadline_at else None,
            "place": place_label(session, incident),
            "place_kind": incident.place_kind,
            "ill": incident.ill_count,
            "hospitalised": incident.hospitalised_count,
            "deaths": incident.death_count,
        },
    )
    timeline.step(
        session,
        incident,
        "escalated",
        actor=actor,
        at=now,
        event=IncidentEscalated(
            incident_id=incident.id,
            level=level,
            step=index,
            step_name=step.name,
            targets=targets,
            reason=reason,
            seconds_since_onset=since_onset,
            tier=step.tier,
            seconds_since_report=since_report,
            deadline_at=deadline_at,
        ),
        step=index,
        step_name=step.name,
        tier=step.tier,
        targets=targets,
        reason=reason,
        deadline_at=deadline_at.isoformat() if deadline_at else None,
    )
    if escalator.metrics is not None:
        escalator.metrics.escalations.labels(step.tier, reason).inc()


def _office_hours(step: Step, level: IncidentLevel, reason: str, now: datetime) -> datetime | None:
    """When a reminder should wait for the step's office hours: below IV only, and only a
    reminder. Level I-IV never wait: quiet hours do not exist for them, by design."""
    if level != "below_IV" or reason not in ("repeat", "reminder") or step.office_hours is None:
        return None
    if step.office_hours.applies(now):
        return None
    return step.office_hours.next_opening(now)


def cancel_timers(session: Session, incident_id: uuid.UUID, now: datetime) -> int:
    """Cancel the incident's live timer, if any (a core UPDATE on the session's connection)."""
    live = sa.update(EscalationTimer).where(
        col(EscalationTimer.incident_id) == incident_id,
        col(EscalationTimer.fired_at).is_(None),
        col(EscalationTimer.cancelled_at).is_(None),
    )
    return session.connection().execute(live.values(cancelled_at=now)).rowcount


def _set_timer(
    session: Session, incident: Incident, *, kind: str, step: int, due_at: datetime, now: datetime
) -> None:
    cancel_timers(session, incident.id, now)
    session.add(EscalationTimer(incident_id=incident.id, kind=kind, step=step, due_at=due_at, created_at=now))


def start(session: Session, escalator: Escalator, incident: Incident, *, now: datetime, actor: str) -> None:
    """A new incident: snapshot the chain, notify every step up to the tier its level reaches at
    once, and start the acknowledgement deadline of the last of them."""
    steps, _source, _policy = policy_for(
        session, county_id=incident.county_id, township_id=incident.township_id, now=now
    )
    rule = _rule(incident)
    level: IncidentLevel = incident.level
    usable = [i for i, step in enumerate(steps) if _usable(step, incident, level, rule, now)]
    if not usable:  # a chain with nobody on duty now: tell the county office rather than no one
        steps.append(
            Step(name=STEP_NAMES["county"], tier="county", targets=[Target(ref=DEFAULT_TARGETS["county"])])
        )
        usable = [len(steps) - 1]
    incident.escalation_steps = [step.model_dump(mode="json") for step in steps]
    at_once = [i for i in usable if deadlines.notified_at_once(rule, level, steps[i].tier)] or usable[:1]
    entry = at_once[-1]
    due_at = now + _deadline(steps[entry], level, rule)
    for index in at_once:
        _notify(
            session,
            escalator,
            incident,
            index,
            steps[index],
            reason="reported" if index == at_once[0] else "at_once",
            now=now,
            actor=actor,
            deadline_at=due_at if index == entry else None,
        )
    incident.escalation_step = entry
    incident.escalation_repeats = 0
    incident.awaiting_ack = True
    _set_timer(session, incident, kind="ack_deadline", step=entry, due_at=due_at, now=now)


def raise_level(
    session: Session,
    escalator: Escalator,
    incident: Incident,
    *,
    previous: IncidentLevel,
    now: datetime,
    actor: str,
) -> None:
    """Counts raised the level: the tiers the new level reaches at once hear of it now, the current
    step hears that it got worse, and a fresh acknowledgement is due at the new level's deadline."""
    steps = _steps(incident)
    rule = _rule(incident)
    level: IncidentLevel = incident.level
    current = incident.escalation_step or 0
    usable = [i for i, step in enumerate(steps) if _usable(step, incident, level, rule, now)]
    newly = [i for i in usable if i > current and deadlines.notified_at_once(rule, level, steps[i].tier)]
    entry = newly[-1] if newly else current
    due_at = now + _deadline(steps[entry], level, rule)
    for index in newly or [current]:
        _notify(
            session,
            escalator,
            incident,
            index,
            steps[index],
            reason="level_raised",
            now=now,
            actor=actor,
            deadline_at=due_at if index == entry else None,
        )
    incident.escalation_step = entry
    incident.escalation_repeats = 0
    _await_acknowledgement(session, incident, now=now, actor=actor, reason="level_raised")
    _set_timer(session, incident, kind="ack_deadline", step=entry, due_at=due_at, now=now)


def _await_acknowledgement(
    session: Session, incident: Incident, *, now: datetime, actor: str, reason: str
) -> None:
    if lifecycle.await_acknowledgement(incident):
        timeline.step(
            session,
            incident,
            "status_changed",
            actor=actor,
            at=now,
            event=IncidentProgressed(
                incident_id=incident.id,
                previous_status="acknowledged",
                status="reported",
                seconds_since_onset=timeline.seconds_since(incident.onset_at, now),
                seconds_since_report=timeline.seconds_since(incident.reported_at, now) or 0.0,
            ),
            previous="acknowledged",
            status="reported",
            reason=reason,
        )


def acknowledged(session: Session, incident: Incident, *, now: datetime) -> None:
    """Escalation stops; the acknowledgement lapses unless progress follows within the window."""
    rule = _rule(incident)
    window = timedelta(minutes=int(rule.progress_minutes[incident.level]))
    if lifecycle.awaits_progress(incident):
        _set_timer(
            session,
            incident,
            kind="ack_progress",
            step=incident.escalation_step or 0,
            due_at=now + window,
            now=now,
        )
    else:
        cancel_timers(session, incident.id, now)


def fire(session: Session, escalator: Escalator, timer: EscalationTimer, *, now: datetime) -> str:
    """Act on a timer the scheduler has just claimed; returns what it did."""
    incident = session.get(Incident, timer.incident_id)
    if incident is None or incident.status == "closed":
        return "obsolete"
    steps = _steps(incident)
    rule = _rule(incident)
    level: IncidentLevel = incident.level
    current = incident.escalation_step or 0
    if timer.kind == "ack_progress":
        if incident.status != "acknowledged" or incident.awaiting_ack:
            return "obsolete"
        timeline.add(
            session,
            incident,
            kind="acknowledgement_lapsed",
            actor=SCHEDULER,
            at=now,
            acknowledged_by=incident.acknowledged_by,
            due_at=timer.due_at.isoformat(),
        )
        _await_acknowledgement(session, incident, now=now, actor=SCHEDULER, reason="acknowledgement_lapsed")
        due_at = now + _deadline(steps[current], level, rule)
        _notify(
            session,
            escalator,
            incident,
            current,
            steps[current],
            reason="acknowledgement_lapsed",
            now=now,
            actor=SCHEDULER,
            deadline_at=due_at,
        )
        _set_timer(session, incident, kind="ack_deadline", step=current, due_at=due_at, now=now)
        return "lapsed"
    if not incident.awaiting_ack:
        return "obsolete"
    step = steps[current]
    if incident.escalation_repeats < step.repeat:
        target, reason = current, "repeat"
    else:
        later = [i for i in range(current + 1, len(steps)) if _usable(steps[i], incident, level, rule, now)]
        if later:
            target, reason = later[0], "deadline"
        elif incident.escalation_repeats < step.repeat + rule.reminders_at_top:
            target, reason = current, "reminder"
        else:
            timeline.add(
                session, incident, kind="escalation_exhausted", actor=SCHEDULER, at=now, step=current
            )
            return "exhausted"
    held = _office_hours(steps[target], level, reason, now)
    if held is not None:  # a below-IV reminder outside the step's office hours waits for them
        timeline.add(
            session,
            incident,
            kind="reminder_deferred",
            actor=SCHEDULER,
            at=now,
            step=target,
            until=held.isoformat(),
        )
        _set_timer(session, incident, kind="ack_deadline", step=current, due_at=held, now=now)
        return "deferred"
    due_at = now + _deadline(steps[target], level, rule)
    _notify(
        session,
        escalator,
        incident,
        target,
        steps[target],
        reason=reason,
        now=now,
        actor=SCHEDULER,
        deadline_at=due_at,
    )
    incident.escalation_repeats = incident.escalation_repeats + 1 if target == current else 0
    incident.escalation_step = target
    session.add(incident)
    _set_timer(session, incident, kind="ack_deadline", step=target, due_at=due_at, now=now)
    return reason
