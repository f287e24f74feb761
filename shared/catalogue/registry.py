"""Events the registry publishes on its stream."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from shared.events import EventPayload

PlaceLevel = Literal["county", "township", "village"]


class PlaceDefined(EventPayload):
    """A county, township or village was created or renamed in the register."""

    TYPE = "place.defined"
    PRODUCER = "registry"

    place_id: str
    level: PlaceLevel
    name: str
    parent_id: str | None = None


class BusinessRegistered(EventPayload):
    """A food business entered the county's register."""

    TYPE = "business.registered"
    PRODUCER = "registry"

    business_id: uuid.UUID
    name: str
    kind: str
    village_id: str | None = None
    operator: str | None = None
    address: str | None = None
    risk_level: Literal["A", "B", "C", "D"]
    status: Literal["active", "suspended", "closed"] = "active"
    registered_on: date
    latitude: float | None = None
    longitude: float | None = None


RiskLevel = Literal["A", "B", "C", "D"]
BusinessStatus = Literal["active", "suspended", "closed"]
LicenceKind = Literal["business_licence", "food_permit"]


class BusinessUpdated(EventPayload):
    """A business's particulars changed; the payload is its whole current state."""

    TYPE = "business.updated"
    PRODUCER = "registry"

    business_id: uuid.UUID
    name: str
    kind: str
    village_id: str | None = None
    operator: str | None = None
    address: str | None = None
    risk_level: RiskLevel
    status: BusinessStatus
    under_investigation: bool = False
    latitude: float | None = None
    longitude: float | None = None


class BusinessStatusChanged(EventPayload):
    """A business was suspended, reactivated or closed (by a township, or pending an incident)."""

    TYPE = "business.status_changed"
    PRODUCER = "registry"

    business_id: uuid.UUID
    status: BusinessStatus
    previous_status: BusinessStatus
    reason: str


class BusinessRiskChanged(EventPayload):
    """A business's risk level (A-D) changed, e.g. after an inspection's grade."""

    TYPE = "business.risk_changed"
    PRODUCER = "registry"

    business_id: uuid.UUID
    risk_level: RiskLevel
    previous_risk_level: RiskLevel
    reason: str


class CertificateExpiring(EventPayload):
    """A food handler's health certificate expires soon (once per certificate and expiry)."""

    TYPE = "certificate.expiring"
    PRODUCER = "registry"

    certificate_id: uuid.UUID
    business_id: uuid.UUID
    staff_name: str
    expires_on: date


class CertificateExpired(EventPayload):
    """A food handler's health certificate has expired (once per certificate and expiry)."""

    TYPE = "certificate.expired"
    PRODUCER = "registry"

    certificate_id: uuid.UUID
    business_id: uuid.UUID
    staff_name: str
    expires_on: date


class LicenceExpiring(EventPayload):
    """A business licence or food operating permit expires soon (once per licence and expiry)."""

    TYPE = "licence.expiring"
    PRODUCER = "registry"

    business_id: uuid.UUID
    licence_kind: LicenceKind
    number: str
    expires_on: date


class LicenceExpired(EventPayload):
    """A business licence or food operating permit has expired (once per licence and expiry)."""

    TYPE = "licence.expired"
    PRODUCER = "registry"

    business_id: uuid.UUID
    licence_kind: LicenceKind
    number: str
    expires_on: date


class BanquetFiled(EventPayload):
    """A rural group banquet was filed with the village coordinator."""

    TYPE = "banquet.filed"
    PRODUCER = "registry"

    banquet_id: uuid.UUID
    village_id: str
    host: str
    held_on: date
    filed_on: date
    people: int
    tables: int
    filing_required: bool
    late: bool
    guidance_due: bool


class BanquetLate(EventPayload):
    """A banquet that had to be filed ahead was filed too late (or after it was held)."""

    TYPE = "banquet.late"
    PRODUCER = "registry"

    banquet_id: uuid.UUID
    village_id: str
    host: str
    held_on: date
    filed_on: date
    people: int


class BanquetGuidanceDue(EventPayload):
    """A large banquet is due on-site guidance from the township."""

    TYPE = "banquet.guidance_due"
    PRODUCER = "registry"

    banquet_id: uuid.UUID
    village_id: str
    host: str
    held_on: date
    people: int


class LicenceRecorded(EventPayload):
    """A business licence or food operating permit was recorded or renewed for a business."""

    TYPE = "licence.recorded"
    PRODUCER = "registry"

    business_id: uuid.UUID
    licence_kind: LicenceKind
    number: str
    issued_on: date
    expires_on: date


class StaffRecorded(EventPayload):
    """A food handler joined a business's staff list, or left it (active false)."""

    TYPE = "staff.recorded"
    PRODUCER = "registry"

    staff_id: uuid.UUID
    business_id: uuid.UUID
    name: str
    position: str | None = None
    active: bool = True


class CertificateRecorded(EventPayload):
    """A food handler's health certificate was recorded (a renewal supersedes the previous one)."""

    TYPE = "certificate.recorded"
    PRODUCER = "registry"

    certificate_id: uuid.UUID
    staff_id: uuid.UUID
    business_id: uuid.UUID
    staff_name: str
    issued_on: date
    expires_on: date


class BusinessGraded(EventPayload):
    """The registry recorded an inspection's dynamic grade in the business's grade history."""

    TYPE = "business.graded"
    PRODUCER = "registry"

    business_id: uuid.UUID
    inspection_id: uuid.UUID
    inspected_on: date
    dynamic_grade: Literal["excellent", "good", "fair"] | None = None
    score: float


class LetterSigned(EventPayload):
    """A target-responsibility letter (目标责任书) was signed between a township and a village or business."""

    TYPE = "letter.signed"
    PRODUCER = "registry"

    letter_id: uuid.UUID
    party_kind: Literal["village", "business"]
    village_id: str | None = None
    business_id: uuid.UUID | None = None
    year: int
    signed_on: date
