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
