"""The free-text sections people write into a work summary, kept per place and period."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import Column, Field

from services.reporting.database import Base
from shared.db import UTCDateTime, utcnow

SectionName = Literal["leadership", "publicity", "enforcement", "problems", "plan"]
SECTION_TITLES: dict[str, str] = {
    "leadership": "一、加强领导，明确职责",
    "publicity": "二、广泛宣传，营造氛围",
    "enforcement": "三、明确目标，加大整治",
    "problems": "存在的问题",
    "plan": "下一步工作计划",
}


class SummarySection(Base, table=True):
    __tablename__ = "summary_sections"
    audit_entity: ClassVar[str] = "summary_section"

    place_id: str = Field(primary_key=True, max_length=40)
    period: str = Field(primary_key=True, max_length=30)
    section: str = Field(primary_key=True, max_length=20)
    county_id: str = Field(max_length=40)
    township_id: str | None = Field(default=None, max_length=40)
    text: str
    updated_by: str = Field(max_length=120)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))

    @property
    def id(self) -> str:
        """How the audit log names a section: place, period and section."""
        return f"{self.place_id}/{self.period}/{self.section}"


class SectionsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sections: dict[SectionName, str] = PydanticField(
        min_length=1, description="Section name -> text (an empty text removes the section)"
    )


class SectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    section: str
    title: str
    text: str
    updated_by: str
    updated_at: datetime
