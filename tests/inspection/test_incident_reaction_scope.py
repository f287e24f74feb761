"""Inspection opens an urgent task (and starts a grade blackout) only for a business the incident's
reporter may act on (hardening issue, item 9): a coordinator's report reaches only their village,
any report only its own township."""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import select

from services.inspection.directory.models import DirectoryBusiness
from services.inspection.plans.models import InspectionTask
from shared.catalogue.alerts import IncidentReported
from tests.support.county import DONGSHAN, SHANGCUN, XIACUN, XISHUI
from tests.support.inspection import Inspection


def reported(
    inspection: Inspection, business_id: str, *, actor: str, township_id: str, village_id: str | None
):
    inspection.feed(
        IncidentReported(
            incident_id=uuid.uuid4(),
            business_id=uuid.UUID(business_id),
            village_id=village_id,
            place_kind="restaurant",
            ill_count=3,
            death_count=1,
            level="III",
            reported_at=inspection.clock.now(),
            description="聚餐后一人死亡",
        ),
        township_id=township_id,
        actor=actor,
    )


def reaction(inspection: Inspection, business_id: str) -> tuple[int, date | None]:
    """(urgent tasks, last incident day) of the business."""
    key = uuid.UUID(business_id)
    with inspection.runtime.db.session() as session:
        tasks = session.exec(select(InspectionTask).where(InspectionTask.business_id == key)).all()
        business = session.get(DirectoryBusiness, key)
        assert business is not None
        return len(tasks), business.last_incident_on


def test_a_coordinators_report_reaches_only_their_village(inspection: Inspection):
    xiacun = inspection.business("下村饭店", village_id=XIACUN)
    reported(inspection, xiacun, actor="village:li-ming", township_id=DONGSHAN, village_id=SHANGCUN)
    assert reaction(inspection, xiacun) == (0, None)

    shangcun = inspection.business("上村饭店", village_id=SHANGCUN)
    reported(inspection, shangcun, actor="village:li-ming", township_id=DONGSHAN, village_id=SHANGCUN)
    assert reaction(inspection, shangcun)[0] == 1


def test_a_report_of_another_township_reaches_nothing_here(inspection: Inspection):
    dongshan = inspection.business("东山饭店", village_id=XIACUN)
    reported(inspection, dongshan, actor="township:xs-office", township_id=XISHUI, village_id=None)
    assert reaction(inspection, dongshan) == (0, None)
    reported(inspection, dongshan, actor="township:ds-office", township_id=DONGSHAN, village_id=None)
    assert reaction(inspection, dongshan)[0] == 1
