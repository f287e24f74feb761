"""Registry read models: the register of businesses, licences, staff certificates, banquets and
letters, as the registry's events describe them."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlmodel import Field, Session

from services.reporting.database import Base
from shared.catalogue.registry import (
    BanquetFiled,
    BanquetGuidanceDue,
    BanquetLate,
    BusinessGraded,
    BusinessRegistered,
    BusinessRiskChanged,
    BusinessStatusChanged,
    BusinessUpdated,
    CertificateExpired,
    CertificateExpiring,
    CertificateRecorded,
    LetterSigned,
    LicenceExpired,
    LicenceExpiring,
    LicenceRecorded,
    StaffRecorded,
)
from shared.clock import to_local
from shared.events import Envelope
from shared.parking import Unresolved, release
from shared.projection import update, upsert


class ReportBusiness(Base, table=True):
    __tablename__ = "report_businesses"

    id: uuid.UUID = Field(primary_key=True)
    county_id: str = Field(max_length=40, index=True)
    township_id: str = Field(max_length=40, index=True)
    village_id: str | None = Field(default=None, max_length=40, index=True)
    name: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=40)
    operator: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=300)
    latitude: float | None = None
    longitude: float | None = None
    risk_level: str | None = Field(default=None, max_length=1)
    status: str = Field(max_length=16)
    under_investigation: bool = False
    registered_on: date = Field(index=True)
    last_grade: str | None = Field(default=None, max_length=16)
    last_graded_on: date | None = None


class ReportLicence(Base, table=True):
    """The licence of each kind a business holds now (a renewal replaces the previous one)."""

    __tablename__ = "report_licences"

    business_id: uuid.UUID = Field(primary_key=True)
    licence_kind: str = Field(primary_key=True, max_length=20)
    county_id: str = Field(max_length=40, index=True)
    township_id: str = Field(max_length=40, index=True)
    number: str = Field(max_length=60)
    issued_on: date | None = None
    expires_on: date = Field(index=True)
    notice: str | None = Field(default=None, max_length=10)  # expiring | expired, as the registry said


class ReportStaff(Base, table=True):
    __tablename__ = "report_staff"

    id: uuid.UUID = Field(primary_key=True)
    business_id: uuid.UUID = Field(index=True)
    county_id: str = Field(max_length=40)
    township_id: str = Field(max_length=40, index=True)
    name: str = Field(max_length=120)
    position: str | None = Field(default=None, max_length=60)
    active: bool = True


class ReportCertificate(Base, table=True):
    """A health certificate; the newest of a staff member's certificates is the one that counts."""

    __tablename__ = "report_certificates"

    id: uuid.UUID = Field(primary_key=True)
    staff_id: uuid.UUID | None = Field(default=None, index=True)
    business_id: uuid.UUID = Field(index=True)
    county_id: str = Field(max_length=40)
    township_id: str = Field(max_length=40, index=True)
    staff_name: str = Field(max_length=120)
    issued_on: date | None = None
    expires_on: date = Field(index=True)
    notice: str | None = Field(default=None, max_length=10)


class ReportBanquet(Base, table=True):
    __tablename__ = "report_banquets"

    id: uuid.UUID = Field(primary_key=True)
    county_id: str = Field(max_length=40)
    township_id: str = Field(max_length=40, index=True)
    village_id: str = Field(max_length=40, index=True)
    host: str = Field(max_length=120)
    held_on: date
    filed_on: date = Field(index=True)
    people: int = 0
    tables: int = 0
    filing_required: bool = True
    late: bool = False
    guidance_due: bool = False


class ReportLetter(Base, table=True):
    __tablename__ = "report_letters"

    id: uuid.UUID = Field(primary_key=True)
    county_id: str = Field(max_length=40)
    township_id: str = Field(max_length=40, index=True)
    village_id: str | None = Field(default=None, max_length=40)
    business_id: uuid.UUID | None = None
    party_kind: str = Field(max_length=10)
    year: int
    signed_on: date = Field(index=True)


def _place(envelope: Envelope) -> dict[str, str]:
    return {"county_id": envelope.county_id, "township_id": envelope.township_id or ""}


def on_business_registered(session: Session, envelope: Envelope, payload: BusinessRegistered) -> None:
    values = {
        **_place(envelope),
        "village_id": payload.village_id,
        "name": payload.name,
        "kind": payload.kind,
        "operator": payload.operator,
        "address": payload.address,
        "latitude": payload.latitude,
        "longitude": payload.longitude,
        "risk_level": payload.risk_level,
        "status": payload.status,
        "registered_on": payload.registered_on,
    }
    upsert(session, ReportBusiness.__table__, {"id": payload.business_id}, values)
    release(session, "business", payload.business_id)


# The events below only change a business the register already holds. One that comes first (its
# business.registered failed once and is retried after it) waits, parked, instead of being lost.
# The handlers are not marked @parks: that happens rarely, and an unmarked handler costs the hot
# path no savepoint (its batch is replayed event by event when it does).


def _update_business(session: Session, business_id: uuid.UUID, values: dict) -> None:
    if not update(session, ReportBusiness.__table__, {"id": business_id}, values):
        raise Unresolved("business", business_id)


def _business_known(session: Session, business_id: uuid.UUID) -> bool:
    table = ReportBusiness.__table__
    return session.execute(sa.select(table.c.id).where(table.c.id == business_id)).first() is not None


def on_business_updated(session: Session, envelope: Envelope, payload: BusinessUpdated) -> None:
    values = payload.model_dump(exclude={"business_id"})
    _update_business(session, payload.business_id, {**_place(envelope), **values})


def on_business_status_changed(session: Session, envelope: Envelope, payload: BusinessStatusChanged) -> None:
    _update_business(session, payload.business_id, {"status": payload.status})


def on_business_risk_changed(session: Session, envelope: Envelope, payload: BusinessRiskChanged) -> None:
    _update_business(session, payload.business_id, {"risk_level": payload.risk_level})


def on_business_graded(session: Session, envelope: Envelope, payload: BusinessGraded) -> None:
    """The newest inspection's grade wins; an older one arriving later changes nothing."""
    table = ReportBusiness.__table__
    changed = session.exec(
        table.update()
        .where(
            table.c.id == payload.business_id,
            sa.or_(table.c.last_graded_on.is_(None), table.c.last_graded_on <= payload.inspected_on),
        )
        .values(last_grade=payload.dynamic_grade, last_graded_on=payload.inspected_on)
    ).rowcount
    if not changed and not _business_known(session, payload.business_id):
        raise Unresolved("business", payload.business_id)


def on_licence_recorded(session: Session, envelope: Envelope, payload: LicenceRecorded) -> None:
    upsert(
        session,
        ReportLicence.__table__,
        {"business_id": payload.business_id, "licence_kind": payload.licence_kind},
        {
            **_place(envelope),
            "number": payload.number,
            "issued_on": payload.issued_on,
            "expires_on": payload.expires_on,
            "notice": None,
        },
    )
    release(session, "licence", f"{payload.business_id}:{payload.licence_kind}")


def on_licence_notice(
    session: Session, envelope: Envelope, payload: LicenceExpiring | LicenceExpired
) -> None:
    """A notice about a licence since renewed (another expiry date) changes nothing; one about a
    licence not recorded yet waits for it."""
    notice = "expired" if isinstance(payload, LicenceExpired) else "expiring"
    table = ReportLicence.__table__
    key = (table.c.business_id == payload.business_id, table.c.licence_kind == payload.licence_kind)
    changed = session.exec(
        table.update().where(*key, table.c.expires_on == payload.expires_on).values(notice=notice)
    ).rowcount
    if not changed and session.execute(sa.select(table.c.business_id).where(*key)).first() is None:
        raise Unresolved("licence", f"{payload.business_id}:{payload.licence_kind}")


def on_staff_recorded(session: Session, envelope: Envelope, payload: StaffRecorded) -> None:
    upsert(
        session,
        ReportStaff.__table__,
        {"id": payload.staff_id},
        {
            **_place(envelope),
            "business_id": payload.business_id,
            "name": payload.name,
            "position": payload.position,
            "active": payload.active,
        },
    )


def on_certificate_recorded(session: Session, envelope: Envelope, payload: CertificateRecorded) -> None:
    upsert(
        session,
        ReportCertificate.__table__,
        {"id": payload.certificate_id},
        {
            **_place(envelope),
            "staff_id": payload.staff_id,
            "business_id": payload.business_id,
            "staff_name": payload.staff_name,
            "issued_on": payload.issued_on,
            "expires_on": payload.expires_on,
        },
    )


def on_certificate_notice(
    session: Session, envelope: Envelope, payload: CertificateExpiring | CertificateExpired
) -> None:
    notice = "expired" if isinstance(payload, CertificateExpired) else "expiring"
    upsert(
        session,
        ReportCertificate.__table__,
        {"id": payload.certificate_id},
        {
            **_place(envelope),
            "business_id": payload.business_id,
            "staff_name": payload.staff_name,
            "expires_on": payload.expires_on,
            "notice": notice,
        },
    )


def on_banquet_filed(session: Session, envelope: Envelope, payload: BanquetFiled) -> None:
    upsert(
        session,
        ReportBanquet.__table__,
        {"id": payload.banquet_id},
        {
            **_place(envelope),
            "village_id": payload.village_id,
            "host": payload.host,
            "held_on": payload.held_on,
            "filed_on": payload.filed_on,
            "people": payload.people,
            "tables": payload.tables,
            "filing_required": payload.filing_required,
            "late": payload.late,
            "guidance_due": payload.guidance_due,
        },
    )


def on_banquet_late(session: Session, envelope: Envelope, payload: BanquetLate) -> None:
    changed = update(session, ReportBanquet.__table__, {"id": payload.banquet_id}, {"late": True})
    if not changed:  # the filing itself is not known: keep what this event says
        upsert(
            session,
            ReportBanquet.__table__,
            {"id": payload.banquet_id},
            {
                **_place(envelope),
                "village_id": payload.village_id,
                "host": payload.host,
                "held_on": payload.held_on,
                "filed_on": payload.filed_on,
                "people": payload.people,
                "late": True,
            },
        )


def on_banquet_guidance_due(session: Session, envelope: Envelope, payload: BanquetGuidanceDue) -> None:
    changed = update(session, ReportBanquet.__table__, {"id": payload.banquet_id}, {"guidance_due": True})
    if not changed:
        upsert(
            session,
            ReportBanquet.__table__,
            {"id": payload.banquet_id},
            {
                **_place(envelope),
                "village_id": payload.village_id,
                "host": payload.host,
                "held_on": payload.held_on,
                "filed_on": to_local(envelope.occurred_at).date(),
                "people": payload.people,
                "guidance_due": True,
            },
        )


def on_letter_signed(session: Session, envelope: Envelope, payload: LetterSigned) -> None:
    upsert(
        session,
        ReportLetter.__table__,
        {"id": payload.letter_id},
        {
            **_place(envelope),
            "village_id": payload.village_id,
            "business_id": payload.business_id,
            "party_kind": payload.party_kind,
            "year": payload.year,
            "signed_on": payload.signed_on,
        },
    )
