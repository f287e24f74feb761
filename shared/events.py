"""The event envelope and the typed, versioned catalogue of every event Shian publishes.

The envelope is the contract between services; `event_id` is the de-duplication key (never the
Redis entry id, which changes if an event is re-published). Payloads are pydantic models registered
by (type, version), so a consumer can parse exactly the shape the producer wrote.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

PayloadT = TypeVar("PayloadT", bound="EventPayload")

CATALOGUE: dict[tuple[str, int], type[EventPayload]] = {}


class EventPayload(BaseModel):
    """Base of every payload; subclasses set TYPE, VERSION and PRODUCER and are catalogued."""

    model_config = ConfigDict(extra="forbid")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    PRODUCER: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "TYPE" in cls.__dict__:
            key = (cls.TYPE, cls.VERSION)
            if key in CATALOGUE:
                raise TypeError(f"event {key} is catalogued twice")
            CATALOGUE[key] = cls


class Envelope(BaseModel):
    """What travels on the bus: routing and audit facts around a typed payload."""

    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    county_id: str
    township_id: str | None = None
    actor: str
    correlation_id: uuid.UUID | None = None
    payload: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        payload: EventPayload,
        *,
        county_id: str,
        township_id: str | None,
        actor: str,
        correlation_id: uuid.UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        return cls(
            type=payload.TYPE,
            version=payload.VERSION,
            county_id=county_id,
            township_id=township_id,
            actor=actor,
            correlation_id=correlation_id,
            occurred_at=occurred_at or datetime.now(UTC),
            payload=payload.model_dump(mode="json"),
        )

    def parse_payload(self) -> EventPayload:
        """The payload as its catalogued model; an unknown (type, version) raises KeyError."""
        return CATALOGUE[(self.type, self.version)].model_validate(self.payload)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)


# --- registry ---------------------------------------------------------------------------------

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


# --- alerts -----------------------------------------------------------------------------------

IncidentLevel = Literal["I", "II", "III", "IV", "below_IV"]


class IncidentReported(EventPayload):
    """A food-safety incident was reported and classified; escalation starts from here."""

    TYPE = "incident.reported"
    PRODUCER = "alerts"

    incident_id: uuid.UUID
    village_id: str | None = None
    business_id: uuid.UUID | None = None
    place_kind: str
    ill_count: int
    death_count: int
    level: IncidentLevel
    reported_at: datetime
    description: str


def catalogue_rows() -> list[dict[str, Any]]:
    """The catalogue as plain rows, for docs and the CLI."""
    return [
        {
            "type": model.TYPE,
            "version": model.VERSION,
            "producer": model.PRODUCER,
            "description": (model.__doc__ or "").strip(),
            "fields": list(model.model_fields),
        }
        for model in CATALOGUE.values()
    ]
