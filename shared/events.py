"""The event envelope and the typed, versioned catalogue of every event Shian publishes.

The envelope is the contract between services; `event_id` is the de-duplication key (never the
Redis entry id, which changes if an event is re-published). Payloads are pydantic models registered
by (type, version), so a consumer can parse exactly the shape the producer wrote.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

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


# Every payload type registers itself in CATALOGUE when its module is imported; import them all here
# so that any process that can read an envelope can parse its payload. Plain module imports: a
# catalogue module imported first (it imports this one) is then only partly initialised.
import shared.catalogue.alerts  # noqa: E402
import shared.catalogue.identity  # noqa: E402
import shared.catalogue.inspection  # noqa: E402
import shared.catalogue.registry  # noqa: E402
import shared.catalogue.reporting  # noqa: E402, F401

__all__ = ["CATALOGUE", "Envelope", "EventPayload", "catalogue_rows"]
