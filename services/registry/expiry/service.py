"""The daily expiry scan: health certificates, business licences and food permits.

For every current certificate (of an active handler) and every licence of a business that is not
closed, it announces once `*.expiring` when the expiry date comes within the warning window and
once `*.expired` when the date has passed. A subject first seen already expired gets only the
`expired` notice. Renewal changes the expiry date, so the new date is announced afresh in its time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.registry.businesses.models import Business, Licence
from services.registry.expiry.models import ExpiryNotice, NoticeKind, SubjectKind
from services.registry.rules import expiry_notice
from services.registry.staff.models import HealthCertificate, Staff
from shared import audit
from shared.catalogue.registry import CertificateExpired, CertificateExpiring, LicenceExpired, LicenceExpiring
from shared.db import Database
from shared.events import EventPayload
from shared.outbox import emit

log = logging.getLogger("shian.registry.expiry")

ACTOR = "system:expiry-scan"
BATCH = 500  # facts per transaction


@dataclass
class ScanResult:
    today: date
    emitted: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.emitted.values())


@dataclass(frozen=True)
class _Fact:
    subject_id: str
    subject_kind: SubjectKind
    expires_on: date
    notice: NoticeKind
    county_id: str
    township_id: str
    payload: EventPayload


def scan(db: Database, *, today: date, warning_days: int | None = None) -> ScanResult:
    """Announce every expiry fact due on `today` that was not announced before; returns counts."""
    result = ScanResult(today=today)
    with db.session() as session:
        facts = list(_due_facts(session, today, warning_days))
    for start in range(0, len(facts), BATCH):
        _announce(db, facts[start : start + BATCH], result)
    if result.total:
        log.info("expiry scan of %s announced %s", today, result.emitted)
    return result


def _announce(db: Database, facts: list[_Fact], result: ScanResult) -> None:
    try:
        with db.session() as session:
            counts = _write(session, facts)
    except sa.exc.IntegrityError:
        # another scanner announced some of these between our read and our write: go one by one
        counts = {}
        for fact in facts:
            try:
                with db.session() as session:
                    for key, value in _write(session, [fact]).items():
                        counts[key] = counts.get(key, 0) + value
            except sa.exc.IntegrityError:
                continue
    for key, value in counts.items():
        result.emitted[key] = result.emitted.get(key, 0) + value


def _write(session: Session, facts: list[_Fact]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for fact in facts:
        if session.get(ExpiryNotice, (fact.subject_id, fact.expires_on, fact.notice)) is not None:
            continue
        # the audit entity is the subject's kind (certificate, business_licence, food_permit), one per
        # fact, where changes.record takes it from the subject's class: so the pair is spelled out
        envelope = emit(
            session, fact.payload, county_id=fact.county_id, township_id=fact.township_id, actor=ACTOR
        )
        session.add(
            ExpiryNotice(
                subject_id=fact.subject_id,
                expires_on=fact.expires_on,
                notice=fact.notice,
                subject_kind=fact.subject_kind,
                event_id=str(envelope.event_id),
            )
        )
        audit.record(
            session,
            actor=ACTOR,
            action=fact.payload.TYPE,
            entity=fact.subject_kind,
            entity_id=fact.subject_id,
            county_id=fact.county_id,
            township_id=fact.township_id,
            detail={"expires_on": fact.expires_on.isoformat()},
        )
        session.flush()
        counts[fact.payload.TYPE] = counts.get(fact.payload.TYPE, 0) + 1
    return counts


def _due_facts(session: Session, today: date, warning_days: int | None) -> Iterator[_Fact]:
    """Facts due today and not yet in expiry_notices (the write re-checks each one)."""
    windows: dict[str, int] = {}

    def window(county_id: str, kind: str) -> date:
        key = f"{county_id}:{kind}"
        if key not in windows:
            rule = expiry_notice.rule_for(county_id, today)
            days = rule.certificate_warning_days if kind == "certificate" else rule.licence_warning_days
            windows[key] = warning_days if warning_days is not None else days
        return today + timedelta(days=windows[key])

    widest = today + timedelta(days=max(warning_days or 0, _widest_rule_window()))

    certificates = session.execute(
        select(HealthCertificate, Staff.name)
        .join(Staff, col(Staff.id) == HealthCertificate.staff_id)
        .join(Business, col(Business.id) == HealthCertificate.business_id)
        .where(
            ~col(HealthCertificate.superseded),
            col(Staff.active),
            Business.status != "closed",
            HealthCertificate.expires_on <= widest,
        )
    ).all()
    seen = _seen(session, [str(certificate.id) for certificate, _name in certificates])
    for certificate, staff_name in certificates:
        notice = _notice(certificate.expires_on, today, window(certificate.county_id, "certificate"))
        if notice is None or (str(certificate.id), certificate.expires_on, notice) in seen:
            continue
        certificate_event = CertificateExpired if notice == "expired" else CertificateExpiring
        yield _Fact(
            subject_id=str(certificate.id),
            subject_kind="certificate",
            expires_on=certificate.expires_on,
            notice=notice,
            county_id=certificate.county_id,
            township_id=certificate.township_id,
            payload=certificate_event(
                certificate_id=certificate.id,
                business_id=certificate.business_id,
                staff_name=staff_name,
                expires_on=certificate.expires_on,
            ),
        )

    licences = session.execute(
        select(Licence, Business.township_id)
        .join(Business, col(Business.id) == Licence.business_id)
        .where(Business.status != "closed", Licence.expires_on <= widest)
    ).all()
    seen = _seen(session, [str(licence.id) for licence, _township in licences])
    for licence, township_id in licences:
        notice = _notice(licence.expires_on, today, window(licence.county_id, "licence"))
        if notice is None or (str(licence.id), licence.expires_on, notice) in seen:
            continue
        licence_event = LicenceExpired if notice == "expired" else LicenceExpiring
        yield _Fact(
            subject_id=str(licence.id),
            subject_kind=licence.kind,
            expires_on=licence.expires_on,
            notice=notice,
            county_id=licence.county_id,
            township_id=township_id,
            payload=licence_event(
                business_id=licence.business_id,
                licence_kind=licence.kind,
                number=licence.number,
                expires_on=licence.expires_on,
            ),
        )


def _notice(expires_on: date, today: date, horizon: date) -> NoticeKind | None:
    """`expired` once the expiry day has passed; `expiring` inside the window; else nothing."""
    if expires_on < today:
        return "expired"
    if expires_on <= horizon:
        return "expiring"
    return None


def _seen(session: Session, subject_ids: list[str]) -> set[tuple[str, date, str]]:
    seen: set[tuple[str, date, str]] = set()
    for start in range(0, len(subject_ids), 900):  # stay under SQLite's bound-parameter limit
        chunk = subject_ids[start : start + 900]
        rows = session.execute(
            select(
                col(ExpiryNotice.subject_id), col(ExpiryNotice.expires_on), col(ExpiryNotice.notice)
            ).where(col(ExpiryNotice.subject_id).in_(chunk))
        )
        seen.update((row[0], row[1], row[2]) for row in rows)
    return seen


def _widest_rule_window() -> int:
    return max(
        max(rule.certificate_warning_days, rule.licence_warning_days) for rule in expiry_notice.RULE_TABLE
    )
