"""Events the reporting service publishes on its stream.

Reporting owns the records no other service keeps: publicity events, trainings, the yearly
assessment scores of the villages, and the free-text sections people write into a work summary.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from shared.events import EventPayload

PublicityKind = Literal["consultation", "lecture", "door_to_door", "media", "publicity_point", "other"]
TrainingAudience = Literal["coordinators", "operators", "staff", "inspectors"]


class PublicityRecorded(EventPayload):
    """A publicity event was held: banners hung, boards set up, leaflets handed out, people consulted."""

    TYPE = "publicity.recorded"
    PRODUCER = "reporting"

    activity_id: uuid.UUID
    kind: PublicityKind
    title: str
    held_on: date
    village_id: str | None = None
    venue: str | None = None
    banners: int
    boards: int
    leaflets: int
    people_consulted: int


class TrainingRecorded(EventPayload):
    """A training of coordinators, operators or staff was held."""

    TYPE = "training.recorded"
    PRODUCER = "reporting"

    training_id: uuid.UUID
    title: str
    audience: TrainingAudience
    held_on: date
    village_id: str | None = None
    attendees: int
    hours: float


class VillageAssessed(EventPayload):
    """A village's annual food-safety assessment (年度目标考核) was scored."""

    TYPE = "village.assessed"
    PRODUCER = "reporting"

    assessment_id: uuid.UUID
    village_id: str
    year: int
    score: float
    assessed_on: date


class SummarySectionEdited(EventPayload):
    """Someone wrote or changed a free-text section of a place's work summary for a period."""

    TYPE = "summary.section_edited"
    PRODUCER = "reporting"

    place_id: str
    period: str
    section: str
    characters: int
