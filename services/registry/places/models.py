"""Places: the county, its townships and their villages (一级政府、三级网络)."""

from __future__ import annotations

from typing import ClassVar, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Field as SQLField

from services.registry.database import Base

PlaceLevel = Literal["county", "township", "village"]
PLACE_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,39}$"


class Place(Base, table=True):
    __tablename__ = "places"
    audit_entity: ClassVar[str] = "place"

    id: str = SQLField(primary_key=True, max_length=40)
    level: PlaceLevel = SQLField(max_length=16, index=True, sa_type=sa.String(16))
    name: str = SQLField(max_length=200)
    parent_id: str | None = SQLField(default=None, foreign_key="places.id", index=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str | None = SQLField(default=None, max_length=40, index=True)
    coordinator: str | None = SQLField(default=None, max_length=120)
    information_officer: str | None = SQLField(default=None, max_length=120)


class PlaceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    level: PlaceLevel
    name: str
    parent_id: str | None
    county_id: str
    township_id: str | None
    coordinator: str | None
    information_officer: str | None


class VillageDefinition(BaseModel):
    id: str = Field(pattern=PLACE_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    coordinator: str | None = Field(default=None, max_length=120)
    information_officer: str | None = Field(default=None, max_length=120)


class TownshipDefinition(BaseModel):
    id: str = Field(pattern=PLACE_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    villages: list[VillageDefinition] = Field(default_factory=list)


class CountyDefinition(BaseModel):
    """A county definition file (YAML or JSON): the county with its townships and villages."""

    id: str = Field(pattern=PLACE_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    townships: list[TownshipDefinition] = Field(min_length=1)


class VillageUpdate(BaseModel):
    """What a county user may change on a village; absent fields are left as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    coordinator: str | None = Field(default=None, max_length=120)
    information_officer: str | None = Field(default=None, max_length=120)
