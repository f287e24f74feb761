"""Food handlers and their health certificates; every change is audited and announced."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlmodel import Session, col, select

from services.registry.businesses.commands import WRITERS
from services.registry.businesses.models import Business
from services.registry.rules import expiry_notice, health_certificate
from services.registry.staff.models import (
    CertificateIn,
    CertificateRead,
    HealthCertificate,
    Staff,
    StaffCreate,
    StaffRead,
    StaffUpdate,
)
from shared import changes
from shared.auth import Principal, load_in_scope
from shared.catalogue.registry import CertificateRecorded, StaffRecorded
from shared.clock import Clock, local_today
from shared.errors import Invalid, NotFound
from shared.rules import dated_by


def add_staff(
    *, session: Session, principal: Principal, business_id: uuid.UUID, data: StaffCreate, clock: Clock
) -> tuple[Staff, HealthCertificate | None]:
    principal.ensure_role(*WRITERS)
    business = load_in_scope(session, principal, Business, business_id)
    if business.status == "closed":
        raise Invalid("business_id", "a closed business takes no staff")
    member = Staff(
        business_id=business.id,
        county_id=business.county_id,
        township_id=business.township_id,
        name=data.name,
        position=data.position,
    )
    certificate = None
    if data.certificate is not None:
        certificate = _new_certificate(member, data.certificate, local_today(clock), field="certificate")
    session.add(member)
    session.flush()
    changes.record(
        session,
        member,
        actor=principal.actor,
        action="staff.added",
        detail=data.model_dump(mode="json"),
        event=_staff_event(member),
    )
    if certificate is not None:
        _store_certificate(session, principal.actor, member, certificate)
    session.commit()
    return member, certificate


def get_staff(*, session: Session, principal: Principal, staff_id: uuid.UUID) -> Staff:
    """The food handler, if the caller sees their business; else 404, as for one that does not exist."""
    member = session.get(Staff, staff_id)
    if member is None:
        raise NotFound()
    load_in_scope(session, principal, Business, member.business_id)
    return member


def update_staff(*, session: Session, principal: Principal, staff_id: uuid.UUID, data: StaffUpdate) -> Staff:
    principal.ensure_role(*WRITERS)
    member = get_staff(session=session, principal=principal, staff_id=staff_id)
    changed = data.model_dump(exclude_unset=True)
    if not changed:
        raise Invalid("active", "nothing to change")
    for name, value in changed.items():
        if name == "active" and value is None:
            raise Invalid("active", "must be true or false")
        setattr(member, name, value)
    session.add(member)
    session.flush()
    changes.record(
        session,
        member,
        actor=principal.actor,
        action="staff.updated",
        detail=changed,
        event=_staff_event(member),
    )
    session.commit()
    return member


def renew_certificate(
    *, session: Session, principal: Principal, staff_id: uuid.UUID, data: CertificateIn, clock: Clock
) -> HealthCertificate:
    """Record a new certificate; the previous one is superseded (no more expiry notices for it)."""
    principal.ensure_role(*WRITERS)
    member = get_staff(session=session, principal=principal, staff_id=staff_id)
    if not member.active:
        raise Invalid("staff_id", "the food handler has left the business")
    certificate = _new_certificate(member, data, local_today(clock), field=None)
    for previous in session.exec(
        select(HealthCertificate).where(
            HealthCertificate.staff_id == member.id, ~col(HealthCertificate.superseded)
        )
    ):
        previous.superseded = True
        session.add(previous)
    _store_certificate(session, principal.actor, member, certificate)
    session.commit()
    return certificate


def list_staff(
    *, session: Session, principal: Principal, business_id: uuid.UUID, today: date
) -> list[StaffRead]:
    business = load_in_scope(session, principal, Business, business_id)
    members = session.exec(select(Staff).where(Staff.business_id == business.id).order_by(Staff.name)).all()
    current = {
        certificate.staff_id: certificate
        for certificate in session.exec(
            select(HealthCertificate).where(
                HealthCertificate.business_id == business.id,
                ~col(HealthCertificate.superseded),
            )
        )
    }
    warning = expiry_notice.rule_for(business.county_id, today).certificate_warning_days
    return [
        StaffRead.model_validate(member).model_copy(
            update={
                "certificate": CertificateRead.model_validate(current[member.id])
                if member.id in current
                else None,
                "certificate_state": certificate_state(current.get(member.id), today, warning),
            }
        )
        for member in members
    ]


def certificate_state(certificate: HealthCertificate | None, today: date, warning_days: int) -> str:
    if certificate is None:
        return "missing"
    if certificate.expires_on < today:
        return "expired"
    if certificate.expires_on <= today + timedelta(days=warning_days):
        return "expiring"
    return "valid"


def _new_certificate(
    member: Staff, data: CertificateIn, today: date, *, field: str | None
) -> HealthCertificate:
    def named(name: str) -> str:
        return f"{field}.{name}" if field else name

    if data.issued_on > today:
        raise Invalid(named("issued_on"), "cannot be in the future")
    with dated_by(named("issued_on")):
        rule = health_certificate.rule_for(member.county_id, data.issued_on)
    latest = health_certificate.latest_expiry(data.issued_on, rule)
    expires_on = data.expires_on or latest
    if expires_on > latest:
        raise Invalid(named("expires_on"), f"a health certificate is valid until {latest} at the latest")
    return HealthCertificate(
        staff_id=member.id,
        business_id=member.business_id,
        county_id=member.county_id,
        township_id=member.township_id,
        number=data.number,
        issued_on=data.issued_on,
        expires_on=expires_on,
    )


def _store_certificate(session: Session, actor: str, member: Staff, certificate: HealthCertificate) -> None:
    session.add(certificate)
    session.flush()
    detail = {
        "certificate_id": str(certificate.id),
        "issued_on": str(certificate.issued_on),
        "expires_on": str(certificate.expires_on),
    }
    changes.record(
        session,
        member,
        actor=actor,
        action="certificate.recorded",
        detail=detail,
        event=CertificateRecorded(
            certificate_id=certificate.id,
            staff_id=member.id,
            business_id=member.business_id,
            staff_name=member.name,
            issued_on=certificate.issued_on,
            expires_on=certificate.expires_on,
        ),
    )


def _staff_event(member: Staff) -> StaffRecorded:
    return StaffRecorded(
        staff_id=member.id,
        business_id=member.business_id,
        name=member.name,
        position=member.position,
        active=member.active,
    )
